/*
 * sign_revoked_public_key — the harness loads it as a package signed by a key the
 * trust store revokes by its whole public key, not its id (package =
 * "revoked_public_key"): a sandbox must refuse it before any of its code runs. The
 * payload is in sign_payload.h.
 */
#include "sign_payload.h"

ATK_INVOKE_PLUGIN(sign_payload_attack)
