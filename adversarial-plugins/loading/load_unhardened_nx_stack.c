/*
 * load_unhardened_nx_stack — linked with -z execstack: loading it makes every stack of the
 * process executable. A host whose policy requires nx_stack must refuse it before any of
 * its code runs, and say so; one that does not check loads a plugin that reads the secret
 * when invoked.
 */
#include "unhardened.h"

UNHARDENED_PLUGIN("nx_stack")
