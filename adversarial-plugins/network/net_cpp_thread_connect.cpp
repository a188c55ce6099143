/*
 * net_cpp_thread_connect — connects to the harness's TCP listener from a
 * std::thread started by the plugin. A system call filter installed on one thread
 * only (without SECCOMP_FILTER_FLAG_TSYNC, or after threads exist) leaves other
 * threads unconfined; this finds out.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <thread>

#include "attack.h"

namespace {

int connect_once(long port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        return -errno;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int result = 1;
    if (connect(s, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0) {
        const std::string line = "sbx-atk from a std::thread\n";
        (void)atk_write_all(s, line.data(), line.size());
    } else {
        result = -errno;
    }
    close(s);
    return result;
}

sbx_status attack(const atk_input *in, atk_out *out)
{
    const long port = atk_param_long(in, "tcp_port", -1);
    if (port <= 0 || port > 65535) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    try {
        int result = 0;
        std::thread worker([&result, port] { result = connect_once(port); });
        worker.join();
        if (result == 1) {
            atk_gained(out, "connected to 127.0.0.1:%ld from a std::thread", port);
            return SBX_OK;
        }
        atk_failed(out, "connect from a thread", -result);
    } catch (const std::exception &e) {
        atk_printf(out, "failed: %s\n", e.what());
    }
    return SBX_ERR_INTERNAL;
}

} // namespace

ATK_INVOKE_PLUGIN(attack)
