/*
 * roster_requests_test.cpp: unit tests of src/core/roster_requests.cpp,
 * which roster iq is which (the whole roster, a push, the answer to a set,
 * or not ours), with GoogleTest.
 *
 * The session tells Requests what it sent (the get once per login, sets
 * as the presence mirror asks) and asks what each arriving iq is. The
 * case that matters most: the empty result of a set must never be taken
 * for the whole roster, or the mirror sees an empty roster and adds every
 * user again, in a loop.
 *
 * Vocabulary: the bot is bot@example.org/jabclnd; its get goes out as
 * "get1", its sets as "set1", "set2"; pushes carry the server's own ids.
 */
#include "core/roster_requests.h"

#include <gtest/gtest.h>

#include <string>

using roster::Iq;
using roster::Kind;
using roster::Requests;

namespace
{

const char *const OWN_JID = "bot@example.org/jabclnd";

Iq
iq(const std::string &type, const std::string &id, const std::string &from, bool has_roster_query)
{
	Iq out;
	out.type = type;
	out.id = id;
	out.from = from;
	out.has_roster_query = has_roster_query;
	return out;
}

/* The server's result to our get: the roster is in it. */
Iq
roster_result(const std::string &id, const std::string &from = "")
{
	return iq("result", id, from, true);
}

/* The server's result to a set: an empty acknowledgement. */
Iq
empty_result(const std::string &id, const std::string &from = "")
{
	return iq("result", id, from, false);
}

/* A roster push: a set carrying the changed item. */
Iq
push(const std::string &id, const std::string &from = "")
{
	return iq("set", id, from, true);
}

std::string
name(Kind kind)
{
	switch (kind)
	{
	case Kind::not_roster:
		return "not_roster";
	case Kind::whole_roster:
		return "whole_roster";
	case Kind::push:
		return "push";
	case Kind::answered:
		return "answered";
	}
	return "?";
}

/* What `requests` makes of `arriving`, by name, so that failures read well. */
std::string
kind_of(Requests &requests, const Iq &arriving)
{
	return name(requests.classify(arriving));
}

/* Logged in as the bot, with the roster get sent. */
void
online(Requests &requests)
{
	requests.connected(OWN_JID);
	requests.get_sent("get1");
}

} // namespace

/* ------------------------------------------------------------ the get */

TEST(TheGet, ItsResultIsTheWholeRosterFromNoFromOrTheOwnBareJid)
{
	for (const char *from : {"", "bot@example.org", "Bot@EXAMPLE.org", "BOT@EXAMPLE.ORG"})
	{
		Requests requests;
		online(requests);
		EXPECT_TRUE(requests.get_outstanding());
		EXPECT_EQ(kind_of(requests, roster_result("get1", from)), "whole_roster")
		    << "from \"" << from << "\"";
		EXPECT_FALSE(requests.get_outstanding()) << "from \"" << from << "\"";
	}
}

TEST(TheGet, ItsResultIsTakenOnce)
{
	Requests requests;
	online(requests);
	EXPECT_EQ(kind_of(requests, roster_result("get1")), "whole_roster");
	/* A replay (or a forgery with the same id) must not reset the mirror's view again. */
	EXPECT_EQ(kind_of(requests, roster_result("get1")), "not_roster");
	EXPECT_FALSE(requests.get_outstanding());
}

TEST(TheGet, AnErrorToItIsAnsweredNotARoster)
{
	Requests requests;
	online(requests);
	EXPECT_EQ(kind_of(requests, iq("error", "get1", "", false)), "answered");
	EXPECT_FALSE(requests.get_outstanding());
	EXPECT_EQ(kind_of(requests, roster_result("get1")), "not_roster") << "already answered";
}

TEST(TheGet, AResultWithoutARosterQueryIsAnsweredNotAnEmptyRoster)
{
	Requests requests;
	online(requests);
	EXPECT_EQ(kind_of(requests, empty_result("get1")), "answered");
	EXPECT_FALSE(requests.get_outstanding());
}

TEST(TheGet, AResultFromAStrangerIsNotOursAndLeavesTheGetOutstanding)
{
	for (const char *from : {"mallory@evil.org", "mallory@example.org", "example.org",
	                         "bot@example.org/other", "bot@example.org/jabclnd", "bot@evil.org"})
	{
		Requests requests;
		online(requests);
		EXPECT_EQ(kind_of(requests, roster_result("get1", from)), "not_roster") << "from " << from;
		EXPECT_TRUE(requests.get_outstanding()) << "from " << from;
		/* The server's real answer still counts. */
		EXPECT_EQ(kind_of(requests, roster_result("get1")), "whole_roster") << "from " << from;
	}
}

TEST(TheGet, AResultWithAnotherIdIsNotOurs)
{
	Requests requests;
	online(requests);
	EXPECT_EQ(kind_of(requests, roster_result("get2")), "not_roster");
	EXPECT_EQ(kind_of(requests, roster_result("")), "not_roster");
	EXPECT_TRUE(requests.get_outstanding());
}

TEST(TheGet, NothingIsWholeRosterBeforeTheGetIsSent)
{
	Requests requests;
	requests.connected(OWN_JID);
	EXPECT_FALSE(requests.get_outstanding());
	EXPECT_EQ(kind_of(requests, roster_result("get1")), "not_roster");
	EXPECT_EQ(kind_of(requests, roster_result("")), "not_roster") << "an empty id is no get";
}

/* ------------------------------------------------------------ sets */

TEST(Sets, TheResultOfASetIsAnsweredNeverTheWholeRoster)
{
	Requests requests;
	online(requests);
	requests.set_sent("set1");
	EXPECT_EQ(requests.sets_outstanding(), 1u);
	/* The bug this guards against: the empty result read as an empty roster. */
	EXPECT_EQ(kind_of(requests, empty_result("set1")), "answered");
	EXPECT_EQ(requests.sets_outstanding(), 0u);
	EXPECT_TRUE(requests.get_outstanding()) << "the get is still unanswered";
	EXPECT_EQ(kind_of(requests, empty_result("set1")), "not_roster") << "taken once";
}

TEST(Sets, TheResultOfASetIsAnsweredEvenAfterTheGetWasAnswered)
{
	Requests requests;
	online(requests);
	EXPECT_EQ(kind_of(requests, roster_result("get1")), "whole_roster");
	requests.set_sent("set1");
	EXPECT_EQ(kind_of(requests, empty_result("set1")), "answered");
	/* Even a result to a set that carried a query is no roster: only the get's is. */
	requests.set_sent("set2");
	EXPECT_EQ(kind_of(requests, roster_result("set2")), "answered");
}

TEST(Sets, AnErrorToASetIsAnswered)
{
	Requests requests;
	online(requests);
	requests.set_sent("set1");
	EXPECT_EQ(kind_of(requests, iq("error", "set1", "bot@example.org", false)), "answered");
	EXPECT_EQ(requests.sets_outstanding(), 0u);
}

TEST(Sets, AResultFromAStrangerLeavesTheSetOutstanding)
{
	Requests requests;
	online(requests);
	requests.set_sent("set1");
	EXPECT_EQ(kind_of(requests, empty_result("set1", "mallory@evil.org")), "not_roster");
	EXPECT_EQ(requests.sets_outstanding(), 1u);
	EXPECT_EQ(kind_of(requests, empty_result("set1")), "answered");
}

TEST(Sets, SetsOutstandingCountsEachUntilItsAnswer)
{
	Requests requests;
	online(requests);
	requests.set_sent("set1");
	requests.set_sent("set2");
	requests.set_sent("set3");
	EXPECT_EQ(requests.sets_outstanding(), 3u);
	EXPECT_EQ(kind_of(requests, empty_result("set2")), "answered");
	EXPECT_EQ(requests.sets_outstanding(), 2u);
	EXPECT_EQ(kind_of(requests, empty_result("set9")), "not_roster");
	EXPECT_EQ(requests.sets_outstanding(), 2u);
	EXPECT_EQ(kind_of(requests, empty_result("set1")), "answered");
	EXPECT_EQ(kind_of(requests, empty_result("set3")), "answered");
	EXPECT_EQ(requests.sets_outstanding(), 0u);
}

/* ------------------------------------------------------------ pushes */

TEST(Pushes, APushFromNoFromOrTheOwnBareJidIsAPush)
{
	for (const char *from : {"", "bot@example.org", "Bot@Example.ORG"})
	{
		Requests requests;
		online(requests);
		EXPECT_EQ(kind_of(requests, push("push1", from)), "push") << "from \"" << from << "\"";
	}
}

TEST(Pushes, APushFromAFullJidOfOursOrAStrangerIsNotOurs)
{
	/* RFC 6121 2.1.6: another resource of the account must not speak for the server. */
	for (const char *from : {"bot@example.org/jabclnd", "bot@example.org/other", "example.org",
	                         "mallory@example.org", "mallory@evil.org/res", "bot@evil.org"})
	{
		Requests requests;
		online(requests);
		EXPECT_EQ(kind_of(requests, push("push1", from)), "not_roster") << "from " << from;
	}
}

TEST(Pushes, ASetWithoutARosterQueryIsNotOurs)
{
	Requests requests;
	online(requests);
	EXPECT_EQ(kind_of(requests, iq("set", "x1", "", false)), "not_roster");
	EXPECT_EQ(kind_of(requests, iq("set", "x2", "bot@example.org", false)), "not_roster");
}

TEST(Pushes, AGetIsNeverOurs)
{
	Requests requests;
	online(requests);
	EXPECT_EQ(kind_of(requests, iq("get", "get1", "", true)), "not_roster");
	EXPECT_TRUE(requests.get_outstanding()) << "a get with our id is no answer";
}

TEST(Pushes, APushBeforeTheSetsResultAsEjabberdSendsThem)
{
	Requests requests;
	online(requests);
	EXPECT_EQ(kind_of(requests, roster_result("get1")), "whole_roster");
	requests.set_sent("set1");
	EXPECT_EQ(kind_of(requests, push("push1")), "push");
	EXPECT_EQ(requests.sets_outstanding(), 1u) << "a push is not the set's answer";
	EXPECT_EQ(kind_of(requests, empty_result("set1")), "answered");
	EXPECT_EQ(requests.sets_outstanding(), 0u);
}

TEST(Pushes, APushAfterTheSetsResultAsProsodySendsThem)
{
	Requests requests;
	online(requests);
	EXPECT_EQ(kind_of(requests, roster_result("get1")), "whole_roster");
	requests.set_sent("set1");
	EXPECT_EQ(kind_of(requests, empty_result("set1")), "answered");
	EXPECT_EQ(kind_of(requests, push("push1")), "push");
	EXPECT_EQ(requests.sets_outstanding(), 0u);
}

TEST(Pushes, APushWithTheSetsIdIsStillAPushAndLeavesTheSetOutstanding)
{
	Requests requests;
	online(requests);
	requests.set_sent("set1");
	EXPECT_EQ(kind_of(requests, push("set1")), "push");
	EXPECT_EQ(requests.sets_outstanding(), 1u);
	EXPECT_EQ(kind_of(requests, empty_result("set1")), "answered");
}

/* ------------------------------------------------------------ connections */

TEST(Connections, ConnectedForgetsWhatThePreviousConnectionHadOutstanding)
{
	Requests requests;
	online(requests);
	requests.set_sent("set1");
	requests.set_sent("set2");
	EXPECT_TRUE(requests.get_outstanding());
	EXPECT_EQ(requests.sets_outstanding(), 2u);

	requests.connected(OWN_JID);
	EXPECT_FALSE(requests.get_outstanding());
	EXPECT_EQ(requests.sets_outstanding(), 0u);
	EXPECT_EQ(kind_of(requests, roster_result("get1")), "not_roster");
	EXPECT_EQ(kind_of(requests, empty_result("set1")), "not_roster");

	requests.get_sent("get2");
	EXPECT_EQ(kind_of(requests, roster_result("get2")), "whole_roster");
}

TEST(Connections, ANewAccountsBareJidIsTheOneThatCounts)
{
	Requests requests;
	online(requests);
	requests.connected("robot@other.net/jabclnd");
	requests.get_sent("get1");
	EXPECT_EQ(kind_of(requests, push("push1", "bot@example.org")), "not_roster");
	EXPECT_EQ(kind_of(requests, roster_result("get1", "bot@example.org")), "not_roster");
	EXPECT_EQ(kind_of(requests, roster_result("get1", "robot@other.net")), "whole_roster");
}
