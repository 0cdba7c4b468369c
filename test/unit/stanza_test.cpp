/*
 * stanza_test.cpp: unit tests of src/core/stanza.cpp (JID checks, XML text, message
 * types, the parts of a tx row, stanza ids), with GoogleTest.
 *
 * The strings these functions return end up in xmpp_tx_queue.submission_info,
 * where an operator reads them: their wording is asserted, not only whether
 * they are empty.
 */
#include "core/jid.h"
#include "core/stanza.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

using stanza::check_jid;
using stanza::check_message_parts;
using stanza::check_message_type;
using stanza::check_xml_text;
using stanza::row_stanza_id;

namespace
{

/* A string of n copies of c. */
std::string
repeat(char c, size_t n)
{
	return std::string(n, c);
}

} // namespace

/* ------------------------------------------------------------ check_jid */

TEST(CheckJid, AcceptsValidForms)
{
	for (const char *jid : {
	         "user@example.org", "user@example.org/res", "user@example.org/res with spaces",
	         "user@example.org/res/with/slashes", "user@example.org/res@at", "example.org",
	         "example.org/resource", "User.Name+tag@Sub.EXAMPLE.org", "a@b", "user@127.0.0.1",
	         "user@localhost",
	         "\xC3\xBC"
	         "ser@d\xC3\xB6main.example",     /* üser@dömain.example */
	         "user@example.org/\xE2\x98\x83", /* a snowman resource */
	     })
		EXPECT_EQ(check_jid(jid, "message_to"), "") << "for " << jid;
}

TEST(CheckJid, AcceptsPartsOfExactly1023Bytes)
{
	EXPECT_EQ(check_jid(repeat('l', 1023) + "@example.org", "message_to"), "");
	EXPECT_EQ(check_jid("user@" + repeat('d', 1023), "message_to"), "");
	EXPECT_EQ(check_jid("user@example.org/" + repeat('r', 1023), "message_to"), "");
}

TEST(CheckJid, EmptyJid)
{
	EXPECT_EQ(check_jid("", "message_to"),
	          "message_to is empty: write the recipient as user@domain");
}

TEST(CheckJid, EmptyParts)
{
	EXPECT_EQ(check_jid("@example.org", "message_to"),
	          "message_to \"@example.org\" has an empty local part");
	EXPECT_EQ(check_jid("user@", "message_to"), "message_to \"user@\" has an empty domain");
	EXPECT_EQ(check_jid("user@/res", "message_to"), "message_to \"user@/res\" has an empty domain");
	EXPECT_EQ(check_jid("/res", "message_to"), "message_to \"/res\" has an empty domain");
	EXPECT_EQ(check_jid("user@example.org/", "message_to"),
	          "message_to \"user@example.org/\" has an empty resource after '/'");
}

TEST(CheckJid, MoreThanOneAt)
{
	EXPECT_EQ(check_jid("a@b@c", "message_to"), "message_to \"a@b@c\" has more than one '@'");
	EXPECT_EQ(check_jid("a@b@c/res", "message_to"),
	          "message_to \"a@b@c/res\" has more than one '@'");
}

TEST(CheckJid, NoDomainSeparatorMeansADomainOnlyJid)
{
	/* "nodomain" is a valid (server) JID; what is wrong with it is only the
	 * server's to find out. */
	EXPECT_EQ(check_jid("nodomain", "message_to"), "");
}

TEST(CheckJid, SpacesAndControlsInLocalPartOrDomain)
{
	EXPECT_EQ(check_jid("us er@example.org", "message_to"),
	          "message_to \"us er@example.org\" has a character not allowed in a local part: "
	          "'space or control'");
	EXPECT_EQ(check_jid("user@exa mple.org", "message_to"),
	          "message_to \"user@exa mple.org\" has a character not allowed in a domain: "
	          "'space or control'");
	EXPECT_EQ(check_jid("us\ter@example.org", "message_to"),
	          "message_to \"us\ter@example.org\" has a character not allowed in a local part: "
	          "'space or control'");
	EXPECT_EQ(check_jid("user@example.org\n", "message_to"),
	          "message_to \"user@example.org\n\" has a character not allowed in a domain: "
	          "'space or control'");
}

TEST(CheckJid, CharactersRfc7622ForbidsInLocalPart)
{
	for (char c : std::string("\"&'/:<>"))
	{
		if (c == '/')
			continue; /* a '/' starts the resource: tested below */
		const std::string jid = std::string("us") + c + "er@example.org";
		EXPECT_EQ(check_jid(jid, "message_to"),
		          "message_to \"" + jid + "\" has a character not allowed in a local part: '" + c +
		              "'")
		    << "for " << jid;
	}
	/* With the '/' the "local part" is in the resource: a domain-only JID
	 * with a resource that contains '@'. Valid. */
	EXPECT_EQ(check_jid("us/er@example.org", "message_to"), "");
}

TEST(CheckJid, CharactersForbiddenInDomain)
{
	for (char c : std::string("\"&'<>"))
	{
		const std::string jid = std::string("user@exa") + c + "mple.org";
		EXPECT_EQ(check_jid(jid, "message_to"),
		          "message_to \"" + jid + "\" has a character not allowed in a domain: '" + c + "'")
		    << "for " << jid;
	}
	/* A port is not part of a JID. */
	EXPECT_EQ(check_jid("user@example.org:5222", "message_to"),
	          "message_to \"user@example.org:5222\" has a character not allowed in a domain: ':'");
}

TEST(CheckJid, MalformedDomain)
{
	for (const char *jid :
	     {"user@.example.org", "user@example.org.", "user@example..org", ".example.org", "user@."})
		EXPECT_EQ(check_jid(jid, "message_to"),
		          std::string("message_to \"") + jid + "\" has a malformed domain")
		    << "for " << jid;
}

TEST(CheckJid, PartsLongerThan1023Bytes)
{
	const std::string local = repeat('l', 1024) + "@example.org";
	EXPECT_EQ(check_jid(local, "message_to"),
	          "message_to \"" + local + "\" has a local part longer than 1023 bytes");
	const std::string domain = "user@" + repeat('d', 1024);
	EXPECT_EQ(check_jid(domain, "message_to"),
	          "message_to \"" + domain + "\" has a domain longer than 1023 bytes");
	const std::string resource = "user@example.org/" + repeat('r', 1024);
	EXPECT_EQ(check_jid(resource, "message_to"),
	          "message_to \"" + resource + "\" has a resource longer than 1023 bytes");
}

TEST(CheckJid, XmlProblemsComeFirstAndNameTheByte)
{
	EXPECT_EQ(check_jid("user@exa\x01mple.org", "message_to"),
	          "message_to contains U+0001 at byte 8, a character XML does not allow");
	EXPECT_EQ(check_jid(std::string("user@exa\0mple.org", 17), "message_to"),
	          "message_to contains U+0000 at byte 8, a character XML does not allow");
	EXPECT_EQ(check_jid("user@\xFF"
	                    "example.org",
	                    "message_to"),
	          "message_to is not valid UTF-8 at byte 5");
	EXPECT_EQ(check_jid("user@example.org/\xEF\xBF\xBE", "message_to"),
	          "message_to contains U+FFFE at byte 17, a character XML does not allow");
}

TEST(CheckJid, NamesTheColumnItWasGiven)
{
	EXPECT_EQ(check_jid("a@b@c", "the to attribute of message_stanza"),
	          "the to attribute of message_stanza \"a@b@c\" has more than one '@'");
}

/*
 * RFC 7622 section 3.2: a domainpart may be an IP literal, e.g. [::1] for
 * IPv6 (RFC 3986's IP-literal). Its ':' are not a port.
 */
TEST(CheckJidRfc7622, AcceptsIpv6LiteralDomain)
{
	EXPECT_EQ(check_jid("user@[::1]", "message_to"), "");
	EXPECT_EQ(check_jid("user@[2001:db8::1]/res", "message_to"), "");
}

/*
 * RFC 7622 section 3.4: the resourcepart is a PRECIS OpaqueString
 * (FreeformClass, RFC 8264 section 4.3), which disallows control characters
 * (general category Cc: U+0000-U+001F, U+007F-U+009F). Tab, LF and CR are
 * legal XML, so check_xml_text lets them through, but they are not legal in a
 * resource: the server would answer jid-malformed.
 */
TEST(CheckJidRfc7622, RefusesControlCharactersInResource)
{
	EXPECT_NE(check_jid("user@example.org/a\tb", "message_to"), "");
	EXPECT_NE(check_jid("user@example.org/a\nb", "message_to"), "");
	EXPECT_NE(check_jid("user@example.org/a\rb", "message_to"), "");
	EXPECT_NE(check_jid("user@example.org/a\x7f"
	                    "b",
	                    "message_to"),
	          "");
}

/*
 * RFC 7622 section 3.3: the localpart is a PRECIS UsernameCaseMapped
 * (IdentifierClass), which disallows controls; DEL (U+007F) and the C1
 * controls (U+0080-U+009F) are legal XML but not legal in a localpart, nor
 * in a domain name.
 */
TEST(CheckJidRfc7622, RefusesDelAndC1ControlsInLocalPartAndDomain)
{
	EXPECT_NE(check_jid("us\x7f"
	                    "er@example.org",
	                    "message_to"),
	          "");
	EXPECT_NE(check_jid("us\xC2\x85"
	                    "er@example.org",
	                    "message_to"),
	          ""); /* U+0085 NEL */
	EXPECT_NE(check_jid("user@exa\x7f"
	                    "mple.org",
	                    "message_to"),
	          "");
}

TEST(CheckJidRfc7622, AcceptsOtherIpv6LiteralForms)
{
	for (const char *jid : {
	         "[::1]", /* a server JID */
	         "[::1]/res",
	         "user@[2001:DB8::1]",          /* upper-case hex */
	         "user@[2001:db8:0:0:0:0:0:1]", /* uncompressed */
	         "user@[::ffff:192.0.2.1]",     /* IPv4-mapped, with dots */
	         "user@[fe80::1]/res with spaces",
	     })
		EXPECT_EQ(check_jid(jid, "message_to"), "") << "for " << jid;
	EXPECT_EQ(jid::split("user@[2001:DB8::1]/r").domain, "[2001:db8::1]");
}

TEST(CheckJidRfc7622, RefusesMalformedIpLiterals)
{
	for (const char *jid : {
	         "user@[::1",       /* unclosed */
	         "user@[::1]:5222", /* a port after it */
	         "user@[]",         /* empty */
	         "user@[not-an-address]",
	         "user@[1.2.3.4]", /* RFC 3986: an IPv4 address is written without brackets */
	         "user@[2001:db8::1::2]",
	         "user@[::1%eth0]", /* a zone id is not part of RFC 3986's IP-literal */
	         "user@[v1.fe]",    /* IPvFuture: no server listens on one */
	     })
		EXPECT_EQ(check_jid(jid, "message_to"),
		          std::string("message_to \"") + jid +
		              "\" has a domain that is not a valid IPv6 address in brackets")
		    << "for " << jid;
	/* Brackets anywhere else in a domain are not a literal. */
	EXPECT_EQ(check_jid("user@exa[mple.org", "message_to"),
	          "message_to \"user@exa[mple.org\" has a character not allowed in a domain: '['");
	EXPECT_EQ(check_jid("user@example.org]", "message_to"),
	          "message_to \"user@example.org]\" has a character not allowed in a domain: ']'");
	/* Nor may the local part be one. */
	EXPECT_EQ(check_jid("[::1]@example.org", "message_to"),
	          "message_to \"[::1]@example.org\" has a character not allowed in a local part: ':'");
}

TEST(CheckJidRfc7622, ControlsInResourceAreNamed)
{
	EXPECT_EQ(check_jid("user@example.org/a\tb", "message_to"),
	          "message_to \"user@example.org/a\tb\" has a character not allowed in a resource: "
	          "'control'");
	EXPECT_EQ(check_jid("user@example.org/a\xC2\x9F"
	                    "b",
	                    "message_to"),
	          "message_to \"user@example.org/a\xC2\x9F"
	          "b\" has a character not allowed in a resource: 'control'");
}

TEST(CheckJidRfc7622, EveryControlIsRefusedInEveryPart)
{
	/* C0 controls but tab, LF and CR are not XML: check_xml_text reports
	 * them first. The rest are refused by part. */
	for (uint32_t cp : {0x09u, 0x0Au, 0x0Du, 0x7Fu, 0x80u, 0x85u, 0x9Fu})
	{
		std::string c;
		if (cp < 0x80)
			c = std::string(1, static_cast<char>(cp));
		else
			c = std::string{static_cast<char>(0xC2), static_cast<char>(cp)};
		EXPECT_NE(check_jid("us" + c + "er@example.org", "message_to"), "") << "U+" << cp;
		EXPECT_NE(check_jid("user@exa" + c + "mple.org", "message_to"), "") << "U+" << cp;
		EXPECT_NE(check_jid("user@example.org/re" + c + "s", "message_to"), "") << "U+" << cp;
		EXPECT_NE(check_jid("example.org/re" + c + "s", "message_to"), "") << "U+" << cp;
	}
}

TEST(CheckJidRfc7622, DelAndC1InLocalPartOrDomainAreSpaceOrControl)
{
	EXPECT_EQ(check_jid("us\x7f"
	                    "er@example.org",
	                    "message_to"),
	          "message_to \"us\x7f"
	          "er@example.org\" has a character not allowed in a local part: 'space or control'");
	EXPECT_EQ(check_jid("user@exa\xC2\x85"
	                    "mple.org",
	                    "message_to"),
	          "message_to \"user@exa\xC2\x85"
	          "mple.org\" has a character not allowed in a domain: 'space or control'");
}

TEST(CheckJidRfc7622, NonControlsNextToTheC1RangeAreAccepted)
{
	/* U+00A0 (no-break space) and U+00A1 follow the C1 controls; U+007E
	 * precedes DEL. Spaces are legal in a resource. */
	EXPECT_EQ(check_jid("user@example.org/a\xC2\xA0"
	                    "b",
	                    "message_to"),
	          "");
	EXPECT_EQ(check_jid("us\xC2\xA1"
	                    "er@example.org/~ x",
	                    "message_to"),
	          "");
	EXPECT_EQ(check_jid("us~er@example.org", "message_to"), "");
}

TEST(CheckJid, TheReasonStartsWithTheColumnAndTheJid)
{
	/* test/e2e/test_worker_messages.py looks for this prefix. */
	const std::string reason = check_jid("bad jid@localhost", "message_to");
	EXPECT_EQ(reason.rfind("message_to \"bad jid@localhost\"", 0), 0u) << reason;
}

/* ------------------------------------------------------- check_xml_text */

TEST(CheckXmlText, AcceptsPlainTextAndTheThreeAllowedControls)
{
	EXPECT_EQ(check_xml_text("", "message_body"), "");
	EXPECT_EQ(check_xml_text("Hello, there!", "message_body"), "");
	EXPECT_EQ(check_xml_text("tab\there", "message_body"), "");
	EXPECT_EQ(check_xml_text("line\nfeed", "message_body"), "");
	EXPECT_EQ(check_xml_text("carriage\rreturn\r\n", "message_body"), "");
	EXPECT_EQ(check_xml_text("<not> & \"escaped\" 'yet'", "message_body"), "");
	EXPECT_EQ(check_xml_text("\x7f", "message_body"), ""); /* DEL is a legal XML Char */
}

TEST(CheckXmlText, AcceptsMultiByteCharactersUpToU10FFFF)
{
	EXPECT_EQ(check_xml_text("\xC2\x80", "message_body"), "");          /* U+0080 */
	EXPECT_EQ(check_xml_text("\xC3\xA9t\xC3\xA9", "message_body"), ""); /* été */
	EXPECT_EQ(check_xml_text("\xE2\x82\xAC", "message_body"), "");      /* U+20AC euro */
	EXPECT_EQ(check_xml_text("\xED\x9F\xBF", "message_body"), "");      /* U+D7FF */
	EXPECT_EQ(check_xml_text("\xEE\x80\x80", "message_body"), "");      /* U+E000 */
	EXPECT_EQ(check_xml_text("\xEF\xBF\xBD", "message_body"), "");      /* U+FFFD */
	EXPECT_EQ(check_xml_text("\xF0\x90\x80\x80", "message_body"), "");  /* U+10000 */
	EXPECT_EQ(check_xml_text("\xF0\x9F\x98\x80", "message_body"), "");  /* U+1F600 */
	EXPECT_EQ(check_xml_text("\xF4\x8F\xBF\xBF", "message_body"), "");  /* U+10FFFF */
}

TEST(CheckXmlText, RefusesU0001)
{
	EXPECT_EQ(check_xml_text("\x01", "message_body"),
	          "message_body contains U+0001 at byte 0, a character XML does not allow");
	EXPECT_EQ(check_xml_text("bell\x07", "message_body"),
	          "message_body contains U+0007 at byte 4, a character XML does not allow");
}

TEST(CheckXmlText, RefusesEmbeddedNul)
{
	const std::string text("before\0after", 12);
	ASSERT_EQ(text.size(), 12u);
	EXPECT_EQ(check_xml_text(text, "message_body"),
	          "message_body contains U+0000 at byte 6, a character XML does not allow");
	EXPECT_EQ(check_xml_text(std::string(1, '\0'), "message_body"),
	          "message_body contains U+0000 at byte 0, a character XML does not allow");
}

TEST(CheckXmlText, RefusesEveryC0ControlButTabLfCr)
{
	for (int c = 0; c < 0x20; c++)
	{
		const std::string text(1, static_cast<char>(c));
		if (c == '\t' || c == '\n' || c == '\r')
			EXPECT_EQ(check_xml_text(text, "t"), "") << "for " << c;
		else
			EXPECT_NE(check_xml_text(text, "t"), "") << "for " << c;
	}
	EXPECT_EQ(check_xml_text("\x0b", "t"),
	          "t contains U+000B at byte 0, a character XML does not allow");
	EXPECT_EQ(check_xml_text("\x1f", "t"),
	          "t contains U+001F at byte 0, a character XML does not allow");
}

TEST(CheckXmlText, RefusesUFFFEAndUFFFF)
{
	EXPECT_EQ(check_xml_text("ab\xEF\xBF\xBE", "message_body"),
	          "message_body contains U+FFFE at byte 2, a character XML does not allow");
	EXPECT_EQ(check_xml_text("\xEF\xBF\xBF", "message_body"),
	          "message_body contains U+FFFF at byte 0, a character XML does not allow");
}

TEST(CheckXmlText, RefusesSurrogatesEncodedInUtf8)
{
	EXPECT_EQ(check_xml_text("\xED\xA0\x80", "message_body"),
	          "message_body contains U+D800 at byte 0, a character XML does not allow");
	EXPECT_EQ(check_xml_text("x\xED\xBF\xBF", "message_body"),
	          "message_body contains U+DFFF at byte 1, a character XML does not allow");
	/* A surrogate pair in CESU-8 style: the first half is reported. */
	EXPECT_EQ(check_xml_text("\xED\xA0\xBD\xED\xB8\x80", "message_body"),
	          "message_body contains U+D83D at byte 0, a character XML does not allow");
}

TEST(CheckXmlText, RefusesInvalidUtf8)
{
	EXPECT_EQ(check_xml_text("\xFF", "message_body"), "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_xml_text("\xFE", "message_body"), "message_body is not valid UTF-8 at byte 0");
	/* a lone continuation byte */
	EXPECT_EQ(check_xml_text("ok\x80", "message_body"),
	          "message_body is not valid UTF-8 at byte 2");
	/* a lead byte without its continuation, at the end and in the middle */
	EXPECT_EQ(check_xml_text("abc\xC3", "message_body"),
	          "message_body is not valid UTF-8 at byte 3");
	EXPECT_EQ(check_xml_text("\xC3(", "message_body"), "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_xml_text("\xE2\x82", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_xml_text("\xF0\x9F\x98", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_xml_text("\xE2\x28\xA1", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	/* Latin-1 text mistaken for UTF-8 */
	EXPECT_EQ(check_xml_text("caf\xE9", "message_body"),
	          "message_body is not valid UTF-8 at byte 3");
	/* beyond U+10FFFF, and the old 5- and 6-byte forms */
	EXPECT_EQ(check_xml_text("\xF4\x90\x80\x80", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_xml_text("\xF7\xBF\xBF\xBF", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_xml_text("\xF8\x88\x80\x80\x80", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_xml_text("\xFC\x84\x80\x80\x80\x80", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
}

TEST(CheckXmlText, RefusesOverlongSequences)
{
	/* overlong NUL (Java's "modified UTF-8") */
	EXPECT_EQ(check_xml_text("\xC0\x80", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	/* overlong '/' in two, three and four bytes */
	EXPECT_EQ(check_xml_text("\xC0\xAF", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_xml_text("\xE0\x80\xAF", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_xml_text("\xF0\x80\x80\xAF", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	/* the largest overlong of each length */
	EXPECT_EQ(check_xml_text("\xC1\xBF", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_xml_text("\xE0\x9F\xBF", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_xml_text("\xF0\x8F\xBF\xBF", "message_body"),
	          "message_body is not valid UTF-8 at byte 0");
	/* the smallest non-overlong of each length is fine */
	EXPECT_EQ(check_xml_text("\xC2\x80", "message_body"), "");
	EXPECT_EQ(check_xml_text("\xE0\xA0\x80", "message_body"), "");
	EXPECT_EQ(check_xml_text("\xF0\x90\x80\x80", "message_body"), "");
}

TEST(CheckXmlText, ReportsTheByteOffsetAfterMultiByteCharacters)
{
	/* "é" is two bytes, "€" three: the offset counts bytes, not characters. */
	EXPECT_EQ(check_xml_text("\xC3\xA9\x01", "message_body"),
	          "message_body contains U+0001 at byte 2, a character XML does not allow");
	EXPECT_EQ(check_xml_text("\xE2\x82\xAC\xC3\xA9\xFF", "message_body"),
	          "message_body is not valid UTF-8 at byte 5");
}

TEST(CheckXmlText, TheFirstProblemIsReported)
{
	EXPECT_EQ(check_xml_text("a\x01\xFF", "message_body"),
	          "message_body contains U+0001 at byte 1, a character XML does not allow");
	EXPECT_EQ(check_xml_text("a\xFF\x01", "message_body"),
	          "message_body is not valid UTF-8 at byte 1");
}

/* --------------------------------------------------- check_message_type */

TEST(CheckMessageType, AcceptsTheFourTypesAClientSends)
{
	for (const char *type : {"chat", "normal", "headline", "groupchat"})
		EXPECT_EQ(check_message_type(type), "") << "for " << type;
}

TEST(CheckMessageType, RefusesAnythingElse)
{
	EXPECT_EQ(check_message_type("nonsense"),
	          "message_type \"nonsense\" is not a message type: use chat, normal, headline or "
	          "groupchat");
	for (const char *type : {"", "Chat", "CHAT", " chat", "chat ", "error"})
		EXPECT_EQ(check_message_type(type),
		          std::string("message_type \"") + type +
		              "\" is not a message type: use chat, normal, headline or groupchat")
		    << "for " << type;
}

/* -------------------------------------------------- check_message_parts */

TEST(CheckMessageParts, AcceptsAValidRow)
{
	const std::string body = "Hello, there!";
	const std::string subject = "Greeting";
	EXPECT_EQ(check_message_parts("someuser@someserver", "chat", nullptr, &body), "");
	EXPECT_EQ(check_message_parts("someuser@someserver", "headline", &subject, nullptr), "");
	EXPECT_EQ(check_message_parts("someuser@someserver/res", "normal", &subject, &body), "");
}

TEST(CheckMessageParts, AnEmptyBodyIsStillABody)
{
	const std::string empty;
	EXPECT_EQ(check_message_parts("user@example.org", "chat", nullptr, &empty), "");
	EXPECT_EQ(check_message_parts("user@example.org", "chat", &empty, nullptr), "");
}

TEST(CheckMessageParts, NothingToSend)
{
	EXPECT_EQ(check_message_parts("user@example.org", "chat", nullptr, nullptr),
	          "the row has neither message_body nor message_subject: nothing to send");
}

TEST(CheckMessageParts, NamesEachColumn)
{
	const std::string good = "fine";
	const std::string control = "abc\x01";
	const std::string broken = "\xC3";
	EXPECT_EQ(check_message_parts("", "chat", nullptr, &good),
	          "message_to is empty: write the recipient as user@domain");
	EXPECT_EQ(check_message_parts("a@b@c", "chat", nullptr, &good),
	          "message_to \"a@b@c\" has more than one '@'");
	EXPECT_EQ(check_message_parts("user@example.org", "bogus", nullptr, &good),
	          "message_type \"bogus\" is not a message type: use chat, normal, headline or "
	          "groupchat");
	EXPECT_EQ(check_message_parts("user@example.org", "chat", &control, &good),
	          "message_subject contains U+0001 at byte 3, a character XML does not allow");
	EXPECT_EQ(check_message_parts("user@example.org", "chat", &good, &broken),
	          "message_body is not valid UTF-8 at byte 0");
	EXPECT_EQ(check_message_parts("user@example.org", "chat", nullptr, &control),
	          "message_body contains U+0001 at byte 3, a character XML does not allow");
}

TEST(CheckMessageParts, ChecksInColumnOrder)
{
	const std::string control = "\x01";
	/* to before type before subject before body before "nothing to send" */
	EXPECT_EQ(check_message_parts("a@b@c", "bogus", &control, &control),
	          "message_to \"a@b@c\" has more than one '@'");
	EXPECT_EQ(check_message_parts("user@example.org", "bogus", &control, &control),
	          "message_type \"bogus\" is not a message type: use chat, normal, headline or "
	          "groupchat");
	EXPECT_EQ(check_message_parts("user@example.org", "chat", &control, &control),
	          "message_subject contains U+0001 at byte 0, a character XML does not allow");
	EXPECT_EQ(check_message_parts("", "bogus", nullptr, nullptr),
	          "message_to is empty: write the recipient as user@domain");
}

/* ------------------------------------------------------- row_stanza_id */

TEST(RowStanzaId, Format)
{
	EXPECT_EQ(row_stanza_id(42, 1700000000123456), "jabclnd-tx-42-1700000000123456");
	EXPECT_EQ(row_stanza_id(1, 0), "jabclnd-tx-1-0");
}

TEST(RowStanzaId, StableAcrossResends)
{
	const std::string first = row_stanza_id(12345, 1700000000123456);
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(row_stanza_id(12345, 1700000000123456), first);
}

TEST(RowStanzaId, DiffersBetweenRowsAndBetweenInsertTimes)
{
	EXPECT_NE(row_stanza_id(1, 1700000000000000), row_stanza_id(2, 1700000000000000));
	/* the same id after a sequence reset, inserted at another time */
	EXPECT_NE(row_stanza_id(1, 1700000000000000), row_stanza_id(1, 1700000000000001));
	/* the separator keeps (1, 23) and (12, 3) apart */
	EXPECT_NE(row_stanza_id(1, 23), row_stanza_id(12, 3));
}

TEST(RowStanzaId, ExtremesAreUsableAsXmlAttributeValues)
{
	const int64_t max = std::numeric_limits<int64_t>::max();
	EXPECT_EQ(row_stanza_id(max, max), "jabclnd-tx-9223372036854775807-9223372036854775807");
	/* insert times before 1970 are negative microseconds */
	EXPECT_EQ(row_stanza_id(7, -1000000), "jabclnd-tx-7--1000000");
	for (const std::string &id : {row_stanza_id(max, max), row_stanza_id(7, -1000000)})
	{
		EXPECT_EQ(check_xml_text(id, "id"), "");
		EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos)
		    << id;
	}
}

/* ------------------------------------------------- check_single_element */

TEST(CheckSingleElement, AcceptsOneElementWithWhiteSpaceAround)
{
	using stanza::check_single_element;
	for (const char *xml : {
	         "<message to='a@b'><body>x</body></message>",
	         "\n  <message to='a@b'><body>x</body></message>\r\n\t",
	         "<message to='a@b'/>",
	         /* '>' and '/' in attribute values do not end the tag */
	         "<message to='a@b' x='a>b' y=\"/>\"><body>1 &lt; 2</body></message>",
	         "<message to='a@b'><body><![CDATA[</message><more/>]]></body></message>",
	         "<message to='a@b'><x xmlns='urn:a'><y/><y></y></x></message>",
	     })
		EXPECT_EQ(check_single_element(xml, "message_stanza"), "") << "for " << xml;
}

TEST(CheckSingleElement, RefusesMoreThanOneElement)
{
	EXPECT_EQ(
	    stanza::check_single_element("<message to='a@b'/><message to='c@d'/>", "message_stanza"),
	    "message_stanza holds more than one element: write one <message> stanza per row "
	    "(libstrophe would send the first and drop the rest)");
	EXPECT_NE(
	    stanza::check_single_element(
	        "<message to='a@b'><body>1</body></message>\n<message to='c@d'/>", "message_stanza"),
	    "");
}

TEST(CheckSingleElement, RefusesTextBeforeOrAfterTheElement)
{
	EXPECT_EQ(stanza::check_single_element("<message to='a@b'/>junk", "message_stanza"),
	          "message_stanza has text after its element: write one <message> element alone");
	EXPECT_EQ(stanza::check_single_element("junk<message to='a@b'/>", "message_stanza"),
	          "message_stanza does not start with an element: write one <message> element");
	EXPECT_EQ(stanza::check_single_element("  \n", "message_stanza"),
	          "message_stanza is empty: write one <message> element");
}

TEST(CheckSingleElement, RefusesWhatXmppForbidsWithItsOwnReason)
{
	using stanza::check_single_element;
	const std::string message = "<message to='a@b'><body>x</body></message>";
	EXPECT_NE(check_single_element("<?xml version='1.0'?>" + message, "m").find("XML declaration"),
	          std::string::npos);
	EXPECT_NE(check_single_element("<!DOCTYPE message [<!ENTITY e 'x'>]>" + message, "m")
	              .find("document type declaration"),
	          std::string::npos);
	EXPECT_NE(
	    check_single_element("<message to='a@b'><!-- hi --></message>", "m").find("XML comment"),
	    std::string::npos);
	EXPECT_NE(check_single_element(message + "<!-- after -->", "m").find("XML comment"),
	          std::string::npos);
	EXPECT_NE(check_single_element("<message to='a@b'><?pi x?></message>", "m")
	              .find("processing instruction"),
	          std::string::npos);
}

TEST(CheckSingleElement, LeavesBrokenXmlToTheParser)
{
	/* Unterminated tags, sections and stray end tags: the parser's "not well-formed" follows. */
	for (const char *xml : {"<message to='a@b'", "<message to='a@b><body/></message>",
	                        "<message><![CDATA[x</message>"})
		EXPECT_EQ(stanza::check_single_element(xml, "message_stanza"), "") << "for " << xml;
}

TEST(CheckSingleElement, NamesACdataSectionAfterTheElementAndAByteOrderMark)
{
	EXPECT_EQ(stanza::check_single_element("<message to='a@b'/><![CDATA[x]]>", "message_stanza"),
	          "message_stanza has text after its element: write one <message> element alone");
	EXPECT_EQ(stanza::check_single_element("\xEF\xBB\xBF<message to='a@b'/>", "message_stanza"),
	          "message_stanza starts with a byte order mark (U+FEFF): write the <message> element "
	          "alone");
}

TEST(CheckSingleElement, RefusesAnEndTagAfterTheElement)
{
	/* libstrophe would send <message/> and drop the rest without a word. */
	EXPECT_EQ(stanza::check_single_element("<message to='a@b'/></message>", "message_stanza"),
	          "message_stanza has an end tag after its element that closes nothing");
}

/* ------------------------------------------------ check_client_namespace */

TEST(CheckClientNamespace, AcceptsNoneAndJabberClientOnly)
{
	using stanza::check_client_namespace;
	EXPECT_EQ(check_client_namespace(nullptr, "message_stanza"), "");
	EXPECT_EQ(check_client_namespace("jabber:client", "message_stanza"), "");
	EXPECT_EQ(check_client_namespace("urn:wrong:ns", "message_stanza"),
	          "message_stanza is in namespace \"urn:wrong:ns\"; a client sends stanzas in "
	          "jabber:client (write no xmlns, or xmlns='jabber:client'): the server would close "
	          "the stream");
	for (const char *ns :
	     {"jabber:server", "http://etherx.jabber.org/streams", "", "JABBER:CLIENT"})
		EXPECT_NE(check_client_namespace(ns, "message_stanza"), "") << "for " << ns;
}
