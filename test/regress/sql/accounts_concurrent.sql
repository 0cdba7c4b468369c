--
-- Two sessions enable different accounts at once: the second waits for the
-- first (the trigger's advisory lock), then disables the first's account.
-- The last to enable wins; neither fails on the exclusion
-- constraint xmpp_accounts_only_one_enabled.
--
-- The second session is a dblink connection to this same database, over the
-- server's first Unix socket directory and port (nothing of either is
-- printed, so the expected output does not depend on them).
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
TRUNCATE xmpp_accounts RESTART IDENTITY;

INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES
	('a@example.org', 'pa'), ('b@example.org', 'pb');

SELECT dblink_connect('session2', pg_catalog.format(
	'host=%s port=%s dbname=%s user=%s',
	btrim(split_part(current_setting('unix_socket_directories'), ',', 1)),
	current_setting('port'), current_database(), current_user)) AS connected;

-- Waits until another session waits for the enablers' advisory lock (the
-- trigger's key is the table's OID).
CREATE FUNCTION pg_temp.wait_for_enabler_to_block() RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..3000 LOOP
		IF EXISTS (SELECT FROM pg_catalog.pg_locks
		            WHERE locktype = 'advisory' AND NOT granted
		              AND database = (SELECT oid FROM pg_catalog.pg_database
		                               WHERE datname = current_database())
		              AND objid = 'xmpp_accounts'::regclass::oid) THEN
			RETURN true;
		END IF;
		PERFORM pg_catalog.pg_sleep(0.01);
	END LOOP;
	RETURN false;
END
$$;

-- Case 1: both UPDATE. Session 1 enables A and keeps its transaction open.
BEGIN;
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'a@example.org';
-- Session 2 enables B: it blocks on the advisory lock.
SELECT dblink_send_query('session2',
	$$UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'b@example.org'$$) AS sent;
SELECT pg_temp.wait_for_enabler_to_block() AS session2_waits;
SELECT dblink_is_busy('session2') AS session2_busy;
-- Session 1 still sees only its own account enabled.
SELECT acc_jid FROM xmpp_accounts WHERE enabled;
COMMIT;
-- Session 2 completes once session 1 has committed.
SELECT * FROM dblink_get_result('session2') AS r(status text);
SELECT * FROM dblink_get_result('session2') AS r(status text);
-- Exactly one account is enabled: B, the last to be enabled.
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- Case 2: session 2 INSERTs a new enabled account while session 1 enables A.
BEGIN;
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'a@example.org';
SELECT dblink_send_query('session2',
	$$INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'c@example.org', 'pc')$$) AS sent;
SELECT pg_temp.wait_for_enabler_to_block() AS session2_waits;
COMMIT;
SELECT * FROM dblink_get_result('session2') AS r(status text);
SELECT * FROM dblink_get_result('session2') AS r(status text);
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- Case 3: session 1 rolls back; session 2's account is enabled and the one
-- session 1 had kept enabled before (C) is disabled.
BEGIN;
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'a@example.org';
SELECT dblink_send_query('session2',
	$$UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'b@example.org'$$) AS sent;
SELECT pg_temp.wait_for_enabler_to_block() AS session2_waits;
ROLLBACK;
SELECT * FROM dblink_get_result('session2') AS r(status text);
SELECT * FROM dblink_get_result('session2') AS r(status text);
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

SELECT dblink_disconnect('session2') AS disconnected;
TRUNCATE xmpp_accounts RESTART IDENTITY;
