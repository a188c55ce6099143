/*
 * res_package_output_flood — the plugin of res_output_flood, loaded as a validly signed package
 * through the sandbox's signed loading instead of by path: the limits, deadlines and
 * grants its policy sets must hold on that route too.
 */
#include "res_output_flood.c"
