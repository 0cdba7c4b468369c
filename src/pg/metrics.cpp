/*
 * metrics.cpp: jabclnd_worker_metrics() and jabclnd_failures(), the
 * shared-memory part of what an operator graphs and alerts on. The
 * extension script's jabclnd_metrics() adds what the tables say (pending
 * rows, the oldest one's age, rows set aside, rooms) and the state from
 * jabclnd_worker_status(); README.md, "Metrics", documents every column.
 *
 * Every counter here counts since the worker started (worker_started),
 * and a new worker starts again from zero: monitoring systems take that
 * as a counter reset. With retention deleting rows, the tables alone
 * could not give totals.
 *
 * The one file of src/pg that includes a core/ header: the names of the
 * failure conditions are pure C++ data, and it comes before pg/pg.h (see
 * core/boundary.h).
 */
#include "core/failure_condition.h"

#include "pg/pg.h"
#include "pg/shared_state.h"

extern "C"
{
	PG_FUNCTION_INFO_V1(jabclnd_worker_metrics);
	PG_FUNCTION_INFO_V1(jabclnd_failures);
}

static_assert(failure_condition::COUNT <= FAILURE_CONDITIONS_MAX,
              "shared memory has room for every failure condition");

enum MetricsColumn
{
	COL_STARTED,
	COL_LOGINS,
	COL_CONNECTIONS_LOST,
	COL_BARRIER_ROUND_TRIP,
	COL_EXPIRED_SENT,
	COL_EXPIRED_FAILED,
	COL_EXPIRED_RECEIVED,
	COL_RETENTION_PASSES,
	COL_LAST_RETENTION,
	METRICS_COLUMNS
};

static Datum
counter(uint64_t value)
{
	return Int64GetDatum(static_cast<int64>(value));
}

extern "C" Datum
jabclnd_worker_metrics(PG_FUNCTION_ARGS)
{
	TupleDesc tupdesc;
	Datum values[METRICS_COLUMNS];
	bool nulls[METRICS_COLUMNS] = {};

	if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
		        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		         errmsg("jabclnd_worker_metrics() must be called where a record is expected")));

	StatusSnapshot *snap = static_cast<StatusSnapshot *>(palloc(sizeof(StatusSnapshot)));
	shared_state_snapshot(snap);

	values[COL_STARTED] = TimestampTzGetDatum(snap->started);
	nulls[COL_STARTED] = snap->started == 0;
	values[COL_LOGINS] = counter(snap->logins);
	values[COL_CONNECTIONS_LOST] = counter(snap->connections_lost);
	/* Seconds, as every duration a monitoring system graphs. */
	values[COL_BARRIER_ROUND_TRIP] = Float8GetDatum(snap->barrier_round_trip / 1e6);
	nulls[COL_BARRIER_ROUND_TRIP] = snap->barrier_round_trip < 0;
	values[COL_EXPIRED_SENT] = counter(snap->expired_sent);
	values[COL_EXPIRED_FAILED] = counter(snap->expired_failed);
	values[COL_EXPIRED_RECEIVED] = counter(snap->expired_received);
	values[COL_RETENTION_PASSES] = counter(snap->retention_passes);
	values[COL_LAST_RETENTION] = TimestampTzGetDatum(snap->last_retention);
	nulls[COL_LAST_RETENTION] = snap->last_retention == 0;

	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* One row per condition, zeros too: a graph's series exist before the first failure. */
extern "C" Datum
jabclnd_failures(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);

	InitMaterializedSRF(fcinfo, 0);
	StatusSnapshot *snap = static_cast<StatusSnapshot *>(palloc(sizeof(StatusSnapshot)));
	shared_state_snapshot(snap);
	for (int i = 0; i < failure_condition::COUNT; i++)
	{
		Datum values[2] = {CStringGetTextDatum(failure_condition::name(i)),
		                   counter(snap->failures[i])};
		bool nulls[2] = {};
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum)0;
}
