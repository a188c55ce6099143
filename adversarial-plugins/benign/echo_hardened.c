/*
 * echo_hardened — the plugin of echo, built as every plugin of the suite is (RELRO, BIND_NOW,
 * a non-executable stack, no text relocations, stack protector, FORTIFY), loaded with a
 * policy that requires those mitigations (cases.toml): a sandbox that checks them must
 * still serve a binary that has them.
 */
#include "echo.c"
