/*
 * res_package_cpu_spin — the plugin of res_cpu_spin_ignore_signals (two threads left
 * spinning after its call, every catchable signal ignored or blocked), loaded as a validly
 * signed package: its CPU time must be bounded by its policy's on that route too, not by
 * the sandbox's default.
 */
#include "res_cpu_spin_ignore_signals.c"
