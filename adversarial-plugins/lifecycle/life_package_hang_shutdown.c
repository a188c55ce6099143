/*
 * life_package_hang_shutdown — the plugin of life_hang_shutdown, loaded as a validly signed package
 * through the sandbox's signed loading instead of by path: the limits, deadlines and
 * grants its policy sets must hold on that route too.
 */
#include "life_hang_shutdown.c"
