/*
 * sign_swapped_during_load — the plugin of sign_swapped_after_load (a validly signed
 * package that answers harmlessly), but its plugin.so is replaced by sign_unsigned's
 * payload and back, again and again, from the moment its load is sent until it is
 * answered (package = "swapped_during_load"). A sandbox that reads the file once for
 * the signature and again to run it runs the payload some of the time; one that runs
 * exactly the bytes it verified never does, whenever the swap falls.
 */
#include "sign_swapped_after_load.c"
