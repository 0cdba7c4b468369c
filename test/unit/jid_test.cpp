/*
 * jid_test.cpp: unit tests of src/core/jid.cpp (taking JIDs apart, and who
 * may speak for whom), with GoogleTest.
 */
#include "core/jid.h"

#include <gtest/gtest.h>

#include <string>

/* ------------------------------------------------------------ split */

TEST(Split, SplitsLocalDomainResourceAndLowerCasesTheDomain)
{
	const jid::Parts parts = jid::split("User@EXAMPLE.Org/Res");
	EXPECT_EQ(parts.local, "User");
	EXPECT_EQ(parts.domain, "example.org");
	EXPECT_EQ(parts.resource, "Res");
}

TEST(Split, DomainOnly)
{
	const jid::Parts parts = jid::split("example.org");
	EXPECT_EQ(parts.local, "");
	EXPECT_EQ(parts.domain, "example.org");
	EXPECT_EQ(parts.resource, "");
}

TEST(Split, TheFirstSlashStartsTheResource)
{
	const jid::Parts parts = jid::split("user@example.org/a/b@c");
	EXPECT_EQ(parts.local, "user");
	EXPECT_EQ(parts.domain, "example.org");
	EXPECT_EQ(parts.resource, "a/b@c");

	const jid::Parts domain_only = jid::split("example.org/r@s");
	EXPECT_EQ(domain_only.local, "");
	EXPECT_EQ(domain_only.domain, "example.org");
	EXPECT_EQ(domain_only.resource, "r@s");
}

/* ------------------------------------------------------------ lower_ascii */

TEST(LowerAscii, OnlyAToZChange)
{
	EXPECT_EQ(jid::lower_ascii("User@EXAMPLE.Org/Res"), "user@example.org/res");
	EXPECT_EQ(jid::lower_ascii(""), "");
	/* The bytes either side of A-Z and a-z: '@' '[' '`' '{'. */
	EXPECT_EQ(jid::lower_ascii("@AZ[`az{09"), "@az[`az{09");
}

TEST(LowerAscii, LeavesUtf8BytesUntouched)
{
	/* Ü (C3 9C) and É (C3 89) are not lower-cased: no Unicode case here. */
	EXPECT_EQ(jid::lower_ascii("\xC3\x9C"
	                           "ser@D\xC3\x89main.example"),
	          "\xC3\x9C"
	          "ser@d\xC3\x89main.example");
	const std::string high_bytes = "\x80\xBF\xC0\xFF";
	EXPECT_EQ(jid::lower_ascii(high_bytes), high_bytes);
	const std::string with_nul("A\0B", 3);
	EXPECT_EQ(jid::lower_ascii(with_nul), std::string("a\0b", 3));
}

/* ------------------------------------------------------------ bare, bare_key, resource */

TEST(Bare, EverythingBeforeTheFirstSlashAsWritten)
{
	EXPECT_EQ(jid::bare("User@EXAMPLE.org/Res"), "User@EXAMPLE.org");
	EXPECT_EQ(jid::bare("user@example.org"), "user@example.org");
	EXPECT_EQ(jid::bare("user@example.org/a/b"), "user@example.org");
	EXPECT_EQ(jid::bare("example.org/res"), "example.org");
	EXPECT_EQ(jid::bare("user@example.org/"), "user@example.org");
	EXPECT_EQ(jid::bare(""), "");
}

TEST(BareKey, TheBareJidLowerCased)
{
	EXPECT_EQ(jid::bare_key("User@EXAMPLE.org/Res"), "user@example.org");
	EXPECT_EQ(jid::bare_key("ALICE@example.org"), "alice@example.org");
	EXPECT_EQ(jid::bare_key("Example.ORG/Res"), "example.org");
	/* The resource is dropped before lower-casing: its case never matters here. */
	EXPECT_EQ(jid::bare_key("a@b/RES/X"), "a@b");
	EXPECT_EQ(jid::bare_key("\xC3\x9C@example.org"), "\xC3\x9C@example.org");
}

TEST(Resource, EverythingAfterTheFirstSlashOrEmpty)
{
	EXPECT_EQ(jid::resource("user@example.org/Res"), "Res") << "as written";
	EXPECT_EQ(jid::resource("user@example.org/a/b@c"), "a/b@c");
	EXPECT_EQ(jid::resource("user@example.org"), "");
	EXPECT_EQ(jid::resource("user@example.org/"), "");
	EXPECT_EQ(jid::resource("example.org/res"), "res");
	EXPECT_EQ(jid::resource(""), "");
}

/* ------------------------------------------------------------ is_own_server */

TEST(IsOwnServer, TheServerTheAccountOrNoFrom)
{
	const std::string own = "Bot@Example.org/jabclnd";
	/* RFC 6120 8.1.2.1: no from means the account's server, on the account's behalf. */
	EXPECT_TRUE(jid::is_own_server("", own));
	EXPECT_TRUE(jid::is_own_server("example.org", own));
	EXPECT_TRUE(jid::is_own_server("EXAMPLE.ORG", own));
	EXPECT_TRUE(jid::is_own_server("bot@example.org", own));
	EXPECT_TRUE(jid::is_own_server("BOT@EXAMPLE.ORG", own));
}

TEST(IsOwnServer, AnyoneElseIsNot)
{
	const std::string own = "bot@example.org/jabclnd";
	EXPECT_FALSE(jid::is_own_server("alice@example.org", own)) << "another user of the server";
	EXPECT_FALSE(jid::is_own_server("alice@example.org/res", own));
	EXPECT_FALSE(jid::is_own_server("other.org", own));
	EXPECT_FALSE(jid::is_own_server("bot@other.org", own));
	EXPECT_FALSE(jid::is_own_server("sub.example.org", own));
	EXPECT_FALSE(jid::is_own_server("example.org.evil", own));
	EXPECT_FALSE(jid::is_own_server("bot@example.org/other", own))
	    << "another session of the account does not speak for the server";
}

/* ------------------------------------------------------------ speaks_for */

TEST(SpeaksFor, TheRecipientsBareJidWithAnyResourceAnyCase)
{
	EXPECT_TRUE(jid::speaks_for("alice@other.org", "alice@other.org"));
	EXPECT_TRUE(jid::speaks_for("alice@other.org/phone", "alice@other.org"));
	EXPECT_TRUE(jid::speaks_for("Alice@OTHER.org/Phone", "alice@other.org"));
	EXPECT_TRUE(jid::speaks_for("alice@other.org", "ALICE@Other.Org"));
}

TEST(SpeaksFor, TheRecipientsDomain)
{
	/* A server's bounce, e.g. remote-server-not-found. */
	EXPECT_TRUE(jid::speaks_for("other.org", "alice@other.org"));
	EXPECT_TRUE(jid::speaks_for("OTHER.org", "alice@other.org"));
	EXPECT_TRUE(jid::speaks_for("other.org", "Alice@OTHER.ORG"));
}

TEST(SpeaksFor, ARecipientWithAResource)
{
	const std::string recipient = "alice@other.org/phone";
	EXPECT_TRUE(jid::speaks_for("alice@other.org/phone", recipient));
	EXPECT_TRUE(jid::speaks_for("alice@other.org/laptop", recipient)) << "the same bare JID";
	EXPECT_TRUE(jid::speaks_for("alice@other.org", recipient));
	EXPECT_TRUE(jid::speaks_for("other.org", recipient));
	EXPECT_FALSE(jid::speaks_for("mallory@other.org/phone", recipient));
}

TEST(SpeaksFor, ADomainOnlyRecipient)
{
	EXPECT_TRUE(jid::speaks_for("other.org", "other.org"));
	EXPECT_TRUE(jid::speaks_for("OTHER.ORG", "other.org"));
	EXPECT_TRUE(jid::speaks_for("other.org/service", "other.org")) << "the same bare JID";
	EXPECT_FALSE(jid::speaks_for("alice@other.org", "other.org"))
	    << "a user of the domain is not the domain";
	EXPECT_FALSE(jid::speaks_for("evil.org", "other.org"));
}

TEST(SpeaksFor, NoFromAndNoRecipientAreRefused)
{
	/* An error without a from would come from the bot's own server, not the recipient. */
	EXPECT_FALSE(jid::speaks_for("", "alice@other.org"));
	EXPECT_FALSE(jid::speaks_for("", "other.org"));
	EXPECT_FALSE(jid::speaks_for("alice@other.org", ""));
	EXPECT_FALSE(jid::speaks_for("", ""));
}

TEST(SpeaksFor, StrangersAreRefused)
{
	EXPECT_FALSE(jid::speaks_for("mallory@other.org", "alice@other.org"))
	    << "a stranger on the recipient's domain";
	EXPECT_FALSE(jid::speaks_for("mallory@other.org/res", "alice@other.org"));
	EXPECT_FALSE(jid::speaks_for("alice@evil.org", "alice@other.org"))
	    << "the same local part on another domain";
	EXPECT_FALSE(jid::speaks_for("evil.org", "alice@other.org"));
	EXPECT_FALSE(jid::speaks_for("sub.other.org", "alice@other.org"));
	EXPECT_FALSE(jid::speaks_for("other.org.evil", "alice@other.org"));
	EXPECT_FALSE(jid::speaks_for("example.org", "alice@other.org"))
	    << "the bot's own server, when the recipient is elsewhere";
}
