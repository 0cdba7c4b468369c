/*
 * store.h: every SQL statement the worker runs.
 *
 * Each store_* call is one short transaction of its own, run with no
 * network I/O inside it. Errors are caught here: a call that fails rolls
 * back, logs, and returns false with the message in store_last_error(),
 * so the worker can retry later. Only plain data crosses this boundary:
 * C strings and arrays, allocated by the caller or in a memory context the
 * caller owns and resets.
 */
#pragma once

#include <cstdint>

/* Opaque here: the worker passes its own memory context for results. */
typedef struct MemoryContextData *MemoryContext;

enum class TablesFound
{
	missing,       /* the extension is not installed (yet) in jabclnd.database */
	other_version, /* installed, at a version this library's SQL is not written for */
	present
};

/* How long a version of the extension may be here: longer ones are cut (and never served). */
#define STORE_VERSION_LEN 64

struct AccountRow
{
	bool found;
	char *jid;
	char *password;
	char *host;
	int port;
};

/* A claimed row of xmpp_tx_queue; NULL columns are null pointers. */
struct TxRow
{
	int64_t id;
	int64_t inserted_us; /* insert_timestamp, microseconds since the epoch */
	int attempts;        /* including this one */
	int64_t text_bytes;  /* the bytes of its text columns together */
	bool text_loaded;    /* false: more than the claim's limit; the text columns are null */
	int retries;         /* submission_retries: retries after temporary errors so far */
	char *stanza;
	char *to;
	char *type;
	char *subject;
	char *body;
};

/* A tx row that will not be (or was not) delivered, and why. */
struct RowFailure
{
	int64_t id;
	const char *reason;
	/* 0: failed for good; else a temporary error, and the row is due again then (TimestampTz). */
	int64_t retry_at;
};

/* A received message to store in xmpp_rx_queue; NULL columns are null pointers. */
struct RxRow
{
	const char *stanza;
	const char *from;
	const char *type;
	const char *id;
	const char *subject;
	const char *body;
	/* A room's XEP-0359 stanza-id: not stored again if the room already has a row with it. */
	const char *stanza_id;
	/*
	 * A message of a room's history: not stored again if a message of the
	 * same occupant JID with the same subject and body was stored from
	 * `history_from` until before `history_until` (TimestampTz; see
	 * insert_rx). Both 0 for a live message.
	 */
	int64_t history_from;
	int64_t history_until;
};

/* A change of openfire_users.available. */
struct PresenceRow
{
	const char *login; /* lower-cased */
	bool available;
};

/* A resource of a contact for xmpp_presence: written if available, else deleted. */
struct ResourceRow
{
	const char *jid; /* bare, lower-cased */
	const char *resource;
	bool available;
	const char *show;   /* NULL for plainly available */
	const char *status; /* NULL if none */
	int priority;
};

/*
 * What one persist transaction writes. The marks belong to `installation`
 * (the extension's oid when the rows were claimed): after DROP and CREATE
 * EXTENSION, new rows reuse the old ids, and no mark may cross over.
 */
struct Outcomes
{
	uint32_t installation;
	const int64_t *sent_ids;
	int sent_count;
	const RowFailure *failures;
	int failure_count;
	bool reset_presence; /* first: every available goes back to false, xmpp_presence empties */
	const PresenceRow *presence;
	int presence_count;
	const ResourceRow *resources;
	int resource_count;
};

/*
 * A row of xmpp_rooms, with two facts of xmpp_rx_queue about the room:
 * when the last message from it was stored, and the last subject stored.
 */
struct RoomsRow
{
	char *room_jid;
	char *nick;     /* NULL: the account's local part */
	char *password; /* NULL: none */
	bool enabled;
	bool create_room;
	int history_max_stanzas; /* -1: NULL */
	int64_t added;           /* TimestampTz of the row's insert_timestamp */
	int64_t last_stored;     /* TimestampTz, see plans.rooms; 0 if none */
	char *last_subject;      /* NULL: no subject stored */
	char *version;           /* the row's xmin, as text: any UPDATE changes it */
};

/* What the worker reads at each wake: the extension, the account, the enabled logins, the rooms. */
struct TablesSnapshot
{
	TablesFound tables;
	uint32_t installation; /* the extension's oid: new at every CREATE EXTENSION; 0 if missing */
	char version[STORE_VERSION_LEN]; /* pg_extension.extversion; empty if missing */
	AccountRow account;
	char **logins; /* lower-cased logins of the enabled openfire_users */
	int login_count;
	RoomsRow *rooms; /* every row of xmpp_rooms */
	int room_count;
	int64_t next_due; /* the earliest next_attempt_at still to come (TimestampTz), 0 if none */
};

/*
 * The version of the extension (pg_extension.extversion) whose tables the
 * store's SQL is written for. At any other version no unit runs SQL
 * against the tables: the snapshot says other_version, claims are stale,
 * outcomes are not recorded, received messages are not stored.
 */
const char *store_schema_version(void);

/* Reads the snapshot; strings are allocated in `results`. */
bool store_load_account(MemoryContext results, TablesSnapshot *snapshot);
/*
 * Claims up to `limit` pending rows with an id above `after_id` (the rows
 * still in flight stay pending until the server confirms them), oldest
 * first, counting the attempt. The text of a row larger than
 * `max_text_bytes` is not read: only its size. Rows of type groupchat to
 * one of `waiting_rooms` (bare JIDs, lower-cased) are not claimed: their
 * room is not joined yet, and a claim would count an attempt for nothing.
 * Claims nothing, and sets
 * `*stale`, when the extension is no longer `installation`.
 */
bool store_claim_batch(MemoryContext results, int limit, int64_t after_id, int64_t max_text_bytes,
                       const char *const *waiting_rooms, int waiting_count, uint32_t installation,
                       TxRow **rows, int *row_count, bool *stale);
/* Marks sent and failed rows, and mirrors presence into openfire_users and xmpp_presence. */
bool store_record(const Outcomes *outcomes);
/*
 * Inserts received messages into xmpp_rx_queue and notifies jabclnd_rx,
 * each message in a subtransaction of its own: one that is refused for
 * good (a trigger, a constraint) goes to xmpp_rx_set_aside with the error
 * instead, counted in `set_aside`; with `transient_is_final`, so does one
 * refused with an error that may pass (a lock, a serialization failure),
 * which otherwise fails the unit to be tried again. Apart from
 * store_record, so that a message that cannot be stored never holds back
 * the marks. `replicated` is false when the commit is not known to be
 * where synchronous replication was asked for (its wait was cancelled):
 * the messages must then not be acknowledged.
 */
bool store_received(const RxRow *rows, int count, bool transient_is_final, int *set_aside,
                    bool *replicated);

/*
 * Adds the room of an accepted invitation to xmpp_rooms (enabled, with its
 * password if any); nothing if a row for it exists already, in any case.
 */
bool store_add_room(const char *room_jid, const char *password);

/* The message of the last failed call. */
const char *store_last_error(void);
