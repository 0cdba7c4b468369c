/*
 * room_stanzas_test.cpp: unit tests of src/xmpp/room_stanzas.cpp, the
 * group chat stanzas read into rooms::Presence and rooms::Message and
 * built from rooms::Action, with GoogleTest and libstrophe.
 *
 * Stanzas are parsed from text with xmpp_stanza_new_from_string, in
 * jabber:client as in a real stream (libstrophe gives children the
 * namespace they inherit), and built ones are compared as the text
 * libstrophe would send.
 */
#include "xmpp/room_stanzas.h"

#include "core/room.h"
#include "core/xmpp_time.h"

#include <strophe.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace
{

using room_stanzas::build_action;
using room_stanzas::carries_invitation;
using room_stanzas::check_action;
using room_stanzas::error_condition;
using room_stanzas::is_room_presence;
using room_stanzas::read_message;
using room_stanzas::read_presence;

/* One libstrophe context for the whole binary: expat keeps the first one's allocator anyway. */
xmpp_ctx_t *
context()
{
	static xmpp_ctx_t *ctx = []
	{
		xmpp_initialize();
		return xmpp_ctx_new(nullptr, nullptr);
	}();
	return ctx;
}

struct Release
{
	void operator()(xmpp_stanza_t *stanza) const { xmpp_stanza_release(stanza); }
};
using Stanza = std::unique_ptr<xmpp_stanza_t, Release>;

/* `xml` parsed; the test fails if it is not well-formed. */
Stanza
parse(const std::string &xml)
{
	Stanza stanza(xmpp_stanza_new_from_string(context(), xml.c_str()));
	EXPECT_TRUE(stanza) << xml;
	return stanza;
}

/* A presence in jabber:client with `inner` inside. */
Stanza
presence(const std::string &attributes, const std::string &inner)
{
	return parse("<presence xmlns='jabber:client' " + attributes + ">" + inner + "</presence>");
}

Stanza
message(const std::string &attributes, const std::string &inner)
{
	return parse("<message xmlns='jabber:client' " + attributes + ">" + inner + "</message>");
}

/* The text libstrophe sends for the action's stanza, or "(null)". */
std::string
built(const rooms::Action &action)
{
	Stanza stanza(build_action(context(), action));
	if (!stanza)
		return "(null)";
	char *text = nullptr;
	size_t length = 0;
	EXPECT_EQ(xmpp_stanza_to_text(stanza.get(), &text, &length), XMPP_EOK);
	std::string result(text, length);
	xmpp_free(context(), text);
	return result;
}

rooms::Action
action(rooms::Action::Kind kind, const std::string &to, const std::string &id = "")
{
	rooms::Action action;
	action.kind = kind;
	action.room = "room@muc.example.org";
	action.to = to;
	action.id = id;
	return action;
}

rooms::Timestamp
stamp(const std::string &text)
{
	rooms::Timestamp t = 0;
	EXPECT_TRUE(xmpp_time::parse_xep0082(text, &t)) << text;
	return t;
}

const std::string MUC_USER = "xmlns='http://jabber.org/protocol/muc#user'";
const std::string STANZAS = "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'";

} // namespace

/* ---- presence ---- */

TEST(RoomPresence, SelfPresenceOfAJoinThatCreatedTheRoom)
{
	Stanza stanza = presence("from='room@muc.example.org/bot'",
	                         "<x " + MUC_USER +
	                             "><item affiliation='owner' role='moderator'/>"
	                             "<status code='110'/><status code='201'/></x>");
	EXPECT_TRUE(is_room_presence(stanza.get()));
	const rooms::Presence p = read_presence(stanza.get());
	EXPECT_EQ(p.from, "room@muc.example.org/bot");
	EXPECT_EQ(p.type, "");
	EXPECT_EQ(p.status_codes, std::vector<int>({110, 201}));
	EXPECT_EQ(p.item_nick, "");
	EXPECT_EQ(p.reason, "");
	EXPECT_FALSE(p.destroyed);
	EXPECT_EQ(p.error_condition, "");
}

TEST(RoomPresence, ARefusedJoinIsAnErrorWithoutMucUser)
{
	Stanza stanza = presence("from='room@muc.example.org/bot' type='error'",
	                         "<x xmlns='http://jabber.org/protocol/muc'/>"
	                         "<error by='room@muc.example.org' type='cancel'><conflict " +
	                             STANZAS + "/><text " + STANZAS +
	                             ">That nickname is already in use</text></error>");
	EXPECT_TRUE(is_room_presence(stanza.get()));
	const rooms::Presence p = read_presence(stanza.get());
	EXPECT_EQ(p.type, "error");
	EXPECT_EQ(p.error_condition, "conflict");
	EXPECT_EQ(p.error_text, "That nickname is already in use");
	EXPECT_TRUE(p.status_codes.empty());
}

TEST(RoomPresence, AnErrorWithoutADefinedConditionHasNone)
{
	Stanza stanza = presence("from='room@muc.example.org/bot' type='error'",
	                         "<error type='cancel'><gone xmlns='urn:other'/><text " + STANZAS +
	                             ">x</text></error>");
	const rooms::Presence p = read_presence(stanza.get());
	EXPECT_EQ(p.error_condition, "");
	EXPECT_EQ(p.error_text, "x");
}

TEST(RoomPresence, AKickWithItsReason)
{
	Stanza stanza =
	    presence("from='room@muc.example.org/bot' type='unavailable'",
	             "<x " + MUC_USER +
	                 "><item affiliation='none' role='none'>"
	                 "<actor nick='boss'/><reason>Flooding, <b>again</b></reason></item>"
	                 "<status code='307'/><status code='110'/></x>");
	const rooms::Presence p = read_presence(stanza.get());
	EXPECT_EQ(p.type, "unavailable");
	EXPECT_EQ(p.status_codes, std::vector<int>({307, 110}));
	EXPECT_EQ(p.reason, "Flooding, again") << "nested text counts";
}

TEST(RoomPresence, ANickChangeNamesTheNewNick)
{
	Stanza stanza = presence("from='room@muc.example.org/bot' type='unavailable'",
	                         "<x " + MUC_USER +
	                             "><item nick='bot2' role='participant'/>"
	                             "<status code='303'/><status code='110'/></x>");
	const rooms::Presence p = read_presence(stanza.get());
	EXPECT_EQ(p.item_nick, "bot2");
	EXPECT_EQ(p.status_codes, std::vector<int>({303, 110}));
}

TEST(RoomPresence, TheFirstItemOnly)
{
	Stanza stanza = presence("from='room@muc.example.org/bot'",
	                         "<x " + MUC_USER +
	                             "><item nick='first'><reason>one</reason></item>"
	                             "<item nick='second'><reason>two</reason></item></x>");
	const rooms::Presence p = read_presence(stanza.get());
	EXPECT_EQ(p.item_nick, "first");
	EXPECT_EQ(p.reason, "one");
}

TEST(RoomPresence, ADestroyedRoomAndWhereItMoved)
{
	Stanza stanza =
	    presence("from='room@muc.example.org/bot' type='unavailable'",
	             "<x " + MUC_USER +
	                 "><item affiliation='none' role='none'/>"
	                 "<destroy jid='new@muc.example.org'><reason>Moved</reason></destroy></x>");
	const rooms::Presence p = read_presence(stanza.get());
	EXPECT_TRUE(p.destroyed);
	EXPECT_EQ(p.destroy_alternate, "new@muc.example.org");
	EXPECT_EQ(p.destroy_reason, "Moved");
	EXPECT_EQ(p.reason, "") << "the item's reason is not the destroy's";
}

TEST(RoomPresence, OrdinaryPresenceIsNotTheRooms)
{
	EXPECT_FALSE(is_room_presence(presence("from='alice@example.org/phone'", "").get()));
	EXPECT_FALSE(is_room_presence(
	    presence("from='alice@example.org/phone' type='unavailable'", "<status>bye</status>")
	        .get()));
	/* The muc namespace (a join's), not muc#user, and no error: not an occupant's. */
	EXPECT_FALSE(is_room_presence(
	    presence("from='alice@example.org/phone'", "<x xmlns='http://jabber.org/protocol/muc'/>")
	        .get()));
	/* An <x/> of muc#user deeper down does not count either. */
	EXPECT_FALSE(is_room_presence(
	    presence("from='alice@example.org/phone'", "<c xmlns='urn:other'><x " + MUC_USER + "/></c>")
	        .get()));
}

TEST(RoomPresence, StatusCodesAreThreeDigitsAndFewInNumber)
{
	std::string inner = "<x " + MUC_USER +
	                    "><status code='11a'/><status code='1100'/><status code=''/>"
	                    "<status/><status code='-11'/><status code='100'/>";
	for (int i = 0; i < 40; i++)
		inner += "<status code='" + std::to_string(200 + i) + "'/>";
	inner += "</x><status>110</status>"; /* the presence's own <status/> is text, not a code */
	const rooms::Presence p =
	    read_presence(presence("from='room@muc.example.org/bot'", inner).get());
	ASSERT_EQ(p.status_codes.size(), room_stanzas::MAX_LIST);
	EXPECT_EQ(p.status_codes.front(), 100);
	EXPECT_EQ(p.status_codes.back(), 200 + static_cast<int>(room_stanzas::MAX_LIST) - 2);
}

TEST(RoomPresence, TextsAreCutOnACharacterAndIdentifiersDroppedWhole)
{
	/* 1023 ASCII bytes, then a 2-byte character that would end past the bound. */
	const std::string reason = std::string(1023, 'a') + "\xc3\xa9" + "tail";
	const std::string long_nick(1024, 'n');
	const std::string long_jid = std::string(3000, 'r') + "@" + std::string(100, 'd');
	Stanza stanza =
	    presence("from='room@muc.example.org/bot' type='unavailable'",
	             "<x " + MUC_USER + "><item nick='" + long_nick + "'><reason>" + reason +
	                 "</reason></item><destroy jid='" + long_jid + "'/><status code='307'/></x>");
	const rooms::Presence p = read_presence(stanza.get());
	EXPECT_EQ(p.reason, std::string(1023, 'a'));
	EXPECT_EQ(p.item_nick, "");
	EXPECT_TRUE(p.destroyed);
	EXPECT_EQ(p.destroy_alternate, "");
	/* Exactly at the bounds: kept. */
	const std::string nick(1023, 'n');
	const rooms::Presence q =
	    read_presence(presence("from='room@muc.example.org/bot'",
	                           "<x " + MUC_USER + "><item nick='" + nick + "'><reason>" +
	                               std::string(1022, 'a') + "\xc3\xa9</reason></item></x>")
	                      .get());
	EXPECT_EQ(q.item_nick, nick);
	EXPECT_EQ(q.reason, std::string(1022, 'a') + "\xc3\xa9");
}

/* ---- messages ---- */

TEST(RoomMessage, AGroupchatMessageFromHistory)
{
	Stanza stanza = message(
	    "from='room@muc.example.org/alice' type='groupchat' id='m1' to='bot@example.org/jabclnd'",
	    "<body>hello</body>"
	    "<origin-id xmlns='urn:xmpp:sid:0' id='o1'/>"
	    "<stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.example.org' id='s1'/>"
	    "<stanza-id xmlns='urn:xmpp:sid:0' by='bot@example.org' id='s2'/>"
	    "<delay xmlns='urn:xmpp:delay' from='room@muc.example.org' "
	    "stamp='2024-05-01T12:34:56.5Z'/>");
	const rooms::Message m = read_message(stanza.get());
	EXPECT_EQ(m.from, "room@muc.example.org/alice");
	EXPECT_EQ(m.type, "groupchat");
	EXPECT_EQ(m.id, "m1");
	EXPECT_EQ(m.origin_id, "o1");
	ASSERT_EQ(m.stanza_ids.size(), 2u);
	EXPECT_EQ(m.stanza_ids[0].by, "room@muc.example.org");
	EXPECT_EQ(m.stanza_ids[0].id, "s1");
	EXPECT_EQ(m.stanza_ids[1].by, "bot@example.org");
	EXPECT_EQ(m.stanza_ids[1].id, "s2");
	EXPECT_TRUE(m.has_body);
	EXPECT_FALSE(m.has_subject);
	EXPECT_TRUE(m.delayed);
	EXPECT_EQ(m.delay_stamp, stamp("2024-05-01T12:34:56Z") + 500000);
	EXPECT_FALSE(m.has_status_codes);
	EXPECT_FALSE(carries_invitation(m));
}

TEST(RoomMessage, ATypelessMessageWithoutExtensions)
{
	const rooms::Message m =
	    read_message(message("from='alice@example.org/phone'", "<body>hi</body>").get());
	EXPECT_EQ(m.type, "") << "normal, as rooms::Message says";
	EXPECT_EQ(m.origin_id, "");
	EXPECT_TRUE(m.stanza_ids.empty());
	EXPECT_FALSE(m.delayed);
	EXPECT_EQ(m.delay_stamp, 0);
}

TEST(RoomMessage, ADelayWithABadStampIsStillHistory)
{
	const rooms::Message m =
	    read_message(message("from='room@muc.example.org/alice' type='groupchat'",
	                         "<body>x</body><delay xmlns='urn:xmpp:delay' stamp='yesterday'/>"
	                         "<delay xmlns='urn:xmpp:delay' stamp='2024-05-01T12:34:56Z'/>")
	                     .get());
	EXPECT_TRUE(m.delayed);
	EXPECT_EQ(m.delay_stamp, 0) << "the first delay counts";
	/* XEP-0091's legacy delay is not XEP-0203's. */
	const rooms::Message legacy =
	    read_message(message("from='room@muc.example.org/alice' type='groupchat'",
	                         "<body>x</body><x xmlns='jabber:x:delay' stamp='20240501T12:34:56'/>")
	                     .get());
	EXPECT_FALSE(legacy.delayed);
}

TEST(RoomMessage, ASubjectAlone)
{
	const rooms::Message m = read_message(
	    message("from='room@muc.example.org/alice' type='groupchat'", "<subject>News</subject>")
	        .get());
	EXPECT_TRUE(m.has_subject);
	EXPECT_EQ(m.subject, "News");
	EXPECT_FALSE(m.has_body);
	/* An empty subject clears it: it is there, and empty. */
	const rooms::Message cleared = read_message(
	    message("from='room@muc.example.org/alice' type='groupchat'", "<subject/>").get());
	EXPECT_TRUE(cleared.has_subject);
	EXPECT_EQ(cleared.subject, "");
}

TEST(RoomMessage, ABodyOfAnotherNamespaceIsNoBody)
{
	const rooms::Message m = read_message(
	    message("from='alice@example.org/phone'",
	            "<body xmlns='urn:other'>x</body><subject xmlns='urn:other'>y</subject>")
	        .get());
	EXPECT_FALSE(m.has_body);
	EXPECT_FALSE(m.has_subject);
}

TEST(RoomMessage, ARoomNotice)
{
	const rooms::Message m = read_message(message("from='room@muc.example.org' type='groupchat'",
	                                              "<body>The room is now non-anonymous</body><x " +
	                                                  MUC_USER + "><status code='172'/></x>")
	                                          .get());
	EXPECT_TRUE(m.has_status_codes);
	EXPECT_FALSE(m.mediated_invite);
	/* A private message's empty muc#user <x/> (XEP-0045 7.5) has no status. */
	const rooms::Message private_message =
	    read_message(message("from='room@muc.example.org/alice' type='chat'",
	                         "<body>psst</body><x " + MUC_USER + "/>")
	                     .get());
	EXPECT_FALSE(private_message.has_status_codes);
}

TEST(RoomMessage, ADirectInvitation)
{
	const rooms::Message m = read_message(
	    message("from='alice@example.org/phone'",
	            "<x xmlns='jabber:x:conference' jid='room@muc.example.org' password='secret' "
	            "reason='Join us'/>")
	        .get());
	EXPECT_TRUE(carries_invitation(m));
	EXPECT_EQ(m.direct_invite_room, "room@muc.example.org");
	EXPECT_EQ(m.direct_invite_password, "secret");
	EXPECT_FALSE(m.has_body);
	EXPECT_FALSE(m.mediated_invite);
}

TEST(RoomMessage, ADirectInvitationWithoutARoomIsNone)
{
	const rooms::Message m = read_message(
	    message("from='alice@example.org/phone'", "<x xmlns='jabber:x:conference'/>").get());
	EXPECT_FALSE(carries_invitation(m));
	const rooms::Message too_long = read_message(
	    message("from='alice@example.org/phone'",
	            "<x xmlns='jabber:x:conference' jid='" + std::string(3072, 'r') + "'/>")
	        .get());
	EXPECT_FALSE(carries_invitation(too_long)) << "a JID cut would be another JID";
}

TEST(RoomMessage, AMediatedInvitation)
{
	const rooms::Message m =
	    read_message(message("from='room@muc.example.org'",
	                         "<x " + MUC_USER +
	                             "><invite from='alice@example.org/phone'><reason>Hi</reason>"
	                             "</invite><password>secret</password></x>")
	                     .get());
	EXPECT_TRUE(carries_invitation(m));
	EXPECT_TRUE(m.mediated_invite);
	EXPECT_EQ(m.mediated_inviter, "alice@example.org/phone");
	EXPECT_EQ(m.mediated_password, "secret");
	EXPECT_EQ(m.direct_invite_room, "");
	EXPECT_FALSE(m.has_status_codes);
	/* Without an inviter it is still an invitation: rooms::Rooms refuses it by name. */
	const rooms::Message anonymous = read_message(
	    message("from='room@muc.example.org'", "<x " + MUC_USER + "><invite/></x>").get());
	EXPECT_TRUE(carries_invitation(anonymous));
	EXPECT_EQ(anonymous.mediated_inviter, "");
	EXPECT_EQ(anonymous.mediated_password, "");
}

TEST(RoomMessage, ADeclineIsNoInvitation)
{
	const rooms::Message m =
	    read_message(message("from='room@muc.example.org'",
	                         "<x " + MUC_USER + "><decline from='alice@example.org'/></x>")
	                     .get());
	EXPECT_FALSE(carries_invitation(m));
}

TEST(RoomMessage, TheLastStanzaIdsAreKept)
{
	std::string inner = "<body>x</body><stanza-id xmlns='urn:xmpp:sid:0' id='no-by'/>"
	                    "<stanza-id xmlns='urn:xmpp:sid:0' by='x@example.org'/>";
	for (int i = 0; i < 30; i++)
		inner += "<stanza-id xmlns='urn:xmpp:sid:0' by='spam@example.org' id='" +
		         std::to_string(i) + "'/>";
	inner += "<stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.example.org' id='room-id'/>";
	const rooms::Message m =
	    read_message(message("from='room@muc.example.org/alice' type='groupchat'", inner).get());
	ASSERT_EQ(m.stanza_ids.size(), room_stanzas::MAX_LIST);
	EXPECT_EQ(m.stanza_ids.back().by, "room@muc.example.org");
	EXPECT_EQ(m.stanza_ids.back().id, "room-id");
	EXPECT_EQ(m.stanza_ids.front().id, std::to_string(30 - room_stanzas::MAX_LIST + 1));
}

TEST(RoomMessage, TheFirstOriginIdCounts)
{
	const rooms::Message m =
	    read_message(message("from='room@muc.example.org/bot' type='groupchat'",
	                         "<body>x</body><origin-id xmlns='urn:xmpp:sid:0' id='first'/>"
	                         "<origin-id xmlns='urn:xmpp:sid:0' id='second'/>"
	                         "<origin-id xmlns='urn:other' id='other'/>")
	                     .get());
	EXPECT_EQ(m.origin_id, "first");
}

/* ---- iq errors ---- */

TEST(RoomIq, TheConditionAndTextOfAnError)
{
	Stanza iq = parse("<iq xmlns='jabber:client' type='error' id='jabclnd-room-t-1' "
	                  "from='room@muc.example.org/bot'><ping xmlns='urn:xmpp:ping'/>"
	                  "<error type='cancel'><text " +
	                  STANZAS + ">gone</text><not-acceptable " + STANZAS + "/></error></iq>");
	std::string text;
	EXPECT_EQ(error_condition(iq.get(), &text), "not-acceptable");
	EXPECT_EQ(text, "gone");
	EXPECT_EQ(error_condition(iq.get()), "not-acceptable");
	Stanza result = parse("<iq xmlns='jabber:client' type='result' id='x'/>");
	EXPECT_EQ(error_condition(result.get(), &text), "");
	EXPECT_EQ(text, "");
}

/* ---- building ---- */

TEST(RoomBuild, AJoinWithoutHistory)
{
	rooms::Action join = action(rooms::Action::join, "room@muc.example.org/bot");
	join.nick = "bot";
	EXPECT_EQ(check_action(join), "");
	EXPECT_EQ(built(join), "<presence to=\"room@muc.example.org/bot\">"
	                       "<x xmlns=\"http://jabber.org/protocol/muc\">"
	                       "<history maxstanzas=\"0\"/></x></presence>");
}

TEST(RoomBuild, AJoinWithPasswordAndHistorySince)
{
	rooms::Action join = action(rooms::Action::join, "room@muc.example.org/bot");
	join.password = "s3cret <&> '\"";
	join.history_since = stamp("2024-05-01T12:34:56Z") + 789;
	EXPECT_EQ(check_action(join), "");
	EXPECT_EQ(built(join), "<presence to=\"room@muc.example.org/bot\">"
	                       "<x xmlns=\"http://jabber.org/protocol/muc\">"
	                       "<password>s3cret &lt;&amp;&gt; '&quot;</password>"
	                       "<history since=\"2024-05-01T12:34:56Z\"/></x></presence>");
}

TEST(RoomBuild, AJoinWithAtMostNStanzas)
{
	rooms::Action join = action(rooms::Action::join, "room@muc.example.org/bot");
	join.history_max_stanzas = 7;
	EXPECT_EQ(built(join), "<presence to=\"room@muc.example.org/bot\">"
	                       "<x xmlns=\"http://jabber.org/protocol/muc\">"
	                       "<history maxstanzas=\"7\"/></x></presence>")
	    << "nothing stored yet: the room's last 7";
	join.history_since = stamp("2024-05-01T12:34:56Z");
	const std::string with_since = built(join);
	/* libstrophe writes attributes in no fixed order. */
	EXPECT_NE(with_since.find("since=\"2024-05-01T12:34:56Z\""), std::string::npos) << with_since;
	EXPECT_NE(with_since.find("maxstanzas=\"7\""), std::string::npos) << with_since;
	join.history_max_stanzas = 0;
	join.history_since = 0;
	EXPECT_EQ(built(join), "<presence to=\"room@muc.example.org/bot\">"
	                       "<x xmlns=\"http://jabber.org/protocol/muc\">"
	                       "<history maxstanzas=\"0\"/></x></presence>");
}

TEST(RoomBuild, ALeave)
{
	const rooms::Action leave = action(rooms::Action::leave, "room@muc.example.org/bot");
	EXPECT_EQ(check_action(leave), "");
	const std::string text = built(leave);
	/* libstrophe's order of attributes is its own (a hash table): check each. */
	Stanza stanza = parse(text);
	EXPECT_STREQ(xmpp_stanza_get_name(stanza.get()), "presence");
	EXPECT_STREQ(xmpp_stanza_get_type(stanza.get()), "unavailable");
	EXPECT_STREQ(xmpp_stanza_get_to(stanza.get()), "room@muc.example.org/bot");
	EXPECT_EQ(xmpp_stanza_get_children(stanza.get()), nullptr) << text;
}

TEST(RoomBuild, ASelfPing)
{
	const rooms::Action ping =
	    action(rooms::Action::self_ping, "room@muc.example.org/bot", "jabclnd-room-t-1");
	EXPECT_EQ(check_action(ping), "");
	const std::string text = built(ping);
	Stanza stanza = parse(text);
	EXPECT_STREQ(xmpp_stanza_get_name(stanza.get()), "iq");
	EXPECT_STREQ(xmpp_stanza_get_type(stanza.get()), "get");
	EXPECT_STREQ(xmpp_stanza_get_id(stanza.get()), "jabclnd-room-t-1");
	EXPECT_STREQ(xmpp_stanza_get_to(stanza.get()), "room@muc.example.org/bot");
	EXPECT_NE(text.find("<ping xmlns=\"urn:xmpp:ping\"/></iq>"), std::string::npos) << text;
}

TEST(RoomBuild, AnInstantRoomConfiguration)
{
	const std::string text =
	    built(action(rooms::Action::configure_instant, "room@muc.example.org", "jabclnd-room-t-2"));
	Stanza stanza = parse(text);
	EXPECT_STREQ(xmpp_stanza_get_type(stanza.get()), "set");
	EXPECT_STREQ(xmpp_stanza_get_id(stanza.get()), "jabclnd-room-t-2");
	EXPECT_STREQ(xmpp_stanza_get_to(stanza.get()), "room@muc.example.org");
	EXPECT_NE(text.find("><query xmlns=\"http://jabber.org/protocol/muc#owner\">"
	                    "<x xmlns=\"jabber:x:data\" type=\"submit\"/></query></iq>"),
	          std::string::npos)
	    << text;
}

TEST(RoomBuild, ADestroyWithAndWithoutReason)
{
	rooms::Action destroy =
	    action(rooms::Action::destroy, "room@muc.example.org", "jabclnd-room-t-3");
	destroy.reason = "created by mistake: xmpp_rooms.create is false";
	EXPECT_EQ(check_action(destroy), "");
	std::string text = built(destroy);
	Stanza stanza = parse(text);
	EXPECT_STREQ(xmpp_stanza_get_type(stanza.get()), "set");
	EXPECT_STREQ(xmpp_stanza_get_id(stanza.get()), "jabclnd-room-t-3");
	EXPECT_STREQ(xmpp_stanza_get_to(stanza.get()), "room@muc.example.org");
	EXPECT_NE(text.find("><query xmlns=\"http://jabber.org/protocol/muc#owner\"><destroy>"
	                    "<reason>created by mistake: xmpp_rooms.create is false</reason>"
	                    "</destroy></query></iq>"),
	          std::string::npos)
	    << text;
	destroy.reason.clear();
	text = built(destroy);
	EXPECT_NE(text.find("><query xmlns=\"http://jabber.org/protocol/muc#owner\"><destroy/>"
	                    "</query></iq>"),
	          std::string::npos)
	    << text;
}

TEST(RoomBuild, AnAcceptedInvitationIsNoStanza)
{
	rooms::Action accept = action(rooms::Action::accept_invitation, "");
	EXPECT_EQ(built(accept), "(null)");
	EXPECT_NE(check_action(accept), "");
}

TEST(RoomBuild, WhatWouldBreakTheStreamIsRefused)
{
	rooms::Action join = action(rooms::Action::join, "room@muc.example.org/bot");
	join.password = std::string("pass\x01word");
	EXPECT_NE(check_action(join), "");
	join.password = "\xff\xfe";
	EXPECT_NE(check_action(join), "") << "not UTF-8";
	join.password = "";
	join.to = std::string("room@muc.example.org/b\x07t");
	EXPECT_NE(check_action(join), "");
	join.to = "room@muc.example.org/" + std::string(1024, 'n');
	EXPECT_NE(check_action(join), "") << "a nick longer than a resource may be";
	rooms::Action destroy = action(rooms::Action::destroy, "room@muc.example.org", "id");
	destroy.reason = std::string("bad\x0b");
	EXPECT_NE(check_action(destroy), "");
}

TEST(RoomBuild, AJoinReadBackAsTheRoomSeesIt)
{
	/* What a room would parse: the muc <x/> with history, no muc#user, so not an occupant's. */
	rooms::Action join = action(rooms::Action::join, "room@muc.example.org/bot");
	join.history_since = stamp("2024-02-29T23:59:59Z");
	Stanza stanza = parse(built(join));
	EXPECT_FALSE(is_room_presence(stanza.get()));
	xmpp_stanza_t *x =
	    xmpp_stanza_get_child_by_name_and_ns(stanza.get(), "x", "http://jabber.org/protocol/muc");
	ASSERT_NE(x, nullptr);
	xmpp_stanza_t *history = xmpp_stanza_get_child_by_name(x, "history");
	ASSERT_NE(history, nullptr);
	rooms::Timestamp since = 0;
	ASSERT_TRUE(xmpp_time::parse_xep0082(xmpp_stanza_get_attribute(history, "since"), &since));
	EXPECT_EQ(since, join.history_since);
}
