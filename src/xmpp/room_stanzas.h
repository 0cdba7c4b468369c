/*
 * room_stanzas.h: group chat (XEP-0045) stanzas, read and built, as free
 * functions on libstrophe stanzas.
 *
 * The session (session_rooms.cpp) calls them from its handlers and from
 * Session::carry_out; they know nothing of the session, so the unit tests
 * (test/unit/room_stanzas_test.cpp) feed them stanzas parsed from text.
 * Reading copies bounded plain data into the structs of core/rooms.h and
 * never fails: what is missing or malformed is left empty. Nothing here
 * decides anything about a room: that is core/room.h.
 *
 * Bounds, so that a stanza of any size yields data of a known size: free
 * texts (reasons, error texts) are cut at MAX_TEXT bytes on a UTF-8
 * character boundary; identifiers (JIDs, nicks, ids, passwords) longer
 * than XMPP allows are dropped whole rather than cut, since a cut JID is
 * another JID; lists hold at most MAX_LIST entries.
 */
#pragma once

#include "core/boundary.h"

#include "core/rooms.h"

#include <string>

struct _xmpp_ctx_t;
struct _xmpp_stanza_t;

namespace room_stanzas
{

const char *const NS_MUC = "http://jabber.org/protocol/muc";
const char *const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const char *const NS_MUC_OWNER = "http://jabber.org/protocol/muc#owner";
const char *const NS_CONFERENCE = "jabber:x:conference";
const char *const NS_DELAY = "urn:xmpp:delay";

/* Free texts longer than this are cut (on a character boundary). */
const size_t MAX_TEXT = 1024;
/* RFC 7622 3.1: a JID is at most 3 * 1023 bytes; a longer one is dropped. */
const size_t MAX_JID = 3071;
/* A nick is a resource part: at most 1023 bytes; ids and passwords are held to the same. */
const size_t MAX_IDENTIFIER = 1023;
/* Status codes and stanza-ids kept per stanza. */
const size_t MAX_LIST = 16;

/*
 * Whether a presence stanza is the rooms' business: it carries
 * <x xmlns='…/muc#user'/> (an occupant, or ourselves in a room), or it is
 * of type error (a refused join comes back so; the presence mirror ignores
 * errors).
 */
bool is_room_presence(_xmpp_stanza_t *presence);

/*
 * A presence stanza as rooms::Presence: from, type, the error's condition
 * and text, and from the muc#user <x/> every <status code/> (three digits),
 * the first <item/>'s nick and reason, and <destroy/> with its jid and
 * reason.
 */
rooms::Presence read_presence(_xmpp_stanza_t *presence);

/*
 * A message stanza as rooms::Message: from, type, id, the XEP-0359
 * origin-id and stanza-ids (the last MAX_LIST: servers append theirs),
 * body and subject as the session reads them (jabber:client children),
 * the first XEP-0203 delay (`delayed` even if its stamp cannot be read:
 * then the stamp is 0), muc#user status codes, and the invitations
 * (XEP-0249 direct, XEP-0045 7.8.2 mediated).
 */
rooms::Message read_message(_xmpp_stanza_t *message);

/* Whether a message read by read_message carries an invitation of either kind. */
bool carries_invitation(const rooms::Message &message);

/*
 * The defined condition of a stanza's <error/> (RFC 6120 8.3.3), e.g.
 * "conflict", "" if it has none; `text` (if given) receives its <text/>,
 * cut at MAX_TEXT.
 */
std::string error_condition(_xmpp_stanza_t *stanza, std::string *text = nullptr);

/*
 * Why `action` cannot be sent (empty if it can): an address that is no
 * JID, a password, reason or id that cannot be put into XML (servers close
 * the stream on either), or a kind the session does not send.
 */
std::string check_action(const rooms::Action &action);

/*
 * The stanza for `action` (join, leave, self_ping, configure_instant,
 * destroy), or null for the kinds that are not stanzas (accept_invitation).
 * The caller releases it. Call check_action first.
 */
_xmpp_stanza_t *build_action(_xmpp_ctx_t *ctx, const rooms::Action &action);

} // namespace room_stanzas
