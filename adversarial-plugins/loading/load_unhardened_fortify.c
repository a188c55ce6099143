/*
 * load_unhardened_fortify — compiled without FORTIFY: its libc calls are not checked
 * against the buffers they write. A host whose policy requires fortify must refuse it
 * before any of its code runs, and say so; one that does not check loads a plugin that
 * reads the secret when invoked.
 */
#include "unhardened.h"

UNHARDENED_PLUGIN("fortify")
