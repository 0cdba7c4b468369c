/*
 * retry.cpp: the retry policy for error replies (see retry.h).
 */
#include "core/retry.h"

#include <algorithm>

namespace retry
{

bool
is_temporary(const ErrorReply &error)
{
	if (error.type == "wait")
		return true;
	/*
	 * RFC 6120 §8.3.3 gives these two the type wait; a server that types
	 * them otherwise still means "not now".
	 */
	return error.condition == "resource-constraint" || error.condition == "remote-server-timeout";
}

int64_t
delay_us(int retries, const Policy &policy)
{
	int64_t delay = std::max<int64_t>(policy.delay_us, 1);
	const int64_t ceiling = std::max(policy.max_delay_us, delay);
	/* Doubling stops at the ceiling, long before int64_t could overflow. */
	for (int i = 0; i < retries && delay < ceiling; i++)
		delay *= 2;
	return std::min(delay, ceiling);
}

Decision
decide(const ErrorReply &error, int retries, const Policy &policy, int64_t now)
{
	Decision decision;
	decision.reason = error.reason;
	if (!is_temporary(error) || policy.max_retries <= 0)
		return decision;
	if (retries >= policy.max_retries)
	{
		decision.reason += "; still so after " + std::to_string(policy.max_retries) +
		                   " retries (jabclnd.wait_retries)";
		return decision;
	}
	decision.retry_at = now + delay_us(retries, policy);
	decision.reason += "; temporary: sent again at next_attempt_at (retry " +
	                   std::to_string(retries + 1) + " of " + std::to_string(policy.max_retries) +
	                   ", jabclnd.wait_retries)";
	return decision;
}

} // namespace retry
