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

/*
 * CHECK_FOR_INTERRUPTS() for where the worker runs no SQL. A query cancel
 * (pg_cancel_backend on the worker's pid) is meant for the statement it
 * is running: inside a unit of pg/store.cpp it cancels that unit, which is
 * rolled back and retried. Between units there is no statement to cancel,
 * and ProcessInterrupts would raise an ERROR that ends the whole worker:
 * the cancel is dropped there. SIGTERM and the rest act as usual.
 */
void check_for_interrupts_outside_sql(void);
