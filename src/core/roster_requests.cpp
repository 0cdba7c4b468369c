/*
 * roster_requests.cpp: which roster iq is which (see roster_requests.h).
 */
#include "core/roster_requests.h"

#include "core/jid.h"

namespace roster
{

void
Requests::connected(const std::string &own_jid)
{
	own_jid_ = own_jid;
	get_id_.clear();
	set_ids_.clear();
}

Kind
Requests::classify(const Iq &iq)
{
	/*
	 * RFC 6121 2.1.6: a push comes from no one or from our own bare JID
	 * (not any full JID of ours: another resource must not speak for the
	 * server); results come from the same places.
	 */
	const bool from_account =
	    iq.from.empty() || jid::lower_ascii(iq.from) == jid::bare_key(own_jid_);
	if (!from_account)
		return Kind::not_roster;
	if (iq.type == "set")
		return iq.has_roster_query ? Kind::push : Kind::not_roster;
	if (iq.type != "result" && iq.type != "error")
		return Kind::not_roster;
	if (!get_id_.empty() && iq.id == get_id_)
	{
		get_id_.clear();
		/* A roster result always carries the query (no roster versioning is asked for). */
		return iq.type == "result" && iq.has_roster_query ? Kind::whole_roster : Kind::answered;
	}
	if (set_ids_.erase(iq.id))
		return Kind::answered;
	return Kind::not_roster;
}

} // namespace roster
