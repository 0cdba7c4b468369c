/*
 * dialer_test.cpp: unit tests of src/core/dialer.cpp, the walk through a
 * login's targets and every address of each (RFC 6120 §3.2.1), and the
 * words jabclnd_status() shows on the way, with GoogleTest.
 */
#include "core/dialer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using server_plan::Target;

namespace
{

std::vector<Target>
two_targets()
{
	return {Target{"xmpp1.example.org", 5222, false}, Target{"xmpp2.example.org", 5223, true}};
}

} // namespace

TEST(Dialer, EveryAddressOfEachTargetInTurn)
{
	Dialer dialer(two_targets());
	ASSERT_TRUE(dialer.needs_addresses());
	EXPECT_EQ(dialer.target().host, "xmpp1.example.org");
	dialer.addresses_found({"::1", "127.0.0.1"});
	ASSERT_FALSE(dialer.needs_addresses());
	EXPECT_EQ(dialer.address(), "::1");
	EXPECT_EQ(dialer.where(), "xmpp1.example.org:5222 (::1)");

	dialer.attempt_failed("connection error: Connection refused");
	EXPECT_EQ(dialer.address(), "127.0.0.1");
	EXPECT_EQ(dialer.progress(), "xmpp1.example.org:5222 (::1): connection error: Connection "
	                             "refused; trying xmpp1.example.org:5222 (127.0.0.1)");

	dialer.attempt_failed("connection error: Connection refused");
	ASSERT_TRUE(dialer.needs_addresses());
	EXPECT_EQ(dialer.target().host, "xmpp2.example.org");
	EXPECT_EQ(dialer.progress(), "xmpp1.example.org:5222 (127.0.0.1): connection error: "
	                             "Connection refused; trying xmpp2.example.org:5223, direct TLS");
	dialer.addresses_found({"127.0.0.1"});
	EXPECT_FALSE(dialer.finished());
	EXPECT_EQ(dialer.failures(), 2u);
}

TEST(Dialer, AFailedLookupMovesToTheNextTarget)
{
	Dialer dialer(two_targets());
	dialer.lookup_failed(
	    "could not look up the address of xmpp1.example.org: Domain name not found");
	EXPECT_EQ(dialer.target().host, "xmpp2.example.org");
	EXPECT_TRUE(dialer.needs_addresses());
	dialer.addresses_found({});
	EXPECT_TRUE(dialer.finished());
	EXPECT_EQ(dialer.progress(), "could not look up the address of xmpp2.example.org: no address");
}

TEST(Dialer, OneFailureIsTheSummaryAsItIs)
{
	Dialer dialer({Target{"no-such-host.invalid", 5222, false}});
	dialer.lookup_failed("could not look up the address of no-such-host.invalid: Domain name not "
	                     "found");
	ASSERT_TRUE(dialer.finished());
	EXPECT_EQ(dialer.summary(1023), "could not look up the address of no-such-host.invalid: "
	                                "Domain name not found");
}

TEST(Dialer, AnAddressEqualToTheHostIsNotRepeated)
{
	Dialer dialer({Target{"127.0.0.1", 5222, false}});
	dialer.addresses_found({"127.0.0.1"});
	EXPECT_EQ(dialer.where(), "127.0.0.1:5222");
	dialer.attempt_failed("login did not complete within jabclnd.connect_timeout (2 s)");
	EXPECT_TRUE(dialer.finished());
	EXPECT_EQ(dialer.summary(1023),
	          "127.0.0.1:5222: login did not complete within jabclnd.connect_timeout (2 s)");
}

TEST(Dialer, TheSummaryListsEveryFailureWithinTheLimit)
{
	Dialer dialer(two_targets());
	dialer.addresses_found({"::1", "127.0.0.1"});
	dialer.attempt_failed("refused");
	dialer.attempt_failed("refused");
	dialer.lookup_failed("could not look up the address of xmpp2.example.org: timeout");
	ASSERT_TRUE(dialer.finished());
	EXPECT_EQ(dialer.summary(1023),
	          "no server could be reached (3 attempts): xmpp1.example.org:5222 (::1): refused; "
	          "xmpp1.example.org:5222 (127.0.0.1): refused; could not look up the address of "
	          "xmpp2.example.org: timeout");
	const std::string cut = dialer.summary(100);
	EXPECT_LE(cut.size(), 100u);
	EXPECT_NE(cut.find("xmpp1.example.org:5222 (::1): refused"), std::string::npos) << cut;
	EXPECT_NE(cut.find("; and 2 more"), std::string::npos) << cut;
}

TEST(Dialer, NothingHappensOnceFinished)
{
	Dialer dialer({});
	EXPECT_TRUE(dialer.finished());
	EXPECT_FALSE(dialer.needs_addresses());
	dialer.attempt_failed("late");
	dialer.lookup_failed("late");
	EXPECT_EQ(dialer.failures(), 0u);
	EXPECT_EQ(dialer.where(), "");
}
