/*
 * room_stanzas.cpp: see room_stanzas.h.
 *
 * libstrophe gives every element the namespace it is in, inherited or
 * declared: the <item/> inside <x xmlns='…/muc#user'/> is in muc#user, the
 * <error/> of a stanza in jabber:client. Children are looked up by name and
 * namespace accordingly.
 */
#include "core/boundary.h"
#include "xmpp/room_stanzas.h"

#include "core/room.h"
#include "core/stanza.h"
#include "core/xmpp_time.h"
#include "xmpp/xml.h"

#include <strophe.h>

#include <cstring>
#include <string>

namespace room_stanzas
{

namespace
{

using xml::NS_PING;
using xml::NS_SID;
using xml::NS_STANZAS;
const char *const NS_DATA = "jabber:x:data";

using xml::attribute;

/* `text` cut to at most `max` bytes, never inside a UTF-8 sequence. */
std::string
cut(std::string text, size_t max)
{
	if (text.size() <= max)
		return text;
	size_t end = max;
	while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
		end--; /* text[end] continues a character: the cut goes before that character */
	text.resize(end);
	return text;
}

/* `text` if it is at most `max` bytes, else "": an identifier cut would name another thing. */
std::string
whole(std::string text, size_t max)
{
	return text.size() <= max ? text : std::string();
}

bool
named(xmpp_stanza_t *element, const char *name)
{
	const char *element_name = xmpp_stanza_get_name(element);
	return xmpp_stanza_is_tag(element) && element_name && strcmp(element_name, name) == 0;
}

bool
in_namespace(xmpp_stanza_t *element, const char *ns)
{
	const char *element_ns = xmpp_stanza_get_ns(element);
	return element_ns && strcmp(element_ns, ns) == 0;
}

/* The first child element called `name` in namespace `ns`, or null. */
xmpp_stanza_t *
child(xmpp_stanza_t *parent, const char *name, const char *ns)
{
	for (xmpp_stanza_t *c = parent ? xmpp_stanza_get_children(parent) : nullptr; c;
	     c = xmpp_stanza_get_next(c))
		if (named(c, name) && in_namespace(c, ns))
			return c;
	return nullptr;
}

/* A status code: exactly three digits (XEP-0045 15.6), else -1. */
int
status_code(const std::string &code)
{
	if (code.size() != 3)
		return -1;
	int value = 0;
	for (char c : code)
	{
		if (c < '0' || c > '9')
			return -1;
		value = value * 10 + (c - '0');
	}
	return value;
}

/* <reason/> of a muc#user element (an item, a destroy), cut. */
std::string
reason_of(xmpp_stanza_t *element)
{
	return cut(xml::text(child(element, "reason", NS_MUC_USER)), MAX_TEXT);
}

/* Adds <name>text</name> (in the parent's namespace) to parent. */
void
add_text_element(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name, const std::string &text)
{
	xmpp_stanza_t *element = xml::add_element(ctx, parent, name, nullptr);
	xmpp_stanza_t *content = xmpp_stanza_new(ctx);
	xmpp_stanza_set_text_with_size(content, text.data(), text.size());
	xmpp_stanza_add_child_ex(element, content, 0);
}

} // namespace

bool
is_room_presence(xmpp_stanza_t *presence)
{
	return child(presence, "x", NS_MUC_USER) != nullptr || attribute(presence, "type") == "error";
}

std::string
error_condition(xmpp_stanza_t *stanza, std::string *text)
{
	xmpp_stanza_t *error = xml::client_child(stanza, "error");
	std::string condition;
	if (text)
		text->clear();
	for (xmpp_stanza_t *c = error ? xmpp_stanza_get_children(error) : nullptr; c;
	     c = xmpp_stanza_get_next(c))
	{
		const char *name = xmpp_stanza_get_name(c);
		if (!xmpp_stanza_is_tag(c) || !name || !in_namespace(c, NS_STANZAS))
			continue;
		if (named(c, "text"))
		{
			if (text)
				*text = cut(xml::text(c), MAX_TEXT);
		}
		else if (condition.empty())
			condition = cut(name, MAX_TEXT);
	}
	return condition;
}

rooms::Presence
read_presence(xmpp_stanza_t *stanza)
{
	rooms::Presence presence;
	presence.from = whole(attribute(stanza, "from"), MAX_JID);
	presence.type = cut(attribute(stanza, "type"), MAX_TEXT);
	if (presence.type == "error")
		presence.error_condition = error_condition(stanza, &presence.error_text);

	xmpp_stanza_t *x = child(stanza, "x", NS_MUC_USER);
	bool item_seen = false;
	for (xmpp_stanza_t *c = x ? xmpp_stanza_get_children(x) : nullptr; c;
	     c = xmpp_stanza_get_next(c))
	{
		if (!in_namespace(c, NS_MUC_USER))
			continue;
		if (named(c, "status"))
		{
			const int code = status_code(attribute(c, "code"));
			if (code >= 0 && presence.status_codes.size() < MAX_LIST)
				presence.status_codes.push_back(code);
		}
		else if (named(c, "item") && !item_seen)
		{
			/* A presence describes one occupant: one item (more are a room's lists, in iqs). */
			item_seen = true;
			presence.item_nick = whole(attribute(c, "nick"), MAX_IDENTIFIER);
			presence.reason = reason_of(c);
		}
		else if (named(c, "destroy") && !presence.destroyed)
		{
			presence.destroyed = true;
			presence.destroy_alternate = whole(attribute(c, "jid"), MAX_JID);
			presence.destroy_reason = reason_of(c);
		}
	}
	return presence;
}

rooms::Message
read_message(xmpp_stanza_t *stanza)
{
	rooms::Message message;
	message.from = whole(attribute(stanza, "from"), MAX_JID);
	message.type = cut(attribute(stanza, "type"), MAX_TEXT);
	message.id = whole(attribute(stanza, "id"), MAX_IDENTIFIER);
	message.has_body = xml::client_child(stanza, "body") != nullptr;
	message.subject = xml::child_text(stanza, "subject", &message.has_subject);

	bool origin_seen = false;
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(stanza); c; c = xmpp_stanza_get_next(c))
	{
		if (!xmpp_stanza_is_tag(c))
			continue;
		if (named(c, "origin-id") && in_namespace(c, NS_SID) && !origin_seen)
		{
			origin_seen = true;
			message.origin_id = whole(attribute(c, "id"), MAX_IDENTIFIER);
		}
		else if (named(c, "stanza-id") && in_namespace(c, NS_SID))
		{
			rooms::StanzaId stanza_id;
			stanza_id.by = whole(attribute(c, "by"), MAX_JID);
			stanza_id.id = whole(attribute(c, "id"), MAX_IDENTIFIER);
			if (stanza_id.by.empty() || stanza_id.id.empty())
				continue;
			/* The last ones are kept: the room and our server append theirs after the sender's. */
			if (message.stanza_ids.size() >= MAX_LIST)
				message.stanza_ids.erase(message.stanza_ids.begin());
			message.stanza_ids.push_back(stanza_id);
		}
		else if (named(c, "delay") && in_namespace(c, NS_DELAY) && !message.delayed)
		{
			message.delayed = true;
			xmpp_time::Timestamp stamp = 0;
			if (xmpp_time::parse_xep0082(attribute(c, "stamp"), &stamp))
				message.delay_stamp = stamp;
		}
		else if (named(c, "x") && in_namespace(c, NS_CONFERENCE) &&
		         message.direct_invite_room.empty())
		{
			message.direct_invite_room = whole(attribute(c, "jid"), MAX_JID);
			message.direct_invite_password = whole(attribute(c, "password"), MAX_IDENTIFIER);
		}
		else if (named(c, "x") && in_namespace(c, NS_MUC_USER))
		{
			if (child(c, "status", NS_MUC_USER))
				message.has_status_codes = true;
			xmpp_stanza_t *invite = child(c, "invite", NS_MUC_USER);
			if (invite && !message.mediated_invite)
			{
				message.mediated_invite = true;
				message.mediated_inviter = whole(attribute(invite, "from"), MAX_JID);
				message.mediated_password =
				    whole(xml::text(child(c, "password", NS_MUC_USER)), MAX_IDENTIFIER);
			}
		}
	}
	return message;
}

bool
carries_invitation(const rooms::Message &message)
{
	return !message.direct_invite_room.empty() || message.mediated_invite;
}

std::string
check_action(const rooms::Action &action)
{
	switch (action.kind)
	{
	case rooms::Action::join:
	case rooms::Action::leave:
	case rooms::Action::self_ping:
	case rooms::Action::configure_instant:
	case rooms::Action::destroy:
		break;
	case rooms::Action::accept_invitation:
	default:
		return "not a stanza: the worker carries out accept_invitation";
	}
	std::string problem = stanza::check_jid(action.to, "the room's address");
	if (problem.empty() && action.kind == rooms::Action::join)
		problem = stanza::check_xml_text(action.password, "xmpp_rooms.password");
	if (problem.empty() && action.kind == rooms::Action::destroy)
		problem = stanza::check_xml_text(action.reason, "the reason to destroy the room");
	if (problem.empty())
		problem = stanza::check_xml_text(action.id, "the iq's id");
	return problem;
}

xmpp_stanza_t *
build_action(xmpp_ctx_t *ctx, const rooms::Action &action)
{
	xmpp_stanza_t *stanza = nullptr;
	switch (action.kind)
	{
	case rooms::Action::join:
	{
		/* XEP-0045 7.2: the muc <x/> says this is a join, not a presence update. */
		stanza = xmpp_presence_new(ctx);
		xmpp_stanza_set_to(stanza, action.to.c_str());
		xmpp_stanza_t *x = xml::add_element(ctx, stanza, "x", NS_MUC);
		if (!action.password.empty())
			add_text_element(ctx, x, "password", action.password);
		/* XEP-0045 7.2.14: the history core/room.cpp chose (history_wanted); neither is none. */
		xmpp_stanza_t *history = xml::add_element(ctx, x, "history", nullptr);
		if (action.history_since != 0)
			xmpp_stanza_set_attribute(history, "since",
			                          rooms::xep0082(action.history_since).c_str());
		int max_stanzas = action.history_max_stanzas;
		if (action.history_since == 0 && max_stanzas < 0)
			max_stanzas = 0;
		if (max_stanzas >= 0)
			xmpp_stanza_set_attribute(history, "maxstanzas", std::to_string(max_stanzas).c_str());
		break;
	}
	case rooms::Action::leave:
		stanza = xmpp_presence_new(ctx);
		xmpp_stanza_set_to(stanza, action.to.c_str());
		xmpp_stanza_set_type(stanza, "unavailable");
		break;
	case rooms::Action::self_ping:
		/* XEP-0410: to our own occupant JID; the room answers while we are in it. */
		stanza = xmpp_iq_new(ctx, "get", action.id.c_str());
		xmpp_stanza_set_to(stanza, action.to.c_str());
		xml::add_element(ctx, stanza, "ping", NS_PING);
		break;
	case rooms::Action::configure_instant:
	{
		/* XEP-0045 10.1.2: an empty submitted form accepts the service's defaults. */
		stanza = xmpp_iq_new(ctx, "set", action.id.c_str());
		xmpp_stanza_set_to(stanza, action.to.c_str());
		xmpp_stanza_t *query = xml::add_element(ctx, stanza, "query", NS_MUC_OWNER);
		xmpp_stanza_t *form = xml::add_element(ctx, query, "x", NS_DATA);
		xmpp_stanza_set_type(form, "submit");
		break;
	}
	case rooms::Action::destroy:
	{
		/* XEP-0045 10.9. */
		stanza = xmpp_iq_new(ctx, "set", action.id.c_str());
		xmpp_stanza_set_to(stanza, action.to.c_str());
		xmpp_stanza_t *query = xml::add_element(ctx, stanza, "query", NS_MUC_OWNER);
		xmpp_stanza_t *destroy = xml::add_element(ctx, query, "destroy", nullptr);
		if (!action.reason.empty())
			add_text_element(ctx, destroy, "reason", action.reason);
		break;
	}
	case rooms::Action::accept_invitation:
		break;
	}
	return stanza;
}

} // namespace room_stanzas
