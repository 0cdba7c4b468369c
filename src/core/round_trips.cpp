/* round_trips.cpp: request round trips by id (see round_trips.h). */
#include "core/round_trips.h"

void
RoundTrips::sent(const std::string &id, int64_t now)
{
	if (outstanding_.size() == MAX_OUTSTANDING)
		outstanding_.pop_front();
	outstanding_.emplace_back(id, now);
}

int64_t
RoundTrips::answered(const std::string &id, int64_t now)
{
	for (auto request = outstanding_.begin(); request != outstanding_.end(); ++request)
		if (request->first == id)
		{
			const int64_t took = now - request->second;
			outstanding_.erase(request);
			return took;
		}
	return -1;
}
