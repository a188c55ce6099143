/*
 * echo — benign: returns its input unchanged. The simplest plugin a sandbox must
 * run without interfering (a false positive here breaks every real plugin).
 * Method `thread_echo` does the same from a thread it starts and joins: the harness,
 * as the neighbour of a plugin holding every thread it may have, asks it to show
 * that the cap on threads is that plugin's own.
 */
#include "attack.h"

#include <pthread.h>

struct echo_job {
    const atk_input *in;
    atk_out *out;
    sbx_status status;
};

static sbx_status echo(const atk_input *in, atk_out *out)
{
    return atk_echo(in, out);
}

static void *echo_on_thread(void *arg)
{
    struct echo_job *job = arg;
    job->status = echo(job->in, job->out);
    return NULL;
}

static sbx_status thread_echo(const atk_input *in, atk_out *out)
{
    struct echo_job job = {in, out, SBX_ERR_INTERNAL};
    pthread_t thread;
    int err = pthread_create(&thread, NULL, echo_on_thread, &job);
    if (err != 0) {
        atk_printf(out, "pthread_create: %s", strerror(err));
        return SBX_ERR_INTERNAL;
    }
    pthread_join(thread, NULL);
    return job.status;
}

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_DEFAULT_SHUTDOWN()

sbx_status sbx_plugin_invoke(const char *method, size_t method_len, const uint8_t *input,
                             size_t input_len, uint8_t *output, size_t output_cap,
                             size_t *output_len)
{
    atk_input in = {input, input_len};
    atk_out out;
    sbx_status status;
    int threaded = atk_method_is(method, method_len, "thread_echo");
    if (!threaded && !atk_method_is(method, method_len, "echo")) {
        *output_len = 0;
        return SBX_ERR_UNKNOWN_METHOD;
    }
    atk_out_init(&out, output, output_cap);
    status = threaded ? thread_echo(&in, &out) : echo(&in, &out);
    *output_len = out.len;
    return status;
}
