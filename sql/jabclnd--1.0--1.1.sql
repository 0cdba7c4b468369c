/*
 * jabclnd 1.0 -> 1.1: group chats. ALTER EXTENSION jabclnd UPDATE runs
 * this on a 1.0 installation, and CREATE EXTENSION jabclnd runs it after
 * jabclnd--1.0.sql (see jabclnd--1.1--1.2.sql for why there is only one
 * install script).
 *
 * Added:
 *   xmpp_rooms             the rooms the account joins
 *   xmpp_rx_queue.stanza_id  the XEP-0359 stanza-id of a received message,
 *                          with an index to recognise history already stored
 *
 * Everything this script calls is schema-qualified (pg_catalog. or
 * @extschema@.), as in jabclnd--1.0.sql. It has no install guard: it only
 * changes an installation that exists, wherever it is.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION jabclnd UPDATE" to load this file. \quit

/* ------------------------------------------------------------------ rooms */

/*
 * Group chats (XEP-0045) the account takes part in: one row per room. The
 * rows are the application's; the worker reads them, and adds the rooms
 * of invitations it accepts.
 *
 * room_jid is a bare JID (no resource: the nick is the resource of the
 * occupant), checked as acc_jid is, and stored as written. XMPP compares
 * a room's address case-insensitively, so two rows that differ only in
 * case would be one room: the unique index on lower(room_jid) refuses the
 * second. A nick is the resource of the occupant's JID, which RFC 7622
 * limits to 1023 bytes; NULL is the account's local part. password is
 * for rooms that need one: like acc_pass, nobody but the owner (and the
 * worker's role) may read it.
 */
CREATE TABLE @extschema@.xmpp_rooms (
	room_jid text PRIMARY KEY,
	nick text,
	password text,
	enabled boolean NOT NULL DEFAULT true,
	create_room boolean NOT NULL DEFAULT false,
	history_max_stanzas integer,
	insert_timestamp timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT "room_jid must be a bare JID, local@domain"
		CHECK (room_jid OPERATOR(pg_catalog.~) (
			'^[^"&''/:<>@ \u0001-\u001f\u007f-\u009f\ufffe\uffff]+'
			'@[^"&''/:<>@[\] \u0001-\u001f\u007f-\u009f\ufffe\uffff.]+'
			'(\.[^"&''/:<>@[\] \u0001-\u001f\u007f-\u009f\ufffe\uffff.]+)*$')),
	CONSTRAINT "nick must be 1 to 1023 bytes, without control characters"
		CHECK (nick IS NULL OR (nick OPERATOR(pg_catalog.<>) ''
			AND pg_catalog.octet_length(nick) OPERATOR(pg_catalog.<=) 1023
			AND nick OPERATOR(pg_catalog.!~) '[\u0001-\u001f\u007f-\u009f\ufffe\uffff]')),
	CONSTRAINT "history_max_stanzas must be 0 or more"
		CHECK (history_max_stanzas OPERATOR(pg_catalog.>=) 0)
);

COMMENT ON TABLE @extschema@.xmpp_rooms IS
	'group chats (XEP-0045) the jabclnd account joins; one row per room';
COMMENT ON COLUMN @extschema@.xmpp_rooms.room_jid IS
	'the room''s bare JID, room@service; unique regardless of case';
COMMENT ON COLUMN @extschema@.xmpp_rooms.nick IS
	'the nick in the room; NULL is the local part of the account''s JID';
COMMENT ON COLUMN @extschema@.xmpp_rooms.password IS
	'the room''s password, if it has one';
COMMENT ON COLUMN @extschema@.xmpp_rooms.create_room IS
	'false: join the room only if it exists; true: create it (as an instant room) if it does not';
COMMENT ON COLUMN @extschema@.xmpp_rooms.history_max_stanzas IS
	'history asked for at join: NULL since the last message stored from the room, 0 none, N at most N when none was stored yet';

CREATE UNIQUE INDEX xmpp_rooms_room_jid_lower
	ON @extschema@.xmpp_rooms (pg_catalog.lower(room_jid));

/* -------------------------------------------------------------- rx queue */

ALTER TABLE @extschema@.xmpp_rx_queue ADD COLUMN stanza_id text;

COMMENT ON COLUMN @extschema@.xmpp_rx_queue.stanza_id IS
	'the stanza-id (XEP-0359) the room or the server gave the message, if it vouched for one';

/*
 * Messages already stored from a room (or from the account's archive),
 * recognised by the stanza-id (XEP-0359) the room or server gave them,
 * when it comes again with the history at the next join: looked up by
 * the room's bare JID, lower-cased, and the id. Partial: most rows have
 * no stanza_id and cost the index nothing.
 */
CREATE INDEX xmpp_rx_queue_stanza_id
	ON @extschema@.xmpp_rx_queue (
		pg_catalog.lower(pg_catalog.split_part(message_from, '/', 1)), stanza_id)
	WHERE stanza_id IS NOT NULL;

/*
 * The last message stored from a room (its history is asked for from
 * then on at the next join): looked up by the room's bare JID,
 * lower-cased, newest id first. Partial: only groupchat rows.
 */
CREATE INDEX xmpp_rx_queue_groupchat_room
	ON @extschema@.xmpp_rx_queue (
		pg_catalog.lower(pg_catalog.split_part(message_from, '/', 1)), id)
	WHERE message_type OPERATOR(pg_catalog.=) 'groupchat';

/* ------------------------------------------------ waking the worker */

CREATE TRIGGER xmpp_rooms_wake
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.xmpp_rooms
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.jabclnd_wake_at_commit();

/* ----------------------------------------------------------------- rooms status */

/*
 * One line per row of xmpp_rooms the worker serves: state is joining,
 * joined, error or disabled. README.md, "Rooms", says what each means.
 */
CREATE FUNCTION @extschema@.jabclnd_worker_rooms(
	OUT room_jid text,
	OUT state text,
	OUT nick text,
	OUT since timestamptz,
	OUT last_error text,
	OUT retry_at timestamptz)
RETURNS SETOF record
LANGUAGE c STRICT
AS 'MODULE_PATHNAME', 'jabclnd_worker_rooms';

COMMENT ON FUNCTION @extschema@.jabclnd_worker_rooms() IS
	'the rooms'' states from shared memory; see jabclnd_rooms()';

CREATE FUNCTION @extschema@.jabclnd_rooms(
	OUT room_jid text,
	OUT state text,
	OUT nick text,
	OUT since timestamptz,
	OUT last_error text,
	OUT retry_at timestamptz)
RETURNS SETOF record
LANGUAGE sql STABLE
/* SECURITY DEFINER, pinned search_path: as jabclnd_status(). */
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT r.* FROM @extschema@.jabclnd_worker_rooms() r
$$;

COMMENT ON FUNCTION @extschema@.jabclnd_rooms() IS
	'one row per room of xmpp_rooms: the worker''s state in it, the nick, the last error, the next try';

REVOKE ALL ON FUNCTION @extschema@.jabclnd_worker_rooms() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.jabclnd_rooms() FROM PUBLIC;

/* ------------------------------------------------------------ privileges */

/* As in jabclnd--1.0.sql: nothing for PUBLIC (xmpp_rooms holds passwords). */
REVOKE ALL ON TABLE @extschema@.xmpp_rooms FROM PUBLIC;

/*
 * The worker's own role (jabclnd.role) gets what its SQL needs of the new
 * objects, as in jabclnd--1.0.sql: it reads the rooms, and adds the rooms
 * of invitations it accepts. README.md, "Privileges", shows the same
 * GRANTs for a role created after the update.
 */
DO $grant$
DECLARE
	worker_role text := pg_catalog.current_setting('jabclnd.role', true);
BEGIN
	IF worker_role IS NULL OR worker_role OPERATOR(pg_catalog.=) ''
		OR NOT EXISTS (SELECT FROM pg_catalog.pg_roles r
		                WHERE r.rolname OPERATOR(pg_catalog.=) worker_role) THEN
		RETURN;
	END IF;
	EXECUTE pg_catalog.format('GRANT SELECT, INSERT (room_jid, password, enabled) '
		'ON @extschema@.xmpp_rooms TO %I', worker_role);
	/* The rooms' last messages and subjects, and the stanza-ids of what is stored. */
	EXECUTE pg_catalog.format('GRANT SELECT (insert_timestamp, message_from, message_type, '
		'message_subject, message_body, stanza_id) ON @extschema@.xmpp_rx_queue TO %I',
		worker_role);
END
$grant$;

/* ---------------------------------------------------------------- pg_dump */

-- The rooms are data: dumped with their rows, as the other tables.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.xmpp_rooms', '');

-- The worker waits for this commit to serve version 1.1.
SELECT @extschema@.jabclnd_wake();
