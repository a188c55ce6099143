/*
 * ipc_replayed_request_id — ipc_wrong_request_id's attack for request id 1: in a host that
 * numbers its requests from 1 that is its init's, answered long ago, a frame for a request
 * that is not pending. A host that reuses its ids (or never moves on from the first) takes
 * it for the answer to the call in flight, and the call's real answer, left in the
 * channel, then answers whatever the host asks next. The forged answer reports a privilege:
 * a caller that receives it was handed an answer the plugin wrote around the runner.
 */
#define FORGED_REQUEST_ID 1
#define FORGED_ANSWER "GAINED the host took a frame for a request it had answered already\n"
#include "ipc_wrong_request_id.c"
