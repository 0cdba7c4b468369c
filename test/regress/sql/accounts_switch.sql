--
-- Switching the enabled account in one UPDATE statement that touches the
-- enabled row as well as the new one: the natural way to write "use account
-- X from now on". Whatever order the rows are visited in, exactly X must end
-- up enabled.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;
TRUNCATE xmpp_accounts RESTART IDENTITY;

-- The enabled row is stored last, so the statement reaches the new account
-- before it reaches the enabled one.
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('a@example.org', 'pa');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('b@example.org', 'pb');
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'c@example.org', 'pc');
-- (A sequential scan visits rows in storage order, ctid.)
SELECT acc_jid, enabled FROM xmpp_accounts ORDER BY ctid;

UPDATE xmpp_accounts SET enabled = (acc_jid = 'a@example.org');
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- The enabled row is stored first now: the statement disables it before it
-- reaches the new one.
SELECT acc_jid, enabled FROM xmpp_accounts ORDER BY ctid;
UPDATE xmpp_accounts SET enabled = (acc_jid = 'c@example.org');
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- Switching back and forth by id, and to the account already enabled.
UPDATE xmpp_accounts SET enabled = (id = 2);
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;
UPDATE xmpp_accounts SET enabled = (id = 2);
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- Switching to none.
UPDATE xmpp_accounts SET enabled = false;
SELECT count(*) FILTER (WHERE enabled) AS enabled_accounts FROM xmpp_accounts;
UPDATE xmpp_accounts SET enabled = (acc_jid = 'b@example.org');
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- A statement that would leave more than one of the rows it writes enabled
-- is refused as a whole: the account the worker logs in with is never
-- picked by the order rows happen to be stored in. Nothing changes, and B
-- stays the one enabled. (No CONTEXT line: it would give a line number
-- inside the trigger function.)
\set SHOW_CONTEXT never
-- Every row at once.
UPDATE xmpp_accounts SET enabled = true;
-- Two accounts, one of them the enabled one.
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid IN ('a@example.org', 'b@example.org');
-- Two accounts, neither of them enabled.
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid IN ('a@example.org', 'c@example.org');
-- Toggling with three rows enables two.
UPDATE xmpp_accounts SET enabled = NOT enabled;
-- Two UPDATEs of one query (a writable CTE) count together.
WITH first AS (
	UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'a@example.org' RETURNING id)
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'c@example.org';
\set SHOW_CONTEXT errors
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- Toggling with two rows, one of them enabled, swaps them.
DELETE FROM xmpp_accounts WHERE acc_jid = 'c@example.org';
UPDATE xmpp_accounts SET enabled = NOT enabled;
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- Rewriting every row, the enabled one with enabled = true again, is no
-- switch.
UPDATE xmpp_accounts SET enabled = enabled, port = 5223;
SELECT id, acc_jid, enabled, port FROM xmpp_accounts ORDER BY id;

TRUNCATE xmpp_accounts RESTART IDENTITY;
