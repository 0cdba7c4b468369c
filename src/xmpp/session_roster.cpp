/*
 * session_roster.cpp: presence, roster and subscriptions on the XMPP side.
 *
 * Part of the Session (session.h): it turns presence stanzas, roster
 * results and roster pushes into plain events for the presence mirror,
 * and carries out the mirror's roster actions. Which roster iq is which
 * (the answer to our get, to a set, a push) is decided by
 * core/roster_requests.h. Like session.cpp, it never calls PostgreSQL.
 */
#include "core/boundary.h"
#include "xmpp/session.h"

#include "core/jid.h"
#include "xmpp/xml.h"

#include <strophe.h>

#include <cstdlib>
#include <cstring>

namespace session
{

namespace
{

const char *const NS_ROSTER = "jabber:iq:roster";
const char *const NS_MUC_USER = "http://jabber.org/protocol/muc#user";

} // namespace

using xml::add_element;
using xml::attribute;

/*
 * The id of a request of ours: its kind, a random token drawn at each
 * login, and a counter. Answers are matched by id (and checked for their
 * sender): with a counter alone anyone could guess the next one.
 */
std::string
Session::next_id(const char *kind)
{
	return std::string("jabclnd-") + kind + "-" + id_token_ + "-" + std::to_string(++next_id_);
}

/* RFC 6121 2.1.3: asked before the initial presence, so contacts' presence follows it. */
void
Session::request_roster()
{
	const std::string id = next_id("roster");
	xmpp_stanza_t *iq = xmpp_iq_new(ctx_, "get", id.c_str());
	add_element(ctx_, iq, "query", NS_ROSTER);
	roster_requests_.get_sent(id);
	xmpp_send(conn_, iq);
	xmpp_stanza_release(iq);
}

/*
 * The roster's iqs: the result of our get (the whole roster), a push (one
 * change, from our own server), or the answer to a request of ours, which
 * carries no roster. Returns false if `iq` is none of them.
 */
bool
Session::take_roster(xmpp_stanza_t *iq)
{
	xmpp_stanza_t *query = xmpp_stanza_get_child_by_name_and_ns(iq, "query", NS_ROSTER);
	roster::Iq seen;
	seen.type = attribute(iq, "type");
	seen.id = attribute(iq, "id");
	seen.from = attribute(iq, "from");
	seen.has_roster_query = query != nullptr;
	const roster::Kind kind = roster_requests_.classify(seen);
	if (kind == roster::Kind::not_roster)
		return false;
	if (kind == roster::Kind::answered)
		return true;
	const bool push = kind == roster::Kind::push;

	RosterEvent event;
	event.complete = kind == roster::Kind::whole_roster;
	for (xmpp_stanza_t *item = query ? xmpp_stanza_get_children(query) : nullptr; item;
	     item = xmpp_stanza_get_next(item))
	{
		const char *name = xmpp_stanza_get_name(item);
		if (!name || strcmp(name, "item") != 0)
			continue;
		const std::string jid = attribute(item, "jid");
		const std::string subscription = attribute(item, "subscription");
		if (!jid.empty())
			event.items[jid] = subscription.empty() ? "none" : subscription;
	}
	events_.rosters.push_back(std::move(event));
	if (push)
	{
		xmpp_stanza_t *reply = iq_reply(iq, "result");
		xmpp_send(conn_, reply);
		xmpp_stanza_release(reply);
	}
	return true;
}

void
Session::on_presence(xmpp_stanza_t *stanza)
{
	take_room_presence(stanza);
	const std::string from = attribute(stanza, "from");
	const std::string type = attribute(stanza, "type");
	if (from.empty() || from == bound_jid_)
		return;
	/* Occupants of a group chat are not users of ours, whatever their nick. */
	if (xmpp_stanza_get_child_by_name_and_ns(stanza, "x", NS_MUC_USER))
		return;

	if (type.empty() || type == "unavailable")
	{
		presence::Update update;
		update.jid = from;
		update.available = type.empty();
		update.show = xml::child_text(stanza, "show");
		update.status = xml::child_text(stanza, "status");
		/* RFC 6121 4.7.2.3: an integer from -128 to 127; anything else counts as 0. */
		const std::string priority = xml::child_text(stanza, "priority");
		char *end = nullptr;
		const long value = strtol(priority.c_str(), &end, 10);
		if (!priority.empty() && *end == '\0' && value >= -128 && value <= 127)
			update.priority = static_cast<int>(value);
		events_.presences.push_back(std::move(update));
	}
	else if (type == "subscribe")
		events_.subscription_requests.push_back(jid::bare(from));
	else if (type == "unsubscribe")
		events_.unsubscribe_requests.push_back(jid::bare(from));
}

void
Session::send_presence_type(const std::string &to, const char *type)
{
	xmpp_stanza_t *presence = xmpp_presence_new(ctx_);
	xmpp_stanza_set_to(presence, to.c_str());
	xmpp_stanza_set_type(presence, type);
	xmpp_send(conn_, presence);
	xmpp_stanza_release(presence);
}

void
Session::set_roster_item(const std::string &jid, bool remove)
{
	const std::string id = next_id("roster-set");
	xmpp_stanza_t *iq = xmpp_iq_new(ctx_, "set", id.c_str());
	xmpp_stanza_t *item =
	    add_element(ctx_, add_element(ctx_, iq, "query", NS_ROSTER), "item", nullptr);
	xmpp_stanza_set_attribute(item, "jid", jid.c_str());
	if (remove)
		xmpp_stanza_set_attribute(item, "subscription", "remove");
	xmpp_send(conn_, iq);
	xmpp_stanza_release(iq);
	roster_requests_.set_sent(id);
}

void
Session::carry_out(const presence::RosterAction &action)
{
	if (phase_ != Phase::online)
		return;
	switch (action.kind)
	{
	case presence::RosterAction::add_and_subscribe:
		set_roster_item(action.jid, false);
		send_presence_type(action.jid, "subscribe");
		break;
	case presence::RosterAction::remove:
		/* Removing the item also cancels the subscriptions both ways (RFC 6121 2.5). */
		set_roster_item(action.jid, true);
		break;
	case presence::RosterAction::approve:
		send_presence_type(action.jid, "subscribed");
		break;
	case presence::RosterAction::refuse:
		send_presence_type(action.jid, "unsubscribed");
		break;
	}
}

} // namespace session
