--
-- openfire_users and openfire_users_view: what Openfire's JDBC providers see.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;
TRUNCATE xmpp_accounts, openfire_users RESTART IDENTITY;

-- The pass rule: lower-case MD5 hex, or NULL, or ''.
INSERT INTO openfire_users (login, pass, enabled) VALUES
	('md5user', md5('secret'), true),
	('nullpass', NULL, true),
	('emptypass', '', true)
RETURNING login, pass;
INSERT INTO openfire_users (login, pass) VALUES ('plain', 'secret');
INSERT INTO openfire_users (login, pass) VALUES ('upper', upper(md5('secret')));
INSERT INTO openfire_users (login, pass) VALUES ('short', left(md5('secret'), 31));
INSERT INTO openfire_users (login, pass) VALUES ('long', md5('secret') || '0');
INSERT INTO openfire_users (login, pass) VALUES ('blank', ' ');
INSERT INTO openfire_users (login, pass) VALUES ('padded', ' ' || md5('secret'));
INSERT INTO openfire_users (login, pass) VALUES ('newline', md5('secret') || E'\n');
UPDATE openfire_users SET pass = 'secret' WHERE login = 'md5user';

-- Logins are unique regardless of case.
INSERT INTO openfire_users (login, pass) VALUES ('MD5User', md5('other'));
INSERT INTO openfire_users (login, pass) VALUES ('md5user', md5('other'));
UPDATE openfire_users SET login = 'MD5USER' WHERE login = 'nullpass';

TRUNCATE openfire_users;

-- Case 1: no enabled account. Only enabled users with a password are listed,
-- their logins lower-cased.
INSERT INTO openfire_users (login, pass, enabled, name, email) VALUES
	('alice', md5('alice-pw'), true, 'Alice', 'alice@example.org'),
	('Bob', md5('bob-pw'), true, 'Bob', NULL),
	('CAROL', md5('carol-pw'), true, NULL, 'carol@example.org'),
	('dave', md5('dave-pw'), false, 'Dave (disabled)', NULL),
	('erin', NULL, true, 'Erin (no password)', NULL),
	('frank', '', true, 'Frank (empty password)', NULL),
	('Bot', md5('user-row-of-the-bot'), true, 'a user named like the bot', NULL);
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES
	(false, 'bot@example.org/jabclnd', 'bot-secret');
SELECT username, password = md5(lower(username) || '-pw') AS password_is_md5_of_pass,
       name, email
  FROM openfire_users_view WHERE username <> 'bot' ORDER BY username COLLATE "C";
-- The user called Bot is listed as long as no enabled account has its name.
SELECT username, password = md5('user-row-of-the-bot') AS password_is_users, name, email
  FROM openfire_users_view WHERE username = 'bot';

-- Case 2: an enabled account. It is listed with username = lower-cased local
-- part, password = md5(acc_pass), name = bare JID, email NULL; the user row
-- whose login is that local part (in any case) gives way to it.
UPDATE xmpp_accounts SET acc_jid = 'BoT@Example.org/jabclnd', enabled = true;
SELECT username, password = md5('bot-secret') AS password_is_md5_of_acc_pass,
       name, email IS NULL AS email_is_null
  FROM openfire_users_view WHERE username = 'bot';
SELECT username, password, name, email FROM openfire_users_view
 WHERE username = 'bot';
SELECT username FROM openfire_users_view ORDER BY username COLLATE "C";

-- The password column is exactly md5(acc_pass): lower-case hex.
SELECT password ~ '^[0-9a-f]{32}$' AS is_md5_hex, password = md5('bot-secret') AS matches
  FROM openfire_users_view WHERE username = 'bot';

-- A JID without a resource: name is the JID itself.
UPDATE xmpp_accounts SET acc_jid = 'Helper@example.org';
SELECT username, name FROM openfire_users_view
 WHERE name = 'Helper@example.org';
-- Now the user Bot is back (the account's local part is helper).
SELECT count(*) AS bot_rows FROM openfire_users_view WHERE username = 'bot';

-- Only the enabled account counts: a disabled one with the same local part
-- as a user does not hide that user, and is not listed.
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (false, 'alice@example.org', 'x');
SELECT username, name FROM openfire_users_view WHERE username = 'alice';
-- Enabling it swaps: the account is listed, the user alice is not, and
-- helper (now disabled) is gone.
UPDATE xmpp_accounts SET enabled = true WHERE acc_jid = 'alice@example.org';
SELECT username, name, email FROM openfire_users_view
 WHERE username IN ('alice', 'helper') ORDER BY username COLLATE "C";

-- Case 3: disabling the account leaves just the users.
UPDATE xmpp_accounts SET enabled = false;
SELECT username, name FROM openfire_users_view ORDER BY username COLLATE "C";

-- A user enabled later appears; a user disabled later disappears.
UPDATE openfire_users SET enabled = true WHERE login = 'dave';
UPDATE openfire_users SET enabled = false WHERE login = 'alice';
SELECT username FROM openfire_users_view ORDER BY username COLLATE "C";

-- An empty table and no account: an empty view.
TRUNCATE xmpp_accounts, openfire_users RESTART IDENTITY;
SELECT count(*) AS view_rows FROM openfire_users_view;

-- available and available_timestamp are plain columns for the worker.
INSERT INTO openfire_users (login) VALUES ('presence');
UPDATE openfire_users SET available = true, available_timestamp = '2024-01-01 00:00:00+00'
 WHERE login = 'presence';
SELECT login, available,
       to_char(available_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS available_utc
  FROM openfire_users;

TRUNCATE xmpp_accounts, openfire_users RESTART IDENTITY;
