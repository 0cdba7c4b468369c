--
-- The install guard and the jabclnd.* settings.
--
-- CREATE EXTENSION jabclnd is refused outside the worker's database
-- (jabclnd.database, 'jabclnd' in the test server) and pg_regress's own
-- contrib_regression.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;
SELECT current_setting('jabclnd.database') AS worker_database;

SET client_min_messages = warning;
DROP DATABASE IF EXISTS jabclnd_guard_test;
RESET client_min_messages;
SELECT current_database() AS regress_database \gset
CREATE DATABASE jabclnd_guard_test;
\c jabclnd_guard_test
-- (No CONTEXT line: it would give the line number inside the script.)
\set SHOW_CONTEXT never
CREATE EXTENSION jabclnd;
\set SHOW_CONTEXT errors
-- Nothing of it was left behind.
SELECT count(*) AS extensions FROM pg_extension WHERE extname = 'jabclnd';
SELECT count(*) AS tables FROM pg_class WHERE relname LIKE 'xmpp%' OR relname LIKE 'openfire%';
\c :regress_database
DROP DATABASE jabclnd_guard_test;

-- The settings are reserved: a misspelt one is an error, not a silently
-- kept placeholder.
SET jabclnd.nosuch = 1;
SET jabclnd.databse = 'jabclnd';
SHOW jabclnd.nosuch;
SELECT current_setting('jabclnd.nosuch', true) IS NULL AS unknown_is_null;
-- The known ones are server-wide (postgresql.conf, reload): a session cannot
-- set them.
SET jabclnd.database = 'elsewhere';
SET jabclnd.enabled = on;
SET jabclnd.batch_size = 10;
SELECT set_config('jabclnd.tls', 'disabled', false);

-- What the settings are: type, unit, context, bounds, and the built-in
-- default (boot_val; the test server's own values may differ).
SELECT name COLLATE "C" AS name, vartype, unit, context, min_val, max_val, boot_val, enumvals
  FROM pg_settings WHERE name LIKE 'jabclnd.%' ORDER BY 1;
