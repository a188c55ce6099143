/*
 * output_fill_package — benign: the plugin of output_fill (its method fill answers with its
 * whole output buffer), loaded as a validly signed package: the host that decides a
 * package's limits must give it the policy's output bound, not a default of its own.
 */
#include "output_fill.c"
