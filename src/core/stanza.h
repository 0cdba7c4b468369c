/*
 * stanza.h: checks on what goes into a stanza, in pure C++.
 *
 * Nothing here knows PostgreSQL or libstrophe, so it is unit-testable on its
 * own. Each check returns an empty string when the input is fine, otherwise
 * a sentence that says what is wrong, fit for submission_info.
 */
#pragma once

#include "core/boundary.h"

#include <cstdint>
#include <string>

namespace stanza
{

/*
 * Why `jid` is not a usable address (empty if it is), by RFC 7622's rules
 * as far as they can be checked without Unicode tables: the characters each
 * part may not hold (no control characters anywhere), lengths, and a domain
 * that is a name or an IPv6 literal such as [::1]. `what` names the column
 * in the message, e.g. "message_to"; the message starts with it and the JID.
 */
std::string check_jid(const std::string &jid, const char *what);

/*
 * Why `text` cannot be put into XML (empty if it can): invalid UTF-8, or a
 * character XML 1.0 forbids (U+0000-U+001F but tab, LF and CR; U+FFFE,
 * U+FFFF; surrogates). Servers close the stream on either.
 */
std::string check_xml_text(const std::string &text, const char *what);

/*
 * Why `xml` is not exactly one element (empty if it is, or if it is so
 * broken that only a parser can say where: the caller parses it next).
 * libstrophe's parser returns the first element of a string and drops the
 * rest, so two stanzas, or a stanza and trailing text, would be sent in
 * part and marked sent. Refused too, each with its own reason: what RFC
 * 6120 11.1 forbids in a stream (an XML declaration, a document type
 * declaration, comments, processing instructions). White space around the
 * element is fine.
 */
std::string check_single_element(const std::string &xml, const char *what);

/*
 * Why an element in namespace `ns` (null: none given) cannot be sent as a
 * stanza of a client stream (empty if it can): only jabber:client, which
 * is what no namespace means there. Any other makes the server close the
 * stream (jabber:server, the stream namespace, an unknown one).
 */
std::string check_client_namespace(const char *ns, const char *what);

/* Why a message type is not one of RFC 6121's (empty if it is). */
std::string check_message_type(const std::string &type);

/*
 * Why a message built from the columns of a tx row cannot be sent (empty if
 * it can). Null pointers are SQL NULLs.
 */
std::string check_message_parts(const std::string &to, const std::string &type,
                                const std::string *subject, const std::string *body);

/*
 * The id of the stanza sent for tx row `row_id`: stable across re-sends of
 * the same row, so a receiver can recognise a duplicate after a fault.
 * `inserted_us` (the row's insert time) keeps ids apart if the sequence is
 * ever reset.
 */
std::string row_stanza_id(int64_t row_id, int64_t inserted_us);

} // namespace stanza
