/*
 * xml.cpp: see xml.h.
 */
#include "core/boundary.h"
#include "xmpp/xml.h"

#include <strophe.h>

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

std::string
child_text(xmpp_ctx_t *ctx, xmpp_stanza_t *stanza, const char *name, bool *present)
{
	xmpp_stanza_t *child = xmpp_stanza_get_child_by_name(stanza, name);
	if (present)
		*present = child != nullptr;
	return child ? take_string(ctx, xmpp_stanza_get_text(child)) : "";
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
