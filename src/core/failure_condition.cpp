/*
 * failure_condition.cpp: a failed row's reason to one of a fixed list of
 * condition names (see failure_condition.h). The reasons are the worker's
 * own texts: xmpp/session.cpp's describe_error() for error replies,
 * core/send_pipeline.cpp's out_of_attempts() for rows never confirmed.
 */
#include "core/failure_condition.h"

#include <cstring>

namespace failure_condition
{

namespace
{

const char *const NAMES[] = {
    /* RFC 6120, 8.3.3 */
    "bad-request", "conflict", "feature-not-implemented", "forbidden", "gone",
    "internal-server-error", "item-not-found", "jid-malformed", "not-acceptable", "not-allowed",
    "not-authorized", "policy-violation", "recipient-unavailable", "redirect",
    "registration-required", "remote-server-not-found", "remote-server-timeout",
    "resource-constraint", "service-unavailable", "subscription-required", "undefined-condition",
    "unexpected-request",
    /* the worker's own */
    "rejected", "unconfirmed"};

static_assert(sizeof NAMES / sizeof NAMES[0] == COUNT, "COUNT is the number of NAMES");

int
number(const std::string &name)
{
	for (int i = 0; i < COUNT; i++)
		if (name == NAMES[i])
			return i;
	return -1;
}

bool
starts_with(const std::string &text, const char *prefix)
{
	return text.compare(0, strlen(prefix), prefix) == 0;
}

} // namespace

const char *
name(int condition)
{
	return condition >= 0 && condition < COUNT ? NAMES[condition] : "undefined-condition";
}

int
of_reason(const std::string &reason)
{
	static const char ERROR_REPLY[] = "the server answered with an error: ";
	if (starts_with(reason, ERROR_REPLY))
	{
		const size_t start = sizeof ERROR_REPLY - 1;
		const size_t end = reason.find_first_of(" :", start);
		const int found =
		    number(reason.substr(start, end == std::string::npos ? end : end - start));
		return found >= 0 ? found : number("undefined-condition");
	}
	if (reason == "error without details")
		return number("undefined-condition");
	if (starts_with(reason, "not confirmed by the "))
		return number("unconfirmed");
	return number("rejected");
}

} // namespace failure_condition
