/*
 * sign_untrusted_signer — the harness loads it as a package signed by a key nobody trusts (package = "untrusted_signer"):
 * a sandbox must refuse it before any of its code runs. The payload is in
 * sign_payload.h.
 */
#include "sign_payload.h"

ATK_INVOKE_PLUGIN(sign_payload_attack)
