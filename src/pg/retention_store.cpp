/*
 * retention_store.cpp: the deletes of retention (retention_store.h), as
 * units of the store (store_unit.h).
 *
 * Each batch is bounded three ways: the rows it looks at (the caller's
 * limit), the time it may wait for a lock (LOCK_TIMEOUT_MS: a row an
 * application holds is not worth waiting for; the next pass takes it),
 * and the time it may run (STATEMENT_TIMEOUT_MS: SPI statements of a
 * background worker get no statement_timeout of their own, so the unit
 * arms PostgreSQL's timer itself). Either limit fails the unit, and the
 * worker goes on sending; the next pass tries again. Deletes need not
 * reach the disk before the worker goes on: a delete a crash loses is
 * done again at the next pass.
 *
 * The statements are built per unit with the extension's schema, and
 * prepared each time: a batch runs at most once per turn of the loop and
 * does far more work than its planning.
 */
#include "pg/pg.h"
#include "pg/retention_store.h"
#include "pg/store_unit.h"

namespace
{

const char LOCK_TIMEOUT[] = "200ms";
const int STATEMENT_TIMEOUT_MS = 5000;

/*
 * The walk of the tx queue: `examined` are the next rows by id; of those,
 * the expired ones are locked, skipping rows someone else holds (the
 * lock re-reads each row, so a row made pending again since, by a resend,
 * is not taken), and deleted. A row is expired only when it is marked
 * (sent or failed): a pending row never is.
 */
const char EXPIRE_TX[] =
    "WITH examined AS (SELECT id, insert_timestamp FROM %1$s.xmpp_tx_queue "
    "WHERE id > $1 ORDER BY id LIMIT $2), "
    "doomed AS (SELECT q.id FROM %1$s.xmpp_tx_queue q "
    "WHERE q.id IN (SELECT id FROM examined) "
    "AND ((q.submission_timestamp IS NOT NULL AND NOT q.submission_failed "
    "AND q.insert_timestamp < $3) "
    "OR (q.submission_failed AND q.insert_timestamp < $4)) "
    "FOR UPDATE OF q SKIP LOCKED), "
    "deleted AS (DELETE FROM %1$s.xmpp_tx_queue q USING doomed d WHERE q.id = d.id "
    "RETURNING q.submission_failed) "
    "SELECT (SELECT count(*) FROM examined)::int4, "
    "(SELECT coalesce(max(id), 0) FROM examined), "
    "(SELECT coalesce(bool_or(insert_timestamp >= $5), false) FROM examined), "
    "(SELECT count(*) FILTER (WHERE NOT submission_failed) FROM deleted), "
    "(SELECT count(*) FILTER (WHERE submission_failed) FROM deleted)";

/*
 * The rx queue: every row is done once stored, so the oldest go first,
 * through xmpp_rx_queue_insert_timestamp. No SKIP LOCKED: locking needs
 * the UPDATE privilege, which the worker has not on this table; a row an
 * application holds makes the batch wait LOCK_TIMEOUT at most.
 */
const char EXPIRE_RX[] =
    "DELETE FROM %1$s.xmpp_rx_queue WHERE id IN (SELECT id FROM %1$s.xmpp_rx_queue "
    "WHERE insert_timestamp < $1 ORDER BY insert_timestamp LIMIT $2)";

/*
 * Sets the unit's bounds and returns the extension's schema, or null when
 * no extension the worker serves is installed (nothing to delete).
 */
const char *
begin_batch(void)
{
	if (store_served_extension() == InvalidOid)
		return nullptr;
	(void)set_config_option("lock_timeout", LOCK_TIMEOUT, PGC_USERSET, PGC_S_SESSION,
	                        GUC_ACTION_LOCAL, true, 0, false);
	enable_timeout_after(STATEMENT_TIMEOUT, STATEMENT_TIMEOUT_MS);
	/* regnamespace output is already quoted where needed. */
	Oid types[] = {OIDOID};
	Datum values[] = {ObjectIdGetDatum(store_served_extension())};
	if (SPI_execute_with_args("SELECT extnamespace::pg_catalog.regnamespace::text "
	                          "FROM pg_catalog.pg_extension WHERE oid = $1",
	                          1, types, values, nullptr, true, 1) != SPI_OK_SELECT ||
	    SPI_processed != 1)
		elog(ERROR, "jabclnd: could not find the schema of extension jabclnd");
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* Runs a batch unit and disarms its statement timer, however it ended. */
bool
run_batch(const char *what, UnitBody body, void *arg)
{
	const bool ok = run_unit(what, Durability::relaxed, body, arg);
	disable_timeout(STATEMENT_TIMEOUT, false);
	return ok;
}

struct TxArgs
{
	int64 after_id;
	int rows;
	int64 sent_cutoff;
	int64 failed_cutoff;
	int64 young_from;
	TxExpiry *result;
};

int64
int64_value(int column)
{
	bool isnull;
	Datum value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, column, &isnull);
	return isnull ? 0 : DatumGetInt64(value);
}

void
expire_tx_body(void *arg)
{
	TxArgs *args = static_cast<TxArgs *>(arg);
	*args->result = TxExpiry{};
	const char *schema = begin_batch();
	if (schema == nullptr)
		return;
	Oid types[] = {INT8OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum values[] = {Int64GetDatum(args->after_id), Int32GetDatum(args->rows),
	                  TimestampTzGetDatum(args->sent_cutoff),
	                  TimestampTzGetDatum(args->failed_cutoff),
	                  TimestampTzGetDatum(args->young_from)};
	if (SPI_execute_with_args(psprintf(EXPIRE_TX, schema), 5, types, values, nullptr, false, 1) !=
	        SPI_OK_SELECT ||
	    SPI_processed != 1)
		elog(ERROR, "jabclnd: deleting expired rows of xmpp_tx_queue failed");
	bool isnull;
	args->result->examined =
	    DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	args->result->last_id = int64_value(2);
	args->result->reached_young =
	    DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	args->result->sent_deleted = int64_value(4);
	args->result->failed_deleted = int64_value(5);
}

struct RxArgs
{
	int rows;
	int64 cutoff;
	int64 *deleted;
};

void
expire_rx_body(void *arg)
{
	RxArgs *args = static_cast<RxArgs *>(arg);
	*args->deleted = 0;
	const char *schema = begin_batch();
	if (schema == nullptr)
		return;
	Oid types[] = {TIMESTAMPTZOID, INT4OID};
	Datum values[] = {TimestampTzGetDatum(args->cutoff), Int32GetDatum(args->rows)};
	if (SPI_execute_with_args(psprintf(EXPIRE_RX, schema), 2, types, values, nullptr, false, 0) !=
	    SPI_OK_DELETE)
		elog(ERROR, "jabclnd: deleting expired rows of xmpp_rx_queue failed");
	*args->deleted = static_cast<int64>(SPI_processed);
}

} // namespace

bool
store_expire_tx(int64_t after_id, int rows, int64_t sent_cutoff, int64_t failed_cutoff,
                int64_t young_from, TxExpiry *result)
{
	TxArgs args = {after_id, rows, sent_cutoff, failed_cutoff, young_from, result};
	return run_batch("deleting expired rows of xmpp_tx_queue", expire_tx_body, &args);
}

bool
store_expire_rx(int rows, int64_t cutoff, int64_t *deleted)
{
	RxArgs args = {rows, cutoff, deleted};
	return run_batch("deleting expired rows of xmpp_rx_queue", expire_rx_body, &args);
}
