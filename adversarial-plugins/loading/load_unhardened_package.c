/*
 * load_unhardened_package — a signed package whose binary was compiled without FORTIFY (its
 * libc calls are not checked against the buffers they write). The signature is good: the
 * hardening a host's policy requires is checked on the verified bytes it runs, sealed or
 * not, and the package must be refused, naming fortify, before any of its code runs.
 */
#include "unhardened.h"

UNHARDENED_PLUGIN("fortify")
