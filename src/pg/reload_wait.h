/*
 * reload_wait.h: sleeping outside the worker's loop (jabclnd.enabled off,
 * a database that is missing or cannot be served) until the configuration
 * is reloaded, handling interrupts while asleep.
 */
#pragma once

/*
 * Sleeps on the latch for at most timeout_ms (-1: no limit), handles
 * interrupts, and returns whether the configuration was reloaded.
 */
bool sleep_until_reload(long timeout_ms);

/* Sleeps until the next reload (or a signal that ends the worker). */
void wait_for_reload(void);

