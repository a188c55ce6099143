/*
 * audit_host_call_limits — the plugin of res_host_call_flood (the host's clock as fast as
 * it can for 0.6 s): the host's host call rate makes it wait or refuses it, and the audit
 * log must record that limit with the policy's rate as its bound and a figure past it, so
 * that an operator reads what the plugin ran into, not a figure of the host's own.
 */
#include "../resources/res_host_call_flood.c"
