/*
 * jabclnd 1.1 -> 1.2: running it for a year (retention, retries, metrics,
 * and what sending costs the database).
 *
 * jabclnd ships one install script, jabclnd--1.0.sql, frozen as released,
 * and an update script per version after it. CREATE EXTENSION jabclnd
 * installs 1.0 and runs the update scripts in order (PostgreSQL finds the
 * path), and ALTER EXTENSION jabclnd UPDATE runs the same scripts on an
 * older installation: a fresh install and an updated one are made by the
 * same statements, so they cannot drift apart. test/e2e/test_upgrade.py
 * still compares the two object by object, with rows in every table.
 *
 * A released update script is frozen too: a change is a new version.
 *
 * Everything this script calls is schema-qualified (pg_catalog. or
 * @extschema@.), as in jabclnd--1.0.sql. It has no install guard: it only
 * changes an installation that exists, wherever it is.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION jabclnd UPDATE" to load this file. \quit

/* ------------------------------------------------ send path */

/*
 * What sending a row costs the database (README.md, "What sending costs
 * the database"; bench/results-cost.md). A row is written three times:
 * the INSERT, the claim (submission_attempts + 1, before it is sent, so
 * that a row that kills the worker is not sent forever) and the mark
 * (sent or failed). The claim changes no indexed column: it can be a HOT
 * update, which writes no index entry and little WAL, if the new version
 * finds room on the row's page. With the default fillfactor of 100 a
 * page filled by INSERTs has none, and nine claims in ten wrote new
 * entries in both indexes. At 45 the INSERTs leave more than half of each
 * page to the claim's and the mark's versions; the dead ones are pruned
 * on the page as the next rows need the room. (Measured: 50 left some
 * marks without room on the page, 40 and below cost as much WAL as 45
 * and made the table larger.) The mark changes submission_timestamp or
 * submission_failed, which xmpp_tx_queue_pending's predicate reads: it is
 * the one index-touching update of a row (a new primary key entry).
 *
 * ALTER TABLE ... SET (fillfactor) applies to pages written from now on:
 * an updated installation keeps its full pages until they are rewritten
 * (VACUUM FULL, or rows deleted and the space reused).
 */
ALTER TABLE @extschema@.xmpp_tx_queue SET (fillfactor = 45);

/*
 * Retries. An error reply of type wait (e.g. ejabberd's resource-constraint
 * when the recipient's offline storage is full) makes the row due again
 * later instead of failing it: next_attempt_at says when (NULL: due now),
 * submission_retries how many such retries it had (jabclnd.wait_retries at
 * most). Neither is indexed by the claim's index, so that setting them is
 * a HOT update too; the claim skips rows not yet due.
 */
ALTER TABLE @extschema@.xmpp_tx_queue
	ADD COLUMN next_attempt_at timestamptz,
	ADD COLUMN submission_retries integer NOT NULL DEFAULT 0;

COMMENT ON COLUMN @extschema@.xmpp_tx_queue.next_attempt_at IS
	'when the worker sends this row again after a temporary error (type wait); NULL: as soon as it can';
COMMENT ON COLUMN @extschema@.xmpp_tx_queue.submission_retries IS
	'how many times this row was sent again after a temporary error (jabclnd.wait_retries at most)';
COMMENT ON COLUMN @extschema@.xmpp_tx_queue.submission_info IS
	'the last reason the row failed or waits for a retry; kept when it is sent again';

/*
 * When the worker must wake next for a row that waits for its retry: the
 * earliest next_attempt_at of the pending rows. Partial: rows that never
 * waited have no entry, and neither the claim nor the mark of such a row
 * writes one (the mark's new version is not pending).
 */
CREATE INDEX xmpp_tx_queue_next_attempt
	ON @extschema@.xmpp_tx_queue (next_attempt_at)
	WHERE next_attempt_at IS NOT NULL AND submission_timestamp IS NULL
		AND NOT submission_failed;

/*
 * Sends failed rows again: each of `ids` that failed becomes pending, with
 * its attempts and retries counted from zero; submission_info keeps the
 * reason of the last failure until a new one replaces it. Rows that did
 * not fail (sent, pending, or no such id) are left alone. Returns the ids
 * made pending. The statement's commit wakes the worker.
 *
 * SECURITY DEFINER, pinned search_path: an application granted EXECUTE on
 * it resends rows without UPDATE on the table (README.md, "Privileges").
 */
CREATE FUNCTION @extschema@.jabclnd_resend(ids bigint[])
RETURNS SETOF bigint
LANGUAGE sql VOLATILE STRICT
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	UPDATE @extschema@.xmpp_tx_queue
	   SET submission_failed = false, submission_attempts = 0, submission_retries = 0,
	       next_attempt_at = NULL
	 WHERE id OPERATOR(pg_catalog.=) ANY (ids) AND submission_failed
	RETURNING id
$$;

COMMENT ON FUNCTION @extschema@.jabclnd_resend(bigint[]) IS
	'sends the failed rows among ids again; returns the ids made pending';

REVOKE ALL ON FUNCTION @extschema@.jabclnd_resend(bigint[]) FROM PUBLIC;

/* ----- retention */

/*
 * The worker deletes expired rows itself (jabclnd.keep_sent, keep_failed,
 * keep_received; README.md, "Retention"): its own role (jabclnd.role)
 * gets DELETE on the two queues, as in jabclnd--1.0.sql's grants, and
 * nothing else is needed: it reads xmpp_tx_queue already, and the columns
 * of xmpp_rx_queue it selects on (id, insert_timestamp). No index is
 * added: the tx queue is walked by its primary key, the rx queue by
 * xmpp_rx_queue_insert_timestamp, so sending pays nothing for retention.
 * xmpp_rx_set_aside is never deleted from: its rows are the only copy of
 * messages the application refused, for someone to look at.
 */

/*
 * The worker's grants for 1.2 (as in the 1.1 script, only to an existing
 * jabclnd.role): the retry columns it writes, and DELETE for retention.
 */
DO $grant$
DECLARE
	worker_role text := pg_catalog.current_setting('jabclnd.role', true);
BEGIN
	IF worker_role IS NULL OR worker_role OPERATOR(pg_catalog.=) ''
		OR NOT EXISTS (SELECT FROM pg_catalog.pg_roles r
		                WHERE r.rolname OPERATOR(pg_catalog.=) worker_role) THEN
		RETURN;
	END IF;
	EXECUTE pg_catalog.format('GRANT UPDATE (next_attempt_at, submission_retries) '
		'ON @extschema@.xmpp_tx_queue TO %I', worker_role);
	EXECUTE pg_catalog.format('GRANT DELETE ON @extschema@.xmpp_tx_queue, '
		'@extschema@.xmpp_rx_queue TO %I', worker_role);
END
$grant$;

/* ----- metrics */

/*
 * What an operator graphs and alerts on (README.md, "Metrics"). The
 * counters live in shared memory and count since the worker started
 * (worker_started); the rest is read from the tables at each call.
 */
CREATE FUNCTION @extschema@.jabclnd_worker_metrics(
	OUT worker_started timestamptz,
	OUT logins bigint,
	OUT connections_lost bigint,
	OUT last_barrier_round_trip double precision,
	OUT expired_sent bigint,
	OUT expired_failed bigint,
	OUT expired_received bigint,
	OUT retention_passes bigint,
	OUT last_retention timestamptz)
RETURNS record
LANGUAGE c STRICT
AS 'MODULE_PATHNAME', 'jabclnd_worker_metrics';

COMMENT ON FUNCTION @extschema@.jabclnd_worker_metrics() IS
	'the worker''s counters from shared memory; see jabclnd_metrics()';

CREATE FUNCTION @extschema@.jabclnd_failures(
	OUT condition text,
	OUT failures bigint)
RETURNS SETOF record
LANGUAGE c STRICT
AS 'MODULE_PATHNAME', 'jabclnd_failures';

COMMENT ON FUNCTION @extschema@.jabclnd_failures() IS
	'rows of xmpp_tx_queue failed since the worker started, by condition (RFC 6120''s, rejected, unconfirmed)';

CREATE FUNCTION @extschema@.jabclnd_metrics(
	OUT state text,
	OUT since timestamptz,
	OUT worker_pid integer,
	OUT worker_started timestamptz,
	OUT pending bigint,
	OUT oldest_pending timestamptz,
	OUT oldest_pending_age double precision,
	OUT messages_sent bigint,
	OUT messages_failed bigint,
	OUT messages_received bigint,
	OUT messages_set_aside bigint,
	OUT messages_ignored bigint,
	OUT logins bigint,
	OUT connections_lost bigint,
	OUT last_barrier_round_trip double precision,
	OUT set_aside_rows bigint,
	OUT expired_sent bigint,
	OUT expired_failed bigint,
	OUT expired_received bigint,
	OUT retention_passes bigint,
	OUT last_retention timestamptz,
	OUT rooms bigint,
	OUT rooms_joined bigint)
RETURNS record
LANGUAGE sql STABLE
/*
 * SECURITY DEFINER, pinned search_path: as jabclnd_status(). A monitoring
 * role granted EXECUTE on this function sees counts and ages, never a
 * row's content.
 */
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.state, s.since, s.worker_pid, m.worker_started,
	       p.pending, p.oldest,
	       pg_catalog.date_part('epoch', pg_catalog.now() - p.oldest),
	       s.messages_sent, s.messages_failed, s.messages_received, s.messages_set_aside,
	       s.messages_ignored, m.logins, m.connections_lost, m.last_barrier_round_trip,
	       (SELECT pg_catalog.count(*) FROM @extschema@.xmpp_rx_set_aside),
	       m.expired_sent, m.expired_failed, m.expired_received, m.retention_passes,
	       m.last_retention, r.rooms, r.joined
	  FROM @extschema@.jabclnd_worker_status() s,
	       @extschema@.jabclnd_worker_metrics() m,
	       (SELECT pg_catalog.count(*) AS pending, pg_catalog.min(q.insert_timestamp) AS oldest
	          FROM @extschema@.xmpp_tx_queue q
	         WHERE q.submission_timestamp IS NULL AND NOT q.submission_failed) p,
	       (SELECT pg_catalog.count(*) FILTER (WHERE w.state <> 'not shown') AS rooms,
	               pg_catalog.count(*) FILTER (WHERE w.state = 'joined') AS joined
	          FROM @extschema@.jabclnd_worker_rooms() w) r
$$;

COMMENT ON FUNCTION @extschema@.jabclnd_metrics() IS
	'one row for monitoring: state, pending rows and the oldest one''s age, counters since the worker started, retention, rooms';

REVOKE ALL ON FUNCTION @extschema@.jabclnd_worker_metrics() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.jabclnd_failures() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.jabclnd_metrics() FROM PUBLIC;

-- The worker waits for this commit to serve version 1.2 (as in the 1.1 script).
SELECT @extschema@.jabclnd_wake();
