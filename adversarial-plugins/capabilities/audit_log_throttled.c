/*
 * audit_log_throttled — the plugin of res_log_flood (4 KiB log records as fast as it can
 * for 1.2 s): the host drops what its log rate does not admit, and the audit log must
 * record that it did (a limit hit), so that an operator learns the plugin's records were
 * cut rather than never written.
 */
#include "../resources/res_log_flood.c"
