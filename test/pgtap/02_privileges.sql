-- pgTAP: privileges. PUBLIC gets nothing on any table, view or function of
-- the extension; the GRANTs of README.md give an application role and an
-- Openfire role what they need and no more.
--
-- One transaction, rolled back: the roles created here never persist.
\ir lib/preamble.psql

CREATE ROLE jabclnd_pgtap_nobody;
CREATE ROLE jabclnd_pgtap_app;
CREATE ROLE jabclnd_pgtap_openfire;
CREATE ROLE jabclnd_pgtap_monitor;
-- README.md, "Privileges".
GRANT INSERT, SELECT ON xmpp_tx_queue TO jabclnd_pgtap_app;
GRANT SELECT, DELETE ON xmpp_rx_queue TO jabclnd_pgtap_app;
GRANT EXECUTE ON FUNCTION jabclnd_status() TO jabclnd_pgtap_app;
GRANT EXECUTE ON FUNCTION jabclnd_resend(bigint[]) TO jabclnd_pgtap_app;
GRANT SELECT ON openfire_users_view TO jabclnd_pgtap_openfire;
-- README.md, "Metrics": a monitoring role.
GRANT EXECUTE ON FUNCTION jabclnd_metrics(), jabclnd_failures() TO jabclnd_pgtap_monitor;
-- ... and the rooms, managed by the application without reading their passwords.
GRANT SELECT (room_jid, nick, enabled, create_room, history_max_stanzas, insert_timestamp),
	INSERT, UPDATE, DELETE ON xmpp_rooms TO jabclnd_pgtap_app;

SELECT plan(14 + 14 + 6 + 5 + 8 + 4 + 5 + 4 + 6 + 6 + 8 + 2);

-- PUBLIC ('public' is accepted by has_table_privilege, which pgTAP uses).
SELECT table_privs_are('xmpp_accounts', 'public', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_tx_queue', 'public', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_rx_queue', 'public', ARRAY[]::name[]);
SELECT table_privs_are('openfire_users', 'public', ARRAY[]::name[]);
SELECT table_privs_are('openfire_users_view', 'public', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_presence', 'public', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_rx_set_aside', 'public', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_rooms', 'public', ARRAY[]::name[]);
SELECT function_privs_are('xmpp_accounts_enable_one', ARRAY[]::name[], 'public', ARRAY[]::name[]);
SELECT function_privs_are('jabclnd_wake_at_commit', ARRAY[]::name[], 'public', ARRAY[]::name[]);
SELECT function_privs_are('jabclnd_wake', ARRAY[]::name[], 'public', ARRAY[]::name[]);
SELECT function_privs_are('jabclnd_worker_status', ARRAY[]::name[], 'public', ARRAY[]::name[]);
SELECT function_privs_are('jabclnd_status', ARRAY[]::name[], 'public', ARRAY[]::name[]);
SELECT function_privs_are('jabclnd_resend', ARRAY['bigint[]']::name[], 'public', ARRAY[]::name[]);

-- A role that was granted nothing (it holds what PUBLIC holds).
SELECT table_privs_are('xmpp_accounts', 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_tx_queue', 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_rx_queue', 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT table_privs_are('openfire_users', 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT table_privs_are('openfire_users_view', 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_presence', 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_rx_set_aside', 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_rooms', 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT function_privs_are('xmpp_accounts_enable_one', ARRAY[]::name[], 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT function_privs_are('jabclnd_wake_at_commit', ARRAY[]::name[], 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT function_privs_are('jabclnd_wake', ARRAY[]::name[], 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT function_privs_are('jabclnd_worker_status', ARRAY[]::name[], 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT function_privs_are('jabclnd_status', ARRAY[]::name[], 'jabclnd_pgtap_nobody', ARRAY[]::name[]);
SELECT function_privs_are('jabclnd_resend', ARRAY['bigint[]']::name[], 'jabclnd_pgtap_nobody', ARRAY[]::name[]);

-- The application role: exactly the README's grants.
SELECT table_privs_are('xmpp_tx_queue', 'jabclnd_pgtap_app', ARRAY['INSERT', 'SELECT']::name[]);
SELECT table_privs_are('xmpp_rx_queue', 'jabclnd_pgtap_app', ARRAY['DELETE', 'SELECT']::name[]);
SELECT table_privs_are('xmpp_accounts', 'jabclnd_pgtap_app', ARRAY[]::name[]);
SELECT table_privs_are('openfire_users_view', 'jabclnd_pgtap_app', ARRAY[]::name[]);
SELECT function_privs_are('jabclnd_status', ARRAY[]::name[], 'jabclnd_pgtap_app', ARRAY['EXECUTE']::name[]);
SELECT function_privs_are('jabclnd_resend', ARRAY['bigint[]']::name[], 'jabclnd_pgtap_app', ARRAY['EXECUTE']::name[]);

-- The Openfire role: the view only.
SELECT table_privs_are('openfire_users_view', 'jabclnd_pgtap_openfire', ARRAY['SELECT']::name[]);
SELECT table_privs_are('xmpp_accounts', 'jabclnd_pgtap_openfire', ARRAY[]::name[]);
SELECT table_privs_are('openfire_users', 'jabclnd_pgtap_openfire', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_tx_queue', 'jabclnd_pgtap_openfire', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_rx_queue', 'jabclnd_pgtap_openfire', ARRAY[]::name[]);

-- In practice. The INSERT fires the statement trigger, whose function no
-- role may EXECUTE: PostgreSQL does not check that when a trigger fires.
SET LOCAL ROLE jabclnd_pgtap_app;
SELECT lives_ok(
	$$INSERT INTO xmpp_tx_queue (message_to, message_body) VALUES ('pgtap@example.org', 'Hello, there!')$$,
	'the application role can queue a message');
SELECT lives_ok('SELECT * FROM jabclnd_status()',
	'the application role can call jabclnd_status()');
SELECT throws_ok('SELECT * FROM jabclnd_worker_status()', '42501',
	'permission denied for function jabclnd_worker_status',
	'the application role cannot call jabclnd_worker_status() directly');
SELECT throws_ok('SELECT acc_pass FROM xmpp_accounts', '42501',
	'permission denied for table xmpp_accounts',
	'the application role cannot read xmpp_accounts');
SELECT throws_ok('SELECT password FROM openfire_users_view', '42501',
	'permission denied for view openfire_users_view',
	'the application role cannot read openfire_users_view');
RESET ROLE;
SET LOCAL ROLE jabclnd_pgtap_openfire;
SELECT lives_ok('SELECT username, password, name, email FROM openfire_users_view',
	'the Openfire role can read openfire_users_view');
SELECT throws_ok('SELECT acc_pass FROM xmpp_accounts', '42501',
	'permission denied for table xmpp_accounts',
	'the Openfire role cannot read xmpp_accounts');
SELECT throws_ok('SELECT pass FROM openfire_users', '42501',
	'permission denied for table openfire_users',
	'the Openfire role cannot read openfire_users');
RESET ROLE;

-- The rooms: the application reads and writes them, but never reads a password.
SET LOCAL ROLE jabclnd_pgtap_app;
SELECT lives_ok(
	$$INSERT INTO xmpp_rooms (room_jid, password) VALUES ('pgtap-priv@muc.example.org', 'room-pw')$$,
	'the application role can add a room with its password');
SELECT lives_ok(
	$$UPDATE xmpp_rooms SET password = 'new-pw', enabled = false
	   WHERE room_jid = 'pgtap-priv@muc.example.org'$$,
	'the application role can change a room and its password');
SELECT throws_ok('SELECT password FROM xmpp_rooms', '42501',
	'permission denied for table xmpp_rooms',
	'the application role cannot read a room''s password');
SELECT throws_ok('SELECT * FROM xmpp_rooms', '42501',
	'permission denied for table xmpp_rooms',
	'the application role cannot read every column of xmpp_rooms');
RESET ROLE;

-- The worker's role (jabclnd.role, jabclnd_worker in the test cluster): CREATE EXTENSION
-- granted it what its SQL needs of the rooms: reading them, and adding the rooms of
-- invitations it accepts (with their password, enabled or not), nothing else.
SELECT table_privs_are('xmpp_rooms', current_setting('jabclnd.role'), ARRAY['SELECT']::name[]);
SELECT column_privs_are('xmpp_rooms', col, current_setting('jabclnd.role'), privs)
  FROM (VALUES ('room_jid'::name, ARRAY['INSERT', 'SELECT']::name[]),
               ('password', ARRAY['INSERT', 'SELECT']::name[]),
               ('enabled', ARRAY['INSERT', 'SELECT']::name[]),
               ('nick', ARRAY['SELECT']::name[])) AS c(col, privs);

-- ... and of the tx queue it updates the outcome columns only: the retry columns of 1.2 too,
-- never the message.
SELECT column_privs_are('xmpp_tx_queue', col, current_setting('jabclnd.role'), privs)
  FROM (VALUES ('submission_timestamp'::name, ARRAY['SELECT', 'UPDATE']::name[]),
               ('next_attempt_at', ARRAY['SELECT', 'UPDATE']::name[]),
               ('submission_retries', ARRAY['SELECT', 'UPDATE']::name[]),
               ('message_body', ARRAY['SELECT']::name[])) AS c(col, privs);

-- Resending: the application role resends a failed row through jabclnd_resend() alone.
INSERT INTO xmpp_tx_queue (message_to, message_body, submission_failed, submission_info,
                           submission_attempts)
	VALUES ('pgtap-resend@example.org', 'again', true, 'the server answered with an error', 3);
SET LOCAL ROLE jabclnd_pgtap_app;
SELECT throws_ok($$UPDATE xmpp_tx_queue SET submission_failed = false$$, '42501',
	'permission denied for table xmpp_tx_queue',
	'the application role cannot update xmpp_tx_queue itself');
SELECT is((SELECT count(*) FROM jabclnd_resend(ARRAY(
		SELECT id FROM xmpp_tx_queue WHERE message_to = 'pgtap-resend@example.org'))),
	1::bigint, 'the application role resends a failed row with jabclnd_resend()');
RESET ROLE;

-- The password of a room is as secret as an account's: only the owner and the worker.
SELECT ok(NOT has_column_privilege('jabclnd_pgtap_openfire', 'xmpp_rooms', 'password', 'SELECT'),
	'the Openfire role cannot read a room''s password');
SELECT ok(NOT has_column_privilege('jabclnd_pgtap_app', 'xmpp_rooms', 'password', 'SELECT'),
	'the application role of README.md cannot read a room''s password');
SELECT ok(has_column_privilege('jabclnd_pgtap_app', 'xmpp_rooms', 'password', 'UPDATE'),
	'the application role of README.md can set a room''s password');
SELECT ok(NOT has_column_privilege('jabclnd_pgtap_nobody', 'xmpp_rooms', 'password', 'SELECT'),
	'a role granted nothing cannot read a room''s password');

-- The metrics functions (1.2): nothing for PUBLIC nor a role granted nothing.
SELECT function_privs_are(f, ARRAY[]::name[], r, ARRAY[]::name[])
  FROM unnest(ARRAY['jabclnd_metrics', 'jabclnd_failures', 'jabclnd_worker_metrics']::name[]) f
 CROSS JOIN unnest(ARRAY['public', 'jabclnd_pgtap_nobody']::name[]) r;

-- The monitoring role: the two functions, and no row of any table.
SELECT function_privs_are('jabclnd_metrics', ARRAY[]::name[], 'jabclnd_pgtap_monitor', ARRAY['EXECUTE']::name[]);
SELECT function_privs_are('jabclnd_failures', ARRAY[]::name[], 'jabclnd_pgtap_monitor', ARRAY['EXECUTE']::name[]);
SELECT function_privs_are('jabclnd_worker_metrics', ARRAY[]::name[], 'jabclnd_pgtap_monitor', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_tx_queue', 'jabclnd_pgtap_monitor', ARRAY[]::name[]);
SELECT table_privs_are('xmpp_rx_queue', 'jabclnd_pgtap_monitor', ARRAY[]::name[]);
SET ROLE jabclnd_pgtap_monitor;
SELECT lives_ok('SELECT * FROM jabclnd_metrics()',
	'the monitoring role can call jabclnd_metrics()');
SELECT is((SELECT count(*) FROM jabclnd_failures()), 24::bigint,
	'the monitoring role reads a count for every failure condition');
SELECT throws_ok('SELECT * FROM jabclnd_worker_metrics()', '42501',
	'permission denied for function jabclnd_worker_metrics',
	'the monitoring role cannot call jabclnd_worker_metrics() directly');
RESET ROLE;

-- The worker's role deletes expired rows of both queues (retention, 1.2) and
-- nothing else at table level (its UPDATEs on xmpp_tx_queue are per column).
SELECT table_privs_are('xmpp_tx_queue', current_setting('jabclnd.role'), ARRAY['DELETE', 'SELECT']::name[]);
SELECT table_privs_are('xmpp_rx_queue', current_setting('jabclnd.role'), ARRAY['DELETE', 'INSERT']::name[]);

SELECT * FROM finish();
ROLLBACK;
