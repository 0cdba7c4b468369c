/*
 * retry_test.cpp: unit tests of src/core/retry.cpp, which error replies
 * are retried and when, with GoogleTest.
 */
#include "core/retry.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

using retry::decide;
using retry::Decision;
using retry::delay_us;
using retry::ErrorReply;
using retry::is_temporary;
using retry::Policy;

namespace
{

const int64_t SECOND = 1000000;
const int64_t NOW = 1000 * SECOND;
/* 3 retries, 30 s doubling up to 100 s. */
const Policy POLICY{3, 30 * SECOND, 100 * SECOND};
const std::string FULL = "the server answered with an error: resource-constraint (wait): "
                         "offline storage full";

ErrorReply
reply(const std::string &type, const std::string &condition)
{
	return ErrorReply{type, condition, "the server answered with an error: " + condition};
}

} // namespace

TEST(IsTemporary, TypeWaitIsWhateverTheCondition)
{
	EXPECT_TRUE(is_temporary(reply("wait", "resource-constraint")));
	EXPECT_TRUE(is_temporary(reply("wait", "policy-violation")));
	EXPECT_TRUE(is_temporary(reply("wait", "undefined-condition")));
}

TEST(IsTemporary, OtherTypesAreFinal)
{
	for (const char *type : {"cancel", "modify", "auth", "continue", "", "WAIT"})
		EXPECT_FALSE(is_temporary(reply(type, "service-unavailable"))) << type;
	EXPECT_FALSE(is_temporary(reply("cancel", "item-not-found")));
	EXPECT_FALSE(is_temporary(reply("auth", "forbidden")));
	EXPECT_FALSE(is_temporary(reply("modify", "not-acceptable")));
}

TEST(IsTemporary, ConditionsThatRfc6120TypesWaitAreTemporaryUnderAnyType)
{
	EXPECT_TRUE(is_temporary(reply("cancel", "resource-constraint")));
	EXPECT_TRUE(is_temporary(reply("", "remote-server-timeout")));
	EXPECT_FALSE(is_temporary(reply("cancel", "remote-server-not-found")));
}

TEST(Delay, DoublesUpToTheMaximum)
{
	EXPECT_EQ(delay_us(0, POLICY), 30 * SECOND);
	EXPECT_EQ(delay_us(1, POLICY), 60 * SECOND);
	EXPECT_EQ(delay_us(2, POLICY), 100 * SECOND);
	EXPECT_EQ(delay_us(50, POLICY), 100 * SECOND);
	EXPECT_EQ(delay_us(1000000, POLICY), 100 * SECOND) << "no overflow, no long loop";
}

TEST(Delay, AMaximumBelowTheFirstDelayIsTheFirstDelay)
{
	const Policy odd{3, 30 * SECOND, 10 * SECOND};
	EXPECT_EQ(delay_us(0, odd), 30 * SECOND);
	EXPECT_EQ(delay_us(4, odd), 30 * SECOND);
}

TEST(Decide, AWaitErrorIsRetriedAfterTheDelay)
{
	const Decision d = decide(ErrorReply{"wait", "resource-constraint", FULL}, 0, POLICY, NOW);
	EXPECT_EQ(d.retry_at, NOW + 30 * SECOND);
	EXPECT_EQ(d.reason, FULL + "; temporary: sent again at next_attempt_at (retry 1 of 3, "
	                           "jabclnd.wait_retries)");
}

TEST(Decide, EachRetryWaitsLonger)
{
	const ErrorReply error{"wait", "resource-constraint", FULL};
	EXPECT_EQ(decide(error, 1, POLICY, NOW).retry_at, NOW + 60 * SECOND);
	const Decision last = decide(error, 2, POLICY, NOW);
	EXPECT_EQ(last.retry_at, NOW + 100 * SECOND);
	EXPECT_NE(last.reason.find("retry 3 of 3"), std::string::npos) << last.reason;
}

TEST(Decide, AfterTheLastRetryTheRowFailsWithTheError)
{
	const Decision d = decide(ErrorReply{"wait", "resource-constraint", FULL}, 3, POLICY, NOW);
	EXPECT_EQ(d.retry_at, 0);
	EXPECT_EQ(d.reason, FULL + "; still so after 3 retries (jabclnd.wait_retries)");
	EXPECT_EQ(decide(ErrorReply{"wait", "x", FULL}, 7, POLICY, NOW).retry_at, 0)
	    << "retries beyond the setting (it was lowered): fails";
}

TEST(Decide, CancelModifyAuthFailAtOnceWithTheReasonAsIs)
{
	for (const char *type : {"cancel", "modify", "auth"})
	{
		const ErrorReply error{type, "service-unavailable", std::string("reason ") + type};
		const Decision d = decide(error, 0, POLICY, NOW);
		EXPECT_EQ(d.retry_at, 0) << type;
		EXPECT_EQ(d.reason, error.reason) << type;
	}
}

TEST(Decide, NoRetriesConfiguredFailsAWaitErrorAtOnce)
{
	const Policy none{0, 30 * SECOND, 100 * SECOND};
	const Decision d = decide(ErrorReply{"wait", "resource-constraint", FULL}, 0, none, NOW);
	EXPECT_EQ(d.retry_at, 0);
	EXPECT_EQ(d.reason, FULL);
}
