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
