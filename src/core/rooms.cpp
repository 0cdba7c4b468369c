/*
 * rooms.cpp: the rooms of one account and what a message from a room is
 * (see rooms.h; one room's state machine is room.cpp).
 */
#include "core/rooms.h"

#include "core/jid.h"
#include "core/stanza.h"

#include <algorithm>
#include <set>

namespace rooms
{

Rooms::Rooms(const Settings &settings, std::function<double()> random01)
{
	context_.settings = settings;
	context_.random01 = random01 ? random01 : [] { return 0.5; };
}

/*
 * Rooms new in the rows start waiting (or disabled); known ones take the
 * row as a change; rooms whose row is gone are left and their status line
 * removed.
 */
void
Rooms::set_rows(const std::vector<RoomRow> &rows, Timestamp now)
{
	std::set<std::string> seen;
	for (const RoomRow &row : rows)
	{
		const std::string key = jid::bare_key(row.room_jid);
		if (!seen.insert(key).second)
			continue; /* the same room in another case: the first row wins */
		auto room = rooms_.find(key);
		if (room == rooms_.end())
			room = rooms_.emplace(key, Room(row, now)).first;
		else
			room->second.row_changed(row, now, context_);
		room->second.advance(now, context_);
	}
	for (auto room = rooms_.begin(); room != rooms_.end();)
	{
		if (seen.count(room->first))
		{
			++room;
			continue;
		}
		room->second.removed(context_);
		RoomStatus gone = room->second.status(context_);
		gone.removed = true;
		status_changes_.push_back(gone);
		shown_.erase(room->first);
		room = rooms_.erase(room);
	}
	publish();
}

void
Rooms::connected(const std::string &own_jid, const std::string &token, Timestamp now)
{
	context_.online = true;
	context_.own_bare = jid::bare(own_jid);
	context_.local_part = jid::split(own_jid).local;
	context_.token = token;
	context_.next_id = 0;
	drop_stanzas();
	for (auto &room : rooms_)
		room.second.advance(now, context_);
	publish();
}

void
Rooms::connection_lost(Timestamp now)
{
	context_.online = false;
	drop_stanzas();
	for (auto &room : rooms_)
		room.second.connection_lost(now);
	publish();
}

void
Rooms::message_refused(const std::string &from, const std::string &condition, Timestamp now)
{
	Room *room = find(from);
	if (!room || !context_.online || !jid::resource(from).empty())
		return;
	room->message_refused(condition, now);
	room->advance(now, context_);
	publish();
}

bool
Rooms::presence(const Presence &presence, Timestamp now)
{
	Room *room = find(presence.from);
	if (!room)
		return false;
	if (context_.online)
	{
		room->presence(presence, now, context_);
		room->advance(now, context_);
		publish();
	}
	return true;
}

bool
Rooms::iq_answered(const std::string &id, const std::string &from, const std::string &type,
                   const std::string &condition, Timestamp now)
{
	if (!context_.online || id.compare(0, std::string(ID_PREFIX).size(), ID_PREFIX) != 0)
		return false;
	for (auto &room : rooms_)
	{
		if (!room.second.iq_answered(id, from, type, condition, now, context_))
			continue;
		room.second.advance(now, context_);
		publish();
		return true;
	}
	return false;
}

/*
 * The order matters: an invitation is judged first (it may come from a
 * room, mediated, or from anyone, direct); then the room must be one of
 * ours and joined; a subject is judged before the echo (a subject is never
 * an echo of ours); the echo before the duplicate check (our own message
 * in the history is an echo, never stored).
 */
Verdict
Rooms::classify(const Message &message, const Lookups &lookups, Timestamp now)
{
	if (!message.direct_invite_room.empty() || message.mediated_invite)
		return invitation(message, lookups);

	Verdict verdict;
	const std::string type = message.type.empty() ? "normal" : message.type;
	Room *room = find(message.from);
	if (!room)
	{
		/* We are in no room that could have sent a groupchat message from there. */
		verdict.kind = type == "groupchat" ? Verdict::not_joined : Verdict::not_room;
		return verdict;
	}
	verdict.room = room->row().room_jid;
	if (type == "error")
	{
		verdict.kind = Verdict::error_reply;
		return verdict;
	}
	if (!room->joined())
	{
		verdict.kind = Verdict::not_joined;
		return verdict;
	}
	room->activity(now, context_);

	const std::string sender_nick = jid::resource(message.from);
	if (type != "groupchat")
	{
		/* From an occupant, a private message; from the room, a form or a notice. */
		verdict.kind = !sender_nick.empty() && message.has_body ? Verdict::store_private
		                                                        : Verdict::nothing_to_store;
		return verdict;
	}
	if (message.has_subject && !message.has_body)
	{
		verdict.kind = room->subject_changed(message.subject) ? Verdict::store_subject
		                                                      : Verdict::subject_unchanged;
		return verdict;
	}
	if (!message.has_body || (sender_nick.empty() && message.has_status_codes))
	{
		verdict.kind = Verdict::nothing_to_store;
		return verdict;
	}
	if (!sender_nick.empty() && sender_nick == room->nick(context_) && lookups.sent_by_us)
	{
		for (const std::string &id : {message.id, message.origin_id})
		{
			if (id.empty() || !lookups.sent_by_us(verdict.room, id))
				continue;
			verdict.kind = Verdict::own_echo;
			verdict.echo_id = id;
			return verdict;
		}
	}
	/* XEP-0359: the room strips stanza-ids by itself that others put in, so its own is its own. */
	const std::string key = jid::bare_key(verdict.room);
	for (const StanzaId &stanza_id : message.stanza_ids)
		if (verdict.stanza_id.empty() && jid::bare_key(stanza_id.by) == key)
			verdict.stanza_id = stanza_id.id;
	if (message.delayed)
	{
		const bool by_stanza_id = !verdict.stanza_id.empty() && lookups.stored_stanza_id &&
		                          lookups.stored_stanza_id(verdict.room, verdict.stanza_id);
		const bool by_sender =
		    !message.id.empty() && lookups.stored_message &&
		    lookups.stored_message(verdict.room, message.from, message.id, message.delay_stamp);
		if (by_stanza_id || by_sender)
		{
			verdict.kind = Verdict::duplicate;
			return verdict;
		}
	}
	/* A stamp in the future (a sender's own <delay/>, a clock ahead) must not move history on. */
	if (message.delayed)
	{
		verdict.history_stamp = message.delay_stamp > 0 ? std::min(message.delay_stamp, now) : now;
		verdict.history_join = room->join_sent_at();
	}
	room->message_stored(message.delayed ? verdict.history_stamp : now);
	verdict.kind = Verdict::store;
	return verdict;
}

/*
 * An invitation adds its room to xmpp_rooms only when the setting says so
 * and the inviter may: the caller knows its roster and users. A direct
 * invitation's inviter is its sender, whom the servers vouch for; a
 * mediated one names its inviter inside the stanza, which only the room's
 * service vouches for, so it counts only from a service of the account's
 * own domain (e.g. conference.example.org): anyone elsewhere could claim
 * any inviter.
 */
Verdict
Rooms::invitation(const Message &message, const Lookups &lookups)
{
	Verdict verdict;
	verdict.kind = Verdict::invitation_ignored;
	std::string inviter;
	std::string password;
	/*
	 * A room's mediated invitation may also carry the direct form for
	 * older clients (ejabberd adds <x xmlns='jabber:x:conference'/> naming
	 * itself): from the room's bare JID, it is the mediated one, whose
	 * inviter the room names.
	 */
	const bool from_the_room =
	    message.mediated_invite && jid::resource(message.from).empty() &&
	    (message.direct_invite_room.empty() ||
	     jid::bare_key(message.direct_invite_room) == jid::bare_key(message.from));
	if (!from_the_room && !message.direct_invite_room.empty())
	{
		verdict.room = message.direct_invite_room;
		inviter = message.from;
		password = message.direct_invite_password;
	}
	else
	{
		verdict.room = jid::bare(message.from);
		inviter = message.mediated_inviter;
		password = message.mediated_password;
		if (!jid::resource(message.from).empty() || !on_own_service(verdict.room))
		{
			verdict.why = "a mediated invitation counts only from a room of a service of " +
			              jid::split(context_.own_bare).domain;
			return verdict;
		}
	}
	const jid::Parts parts = jid::split(verdict.room);
	if (parts.local.empty() || !parts.resource.empty() ||
	    !stanza::check_jid(verdict.room, "room").empty())
		verdict.why = "not the JID of a room";
	else if (find(verdict.room))
		verdict.why = "the room is in xmpp_rooms already";
	else if (context_.settings.invitations != Invitations::accept)
		verdict.why = "invitations are ignored (the setting)";
	else if (!inviter.empty() && jid::bare_key(inviter) == jid::bare_key(verdict.room))
		/* Prosody names the inviter by nick in a semi-anonymous room: no one can say who it is. */
		verdict.why = "the room names the inviter only as the occupant " + inviter +
		              " (it is semi-anonymous): invite the bot directly (XEP-0249), or make the "
		              "room non-anonymous";
	else if (inviter.empty() || !lookups.inviter_allowed ||
	         !lookups.inviter_allowed(jid::bare_key(inviter)))
		verdict.why = "the inviter " + (inviter.empty() ? std::string("(none)") : inviter) +
		              " may not add rooms";
	if (!verdict.why.empty())
		return verdict;

	Action action;
	action.kind = Action::accept_invitation;
	action.room = verdict.room;
	action.password = password;
	context_.actions.push_back(action);
	verdict.kind = Verdict::invitation_accepted;
	return verdict;
}

/* Whether `room_jid` is on a subdomain of the account's domain. */
bool
Rooms::on_own_service(const std::string &room_jid) const
{
	const std::string own_domain = jid::split(context_.own_bare).domain;
	const std::string service = jid::split(room_jid).domain;
	const std::string suffix = "." + own_domain;
	return !own_domain.empty() && service.size() > suffix.size() &&
	       service.compare(service.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void
Rooms::tick(Timestamp now)
{
	for (auto &room : rooms_)
		room.second.advance(now, context_);
	publish();
}

Timestamp
Rooms::next_wake() const
{
	Timestamp earliest = 0;
	for (const auto &room : rooms_)
	{
		const Timestamp wake = room.second.next_wake(context_);
		if (wake > 0 && (earliest == 0 || wake < earliest))
			earliest = wake;
	}
	return earliest;
}

std::vector<Action>
Rooms::take_actions()
{
	std::vector<Action> actions;
	actions.swap(context_.actions);
	return actions;
}

std::vector<RoomStatus>
Rooms::take_status_changes()
{
	std::vector<RoomStatus> changes;
	changes.swap(status_changes_);
	return changes;
}

std::vector<RoomStatus>
Rooms::statuses() const
{
	std::vector<RoomStatus> all;
	for (const auto &room : rooms_)
		all.push_back(room.second.status(context_));
	return all;
}

bool
Rooms::joined(const std::string &room_jid) const
{
	const Room *room = find(room_jid);
	return room && room->joined();
}

SendCheck
Rooms::send_check(const std::string &room_jid, std::string *reason) const
{
	const Room *room = find(room_jid);
	if (!room)
	{
		*reason = "the room " + room_jid + " is not in xmpp_rooms: add it there to send to it";
		return SendCheck::fail;
	}
	if (!room->enabled())
	{
		*reason = "the room " + room_jid + " is disabled in xmpp_rooms: enable it to send to it";
		return SendCheck::fail;
	}
	return room->joined() ? SendCheck::send : SendCheck::wait;
}

std::string
Rooms::occupant_jid(const std::string &room_jid) const
{
	const Room *room = find(room_jid);
	if (!room || !room->joined())
		return "";
	return room->row().room_jid + "/" + room->nick(context_);
}

Room *
Rooms::find(const std::string &jid)
{
	auto room = rooms_.find(jid::bare_key(jid));
	return room == rooms_.end() ? nullptr : &room->second;
}

const Room *
Rooms::find(const std::string &jid) const
{
	auto room = rooms_.find(jid::bare_key(jid));
	return room == rooms_.end() ? nullptr : &room->second;
}

/*
 * Stanzas not sent before the connection ended would be stale at the next
 * login (a join twice, a ping whose answer is no longer awaited); an
 * accepted invitation is the database's and stays.
 */
void
Rooms::drop_stanzas()
{
	std::vector<Action> kept;
	for (const Action &action : context_.actions)
		if (action.kind == Action::accept_invitation)
			kept.push_back(action);
	context_.actions.swap(kept);
}

/* Every status line that differs from the one last taken becomes a change. */
void
Rooms::publish()
{
	for (const auto &room : rooms_)
	{
		const RoomStatus status = room.second.status(context_);
		auto shown = shown_.find(room.first);
		if (shown != shown_.end() && shown->second == status)
			continue;
		shown_[room.first] = status;
		status_changes_.push_back(status);
	}
}

} // namespace rooms
