/*
 * res_package_host_call_flood — the plugin of res_host_call_flood, loaded as a validly
 * signed package: the host that decides a package's limits must hold it to the policy's
 * host call rate, not to a default of its own.
 */
#include "res_host_call_flood.c"
