-- pgTAP: the rules the schema enforces (check constraints, unique indexes,
-- the one-enabled-account triggers and constraint, the rooms' addresses and
-- nicks), what it deliberately does not enforce (the content of a queued
-- message), and openfire_users_view.
--
-- One transaction, rolled back. Rows that may already be in the tables (this
-- is the worker's database) are left alone: what is created here has names
-- starting with pgtap, and queries look only at those.
\ir lib/preamble.psql

SELECT plan(44 + 1 + 1 + 12 + 1 + 1 + 7 + 1 + 1 + 1);

-- xmpp_accounts.acc_jid
SELECT lives_ok($$INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES
	('pgtap1@example.org', 'x'), ('pgtap2@example.org/res', 'x'),
	('pgtap3@example.org/res with spaces', 'x')$$,
	'acc_jid accepts local@domain, local@domain/resource, resources with spaces');
SELECT throws_ok(
	format($$INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (%L, 'x')$$, jid),
	'23514',
	'new row for relation "xmpp_accounts" violates check constraint "acc_jid must be local@domain or local@domain/resource"',
	format('acc_jid refuses %L', jid))
  FROM unnest(ARRAY['pgtap-nodomain', 'pgtap@', '@pgtap.example.org', 'pgtap@b@c',
                    'pg tap@example.org', 'pgtap@example.org/', '',
                    'pgtap@example..org', 'pgtap@example.org.', E'pg\x01tap@example.org',
                    U&'pg\0085tap@example.org', E'pgtap@example.org/a\tb',
                    U&'pgtap@example.org/a\007fb']) AS jid;

-- xmpp_accounts.port
SELECT lives_ok($$INSERT INTO xmpp_accounts (acc_jid, acc_pass, port) VALUES
	('pgtap-port@example.org', 'x', 1), ('pgtap-port@example.org', 'x', 65535)$$,
	'port accepts 1 and 65535');
SELECT throws_ok(
	format($$INSERT INTO xmpp_accounts (acc_jid, acc_pass, port) VALUES ('pgtap-port@example.org', 'x', %s)$$, port),
	'23514',
	'new row for relation "xmpp_accounts" violates check constraint "port must be between 1 and 65535"',
	format('port refuses %s', port))
  FROM unnest(ARRAY[0, 65536, -1]) AS port;

-- xmpp_accounts: (acc_jid, srv_host, port) unique; srv_host defaults to ''.
SELECT throws_ok(
	$$INSERT INTO xmpp_accounts (acc_jid, acc_pass, srv_host, port) VALUES ('pgtap1@example.org', 'y', '', 5222)$$,
	'23505',
	'duplicate key value violates unique constraint "xmpp_accounts_acc_jid_srv_host_port_key"',
	'the same (acc_jid, srv_host, port) twice is refused, srv_host defaulting to ''''');
SELECT lives_ok(
	$$INSERT INTO xmpp_accounts (acc_jid, acc_pass, srv_host) VALUES ('pgtap1@example.org', 'y', 'xmpp.example.org')$$,
	'the same acc_jid with another srv_host is another account');

-- One enabled account: enabling one disables the others.
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'pgtap1@example.org' AND srv_host = '';
SELECT is((SELECT array_agg(acc_jid ORDER BY id) FROM xmpp_accounts WHERE enabled),
	ARRAY['pgtap1@example.org'], 'UPDATE enabling an account: it is the only one enabled');
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'pgtap-bot@example.org/res', 'botpw');
SELECT is((SELECT array_agg(acc_jid ORDER BY id) FROM xmpp_accounts WHERE enabled),
	ARRAY['pgtap-bot@example.org/res'], 'INSERT of an enabled account disables the other one');
-- Switching accounts in one statement that writes the enabled row too,
-- whichever of the two is stored first.
UPDATE xmpp_accounts SET enabled = (acc_jid = 'pgtap2@example.org/res')
 WHERE acc_jid LIKE 'pgtap%';
SELECT is((SELECT array_agg(acc_jid ORDER BY id) FROM xmpp_accounts WHERE enabled),
	ARRAY['pgtap2@example.org/res'], 'one UPDATE switches to another account');
UPDATE xmpp_accounts SET enabled = (acc_jid = 'pgtap-bot@example.org/res')
 WHERE acc_jid LIKE 'pgtap%';
SELECT is((SELECT array_agg(acc_jid ORDER BY id) FROM xmpp_accounts WHERE enabled),
	ARRAY['pgtap-bot@example.org/res'], 'one UPDATE switches back');
-- A statement that would enable two accounts is refused as a whole.
SELECT throws_ok(
	$$UPDATE xmpp_accounts SET enabled = true
	   WHERE acc_jid IN ('pgtap2@example.org/res', 'pgtap3@example.org/res with spaces')$$,
	'23P01',
	'only one xmpp_accounts row can be enabled, and this statement writes 2 enabled rows',
	'a statement that enables two accounts is refused');
SELECT is((SELECT array_agg(acc_jid ORDER BY id) FROM xmpp_accounts WHERE enabled),
	ARRAY['pgtap-bot@example.org/res'], 'the refused statement changed nothing');
-- Without the triggers the exclusion constraint still refuses a second
-- enabled account. (ALTER TABLE ... DISABLE TRIGGER holds a SHARE ROW
-- EXCLUSIVE lock on the worker's table until the ROLLBACK; the worker only
-- reads it, which that lock allows. session_replication_role = replica would
-- not do: it skips the constraint's end-of-statement check as well.)
ALTER TABLE xmpp_accounts DISABLE TRIGGER "Enable_one_account_on_insert",
	DISABLE TRIGGER "Enable_one_account_on_update";
SELECT throws_ok(
	$$UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'pgtap2@example.org/res'$$,
	'23P01',
	'conflicting key value violates exclusion constraint "xmpp_accounts_only_one_enabled"',
	'a second enabled account is refused by xmpp_accounts_only_one_enabled');
ALTER TABLE xmpp_accounts ENABLE TRIGGER "Enable_one_account_on_insert",
	ENABLE TRIGGER "Enable_one_account_on_update";

-- xmpp_tx_queue: message_to or message_stanza is required ...
SELECT throws_ok(
	$$INSERT INTO xmpp_tx_queue (message_body) VALUES ('pgtap: to nobody')$$,
	'23514',
	'new row for relation "xmpp_tx_queue" violates check constraint "xmpp_tx_queue needs message_to or message_stanza"',
	'a tx row without message_to and message_stanza is refused');
-- ... and nothing about the content is checked at insert.
SELECT lives_ok(
	format($$INSERT INTO xmpp_tx_queue (message_to, message_stanza, message_type, message_body) VALUES (%L, %L, %L, %L)$$,
	       to_, stanza, type_, body),
	format('a tx row is accepted at insert: %s', why))
  FROM (VALUES
	('not a jid', NULL, 'chat', 'pgtap', 'malformed JID'),
	('pgtap@b@c', NULL, 'chat', 'pgtap', 'two @'),
	(NULL, '<message><body>pgtap unclosed', 'chat', NULL, 'stanza that is not well-formed XML'),
	(NULL, 'pgtap: not XML at all', 'chat', NULL, 'stanza that is not XML'),
	('pgtap@example.org', NULL, 'nonsense', 'pgtap', 'unknown message type'),
	('pgtap@example.org', NULL, 'chat', E'pgtap \x01 control character', 'character XML forbids'),
	('pgtap@example.org', NULL, 'chat', NULL, 'neither body nor subject')
  ) AS r(to_, stanza, type_, body, why);
SELECT results_eq(
	$$INSERT INTO xmpp_tx_queue (message_to, message_body) VALUES ('pgtap-defaults@example.org', 'x')
	  RETURNING message_type, submission_failed, submission_attempts, submission_timestamp IS NULL,
	            insert_timestamp = now()$$,
	$$VALUES ('chat'::text, false, 0, true, true)$$,
	'tx rows default to type chat, not failed, no attempts, not submitted, inserted now');

-- openfire_users.pass: lower-case md5 hex, NULL or ''.
SELECT lives_ok($$INSERT INTO openfire_users (login, pass) VALUES
	('pgtap_md5', md5('secret')), ('pgtap_null', NULL), ('pgtap_empty', '')$$,
	'pass accepts md5(), NULL and ''''');
SELECT throws_ok(
	format($$INSERT INTO openfire_users (login, pass) VALUES ('pgtap_bad', %L)$$, pass),
	'23514',
	'new row for relation "openfire_users" violates check constraint "pass must be lowercase md5 hex, e.g. md5(''secret'')"',
	format('pass refuses %s', why))
  FROM (VALUES ('secret', 'plain text'), (upper(md5('secret')), 'upper-case hex'),
               (left(md5('secret'), 31), '31 digits'), (' ', 'a blank')) AS r(pass, why);
-- openfire_users.login: unique regardless of case.
SELECT throws_ok(
	$$INSERT INTO openfire_users (login, pass) VALUES ('PgTap_MD5', md5('other'))$$,
	'23505',
	'duplicate key value violates unique constraint "openfire_users_login_lower"',
	'logins differing only in case are refused');

-- openfire_users_view: enabled users with a password, lower-cased, and the
-- enabled account (md5 of its password, bare JID as name) in place of a user
-- with its local part.
INSERT INTO openfire_users (login, pass, enabled, name, email) VALUES
	('PgTap_Alice', md5('alice-pw'), true, 'Alice', 'alice@example.org'),
	('pgtap_dave', md5('dave-pw'), false, 'Dave (disabled)', NULL),
	('pgtap_erin', NULL, true, 'Erin (no password)', NULL),
	('pgtap_frank', '', true, 'Frank (empty password)', NULL),
	('PGTAP-BOT', md5('shadowed'), true, 'shadowed by the account', NULL);
SELECT results_eq(
	$$SELECT username, password, name, email FROM openfire_users_view
	   WHERE username LIKE 'pgtap%' ORDER BY username COLLATE "C"$$,
	$$VALUES ('pgtap-bot'::text, md5('botpw'), 'pgtap-bot@example.org'::text, NULL::text),
	         ('pgtap_alice', md5('alice-pw'), 'Alice', 'alice@example.org')$$,
	'openfire_users_view lists the enabled account and the enabled users with a password');
UPDATE xmpp_accounts SET enabled = false WHERE acc_jid = 'pgtap-bot@example.org/res';
SELECT results_eq(
	$$SELECT username, password, name FROM openfire_users_view
	   WHERE username LIKE 'pgtap%' ORDER BY username COLLATE "C"$$,
	$$VALUES ('pgtap-bot'::text, md5('shadowed'), 'shadowed by the account'::text),
	         ('pgtap_alice', md5('alice-pw'), 'Alice')$$,
	'without an enabled account, the user with its local part is listed');

-- xmpp_rooms.room_jid: a bare JID, stored as written, unique regardless of case.
SELECT lives_ok($$INSERT INTO xmpp_rooms (room_jid) VALUES
	('pgtap-ops@conference.example.org'), ('PgTap-Dev@Conference.Example.org'),
	('pgtap.room-1@muc.example.org')$$,
	'room_jid accepts bare JIDs, in any case');
SELECT results_eq(
	$$SELECT room_jid FROM xmpp_rooms WHERE room_jid ILIKE 'pgtap-dev@%'$$,
	$$VALUES ('PgTap-Dev@Conference.Example.org'::text)$$,
	'room_jid is stored as written');
SELECT throws_ok(
	format($$INSERT INTO xmpp_rooms (room_jid) VALUES (%L)$$, jid),
	'23514',
	'new row for relation "xmpp_rooms" violates check constraint "room_jid must be a bare JID, local@domain"',
	format('room_jid refuses %L', jid))
  FROM unnest(ARRAY['pgtap-ops@conference.example.org/nick', 'conference.example.org',
                    '@conference.example.org', 'pgtap@', 'pgtap@b@c', 'pg tap@example.org',
                    '', 'pgtap@example..org', 'pgtap@example.org.', E'pg\x01tap@example.org',
                    U&'pg\0085tap@example.org', 'pgtap@[::1]']) AS jid;
SELECT throws_ok(
	$$INSERT INTO xmpp_rooms (room_jid) VALUES ('PGTAP-OPS@conference.example.org')$$,
	'23505',
	'duplicate key value violates unique constraint "xmpp_rooms_room_jid_lower"',
	'room_jids differing only in case are refused');

-- xmpp_rooms.nick: NULL (the account's local part), or 1 to 1023 bytes without controls.
SELECT lives_ok(
	format($$INSERT INTO xmpp_rooms (room_jid, nick) VALUES
		('pgtap-nick1@muc.example.org', NULL), ('pgtap-nick2@muc.example.org', 'Bot with spaces'),
		('pgtap-nick3@muc.example.org', %L), ('pgtap-nick4@muc.example.org', %L)$$,
		repeat('n', 1023), repeat('é', 511) || 'n'),
	'nick accepts NULL, spaces, and 1023 bytes');
SELECT throws_ok(
	format($$INSERT INTO xmpp_rooms (room_jid, nick) VALUES ('pgtap-badnick@muc.example.org', %L)$$,
	       nick),
	'23514',
	'new row for relation "xmpp_rooms" violates check constraint "nick must be 1 to 1023 bytes, without control characters"',
	format('nick refuses %s', why))
  FROM (VALUES ('', 'an empty nick'), (repeat('n', 1024), '1024 bytes'),
               (repeat('é', 512), '512 two-byte characters'), (E'bot\nnick', 'a newline'),
               (E'bot\tnick', 'a tab'), (U&'bot\0085nick', 'a C1 control'),
               (U&'bot\FFFEnick', 'a non-character')) AS r(nick, why);

-- xmpp_rooms.history_max_stanzas: NULL, 0 or more.
SELECT lives_ok($$INSERT INTO xmpp_rooms (room_jid, history_max_stanzas) VALUES
	('pgtap-h1@muc.example.org', NULL), ('pgtap-h2@muc.example.org', 0),
	('pgtap-h3@muc.example.org', 50)$$,
	'history_max_stanzas accepts NULL, 0 and more');
SELECT throws_ok(
	$$INSERT INTO xmpp_rooms (room_jid, history_max_stanzas) VALUES ('pgtap-h4@muc.example.org', -1)$$,
	'23514',
	'new row for relation "xmpp_rooms" violates check constraint "history_max_stanzas must be 0 or more"',
	'history_max_stanzas refuses -1');
-- Defaults: enabled, join only an existing room, no nick, password or history limit.
SELECT results_eq(
	$$INSERT INTO xmpp_rooms (room_jid) VALUES ('pgtap-defaults@muc.example.org')
	  RETURNING nick, password, enabled, create_room, history_max_stanzas, insert_timestamp = now()$$,
	$$VALUES (NULL::text, NULL::text, true, false, NULL::integer, true)$$,
	'rooms default to enabled, not created, no nick, no password, no history limit, inserted now');

SELECT * FROM finish();
ROLLBACK;
