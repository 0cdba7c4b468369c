--
-- xmpp_tx_queue: only structural mistakes are refused at insert; what a row
-- says is the worker's business, never a reason to roll back the writer.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS jabclnd;
RESET client_min_messages;
TRUNCATE xmpp_tx_queue RESTART IDENTITY;

-- Neither message_to nor message_stanza: refused, naming the rule. (Terse:
-- the DETAIL line would show the row's insert_timestamp.)
\set VERBOSITY terse
INSERT INTO xmpp_tx_queue (message_body) VALUES ('to nobody');
INSERT INTO xmpp_tx_queue (message_to, message_stanza, message_body) VALUES (NULL, NULL, 'x');
-- Also when an UPDATE takes away the last of them.
INSERT INTO xmpp_tx_queue (message_to, message_body) VALUES ('someone@example.org', 'x');
UPDATE xmpp_tx_queue SET message_to = NULL WHERE message_to = 'someone@example.org';
\set VERBOSITY default
DELETE FROM xmpp_tx_queue;

-- Either one is enough.
INSERT INTO xmpp_tx_queue (message_to) VALUES ('only-to@example.org');
INSERT INTO xmpp_tx_queue (message_stanza)
VALUES ('<message to="only-stanza@example.org"><body>hi</body></message>');
SELECT id, message_to, message_stanza FROM xmpp_tx_queue ORDER BY id;

-- Rows whose content the worker will refuse are still accepted: a malformed
-- JID, invalid XML, an unknown message type, a character XML forbids, an
-- empty recipient, no body and no subject.
INSERT INTO xmpp_tx_queue (message_to, message_body) VALUES ('not a jid', 'x');
INSERT INTO xmpp_tx_queue (message_to, message_body) VALUES ('a@b@c', 'x');
INSERT INTO xmpp_tx_queue (message_to, message_body) VALUES ('', 'x');
INSERT INTO xmpp_tx_queue (message_stanza) VALUES ('<message><body>unclosed');
INSERT INTO xmpp_tx_queue (message_stanza) VALUES ('not xml at all');
INSERT INTO xmpp_tx_queue (message_stanza) VALUES ('<iq type="get"/>');
INSERT INTO xmpp_tx_queue (message_to, message_type, message_body)
VALUES ('someone@example.org', 'nonsense', 'x');
INSERT INTO xmpp_tx_queue (message_to, message_body)
VALUES ('someone@example.org', E'bell \x07 in body');
INSERT INTO xmpp_tx_queue (message_to) VALUES ('someone@example.org');
SELECT id, message_to, message_type, message_stanza, message_body IS NOT NULL AS has_body
  FROM xmpp_tx_queue WHERE id > 2 ORDER BY id;

-- Defaults: type chat, not failed, no attempts, inserted now, not submitted.
BEGIN;
INSERT INTO xmpp_tx_queue (message_to, message_body)
VALUES ('defaults@example.org', 'defaults')
RETURNING message_type, submission_failed, submission_attempts,
	insert_timestamp = now() AS inserted_now,
	submission_timestamp IS NULL AS not_submitted, submission_info IS NULL AS no_info;
COMMIT;

-- The insert timestamp can be given (e.g. when copying rows from elsewhere).
INSERT INTO xmpp_tx_queue (message_to, insert_timestamp)
VALUES ('old@example.org', '2000-01-01 00:00:00+00')
RETURNING to_char(insert_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS inserted_utc;

-- Multi-row insert.
INSERT INTO xmpp_tx_queue (message_to, message_subject, message_body) VALUES
	('one@example.org', 's1', 'b1'),
	('two@example.org', 's2', 'b2'),
	('three@example.org', NULL, 'b3')
RETURNING id, message_to, message_subject, message_body, message_type;

-- COPY, with defaults for the columns it does not name.
COPY xmpp_tx_queue (message_to, message_type, message_body) FROM stdin;
copy1@example.org	headline	first copied
copy2@example.org	normal	second copied
copy3@example.org	groupchat	\N
\.
SELECT id, message_to, message_type, message_body, submission_failed, submission_attempts
  FROM xmpp_tx_queue WHERE message_to LIKE 'copy%' ORDER BY id;
-- COPY checks the same rule as INSERT.
\set VERBOSITY terse
COPY xmpp_tx_queue (message_to, message_body) FROM stdin;
\N	nobody
\.
\set VERBOSITY default

-- The pending index is what the worker's claim uses: pending rows only.
UPDATE xmpp_tx_queue SET submission_timestamp = now() WHERE message_to = 'one@example.org';
UPDATE xmpp_tx_queue SET submission_failed = true, submission_info = 'test'
 WHERE message_to = 'two@example.org';
SELECT count(*) AS pending FROM xmpp_tx_queue
 WHERE submission_timestamp IS NULL AND NOT submission_failed;
SET enable_seqscan = off;
CREATE FUNCTION pg_temp.plan_mentions(query text, name text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		IF strpos(line, name) > 0 THEN
			RETURN true;
		END IF;
	END LOOP;
	RETURN false;
END
$$;
SELECT pg_temp.plan_mentions(
	'SELECT id FROM xmpp_tx_queue
	  WHERE submission_timestamp IS NULL AND NOT submission_failed
	  ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED',
	'xmpp_tx_queue_pending') AS claim_uses_pending_index;
RESET enable_seqscan;

-- Rows written in a transaction that rolls back leave nothing behind.
SELECT count(*) AS before FROM xmpp_tx_queue;
BEGIN;
INSERT INTO xmpp_tx_queue (message_to, message_body) VALUES ('rolled-back@example.org', 'x');
ROLLBACK;
SELECT count(*) AS after FROM xmpp_tx_queue;

TRUNCATE xmpp_tx_queue RESTART IDENTITY;
