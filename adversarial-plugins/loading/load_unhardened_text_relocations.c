/*
 * load_unhardened_text_relocations — carries an absolute address in its code, linked with
 * -z notext: the loader must make its code writable to relocate it. A host whose policy
 * requires no_text_relocations must refuse it before any of its code runs, and say so; one
 * that does not check loads a plugin that reads the secret when invoked.
 */
#include "unhardened.h"
/* An absolute address in the code section: a relocation the loader applies to the text. */
__asm__(".pushsection .text\n.balign 8\nunhardened_text_address:\n.quad sbx_plugin_abi_version\n.popsection\n");
UNHARDENED_PLUGIN("no_text_relocations")
