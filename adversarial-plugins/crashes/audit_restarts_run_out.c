/*
 * audit_restarts_run_out — the plugin of fault_restart_crash_loop (it dies of SIGSEGV in
 * every call), loaded as a signed package under a policy of two restarts: the audit must
 * record each restart, and when they run out, the limit hit and the quarantine with the
 * two restarts made, so that an operator can trace the host's decisions afterwards.
 */
#include "fault_restart_crash_loop.c"
