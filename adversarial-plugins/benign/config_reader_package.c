/*
 * config_reader_package — benign: the plugin of config_reader (its method read answers the
 * configuration value its input names), loaded as a validly signed package: the value
 * comes through the host's decision on that route, and must arrive all the same.
 */
#include "config_reader.c"
