/*
 * echo_package — benign: the plugin of echo (its method echo answers its input), loaded
 * as a validly signed package through the sandbox's signed loading: its answer must reach
 * the host intact on that route too.
 */
#include "echo.c"
