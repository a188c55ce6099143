/*
 * load_unhardened_relro — linked with -z norelro: its relocated data (the GOT, the init
 * and fini arrays) stays writable after the load. A host whose policy requires relro must
 * refuse it before any of its code runs, and say so; one that does not check runs it.
 */
#include "unhardened.h"

UNHARDENED_PLUGIN("relro")
