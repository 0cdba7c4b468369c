/*
 * backoff.cpp: see backoff.h.
 */
#include "core/backoff.h"

#include <algorithm>

int
Backoff::next_delay_ms(int min_ms, int max_ms, double random01)
{
	const double ceiling = std::max(max_ms, min_ms);
	double delay = min_ms;
	for (int i = 0; i < failures_ && delay < ceiling; i++)
		delay *= 2;
	failures_++;
	delay = std::min(delay, ceiling);
	return static_cast<int>(delay * (0.5 + 0.5 * random01));
}
