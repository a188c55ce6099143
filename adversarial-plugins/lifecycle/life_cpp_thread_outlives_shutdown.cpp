/*
 * life_cpp_thread_outlives_shutdown — from sbx_plugin_shutdown, starts a
 * detached std::thread that keeps calling host->log every 10 ms for a minute,
 * then returns. The host table is only valid until shutdown returns: the thread
 * uses it afterwards, and a runner that lets threads outlive shutdown (exiting
 * the main thread only) keeps the plugin alive unsupervised.
 */
#include <chrono>
#include <string>
#include <thread>

#include "attack.h"

namespace {

sbx_status attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_printf(out, "fine until shutdown\n");
    return SBX_OK;
}

} // namespace

SBX_DECLARE_PLUGIN_ABI();
ATK_DEFAULT_INIT()
ATK_DEFAULT_INVOKE(attack)

void sbx_plugin_shutdown(void)
{
    try {
        const sbx_host_api *host = atk_host;
        std::thread([host] {
            for (int i = 0; i < 6000; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                if (host != nullptr) {
                    const std::string line = "sbx-atk still running after shutdown " + std::to_string(i);
                    host->log(host->ctx, SBX_LOG_WARN, line.data(), line.size());
                }
            }
        }).detach();
    } catch (...) {
    }
}
