/*
 * status.cpp: jabclnd_worker_status(), the SQL view of shared_state.
 *
 * jabclnd_status() (in the extension script) adds the pending count of the
 * tx queue to this row; here only what lives in shared memory is read, so
 * the function never waits on the worker.
 *
 * state is worker_state_name() of shared_state.h's WorkerState: stopped,
 * disabled, no_extension, schema_mismatch, no_account, connecting, online,
 * offline, auth_failed, database_error; or standby, said here (README.md,
 * "Seeing what it does").
 */
#include "pg/pg.h"
#include "pg/shared_state.h"

extern "C"
{
	PG_FUNCTION_INFO_V1(jabclnd_worker_status);
}

enum StatusColumn
{
	COL_STATE,
	COL_JID,
	COL_SINCE,
	COL_LAST_ERROR,
	COL_NEXT_RETRY,
	COL_SENT,
	COL_FAILED,
	COL_RECEIVED,
	COL_SET_ASIDE,
	COL_IGNORED,
	COL_PID,
	STATUS_COLUMNS
};

extern "C" Datum
jabclnd_worker_status(PG_FUNCTION_ARGS)
{
	TupleDesc tupdesc;
	Datum values[STATUS_COLUMNS];
	bool nulls[STATUS_COLUMNS] = {};
	StatusSnapshot *snap;

	if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
		        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		         errmsg("jabclnd_worker_status() must be called where a record is expected")));

	snap = static_cast<StatusSnapshot *>(palloc(sizeof(StatusSnapshot)));
	shared_state_snapshot(snap);

	/*
	 * A standby runs no worker (it is registered to start at the end of
	 * recovery): say so, so that monitoring tells a standby from a primary
	 * whose worker is dead.
	 */
	const char *state = snap->state == WS_STOPPED && RecoveryInProgress()
	                        ? "standby"
	                        : worker_state_name(snap->state);
	values[COL_STATE] = CStringGetTextDatum(state);
	values[COL_JID] = CStringGetTextDatum(snap->jid);
	nulls[COL_JID] = snap->jid[0] == '\0';
	values[COL_SINCE] = TimestampTzGetDatum(snap->since);
	nulls[COL_SINCE] = snap->since == 0;
	values[COL_LAST_ERROR] = CStringGetTextDatum(snap->last_error);
	nulls[COL_LAST_ERROR] = snap->last_error[0] == '\0';
	values[COL_NEXT_RETRY] = TimestampTzGetDatum(snap->next_retry);
	nulls[COL_NEXT_RETRY] = snap->next_retry == 0;
	values[COL_SENT] = Int64GetDatum(static_cast<int64>(snap->sent));
	values[COL_FAILED] = Int64GetDatum(static_cast<int64>(snap->failed));
	values[COL_RECEIVED] = Int64GetDatum(static_cast<int64>(snap->received));
	values[COL_SET_ASIDE] = Int64GetDatum(static_cast<int64>(snap->set_aside));
	values[COL_IGNORED] = Int64GetDatum(static_cast<int64>(snap->ignored));
	values[COL_PID] = Int32GetDatum(snap->worker_pid);
	nulls[COL_PID] = snap->worker_pid == 0;

	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
