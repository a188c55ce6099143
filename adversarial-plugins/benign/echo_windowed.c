/*
 * echo_windowed — the echo plugin, run under a policy whose output bound is larger than a
 * frame carries: a sandbox with a shared buffer for large payloads (the reference's
 * payload window) then carries every call through it, and must still answer each with
 * exactly its input.
 */
#include "echo.c"
