/*
 * cap_package_storage_quota_reload — the plugin of cap_storage_quota_reload (it stores
 * to its quota, is unloaded and loaded again, stores again, and counts what it holds
 * against the policy's quota), loaded as a validly signed package: the quota the host
 * gives a packaged plugin must be the policy's, and must hold across the host's unload
 * and load of the same package.
 */
#include "cap_storage_quota_reload.c"
