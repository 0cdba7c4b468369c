/*
 * xml.h: reading and building libstrophe stanzas, the few ways the session
 * needs. The one place for an attribute read, a child's text and a child
 * element added, so the session files do not each write their own.
 */
#pragma once

#include "core/boundary.h"

#include <string>

struct _xmpp_ctx_t;
struct _xmpp_stanza_t;

namespace xml
{

/* Namespaces more than one file of src/xmpp reads or writes. */
const char *const NS_PING = "urn:xmpp:ping";
const char *const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const char *const NS_SID = "urn:xmpp:sid:0";

/* The attribute's value, or "" when it is absent. */
std::string attribute(_xmpp_stanza_t *stanza, const char *name);

/* A string libstrophe allocated, copied and freed with the context's allocator; null is "". */
std::string take_string(_xmpp_ctx_t *ctx, char *text);

/*
 * The first child element called `name` in the stanza's own namespace
 * (jabber:client, or none given), or null: the one child_text() reads.
 */
_xmpp_stanza_t *client_child(_xmpp_stanza_t *stanza, const char *name);

/* The whole text content of `element`, text of nested elements included; null is "". */
std::string text(_xmpp_stanza_t *element);

/*
 * The whole text content of the first child element called `name` in the
 * stanza's own namespace (jabber:client, or none given), text of nested
 * elements included, or ""; `present` says whether there is one. A child
 * of that name in another namespace (an extension's <body/>) does not
 * count.
 */
std::string child_text(_xmpp_stanza_t *stanza, const char *name, bool *present = nullptr);

/* Adds <name xmlns=ns/> (no xmlns if ns is null) to parent and returns it. */
_xmpp_stanza_t *add_element(_xmpp_ctx_t *ctx, _xmpp_stanza_t *parent, const char *name,
                            const char *ns);

} // namespace xml
