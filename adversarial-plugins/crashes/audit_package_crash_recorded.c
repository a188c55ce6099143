/*
 * audit_package_crash_recorded — the plugin of audit_crash_recorded (it dies of
 * SIGSEGV in its call), loaded as a validly signed package through the sandbox's
 * signed loading instead of by path: the runner's end must be in the audit log with
 * the reason reported, whichever way the host loaded the plugin.
 */
#include "audit_crash_recorded.c"
