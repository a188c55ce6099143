/*
 * sign_revoked_plugin — the harness loads it as a package whose hash is revoked (package = "revoked_plugin"):
 * a sandbox must refuse it before any of its code runs. The payload is in
 * sign_payload.h.
 */
#include "sign_payload.h"

ATK_INVOKE_PLUGIN(sign_payload_attack)
