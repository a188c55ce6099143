/*
 * sign_payload.h — the code inside the signature cases' packages, which a sandbox
 * must never run. Its constructor makes up to 320 MiB of memory resident: the case
 * guard measures the peak resident size of every process of the case however the
 * plugin is confined, so if it shows, code of a package that had to be refused ran,
 * whatever the adapter answered. A peak, unlike CPU time, does not grow with how busy
 * the machine is. Its attack reports the same in words.
 */
#ifndef SBX_SIGN_PAYLOAD_H
#define SBX_SIGN_PAYLOAD_H

#include "attack.h"

#include <sys/mman.h>
#include <unistd.h>

/* Bytes the constructor makes resident, in chunks, so that a runner whose address space
 * is already half used still shows most of it; the harness flags a case whose peak
 * resident size grew by 96 MiB or more over the largest process before the load. The
 * policy of the signature cases allows 512 MiB. */
#define SIGN_PAYLOAD_RESIDENT_BYTES (320UL << 20)
#define SIGN_PAYLOAD_CHUNK_BYTES (16UL << 20)

__attribute__((constructor)) static void sign_payload_resident(void)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) {
        return;
    }
    for (unsigned long made = 0; made < SIGN_PAYLOAD_RESIDENT_BYTES;
         made += SIGN_PAYLOAD_CHUNK_BYTES) {
        void *map = mmap(NULL, SIGN_PAYLOAD_CHUNK_BYTES, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (map == MAP_FAILED) {
            return; /* as much as the sandbox allows is what shows */
        }
        /* Kept mapped until the process ends: the peak is what counts. */
        volatile unsigned char *mem = (volatile unsigned char *)map;
        for (unsigned long at = 0; at < SIGN_PAYLOAD_CHUNK_BYTES; at += (unsigned long)page) {
            mem[at] = 1;
        }
    }
}

static sbx_status sign_payload_attack(const atk_input *in, atk_out *out)
{
    (void)in;
    atk_gained(out, "code of a package that had to be refused ran");
    return SBX_OK;
}

#endif
