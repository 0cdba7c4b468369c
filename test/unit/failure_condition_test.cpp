/*
 * failure_condition_test.cpp: unit tests of src/core/failure_condition.cpp,
 * a failed row's reason to one of a fixed list of condition names.
 */
#include "core/failure_condition.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace
{

std::string
condition_of(const std::string &reason)
{
	return failure_condition::name(failure_condition::of_reason(reason));
}

} // namespace

TEST(FailureCondition, AnErrorReplyCountsUnderItsCondition)
{
	EXPECT_EQ(condition_of("the server answered with an error: item-not-found (cancel)"),
	          "item-not-found");
	EXPECT_EQ(condition_of("the server answered with an error: service-unavailable (cancel): "
	                       "User session not found"),
	          "service-unavailable");
	EXPECT_EQ(condition_of("the server answered with an error: resource-constraint"),
	          "resource-constraint");
	EXPECT_EQ(condition_of("the server answered with an error: forbidden: no"), "forbidden");
}

TEST(FailureCondition, AnInventedConditionIsUndefined)
{
	EXPECT_EQ(condition_of("the server answered with an error: my-own-condition (cancel)"),
	          "undefined-condition");
	EXPECT_EQ(condition_of("the server answered with an error: "), "undefined-condition");
	EXPECT_EQ(condition_of("error without details"), "undefined-condition");
}

TEST(FailureCondition, RowsNeverConfirmedAndRowsRefusedBeforeSending)
{
	EXPECT_EQ(condition_of("not confirmed by the server after 5 attempts (jabclnd.max_attempts); "
	                       "the connection was lost each time: connection error"),
	          "unconfirmed");
	EXPECT_EQ(condition_of("not confirmed by the room after 5 attempts (jabclnd.max_attempts)"),
	          "unconfirmed");
	EXPECT_EQ(condition_of("message_to is not a valid JID: \"@@\""), "rejected");
	EXPECT_EQ(condition_of(""), "rejected");
}

TEST(FailureCondition, TheNamesAreDistinctAndOutOfRangeIsUndefined)
{
	std::set<std::string> names;
	for (int i = 0; i < failure_condition::count(); i++)
		names.insert(failure_condition::name(i));
	EXPECT_EQ(names.size(), static_cast<size_t>(failure_condition::count()));
	EXPECT_EQ(failure_condition::count(), 24);
	EXPECT_STREQ(failure_condition::name(-1), "undefined-condition");
	EXPECT_STREQ(failure_condition::name(failure_condition::count()), "undefined-condition");
}
