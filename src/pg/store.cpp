/*
 * store.cpp: the worker's SQL, run through SPI.
 *
 * Vocabulary: a "unit" is one transaction doing one job (load the account,
 * claim a batch, record outcomes). run_unit() gives each the same frame:
 * statement timestamp, transaction, snapshot, SPI, and one PG_TRY that
 * turns any error into a rollback, a log line and a false return. This
 * file holds no C++ object with a destructor, so a longjmp from an error
 * never skips one (doc/DESIGN.md, "Two worlds, one boundary").
 *
 * Statements are prepared once per installation of the extension and kept
 * (SPI_keepplan); DROP/CREATE EXTENSION gives a new extension oid and the
 * plans are prepared again against the new tables. They are written for
 * one version of the extension's schema (SCHEMA_VERSION): at any other,
 * ALTER EXTENSION UPDATE still to be run or a newer schema than this
 * library, no unit touches the tables.
 */
#include "pg/pg.h"
#include "pg/stop_request.h"
#include "pg/store.h"
#include "pg/store_unit.h"

#include <stdio.h>
#include <string.h>

/* The plans; all null until the extension is found. */
struct Plans
{
	Oid extension;
	SPIPlanPtr account;
	SPIPlanPtr claim;
	SPIPlanPtr claim_skip_locked;
	SPIPlanPtr mark_sent;
	SPIPlanPtr mark_failed;
	SPIPlanPtr mark_retry;
	SPIPlanPtr next_due;
	SPIPlanPtr insert_rx;
	SPIPlanPtr set_aside_rx;
	SPIPlanPtr logins;
	SPIPlanPtr reset_presence;
	SPIPlanPtr set_presence;
	SPIPlanPtr reset_resources;
	SPIPlanPtr write_resource;
	SPIPlanPtr delete_resource;
	SPIPlanPtr rooms;
	SPIPlanPtr add_room;
};

static Plans plans = {};
static char last_error[1024];

/*
 * The version of the extension this file's SQL is written for, as
 * jabclnd.control's default_version names it. A unit runs no statement
 * against the tables of any other version: an older schema lacks what the
 * statements name (the unit would fail on a missing column or table, again
 * and again), and a newer one may hold what they do not know of.
 */
static const char SCHEMA_VERSION[] = "1.2";

/* What ensure_plans() found in pg_extension. */
enum class Schema
{
	missing,       /* no extension jabclnd in this database */
	other_version, /* one at another version than SCHEMA_VERSION: no SQL against it */
	ready          /* SCHEMA_VERSION, and the plans are prepared */
};

/* The extension's row of pg_extension, as plain data. */
struct ExtensionRow
{
	Oid oid;
	char version[STORE_VERSION_LEN];
};

/* What ensure_plans() found last; zero when the extension is missing. */
static ExtensionRow extension_found = {};

/* Payloads of NOTIFY must stay under 8000 bytes: ids are sent in chunks. */
static const int NOTIFY_PAYLOAD_LIMIT = 7900;

const char *
store_last_error(void)
{
	return last_error;
}

const char *
store_schema_version(void)
{
	return SCHEMA_VERSION;
}

static SPIPlanPtr
prepare(const char *schema, const char *format, int nargs, Oid *argtypes)
{
	/*
	 * Every %s of `format` is the schema (a statement names at most four
	 * objects); psprintf, so that a long schema name never cuts it short.
	 */
	const char *sql = psprintf(format, schema, schema, schema, schema);
	SPIPlanPtr plan;

	plan = SPI_prepare(sql, nargs, argtypes);
	if (plan == nullptr)
		elog(ERROR, "jabclnd: SPI_prepare failed for \"%s\": %s", sql,
		     SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "jabclnd: SPI_keepplan failed");
	return plan;
}

static void
forget_plans(void)
{
	SPIPlanPtr *all[] = {&plans.account,
	                     &plans.claim,
	                     &plans.mark_sent,
	                     &plans.mark_failed,
	                     &plans.insert_rx,
	                     &plans.set_aside_rx,
	                     &plans.logins,
	                     &plans.reset_presence,
	                     &plans.set_presence,
	                     &plans.reset_resources,
	                     &plans.write_resource,
	                     &plans.delete_resource,
	                     &plans.rooms,
	                     &plans.add_room,
	                     &plans.mark_retry,
	                     &plans.next_due,
	                     &plans.claim_skip_locked};
	for (SPIPlanPtr *plan : all)
	{
		if (*plan)
			SPI_freeplan(*plan);
		*plan = nullptr;
	}
	plans.extension = InvalidOid;
}

/*
 * Reads the extension's row of pg_extension; false if there is none. An
 * index scan of the catalog, as get_extension_oid() does, rather than a
 * statement: every unit looks, because ALTER EXTENSION UPDATE changes the
 * version and keeps the oid, and that look must cost next to nothing.
 */
static bool
read_extension(ExtensionRow *row)
{
	ScanKeyData key;
	bool present = false;

	Relation catalog = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
	            CStringGetDatum("jabclnd"));
	SysScanDesc scan = systable_beginscan(catalog, ExtensionNameIndexId, true, nullptr, 1, &key);
	HeapTuple tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool isnull;
		Datum version =
		    heap_getattr(tuple, Anum_pg_extension_extversion, RelationGetDescr(catalog), &isnull);
		row->oid = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->oid;
		row->version[0] = '\0';
		/* Cut to the buffer: a version that long is no version this library knows. */
		if (!isnull)
			text_to_cstring_buffer(DatumGetTextPP(version), row->version, sizeof row->version);
		present = true;
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return present;
}

/*
 * Makes sure the plans match the installed extension: prepared for its
 * oid, and only if its version is SCHEMA_VERSION. Sets extension_found.
 */
static Schema
ensure_plans(void)
{
	Oid extension;
	Oid claim_types[] = {INT4OID, INT8OID, INT8OID, TEXTARRAYOID};
	Oid int8_array[] = {INT8ARRAYOID};
	Oid failed_types[] = {INT8OID, TEXTOID};
	Oid retry_types[] = {INT8OID, TEXTOID, TIMESTAMPTZOID};
	Oid rx_types[] = {TEXTOID, TEXTOID, TEXTOID,        TEXTOID,       TEXTOID,
	                  TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Oid add_room_types[] = {TEXTOID, TEXTOID};
	Oid set_aside_types[] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Oid presence_types[] = {TEXTOID, BOOLOID};
	Oid resource_types[] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID};
	const char *schema;

	if (!read_extension(&extension_found))
	{
		extension_found = {};
		forget_plans();
		return Schema::missing;
	}
	if (strcmp(extension_found.version, SCHEMA_VERSION) != 0)
	{
		forget_plans();
		return Schema::other_version;
	}
	extension = extension_found.oid;
	if (extension == plans.extension)
		return Schema::ready;
	forget_plans();

	/* PostgreSQL 15 does not export get_extension_schema(): ask the catalog. */
	char query[128];
	snprintf(query, sizeof query,
	         "SELECT extnamespace::pg_catalog.regnamespace::text FROM pg_catalog.pg_extension "
	         "WHERE oid = %u",
	         extension);
	if (SPI_execute(query, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "jabclnd: could not find the schema of extension jabclnd");
	/* regnamespace output is already quoted where needed. */
	schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	plans.account = prepare(schema,
	                        "SELECT acc_jid, acc_pass, srv_host, port FROM %s.xmpp_accounts "
	                        "WHERE enabled ORDER BY id LIMIT 1",
	                        0, nullptr);
	/*
	 * The claim takes the oldest due rows and counts an attempt on each, so
	 * that a row whose sending keeps killing the connection is recognised
	 * however the worker dies. A row that waits for its retry
	 * (next_attempt_at in the future) is not due: it stays in
	 * xmpp_tx_queue_pending and is skipped here.
	 *
	 * Sizes before content: a row whose text is larger than $3
	 * (jabclnd.max_stanza_size) comes back with its size and without its
	 * text. octet_length() of a TOASTed value reads its header, not the
	 * value, and the UPDATE keeps the TOAST pointers: a 300 MB body
	 * inserted by a role that may only INSERT never enters the worker's
	 * memory (it once did, five times over).
	 *
	 * What it costs (README.md, "What sending costs the database"): the
	 * update changes submission_attempts only, which no index names, so
	 * with room on the page (the table's fillfactor) it is a HOT update.
	 * The plain claim locks no row before it updates it: FOR UPDATE wrote
	 * a WAL record of its own for every row (54 bytes, a fifth of the
	 * INSERT's WAL). A row someone else holds locked is not ours to send
	 * now, though, and must not stall the rows behind it: the plain claim
	 * runs with a short lock_timeout, and if it meets such a lock it is
	 * rolled back and claim_skip_locked, which skips locked rows (FOR
	 * UPDATE SKIP LOCKED), claims instead (claim_body).
	 */
	const char *claim_format =
	    "WITH batch AS (SELECT id, "
	    "coalesce(octet_length(message_stanza)::int8, 0) + "
	    "coalesce(octet_length(message_to)::int8, 0) "
	    "+ coalesce(octet_length(message_type)::int8, 0) "
	    "+ coalesce(octet_length(message_subject)::int8, 0) "
	    "+ coalesce(octet_length(message_body)::int8, 0) AS text_bytes "
	    "FROM %%s.xmpp_tx_queue "
	    "WHERE submission_timestamp IS NULL AND NOT submission_failed AND id > $2 "
	    "AND (next_attempt_at IS NULL OR next_attempt_at <= now()) "
	    "AND (message_type IS DISTINCT FROM 'groupchat' "
	    "OR NOT coalesce(lower(message_to) = ANY($4), false)) "
	    "ORDER BY id LIMIT $1%s) "
	    "UPDATE %%s.xmpp_tx_queue q "
	    "SET submission_attempts = q.submission_attempts + 1 "
	    /* Checked again on the row's newest version if someone changed it meanwhile. */
	    "FROM batch WHERE q.id = batch.id AND q.submission_timestamp IS NULL "
	    "AND NOT q.submission_failed "
	    "RETURNING q.id, "
	    "(extract(epoch FROM q.insert_timestamp) * 1000000)::int8, "
	    "q.submission_attempts, batch.text_bytes, q.submission_retries, "
	    "CASE WHEN batch.text_bytes <= $3 THEN q.message_stanza END, "
	    "CASE WHEN batch.text_bytes <= $3 THEN q.message_to END, "
	    "CASE WHEN batch.text_bytes <= $3 THEN q.message_type END, "
	    "CASE WHEN batch.text_bytes <= $3 THEN q.message_subject END, "
	    "CASE WHEN batch.text_bytes <= $3 THEN q.message_body END";
	plans.claim = prepare(schema, psprintf(claim_format, ""), 4, claim_types);
	plans.claim_skip_locked =
	    prepare(schema, psprintf(claim_format, " FOR UPDATE SKIP LOCKED"), 4, claim_types);
	plans.mark_sent = prepare(schema,
	                          "UPDATE %s.xmpp_tx_queue SET submission_timestamp = now() "
	                          "WHERE id = ANY($1) AND submission_timestamp IS NULL",
	                          1, int8_array);
	plans.mark_failed = prepare(schema,
	                            "UPDATE %s.xmpp_tx_queue SET submission_failed = true, "
	                            "submission_info = $2 WHERE id = $1",
	                            2, failed_types);
	/*
	 * A temporary error: the row is pending again, due at $3. Its attempts
	 * start again from zero: the server answered, so the row did not kill
	 * the connection (jabclnd.max_attempts is about that); the retries
	 * are counted instead. The columns are not indexed but by the partial
	 * xmpp_tx_queue_next_attempt, which the rows that never wait skip.
	 */
	plans.mark_retry = prepare(schema,
	                           "UPDATE %s.xmpp_tx_queue SET next_attempt_at = $3, "
	                           "submission_retries = submission_retries + 1, "
	                           "submission_attempts = 0, submission_info = $2 "
	                           "WHERE id = $1 AND submission_timestamp IS NULL",
	                           3, retry_types);
	/* The earliest retry still to come (xmpp_tx_queue_next_attempt): when to wake for it. */
	plans.next_due = prepare(schema,
	                         "SELECT min(next_attempt_at) FROM %s.xmpp_tx_queue "
	                         "WHERE next_attempt_at IS NOT NULL AND next_attempt_at > now() "
	                         "AND submission_timestamp IS NULL AND NOT submission_failed",
	                         0, nullptr);
	/*
	 * A room's history at a join may repeat what is stored already (it is
	 * asked for with an overlap, room.cpp). The room's stanza-id ($7)
	 * recognises it, in the room (the bare JID of the sender) that gave
	 * it, through the partial index xmpp_rx_queue_stanza_id. Without one,
	 * a message of the history is the one stored from the same occupant
	 * JID with the same subject and body, without another stanza-id,
	 * from shortly before the room says it was said ($8) until the join
	 * that brought the history went out ($9): what this join brings is
	 * never compared with itself (a message said twice while the bot was
	 * away is stored twice). Then nothing is inserted, and there is no id
	 * to announce. Each NOT EXISTS runs only when its parameters are
	 * given: a live message costs no look-up.
	 */
	plans.insert_rx =
	    prepare(schema,
	            "INSERT INTO %s.xmpp_rx_queue (message_stanza, message_from, "
	            "message_type, message_id, message_subject, message_body, stanza_id) "
	            "SELECT $1, $2, $3, $4, $5, $6, $7 "
	            "WHERE ($7 IS NULL OR NOT EXISTS (SELECT FROM %s.xmpp_rx_queue q "
	            "WHERE lower(split_part(q.message_from, '/', 1)) = lower(split_part($2, '/', 1)) "
	            "AND q.stanza_id = $7)) "
	            "AND ($8 IS NULL OR NOT EXISTS (SELECT FROM %s.xmpp_rx_queue q "
	            "WHERE q.insert_timestamp >= $8 AND q.insert_timestamp < $9 "
	            "AND q.message_type = 'groupchat' AND q.message_from = $2 "
	            "AND q.message_subject IS NOT DISTINCT FROM $5 "
	            "AND q.message_body IS NOT DISTINCT FROM $6 "
	            "AND (q.stanza_id IS NULL OR $7 IS NULL))) RETURNING id",
	            9, rx_types);
	plans.set_aside_rx = prepare(schema,
	                             "INSERT INTO %s.xmpp_rx_set_aside (message_stanza, message_from, "
	                             "message_id, error) VALUES ($1, $2, $3, $4)",
	                             4, set_aside_types);
	plans.logins = prepare(
	    schema, "SELECT DISTINCT lower(login) FROM %s.openfire_users WHERE enabled", 0, nullptr);
	plans.reset_presence = prepare(schema,
	                               "UPDATE %s.openfire_users SET available = false, "
	                               "available_timestamp = now() WHERE available",
	                               0, nullptr);
	/* available_timestamp changes only when available does. */
	plans.set_presence = prepare(schema,
	                             "UPDATE %s.openfire_users SET available = $2, "
	                             "available_timestamp = now() "
	                             "WHERE lower(login) = $1 AND available <> $2",
	                             2, presence_types);
	plans.reset_resources = prepare(schema, "DELETE FROM %s.xmpp_presence", 0, nullptr);
	plans.write_resource =
	    prepare(schema,
	            "INSERT INTO %s.xmpp_presence "
	            "(jid, resource, show, status, priority) "
	            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (jid, resource) DO "
	            "UPDATE SET show = $3, status = $4, priority = $5, since = now()",
	            5, resource_types);
	plans.delete_resource = prepare(
	    schema, "DELETE FROM %s.xmpp_presence WHERE jid = $1 AND resource = $2", 2, resource_types);
	/*
	 * The rooms, each with when its last message was stored (history is
	 * asked for from then on) and its last subject stored (the room sends
	 * it again at every join): both through xmpp_rx_queue_groupchat_room,
	 * newest first. The time is when that row was stored: for history,
	 * later than the room said it, which a worker that goes on knows
	 * better (Room::message_stored); this is what a new worker starts from. And the row's version, its xmin
	 * (any UPDATE makes a new one: see rooms::RoomRow::version).
	 */
	plans.rooms = prepare(schema,
	                      "SELECT r.room_jid, r.nick, r.password, r.enabled, r.create_room, "
	                      "(SELECT q.insert_timestamp FROM %s.xmpp_rx_queue q "
	                      "WHERE lower(split_part(q.message_from, '/', 1)) = lower(r.room_jid) "
	                      "AND q.message_type = 'groupchat' ORDER BY q.id DESC LIMIT 1), "
	                      "(SELECT q.message_subject FROM %s.xmpp_rx_queue q "
	                      "WHERE lower(split_part(q.message_from, '/', 1)) = lower(r.room_jid) "
	                      "AND q.message_type = 'groupchat' AND q.message_subject IS NOT NULL "
	                      "AND q.message_body IS NULL ORDER BY q.id DESC LIMIT 1), "
	                      "coalesce(r.history_max_stanzas, -1), r.insert_timestamp, "
	                      "r.xmin::pg_catalog.text "
	                      "FROM %s.xmpp_rooms r ORDER BY r.insert_timestamp, r.room_jid",
	                      0, nullptr);
	/* ON CONFLICT: a row for the room, in any case (its unique index on lower(room_jid)). */
	plans.add_room = prepare(schema,
	                         "INSERT INTO %s.xmpp_rooms (room_jid, password, enabled) "
	                         "VALUES ($1, $2, true) ON CONFLICT DO NOTHING",
	                         2, add_room_types);
	plans.extension = extension;
	return Schema::ready;
}

/* Inside a unit: the extension whose tables the worker serves, InvalidOid if none. */
Oid
store_served_extension(void)
{
	return ensure_plans() == Schema::ready ? plans.extension : InvalidOid;
}

/*
 * Runs `body` in a transaction of its own. The statement timestamp is set
 * before the transaction starts, so now() in the unit is the unit's time,
 * not the worker's start time. After commit, pgstat_report_stat makes the
 * writes visible to autovacuum.
 */
bool
run_unit(const char *what, Durability durability, UnitBody body, void *arg)
{
	MemoryContext caller_context = CurrentMemoryContext;
	volatile bool ok = true;

	/*
	 * Cancels are held outside units (worker/main.cpp). One that arrived
	 * before this unit was meant for no statement of it: drop it, before a
	 * SIGTERM can cancel this unit (pg/stop_request.h), so that such a
	 * cancel is never dropped with it.
	 */
	QueryCancelPending = false;
	sql_running = true;
	/* After a stop was asked for, no unit may hold it up: a lock, a standby gone. */
	if (stop_requested)
		enable_timeout_after(STATEMENT_TIMEOUT, STOP_GRACE_MS);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, what);
	PG_TRY();
	{
		/* Let a cancel of this unit's SQL through. */
		RESUME_CANCEL_INTERRUPTS();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "jabclnd: SPI_connect failed");
		if (durability == Durability::relaxed)
			(void)set_config_option("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION,
			                        GUC_ACTION_LOCAL, true, 0, false);
		/*
		 * Received messages are acknowledged to the server once their unit
		 * commits: with synchronous_commit = off as the server's default,
		 * a crash would lose messages the server has forgotten.
		 */
		else if (synchronous_commit < SYNCHRONOUS_COMMIT_LOCAL_FLUSH)
			(void)set_config_option("synchronous_commit", "local", PGC_USERSET, PGC_S_SESSION,
			                        GUC_ACTION_LOCAL, true, 0, false);
		PushActiveSnapshot(GetTransactionSnapshot());
		body(arg);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		HOLD_CANCEL_INTERRUPTS();
	}
	PG_CATCH();
	{
		ErrorData *error;

		/* The error zeroed the hold-off count (errfinish): hold again before anything logs. */
		QueryCancelHoldoffCount = 0;
		HOLD_CANCEL_INTERRUPTS();

		MemoryContextSwitchTo(caller_context);
		error = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		snprintf(last_error, sizeof last_error, "%s: %s", what, error->message);
		ereport(LOG, (errmsg("jabclnd: %s failed: %s", what, error->message),
		              error->detail ? errdetail_internal("%s", error->detail) : 0,
		              errhint("The worker retries in a few seconds.")));
		FreeErrorData(error);
		/*
		 * A failed statement may have a plan pointing at dropped tables:
		 * have the next unit prepare them again, inside its transaction.
		 */
		plans.extension = InvalidOid;
		ok = false;
	}
	PG_END_TRY();
	if (stop_requested)
		disable_timeout(STATEMENT_TIMEOUT, false);
	sql_running = false;
	MemoryContextSwitchTo(caller_context);
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, nullptr);
	return ok;
}

/* A copy of column `column` of the current SPI row in `context`, or null. */
static char *
copy_column(MemoryContext context, HeapTuple tuple, int column)
{
	char *value = SPI_getvalue(tuple, SPI_tuptable->tupdesc, column);
	return value ? MemoryContextStrdup(context, value) : nullptr;
}

static int64
int64_column(HeapTuple tuple, int column)
{
	bool isnull;
	Datum value = SPI_getbinval(tuple, SPI_tuptable->tupdesc, column, &isnull);
	return isnull ? 0 : DatumGetInt64(value);
}

static int32
int32_column(HeapTuple tuple, int column)
{
	bool isnull;
	Datum value = SPI_getbinval(tuple, SPI_tuptable->tupdesc, column, &isnull);
	return isnull ? 0 : DatumGetInt32(value);
}

/* ------------------------------------------------------------ account */

struct LoadAccountArgs
{
	MemoryContext results;
	TablesSnapshot *snapshot;
};

static bool
bool_column(HeapTuple tuple, int column)
{
	bool isnull;
	Datum value = SPI_getbinval(tuple, SPI_tuptable->tupdesc, column, &isnull);
	return !isnull && DatumGetBool(value);
}

/* Every row of xmpp_rooms, in the same unit as the account: one consistent look. */
static void
load_rooms(MemoryContext results, TablesSnapshot *snapshot)
{
	if (SPI_execute_plan(plans.rooms, nullptr, nullptr, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "jabclnd: reading xmpp_rooms failed");
	snapshot->room_count = static_cast<int>(SPI_processed);
	snapshot->rooms = static_cast<RoomsRow *>(
	    MemoryContextAllocZero(results, sizeof(RoomsRow) * (SPI_processed + 1)));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple tuple = SPI_tuptable->vals[i];
		RoomsRow *room = &snapshot->rooms[i];
		room->room_jid = copy_column(results, tuple, 1);
		room->nick = copy_column(results, tuple, 2);
		room->password = copy_column(results, tuple, 3);
		room->enabled = bool_column(tuple, 4);
		room->create_room = bool_column(tuple, 5);
		/* A timestamptz is an int8 of microseconds: 0 stands for none (no message is that old). */
		room->last_stored = int64_column(tuple, 6);
		room->last_subject = copy_column(results, tuple, 7);
		room->history_max_stanzas = int32_column(tuple, 8);
		room->added = int64_column(tuple, 9);
		room->version = copy_column(results, tuple, 10);
	}
}

static void
load_account_body(void *arg)
{
	LoadAccountArgs *args = static_cast<LoadAccountArgs *>(arg);
	TablesSnapshot *snapshot = args->snapshot;

	memset(snapshot, 0, sizeof *snapshot);
	snapshot->tables = TablesFound::missing;
	const Schema schema = ensure_plans();
	strlcpy(snapshot->version, extension_found.version, sizeof snapshot->version);
	if (schema == Schema::other_version)
	{
		/*
		 * The same installation (ALTER EXTENSION UPDATE keeps the oid):
		 * the rows are still the ones the worker's books name.
		 */
		snapshot->tables = TablesFound::other_version;
		snapshot->installation = extension_found.oid;
		return;
	}
	if (schema == Schema::missing)
		return;
	snapshot->tables = TablesFound::present;
	snapshot->installation = plans.extension;

	if (SPI_execute_plan(plans.account, nullptr, nullptr, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "jabclnd: reading xmpp_accounts failed");
	if (SPI_processed == 1)
	{
		HeapTuple row = SPI_tuptable->vals[0];
		snapshot->account.found = true;
		snapshot->account.jid = copy_column(args->results, row, 1);
		snapshot->account.password = copy_column(args->results, row, 2);
		snapshot->account.host = copy_column(args->results, row, 3);
		snapshot->account.port = int32_column(row, 4);
	}

	if (SPI_execute_plan(plans.logins, nullptr, nullptr, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "jabclnd: reading openfire_users failed");
	snapshot->login_count = static_cast<int>(SPI_processed);
	snapshot->logins = static_cast<char **>(
	    MemoryContextAllocZero(args->results, sizeof(char *) * (SPI_processed + 1)));
	for (uint64 i = 0; i < SPI_processed; i++)
		snapshot->logins[i] = copy_column(args->results, SPI_tuptable->vals[i], 1);
	load_rooms(args->results, snapshot);

	if (SPI_execute_plan(plans.next_due, nullptr, nullptr, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "jabclnd: reading xmpp_tx_queue.next_attempt_at failed");
	snapshot->next_due = int64_column(SPI_tuptable->vals[0], 1);
}

bool
store_load_account(MemoryContext results, TablesSnapshot *snapshot)
{
	LoadAccountArgs args = {results, snapshot};
	return run_unit("loading the XMPP account", Durability::relaxed, load_account_body, &args);
}

/* -------------------------------------------------------------- claim */

static ErrorData *try_in_subtransaction(UnitBody body, void *arg);

struct ClaimArgs
{
	MemoryContext results;
	int limit;
	int64 after_id;
	int64 max_text_bytes;
	const char *const *waiting_rooms;
	int waiting_count;
	Oid installation;
	TxRow **rows;
	int *row_count;
	bool *stale;
};

/*
 * How long the plain claim waits for a lock before it gives way to the
 * claim that skips locked rows: any wait at all means a row (or the
 * table) someone else holds, which the plain claim cannot step over.
 */
static const char CLAIM_LOCK_TIMEOUT[] = "50ms";

static void
run_plain_claim(void *arg)
{
	if (SPI_execute_plan(plans.claim, static_cast<Datum *>(arg), nullptr, false, 0) !=
	    SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "jabclnd: claiming rows of xmpp_tx_queue failed");
}

/*
 * The plain claim (plans.claim), in a subtransaction under
 * CLAIM_LOCK_TIMEOUT: true if it claimed (SPI_tuptable holds the rows);
 * false if it met a lock and was rolled back, and claim_skip_locked is
 * the one to run, with the unit's own lock_timeout again. Any other
 * error is the unit's.
 */
static bool
claim_without_row_locks(Datum *arguments)
{
	char lock_timeout[32];
	snprintf(lock_timeout, sizeof lock_timeout, "%d", LockTimeout);
	(void)set_config_option("lock_timeout", CLAIM_LOCK_TIMEOUT, PGC_USERSET, PGC_S_SESSION,
	                        GUC_ACTION_LOCAL, true, 0, false);
	ErrorData *error = try_in_subtransaction(run_plain_claim, arguments);
	(void)set_config_option("lock_timeout", lock_timeout, PGC_USERSET, PGC_S_SESSION,
	                        GUC_ACTION_LOCAL, true, 0, false);
	if (error == nullptr)
		return true;
	if (error->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
		ReThrowError(error);
	FreeErrorData(error);
	return false;
}

static void
claim_body(void *arg)
{
	ClaimArgs *args = static_cast<ClaimArgs *>(arg);
	Datum *rooms = static_cast<Datum *>(palloc(sizeof(Datum) * (args->waiting_count + 1)));
	for (int i = 0; i < args->waiting_count; i++)
		rooms[i] = CStringGetTextDatum(args->waiting_rooms[i]);
	ArrayType *waiting =
	    construct_array(rooms, args->waiting_count, TEXTOID, -1, false, TYPALIGN_INT);
	Datum arguments[4] = {Int32GetDatum(args->limit), Int64GetDatum(args->after_id),
	                      Int64GetDatum(args->max_text_bytes), PointerGetDatum(waiting)};

	*args->row_count = 0;
	*args->rows = nullptr;
	*args->stale = false;
	if (ensure_plans() != Schema::ready || plans.extension != args->installation)
	{
		/* Rows of another installation than the worker's books (or of no schema we serve). */
		*args->stale = true;
		return;
	}
	if (!claim_without_row_locks(arguments) &&
	    SPI_execute_plan(plans.claim_skip_locked, arguments, nullptr, false, 0) !=
	        SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "jabclnd: claiming rows of xmpp_tx_queue failed");
	if (SPI_processed == 0)
		return;

	TxRow *rows =
	    static_cast<TxRow *>(MemoryContextAllocZero(args->results, sizeof(TxRow) * SPI_processed));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple tuple = SPI_tuptable->vals[i];
		rows[i].id = int64_column(tuple, 1);
		rows[i].inserted_us = int64_column(tuple, 2);
		rows[i].attempts = int32_column(tuple, 3);
		rows[i].text_bytes = int64_column(tuple, 4);
		rows[i].text_loaded = rows[i].text_bytes <= args->max_text_bytes;
		rows[i].retries = int32_column(tuple, 5);
		rows[i].stanza = copy_column(args->results, tuple, 6);
		rows[i].to = copy_column(args->results, tuple, 7);
		rows[i].type = copy_column(args->results, tuple, 8);
		rows[i].subject = copy_column(args->results, tuple, 9);
		rows[i].body = copy_column(args->results, tuple, 10);
	}
	*args->rows = rows;
	*args->row_count = static_cast<int>(SPI_processed);
}

bool
store_claim_batch(MemoryContext results, int limit, int64_t after_id, int64_t max_text_bytes,
                  const char *const *waiting_rooms, int waiting_count, uint32_t installation,
                  TxRow **rows, int *row_count, bool *stale)
{
	ClaimArgs args = {results,       limit,        after_id, max_text_bytes, waiting_rooms,
	                  waiting_count, installation, rows,     row_count,      stale};
	/*
	 * A claim only counts an attempt: if a crash loses that, the row is
	 * tried once more than jabclnd.max_attempts. Not waiting for its flush
	 * halves the WAL flushes per batch.
	 */
	return run_unit("claiming rows of xmpp_tx_queue", Durability::relaxed, claim_body, &args);
}

/* ------------------------------------------------------------- record */

static void
mark_sent(const Outcomes *outcomes)
{
	Datum *ids = static_cast<Datum *>(palloc(sizeof(Datum) * outcomes->sent_count));
	for (int i = 0; i < outcomes->sent_count; i++)
		ids[i] = Int64GetDatum(outcomes->sent_ids[i]);
	ArrayType *array = construct_array(ids, outcomes->sent_count, INT8OID, sizeof(int64),
	                                   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	Datum argument = PointerGetDatum(array);
	if (SPI_execute_plan(plans.mark_sent, &argument, nullptr, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "jabclnd: marking rows of xmpp_tx_queue sent failed");
}

/* A failure for good, or a temporary one (retry_at set): the row is due again then. */
static void
mark_failed(const RowFailure *failure)
{
	Datum arguments[3] = {Int64GetDatum(failure->id), CStringGetTextDatum(failure->reason),
	                      TimestampTzGetDatum(failure->retry_at)};
	SPIPlanPtr plan = failure->retry_at != 0 ? plans.mark_retry : plans.mark_failed;
	if (SPI_execute_plan(plan, arguments, nullptr, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "jabclnd: marking row %lld of xmpp_tx_queue failed failed",
		     static_cast<long long>(failure->id));
}

static void
set_presence(const PresenceRow *change)
{
	Datum arguments[2] = {CStringGetTextDatum(change->login), BoolGetDatum(change->available)};
	if (SPI_execute_plan(plans.set_presence, arguments, nullptr, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "jabclnd: updating openfire_users.available failed");
}

static Datum
text_or_null(const char *value, char *null_flag)
{
	*null_flag = value ? ' ' : 'n';
	return value ? CStringGetTextDatum(value) : Datum(0);
}

/* One resource of a contact into xmpp_presence (or out of it). */
static void
write_resource(const ResourceRow *row)
{
	Datum arguments[5];
	char nulls[6] = "     ";

	arguments[0] = CStringGetTextDatum(row->jid);
	arguments[1] = CStringGetTextDatum(row->resource);
	if (!row->available)
	{
		if (SPI_execute_plan(plans.delete_resource, arguments, nulls, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "jabclnd: deleting from xmpp_presence failed");
		return;
	}
	arguments[2] = text_or_null(row->show, &nulls[2]);
	arguments[3] = text_or_null(row->status, &nulls[3]);
	arguments[4] = Int32GetDatum(row->priority);
	if (SPI_execute_plan(plans.write_resource, arguments, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "jabclnd: writing xmpp_presence failed");
}

/*
 * Inserts one received message; appends its id to the NOTIFY payload being
 * built. A BEFORE trigger that returns NULL (an application's spam filter)
 * inserts nothing: the message was taken, and there is no id to announce.
 */
static void
insert_received(const RxRow *row, StringInfo payload)
{
	Datum arguments[9];
	char nulls[10] = "         ";

	arguments[0] = text_or_null(row->stanza, &nulls[0]);
	arguments[1] = text_or_null(row->from, &nulls[1]);
	arguments[2] = text_or_null(row->type, &nulls[2]);
	arguments[3] = text_or_null(row->id, &nulls[3]);
	arguments[4] = text_or_null(row->subject, &nulls[4]);
	arguments[5] = text_or_null(row->body, &nulls[5]);
	arguments[6] = text_or_null(row->stanza_id, &nulls[6]);
	arguments[7] = TimestampTzGetDatum(row->history_from);
	arguments[8] = TimestampTzGetDatum(row->history_until);
	if (row->history_until == 0)
		nulls[7] = nulls[8] = 'n';
	if (SPI_execute_plan(plans.insert_rx, arguments, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "jabclnd: inserting into xmpp_rx_queue failed");
	if (SPI_processed == 0)
		return;

	int64 id = int64_column(SPI_tuptable->vals[0], 1);
	if (payload->len > NOTIFY_PAYLOAD_LIMIT)
	{
		Async_Notify("jabclnd_rx", payload->data);
		resetStringInfo(payload);
	}
	appendStringInfo(payload, "%s%lld", payload->len ? "," : "", static_cast<long long>(id));
}

static void
record_body(void *arg)
{
	const Outcomes *outcomes = static_cast<const Outcomes *>(arg);

	const Schema schema = ensure_plans();
	if (schema == Schema::other_version)
	{
		/*
		 * The schema changed under the worker to a version it does not
		 * serve: nothing is written. The rows stay pending and are sent
		 * again once it is served (at-least-once).
		 */
		if (outcomes->sent_count || outcomes->failure_count)
			ereport(LOG, (errmsg("jabclnd: the outcomes of %d sent and %d failed rows are not "
			                     "recorded: the extension is now at version %s, which this "
			                     "library does not serve; the rows stay pending",
			                     outcomes->sent_count, outcomes->failure_count,
			                     extension_found.version)));
		return;
	}
	const bool installed = schema == Schema::ready;
	if (!installed || plans.extension != outcomes->installation)
	{
		/*
		 * The rows were claimed from an installation of the extension that
		 * has been dropped since: the ids now name other rows.
		 */
		if (outcomes->sent_count || outcomes->failure_count)
			ereport(LOG, (errmsg("jabclnd: the outcomes of %d sent and %d failed rows are not "
			                     "recorded: their rows were dropped with the extension",
			                     outcomes->sent_count, outcomes->failure_count)));
		/* No tables: no presence to write either. */
		if (!installed)
			return;
	}
	else
	{
		if (outcomes->sent_count > 0)
			mark_sent(outcomes);
		for (int i = 0; i < outcomes->failure_count; i++)
			mark_failed(&outcomes->failures[i]);
	}

	if (outcomes->reset_presence &&
	    (SPI_execute_plan(plans.reset_presence, nullptr, nullptr, false, 0) != SPI_OK_UPDATE ||
	     SPI_execute_plan(plans.reset_resources, nullptr, nullptr, false, 0) != SPI_OK_DELETE))
		elog(ERROR, "jabclnd: resetting openfire_users.available and xmpp_presence failed");
	for (int i = 0; i < outcomes->presence_count; i++)
		set_presence(&outcomes->presence[i]);
	for (int i = 0; i < outcomes->resource_count; i++)
		write_resource(&outcomes->resources[i]);
}

bool
store_record(const Outcomes *outcomes)
{
	/* Flushed: a row marked sent must stay marked, or a crash would send it again. */
	return run_unit("recording sent rows and presence", Durability::flushed, record_body,
	                const_cast<Outcomes *>(outcomes));
}

/* ----------------------------------------------------------- receive */

/*
 * Whether an error that refused a received message may pass if the unit
 * is tried again (a lock, a conflict, a cancel, the server's resources):
 * then the unit fails as a whole and is retried. Anything else (a
 * trigger's RAISE, a constraint, a privilege) would refuse the message
 * every time: it is set aside.
 */
static bool
is_transient(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
	case ERRCODE_TRANSACTION_ROLLBACK:             /* 40: serialization, deadlock */
	case ERRCODE_INSUFFICIENT_RESOURCES:           /* 53: disk full, out of memory */
	case ERRCODE_OPERATOR_INTERVENTION:            /* 57: cancel, lock_timeout, shutdown */
	case ERRCODE_SYSTEM_ERROR:                     /* 58: I/O */
	case ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE: /* 55: lock not available, ... */
		return true;
	default:
		return false;
	}
}

/*
 * Whether an error that may pass can still be the message's own doing, so
 * that after several tries it sets the message aside (receive_one): a
 * serialization failure or deadlock that a trigger raises for it. A cancel,
 * a lock timeout, a shutdown, a disk full or an I/O error say nothing about
 * the message: those fail the unit every time, and nothing is set aside.
 */
static bool
may_be_the_messages_own(int sqlerrcode)
{
	return ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_TRANSACTION_ROLLBACK;
}

/*
 * The queue of WalSndCtl a commit waits in, as PostgreSQL's own
 * assign_synchronous_commit maps synchronous_commit (its SyncRepWaitMode
 * is not exported); SYNC_REP_NO_WAIT when synchronous replication is not
 * asked for.
 */
static int
sync_rep_mode(void)
{
	if (!SyncRepRequested())
		return SYNC_REP_NO_WAIT;
	switch (synchronous_commit)
	{
	case SYNCHRONOUS_COMMIT_REMOTE_WRITE:
		return SYNC_REP_WAIT_WRITE;
	case SYNCHRONOUS_COMMIT_REMOTE_FLUSH:
		return SYNC_REP_WAIT_FLUSH;
	case SYNCHRONOUS_COMMIT_REMOTE_APPLY:
		return SYNC_REP_WAIT_APPLY;
	default:
		return SYNC_REP_NO_WAIT;
	}
}

struct ReceiveArgs
{
	const RxRow *rows;
	int count;
	bool transient_is_final;
	int set_aside;
	/* Taken just before the commit, for commit_replicated(). */
	bool has_xid;
	int sync_rep_mode;
};

/*
 * Runs `body` in a subtransaction of its own: kept if it succeeds (returns
 * null), rolled back if it raises, and then its error is returned, copied
 * into the caller's memory context. Plain data only here: PG_TRY at this
 * depth skips no C++ object.
 */
static ErrorData *
try_in_subtransaction(UnitBody body, void *arg)
{
	MemoryContext context = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData *volatile error = nullptr;

	BeginInternalSubTransaction(nullptr);
	MemoryContextSwitchTo(context);
	PG_TRY();
	{
		body(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(context);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(context);
	CurrentResourceOwner = owner;
	return error;
}

struct SetAsideArgs
{
	const RxRow *row;
	const char *why;
};

static void
insert_set_aside(void *arg)
{
	const SetAsideArgs *args = static_cast<const SetAsideArgs *>(arg);
	char nulls[5] = "    ";
	Datum arguments[4];

	arguments[0] = text_or_null(args->row->stanza, &nulls[0]);
	arguments[1] = text_or_null(args->row->from, &nulls[1]);
	arguments[2] = text_or_null(args->row->id, &nulls[2]);
	arguments[3] = CStringGetTextDatum(args->why);
	if (SPI_execute_plan(plans.set_aside_rx, arguments, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "jabclnd: inserting into xmpp_rx_set_aside failed");
}

/*
 * Sets a received message aside in xmpp_rx_set_aside with the error that
 * refused it. If that table refuses it too (a trigger, a privilege taken
 * away), the message is written whole to the server log instead: it is
 * still acknowledged, so that nothing received after it waits, and it is
 * not lost from sight. An error that may pass fails the unit, which is
 * tried again.
 */
static void
set_aside_one(const RxRow *row, const ErrorData *refusal)
{
	const char *from = row->from ? row->from : "(no sender)";
	SetAsideArgs args = {
	    row, psprintf("%s (SQLSTATE %s)", refusal->message, unpack_sql_state(refusal->sqlerrcode))};

	ErrorData *error = try_in_subtransaction(insert_set_aside, &args);
	if (!error)
	{
		ereport(LOG, (errmsg("jabclnd: a message from %s could not be stored in xmpp_rx_queue "
		                     "and was set aside in xmpp_rx_set_aside: %s",
		                     from, refusal->message)));
		return;
	}
	if (is_transient(error->sqlerrcode))
		ReThrowError(error);
	ereport(WARNING,
	        (errmsg("jabclnd: a message from %s could be stored neither in xmpp_rx_queue "
	                "nor in xmpp_rx_set_aside; it is acknowledged and kept only in this log",
	                from),
	         errdetail_internal("xmpp_rx_queue: %s; xmpp_rx_set_aside: %s (SQLSTATE %s). "
	                            "The stanza: %s",
	                            args.why, error->message, unpack_sql_state(error->sqlerrcode),
	                            row->stanza ? row->stanza : "(none)"),
	         errhint("Let xmpp_rx_set_aside take rows again (its triggers, the worker's "
	                 "INSERT privilege).")));
	FreeErrorData(error);
}

struct InsertReceivedArgs
{
	const RxRow *row;
	StringInfo payload;
};

static void
insert_received_body(void *arg)
{
	const InsertReceivedArgs *args = static_cast<const InsertReceivedArgs *>(arg);
	insert_received(args->row, args->payload);
}

/*
 * Stores one received message in a subtransaction of its own. A message
 * its insert refuses for good is set aside (set_aside_one), so that it is
 * still acknowledged and nothing behind it waits; so is one refused with a
 * serialization failure or deadlock once the unit has failed on it several
 * times (`transient_is_final`): a trigger that always raises one must not
 * stop receiving either.
 */
static void
receive_one(const RxRow *row, StringInfo payload, bool transient_is_final, int *set_aside)
{
	InsertReceivedArgs args = {row, payload};
	ErrorData *error = try_in_subtransaction(insert_received_body, &args);
	if (!error)
		return;
	if (is_transient(error->sqlerrcode) &&
	    !(transient_is_final && may_be_the_messages_own(error->sqlerrcode)))
		ReThrowError(error);
	set_aside_one(row, error);
	FreeErrorData(error);
	(*set_aside)++;
}

static void
receive_body(void *arg)
{
	ReceiveArgs *args = static_cast<ReceiveArgs *>(arg);
	StringInfoData payload;

	args->set_aside = 0;
	switch (ensure_plans())
	{
	case Schema::missing:
		elog(ERROR, "the jabclnd extension was dropped from this database");
		break;
	case Schema::other_version:
		elog(ERROR, "the jabclnd extension is at version %s, which this library does not serve",
		     extension_found.version);
		break;
	case Schema::ready:
		break;
	}
	/*
	 * A deferred constraint or constraint trigger someone put on the table
	 * would fire at commit, outside every message's subtransaction, and
	 * fail the whole unit each time: check them with each message instead.
	 */
	if (SPI_execute("SET CONSTRAINTS ALL IMMEDIATE", false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "jabclnd: SET CONSTRAINTS ALL IMMEDIATE failed");
	initStringInfo(&payload);
	for (int i = 0; i < args->count; i++)
		receive_one(&args->rows[i], &payload, args->transient_is_final, &args->set_aside);
	/* Delivered at commit, with the rows: a listener never sees an id it cannot read. */
	if (payload.len > 0)
		Async_Notify("jabclnd_rx", payload.data);
	/*
	 * What the commit will do about synchronous replication: it waits only
	 * for a transaction with an xid (RecordTransactionCommit), in the mode
	 * synchronous_commit gives now, before the unit's GUC level is undone.
	 */
	args->has_xid = TransactionIdIsValid(GetTopTransactionIdIfAny());
	args->sync_rep_mode = sync_rep_mode();
}

/*
 * Whether the commit that just ended (XactLastCommitEnd) is where
 * synchronous_commit asked it to be. PostgreSQL ends a commit's wait for
 * the synchronous standby early, counting the commit as done locally only
 * ("might not have been replicated", a WARNING), on a pending die (fast
 * shutdown, or postmaster death noticed in the wait) and on a query cancel.
 * The worker may not acknowledge such messages: after a failover to the
 * standby they would be on neither node.
 *
 * Why the LSN and not the flags: a cancel clears QueryCancelPending, so
 * only the position tells, and the position covers every cause, also one a
 * later release adds. WalSndCtl->lsn[mode] is how far the synchronous
 * standbys have confirmed; the walsender raises it before it releases
 * waiters, so a wait that completed always finds its commit at or below
 * it. The flags of WalSndCtl say whether synchronous standbys are wanted at
 * all: when synchronous_standby_names was emptied, PostgreSQL releases the
 * waiters as done, and so does this. Read under SyncRepLock, as
 * SyncRepWaitForLSN does; nothing here raises.
 */
static bool
commit_replicated(const ReceiveArgs *args)
{
	if (!args->has_xid || args->sync_rep_mode == SYNC_REP_NO_WAIT)
		return true;

	const XLogRecPtr commit_end = XactLastCommitEnd;
	LWLockAcquire(SyncRepLock, LW_SHARED);
#ifdef SYNC_STANDBY_DEFINED
	/* 15.13 and later: before the checkpointer's first look, the setting itself. */
	const bits8 status = WalSndCtl->sync_standbys_status;
	const bool wanted = (status & SYNC_STANDBY_INIT)
	                        ? (status & SYNC_STANDBY_DEFINED) != 0
	                        : SyncRepStandbyNames != nullptr && SyncRepStandbyNames[0] != '\0';
#else
	const bool wanted = WalSndCtl->sync_standbys_defined;
#endif
	const XLogRecPtr confirmed = WalSndCtl->lsn[args->sync_rep_mode];
	LWLockRelease(SyncRepLock);
	return !wanted || commit_end <= confirmed;
}

bool
store_received(const RxRow *rows, int count, bool transient_is_final, int *set_aside,
               bool *replicated)
{
	ReceiveArgs args = {rows, count, transient_is_final, 0, false, SYNC_REP_NO_WAIT};
	/*
	 * Flushed: a received message must be on disk before the server learns
	 * (from our next stream-management ack) that we have it; and, where
	 * synchronous replication is asked for, on the standby too.
	 */
	const bool ok = run_unit("storing received messages", Durability::flushed, receive_body, &args);
	*set_aside = ok ? args.set_aside : 0;
	/* Right after the commit: XactLastCommitEnd is still this unit's. */
	*replicated = !ok || commit_replicated(&args);
	return ok;
}

/* ------------------------------------------------------------- rooms */

struct AddRoomArgs
{
	const char *room_jid;
	const char *password;
};

static void
add_room_body(void *arg)
{
	const AddRoomArgs *args = static_cast<const AddRoomArgs *>(arg);
	Datum arguments[2];
	char nulls[3] = "  ";

	if (ensure_plans() != Schema::ready)
		return;
	arguments[0] = CStringGetTextDatum(args->room_jid);
	arguments[1] = text_or_null(args->password, &nulls[1]);
	if (SPI_execute_plan(plans.add_room, arguments, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "jabclnd: inserting into xmpp_rooms failed");
}

bool
store_add_room(const char *room_jid, const char *password)
{
	AddRoomArgs args = {room_jid, password};
	return run_unit("adding an invited room to xmpp_rooms", Durability::flushed, add_room_body,
	                &args);
}
