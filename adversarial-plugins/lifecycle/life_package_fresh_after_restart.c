/*
 * life_package_fresh_after_restart — the plugin of life_fresh_activation, loaded as a
 * signed package under a policy that restarts it: it leaves its marks and faults twice,
 * and the processes the host restarts it in (from a warm spare, where the host keeps
 * them) must show it neither mark.
 */
#include "life_fresh_activation.c"
