/*
 * res_package_task_cap_hog — the plugin of res_task_cap_hog, loaded as a validly signed package
 * through the sandbox's signed loading instead of by path: the limits, deadlines and
 * grants its policy sets must hold on that route too.
 */
#include "res_task_cap_hog.c"
