/*
 * commit_wake.cpp: the worker is woken at commit, not at insert.
 *
 * A statement trigger on the queue and account tables calls
 * jabclnd_wake_at_commit(), which only marks the transaction. The
 * transaction callback registered in _PG_init sets the worker's latch when
 * a marked transaction commits: earlier, the worker would look before the
 * rows are visible; after a rollback there is nothing to see. One flag per
 * backend, so a COPY of a million rows wakes the worker once.
 *
 * A prepared transaction (two-phase commit) loses its mark at PREPARE: the
 * worker finds its rows at the next safety poll.
 */
#include "pg/pg.h"
#include "pg/shared_state.h"
#include "pg/commit_wake.h"

extern "C"
{
	PG_FUNCTION_INFO_V1(jabclnd_wake_at_commit);
	PG_FUNCTION_INFO_V1(jabclnd_wake);
}

static bool wake_at_commit = false;

static void
on_transaction_end(XactEvent event, void *)
{
	switch (event)
	{
	case XACT_EVENT_COMMIT:
	case XACT_EVENT_PARALLEL_COMMIT:
		if (wake_at_commit)
			shared_state_wake_worker();
		wake_at_commit = false;
		break;
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
	case XACT_EVENT_PREPARE:
		wake_at_commit = false;
		break;
	default:
		break;
	}
}

void
register_wake_at_commit(void)
{
	RegisterXactCallback(on_transaction_end, nullptr);
}

/*
 * The worker's own updates (marking rows sent) fire the same triggers; it
 * does not need to wake itself.
 */
static void
mark_transaction(void)
{
	if (!shared_state_is_worker())
		wake_at_commit = true;
}

/* Statement trigger function on xmpp_tx_queue, xmpp_accounts, openfire_users. */
extern "C" Datum
jabclnd_wake_at_commit(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("jabclnd_wake_at_commit() must be called as a trigger")));
	mark_transaction();
	return PointerGetDatum(nullptr);
}

/* SELECT jabclnd_wake(): makes the worker look at its tables after this commit. */
extern "C" Datum
jabclnd_wake(PG_FUNCTION_ARGS)
{
	(void)fcinfo;
	mark_transaction();
	PG_RETURN_VOID();
}
