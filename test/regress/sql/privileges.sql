--
-- Privileges: nothing for PUBLIC; the README's GRANTs give an application
-- role and an Openfire role what they need and no more.
--
-- Roles are cluster-wide: drop any left over by an earlier, interrupted run
-- (pg_regress recreates contrib_regression, so they own nothing here).
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;
TRUNCATE xmpp_accounts, xmpp_tx_queue, xmpp_rx_queue, openfire_users RESTART IDENTITY;

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_jabclnd_nobody;
DROP ROLE IF EXISTS regress_jabclnd_app;
DROP ROLE IF EXISTS regress_jabclnd_openfire;
DROP ROLE IF EXISTS regress_jabclnd_admin;
RESET client_min_messages;

CREATE ROLE regress_jabclnd_nobody;

-- The extension's tables, view, sequences and functions.
CREATE TEMP VIEW jabclnd_members AS
SELECT classid, objid, pg_describe_object(classid, objid, objsubid) COLLATE "C" AS member
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'jabclnd')
   AND deptype = 'e';

-- A role that was granted nothing has no privilege of any kind on any of
-- them, and neither has PUBLIC ('public' is accepted as a role name by the
-- has_*_privilege functions and means PUBLIC alone).
SELECT m.member,
       bool_or(has_table_privilege('regress_jabclnd_nobody', c.oid, p.privilege)) AS nobody,
       bool_or(has_table_privilege('public', c.oid, p.privilege)) AS public,
       has_any_column_privilege('regress_jabclnd_nobody', c.oid,
                                'SELECT, INSERT, UPDATE, REFERENCES') AS nobody_any_column
  FROM jabclnd_members m
  JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid AND c.relkind IN ('r', 'v')
 CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',
                         'REFERENCES', 'TRIGGER']) AS p(privilege)
 GROUP BY m.member, c.oid
 ORDER BY 1;
SELECT m.member,
       has_sequence_privilege('regress_jabclnd_nobody', c.oid, 'USAGE, SELECT, UPDATE') AS nobody,
       has_sequence_privilege('public', c.oid, 'USAGE, SELECT, UPDATE') AS public
  FROM jabclnd_members m
  JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
 WHERE c.relkind = 'S'
 ORDER BY 1;
SELECT m.member,
       has_function_privilege('regress_jabclnd_nobody', m.objid, 'EXECUTE') AS nobody,
       has_function_privilege('public', m.objid, 'EXECUTE') AS public
  FROM jabclnd_members m
 WHERE m.classid = 'pg_proc'::regclass
 ORDER BY 1;
-- The same from the ACLs themselves: no entry for PUBLIC (grantee 0), and
-- every ACL is explicit (a NULL ACL would mean the defaults, which for a
-- function include EXECUTE for PUBLIC).
SELECT m.member, c.relacl IS NULL AS default_acl,
       EXISTS (SELECT FROM aclexplode(c.relacl) a WHERE a.grantee = 0) AS public_entry
  FROM jabclnd_members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
 WHERE c.relkind IN ('r', 'v')
 ORDER BY 1;
SELECT m.member, p.proacl IS NULL AS default_acl,
       EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0) AS public_entry
  FROM jabclnd_members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
 ORDER BY 1;

-- In practice: the role can neither read nor write anything.
SET ROLE regress_jabclnd_nobody;
SELECT count(*) FROM xmpp_accounts;
SELECT count(*) FROM xmpp_tx_queue;
INSERT INTO xmpp_tx_queue (message_to, message_body) VALUES ('x@example.org', 'x');
SELECT count(*) FROM xmpp_rx_queue;
SELECT count(*) FROM openfire_users;
SELECT count(*) FROM openfire_users_view;
SELECT state FROM jabclnd_status();
SELECT state FROM jabclnd_worker_status();
SELECT jabclnd_wake();
RESET ROLE;

-- The application role of README.md's "Privileges" (the SELECT on the
-- non-secret columns of openfire_users is an extra, for presence).
CREATE ROLE regress_jabclnd_app;
GRANT INSERT, SELECT ON xmpp_tx_queue TO regress_jabclnd_app;
GRANT SELECT, DELETE ON xmpp_rx_queue TO regress_jabclnd_app;
GRANT SELECT (login, name, email, available, available_timestamp)
	ON openfire_users TO regress_jabclnd_app;

INSERT INTO xmpp_rx_queue (message_from, message_type, message_body)
VALUES ('peer@example.org/phone', 'chat', 'hello, app');
INSERT INTO openfire_users (login, pass, enabled, name) VALUES ('peer', md5('peer-pw'), true, 'Peer');
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'bot@example.org', 'bot-secret');

SET ROLE regress_jabclnd_app;
-- It sends: the README's INSERT goes through, statement trigger included
-- (the trigger function's EXECUTE is not granted to anyone; PostgreSQL does
-- not check it when a trigger fires).
INSERT INTO xmpp_tx_queue (message_to, message_body)
VALUES ('someuser@someserver', 'Hello, there!');
INSERT INTO xmpp_tx_queue (message_to, message_body)
VALUES ('someuser@someserver', 'With RETURNING')
RETURNING message_to, message_type, submission_failed;
COPY xmpp_tx_queue (message_to, message_body) FROM stdin;
someuser@someserver	copied by the app
\.
SELECT message_to, message_body, submission_timestamp IS NULL AS pending
  FROM xmpp_tx_queue ORDER BY id;
-- It receives, and can clear what it has read.
SELECT message_from, message_type, message_body FROM xmpp_rx_queue;
DELETE FROM xmpp_rx_queue WHERE message_from = 'peer@example.org/phone';
-- It reads presence, but not the password hashes.
SELECT login, name, available FROM openfire_users;
SELECT pass FROM openfire_users;
-- It cannot mark rows sent, nor forge received ones, nor delete the queue.
UPDATE xmpp_tx_queue SET submission_timestamp = now();
DELETE FROM xmpp_tx_queue;
INSERT INTO xmpp_rx_queue (message_from, message_body) VALUES ('forged@example.org', 'x');
-- No credentials, no hashes, no accounts.
SELECT acc_jid, acc_pass FROM xmpp_accounts;
SELECT count(*) FROM xmpp_accounts;
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'evil@example.org', 'x');
SELECT username, password FROM openfire_users_view;
INSERT INTO openfire_users (login, pass, enabled) VALUES ('evil', md5('x'), true);
RESET ROLE;

-- The Openfire role of README.md: SELECT on the view only.
CREATE ROLE regress_jabclnd_openfire;
GRANT SELECT ON openfire_users_view TO regress_jabclnd_openfire;
SET ROLE regress_jabclnd_openfire;
SELECT username, password = md5('peer-pw') OR password = md5('bot-secret') AS md5_password, name
  FROM openfire_users_view ORDER BY username COLLATE "C";
SELECT acc_pass FROM xmpp_accounts;
SELECT pass FROM openfire_users;
SELECT count(*) FROM xmpp_tx_queue;
SELECT count(*) FROM xmpp_rx_queue;
RESET ROLE;

-- An administrator allowed to add accounts and switch them on and off
-- (but not to rewrite other rows): enabling one disables the others, which
-- the trigger does as its owner (SECURITY DEFINER).
CREATE ROLE regress_jabclnd_admin;
GRANT SELECT, INSERT, UPDATE (enabled) ON xmpp_accounts TO regress_jabclnd_admin;
SET ROLE regress_jabclnd_admin;
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'other@example.org', 'o');
SELECT acc_jid, enabled FROM xmpp_accounts ORDER BY id;
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'bot@example.org';
SELECT acc_jid, enabled FROM xmpp_accounts ORDER BY id;
UPDATE xmpp_accounts SET acc_pass = 'changed';
RESET ROLE;

-- Clean up: the roles are cluster-wide.
TRUNCATE xmpp_accounts, xmpp_tx_queue, xmpp_rx_queue, openfire_users RESTART IDENTITY;
DROP OWNED BY regress_jabclnd_nobody, regress_jabclnd_app, regress_jabclnd_openfire,
	regress_jabclnd_admin;
DROP ROLE regress_jabclnd_nobody;
DROP ROLE regress_jabclnd_app;
DROP ROLE regress_jabclnd_openfire;
DROP ROLE regress_jabclnd_admin;
