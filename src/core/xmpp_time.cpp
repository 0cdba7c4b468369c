/*
 * xmpp_time.cpp: see xmpp_time.h.
 *
 * Written out by hand rather than with strptime/timegm: strptime accepts
 * leading white space, one-digit fields and out-of-range days that timegm
 * then normalises (February 30 becomes March 2), and neither knows zone
 * offsets or fractions.
 */
#include "core/boundary.h"
#include "core/xmpp_time.h"

namespace xmpp_time
{

namespace
{

const int64_t MICROS_PER_SECOND = 1000000;
const int64_t SECONDS_PER_DAY = 86400;

/*
 * Reads exactly `count` ASCII digits at `*pos` as a number and moves past
 * them; false if any of them is not a digit or the text ends first.
 */
bool
digits(const std::string &text, size_t *pos, int count, int *value)
{
	if (text.size() < *pos + static_cast<size_t>(count))
		return false;
	int result = 0;
	for (int i = 0; i < count; i++)
	{
		const char c = text[*pos + i];
		if (c < '0' || c > '9')
			return false;
		result = result * 10 + (c - '0');
	}
	*pos += count;
	*value = result;
	return true;
}

/* Whether the character at `*pos` is `expected`; moves past it if so. */
bool
literal(const std::string &text, size_t *pos, char expected)
{
	if (*pos >= text.size() || text[*pos] != expected)
		return false;
	(*pos)++;
	return true;
}

bool
leap_year(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int
days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return month == 2 && leap_year(year) ? 29 : days[month - 1];
}

/*
 * Days from 2000-01-01 to year-month-day of the proleptic Gregorian
 * calendar (negative before it). Counts whole years from a March-based
 * year, so that February's leap day falls at the end of a counted year
 * and each 400-year cycle has the same 146097 days.
 */
int64_t
days_since_2000(int year, int month, int day)
{
	/* The year as if it began on March 1: January and February belong to the one before. */
	const int64_t y = month <= 2 ? year - 1 : year;
	const int64_t march_month = month <= 2 ? month + 9 : month - 3; /* March 0 .. February 11 */
	/* Days of the months before this one in a March-based year: 31,30,31,30,31 repeating. */
	const int64_t day_of_year = (153 * march_month + 2) / 5 + day - 1;
	/* Days from 0000-03-01 to the start of year y (March-based); y >= 0 here. */
	const int64_t days_to_year = 365 * y + y / 4 - y / 100 + y / 400;
	/* 2000-01-01 is day 59 of the March-based year 1999: 730425 days after 0000-03-01. */
	const int64_t epoch = 365 * 1999 + 1999 / 4 - 1999 / 100 + 1999 / 400 + 306;
	return days_to_year + day_of_year - epoch;
}

} // namespace

bool
parse_xep0082(const std::string &text, Timestamp *t)
{
	size_t pos = 0;
	int year, month, day, hour, minute, second;
	if (!digits(text, &pos, 4, &year) || !literal(text, &pos, '-') ||
	    !digits(text, &pos, 2, &month) || !literal(text, &pos, '-') ||
	    !digits(text, &pos, 2, &day) || !literal(text, &pos, 'T') ||
	    !digits(text, &pos, 2, &hour) || !literal(text, &pos, ':') ||
	    !digits(text, &pos, 2, &minute) || !literal(text, &pos, ':') ||
	    !digits(text, &pos, 2, &second))
		return false;
	if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
	    hour > 23 || minute > 59 || second > 60)
		return false;

	/* Fractions: at least one digit after the point; the seventh and later are cut off. */
	int64_t micros = 0;
	if (literal(text, &pos, '.'))
	{
		int count = 0;
		while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9')
		{
			if (count < 6)
				micros = micros * 10 + (text[pos] - '0');
			count++;
			pos++;
		}
		if (count == 0)
			return false;
		for (int i = count; i < 6; i++)
			micros *= 10;
	}

	/* The zone: Z, or the offset of the local time from UTC. */
	int64_t offset_seconds = 0;
	if (pos < text.size() && (text[pos] == '+' || text[pos] == '-'))
	{
		const int sign = text[pos] == '-' ? -1 : 1;
		pos++;
		int offset_hours, offset_minutes;
		if (!digits(text, &pos, 2, &offset_hours) || !literal(text, &pos, ':') ||
		    !digits(text, &pos, 2, &offset_minutes) || offset_hours > 23 || offset_minutes > 59)
			return false;
		offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
	}
	else if (!literal(text, &pos, 'Z'))
		return false;
	if (pos != text.size())
		return false;

	const int64_t seconds = days_since_2000(year, month, day) * SECONDS_PER_DAY + hour * 3600 +
	                        minute * 60 + second - offset_seconds;
	*t = seconds * MICROS_PER_SECOND + micros;
	return true;
}

} // namespace xmpp_time
