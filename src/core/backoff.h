/*
 * backoff.h: exponential backoff with jitter between login attempts, in
 * pure C++. The caller supplies the bounds (jabclnd.retry_min_delay and
 * retry_max_delay, read at each failure so a reload applies) and the
 * random number, which keeps this testable.
 */
#pragma once

#include "core/boundary.h"

class Backoff
{
  public:
	void reset() { failures_ = 0; }
	/*
	 * The delay before the next attempt; each call counts a failure. The
	 * delay doubles from min_ms up to max_ms, and `random01` (in [0, 1))
	 * places it in the upper half, so that many servers' workers do not
	 * retry in step.
	 */
	int next_delay_ms(int min_ms, int max_ms, double random01);

  private:
	int failures_ = 0;
};
