/* round_trips_test.cpp: unit tests of src/core/round_trips.cpp, round trips by request id. */
#include "core/round_trips.h"

#include <gtest/gtest.h>

#include <string>

TEST(RoundTrips, AnAnswerGivesItsRequestsRoundTripOnce)
{
	RoundTrips trips;
	trips.sent("a", 1000);
	trips.sent("b", 1500);
	EXPECT_EQ(trips.answered("b", 1700), 200);
	EXPECT_EQ(trips.answered("a", 2000), 1000);
	EXPECT_EQ(trips.answered("a", 2100), -1);
}

TEST(RoundTrips, UnknownIdsAndClearedRequestsHaveNone)
{
	RoundTrips trips;
	EXPECT_EQ(trips.answered("x", 10), -1);
	trips.sent("a", 1000);
	trips.clear();
	EXPECT_EQ(trips.answered("a", 2000), -1);
}

TEST(RoundTrips, OnlyTheLastFewRequestsAreRemembered)
{
	RoundTrips trips;
	for (size_t i = 0; i <= RoundTrips::MAX_OUTSTANDING; i++)
		trips.sent(std::to_string(i), static_cast<int64_t>(i));
	EXPECT_EQ(trips.answered("0", 100), -1);
	EXPECT_EQ(trips.answered("1", 100), 99);
}
