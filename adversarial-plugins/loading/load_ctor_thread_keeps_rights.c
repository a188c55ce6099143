/*
 * load_ctor_thread_keeps_rights — a constructor starts a thread that waits until the
 * plugin is called. The loader's rights (opening files, mapping executable memory)
 * must end on every thread once the plugin is loaded, not only on the thread that
 * called dlopen: at invoke the waiting thread opens the loader's cache and maps
 * executable memory, and reports what it could do.
 */
#include "attack.h"

#include <sys/mman.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_go = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;
static int g_state; /* 0 waiting, 1 asked, 2 done */
static char g_report[1024];
static int g_started;

static void note(const char *text)
{
    size_t len = strlen(g_report);
    snprintf(g_report + len, sizeof g_report - len, "%s\n", text);
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_lock);
    while (g_state == 0) {
        pthread_cond_wait(&g_go, &g_lock);
    }
    pthread_mutex_unlock(&g_lock);
    int fd = open("/etc/ld.so.cache", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        note("GAINED a constructor's thread opened /etc/ld.so.cache after the load");
        close(fd);
    }
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        note("GAINED a constructor's thread mapped executable memory after the load");
        munmap(p, 4096);
    }
    pthread_mutex_lock(&g_lock);
    g_state = 2;
    pthread_cond_signal(&g_done);
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

__attribute__((constructor)) static void early(void)
{
    pthread_t thread;
    g_started = pthread_create(&thread, NULL, worker, NULL) == 0;
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    if (!g_started) {
        atk_printf(out, "failed the constructor's thread: not started\n");
        return SBX_ERR_INTERNAL;
    }
    pthread_mutex_lock(&g_lock);
    g_state = 1;
    pthread_cond_signal(&g_go);
    while (g_state != 2) {
        pthread_cond_wait(&g_done, &g_lock);
    }
    pthread_mutex_unlock(&g_lock);
    atk_put(out, g_report, strlen(g_report));
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
