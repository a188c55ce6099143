/*
 * cap_package_use_after_revoke — the plugin of cap_use_after_revoke, loaded as a validly signed package
 * through the sandbox's signed loading instead of by path: the limits, deadlines and
 * grants its policy sets must hold on that route too.
 */
#include "cap_use_after_revoke.c"
