/*
 * roster_requests.h: which roster iq is which, in pure C++.
 *
 * The bot asks for its roster once per login (a get) and changes it (sets)
 * as the presence mirror asks; the server answers each, and pushes every
 * change to every session, ours included: before the result of the set
 * that caused it (ejabberd) or after it (Prosody), as RFC 6121 2.1.5
 * allows. Only the result of the get is the whole roster; the result of a
 * set is an empty acknowledgement, and taking it for a roster would empty
 * the mirror's view and make it add every user again, in a loop.
 *
 * The session tells this class what it sent and asks it what an arriving
 * iq is; the class does no I/O.
 */
#pragma once

#include "core/boundary.h"

#include <set>
#include <string>

namespace roster
{

/* What an iq means to the roster bookkeeping. */
enum class Kind
{
	not_roster,   /* not ours to take: someone else's business, or a forgery */
	whole_roster, /* the result of our get: the complete roster */
	push,         /* the server announcing one change (answer it with a result) */
	answered,     /* the server's answer to a set (or a failed get): no roster in it */
};

/* An iq reduced to what decides its kind. */
struct Iq
{
	std::string type; /* get, set, result, error */
	std::string id;
	std::string from;              /* "" when absent */
	bool has_roster_query = false; /* a <query xmlns='jabber:iq:roster'/> child */
};

class Requests
{
  public:
	/* A new login as own_jid: nothing of the last connection is outstanding. */
	void connected(const std::string &own_jid);
	/* The roster get went out with `id`. */
	void get_sent(const std::string &id) { get_id_ = id; }
	/* A roster set went out with `id`. */
	void set_sent(const std::string &id) { set_ids_.insert(id); }

	/*
	 * What `iq` is. Answers count only from the account's own server or the
	 * account itself (RFC 6121 2.1.6 and 2.1.3), and only once: the answer
	 * to a request is taken off the outstanding ones.
	 */
	Kind classify(const Iq &iq);

	/* Whether the roster get is still unanswered. */
	bool get_outstanding() const { return !get_id_.empty(); }
	size_t sets_outstanding() const { return set_ids_.size(); }

  private:
	std::string own_jid_;
	std::string get_id_;
	std::set<std::string> set_ids_;
};

} // namespace roster
