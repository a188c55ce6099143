/*
 * fs_stat_empty_path_probe — fs_stat_probe through the one form of stat a sandbox must
 * allow once loaded: newfstatat with AT_EMPTY_PATH, which glibc's fstat() uses on a
 * held descriptor. The flag only means "an empty path names the descriptor itself": a
 * path that is not empty is still looked up. A filter that reads the flag, not the
 * path, lets the plugin learn which host files exist, their size and their owner;
 * Landlock does not govern stat. Only a root with nothing of the host's in it leaves
 * nothing to learn.
 */
#include "attack.h"

#include <sys/syscall.h>

/* The raw call, as glibc's fstat() makes it, but with a path. */
#define STAT_PROBE(path, st) syscall(SYS_newfstatat, AT_FDCWD, (path), (st), AT_EMPTY_PATH)

#include "fs_stat_probe.c"
