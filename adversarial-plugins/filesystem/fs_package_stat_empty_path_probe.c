/*
 * fs_package_stat_empty_path_probe — the plugin of fs_stat_empty_path_probe, loaded as a
 * validly signed package. A sealed plugin is loaded from a memfd through /proc/self/fd,
 * not from a path, so its empty root is made differently (with /proc of its own pid
 * namespace): the root must leave nothing of the host's to find on that route too.
 */
#include "fs_stat_empty_path_probe.c"
