/*
 * res_package_log_flood — the plugin of res_log_flood (4 KiB log records as fast as it can
 * for 1.2 s), loaded as a validly signed package: the host that decides a package's limits
 * must hold it to the policy's log rate, not to a default of its own.
 */
#include "res_log_flood.c"
