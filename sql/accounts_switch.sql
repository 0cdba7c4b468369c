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

UPDATE xmpp_accounts SET enabled = (acc_jid = 'a@example.org');
SELECT id, acc_jid, enabled FROM xmpp_accounts ORDER BY id;

-- Enabling every row at once leaves exactly one enabled.
UPDATE xmpp_accounts SET enabled = true;
SELECT count(*) FILTER (WHERE enabled) AS enabled_accounts FROM xmpp_accounts;

TRUNCATE xmpp_accounts RESTART IDENTITY;
