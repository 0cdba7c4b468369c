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
DO $grant$
DECLARE
	worker_role text := pg_catalog.current_setting('jabclnd.role', true);
BEGIN
	IF worker_role IS NULL OR worker_role OPERATOR(pg_catalog.=) ''
		OR NOT EXISTS (SELECT FROM pg_catalog.pg_roles r
		                WHERE r.rolname OPERATOR(pg_catalog.=) worker_role) THEN
		RETURN;
	END IF;
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
