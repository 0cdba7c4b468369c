/*
 * backoff_test.cpp: unit tests of src/core/backoff.cpp, the delay between
 * login attempts (exponential, with jitter in the upper half), with
 * GoogleTest.
 *
 * The random number is the caller's: 0 gives the lower end of the upper
 * half (half the delay), numbers close to 1 nearly the full delay, so the
 * tests can state exact values.
 */
#include "core/backoff.h"

#include <gtest/gtest.h>

#include <vector>

namespace
{

/* The next `count` delays, each with the same random number. */
std::vector<int>
delays(Backoff &backoff, int count, int min_ms, int max_ms, double random01)
{
	std::vector<int> out;
	for (int i = 0; i < count; i++)
		out.push_back(backoff.next_delay_ms(min_ms, max_ms, random01));
	return out;
}

const double NEARLY_ONE = 0.999999;

} // namespace

TEST(Backoff, DoublesFromMinUpToMax)
{
	Backoff backoff;
	EXPECT_EQ(delays(backoff, 7, 1000, 16000, NEARLY_ONE),
	          std::vector<int>({999, 1999, 3999, 7999, 15999, 15999, 15999}));
}

TEST(Backoff, AMaxThatIsNoPowerOfTwoTimesMinIsReachedExactly)
{
	Backoff backoff;
	/* 1000, 2000, 4000, then 8000 is capped at 5000. */
	EXPECT_EQ(delays(backoff, 5, 1000, 5000, 0.0), std::vector<int>({500, 1000, 2000, 2500, 2500}));
}

TEST(Backoff, JitterPlacesTheDelayInTheUpperHalf)
{
	Backoff at_zero;
	EXPECT_EQ(at_zero.next_delay_ms(1000, 60000, 0.0), 500) << "half the delay";
	Backoff at_half;
	EXPECT_EQ(at_half.next_delay_ms(1000, 60000, 0.5), 750);
	Backoff nearly_one;
	EXPECT_EQ(nearly_one.next_delay_ms(1000, 60000, NEARLY_ONE), 999) << "nearly the full delay";

	/* Whatever the random number, the delay stays in [delay / 2, delay]. */
	for (double random01 : {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, NEARLY_ONE})
	{
		Backoff backoff;
		int full = 1000;
		for (int i = 0; i < 8; i++)
		{
			const int delay = backoff.next_delay_ms(1000, 60000, random01);
			EXPECT_GE(delay, full / 2) << "random " << random01 << ", failure " << i;
			EXPECT_LE(delay, full) << "random " << random01 << ", failure " << i;
			full = full * 2 > 60000 ? 60000 : full * 2;
		}
	}
}

TEST(Backoff, ResetStartsFromMinAgain)
{
	Backoff backoff;
	EXPECT_EQ(delays(backoff, 4, 1000, 60000, 0.0), std::vector<int>({500, 1000, 2000, 4000}));
	backoff.reset();
	EXPECT_EQ(delays(backoff, 2, 1000, 60000, 0.0), std::vector<int>({500, 1000}));
}

TEST(Backoff, TheBoundsAreReadAtEachCall)
{
	/* A reload may change jabclnd.retry_min_delay or retry_max_delay between failures. */
	Backoff backoff;
	EXPECT_EQ(backoff.next_delay_ms(1000, 60000, 0.0), 500);
	EXPECT_EQ(backoff.next_delay_ms(1000, 60000, 0.0), 1000);
	EXPECT_EQ(backoff.next_delay_ms(2000, 60000, 0.0), 4000) << "the third failure: min * 4";
	EXPECT_EQ(backoff.next_delay_ms(2000, 3000, 0.0), 1500) << "capped by the new max";
}

TEST(Backoff, AMaxBelowMinUsesMin)
{
	Backoff backoff;
	EXPECT_EQ(delays(backoff, 4, 5000, 1000, 0.0), std::vector<int>({2500, 2500, 2500, 2500}));
	Backoff full;
	EXPECT_EQ(delays(full, 3, 5000, 1000, NEARLY_ONE), std::vector<int>({4999, 4999, 4999}));
}

TEST(Backoff, ManyFailuresDoNotOverflow)
{
	Backoff backoff;
	int delay = 0;
	for (int i = 0; i < 1000; i++)
		delay = backoff.next_delay_ms(1, 3600000, 0.0);
	/* The doubling stops at the ceiling: no int overflow, no infinity cast to int. */
	EXPECT_EQ(delay, 1800000);
}
