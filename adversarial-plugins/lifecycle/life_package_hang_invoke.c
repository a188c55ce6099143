/*
 * life_package_hang_invoke — the plugin of life_hang_invoke, loaded as a validly signed package
 * through the sandbox's signed loading instead of by path: the limits, deadlines and
 * grants its policy sets must hold on that route too.
 */
#include "life_hang_invoke.c"
