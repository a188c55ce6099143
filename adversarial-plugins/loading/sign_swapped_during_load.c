/*
 * sign_swapped_during_load — the plugin of sign_swapped_after_load (a validly signed
 * package that answers harmlessly), loaded while the harness shows each reader of its
 * plugin.so what tests it (package = "swapped_during_load"): sign_unsigned's payload
 * until the manifest or signature is opened, the verified binary for the next read, the
 * payload again for any later read. A sandbox that reads the file once for the signature
 * and again to run it runs the payload; one that runs exactly the bytes it verified never
 * does.
 */
#include "sign_swapped_after_load.c"
