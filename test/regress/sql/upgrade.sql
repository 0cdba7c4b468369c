--
-- upgrade: jabclnd 1.0 as it was shipped, with rows, then ALTER EXTENSION
-- jabclnd UPDATE (through 1.1 to 1.2): the rows are kept and 1.1's objects are there.
-- (test/e2e/test_upgrade.py compares the result with a fresh install, object by
-- object, and shows the worker through it.)
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS jabclnd;
CREATE EXTENSION jabclnd VERSION '1.0';
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'jabclnd';
SELECT to_regclass('xmpp_rooms') AS rooms,
       EXISTS (SELECT FROM pg_attribute WHERE attrelid = 'xmpp_rx_queue'::regclass
                                          AND attname = 'stanza_id') AS has_stanza_id;

INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'bot@example.org', 'pw');
INSERT INTO xmpp_tx_queue (message_to, message_body) VALUES ('a@example.org', 'pending');
INSERT INTO xmpp_rx_queue (message_from, message_body) VALUES ('b@example.org/x', 'received');
INSERT INTO openfire_users (login, pass) VALUES ('carol', md5('c'));
INSERT INTO xmpp_presence (jid, resource) VALUES ('carol@example.org', 'phone');
INSERT INTO xmpp_rx_set_aside (message_from, error) VALUES ('d@example.org', 'refused');

ALTER EXTENSION jabclnd UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'jabclnd';

-- Every row is there, and the new column is empty.
SELECT id, enabled, acc_jid, acc_pass FROM xmpp_accounts;
SELECT id, message_to, message_body, submission_timestamp IS NULL AS pending FROM xmpp_tx_queue;
SELECT id, message_from, message_body, stanza_id FROM xmpp_rx_queue;
SELECT login, pass = md5('c') AS md5 FROM openfire_users;
SELECT jid, resource FROM xmpp_presence;
SELECT id, message_from, error FROM xmpp_rx_set_aside;
-- The identity sequences go on where they were.
INSERT INTO xmpp_tx_queue (message_to) VALUES ('a@example.org') RETURNING id;

-- 1.1's objects work.
INSERT INTO xmpp_rooms (room_jid, nick) VALUES ('Ops@conference.example.org', 'bot')
RETURNING room_jid, nick, enabled, create_room, history_max_stanzas;
INSERT INTO xmpp_rooms (room_jid) VALUES ('ops@conference.example.org');
INSERT INTO xmpp_rx_queue (message_from, stanza_id)
VALUES ('ops@conference.example.org/alice', 'sid-1') RETURNING message_from, stanza_id;
SELECT u.config::regclass AS dumped
  FROM pg_extension e, unnest(e.extconfig) AS u(config)
 WHERE e.extname = 'jabclnd' AND u.config = 'xmpp_rooms'::regclass;

-- Nothing more to update.
ALTER EXTENSION jabclnd UPDATE;

TRUNCATE xmpp_accounts, xmpp_tx_queue, xmpp_rx_queue, openfire_users, xmpp_presence,
	xmpp_rx_set_aside, xmpp_rooms RESTART IDENTITY;
