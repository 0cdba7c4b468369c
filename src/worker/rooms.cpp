/*
 * rooms.cpp: the worker's group chat rooms (XEP-0045). The rows of
 * xmpp_rooms go to core/rooms.h at each look at the tables; the rooms'
 * presence, iq answers and messages go to it as they arrive; what it asks
 * for (joins, leaves, self-pings, the configuration of a room it created)
 * goes to the session, and its status lines to shared memory for
 * jabclnd_rooms() (pg/room_status.h). Rows of xmpp_tx_queue of type
 * groupchat go out only to a joined room, and are confirmed by its echo.
 */
#include "core/jid.h"
#include "core/stanza.h"
#include "worker/worker.h"

#include "pg/room_status.h"
#include "pg/settings.h"

#include <algorithm>

namespace
{

/*
 * Every id the worker gives a row's stanza (and its origin-id) starts with
 * this (stanza::row_stanza_id). Rooms asks only about messages from our
 * own nick in a room, which the room vouches for: such a message with one
 * of our ids is our own, whether still in flight or an echo in the
 * history of a row confirmed long ago.
 */
const char ROW_ID_PREFIX[] = "jabclnd-tx-";

} // namespace

rooms::Settings
room_settings(void)
{
	rooms::Settings settings;
	settings.self_ping_interval =
	    static_cast<rooms::Timestamp>(jabclnd_room_ping_interval_ms) * 1000;
	settings.rejoin_min_ms = jabclnd_room_rejoin_delay_ms;
	settings.rejoin_max_ms = std::max(settings.rejoin_max_ms, jabclnd_room_rejoin_delay_ms);
	settings.invitations = jabclnd_room_invitations == ROOM_INVITATIONS_ACCEPT
	                           ? rooms::Invitations::accept
	                           : rooms::Invitations::ignore;
	return settings;
}

/* The rows of xmpp_rooms as read now; none when the tables are not served. */
void
Worker::set_room_rows(const TablesSnapshot &snapshot, TimestampTz now)
{
	std::vector<rooms::RoomRow> rows;
	if (snapshot.tables == TablesFound::present)
		for (int i = 0; i < snapshot.room_count; i++)
		{
			const RoomsRow &in = snapshot.rooms[i];
			rooms::RoomRow row;
			row.room_jid = in.room_jid;
			row.nick = in.nick ? in.nick : "";
			row.password = in.password ? in.password : "";
			row.enabled = in.enabled;
			row.create = in.create_room;
			row.history_max_stanzas = in.history_max_stanzas;
			row.added = in.added;
			row.last_stored = in.last_stored;
			row.has_last_subject = in.last_subject != nullptr;
			row.last_subject = in.last_subject ? in.last_subject : "";
			row.version = in.version ? in.version : "";
			rows.push_back(std::move(row));
		}
	rooms_.set_rows(rows, now);
}

/*
 * The rooms' presence and iq answers. Presence from a room never reaches
 * the presence mirror (the session keeps it apart): an occupant is not a
 * contact.
 */
void
Worker::follow_rooms(session::Events &events, TimestampTz now)
{
	for (const rooms::Presence &presence : events.room_presences)
		rooms_.presence(presence, now);
	for (const session::RoomIqAnswer &answer : events.room_iq_answers)
		rooms_.iq_answered(answer.id, answer.from, answer.type, answer.condition, now);
}

/*
 * Classifies a message for the rooms. Returns true if the rooms took it
 * (stored, an echo, ignored); false leaves it to the one-to-one rules.
 * Messages of the rooms are stored whatever jabclnd.receive_from says:
 * the operator chose the rooms, and with them their occupants.
 */
bool
Worker::room_message(session::IncomingMessage &message, TimestampTz now, uint64_t *ignored)
{
	rooms::Lookups lookups;
	lookups.sent_by_us = [](const std::string &, const std::string &id)
	{ return id.compare(0, sizeof ROW_ID_PREFIX - 1, ROW_ID_PREFIX) == 0; };
	/* Invitations: from a contact on the roster of this connection, or an enabled user. */
	lookups.inviter_allowed = [this](const std::string &inviter)
	{
		return mirror_.accepts_message_from(inviter, presence::Senders::roster) ||
		       mirror_.accepts_message_from(inviter, presence::Senders::openfire_users);
	};
	/* Stored stanza-ids are recognised by the insert itself (pg/store.cpp). */

	const rooms::Verdict verdict = rooms_.classify(message.room, lookups, now);
	switch (verdict.kind)
	{
	case rooms::Verdict::store:
	case rooms::Verdict::store_subject:
	{
		message.type = "groupchat";
		const TimestampTz overlap = room_settings().history_overlap;
		const bool history = verdict.history_join != 0;
		received_.push_back(ReceivedMessage{std::move(message), verdict.stanza_id,
		                                    history ? verdict.history_stamp - overlap : 0,
		                                    history ? verdict.history_join : 0});
		return true;
	}
	case rooms::Verdict::store_private:
		message.type = "chat";
		received_.push_back(ReceivedMessage{std::move(message), std::string(), 0, 0});
		return true;
	case rooms::Verdict::own_echo:
		pipeline_.echo_received(message.from, message.room.id, message.room.origin_id,
		                        rooms_.occupant_jid(verdict.room));
		return true;
	case rooms::Verdict::not_joined:
		(*ignored)++;
		return true;
	case rooms::Verdict::duplicate:
	case rooms::Verdict::subject_unchanged:
	case rooms::Verdict::nothing_to_store:
	case rooms::Verdict::invitation_accepted:
		return true;
	case rooms::Verdict::invitation_ignored:
		invitation_ignored(message.from, verdict);
		return false;
	case rooms::Verdict::error_reply:
	case rooms::Verdict::not_room:
		return false;
	}
	return false;
}

/*
 * Time passed and events arrived: the rooms' timers run, their actions go
 * out, and changed status lines are published. A room just joined lets
 * the rows that waited for it be claimed again.
 */
void
Worker::drive_rooms(TimestampTz now)
{
	rooms_.tick(now);
	for (const rooms::Action &action : rooms_.take_actions())
	{
		if (action.kind == rooms::Action::accept_invitation)
		{
			accept_invitation(action);
			continue;
		}
		const std::string problem = session_.carry_out(action);
		if (!problem.empty())
			ereport(LOG, (errmsg("jabclnd: nothing sent to room %s: %s", action.room.c_str(),
			                     problem.c_str())));
	}
	const std::vector<rooms::RoomStatus> changes = rooms_.take_status_changes();
	if (changes.empty())
		return;
	for (const rooms::RoomStatus &change : changes)
		if (!change.removed && change.state == rooms::PublicState::joined)
		{
			pipeline_.rows_below_may_be_due();
			pipeline_.rows_may_be_pending();
		}
	publish_rooms(rooms_.statuses());
}

/*
 * An invitation the rooms accepted: its room goes into xmpp_rooms, and
 * the commit's wake brings it back here as a row to join. A failed insert
 * is logged and not retried: the inviter may invite again.
 */
void
Worker::accept_invitation(const rooms::Action &action)
{
	if (!store_add_room(action.room.c_str(),
	                    action.password.empty() ? nullptr : action.password.c_str()))
		return;
	ereport(LOG, (errmsg("jabclnd: accepted an invitation to room %s", action.room.c_str())));
}

/*
 * An invitation not accepted goes on to the one-to-one rules (stored as a
 * message if it has a text and jabclnd.receive_from hears its sender).
 * With room_invitations = accept, the operator expects invitations to
 * work: one refused says why at LOG (bounded by the server's rate limits
 * like any stanza); with ignore, only at DEBUG1.
 */
void
Worker::invitation_ignored(const std::string &from, const rooms::Verdict &verdict)
{
	const int level = jabclnd_room_invitations == ROOM_INVITATIONS_ACCEPT ? LOG : DEBUG1;
	ereport(level, (errmsg("jabclnd: ignored an invitation from %s to room %s: %s", from.c_str(),
	                       verdict.room.c_str(), verdict.why.c_str())));
}

/* Every room's line, for jabclnd_rooms(). */
void
Worker::publish_rooms(const std::vector<rooms::RoomStatus> &statuses)
{
	std::vector<RoomStatusLine> lines(statuses.size());
	for (size_t i = 0; i < statuses.size(); i++)
	{
		const rooms::RoomStatus &s = statuses[i];
		lines[i] = RoomStatusLine{s.room_jid.c_str(),   rooms::public_state_name(s.state),
		                          s.nick.c_str(),       s.since,
		                          s.last_error.c_str(), s.retry_at};
	}
	room_status_publish(lines.data(), static_cast<int>(lines.size()));
}

/*
 * The rooms whose rows must not be claimed now (they would wait, and each
 * claim counts an attempt): bare JIDs lower-cased, as the claim compares
 * them.
 */
std::vector<std::string>
Worker::waiting_rooms() const
{
	std::vector<std::string> waiting;
	for (const rooms::RoomStatus &status : rooms_.statuses())
	{
		std::string reason;
		if (rooms_.send_check(status.room_jid, &reason) == rooms::SendCheck::wait)
			waiting.push_back(jid::bare_key(status.room_jid));
	}
	return waiting;
}

/*
 * A row of type groupchat: to a joined room, confirmed by its echo; to a
 * room not joined yet, left pending; to a room not in xmpp_rooms (or
 * disabled), failed with what to do.
 */
std::string
Worker::send_groupchat_row(const TxRow &row, const std::string &id, const std::string &stable_id)
{
	std::string reason;
	switch (rooms_.send_check(row.to, &reason))
	{
	case rooms::SendCheck::fail:
		return reason;
	case rooms::SendCheck::wait:
		pipeline_.row_waits(row.id);
		return "";
	case rooms::SendCheck::send:
		break;
	}
	const std::string subject = row.subject ? row.subject : "";
	const std::string body = row.body ? row.body : "";
	std::string problem = stanza::check_message_parts(
	    row.to, "groupchat", row.subject ? &subject : nullptr, row.body ? &body : nullptr);
	if (problem.empty())
		problem = session_.send_message(row.to, "groupchat", row.subject ? &subject : nullptr,
		                                row.body ? &body : nullptr, id, stable_id,
		                                static_cast<size_t>(jabclnd_max_stanza_size));
	if (problem.empty())
		pipeline_.row_sent(row.id, id, jid::bare_key(row.to), pipeline::ConfirmedBy::echo,
		                   stable_id);
	return problem;
}
