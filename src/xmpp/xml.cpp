/*
 * xml.cpp: see xml.h.
 */
#include "core/boundary.h"
#include "xmpp/xml.h"

#include <strophe.h>

#include <cstring>

namespace xml
{

std::string
attribute(xmpp_stanza_t *stanza, const char *name)
{
	const char *value = xmpp_stanza_get_attribute(stanza, name);
	return value ? value : "";
}

std::string
take_string(xmpp_ctx_t *ctx, char *text)
{
	std::string result = text ? text : "";
	if (text)
		xmpp_free(ctx, text);
	return result;
}

namespace
{

const char *const NS_CLIENT = "jabber:client";

/*
 * Appends the text of `node` and of everything below it, in document
 * order. libstrophe's xmpp_stanza_get_text takes only the direct text
 * children: "a<b>bold</b>c" would be "ac".
 */
void
append_text(xmpp_stanza_t *node, std::string *text)
{
	if (xmpp_stanza_is_text(node))
	{
		const char *part = xmpp_stanza_get_text_ptr(node);
		if (part)
			text->append(part);
		return;
	}
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(node); c; c = xmpp_stanza_get_next(c))
		append_text(c, text);
}

} // namespace

xmpp_stanza_t *
client_child(xmpp_stanza_t *stanza, const char *name)
{
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(stanza); c; c = xmpp_stanza_get_next(c))
	{
		const char *child_name = xmpp_stanza_get_name(c);
		const char *ns = xmpp_stanza_get_ns(c);
		if (xmpp_stanza_is_tag(c) && child_name && strcmp(child_name, name) == 0 &&
		    (!ns || strcmp(ns, NS_CLIENT) == 0))
			return c;
	}
	return nullptr;
}

std::string
text(xmpp_stanza_t *element)
{
	std::string result;
	if (element)
		append_text(element, &result);
	return result;
}

std::string
child_text(xmpp_stanza_t *stanza, const char *name, bool *present)
{
	xmpp_stanza_t *child = client_child(stanza, name);
	if (present)
		*present = child != nullptr;
	return text(child);
}

xmpp_stanza_t *
add_element(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name, const char *ns)
{
	xmpp_stanza_t *child = xmpp_stanza_new(ctx);
	xmpp_stanza_set_name(child, name);
	if (ns)
		xmpp_stanza_set_ns(child, ns);
	xmpp_stanza_add_child_ex(parent, child, 0);
	return child;
}

} // namespace xml
