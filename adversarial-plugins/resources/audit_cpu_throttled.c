/*
 * audit_cpu_throttled — the plugin of res_cpu_rate_spin (two threads spin for 1.2 s inside
 * the call) under a CPU rate cap: the cap holds it back, and the audit log must record
 * that limit, so that an operator reads why the plugin's calls took longer than their work.
 */
#include "res_cpu_rate_spin.c"
