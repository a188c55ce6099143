/*
 * cap_exception_live — benign: the plugin of storage_user (stores its input and reads
 * it back), loaded as a signed package under a policy that grants storage only by a
 * time-bound exception ending an hour from now. The exception holds until its end: the
 * round trip must work.
 */
#include "storage_user.c"
