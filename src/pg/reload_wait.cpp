/*
 * reload_wait.cpp: see reload_wait.h.
 */
#include "pg/pg.h"
#include "pg/reload_wait.h"

bool
sleep_until_reload(long timeout_ms)
{
	(void)WaitLatch(MyLatch,
	                WL_LATCH_SET | WL_EXIT_ON_PM_DEATH | (timeout_ms >= 0 ? WL_TIMEOUT : 0),
	                timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (!ConfigReloadPending)
		return false;
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	return true;
}

void
wait_for_reload(void)
{
	while (!sleep_until_reload(-1))
		;
}
