/*
 * sign_tampered_binary — the harness loads it as a package whose binary changed after signing (package = "tampered_binary"):
 * a sandbox must refuse it before any of its code runs. The payload is in
 * sign_payload.h.
 */
#include "sign_payload.h"

ATK_INVOKE_PLUGIN(sign_payload_attack)
