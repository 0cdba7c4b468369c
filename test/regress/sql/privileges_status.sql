--
-- README.md, "Privileges": an application role with
--   GRANT INSERT, SELECT ON xmpp_tx_queue TO app;
--   GRANT SELECT, DELETE ON xmpp_rx_queue TO app;
--   GRANT EXECUTE ON FUNCTION jabclnd_status() TO app;        -- optional
-- can call jabclnd_status().
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;
TRUNCATE xmpp_tx_queue RESTART IDENTITY;

SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_jabclnd_status_app;
RESET client_min_messages;

CREATE ROLE regress_jabclnd_status_app;
GRANT INSERT, SELECT ON xmpp_tx_queue TO regress_jabclnd_status_app;
GRANT SELECT, DELETE ON xmpp_rx_queue TO regress_jabclnd_status_app;
GRANT EXECUTE ON FUNCTION jabclnd_status() TO regress_jabclnd_status_app;

SET ROLE regress_jabclnd_status_app;
INSERT INTO xmpp_tx_queue (message_to, message_body)
VALUES ('someuser@someserver', 'Hello, there!');
SELECT state IN ('stopped', 'disabled', 'no_extension', 'schema_mismatch', 'no_account',
                 'connecting', 'online', 'offline', 'auth_failed', 'database_error') AS known_state,
       pending
  FROM jabclnd_status();
RESET ROLE;

TRUNCATE xmpp_tx_queue RESTART IDENTITY;
DROP OWNED BY regress_jabclnd_status_app;
DROP ROLE regress_jabclnd_status_app;
