--
-- The examples of the original daemon's README (spec/jabclnd-README.txt),
-- verbatim, and those of this project's README.md.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;
TRUNCATE xmpp_accounts, xmpp_tx_queue, xmpp_rx_queue, openfire_users RESTART IDENTITY;

-- "Adding XMPP account"
  insert into xmpp_accounts (enabled, acc_jid, acc_pass, srv_host)
  values (TRUE, 'username@server', 'mysecret', 'server-ip-or-domain');

-- "Sending messages"
  insert into xmpp_tx_queue (message_to, message_body)
  values ('someuser@someserver', 'Hello, there!');

-- "Openfire XMPP server users integration"
  insert into openfire_users (login, pass, enabled)
  values ('someuser', md5('somepassword'), TRUE);

SELECT enabled, acc_jid, acc_pass, srv_host, port FROM xmpp_accounts;
SELECT message_to, message_body, message_type, submission_timestamp, submission_failed,
       submission_info
  FROM xmpp_tx_queue;
SELECT login, pass = md5('somepassword') AS pass_is_md5, enabled, available FROM openfire_users;
SELECT username, password = md5('somepassword') AS md5_of_somepassword,
       password = md5('mysecret') AS md5_of_mysecret, name, email
  FROM openfire_users_view ORDER BY username COLLATE "C";

-- The fields the spec documents, in every table (it also names port and the
-- tx queue's submission_* columns).
SELECT acc_jid, port, srv_host FROM xmpp_accounts WHERE enabled;
SELECT insert_timestamp IS NOT NULL AS has_insert_timestamp, message_stanza, message_to,
       message_subject, message_body, submission_timestamp, submission_failed, submission_info
  FROM xmpp_tx_queue;
SELECT insert_timestamp, message_stanza, message_from, message_subject, message_body
  FROM xmpp_rx_queue;
SELECT login, pass IS NOT NULL AS has_pass, enabled, name, email, available, available_timestamp
  FROM openfire_users;

-- README.md's own examples.
TRUNCATE xmpp_accounts, xmpp_tx_queue RESTART IDENTITY;
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass, srv_host)
VALUES (TRUE, 'username@server', 'mysecret', 'server-ip-or-domain');

INSERT INTO xmpp_tx_queue (message_to, message_body)
VALUES ('someuser@someserver', 'Hello, there!');

SELECT message_from, message_body FROM xmpp_rx_queue ORDER BY id DESC LIMIT 10;
-- Verbatim, its output (pids, times) thrown away: it runs without error.
\o /dev/null
SELECT * FROM jabclnd_status();
\o
SELECT state IN ('stopped', 'disabled', 'no_extension', 'no_account', 'connecting',
                 'online', 'offline', 'auth_failed', 'database_error') AS known_state,
       pending
  FROM jabclnd_status();
-- "Installing into an existing server" (a second account; the first gives way).
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'bot@example.org', 'secret');
SELECT acc_jid, enabled FROM xmpp_accounts ORDER BY id;

TRUNCATE xmpp_accounts, xmpp_tx_queue, xmpp_rx_queue, openfire_users RESTART IDENTITY;
