/*
 * echo_hardened_package — the plugin of echo, built as every plugin of the suite is, as a
 * signed package loaded with a policy that requires the mitigations it was built with
 * (cases.toml): a sandbox that checks a package's sealed bytes must still serve one that
 * has them.
 */
#include "echo.c"
