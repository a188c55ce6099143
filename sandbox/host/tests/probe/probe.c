/*
 * probe.c — the sandbox's own test plugin. Each method attempts one thing a confined
 * plugin must not be able to do (or reports what it can see of itself) and answers with
 * what happened: "ok ...", or "errno N" when the kernel refused. When the sandbox kills
 * the process instead, the host's termination record tells.
 *
 * Used by the sandbox's integration tests to prove, from inside the child, that each
 * confinement layer is in force. Not a hostile plugin: it attacks only on request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/capability.h>
#include <time.h>
#include <unistd.h>

#include "sbx_plugin.h"

SBX_DECLARE_PLUGIN_ABI();

static const sbx_host_api *host;

sbx_status sbx_plugin_init(const sbx_host_api *h, const uint8_t *config, size_t config_len) {
    host = h;
    /* A config of "fail" makes init refuse, to test rollback of a failed activation. */
    if (config_len == 4 && memcmp(config, "fail", 4) == 0) return SBX_ERR_INTERNAL;
    if (config_len == 4 && memcmp(config, "hang", 4) == 0) for (;;) pause();
    return SBX_OK;
}

static size_t out_cap_g;
static uint8_t *out_g;
static size_t *out_len_g;

static sbx_status reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static sbx_status reply(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf((char *)out_g, out_cap_g, fmt, ap);
    va_end(ap);
    if (n < 0) return SBX_ERR_INTERNAL;
    *out_len_g = (size_t)n < out_cap_g ? (size_t)n : out_cap_g;
    return SBX_OK;
}

static sbx_status result(long rc) {
    if (rc < 0) return reply("errno %d", errno);
    return reply("ok %ld", rc);
}

static void *spin(void *arg) {
    (void)arg;
    volatile unsigned long x = 0;
    for (;;) x++;
    return NULL;
}

static void *sleeper(void *arg) {
    (void)arg;
    return NULL;
}

static void *holder(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

static int tcp_connect(const char *port_text) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(port_text));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(fd, (struct sockaddr *)&a, sizeof a);
}

/* Writes on the descriptor `arg` points to, as fast as it can, for ever. */
static void *flood(void *arg)
{
    static char junk[65536];
    int fd = *(int *)arg;
    for (;;) {
        if (write(fd, junk, sizeof junk) < 0 && errno != EAGAIN && errno != EINTR) return NULL;
    }
}

sbx_status sbx_plugin_invoke(const char *method, size_t method_len, const uint8_t *input,
                             size_t input_len, uint8_t *output, size_t output_cap,
                             size_t *output_len) {
    char m[64], arg[512];
    if (method_len >= sizeof m || input_len >= sizeof arg) return SBX_ERR_INVALID_ARGUMENT;
    memcpy(m, method, method_len);
    m[method_len] = 0;
    memcpy(arg, input, input_len);
    arg[input_len] = 0;
    out_g = output;
    out_cap_g = output_cap;
    out_len_g = output_len;
    *output_len = 0;

    if (!strcmp(m, "ping")) return reply("pong");
    if (!strcmp(m, "ids")) {
        struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2];
        memset(d, 0, sizeof d);
        long rc = syscall(SYS_capget, &hdr, d);
        return reply("uid=%d euid=%d gid=%d egid=%d capget=%ld eff=%x:%x perm=%x:%x inh=%x:%x",
                     (int)getuid(), (int)geteuid(), (int)getgid(), (int)getegid(), rc,
                     d[1].effective, d[0].effective, d[1].permitted, d[0].permitted,
                     d[1].inheritable, d[0].inheritable);
    }
    if (!strcmp(m, "rlimits")) {
        struct rlimit as, cpu, nofile, fsize, nproc, core;
        getrlimit(RLIMIT_AS, &as);
        getrlimit(RLIMIT_CPU, &cpu);
        getrlimit(RLIMIT_NOFILE, &nofile);
        getrlimit(RLIMIT_FSIZE, &fsize);
        getrlimit(RLIMIT_NPROC, &nproc);
        getrlimit(RLIMIT_CORE, &core);
        return reply("as=%llu cpu=%llu nofile=%llu fsize=%llu nproc=%llu core=%llu",
                     (unsigned long long)as.rlim_cur, (unsigned long long)cpu.rlim_cur,
                     (unsigned long long)nofile.rlim_cur, (unsigned long long)fsize.rlim_cur,
                     (unsigned long long)nproc.rlim_cur, (unsigned long long)core.rlim_cur);
    }
    if (!strcmp(m, "malloc")) { /* arg: MiB */
        size_t n = (size_t)atol(arg) << 20;
        char *p = malloc(n);
        if (!p) return reply("errno %d", errno);
        /* Touch every page through a volatile pointer: a memset the compiler can prove
         * unused is removed together with the malloc and free around it. */
        volatile char *touch = p;
        for (size_t i = 0; i < n; i += 4096) touch[i] = 1;
        free(p);
        return reply("ok %zu", n);
    }
    if (!strcmp(m, "socket")) return result(socket(AF_INET, SOCK_STREAM, 0));
    if (!strcmp(m, "socket_raw")) return result(syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
    if (!strcmp(m, "connect")) return result(tcp_connect(arg));
    if (!strcmp(m, "execve")) {
        char *const argv[] = {"/bin/sh", "-c", "true", NULL};
        char *const envp[] = {NULL};
        return result(execve("/bin/sh", argv, envp));
    }
    if (!strcmp(m, "fork")) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        if (p > 0) waitpid(p, NULL, 0);
        return result(p);
    }
    if (!strcmp(m, "clone3")) return result(syscall(SYS_clone3, NULL, 0));
    if (!strcmp(m, "thread")) {
        pthread_t t;
        int rc = pthread_create(&t, NULL, sleeper, NULL);
        if (rc) return reply("errno %d", rc);
        pthread_join(t, NULL);
        return reply("ok thread");
    }
    if (!strcmp(m, "hold_threads")) { /* arg: how many threads to start and keep */
        int want = atoi(arg), started = 0;
        for (; started < want; started++) {
            pthread_t t;
            if (pthread_create(&t, NULL, holder, NULL)) break;
            pthread_detach(t);
        }
        return reply("started %d", started);
    }
    if (!strcmp(m, "open")) return result(open(arg, O_RDONLY));
    if (!strcmp(m, "open_raw")) return result(syscall(SYS_openat, AT_FDCWD, arg, O_RDONLY));
    if (!strcmp(m, "create")) return result(open(arg, O_WRONLY | O_CREAT, 0600));
    if (!strcmp(m, "ptrace")) return result(ptrace(PTRACE_ATTACH, (pid_t)atoi(arg), 0, 0));
    if (!strcmp(m, "kill")) return result(kill((pid_t)atoi(arg), SIGTERM));
    if (!strcmp(m, "int80")) {
        /* i386 getpid through the 32-bit entry: the architecture check must refuse it. */
        long ret;
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
        return reply("ok int80 %ld", ret);
    }
    if (!strcmp(m, "x32")) return result(syscall(0x40000000 | SYS_getpid));
    if (!strcmp(m, "tiocsti")) {
        char c = 'x';
        return result(ioctl(0, 0x5412 /* TIOCSTI */, &c));
    }
    if (!strcmp(m, "mprotect_exec")) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return reply("errno %d", errno);
        return result(mprotect(p, 4096, PROT_READ | PROT_EXEC));
    }
    if (!strcmp(m, "fds")) { /* which descriptors are open */
        char buf[256];
        size_t off = 0;
        for (int fd = 0; fd < 1024 && off < sizeof buf - 8; fd++)
            if (fcntl(fd, F_GETFD) >= 0) off += (size_t)snprintf(buf + off, sizeof buf - off, "%d ", fd);
        buf[off] = 0;
        return reply("ok %s", buf);
    }
    if (!strcmp(m, "log")) {
        host->log(host->ctx, SBX_LOG_INFO, arg, strlen(arg));
        return reply("ok logged");
    }
    if (!strcmp(m, "service")) { /* a host service this host does not grant */
        uint8_t buf[16];
        size_t n = 0;
        return reply("status %d", host->storage_get(host->ctx, "k", 1, buf, sizeof buf, &n));
    }
    /* Host services, for the broker tests: "status N" plus what came back. */
    if (!strcmp(m, "put")) { /* arg: key=value */
        char *eq = strchr(arg, '=');
        if (eq == NULL) return SBX_ERR_INVALID_ARGUMENT;
        return reply("status %d", host->storage_put(host->ctx, arg, (size_t)(eq - arg),
                                                    (const uint8_t *)eq + 1, strlen(eq + 1)));
    }
    if (!strcmp(m, "get") || !strcmp(m, "config")) { /* arg: key */
        uint8_t buf[256];
        size_t n = 0;
        sbx_status st = !strcmp(m, "get")
            ? host->storage_get(host->ctx, arg, strlen(arg), buf, sizeof buf - 1, &n)
            : host->config_get(host->ctx, arg, strlen(arg), buf, sizeof buf - 1, &n);
        buf[st == SBX_OK ? n : 0] = 0;
        return reply("status %d %s", st, (char *)buf);
    }
    if (!strcmp(m, "delete")) return reply("status %d", host->storage_delete(host->ctx, arg, strlen(arg)));
    if (!strcmp(m, "net")) { /* arg: host:port */
        uint8_t buf[256];
        size_t n = 0;
        sbx_status st = host->net_request(host->ctx, arg, strlen(arg), (const uint8_t *)"ping", 4,
                                          buf, sizeof buf - 1, &n);
        buf[st == SBX_OK ? n : 0] = 0;
        return reply("status %d %s", st, (char *)buf);
    }
    if (!strcmp(m, "clock")) {
        uint64_t ns = 0;
        sbx_status st = host->clock_now(host->ctx, &ns);
        return reply("status %d %llu", st, (unsigned long long)ns);
    }
    if (!strcmp(m, "notify")) return reply("status %d", host->notify_user(host->ctx, arg, strlen(arg)));
    if (!strcmp(m, "clock_flood")) { /* arg: calls; answers how many were not SBX_OK */
        long calls = atol(arg), refused = 0;
        uint64_t ns;
        for (long i = 0; i < calls; i++) refused += host->clock_now(host->ctx, &ns) != SBX_OK;
        return reply("refused %ld", refused);
    }
    /* Faults, for supervision tests. */
    if (!strcmp(m, "segfault")) {
        /* The address comes from the input so the compiler cannot prove it invalid. */
        volatile int *p = (volatile int *)(uintptr_t)strtoul(arg[0] ? arg : "16", NULL, 0);
        *p = 1;
    }
    if (!strcmp(m, "abort")) abort();
    if (!strcmp(m, "exit")) exit(atoi(arg));
    if (!strcmp(m, "hang")) for (;;) pause();
    if (!strcmp(m, "flood_fd")) { /* arg: a descriptor to write on without end, from a thread */
        static int flood_fd;
        pthread_t t;
        flood_fd = atoi(arg);
        int rc = pthread_create(&t, NULL, flood, &flood_fd);
        if (rc) return reply("errno %d", rc);
        for (;;) pause();
    }
    if (!strcmp(m, "stop_self")) { /* the whole process stops: nothing of it answers */
        raise(SIGSTOP);
        for (;;) pause();
    }
    if (!strcmp(m, "sleep")) { /* arg: milliseconds, counted on the monotonic clock */
        long ms = atol(arg);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return reply("slept");
    }
    if (!strcmp(m, "spin")) spin(NULL);
    if (!strcmp(m, "spin_thread")) {
        pthread_t t;
        int rc = pthread_create(&t, NULL, spin, NULL);
        if (rc) return reply("errno %d", rc);
        pthread_detach(t);
        return reply("ok spinning");
    }
    if (!strcmp(m, "garbage")) {
        static const char junk[] = "\xff\xff\xff\x7fnot a frame at all";
        if (write(3, junk, sizeof junk) < 0) return reply("errno %d", errno);
        for (;;) pause();
    }
    if (!strcmp(m, "overclaim")) { *output_len = output_cap + 100; return SBX_OK; }
    if (!strcmp(m, "error")) return SBX_ERR_INTERNAL;
    return SBX_ERR_UNKNOWN_METHOD;
}

void sbx_plugin_shutdown(void) {}
