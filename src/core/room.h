/*
 * room.h: one group chat room (XEP-0045 multi-user chat) the bot is in or
 * tries to be in, as a state machine, in pure C++.
 *
 * A row of xmpp_rooms says which room, under which nick, with which
 * password, and whether the bot may create it. This class decides when to
 * join, what an answer of the room means, when to try again, and what an
 * operator reads in jabclnd_rooms(). It does no I/O: rooms::Rooms (rooms.h)
 * feeds it the events of its room and collects the actions it asks for;
 * time is passed in and randomness comes from the caller, so every path is
 * unit-testable.
 *
 * Vocabulary:
 *   occupant JID   room@service/nick: how the room knows the bot
 *   self-presence  the room's presence about the bot itself (status 110,
 *                  or from the occupant JID it joined as)
 *   self-ping      XEP-0410: a ping to our own occupant JID; the room
 *                  answers it for us only while we are an occupant
 *   transient      trouble that passes by itself (kicked, no answer, the
 *                  room's server unreachable): rejoin after a short backoff
 *                  (Settings::rejoin_*), state `joining`
 *   permanent      trouble that needs someone to act (wrong password,
 *                  banned, members-only, no such room): state `error`,
 *                  tried again when the row changes or after a long backoff
 *                  (Settings::error_*), never in a tight loop
 *
 * The states (State) and what each waits for:
 *   disabled  the row is disabled: nothing
 *   waiting   a join is due at `due_` (0: as soon as the bot is online)
 *   joining   Join sent: self-presence, an error, or `due_` (no answer)
 *   creating  the join created the room and ConfigureInstant went out:
 *             its answer, or `due_`
 *   joined    in the room: the next self-ping is due at `due_`, moved on
 *             by every sign of life from the room
 *   checking  in the room, a self-ping out: its answer, or `due_`
 *   error     permanent trouble: the next try at `due_`
 * joining, creating, joined and checking exist only while online; a lost
 * connection turns them into waiting (due at login).
 */
#pragma once

#include "core/boundary.h"

#include "core/backoff.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rooms
{

/* Microseconds, as PostgreSQL's TimestampTz (and pipeline::Timestamp). */
using Timestamp = int64_t;

const Timestamp SECOND = 1000000;

/*
 * The ids of our iqs to rooms start with this, then the login's random
 * token and a counter: the session can tell their answers apart, and no
 * one can guess one.
 */
const char *const ID_PREFIX = "jabclnd-room-";

/* What the operator sees in jabclnd_rooms().state. */
enum class PublicState
{
	joining,
	joined,
	error,
	disabled
};

const char *public_state_name(PublicState state);

/* Whether an invitation to a room may add it to xmpp_rooms (a setting). */
enum class Invitations
{
	ignore, /* the default */
	accept  /* when the inviter is allowed (Lookups::inviter_allowed) */
};

/* Timers and bounds; the defaults are what the worker uses unless told otherwise. */
struct Settings
{
	/* How long the room has to answer a join, a configuration or a self-ping. */
	Timestamp answer_timeout = 60 * SECOND;
	/* A self-ping after this long without a sign of life from the room. */
	Timestamp self_ping_interval = 300 * SECOND;
	/*
	 * Transient trouble: rejoin after a delay doubling from min to max
	 * (milliseconds); the backoff's jitter puts each between half of it and
	 * all of it (core/backoff.h).
	 */
	int rejoin_min_ms = 30 * 1000;
	int rejoin_max_ms = 10 * 60 * 1000;
	/* Permanent trouble: try again after a delay doubling from min to max (milliseconds). */
	int error_min_ms = 10 * 60 * 1000;
	int error_max_ms = 60 * 60 * 1000;
	/* A room joined at least this long before its next trouble starts its rejoin delays anew. */
	Timestamp stable_after = 600 * SECOND;
	/* Nick conflicts: the row's nick, then nick_2 ... nick_<max_nick_attempts>. */
	int max_nick_attempts = 10;
	/*
	 * History is asked for since this long before the last message stored:
	 * the room stamps by its server's clock, the worker by the database's,
	 * and what the overlap brings twice is recognised (pg/store.cpp)
	 * within as long around the room's stamp.
	 */
	Timestamp history_overlap = 30 * SECOND;
	Invitations invitations = Invitations::ignore;
};

/*
 * One row of xmpp_rooms, as the worker reads it, with two facts of
 * xmpp_rx_queue about the room (they are not configuration: a change of
 * them is not a change of the row).
 */
struct RoomRow
{
	std::string room_jid; /* bare, checked by SQL */
	std::string nick;     /* "" (NULL): the account's local part */
	std::string password; /* "" (NULL): none */
	bool enabled = true;
	bool create = false;
	/* xmpp_rooms.history_max_stanzas: -1 (NULL), 0 (no history), N (at most N). */
	int history_max_stanzas = -1;
	/* When the row was added (insert_timestamp): history starts there. 0: unknown. */
	Timestamp added = 0;
	/*
	 * The version of the row (PostgreSQL's xmin): an UPDATE makes a new
	 * one even when it changes no value, which is how an operator says "try
	 * now" once the reason shown is dealt with (a member now, a ban lifted).
	 */
	std::string version;
	/*
	 * When the last message stored from this room was said: the room's
	 * delay stamp for history, the time it was stored otherwise; 0 if none.
	 */
	Timestamp last_stored = 0;
	/* The last subject stored for this room, if any. */
	bool has_last_subject = false;
	std::string last_subject;
};

/* Something the worker must send. */
struct Action
{
	enum Kind
	{
		join,              /* presence to `to` with <x xmlns='…/muc'>, password, history */
		leave,             /* presence type=unavailable to `to` */
		self_ping,         /* iq get `id` to `to` with <ping xmlns='urn:xmpp:ping'/> */
		configure_instant, /* iq set `id` to `to`: muc#owner query, empty x:data submit */
		destroy,           /* iq set `id` to `to`: muc#owner <destroy><reason/></destroy> */
		accept_invitation  /* insert `room` (with `password`) into xmpp_rooms */
	} kind = join;
	std::string room; /* the row's room_jid (for accept_invitation: the invited room) */
	std::string to;   /* occupant JID (join, leave, self_ping) or the room (configure, destroy) */
	std::string nick;
	std::string password;
	/*
	 * join: ask for history since this time (<history since='…'/>, see
	 * xep0082()), and at most history_max_stanzas messages (-1: no limit
	 * of ours). Neither (0 and -1) asks for none (<history maxstanzas='0'/>).
	 */
	Timestamp history_since = 0;
	int history_max_stanzas = -1;
	std::string id;
	std::string reason; /* destroy: the <reason/> */
};

/* One line of jabclnd_rooms(). */
struct RoomStatus
{
	std::string room_jid;
	PublicState state = PublicState::disabled;
	std::string nick;       /* in use when joined, tried otherwise; "" before the first login */
	Timestamp since = 0;    /* when `state` last changed */
	std::string last_error; /* "" when joined normally; a note when joined under another nick */
	Timestamp retry_at = 0; /* the next try after trouble (0: none, or at the next login) */
	bool removed = false;   /* the row is gone: drop the line */

	bool operator==(const RoomStatus &other) const;
	bool operator!=(const RoomStatus &other) const { return !(*this == other); }
};

/* A presence stanza from a room, reduced to what the state machine needs. */
struct Presence
{
	std::string from;              /* full JID as sent */
	std::string type;              /* "" (available), unavailable, error */
	std::string error_condition;   /* type error: e.g. conflict, not-authorized */
	std::string error_text;        /* type error: the <text/>, "" if none */
	std::vector<int> status_codes; /* <x xmlns='…/muc#user'><status code=…/> */
	std::string item_nick;         /* <item nick=…/> (status 303: the new nick) */
	std::string reason;            /* <item><reason/> (kicks, bans) */
	bool destroyed = false;        /* <destroy/> in muc#user */
	std::string destroy_reason;    /* its <reason/> */
	std::string destroy_alternate; /* its jid=…: where the room moved */
};

/* What every room of one login shares; rooms::Rooms owns it. */
struct Context
{
	Settings settings;
	std::function<double()> random01; /* in [0, 1), for the backoff's jitter */
	bool online = false;
	std::string own_bare;   /* the account's bare JID, as bound */
	std::string local_part; /* the default nick */
	std::string token;      /* random, new at each login: in every id */
	uint64_t next_id = 0;
	std::vector<Action> actions; /* to be taken by the worker, in order */

	std::string new_id();
};

/* The state of one room; see the header comment. */
class Room
{
  public:
	enum class State
	{
		disabled,
		waiting,
		joining,
		creating,
		joined,
		checking,
		error
	};

	Room(const RoomRow &row, Timestamp now);

	/* The row as read now (same room): changes of nick, password, create, enabled. */
	void row_changed(const RoomRow &row, Timestamp now, Context &context);
	/* The row is gone: leave the room if we are in it. */
	void removed(Context &context);
	/* The connection ended: no action can go out; rejoin at the next login. */
	void connection_lost(Timestamp now);
	/* A presence from this room (its bare JID matched). */
	void presence(const Presence &presence, Timestamp now, Context &context);
	/*
	 * An iq result or error `id` from `from`: true if it answered our
	 * self-ping, configuration or destroy (then it was this room's).
	 */
	bool iq_answered(const std::string &id, const std::string &from, const std::string &type,
	                 const std::string &condition, Timestamp now, Context &context);
	/* The room refused a message of ours with `condition` (see Rooms::message_refused). */
	void message_refused(const std::string &condition, Timestamp now);
	/* A message or presence from the room: while joined, the next self-ping waits for silence. */
	void activity(Timestamp now, const Context &context);
	/* A message of the room was stored, sent at `sent` (see history_since). */
	void message_stored(Timestamp sent);
	/* Whether `subject` differs from the last one stored; if it does, it is now the last. */
	bool subject_changed(const std::string &subject);

	/* The state machine: what is due now. Called after every event and on every tick. */
	void advance(Timestamp now, Context &context);
	/* When advance() next has something to do (0: only on an event). */
	Timestamp next_wake(const Context &context) const;

	PublicState public_state() const;
	bool joined() const { return state_ == State::joined || state_ == State::checking; }
	bool enabled() const { return row_.enabled; }
	/* When the last join went out (0: none yet): what was stored before it may come back. */
	Timestamp join_sent_at() const { return join_sent_at_; }
	const RoomRow &row() const { return row_; }
	/* The nick in use (joined) or being tried. */
	std::string nick(const Context &context) const;
	RoomStatus status(const Context &context) const;

  private:
	enum class Pending
	{
		none,
		self_ping,
		configure,
		destroy
	};

	bool in_room() const;
	std::string base_nick(const Context &context) const;
	bool from_us(const std::string &from, const Presence &presence, const Context &context) const;
	void become(State state, Timestamp now);
	void send_join(Timestamp now, Context &context);
	void send_leave(Context &context);
	void send_iq(Action::Kind kind, Pending pending, const std::string &reason, Context &context);
	void rejoin_now(Timestamp now, const std::string &why);
	void transient(Timestamp now, const std::string &why, Context &context);
	void permanent(Timestamp now, const std::string &why, Context &context);
	void join_refused(const Presence &presence, Timestamp now, Context &context);
	void self_available(const Presence &presence, Timestamp now, Context &context);
	void self_unavailable(const Presence &presence, Timestamp now, Context &context);
	void confirm_joined(Timestamp now, Context &context);
	void ping_answered(const std::string &type, const std::string &condition, Timestamp now,
	                   Context &context);
	void history_wanted(Action *join, const Context &context) const;

	RoomRow row_;
	State state_ = State::disabled;
	Timestamp since_ = 0; /* when public_state() last changed */
	Timestamp due_ = 0;   /* see the header comment */
	std::string last_error_;
	int nick_attempt_ = 1; /* 1: the row's nick; n: nick_n */
	std::string nick_in_use_;
	Timestamp joined_at_ = 0;       /* when this join was confirmed */
	Timestamp first_joined_at_ = 0; /* the first join of this process (history, see .cpp) */
	Timestamp join_sent_at_ = 0;
	uint64_t row_generation_ = 0;   /* counts the changes of the row (values or version) */
	uint64_t join_generation_ = 0;  /* row_generation_ as the last join went out */
	Pending pending_ = Pending::none;
	std::string pending_id_;
	Backoff rejoin_backoff_;
	Backoff error_backoff_;
	bool subject_known_ = false;
	std::string subject_;
};

/*
 * `t` as an XEP-0082 DateTime in UTC, whole seconds rounded down (e.g.
 * 2024-05-01T12:00:00Z), for <history since='…'/>.
 */
std::string xep0082(Timestamp t);

} // namespace rooms
