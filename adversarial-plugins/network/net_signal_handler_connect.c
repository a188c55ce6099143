/*
 * net_signal_handler_connect — arms a 10 ms timer and connects to the harness's
 * TCP listener from inside the SIGALRM handler. Code in a signal handler runs on
 * an interrupted stack at an unpredictable moment; confinement that is applied
 * per call site, or lifted around host calls, may not cover it.
 */
#include "attack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t g_port;
static volatile sig_atomic_t g_result; /* 0 pending, 1 connected, -errno failed */

static void on_alarm(int sig)
{
    struct sockaddr_in addr;
    (void)sig;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        g_result = -errno;
        return;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)g_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) == 0) {
        (void)atk_write_all(s, "sbx-atk from a signal handler\n", 30);
        g_result = 1;
    } else {
        g_result = -errno;
    }
    close(s);
}

static sbx_status attack(const atk_input *in, atk_out *out)
{
    long port = atk_param_long(in, "tcp_port", -1);
    struct sigaction sa;
    struct itimerval timer;
    if (port <= 0 || port > 65535) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    g_port = (sig_atomic_t)port;
    g_result = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    memset(&timer, 0, sizeof timer);
    timer.it_value.tv_usec = 10000;
    setitimer(ITIMER_REAL, &timer, NULL);
    for (int i = 0; i < 200 && g_result == 0; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    if (g_result == 1) {
        atk_gained(out, "connected to 127.0.0.1:%ld from a signal handler", port);
        return SBX_OK;
    }
    atk_failed(out, "connect from the handler", g_result < 0 ? -g_result : ETIMEDOUT);
    return SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
