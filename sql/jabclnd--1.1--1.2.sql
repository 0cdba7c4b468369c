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

/* The worker writes the retry columns (as in the 1.1 script, only to an existing jabclnd.role). */
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
END
$grant$;

-- The worker waits for this commit to serve version 1.2 (as in the 1.1 script; a second
-- call by another section of this script is harmless: it only sets a flag).
SELECT @extschema@.jabclnd_wake();
