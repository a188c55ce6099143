/*
 * life_hang_shutdown_after_pause — life_hang_shutdown in a case that pauses and resumes it
 * between its call and its unload: it works normally, then never returns from
 * sbx_plugin_shutdown. A host whose pause clock still runs once the plugin is resumed
 * moves the shutdown's deadline on for ever, and never ends the plugin.
 */
#include "life_hang_shutdown.c"
