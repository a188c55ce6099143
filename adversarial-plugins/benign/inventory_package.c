/*
 * inventory_package — benign: the plugin of storage_user (its method roundtrip stores its
 * input and answers what it reads back), loaded as a validly signed package and granted
 * storage. What it does is ordinary; the case asks the sandbox's inventory of it once it
 * is loaded and before its unload, and holds the inventory to what the harness sees.
 */
#include "storage_user.c"
