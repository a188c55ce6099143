/*
 * audit_host_call_refusals — the plugin of res_host_call_flood (the host's clock as fast as
 * it can for 0.6 s), under a policy of ten host calls a second (conformance/cases.toml), at
 * which a call would wait a tenth of a second for its turn: a host that does not wait that
 * long refuses the calls past the rate by the thousand. The audit log must record the rate
 * it ran into, and must not grow by a record for each refused call, or a plugin fills the
 * host's disk through it.
 */
#include "../resources/res_host_call_flood.c"
