/*
 * round_trips.h: how long the server took to answer a request, by the
 * request's id, in pure C++: the barrier round trip of the metrics
 * (jabclnd_metrics().last_barrier_round_trip).
 *
 * Bounded: it remembers the last MAX_OUTSTANDING requests only; the send
 * pipeline has at most a few barriers in flight, and a request never
 * answered (the connection lost) is forgotten as newer ones come.
 */
#pragma once

#include "core/boundary.h"

#include <cstdint>
#include <deque>
#include <string>
#include <utility>

class RoundTrips
{
  public:
	static const size_t MAX_OUTSTANDING = 8;

	/* Request `id` went out at `now` (microseconds). */
	void sent(const std::string &id, int64_t now);
	/* Request `id` was answered at `now`: its round trip, or -1 if it is not one we remember. */
	int64_t answered(const std::string &id, int64_t now);
	/* The connection ended: no answer will come. */
	void clear() { outstanding_.clear(); }

  private:
	std::deque<std::pair<std::string, int64_t>> outstanding_;
};
