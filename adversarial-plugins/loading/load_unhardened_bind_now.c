/*
 * load_unhardened_bind_now — linked with -z lazy: its functions are bound at their first
 * call, so that part of the GOT stays writable. A host whose policy requires bind_now must
 * refuse it before any of its code runs, and say so; one that does not check runs it.
 */
#include "unhardened.h"

UNHARDENED_PLUGIN("bind_now")
