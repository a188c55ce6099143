/*
 * sign_revoked_key — the harness loads it as a package signed by a revoked key (package = "revoked_key"):
 * a sandbox must refuse it before any of its code runs. The payload is in
 * sign_payload.h.
 */
#include "sign_payload.h"

ATK_INVOKE_PLUGIN(sign_payload_attack)
