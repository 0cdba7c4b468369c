-- The queries Openfire's JDBCAuthProvider and JDBCUserProvider run, verbatim
-- as README.md configures them, against openfire_users_view, as a role that
-- can read the view and nothing else.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;
DELETE FROM xmpp_accounts;
DELETE FROM openfire_users;
INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass) VALUES (true, 'Bot@example.org/worker', 'botsecret');
INSERT INTO openfire_users (login, pass, enabled, name, email) VALUES
	('Alice', md5('alicepass'), true, 'Alice A.', 'alice@example.org'),
	('bob', md5('bobpass'), true, 'Bob B.', NULL),
	('carol', md5('carolpass'), false, 'Carol (disabled)', NULL),
	('dave', NULL, true, 'Dave (no password)', NULL),
	('BOT', md5('shadowed'), true, 'shadowed by the account', NULL);

CREATE ROLE jabclnd_openfire_test;
GRANT USAGE ON SCHEMA public TO jabclnd_openfire_test;
GRANT SELECT ON openfire_users_view TO jabclnd_openfire_test;
SET ROLE jabclnd_openfire_test;

-- jdbcAuthProvider.passwordSQL, with passwordType md5: Openfire compares md5(typed password).
PREPARE password_sql(text) AS SELECT password FROM openfire_users_view WHERE username = $1;
EXECUTE password_sql('alice');
SELECT password = md5('alicepass') AS alice_password_matches FROM openfire_users_view WHERE username = 'alice';
EXECUTE password_sql('bot');
SELECT password = md5('botsecret') AS bot_password_is_the_accounts FROM openfire_users_view WHERE username = 'bot';
EXECUTE password_sql('carol');
EXECUTE password_sql('dave');
-- jdbcUserProvider.loadUserSQL
PREPARE load_user_sql(text) AS SELECT name, email FROM openfire_users_view WHERE username = $1;
EXECUTE load_user_sql('alice');
EXECUTE load_user_sql('bot');
-- jdbcUserProvider.userCountSQL
SELECT COUNT(*) FROM openfire_users_view;
-- jdbcUserProvider.allUsersSQL
SELECT username FROM openfire_users_view ORDER BY username;
-- jdbcUserProvider.searchSQL, with the condition Openfire appends
SELECT username FROM openfire_users_view WHERE username LIKE 'b%' ORDER BY username;
SELECT username FROM openfire_users_view WHERE name LIKE '%Alice%' OR email LIKE '%alice%';
-- The Openfire role reads nothing else.
SELECT count(*) FROM xmpp_accounts;
SELECT count(*) FROM openfire_users;

RESET ROLE;
DEALLOCATE ALL;
REVOKE ALL ON openfire_users_view FROM jabclnd_openfire_test;
REVOKE USAGE ON SCHEMA public FROM jabclnd_openfire_test;
DROP ROLE jabclnd_openfire_test;
DELETE FROM xmpp_accounts;
DELETE FROM openfire_users;
