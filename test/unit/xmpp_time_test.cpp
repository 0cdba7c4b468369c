/*
 * xmpp_time_test.cpp: unit tests of src/core/xmpp_time.cpp, reading
 * XEP-0082 date-times (delay stamps) into microseconds since 2000-01-01
 * UTC, with GoogleTest.
 *
 * Expected values are written as seconds since 2000-01-01 (date -u -d …
 * +%s, less 946684800), and round trips go through rooms::xep0082, the
 * writer of <history since='…'/>.
 */
#include "core/xmpp_time.h"

#include "core/room.h"

#include <gtest/gtest.h>

#include <string>

namespace
{

using xmpp_time::parse_xep0082;
using xmpp_time::Timestamp;

const Timestamp SECOND = 1000000;
const Timestamp DAY = 86400 * SECOND;
const Timestamp UNSET = 424242; /* what a refusal must leave in place */

/* The parsed value, or UNSET when refused. */
Timestamp
parsed(const std::string &text)
{
	Timestamp t = UNSET;
	return parse_xep0082(text, &t) ? t : UNSET;
}

bool
refused(const std::string &text)
{
	Timestamp t = UNSET;
	return !parse_xep0082(text, &t) && t == UNSET;
}

} // namespace

TEST(XmppTime, TheEpochAndAKnownDate)
{
	EXPECT_EQ(parsed("2000-01-01T00:00:00Z"), 0);
	EXPECT_EQ(parsed("2024-05-01T12:34:56Z"), 767882096LL * SECOND);
	EXPECT_EQ(parsed("1999-12-31T23:59:59Z"), -1 * SECOND);
	EXPECT_EQ(parsed("1970-01-01T00:00:00Z"), -946684800LL * SECOND);
}

TEST(XmppTime, TheEndsOfTheYearRange)
{
	EXPECT_EQ(parsed("0001-01-01T00:00:00Z"), -63082281600LL * SECOND);
	EXPECT_EQ(parsed("9999-12-31T23:59:59Z"), 252455615999LL * SECOND);
}

TEST(XmppTime, FractionsToTheMicrosecondAndCutBeyond)
{
	EXPECT_EQ(parsed("2000-01-01T00:00:00.5Z"), 500000);
	EXPECT_EQ(parsed("2000-01-01T00:00:00.123Z"), 123000);
	EXPECT_EQ(parsed("2000-01-01T00:00:00.123456Z"), 123456);
	EXPECT_EQ(parsed("2000-01-01T00:00:00.1234567899Z"), 123456) << "cut off, not rounded";
	EXPECT_EQ(parsed("2000-01-01T00:00:00.000001Z"), 1);
	EXPECT_EQ(parsed("1999-12-31T23:59:59.75Z"), -250000) << "before the epoch, still exact";
}

TEST(XmppTime, OffsetsAreTurnedIntoUtc)
{
	const Timestamp noon = parsed("2024-05-01T12:00:00Z");
	EXPECT_EQ(parsed("2024-05-01T14:00:00+02:00"), noon);
	EXPECT_EQ(parsed("2024-05-01T06:30:00-05:30"), noon);
	EXPECT_EQ(parsed("2024-05-01T12:00:00+00:00"), noon);
	EXPECT_EQ(parsed("2024-05-01T12:00:00-00:00"), noon);
	EXPECT_EQ(parsed("2024-05-01T12:00:00.25+01:00"), noon - 3600 * SECOND + 250000);
	/* Across a day, a month and a year. */
	EXPECT_EQ(parsed("2024-01-01T01:00:00+02:00"), parsed("2023-12-31T23:00:00Z"));
	EXPECT_EQ(parsed("2023-12-31T20:00:00-23:59"), parsed("2024-01-01T19:59:00Z"));
}

TEST(XmppTime, LeapYears)
{
	/* 2024 and 2000 have a February 29; 2023 and 1900 do not. */
	EXPECT_EQ(parsed("2024-03-01T00:00:00Z") - parsed("2024-02-29T00:00:00Z"), DAY);
	EXPECT_EQ(parsed("2024-03-01T00:00:00Z") - parsed("2024-02-28T00:00:00Z"), 2 * DAY);
	EXPECT_EQ(parsed("2000-03-01T00:00:00Z") - parsed("2000-02-28T00:00:00Z"), 2 * DAY);
	EXPECT_EQ(parsed("2023-03-01T00:00:00Z") - parsed("2023-02-28T00:00:00Z"), DAY);
	EXPECT_TRUE(refused("2023-02-29T00:00:00Z"));
	EXPECT_TRUE(refused("1900-02-29T00:00:00Z"));
	EXPECT_TRUE(refused("2100-02-29T00:00:00Z"));
	EXPECT_FALSE(refused("2000-02-29T00:00:00Z"));
	EXPECT_FALSE(refused("2400-02-29T00:00:00Z"));
	/* Whole years: 366 days in a leap year, 365 otherwise; 146097 days in 400 years. */
	EXPECT_EQ(parsed("2025-01-01T00:00:00Z") - parsed("2024-01-01T00:00:00Z"), 366 * DAY);
	EXPECT_EQ(parsed("2024-01-01T00:00:00Z") - parsed("2023-01-01T00:00:00Z"), 365 * DAY);
	EXPECT_EQ(parsed("2400-01-01T00:00:00Z") - parsed("2000-01-01T00:00:00Z"), 146097 * DAY);
}

TEST(XmppTime, RoundTripWithTheWriter)
{
	const Timestamp samples[] = {
	    0,
	    767882096LL * SECOND,
	    -1 * SECOND,
	    parsed("2024-02-29T23:59:59Z"),
	    parsed("1972-06-30T12:00:00Z"),
	    parsed("2038-01-19T03:14:08Z"),
	    parsed("2100-03-01T00:00:00Z"),
	    parsed("9999-12-31T23:59:59Z"),
	};
	for (Timestamp t : samples)
		EXPECT_EQ(parsed(rooms::xep0082(t)), t) << rooms::xep0082(t);
	/* Every day of a leap year and of the year after, at an odd time of day. */
	for (Timestamp t = parsed("2024-01-01T07:08:09Z"); t < parsed("2026-01-01T00:00:00Z"); t += DAY)
		ASSERT_EQ(parsed(rooms::xep0082(t)), t) << rooms::xep0082(t);
	/* The writer drops fractions: the round trip is rounded down to the second. */
	EXPECT_EQ(parsed(rooms::xep0082(5 * SECOND + 999999)), 5 * SECOND);
}

TEST(XmppTime, ALeapSecondIsTheNextMinute)
{
	EXPECT_EQ(parsed("2016-12-31T23:59:60Z"), parsed("2017-01-01T00:00:00Z"));
	EXPECT_TRUE(refused("2016-12-31T23:59:61Z"));
}

TEST(XmppTime, FieldsOutOfRangeAreRefused)
{
	EXPECT_TRUE(refused("0000-01-01T00:00:00Z")) << "no year 0";
	EXPECT_TRUE(refused("2024-00-01T00:00:00Z"));
	EXPECT_TRUE(refused("2024-13-01T00:00:00Z"));
	EXPECT_TRUE(refused("2024-01-00T00:00:00Z"));
	EXPECT_TRUE(refused("2024-01-32T00:00:00Z"));
	EXPECT_TRUE(refused("2024-04-31T00:00:00Z"));
	EXPECT_TRUE(refused("2024-05-01T24:00:00Z"));
	EXPECT_TRUE(refused("2024-05-01T12:60:00Z"));
	EXPECT_TRUE(refused("2024-05-01T12:00:99Z"));
	EXPECT_TRUE(refused("2024-05-01T12:00:00+24:00"));
	EXPECT_TRUE(refused("2024-05-01T12:00:00+01:60"));
	EXPECT_FALSE(refused("2024-04-30T23:59:59Z"));
	EXPECT_FALSE(refused("2024-05-01T12:00:00+23:59"));
}

TEST(XmppTime, GarbageAndOtherLayoutsAreRefused)
{
	for (const char *text : {
	         "",
	         "Z",
	         "garbage",
	         "2024-05-01",                  /* a date alone */
	         "12:34:56Z",                   /* a time alone */
	         "2024-05-01T12:34:56",         /* no zone */
	         "2024-05-01T12:34Z",           /* no seconds */
	         "2024-05-01 12:34:56Z",        /* a space for the T */
	         "2024-05-01t12:34:56z",        /* lower case */
	         "20240501T12:34:56",           /* XEP-0091's legacy stamp */
	         "2024-5-01T12:34:56Z",         /* one-digit month */
	         "02024-05-01T12:34:56Z",       /* five-digit year */
	         "-2024-05-01T12:34:56Z",       /* negative year */
	         "+2024-05-01T12:34:56Z",       /* signed year */
	         " 2024-05-01T12:34:56Z",       /* white space before */
	         "2024-05-01T12:34:56Z ",       /* white space after */
	         "2024-05-01T12:34:56Z\n",      /* a line end after */
	         "2024-05-01T12:34:56ZZ",       /* trailing junk */
	         "2024-05-01T12:34:56.Z",       /* a point without digits */
	         "2024-05-01T12:34:56,5Z",      /* a comma for the point */
	         "2024-05-01T12:34:56+0200",    /* offset without colon */
	         "2024-05-01T12:34:56+02",      /* offset without minutes */
	         "2024-05-01T12:34:56+02:00Z",  /* offset and Z */
	         "2024-05-01T12:34:56UTC",      /* a zone name */
	         "2024-05-01T1a:34:56Z",        /* a letter in a field */
	         "2024-05-01T12:34:5",          /* cut short */
	         "2024-05-01T12:34:56.123+02:0" /* cut short in the offset */
	     })
		EXPECT_TRUE(refused(text)) << "'" << text << "'";
	/* A NUL inside is not the end of the text. */
	EXPECT_TRUE(refused(std::string("2024-05-01T12:34:56Z\0junk", 25)));
}
