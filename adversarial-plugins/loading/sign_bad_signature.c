/*
 * sign_bad_signature — the harness loads it as a package whose signature does not verify (package = "bad_signature"):
 * a sandbox must refuse it before any of its code runs. The payload is in
 * sign_payload.h.
 */
#include "sign_payload.h"

ATK_INVOKE_PLUGIN(sign_payload_attack)
