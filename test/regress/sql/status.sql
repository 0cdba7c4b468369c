--
-- jabclnd_status() and jabclnd_worker_status(): one row from shared memory
-- (plus the pending count). The worker serves another database, so only the
-- shape and the invariants are asserted here, never pids or timestamps.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;
TRUNCATE xmpp_tx_queue RESTART IDENTITY;

SELECT state, messages_sent FROM jabclnd_status() WHERE false;
SELECT count(*) AS rows FROM jabclnd_status();
SELECT count(*) AS rows FROM jabclnd_worker_status();

-- The column lists, in order.
SELECT p.proname, a.ord, a.name, format_type(a.type, NULL) AS type, a.mode
  FROM pg_proc p
 CROSS JOIN LATERAL unnest(p.proargnames, p.proallargtypes::oid[], p.proargmodes)
       WITH ORDINALITY AS a(name, type, mode, ord)
 WHERE p.proname IN ('jabclnd_status', 'jabclnd_worker_status')
   AND p.pronamespace = 'public'::regnamespace
 ORDER BY p.proname COLLATE "C", a.ord;

-- The values make sense, whatever the worker is doing.
SELECT state IN ('stopped', 'disabled', 'no_extension', 'schema_mismatch', 'no_account',
                 'connecting', 'online', 'offline', 'auth_failed', 'database_error') AS known_state,
       messages_sent >= 0 AS sent_ok,
       messages_failed >= 0 AS failed_ok,
       messages_received >= 0 AS received_ok,
       worker_pid IS NULL OR worker_pid > 0 AS pid_ok,
       since IS NULL OR since <= clock_timestamp() AS since_ok,
       state <> 'online' OR jid IS NOT NULL AS online_has_jid
  FROM jabclnd_status();

-- pending counts this database's unsent, unfailed rows of xmpp_tx_queue (the
-- worker does not serve contrib_regression, so nothing gets sent).
SELECT pending FROM jabclnd_status();
INSERT INTO xmpp_tx_queue (message_to, message_body) VALUES
	('p1@example.org', 'x'), ('p2@example.org', 'x'), ('p3@example.org', 'x'),
	('p4@example.org', 'x');
SELECT pending FROM jabclnd_status();
UPDATE xmpp_tx_queue SET submission_timestamp = now() WHERE message_to = 'p1@example.org';
UPDATE xmpp_tx_queue SET submission_failed = true WHERE message_to = 'p2@example.org';
SELECT pending FROM jabclnd_status();
-- Rows of this transaction count in it.
BEGIN;
INSERT INTO xmpp_tx_queue (message_to) VALUES ('p5@example.org');
SELECT pending FROM jabclnd_status();
ROLLBACK;
SELECT pending FROM jabclnd_status();

-- Neither function depends on search_path.
SET search_path = pg_catalog;
SELECT pending FROM public.jabclnd_status();
RESET search_path;

-- jabclnd_wake() only marks the transaction; calling it is harmless.
SELECT jabclnd_wake();
BEGIN;
SELECT jabclnd_wake();
ROLLBACK;
-- The trigger function cannot be called directly.
SELECT jabclnd_wake_at_commit();
SELECT xmpp_accounts_enable_one();

TRUNCATE xmpp_tx_queue RESTART IDENTITY;
