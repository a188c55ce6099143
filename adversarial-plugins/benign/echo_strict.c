/*
 * echo_strict — the plugin of echo, loaded with `strict` in its policy (cases.toml): the
 * sandbox runs it only with every confinement layer it has in force. Where they all are,
 * as for the reference on the machines the suite certifies on, it must be served.
 */
#include "echo.c"
