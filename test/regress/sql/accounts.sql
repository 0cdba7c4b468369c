--
-- xmpp_accounts: at most one enabled account, enabling one disables the
-- others; acc_jid and port checks; uniqueness.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;
TRUNCATE xmpp_accounts RESTART IDENTITY;

INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES
	('a@example.org', 'pa'), ('b@example.org', 'pb'), ('c@example.org', 'pc');
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- UPDATE enabling one: it is the only enabled one.
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'a@example.org';
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- UPDATE enabling another disables the first.
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'b@example.org';
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- Enabling the one already enabled changes nothing.
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'b@example.org';
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- INSERT of an enabled account disables the enabled one.
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'd@example.org', 'pd');
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- INSERT of a disabled account leaves the enabled one alone.
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (false, 'e@example.org', 'pe');
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- Two enabled rows in one INSERT: refused as a whole (which one would win
-- is not for the storage order to decide); nothing changes. (No CONTEXT
-- line: it would give a line number inside the trigger function.)
\set SHOW_CONTEXT never
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass)
VALUES (true, 'f@example.org', 'pf'), (true, 'g@example.org', 'pg');
\set SHOW_CONTEXT errors
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;
-- One enabled row among several in one INSERT: it wins.
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass)
VALUES (false, 'f@example.org', 'pf'), (true, 'g@example.org', 'pg');
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'g@example.org';
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- Disabling the enabled one leaves none enabled.
UPDATE xmpp_accounts SET enabled = false WHERE acc_jid = 'g@example.org';
SELECT count(*) FILTER (WHERE enabled) AS enabled_accounts FROM xmpp_accounts;

-- Changing other columns of the enabled account does not disturb it.
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'c@example.org';
UPDATE xmpp_accounts SET acc_pass = 'new', port = 5223 WHERE acc_jid = 'c@example.org';
SELECT id, acc_jid, enabled, port FROM xmpp_accounts ORDER BY id;

-- A rollback restores the previously enabled account.
BEGIN;
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'a@example.org';
SELECT acc_jid FROM xmpp_accounts WHERE enabled;
ROLLBACK;
SELECT acc_jid FROM xmpp_accounts WHERE enabled;

-- With the triggers disabled, the exclusion constraint still refuses a
-- second enabled account, at the end of the statement.
ALTER TABLE xmpp_accounts DISABLE TRIGGER "Enable_one_account_on_insert",
	DISABLE TRIGGER "Enable_one_account_on_update";
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'a@example.org';
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'h@example.org', 'ph');
ALTER TABLE xmpp_accounts ENABLE TRIGGER "Enable_one_account_on_insert",
	ENABLE TRIGGER "Enable_one_account_on_update";
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- Upserts name their conflict target: xmpp_accounts_only_one_enabled is
-- checked at the end of the statement, and PostgreSQL refuses such a
-- constraint as an arbiter, which a bare ON CONFLICT would make it (once
-- the row does not conflict with an earlier unique index).
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('new@example.org', 'pn')
ON CONFLICT DO NOTHING;
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('new@example.org', 'pn')
ON CONFLICT (acc_jid, srv_host, port) DO NOTHING;
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('new@example.org', 'pn')
ON CONFLICT (acc_jid, srv_host, port) DO NOTHING;
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'a@example.org', 'pa2')
ON CONFLICT (acc_jid, srv_host, port) DO UPDATE SET enabled = true, acc_pass = excluded.acc_pass;
SELECT id, acc_jid, acc_pass, enabled FROM xmpp_accounts
 WHERE enabled OR acc_jid = 'new@example.org' ORDER BY id;
DELETE FROM xmpp_accounts WHERE acc_jid = 'new@example.org';
UPDATE xmpp_accounts SET enabled = (acc_jid = 'c@example.org');

-- acc_jid: accepted forms.
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES
	('user@domain', 'x'),
	('user@domain/res', 'x'),
	('user@domain/res with spaces', 'x'),
	('user@domain/res/with/slashes', 'x'),
	('user@domain/res@at', 'x'),
	('User.Name+tag@Sub.Example.ORG', 'x'),
	('user@127.0.0.1', 'x'),
	('username@server', 'x')
RETURNING acc_jid;
-- Non-ASCII (not echoed, so that the output does not depend on how psql
-- measures its width).
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (U&'\00FCser@d\00F6main.example', 'x')
RETURNING acc_jid = U&'\00FCser@d\00F6main.example' AS accepted;

-- acc_jid: refused forms; the error names the rule.
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('nodomain', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('user@', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('@domain', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('a@b@c', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('us er@domain', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('user@dom ain', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (E'user\t@domain', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('user@domain/', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('us:er@domain', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('us<er@domain', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('us>er@domain', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('us&er@domain', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('us''er@domain', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('us"er@domain', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('/res@domain', 'x');
-- An UPDATE is checked too.
UPDATE xmpp_accounts SET acc_jid = 'nodomain' WHERE acc_jid = 'user@domain';

-- acc_jid: what the worker's JID check refuses is refused here too, as far
-- as a regular expression can tell: empty domain labels, control characters
-- (C0, DEL, C1) in any part, U+FFFE/U+FFFF, brackets in a domain. (Terse:
-- the DETAIL line would print the control characters.)
\set VERBOSITY terse
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('user@example..org', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('user@example.org.', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('user@.example.org', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('user@.', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (E'us\x01er@example.org', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (E'us\x7fer@example.org', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (U&'us\0085er@example.org', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (U&'user@exa\009fmple.org', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (E'user@example.org\n', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (E'user@example.org/a\tb', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (E'user@example.org/a\rb', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (U&'user@example.org/a\0080b', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (U&'user@example.org/a\fffeb', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('user@exa[mple.org', 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('user@[::1]', 'x');
\set VERBOSITY default
-- ... while characters next to those ranges, and dots between labels, are
-- fine.
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES
	('u~ser@a.b.c', 'x'),
	(U&'us\00A1er@example.org/r\00A0s', 'x'),
	('[user]@example.org', 'x')
RETURNING id IS NOT NULL AS accepted;

-- port: 1 to 65535.
INSERT INTO xmpp_accounts (acc_jid, acc_pass, port) VALUES
	('port1@example.org', 'x', 1), ('port65535@example.org', 'x', 65535)
RETURNING acc_jid, port;
INSERT INTO xmpp_accounts (acc_jid, acc_pass, port) VALUES ('port0@example.org', 'x', 0);
INSERT INTO xmpp_accounts (acc_jid, acc_pass, port) VALUES ('port65536@example.org', 'x', 65536);
INSERT INTO xmpp_accounts (acc_jid, acc_pass, port) VALUES ('portneg@example.org', 'x', -5222);

-- srv_host defaults to '' (not NULL), port to 5222.
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('host@example.org', 'x')
RETURNING srv_host = '' AS srv_host_empty, srv_host IS NULL AS srv_host_null, port, enabled;

-- (acc_jid, srv_host, port) is unique; any one of them differing is another
-- account.
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('host@example.org', 'y');
INSERT INTO xmpp_accounts (acc_jid, acc_pass, srv_host, port)
VALUES ('host@example.org', 'y', '', 5222);
INSERT INTO xmpp_accounts (acc_jid, acc_pass, srv_host)
VALUES ('host@example.org', 'y', 'xmpp.example.org');
INSERT INTO xmpp_accounts (acc_jid, acc_pass, port)
VALUES ('host@example.org', 'y', 5223);
INSERT INTO xmpp_accounts (acc_jid, acc_pass, srv_host, port)
VALUES ('host@example.org', 'y', 'xmpp.example.org', 5222);
SELECT acc_jid, acc_pass, srv_host, port FROM xmpp_accounts
 WHERE acc_jid = 'host@example.org' ORDER BY id;

-- Deleting the enabled account leaves none enabled; enabling works after.
DELETE FROM xmpp_accounts WHERE enabled;
SELECT count(*) FILTER (WHERE enabled) AS enabled_accounts FROM xmpp_accounts;
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'b@example.org';
SELECT acc_jid FROM xmpp_accounts WHERE enabled;

TRUNCATE xmpp_accounts RESTART IDENTITY;
