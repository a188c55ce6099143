/*
 * res_malloc_bomb — allocates and touches 1 MiB blocks with malloc until malloc
 * fails, reports how much it got, and frees it all. Without a memory limit this
 * pushes the whole machine into swap and the OOM killer, which may pick the host.
 */
#include "attack.h"

static sbx_status attack(const atk_input *in, atk_out *out)
{
    enum { BLOCK = 1 << 20 };
    void **blocks = NULL;
    size_t count = 0, cap = 0;
    (void)in;
    for (;;) {
        if (count == cap) {
            size_t new_cap = cap == 0 ? 1024 : cap * 2;
            void **grown = realloc(blocks, new_cap * sizeof *blocks);
            if (grown == NULL) {
                break;
            }
            blocks = grown;
            cap = new_cap;
        }
        void *block = malloc(BLOCK);
        if (block == NULL) {
            break;
        }
        memset(block, 0xa5, BLOCK);
        blocks[count++] = block;
    }
    atk_printf(out, "allocated and touched %zu MiB before malloc failed\n", count);
    for (size_t i = 0; i < count; i++) {
        free(blocks[i]);
    }
    free(blocks);
    return SBX_OK;
}

ATK_INVOKE_PLUGIN(attack)
