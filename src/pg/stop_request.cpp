/*
 * stop_request.cpp: a SIGTERM asks the worker to stop after its batches in
 * flight are answered, cancelling the unit of SQL it runs, if any; before
 * the loop, or a second time, it is die() (see the header).
 */
#include "pg/pg.h"
#include "pg/stop_request.h"

volatile sig_atomic_t stop_requested = false;
volatile sig_atomic_t sql_running = false;
volatile sig_atomic_t stop_can_wait = false;

void
stop_request_on_sigterm(int postgres_signal_arg)
{
	const int save_errno = errno;

	if (!stop_can_wait || stop_requested)
		die(postgres_signal_arg);
	else
	{
		stop_requested = true;
		if (sql_running)
			StatementCancelHandler(postgres_signal_arg);
		SetLatch(MyLatch);
	}
	errno = save_errno;
}

void
stop_request_finish(void)
{
	ProcDiePending = true;
	InterruptPending = true;
	CHECK_FOR_INTERRUPTS();
	/* Not reached: ProcessInterrupts ends the process on a pending die. */
	proc_exit(1);
}
