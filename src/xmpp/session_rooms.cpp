/*
 * session_rooms.cpp: group chat rooms (XEP-0045) on the XMPP side.
 *
 * Part of the Session (session.h): it sends the stanzas rooms::Rooms asks
 * for and turns the rooms' presence and the answers to their iqs into
 * plain events. What the stanzas say is read and built in
 * room_stanzas.cpp; what they mean for a room is decided by core/room.h.
 * Like session.cpp, it never calls PostgreSQL.
 */
#include "core/boundary.h"
#include "xmpp/session.h"

#include "xmpp/room_stanzas.h"
#include "xmpp/xml.h"

#include <strophe.h>

#include <cstring>

namespace session
{

namespace
{

/*
 * Bounds on the rooms' events between two takes, as for message errors in
 * session.cpp. A pump reads at most 64 times 4 kB, far fewer presences than
 * this, so only a worker that stopped taking events ever reaches it.
 */
const size_t MAX_QUEUED_ROOM_EVENTS = 10000;

/*
 * A room's stanza is small (an occupant JID, a password, a reason); this
 * keeps an absurd row from reaching a server that would close the stream
 * over its size (Prosody's smallest usual limit is 10 kB before login,
 * 256 kB after).
 */
const size_t MAX_ROOM_STANZA = 16 * 1024;

} // namespace

std::string
Session::carry_out(const rooms::Action &action)
{
	/* Not a stanza: the worker inserts the row of xmpp_rooms. */
	if (action.kind == rooms::Action::accept_invitation || phase_ != Phase::online)
		return "";
	std::string problem = room_stanzas::check_action(action);
	if (!problem.empty())
		return problem;
	xmpp_stanza_t *stanza = room_stanzas::build_action(ctx_, action);
	if (!stanza)
		return "no stanza for this room action";
	problem = send_checked(stanza, MAX_ROOM_STANZA);
	xmpp_stanza_release(stanza);
	return problem;
}

/* See Events::room_presences; called for every presence before the mirror's path. */
void
Session::take_room_presence(xmpp_stanza_t *stanza)
{
	if (!room_stanzas::is_room_presence(stanza) || xml::attribute(stanza, "from").empty() ||
	    events_.room_presences.size() >= MAX_QUEUED_ROOM_EVENTS)
		return;
	events_.room_presences.push_back(room_stanzas::read_presence(stanza));
}

/* See Events::room_iq_answers; `stanza` is an iq of type result or error. */
void
Session::take_room_iq_answer(xmpp_stanza_t *stanza)
{
	const std::string id = xml::attribute(stanza, "id");
	if (id.compare(0, strlen(rooms::ID_PREFIX), rooms::ID_PREFIX) != 0 ||
	    id.size() > room_stanzas::MAX_IDENTIFIER ||
	    events_.room_iq_answers.size() >= MAX_QUEUED_ROOM_EVENTS)
		return;
	RoomIqAnswer answer;
	answer.id = id;
	answer.from = xml::attribute(stanza, "from");
	if (answer.from.size() > room_stanzas::MAX_JID)
		return; /* no JID: nobody's answer */
	answer.type = xml::attribute(stanza, "type");
	if (answer.type == "error")
		answer.condition = room_stanzas::error_condition(stanza);
	events_.room_iq_answers.push_back(std::move(answer));
}

} // namespace session
