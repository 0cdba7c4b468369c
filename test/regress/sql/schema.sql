--
-- schema: every object of the extension, read from the catalogs (not \d,
-- whose layout changes between psql versions).
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;

-- The extension's members, one line each.
SELECT pg_describe_object(classid, objid, objsubid) COLLATE "C" AS member
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'jabclnd')
   AND deptype = 'e'
 ORDER BY 1;

SELECT extversion, extrelocatable, extnamespace::regnamespace AS schema
  FROM pg_extension WHERE extname = 'jabclnd';

-- Every column: type, nullability, default, identity.
SELECT table_name COLLATE "C" AS table_name, ordinal_position AS pos,
       column_name, data_type, is_nullable, column_default,
       is_identity, identity_generation
  FROM information_schema.columns
 WHERE table_schema = 'public'
   AND table_name IN ('xmpp_accounts', 'xmpp_tx_queue', 'xmpp_rx_queue',
                      'openfire_users', 'openfire_users_view', 'xmpp_rooms')
 ORDER BY 1, 2;

-- Primary keys, unique and check constraints, with their exact names (the
-- check constraints' names are the error messages an operator reads).
SELECT conrelid::regclass AS "table", contype, conname,
       pg_get_constraintdef(oid) AS definition
  FROM pg_constraint
 WHERE conrelid IN ('xmpp_accounts'::regclass, 'xmpp_tx_queue'::regclass,
                    'xmpp_rx_queue'::regclass, 'openfire_users'::regclass,
                    'xmpp_rooms'::regclass)
   AND contype <> 'n'
 ORDER BY conrelid::regclass::text COLLATE "C", contype, conname COLLATE "C";

-- Indexes, including the partial and expression ones.
SELECT tablename COLLATE "C" AS tablename, indexname COLLATE "C" AS indexname, indexdef
  FROM pg_indexes
 WHERE schemaname = 'public'
   AND tablename IN ('xmpp_accounts', 'xmpp_tx_queue', 'xmpp_rx_queue', 'openfire_users',
                     'xmpp_rooms')
 ORDER BY 1, 2;

-- Triggers (not the internal ones of constraints).
SELECT tgrelid::regclass AS "table", tgname, tgenabled,
       pg_get_triggerdef(oid) AS definition
  FROM pg_trigger
 WHERE tgrelid IN ('xmpp_accounts'::regclass, 'xmpp_tx_queue'::regclass,
                   'xmpp_rx_queue'::regclass, 'openfire_users'::regclass,
                   'xmpp_rooms'::regclass)
   AND NOT tgisinternal
 ORDER BY tgrelid::regclass::text COLLATE "C", tgname COLLATE "C";

-- Functions: signature, result, language, volatility, security, settings.
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_result(p.oid) AS result, l.lanname AS language,
       p.provolatile, p.proisstrict, p.prosecdef, p.proconfig
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.oid IN (SELECT objid FROM pg_depend
                  WHERE refclassid = 'pg_extension'::regclass
                    AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'jabclnd')
                    AND classid = 'pg_proc'::regclass AND deptype = 'e')
 ORDER BY p.proname COLLATE "C";

-- The view's columns and types.
SELECT attname, atttypid::regtype
  FROM pg_attribute
 WHERE attrelid = 'openfire_users_view'::regclass AND attnum > 0
 ORDER BY attnum;

-- Comments on tables, the view and columns.
SELECT c.relname COLLATE "C" AS relation, a.attname AS "column",
       col_description(c.oid, a.attnum) AS comment
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
 WHERE c.relname IN ('xmpp_accounts', 'xmpp_tx_queue', 'xmpp_rx_queue', 'openfire_users',
                     'xmpp_rooms')
   AND c.relnamespace = 'public'::regnamespace
   AND col_description(c.oid, a.attnum) IS NOT NULL
 ORDER BY 1, a.attnum;
SELECT c.relname COLLATE "C" AS relation, obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c
 WHERE c.relname IN ('xmpp_accounts', 'xmpp_tx_queue', 'xmpp_rx_queue',
                     'openfire_users', 'openfire_users_view', 'xmpp_rooms')
   AND c.relnamespace = 'public'::regnamespace
 ORDER BY 1;

-- Defaults at work: a row written with only what is required.
BEGIN;
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('defaults@example.org', 'x');
SELECT id IS NOT NULL AS has_id, enabled, srv_host, srv_host = '' AS srv_host_is_empty, port
  FROM xmpp_accounts WHERE acc_jid = 'defaults@example.org';
INSERT INTO xmpp_tx_queue (message_to) VALUES ('defaults@example.org');
SELECT id IS NOT NULL AS has_id, insert_timestamp = now() AS inserted_now,
       message_stanza, message_type, message_subject, message_body,
       submission_timestamp, submission_failed, submission_info, submission_attempts
  FROM xmpp_tx_queue WHERE message_to = 'defaults@example.org';
INSERT INTO xmpp_rx_queue (message_body) VALUES ('defaults');
SELECT id IS NOT NULL AS has_id, insert_timestamp = now() AS inserted_now,
       message_stanza, message_from, message_type, message_id, message_subject
  FROM xmpp_rx_queue WHERE message_body = 'defaults';
INSERT INTO openfire_users (login) VALUES ('defaults');
SELECT pass, enabled, name, email, available, available_timestamp
  FROM openfire_users WHERE login = 'defaults';
INSERT INTO xmpp_rooms (room_jid) VALUES ('defaults@muc.example.org');
SELECT nick, password, enabled, create_room, history_max_stanzas,
       insert_timestamp = now() AS inserted_now
  FROM xmpp_rooms WHERE room_jid = 'defaults@muc.example.org';
ROLLBACK;

-- NOT NULL is enforced where the catalog says so. (Terse: the DETAIL line
-- would show ids and timestamps.)
\set VERBOSITY terse
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES (NULL, 'x');
INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES ('a@example.org', NULL);
INSERT INTO xmpp_accounts (acc_jid, acc_pass, enabled) VALUES ('a@example.org', 'x', NULL);
INSERT INTO xmpp_accounts (acc_jid, acc_pass, srv_host) VALUES ('a@example.org', 'x', NULL);
INSERT INTO xmpp_accounts (acc_jid, acc_pass, port) VALUES ('a@example.org', 'x', NULL);
INSERT INTO xmpp_tx_queue (message_to, submission_failed) VALUES ('a@example.org', NULL);
INSERT INTO xmpp_tx_queue (message_to, submission_attempts) VALUES ('a@example.org', NULL);
INSERT INTO xmpp_tx_queue (message_to, insert_timestamp) VALUES ('a@example.org', NULL);
INSERT INTO xmpp_rx_queue (insert_timestamp) VALUES (NULL);
INSERT INTO openfire_users (login) VALUES (NULL);
INSERT INTO openfire_users (login, enabled) VALUES ('a', NULL);
INSERT INTO openfire_users (login, available) VALUES ('a', NULL);
INSERT INTO xmpp_rooms (room_jid) VALUES (NULL);
INSERT INTO xmpp_rooms (room_jid, enabled) VALUES ('r@muc.example.org', NULL);
INSERT INTO xmpp_rooms (room_jid, create_room) VALUES ('r@muc.example.org', NULL);
INSERT INTO xmpp_rooms (room_jid, insert_timestamp) VALUES ('r@muc.example.org', NULL);
\set VERBOSITY default

-- The extension is not relocatable and needs a superuser to install, at
-- every version; 1.0 is updated to 1.1, then 1.2 (one script per step).
SELECT name, version, superuser, relocatable, requires
  FROM pg_available_extension_versions WHERE name = 'jabclnd' ORDER BY version;
SELECT source, target, path FROM pg_extension_update_paths('jabclnd')
 WHERE path IS NOT NULL ORDER BY 1, 2;

-- message_type may be NULL: an INSERT never fails over a message's content
-- (the worker sends such a row as chat).
BEGIN;
INSERT INTO xmpp_tx_queue (message_to, message_type) VALUES ('a@example.org', NULL)
RETURNING message_type IS NULL AS type_is_null;
ROLLBACK;
