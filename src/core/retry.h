/*
 * retry.h: which error replies to a sent row are temporary, and when such
 * a row is sent again, in pure C++.
 *
 * An error of type wait (RFC 6120 §8.3.2: "retry after waiting") is the
 * server saying "not now": ejabberd answers resource-constraint when the
 * recipient's offline storage is full, a remote domain that does not
 * answer yet gives remote-server-timeout. Such a row is sent again after
 * a delay that doubles from Policy::delay_us up to Policy::max_delay_us,
 * at most Policy::max_retries times; then it fails with the last error.
 * Every other type (cancel, modify, auth, none) fails the row at once, as
 * the sender can do nothing by waiting.
 */
#pragma once

#include "core/boundary.h"

#include <cstdint>
#include <string>

namespace retry
{

/* jabclnd.wait_retries, wait_retry_delay and wait_retry_max_delay. */
struct Policy
{
	int max_retries = 0;
	int64_t delay_us = 0;
	int64_t max_delay_us = 0;
};

/* An error reply: its type and defined condition, and the reason as the row should show it. */
struct ErrorReply
{
	std::string type;      /* the <error type=''>: cancel, wait, modify, auth, or "" */
	std::string condition; /* the defined condition, e.g. resource-constraint */
	std::string reason;    /* "the server answered with an error: ..." */
};

/* What becomes of a row that got an error reply. */
struct Decision
{
	/* 0: the row fails for good; else when (microseconds, as `now`) it is due again. */
	int64_t retry_at = 0;
	/* For submission_info: the error, and what happens next. */
	std::string reason;
};

/* Whether the error says "try again later": type wait, or a condition RFC 6120 types wait. */
bool is_temporary(const ErrorReply &error);

/* The delay before retry number `retries` + 1 (0 for the first). */
int64_t delay_us(int retries, const Policy &policy);

/* For a row that had `retries` retries so far, answered with `error` at `now`. */
Decision decide(const ErrorReply &error, int retries, const Policy &policy, int64_t now);

} // namespace retry
