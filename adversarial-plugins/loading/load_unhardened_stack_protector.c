/*
 * load_unhardened_stack_protector — compiled with -fno-stack-protector: no canary guards
 * its stack frames. A host whose policy requires stack_protector must refuse it before any
 * of its code runs, and say so; one that does not check loads a plugin that reads the
 * secret when invoked.
 */
#include "unhardened.h"

UNHARDENED_PLUGIN("stack_protector")
