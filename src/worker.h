/*
 * worker.h: the jabclnd background worker.
 */
#pragma once

/* Registers the static worker; called once from _PG_init. */
void register_worker(void);

/*
 * Outside the loop (waiting to be enabled, or for a database): sleeps on
 * the latch for at most timeout_ms (-1: no limit), handles interrupts, and
 * returns whether the configuration was reloaded.
 */
bool sleep_until_reload(long timeout_ms);
