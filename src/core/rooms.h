/*
 * rooms.h: the group chat rooms of one account (xmpp_rooms), and what a
 * message from a room is, in pure C++.
 *
 * The worker gives this class the rows of xmpp_rooms (at each wake that
 * found them changed), the login and the loss of the connection, and the
 * presence, iq answers and messages that come from rooms; it takes back the
 * actions to send (rooms::Action: joins, leaves, self-pings, the
 * configuration of a room it created) and the status lines of
 * jabclnd_rooms(). One rooms::Room (room.h) per row holds the state
 * machine; this class finds the room a stanza belongs to, owns what the
 * rooms share (the login, the ids, the settings), and classifies messages.
 *
 * Rooms are told apart by their bare JID lower-cased in ASCII
 * (jid::bare_key): servers compare the domain case-insensitively, and
 * Prosody, ejabberd and Openfire fold room names (local parts) to lower
 * case as well. Nicks are compared exactly, as rooms do. Two rows whose
 * room_jid differ only in case are one room: the first row wins (the SQL
 * side should prevent them with a unique index on lower(room_jid)).
 *
 * Who may answer what: a room's presence counts only from that room's bare
 * JID; a refused join only from the occupant JID tried (or the room); a
 * self-ping's answer only for its id, from our occupant JID (or the room);
 * the answer to a configuration or destroy only for its id, from the room.
 * Ids carry the login's random token (Context::new_id).
 */
#pragma once

#include "core/boundary.h"

#include "core/room.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace rooms
{

/* An XEP-0359 <stanza-id by='…' id='…'/> of a message. */
struct StanzaId
{
	std::string by;
	std::string id;
};

/* A message stanza, reduced to what classifying it needs. */
struct Message
{
	std::string from; /* full JID as sent */
	std::string type; /* "" is normal */
	std::string id;
	std::string origin_id;            /* XEP-0359 <origin-id id=…/>, "" if none */
	std::vector<StanzaId> stanza_ids; /* every <stanza-id/>; only the room's counts */
	bool has_body = false;
	bool has_subject = false;
	std::string subject;
	bool delayed = false;          /* XEP-0203 <delay/>: history */
	Timestamp delay_stamp = 0;     /* its stamp */
	bool has_status_codes = false; /* <x xmlns='…/muc#user'><status code=…/>: a notice */
	/* XEP-0249 direct invitation: <x xmlns='jabber:x:conference' jid=… password=…/>. */
	std::string direct_invite_room;
	std::string direct_invite_password;
	/* XEP-0045 7.8.2 mediated invitation: <x xmlns='…/muc#user'><invite from=…/>. */
	bool mediated_invite = false;
	std::string mediated_inviter;
	std::string mediated_password; /* <password/> beside the <invite/> */
};

/*
 * What the worker knows from its tables, asked only when needed. A missing
 * function answers false.
 */
struct Lookups
{
	/* Whether we sent a groupchat stanza to `room` with this id (as id or origin-id). */
	std::function<bool(const std::string &room, const std::string &id)> sent_by_us;
	/* Whether a message of `room` with the room's stanza-id `stanza_id` is stored. */
	std::function<bool(const std::string &room, const std::string &stanza_id)> stored_stanza_id;
	/*
	 * Whether a message of `room` from `from` (occupant JID) with `id`,
	 * sent at `sent` (its delay stamp), is stored.
	 */
	std::function<bool(const std::string &room, const std::string &from, const std::string &id,
	                   Timestamp sent)>
	    stored_message;
	/* Whether `inviter` (bare, lower-cased) may add rooms: on the roster, an enabled user. */
	std::function<bool(const std::string &inviter)> inviter_allowed;
};

/* What a message is, as far as rooms are concerned. */
struct Verdict
{
	enum Kind
	{
		not_room,            /* none of the rooms' business: the one-to-one rules decide */
		store,               /* a groupchat message of a joined room */
		store_subject,       /* a new subject of a joined room (type groupchat, no body) */
		store_private,       /* a private message from an occupant: store as chat */
		own_echo,            /* our own message reflected (echo_id): not stored */
		duplicate,           /* history already stored: not stored */
		subject_unchanged,   /* the subject again (the room sends it at every join) */
		nothing_to_store,    /* status codes, forms, chat states: not a message */
		not_joined,          /* from a room we are not in: ignored (count it) */
		error_reply,         /* type error: the send pipeline's business */
		invitation_accepted, /* an Action::accept_invitation was queued */
		invitation_ignored   /* `why` says why */
	} kind = not_room;
	std::string room;      /* the row's room_jid, or the invited room */
	std::string echo_id;   /* own_echo: the id of ours it carried (id or origin-id) */
	std::string stanza_id; /* store: the room's stanza-id, "" if it gave none */
	/*
	 * store, for a message of the room's history (it carries a delay): when
	 * the room says it was said (never later than now), and when the join
	 * that brought it went out; both 0 for a live message. The store
	 * recognises history stored already by them (pg/store.cpp).
	 */
	Timestamp history_stamp = 0;
	Timestamp history_join = 0;
	std::string why; /* invitation_ignored */
};

/* Whether a groupchat row for a room can go now. */
enum class SendCheck
{
	send, /* joined */
	wait, /* enabled, not joined yet (or in trouble that may pass) */
	fail  /* not in xmpp_rooms, or disabled: the reason says what to do */
};

class Rooms
{
  public:
	/* `random01` returns a number in [0, 1) for the backoffs' jitter; none: always 0.5. */
	explicit Rooms(const Settings &settings = Settings(),
	               std::function<double()> random01 = std::function<double()>());
	/* A reload: applies to the timers set from now on. */
	void set_settings(const Settings &settings) { context_.settings = settings; }

	/* Every row of xmpp_rooms, read now. */
	void set_rows(const std::vector<RoomRow> &rows, Timestamp now);
	/* Logged in as `own_jid`; `token` (random, new at each login) goes into every id. */
	void connected(const std::string &own_jid, const std::string &token, Timestamp now);
	/* The connection ended: stanzas not taken yet are dropped (they cannot go out). */
	void connection_lost(Timestamp now);

	/*
	 * A message of ours refused with an error from `from` (the send
	 * pipeline vouched that it answers a row sent there). A joined room
	 * that refuses it as not-acceptable no longer counts the bot as an
	 * occupant (XEP-0045 7.4): it is joined again at once.
	 */
	void message_refused(const std::string &from, const std::string &condition, Timestamp now);
	/* A presence stanza: true if it came from one of the rooms (the mirror must not see it). */
	bool presence(const Presence &presence, Timestamp now);
	/* An iq result or error: true if it answered an iq of a room. */
	bool iq_answered(const std::string &id, const std::string &from, const std::string &type,
	                 const std::string &condition, Timestamp now);
	/*
	 * What `message` is. Counts as a sign of life from a joined room;
	 * remembers the subject and the time of what it says to store.
	 */
	Verdict classify(const Message &message, const Lookups &lookups, Timestamp now);
	/* Time passed: joins due, self-pings due, deadlines. */
	void tick(Timestamp now);
	/* When tick() has something to do next (0: nothing until an event). */
	Timestamp next_wake() const;

	/* The actions to send, in order; taken once. */
	std::vector<Action> take_actions();
	/* The status lines that changed (removed ones with `removed`); taken once. */
	std::vector<RoomStatus> take_status_changes();
	/* Every room's status line, ordered by room. */
	std::vector<RoomStatus> statuses() const;

	bool joined(const std::string &room_jid) const;
	/* Whether a groupchat row to `room_jid` can go now; for fail, `*reason` says why. */
	SendCheck send_check(const std::string &room_jid, std::string *reason) const;
	/* room@service/nick while joined, else "": where the echo of our message comes from. */
	std::string occupant_jid(const std::string &room_jid) const;

  private:
	Room *find(const std::string &jid);
	const Room *find(const std::string &jid) const;
	Verdict invitation(const Message &message, const Lookups &lookups);
	bool on_own_service(const std::string &room_jid) const;
	void drop_stanzas();
	void publish();

	Context context_;
	std::map<std::string, Room> rooms_;       /* bare_key(room_jid) -> room */
	std::map<std::string, RoomStatus> shown_; /* bare_key(room_jid) -> last status taken */
	std::vector<RoomStatus> status_changes_;
};

} // namespace rooms
