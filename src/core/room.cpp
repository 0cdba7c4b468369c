/*
 * room.cpp: the state machine of one group chat room (see room.h).
 *
 * Facts of XEP-0045 it relies on: the room sends the occupants' presence,
 * then the self-presence (status 110; 210 when the service changed the
 * nick; 201 when the join created the room, which is then locked until its
 * owner configures it), then history, then the subject. A refused join is
 * a presence error from the occupant JID tried. An occupant removed gets an
 * unavailable self-presence whose status codes say why (301 banned, 307
 * kicked, 321 affiliation change, 322 members-only, 332 shutdown, 333
 * technical problem), or a <destroy/> when the room is gone; 303 is a nick
 * change. XEP-0410 says what a self-ping's answer means.
 */
#include "core/room.h"

#include "core/jid.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace rooms
{

namespace
{

bool
has_code(const Presence &presence, int code)
{
	return std::find(presence.status_codes.begin(), presence.status_codes.end(), code) !=
	       presence.status_codes.end();
}

std::string
quoted(const std::string &text)
{
	return "'" + text + "'";
}

std::string
seconds(Timestamp t)
{
	return std::to_string(t / SECOND) + " s";
}

} // namespace

const char *
public_state_name(PublicState state)
{
	switch (state)
	{
	case PublicState::joining:
		return "joining";
	case PublicState::joined:
		return "joined";
	case PublicState::error:
		return "error";
	case PublicState::disabled:
		return "disabled";
	}
	return "disabled";
}

bool
RoomStatus::operator==(const RoomStatus &other) const
{
	return room_jid == other.room_jid && state == other.state && nick == other.nick &&
	       since == other.since && last_error == other.last_error && retry_at == other.retry_at &&
	       removed == other.removed;
}

std::string
Context::new_id()
{
	return std::string(ID_PREFIX) + token + "-" + std::to_string(++next_id);
}

Room::Room(const RoomRow &row, Timestamp now)
    : row_(row), state_(row.enabled ? State::waiting : State::disabled), since_(now),
      subject_known_(row.has_last_subject), subject_(row.last_subject)
{
}

namespace
{

/* What the operator sees of an inner state. */
PublicState
public_of(Room::State state)
{
	switch (state)
	{
	case Room::State::disabled:
		return PublicState::disabled;
	case Room::State::waiting:
	case Room::State::joining:
	case Room::State::creating:
		return PublicState::joining;
	case Room::State::joined:
	case Room::State::checking:
		return PublicState::joined;
	case Room::State::error:
		return PublicState::error;
	}
	return PublicState::error;
}

} // namespace

PublicState
Room::public_state() const
{
	return public_of(state_);
}

/* The states in which the room may count us as an occupant: a leave is owed. */
bool
Room::in_room() const
{
	return state_ == State::joining || state_ == State::creating || state_ == State::joined ||
	       state_ == State::checking;
}

std::string
Room::base_nick(const Context &context) const
{
	return row_.nick.empty() ? context.local_part : row_.nick;
}

std::string
Room::nick(const Context &context) const
{
	if (in_room())
		return nick_in_use_;
	const std::string base = base_nick(context);
	return nick_attempt_ <= 1 ? base : base + "_" + std::to_string(nick_attempt_);
}

RoomStatus
Room::status(const Context &context) const
{
	RoomStatus status;
	status.room_jid = row_.room_jid;
	status.state = public_state();
	status.nick = nick(context);
	status.since = since_;
	status.last_error = last_error_;
	if (state_ == State::waiting || state_ == State::error)
		status.retry_at = due_;
	return status;
}

/* `since` follows what the operator sees, not the inner states. */
void
Room::become(State state, Timestamp now)
{
	if (public_of(state) != public_of(state_))
		since_ = now;
	state_ = state;
}

/*
 * A row read again. Only configuration counts as a change, and a new
 * version of the row (any UPDATE, even one that changes no value); the
 * facts about stored messages are merged (the greater time; the subject
 * only if this process knows none, since its own is newer than a read that
 * raced a store). Any change of a room that is not in it retries at once
 * with fresh backoffs: someone acted on the reason shown.
 */
void
Room::row_changed(const RoomRow &row, Timestamp now, Context &context)
{
	const RoomRow old = row_;
	row_ = row;
	row_.last_stored = std::max(old.last_stored, row.last_stored);
	if (!subject_known_ && row.has_last_subject)
	{
		subject_known_ = true;
		subject_ = row.last_subject;
	}
	const bool nick_changed = old.nick != row.nick;
	const bool changed = nick_changed || old.password != row.password || old.create != row.create ||
	                     old.enabled != row.enabled || old.version != row.version;
	if (!changed)
		return;
	row_generation_++;

	if (!row.enabled)
	{
		if (in_room() && context.online)
			send_leave(context);
		pending_ = Pending::none;
		last_error_.clear();
		become(State::disabled, now);
		return;
	}
	if (in_room() && !nick_changed)
		return; /* a new password, create flag or version: nothing to redo while in (or entering) */
	if (in_room() && context.online)
		send_leave(context); /* a new nick: leave under the old one, join under the new */
	rejoin_backoff_.reset();
	error_backoff_.reset();
	last_error_.clear();
	rejoin_now(now, "");
}

void
Room::removed(Context &context)
{
	if (in_room() && context.online)
		send_leave(context);
	pending_ = Pending::none;
}

void
Room::connection_lost(Timestamp now)
{
	pending_ = Pending::none;
	pending_id_.clear();
	if (!in_room())
		return; /* waiting and error keep their times; disabled stays */
	rejoin_now(now, "the connection to the server was lost");
}

/* Whether a presence from the room is about the bot itself. */
bool
Room::from_us(const std::string &from, const Presence &presence, const Context &context) const
{
	return has_code(presence, 110) || jid::resource(from) == nick(context);
}

void
Room::presence(const Presence &presence, Timestamp now, Context &context)
{
	activity(now, context);
	if (presence.type == "error")
	{
		/* A refused join comes from the occupant JID tried (or, from some services, the room). */
		const std::string resource = jid::resource(presence.from);
		if (state_ == State::joining && (resource.empty() || resource == nick_in_use_))
			join_refused(presence, now, context);
		return;
	}
	const bool self = from_us(presence.from, presence, context);
	if (presence.type == "unavailable")
	{
		if (self || presence.destroyed)
			self_unavailable(presence, now, context);
		return;
	}
	if (presence.type.empty() && self)
		self_available(presence, now, context);
}

void
Room::self_available(const Presence &presence, Timestamp now, Context &context)
{
	if (joined())
	{
		/* A presence update (a new role, the second half of a nick change). */
		nick_in_use_ = jid::resource(presence.from);
		return;
	}
	if (state_ != State::joining)
		return; /* a late answer to a join given up: the next join will tell */

	nick_in_use_ = jid::resource(presence.from);
	if (has_code(presence, 201))
	{
		if (row_.create)
		{
			/* XEP-0045 10.1.2: an instant room, with the service's default configuration. */
			send_iq(Action::configure_instant, Pending::configure, "", context);
			become(State::creating, now);
			due_ = now + context.settings.answer_timeout;
			return;
		}
		/*
		 * Most services create a missing room on a join; the row says only
		 * existing rooms are joined. The room is locked (no one else can be
		 * in it yet), so destroying it again undoes the join cleanly.
		 */
		permanent(now,
		          "the room does not exist (the join created it, and the bot destroyed it "
		          "again): create it, or set xmpp_rooms.create to true",
		          context);
		send_iq(Action::destroy, Pending::destroy, "created by mistake: xmpp_rooms.create is false",
		        context);
		return;
	}
	confirm_joined(now, context);
}

void
Room::confirm_joined(Timestamp now, Context &context)
{
	become(State::joined, now);
	joined_at_ = now;
	if (first_joined_at_ == 0)
		first_joined_at_ = now;
	due_ = now + context.settings.self_ping_interval;
	error_backoff_.reset();
	const std::string base = base_nick(context);
	if (nick_attempt_ > 1)
		last_error_ = "the nick " + quoted(base) + " is in use in the room; joined as " +
		              quoted(nick_in_use_);
	else if (nick_in_use_ != base)
		last_error_ = "the room gave the nick " + quoted(nick_in_use_) + " instead of " +
		              quoted(base) + " (status 210)";
	else
		last_error_.clear();
}

void
Room::self_unavailable(const Presence &presence, Timestamp now, Context &context)
{
	if (!in_room())
		return;
	if (presence.destroyed)
	{
		std::string why = "the room was destroyed";
		if (!presence.destroy_reason.empty())
			why += " (" + presence.destroy_reason + ")";
		if (!presence.destroy_alternate.empty())
			why +=
			    "; it moved to " + presence.destroy_alternate + ": put that room into xmpp_rooms";
		permanent(now, why, context);
		return;
	}
	const std::string reason = presence.reason.empty() ? "" : ": " + presence.reason;
	if (has_code(presence, 303))
	{
		if (joined() && !presence.item_nick.empty())
			nick_in_use_ = presence.item_nick; /* the available presence of the new nick follows */
		return;
	}
	if (has_code(presence, 301))
		permanent(now,
		          "banned from the room (status 301)" + reason +
		              ": ask an owner of the room to lift the ban on " + context.own_bare,
		          context);
	else if (has_code(presence, 307))
		transient(now, "kicked from the room (status 307)" + reason, context);
	else if (has_code(presence, 321))
		transient(now, "removed from the room by a change of affiliation (status 321)" + reason,
		          context);
	else if (has_code(presence, 322))
		transient(now, "removed from the room because it became members-only (status 322)",
		          context);
	else if (has_code(presence, 332))
		transient(now, "removed from the room because the service is shutting down (status 332)",
		          context);
	else if (has_code(presence, 333))
		transient(now, "removed from the room because of a technical problem (status 333)",
		          context);
	else if (state_ != State::joining)
		transient(now, "the room reported the bot gone without saying why", context);
	/* joining: an unexplained unavailable is the echo of an earlier leave (a nick change). */
}

/*
 * A presence error answering our join. Only a nick conflict and an
 * unreachable server are tried again soon; the rest needs someone to act,
 * and says who and how. A row changed while the join was out is tried at
 * once with the new row.
 */
void
Room::join_refused(const Presence &presence, Timestamp now, Context &context)
{
	const std::string &condition = presence.error_condition;
	const std::string text = presence.error_text.empty() ? "" : " (" + presence.error_text + ")";
	const std::string base = base_nick(context);
	std::string why;

	if (condition == "conflict")
	{
		if (nick_attempt_ < context.settings.max_nick_attempts)
		{
			const std::string tried = nick_in_use_;
			nick_attempt_++;
			become(State::waiting, now);
			due_ = 0;
			last_error_ = "the nick " + quoted(tried) + " is in use in the room; trying " +
			              quoted(nick(context));
			return;
		}
		why = "the nicks " + quoted(base) + " to " + quoted(nick_in_use_) +
		      " are all in use in the room: set xmpp_rooms.nick to another nick";
	}
	else if (condition == "remote-server-not-found" || condition == "remote-server-timeout")
	{
		transient(now, "the room's server cannot be reached (" + condition + ")" + text, context);
		return;
	}
	else if (condition == "not-authorized")
		why = row_.password.empty() ? "the room needs a password: set xmpp_rooms.password"
		                            : "the room refused the password: correct xmpp_rooms.password";
	else if (condition == "registration-required")
		why = "the room is members-only: ask an owner of the room to make " + context.own_bare +
		      " a member";
	else if (condition == "forbidden")
		why =
		    context.own_bare + " is banned from the room: ask an owner of the room to lift the ban";
	else if (condition == "item-not-found")
		why = row_.create ? "the room cannot be entered: it is locked while someone else creates "
		                    "it, or the service does not create rooms on a join"
		                  : "the room does not exist: create it, or set xmpp_rooms.create to true";
	else if (condition == "not-allowed")
		why = "the room does not exist, and the service does not let " + context.own_bare +
		      " create rooms: create it on the server";
	else if (condition == "not-acceptable")
		why = "the room admits its members only under their registered nick: set "
		      "xmpp_rooms.nick to the nick registered for " +
		      context.own_bare;
	else if (condition == "service-unavailable")
		why = "the room is full, or the service is not available (service-unavailable)";
	else if (condition == "jid-malformed")
		why = "the room refused the nick " + quoted(nick_in_use_) +
		      " (jid-malformed): set xmpp_rooms.nick to another nick";
	else
		why =
		    "the room refused the join (" + (condition.empty() ? "no condition" : condition) + ")";
	why += text;

	if (row_generation_ != join_generation_)
	{
		rejoin_now(now, why);
		return;
	}
	permanent(now, why, context);
}

bool
Room::iq_answered(const std::string &id, const std::string &from, const std::string &type,
                  const std::string &condition, Timestamp now, Context &context)
{
	if (pending_ == Pending::none || id != pending_id_ || (type != "result" && type != "error"))
		return false;
	if (jid::bare_key(from) != jid::bare_key(row_.room_jid))
		return false;
	/* A self-ping is answered from the occupant JID; the rest from the room itself. */
	const std::string resource = jid::resource(from);
	if (!resource.empty() && !(pending_ == Pending::self_ping && resource == nick_in_use_))
		return false;

	const Pending answered = pending_;
	pending_ = Pending::none;
	pending_id_.clear();
	switch (answered)
	{
	case Pending::self_ping:
		ping_answered(type, condition, now, context);
		break;
	case Pending::configure:
		if (type == "result")
			confirm_joined(now, context);
		else
		{
			send_leave(context);
			permanent(now,
			          "the join created the room, but the service refused to configure it as "
			          "an instant room (" +
			              condition + "): create the room on the server",
			          context);
		}
		break;
	case Pending::destroy:
	case Pending::none:
		break;
	}
	return true;
}

/* XEP-0410 3.2, with the conditions that mean "not an occupant" rejoining at once. */
void
Room::ping_answered(const std::string &type, const std::string &condition, Timestamp now,
                    Context &context)
{
	if (state_ != State::checking)
		return;
	if (type == "result" || condition == "service-unavailable" ||
	    condition == "feature-not-implemented")
	{
		/* We answered (or our client said it cannot): still an occupant. */
		become(State::joined, now);
		due_ = now + context.settings.self_ping_interval;
		return;
	}
	if (condition == "remote-server-not-found" || condition == "remote-server-timeout")
	{
		transient(now, "the self-ping could not reach the room's server (" + condition + ")",
		          context);
		return;
	}
	rejoin_now(now, "the self-ping found the bot no longer in the room (" +
	                    (condition.empty() ? std::string("no condition") : condition) + ")");
}

/*
 * A room that refuses our message as not-acceptable says the bot is not
 * an occupant (its service restarted and forgot us, say): a sign as sure
 * as a failed self-ping, and one that comes before it. Other refusals
 * (forbidden: a visitor in a moderated room; resource-constraint) are the
 * row's business, not the room's.
 */
void
Room::message_refused(const std::string &condition, Timestamp now)
{
	if (joined() && condition == "not-acceptable")
		rejoin_now(now, "the room refused a message: it no longer counts the bot as an occupant "
		                "(not-acceptable)");
}

/* A message or presence from the room while joined: the next self-ping waits for silence. */
void
Room::activity(Timestamp now, const Context &context)
{
	if (state_ == State::joined)
		due_ = now + context.settings.self_ping_interval;
}

void
Room::message_stored(Timestamp sent)
{
	row_.last_stored = std::max(row_.last_stored, sent);
}

bool
Room::subject_changed(const std::string &subject)
{
	const std::string last = subject_known_ ? subject_ : "";
	if (subject == last)
		return false;
	subject_known_ = true;
	subject_ = subject;
	return true;
}

/*
 * The history to ask for on a join (XEP-0045 7.2.14), by the row's
 * history_max_stanzas:
 *   0     none: what is said while the bot is away is not stored;
 *   NULL  everything since the last message stored from the room, less
 *         Settings::history_overlap (what it brings twice is recognised
 *         when stored), but never from before the row was added; when
 *         none is stored, since the row was added, so
 *         that nothing said since an operator asked for the room is lost
 *         and nothing older is replayed to applications that act on it
 *         (for a row without that time, since this process first joined);
 *   N     the same, at most the last N messages; when none is stored, the
 *         last N the room has.
 * The room may send less: it keeps a history of its own length.
 */
void
Room::history_wanted(Action *join, const Context &context) const
{
	const int max = row_.history_max_stanzas;
	join->history_max_stanzas = max < 0 ? -1 : max;
	join->history_since = 0;
	if (max == 0)
		return;
	if (row_.last_stored > 0)
		join->history_since =
		    std::max(row_.last_stored - context.settings.history_overlap, row_.added);
	else if (max < 0)
		join->history_since = row_.added > 0 ? row_.added : first_joined_at_;
}

void
Room::send_join(Timestamp now, Context &context)
{
	Action action;
	action.kind = Action::join;
	action.room = row_.room_jid;
	action.nick = nick(context);
	action.to = row_.room_jid + "/" + action.nick;
	action.password = row_.password;
	history_wanted(&action, context);
	context.actions.push_back(action);
	join_sent_at_ = now;
	nick_in_use_ = action.nick;
	join_generation_ = row_generation_;
	become(State::joining, now);
	due_ = now + context.settings.answer_timeout;
}

void
Room::send_leave(Context &context)
{
	Action action;
	action.kind = Action::leave;
	action.room = row_.room_jid;
	action.nick = nick_in_use_;
	action.to = row_.room_jid + "/" + nick_in_use_;
	context.actions.push_back(action);
}

void
Room::send_iq(Action::Kind kind, Pending pending, const std::string &reason, Context &context)
{
	pending_ = pending;
	pending_id_ = context.new_id();
	Action action;
	action.kind = kind;
	action.room = row_.room_jid;
	action.to = kind == Action::self_ping ? row_.room_jid + "/" + nick_in_use_ : row_.room_jid;
	action.id = pending_id_;
	action.reason = reason;
	context.actions.push_back(action);
}

/* Join again as soon as online, with the row's nick; the backoffs go on. */
void
Room::rejoin_now(Timestamp now, const std::string &why)
{
	pending_ = Pending::none;
	nick_attempt_ = 1;
	last_error_ = why;
	become(State::waiting, now);
	due_ = 0;
}

/*
 * Trouble that passes by itself: rejoin after the rejoin backoff. A room
 * that stayed joined for Settings::stable_after starts its delays anew, so
 * that a kick a week after the last one is not punished for it, and one
 * right after a rejoin is.
 */
void
Room::transient(Timestamp now, const std::string &why, Context &context)
{
	if (joined() && now - joined_at_ >= context.settings.stable_after)
		rejoin_backoff_.reset();
	const int delay_ms = rejoin_backoff_.next_delay_ms(
	    context.settings.rejoin_min_ms, context.settings.rejoin_max_ms, context.random01());
	pending_ = Pending::none;
	nick_attempt_ = 1;
	last_error_ = why;
	become(State::waiting, now);
	due_ = now + static_cast<Timestamp>(delay_ms) * 1000;
}

/* Trouble that needs someone to act: state error, tried again after the long backoff. */
void
Room::permanent(Timestamp now, const std::string &why, Context &context)
{
	const int delay_ms = error_backoff_.next_delay_ms(
	    context.settings.error_min_ms, context.settings.error_max_ms, context.random01());
	pending_ = Pending::none;
	nick_attempt_ = 1;
	last_error_ = why;
	become(State::error, now);
	due_ = now + static_cast<Timestamp>(delay_ms) * 1000;
}

/*
 * The state machine: what each state does when time passes or the
 * connection comes up. Events (presence, answers, rows) only change the
 * state and `due_`; the sending of joins and pings, and every deadline,
 * happen here.
 */
void
Room::advance(Timestamp now, Context &context)
{
	switch (state_)
	{
	case State::disabled:
		break;
	case State::waiting:
	case State::error:
		if (context.online && due_ <= now)
			send_join(now, context);
		break;
	case State::joining:
		if (due_ <= now)
			transient(now,
			          "no answer from the room to the join within " +
			              seconds(context.settings.answer_timeout),
			          context);
		break;
	case State::creating:
		if (due_ <= now)
		{
			send_leave(context);
			transient(now,
			          "no answer from the room to its configuration within " +
			              seconds(context.settings.answer_timeout),
			          context);
		}
		break;
	case State::joined:
		if (due_ <= now)
		{
			send_iq(Action::self_ping, Pending::self_ping, "", context);
			become(State::checking, now);
			due_ = now + context.settings.answer_timeout;
		}
		break;
	case State::checking:
		if (due_ <= now)
			transient(now,
			          "no answer to the self-ping within " +
			              seconds(context.settings.answer_timeout),
			          context);
		break;
	}
}

Timestamp
Room::next_wake(const Context &context) const
{
	if (!context.online || state_ == State::disabled)
		return 0;
	return due_;
}

std::string
xep0082(Timestamp t)
{
	/* PostgreSQL's epoch, 2000-01-01, is this many seconds after the Unix one. */
	const int64_t unix_epoch_offset = 946684800;
	int64_t secs = t / SECOND;
	if (t % SECOND < 0)
		secs--; /* round down before 2000 too */
	const time_t unix_time = static_cast<time_t>(secs + unix_epoch_offset);
	struct tm utc = {};
	gmtime_r(&unix_time, &utc);
	char text[80]; /* room for any int the compiler imagines in each field */
	snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", utc.tm_year + 1900,
	         utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
	return text;
}

} // namespace rooms
