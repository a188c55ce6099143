/*
 * sys_keyctl — lists the session and user keyrings it inherited (which may hold
 * the host's credentials: Kerberos tickets, fscrypt or dm-crypt keys) and adds
 * a key of its own. Keyrings are shared across processes of a session; the key
 * management calls are also a classic kernel attack surface.
 */
#include "attack.h"

#include <linux/keyctl.h>
#include <sys/syscall.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    static const struct {
        const char *name;
        int id;
    } rings[] = {
        {"session", KEY_SPEC_SESSION_KEYRING},
        {"user", KEY_SPEC_USER_KEYRING},
        {"process", KEY_SPEC_PROCESS_KEYRING},
    };
    char description[512];
    int done = 0;
    (void)in;
    for (size_t i = 0; i < sizeof rings / sizeof rings[0]; i++) {
        long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, rings[i].id, description,
                         sizeof description - 1);
        if (n > 0) {
            description[(size_t)n < sizeof description ? (size_t)n : sizeof description - 1] = '\0';
            atk_gained(out, "%s keyring: %s", rings[i].name, description);
            int32_t ids[64];
            long bytes = syscall(SYS_keyctl, KEYCTL_READ, rings[i].id, ids, sizeof ids);
            if (bytes > 0) {
                atk_printf(out, "%s keyring holds %ld key(s)\n", rings[i].name, bytes / 4);
            }
            done = 1;
        } else {
            atk_failed(out, rings[i].name, errno);
        }
    }
    long key = syscall(SYS_add_key, "user", "sbx-atk", "planted", 7, KEY_SPEC_SESSION_KEYRING);
    if (key >= 0) {
        atk_gained(out, "added key %ld to the session keyring", key);
        syscall(SYS_keyctl, KEYCTL_UNLINK, key, KEY_SPEC_SESSION_KEYRING);
        done = 1;
    } else {
        atk_failed(out, "add_key", errno);
    }
    return done ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
