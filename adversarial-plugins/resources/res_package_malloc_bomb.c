/*
 * res_package_malloc_bomb — the plugin of res_malloc_bomb (1 MiB blocks touched until
 * malloc fails), loaded as a validly signed package: on that route the policy's memory is a
 * cap on what the plugin's processes hold, and the address space a looser backstop, so the
 * cap is what must stop it, and the sandbox must say that it did.
 */
#include "res_malloc_bomb.c"
