/*
 * presence.cpp: the rules of the presence mirror (see presence.h).
 *
 * JIDs are compared lower-cased: XMPP compares domains and, for the local
 * parts Openfire and Prosody hand out, local parts case-insensitively.
 */
#include "core/presence.h"

#include "core/jid.h"

namespace presence
{

namespace
{

using jid::bare_key;

/* Subscriptions under which the contact's presence reaches us. */
bool
we_see_them(const std::string &subscription)
{
	return subscription == "to" || subscription == "both";
}

} // namespace

void
Mirror::start(const std::string &own_jid, Policy policy, bool away_is_available)
{
	own_bare_ = bare_key(own_jid);
	domain_ = own_bare_.substr(own_bare_.find('@') + 1);
	policy_ = policy;
	away_is_available_ = away_is_available;
	online_ = true;
	roster_known_ = false;
	roster_.clear();
	subscribing_.clear();
	present_.clear();
}

void
Mirror::stop()
{
	online_ = false;
	roster_known_ = false;
	roster_.clear();
	subscribing_.clear();
	present_.clear();
	actions_.clear();
	/* A change not yet taken may be a true that reached the table, or a false that did not. */
	if (!published_.empty() || !changes_.empty() || !resources_.empty() ||
	    !resource_changes_.empty())
		reset_ = true;
	changes_.clear();
	published_.clear();
	resources_.clear();
	resource_changes_.clear();
}

/* The contact left the roster: its resources leave xmpp_presence. */
void
Mirror::forget_contact(const std::string &jid)
{
	auto contact = resources_.find(jid);
	if (contact == resources_.end())
		return;
	for (const std::string &resource : contact->second)
		resource_changes_.push_back({jid, resource, false, "", "", 0});
	resources_.erase(contact);
}

std::string
Mirror::login_of(const std::string &jid) const
{
	const std::string bare = bare_key(jid);
	const size_t at = bare.find('@');
	if (at == std::string::npos || at == 0 || bare == own_bare_)
		return "";
	if (bare.compare(at + 1, std::string::npos, domain_) != 0)
		return "";
	return bare.substr(0, at);
}

bool
Mirror::accepts_message_from(const std::string &from, Senders senders) const
{
	if (senders == Senders::anyone || jid::is_own_server(from, own_bare_))
		return true;
	if (senders == Senders::roster)
		return roster_.count(bare_key(from)) > 0;
	const std::string login = login_of(from);
	return !login.empty() && enabled_.count(login) > 0;
}

void
Mirror::set_enabled_logins(const std::set<std::string> &logins)
{
	const std::set<std::string> before = enabled_;
	const bool first = !enabled_known_;
	enabled_ = logins;
	enabled_known_ = true;

	for (const std::string &login : before)
	{
		if (enabled_.count(login))
			continue;
		/* Disabled or deleted: unsubscribe, and the flag we set goes back. */
		const std::string jid = login + "@" + domain_;
		if (online_ && (roster_.count(jid) || subscribing_.count(jid)))
			actions_.push_back({RosterAction::remove, jid});
		roster_.erase(jid);
		forget_contact(jid);
		subscribing_.erase(jid);
		declined_.erase(jid);
		present_.erase(login);
		recompute(login);
	}
	for (const std::string &login : enabled_)
	{
		if (before.count(login))
			continue;
		if (!first)
			declined_.erase(login + "@" + domain_); /* enabled again: ask anew */
		recompute(login);
	}
	if (online_ && roster_known_)
		sync_roster();
}

/*
 * Every enabled login should be in the roster with a subscription that
 * brings us its presence; under the openfire_users policy, users of our
 * domain that are not enabled logins should not be there at all.
 */
void
Mirror::sync_roster()
{
	for (const std::string &login : enabled_)
	{
		const std::string jid = login + "@" + domain_;
		if (jid == own_bare_ || declined_.count(jid))
			continue; /* the bot itself (a login may shadow it), or a user who said no */
		ask_for_presence(jid);
	}
	if (policy_ != Policy::openfire_users)
		return;
	for (auto item = roster_.begin(); item != roster_.end();)
	{
		const std::string login = login_of(item->first);
		if (!login.empty() && !enabled_.count(login))
		{
			actions_.push_back({RosterAction::remove, item->first});
			forget_contact(item->first);
			item = roster_.erase(item);
		}
		else
			++item;
	}
}

void
Mirror::roster(const std::map<std::string, std::string> &items, bool complete)
{
	if (complete)
	{
		roster_.clear();
		roster_known_ = true;
	}
	for (const auto &item : items)
	{
		const std::string jid = bare_key(item.first);
		if (item.second == "remove")
			roster_.erase(jid);
		else
			roster_[jid] = item.second;
		if (!we_see_them(item.second))
			forget_contact(jid);
		if (we_see_them(item.second))
			subscribing_.erase(jid);
	}
	if (online_ && roster_known_ && enabled_known_)
		sync_roster();
}

void
Mirror::presence(const Update &update)
{
	if (!online_)
		return;
	follow_resource(update);
	const std::string login = login_of(update.jid);
	if (login.empty())
		return;
	const bool away = update.show == "away" || update.show == "xa" || update.show == "dnd";
	const std::string resource = jid::resource(update.jid);
	if (update.available && (away_is_available_ || !away))
		present_[login].insert(resource);
	else
	{
		auto resources = present_.find(login);
		if (resources != present_.end())
		{
			resources->second.erase(resource);
			if (resources->second.empty())
				present_.erase(resources);
		}
	}
	recompute(login);
}

/*
 * xmpp_presence holds the resources of contacts: roster items whose
 * presence we receive. Presence from anyone else (a directed presence from
 * a stranger) would let others fill the table.
 */
void
Mirror::follow_resource(const Update &update)
{
	const std::string jid = bare_key(update.jid);
	const std::string resource = jid::resource(update.jid);
	auto item = roster_.find(jid);
	if (item == roster_.end() || !we_see_them(item->second))
		return;
	if (update.available)
	{
		resources_[jid].insert(resource);
		resource_changes_.push_back(
		    {jid, resource, true, update.show, update.status, update.priority});
		return;
	}
	auto contact = resources_.find(jid);
	if (contact == resources_.end() || !contact->second.erase(resource))
		return;
	if (contact->second.empty())
		resources_.erase(contact);
	resource_changes_.push_back({jid, resource, false, "", "", 0});
}

/* Publishes the login's availability if it changed; only enabled logins are mirrored. */
void
Mirror::recompute(const std::string &login)
{
	const bool available = enabled_.count(login) && present_.count(login);
	auto published = published_.find(login);
	const bool before = published != published_.end() && published->second;
	if (available == before)
		return;
	changes_.push_back({login, available});
	if (available)
		published_[login] = true;
	else
		published_.erase(login);
}

void
Mirror::subscription_request(const std::string &jid)
{
	const std::string bare = bare_key(jid);
	const std::string login = login_of(jid);
	const bool accept = policy_ == Policy::all || (policy_ == Policy::openfire_users &&
	                                               !login.empty() && enabled_.count(login));
	if (!accept)
	{
		actions_.push_back({RosterAction::refuse, bare});
		return;
	}
	actions_.push_back({RosterAction::approve, bare});
	/* Whoever asks for our presence now wants the relation, whatever they said before. */
	declined_.erase(bare);
	ask_for_presence(bare);
}

/* Adds jid to the roster and subscribes, unless its presence comes already or was asked for. */
void
Mirror::ask_for_presence(const std::string &jid)
{
	auto item = roster_.find(jid);
	if ((item == roster_.end() || !we_see_them(item->second)) && !subscribing_.count(jid))
	{
		actions_.push_back({RosterAction::add_and_subscribe, jid});
		subscribing_.insert(jid);
	}
}

/*
 * The contact unsubscribed from us: drop it from the roster, and do not
 * ask it again until its openfire_users row is enabled anew.
 */
void
Mirror::unsubscribe_request(const std::string &jid)
{
	const std::string bare = bare_key(jid);
	actions_.push_back({RosterAction::remove, bare});
	roster_.erase(bare);
	forget_contact(bare);
	subscribing_.erase(bare);
	declined_.insert(bare);
}

std::vector<RosterAction>
Mirror::take_actions()
{
	std::vector<RosterAction> taken;
	taken.swap(actions_);
	return taken;
}

std::vector<Change>
Mirror::take_changes()
{
	std::vector<Change> taken;
	taken.swap(changes_);
	return taken;
}

std::vector<ResourceChange>
Mirror::take_resource_changes()
{
	std::vector<ResourceChange> taken;
	taken.swap(resource_changes_);
	return taken;
}

bool
Mirror::take_reset()
{
	const bool reset = reset_;
	reset_ = false;
	return reset;
}

} // namespace presence
