/*
 * presence.h: the presence mirror, in pure C++.
 *
 * Decides what openfire_users.available should say, from the presence
 * stanzas the session reports, and what the bot's roster should hold, from
 * the enabled rows of openfire_users. It neither talks to the server nor
 * to the database: the worker feeds it events and carries out what it
 * asks for (roster changes through the session, flag changes through the
 * store), which keeps the rules here unit-testable.
 *
 * Vocabulary: a "login" is a lower-cased local part on the account's own
 * domain, the key of openfire_users. A user is available while at least
 * one of its resources is.
 */
#pragma once

#include "core/boundary.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace presence
{

enum class Policy
{
	openfire_users, /* accept subscription requests from enabled openfire_users only */
	all,            /* accept everyone, as the original daemon did */
	none            /* accept no one */
};

/* Whose messages are stored (jabclnd.receive_from). */
enum class Senders
{
	anyone,        /* every sender, as the original daemon did */
	roster,        /* the bot's roster items, whatever their subscription */
	openfire_users /* enabled logins of openfire_users on the account's domain */
};

/* One presence stanza, reduced to what the mirror needs. */
struct Update
{
	std::string jid; /* full JID as sent: local@domain/resource */
	bool available = false;
	std::string show;   /* "", away, chat, dnd, xa */
	std::string status; /* the <status/> text, "" if none */
	int priority = 0;
};

/* What the worker must do on the XMPP side. */
struct RosterAction
{
	enum Kind
	{
		add_and_subscribe, /* roster set + presence type=subscribe */
		remove,            /* roster set with subscription='remove' */
		approve,           /* presence type=subscribed (and subscribe back) */
		refuse             /* presence type=unsubscribed */
	} kind;
	std::string jid; /* bare */
};

/* A change of openfire_users.available for one login. */
struct Change
{
	std::string login;
	bool available;
};

/*
 * A change of one contact's resource, for the xmpp_presence table: an
 * available resource is (re)written with what it said, an unavailable one
 * is removed. Contacts are the roster items whose presence we receive.
 */
struct ResourceChange
{
	std::string jid; /* bare, lower-cased */
	std::string resource;
	bool available = false;
	std::string show;
	std::string status;
	int priority = 0;
};

class Mirror
{
  public:
	/* A new login: domain of the account, own bare JID, settings. */
	void start(const std::string &own_jid, Policy policy, bool away_is_available);
	/* A reload changed jabclnd.subscriptions: decides the next requests. */
	void set_policy(Policy policy) { policy_ = policy; }
	/* The connection ended: every flag the mirror set goes back to false. */
	void stop();

	/* The enabled logins of openfire_users, read at each wake. */
	void set_enabled_logins(const std::set<std::string> &logins);
	/* The server's roster: the whole of it (after a get) or one push. */
	void roster(const std::map<std::string, std::string> &items, bool complete);
	void presence(const Update &update);
	void subscription_request(const std::string &jid);
	void unsubscribe_request(const std::string &jid);

	std::vector<RosterAction> take_actions();
	std::vector<Change> take_changes();
	std::vector<ResourceChange> take_resource_changes();
	/* True once after stop(): reset every available flag and empty xmpp_presence, first. */
	bool take_reset();

	/* The login a JID stands for, or "" if it is not one of ours. */
	std::string login_of(const std::string &jid) const;
	/*
	 * Whether a message `from` this JID is stored under `senders`. The
	 * account's own server and the account itself are always heard; the
	 * roster is the one of this connection (nothing before it arrived).
	 */
	bool accepts_message_from(const std::string &from, Senders senders) const;

  private:
	void sync_roster();
	void ask_for_presence(const std::string &jid);
	void recompute(const std::string &login);
	void forget_contact(const std::string &jid);
	void follow_resource(const Update &update);

	std::string domain_;
	std::string own_bare_;
	Policy policy_ = Policy::openfire_users;
	bool away_is_available_ = true;
	bool online_ = false;
	bool roster_known_ = false;
	bool reset_ = true; /* a new worker knows nothing: reset first */

	std::set<std::string> enabled_;
	bool enabled_known_ = false;
	std::map<std::string, std::string> roster_; /* bare JID -> subscription */
	std::set<std::string> subscribing_;         /* subscribe sent this session, not yet in roster */
	std::set<std::string> declined_; /* unsubscribed from us: not asked again until re-enabled */
	std::map<std::string, std::set<std::string>> present_; /* login -> available resources */
	std::map<std::string, bool> published_;                /* login -> what the table says */
	std::vector<RosterAction> actions_;
	std::vector<Change> changes_;
	std::map<std::string, std::set<std::string>> resources_; /* contact -> resources published */
	std::vector<ResourceChange> resource_changes_;
};

} // namespace presence
