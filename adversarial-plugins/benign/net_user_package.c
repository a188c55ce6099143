/*
 * net_user_package — benign: the plugin of net_user (its method fetch sends its input to
 * the allowlisted destination its configuration names), loaded as a validly signed
 * package: the allowlist comes through the host's decision on that route, and must hold
 * the destination all the same.
 */
#include "net_user.c"
