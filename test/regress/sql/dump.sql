--
-- pg_dump keeps the data: the extension's tables and the sequences of their
-- identity columns are marked with pg_extension_config_dump(), so that a
-- dump holds their rows and sequence positions, not only CREATE EXTENSION.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;

-- What is marked, and with which filter ('' is every row).
SELECT u.config::regclass AS config, c.relkind, u.condition
  FROM pg_extension e,
       unnest(e.extconfig, e.extcondition) AS u(config, condition)
  JOIN pg_class c ON c.oid = u.config
 WHERE e.extname = 'jabclnd'
 ORDER BY u.config::regclass::text COLLATE "C";

-- Nothing left out: every table of the extension and every sequence behind
-- an identity column of one is marked, but xmpp_presence: it describes the
-- worker's connection (emptied by each new worker), not data to restore.
SELECT c.oid::regclass AS not_marked
  FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
 WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'jabclnd')
   AND c.relkind IN ('r', 'S')
   AND c.oid <> 'xmpp_presence'::regclass
   AND c.oid NOT IN (SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'jabclnd')
UNION ALL
SELECT pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)::regclass
  FROM pg_attribute a
 WHERE a.attidentity <> ''
   AND a.attrelid IN (SELECT objid FROM pg_depend
                       WHERE classid = 'pg_class'::regclass AND deptype = 'e'
                         AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'jabclnd'))
   AND pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)::regclass
       NOT IN (SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'jabclnd');
