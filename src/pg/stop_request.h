/*
 * stop_request.h: what SIGTERM does to the worker.
 *
 * A clean stop (pg_ctl stop -m fast, a switchover, pg_terminate_backend)
 * used to end the worker at once, and the rows of the batches in flight
 * were sent again by the next worker: up to two batches of duplicates per
 * stop. Now a SIGTERM that arrives while no SQL runs only asks the worker
 * to stop: it claims nothing more, waits a bounded moment
 * (STOP_GRACE_MS) for the server to answer the batches in flight, records
 * what was answered, and then ends as PostgreSQL's die() would have it.
 *
 * Before the worker's loop runs (waiting for its database, for a reload)
 * there is nothing in flight, and a SIGTERM is die() at once; a second
 * SIGTERM is die() too. A SIGTERM that arrives while a unit of SQL runs
 * also cancels that unit, as a query cancel would: a lock wait, or a
 * synchronous-replication wait for a standby that is gone, must not hold
 * up the server's shutdown. The unit is rolled back (or, cancelled in its
 * commit's replication wait, stays committed on this node only, which the
 * record path knows) and tried again at once; units run after a stop was
 * asked for are bounded by a statement timeout of STOP_GRACE_MS.
 *
 * (A die() in the middle of a unit made a stop under load re-send two
 * batches now and then: a busy worker spends a good part of its time in
 * SQL.)
 */
#pragma once

#include <signal.h>

/* How long a stop waits for the batches in flight, and bounds each unit of SQL after it. */
const int STOP_GRACE_MS = 1000;

/* Set by the SIGTERM handler: the worker should stop once its batches in flight are answered. */
extern volatile sig_atomic_t stop_requested;
/* Set while a unit of SQL runs (pg/store.cpp): a SIGTERM then cancels it too. */
extern volatile sig_atomic_t sql_running;
/* Set once the worker's loop runs, which looks at stop_requested every turn. */
extern volatile sig_atomic_t stop_can_wait;

/* The SIGTERM handler's decision (async-signal-safe): ask for a stop, or die(). */
void stop_request_on_sigterm(int postgres_signal_arg);

/* Ends the worker as die() would have: FATAL, exit status 1, the exit callbacks run. */
[[noreturn]] void stop_request_finish(void);
