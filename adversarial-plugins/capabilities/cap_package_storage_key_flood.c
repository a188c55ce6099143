/*
 * cap_package_storage_key_flood — the plugin of cap_storage_key_flood, loaded as a validly
 * signed package: the policy's key bound comes through the host's decision on that route,
 * and must hold all the same.
 */
#include "cap_storage_key_flood.c"
