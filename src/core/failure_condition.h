/*
 * failure_condition.h: why a row of xmpp_tx_queue failed, as one of a
 * fixed list of names, for the failures-by-condition metric
 * (jabclnd_failures()).
 *
 * The list is fixed on purpose: the names are counted in shared memory,
 * and an error reply's condition comes from the network, so a peer that
 * invents conditions must not make the list grow. The names are RFC
 * 6120's stanza error conditions (section 8.3.3), an unknown one counting
 * as undefined-condition, and two of the worker's own:
 *   rejected      the worker refused the row before sending it (an invalid
 *                 JID or stanza, too large, a room not in xmpp_rooms)
 *   unconfirmed   sent jabclnd.max_attempts times, never confirmed
 */
#pragma once

#include "core/boundary.h"

#include <string>

namespace failure_condition
{

/* How many names there are; each has a number below this. */
constexpr int COUNT = 24;
inline int
count()
{
	return COUNT;
}
/* The name of number `condition` (0 <= condition < count()). */
const char *name(int condition);
/* The number of the condition a row's failure reason (submission_info) names. */
int of_reason(const std::string &reason);

} // namespace failure_condition
