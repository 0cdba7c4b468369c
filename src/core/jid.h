/*
 * jid.h: taking JIDs apart (RFC 7622: local@domain/resource), in pure C++.
 *
 * The one place that splits a JID, finds its bare form and lower-cases it.
 * Nothing here checks a JID (core/stanza.h does), and nothing here
 * resolves Unicode case: XMPP servers compare domains, and the local parts
 * Prosody, ejabberd and Openfire hand out, in ASCII case-insensitively.
 */
#pragma once

#include "core/boundary.h"

#include <string>

namespace jid
{

struct Parts
{
	std::string local;
	std::string domain; /* lower-cased */
	std::string resource;
};

/* Splits a JID without checking it; the domain is lower-cased. */
Parts split(const std::string &jid);

/* `text` with A-Z turned into a-z; every other byte as it is. */
std::string lower_ascii(std::string text);

/* Everything before the first '/', as written. */
std::string bare(const std::string &jid);

/* The bare JID lower-cased: the key under which contacts and recipients are compared. */
std::string bare_key(const std::string &jid);

/* Everything after the first '/', or "". */
std::string resource(const std::string &jid);

/*
 * Whether a stanza `from` this address was sent by the account's own
 * server, or by the account itself (RFC 6120 8.1.2.1: a stanza without a
 * from comes from the account's server on its behalf). `own_jid` is the
 * account's (bound) JID.
 */
bool is_own_server(const std::string &from, const std::string &own_jid);

/*
 * Whether `from` may speak for `recipient`: the same bare JID, or the
 * recipient's domain (a server's bounce, e.g. remote-server-not-found).
 */
bool speaks_for(const std::string &from, const std::string &recipient);

} // namespace jid
