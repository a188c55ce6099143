/*
 * output_fill_windowed — the output_fill plugin under a policy whose output bound (2 MiB,
 * cases.toml) is larger than a frame carries. Its call is small; its answer fills the
 * whole bound, so a sandbox must carry it past a frame (the reference's payload window)
 * and answer it whole, not cut at what fits inline.
 */
#include "output_fill.c"
