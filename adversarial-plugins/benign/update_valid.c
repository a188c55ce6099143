/*
 * update_valid — a new version (1.1.0) of update_installed, offered in its place by the
 * same publisher (package = "update_valid"). It keeps the state as it finds it and answers
 * with its own version: a sandbox that updates must have it serve, with the installed
 * version's storage.
 */
#include "attack.h"
#include "update.h"

UPD_ANSWER("1.1.0")

ATK_INVOKE_PLUGIN(upd_attack)
