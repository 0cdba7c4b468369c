/*
 * presence_test.cpp: unit tests of src/core/presence.cpp, the rules of the
 * presence mirror (README.md, "Presence and Openfire"), with GoogleTest.
 *
 * The mirror is fed what the worker feeds it (enabled logins, roster,
 * presence, subscription requests) and asked what the worker asks it: the
 * roster actions to carry out, the openfire_users.available changes to
 * write, and whether to reset every flag first. A small model of the table
 * (Table below) applies the reset and the changes the way the worker's
 * store does, so that tests can state what the table ends up saying.
 *
 * Vocabulary: the bot is bot@example.org; alice, bob and carol are logins
 * (openfire_users rows) on its domain.
 */
#include "core/presence.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

using presence::Change;
using presence::Mirror;
using presence::Policy;
using presence::RosterAction;
using presence::Update;

namespace
{

const char *const OWN_JID = "bot@example.org/jabclnd";

Update
available(const std::string &jid, const std::string &show = "")
{
	Update update;
	update.jid = jid;
	update.available = true;
	update.show = show;
	return update;
}

Update
unavailable(const std::string &jid)
{
	Update update;
	update.jid = jid;
	update.available = false;
	return update;
}

std::string
kind_name(RosterAction::Kind kind)
{
	switch (kind)
	{
	case RosterAction::add_and_subscribe:
		return "add_and_subscribe";
	case RosterAction::remove:
		return "remove";
	case RosterAction::approve:
		return "approve";
	case RosterAction::refuse:
		return "refuse";
	}
	return "?";
}

/* The actions the mirror asks for, as "kind jid" strings, in order. */
std::vector<std::string>
actions(Mirror &mirror)
{
	std::vector<std::string> out;
	for (const RosterAction &action : mirror.take_actions())
		out.push_back(kind_name(action.kind) + " " + action.jid);
	return out;
}

/* The changes the mirror asks for, as "login=true|false" strings, in order. */
std::vector<std::string>
changes(Mirror &mirror)
{
	std::vector<std::string> out;
	for (const Change &change : mirror.take_changes())
		out.push_back(change.login + (change.available ? "=true" : "=false"));
	return out;
}

using Strings = std::vector<std::string>;

/*
 * openfire_users.available as the worker writes it: a reset sets every
 * flag to false, then the changes are applied in order.
 */
struct Table
{
	std::map<std::string, bool> available;

	void apply(Mirror &mirror)
	{
		if (mirror.take_reset())
			for (auto &row : available)
				row.second = false;
		for (const Change &change : mirror.take_changes())
			available[change.login] = change.available;
	}

	bool says(const std::string &login) const
	{
		auto row = available.find(login);
		return row != available.end() && row->second;
	}
};

/*
 * A mirror logged in as bot@example.org with the given enabled logins, the
 * roster fetched (empty unless given), and everything it asked for so far
 * taken, so that each test sees only what its own events cause.
 */
void
online(Mirror &mirror, const std::set<std::string> &logins, Policy policy = Policy::openfire_users,
       bool away_is_available = true, const std::map<std::string, std::string> &roster = {})
{
	mirror.set_enabled_logins(logins);
	mirror.start(OWN_JID, policy, away_is_available);
	mirror.roster(roster, true);
	mirror.take_actions();
	mirror.take_changes();
	mirror.take_reset();
}

/* Every enabled login already subscribed to ("to"), so the roster asks nothing. */
std::map<std::string, std::string>
subscribed(const std::set<std::string> &logins)
{
	std::map<std::string, std::string> roster;
	for (const std::string &login : logins)
		roster[login + "@example.org"] = "to";
	return roster;
}

} // namespace

/* ------------------------------------------------------------ login_of */

TEST(LoginOf, OwnDomainOnlyLowerCasedAndNotTheBotItself)
{
	Mirror mirror;
	mirror.start("Bot@Example.ORG/jabclnd", Policy::openfire_users, true);
	EXPECT_EQ(mirror.login_of("alice@example.org"), "alice");
	EXPECT_EQ(mirror.login_of("alice@example.org/phone"), "alice");
	EXPECT_EQ(mirror.login_of("Alice@EXAMPLE.org/Phone"), "alice");
	EXPECT_EQ(mirror.login_of("alice@other.org/phone"), "");
	EXPECT_EQ(mirror.login_of("alice@sub.example.org"), "");
	EXPECT_EQ(mirror.login_of("alice@example.org.evil"), "");
	EXPECT_EQ(mirror.login_of("example.org"), "");
	EXPECT_EQ(mirror.login_of("@example.org"), "");
	EXPECT_EQ(mirror.login_of("bot@example.org/other-resource"), "");
	EXPECT_EQ(mirror.login_of("BOT@example.org"), "");
}

/* ------------------------------------------------------ availability */

TEST(Availability, AvailableWhileAtLeastOneResourceIs)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));

	mirror.presence(available("alice@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings({"alice=true"}));
	mirror.presence(available("alice@example.org/laptop"));
	EXPECT_EQ(changes(mirror), Strings()) << "a second resource is no change";
	mirror.presence(unavailable("alice@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings()) << "the laptop is still there";
	mirror.presence(unavailable("alice@example.org/laptop"));
	EXPECT_EQ(changes(mirror), Strings({"alice=false"}));
}

TEST(Availability, ABareJidCountsAsOneResource)
{
	Mirror mirror;
	online(mirror, {"alice"});
	mirror.presence(available("alice@example.org"));
	EXPECT_EQ(changes(mirror), Strings({"alice=true"}));
	mirror.presence(unavailable("alice@example.org"));
	EXPECT_EQ(changes(mirror), Strings({"alice=false"}));
}

TEST(Availability, ChangesOnlyOnARealChange)
{
	Mirror mirror;
	online(mirror, {"alice"});
	mirror.presence(unavailable("alice@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings()) << "unavailable while unavailable";
	mirror.presence(available("alice@example.org/phone"));
	mirror.presence(available("alice@example.org/phone"));
	mirror.presence(available("alice@example.org/phone", "chat"));
	mirror.presence(available("alice@example.org/phone", "away"));
	EXPECT_EQ(changes(mirror), Strings({"alice=true"})) << "repeated presence is one change";
	mirror.presence(unavailable("alice@example.org/phone"));
	mirror.presence(unavailable("alice@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings({"alice=false"}));
}

TEST(Availability, AwayXaDndCountAsAvailableByDefault)
{
	for (const char *show : {"away", "xa", "dnd", "chat", ""})
	{
		Mirror mirror;
		online(mirror, {"alice"});
		mirror.presence(available("alice@example.org/phone", show));
		EXPECT_EQ(changes(mirror), Strings({"alice=true"})) << "show " << show;
	}
}

TEST(Availability, AwayXaDndCountAsUnavailableWhenAwayIsNotAvailable)
{
	for (const char *show : {"away", "xa", "dnd"})
	{
		Mirror mirror;
		online(mirror, {"alice"}, Policy::openfire_users, false);
		mirror.presence(available("alice@example.org/phone", show));
		EXPECT_EQ(changes(mirror), Strings()) << "show " << show;
	}
	for (const char *show : {"chat", ""})
	{
		Mirror mirror;
		online(mirror, {"alice"}, Policy::openfire_users, false);
		mirror.presence(available("alice@example.org/phone", show));
		EXPECT_EQ(changes(mirror), Strings({"alice=true"})) << "show " << show;
	}
}

TEST(Availability, GoingAwayWhenAwayIsNotAvailable)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, false);
	mirror.presence(available("alice@example.org/phone"));
	mirror.presence(available("alice@example.org/laptop"));
	EXPECT_EQ(changes(mirror), Strings({"alice=true"}));
	mirror.presence(available("alice@example.org/phone", "away"));
	EXPECT_EQ(changes(mirror), Strings()) << "the laptop is still available";
	mirror.presence(available("alice@example.org/laptop", "xa"));
	EXPECT_EQ(changes(mirror), Strings({"alice=false"}));
	mirror.presence(available("alice@example.org/laptop", "chat"));
	EXPECT_EQ(changes(mirror), Strings({"alice=true"}));
}

TEST(Availability, LoginsCompareCaseInsensitively)
{
	Mirror mirror;
	mirror.set_enabled_logins({"alice"});
	mirror.start("Bot@Example.ORG/jabclnd", Policy::openfire_users, true);
	mirror.roster({}, true);
	mirror.take_actions();
	mirror.presence(available("ALICE@EXAMPLE.ORG/Phone"));
	EXPECT_EQ(changes(mirror), Strings({"alice=true"}));
	mirror.presence(unavailable("Alice@example.org/Phone"));
	EXPECT_EQ(changes(mirror), Strings({"alice=false"}));
}

TEST(Availability, ResourcesAreCaseSensitive)
{
	Mirror mirror;
	online(mirror, {"alice"});
	mirror.presence(available("alice@example.org/Phone"));
	mirror.presence(unavailable("alice@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings({"alice=true"})) << "/phone is another resource";
}

TEST(Availability, OtherDomainsAndTheBotItselfAreIgnored)
{
	Mirror mirror;
	online(mirror, {"alice", "bot"});
	mirror.presence(available("alice@other.org/phone"));
	mirror.presence(available("alice@conference.example.org/nick"));
	mirror.presence(available("bot@example.org/other-client"));
	mirror.presence(available("example.org"));
	EXPECT_EQ(changes(mirror), Strings());
}

TEST(Availability, OnlyEnabledLoginsAreMirrored)
{
	Mirror mirror;
	online(mirror, {"alice"});
	mirror.presence(available("bob@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings());
	mirror.presence(available("alice@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings({"alice=true"}));
}

TEST(Availability, EnablingALoginThatIsAlreadyOnline)
{
	/* Presence can arrive before the row is enabled (policy all). */
	Mirror mirror;
	online(mirror, {"alice"}, Policy::all);
	mirror.presence(available("bob@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings());
	mirror.set_enabled_logins({"alice", "bob"});
	EXPECT_EQ(changes(mirror), Strings({"bob=true"}));
}

TEST(Availability, NothingWhileOffline)
{
	Mirror mirror;
	mirror.set_enabled_logins({"alice"});
	mirror.presence(available("alice@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings()) << "before start()";
	online(mirror, {"alice"});
	mirror.stop();
	mirror.presence(available("alice@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings()) << "after stop()";
}

TEST(Availability, StartForgetsThePreviousConnectionsResources)
{
	Mirror mirror;
	Table table;
	online(mirror, {"alice"});
	mirror.presence(available("alice@example.org/phone"));
	table.apply(mirror);
	EXPECT_TRUE(table.says("alice"));
	mirror.stop();
	table.apply(mirror);
	EXPECT_FALSE(table.says("alice"));
	online(mirror, {"alice"});
	table.apply(mirror);
	mirror.presence(unavailable("alice@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings()) << "nothing to take back";
	mirror.presence(available("alice@example.org/laptop"));
	EXPECT_EQ(changes(mirror), Strings({"alice=true"}));
}

/* ------------------------------------------------- enabling, disabling */

TEST(EnabledLogins, DisablingAnAvailableLoginTakesItBackAndRemovesIt)
{
	Mirror mirror;
	online(mirror, {"alice", "bob"}, Policy::openfire_users, true, subscribed({"alice", "bob"}));
	mirror.presence(available("alice@example.org/phone"));
	mirror.presence(available("bob@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings({"alice=true", "bob=true"}));

	mirror.set_enabled_logins({"bob"});
	EXPECT_EQ(changes(mirror), Strings({"alice=false"}));
	EXPECT_EQ(actions(mirror), Strings({"remove alice@example.org"}));

	/* Her presence no longer counts, whatever arrives. */
	mirror.presence(available("alice@example.org/laptop"));
	EXPECT_EQ(changes(mirror), Strings());
}

TEST(EnabledLogins, DisablingAnUnavailableLoginRemovesItWithoutAChange)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::all, true, subscribed({"alice"}));
	mirror.set_enabled_logins({});
	EXPECT_EQ(changes(mirror), Strings());
	EXPECT_EQ(actions(mirror), Strings({"remove alice@example.org"}));
}

TEST(EnabledLogins, DisablingALoginStillBeingAskedCancelsTheRequest)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::all, true, subscribed({"alice"}));
	mirror.set_enabled_logins({"alice", "carol"});
	EXPECT_EQ(actions(mirror), Strings({"add_and_subscribe carol@example.org"}));
	/* carol was asked: removing her cancels that request. */
	mirror.set_enabled_logins({"alice"});
	EXPECT_EQ(actions(mirror), Strings({"remove carol@example.org"}));
	/* Offline, nothing is asked of the server. */
	mirror.stop();
	mirror.set_enabled_logins({});
	EXPECT_EQ(actions(mirror), Strings());
}

TEST(EnabledLogins, TheSameSetAgainChangesNothing)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.presence(available("alice@example.org/phone"));
	changes(mirror);
	for (int i = 0; i < 3; i++)
	{
		mirror.set_enabled_logins({"alice"});
		EXPECT_EQ(changes(mirror), Strings());
		EXPECT_EQ(actions(mirror), Strings());
	}
}

/* -------------------------------------------------------------- reset */

TEST(Reset, TrueOnceForANewMirror)
{
	Mirror mirror;
	EXPECT_TRUE(mirror.take_reset()) << "a new worker knows nothing of the table";
	EXPECT_FALSE(mirror.take_reset());
}

TEST(Reset, AfterStopWhenSomethingWasPublished)
{
	Mirror mirror;
	online(mirror, {"alice"});
	mirror.presence(available("alice@example.org/phone"));
	changes(mirror);
	mirror.stop();
	EXPECT_TRUE(mirror.take_reset());
	EXPECT_FALSE(mirror.take_reset());
	EXPECT_EQ(changes(mirror), Strings()) << "the reset says it all";
}

TEST(Reset, NotAfterStopWhenNothingWasPublished)
{
	Mirror mirror;
	online(mirror, {"alice"});
	mirror.stop();
	EXPECT_FALSE(mirror.take_reset());

	/* Published and taken back before the stop: the table says false. */
	online(mirror, {"alice"});
	mirror.presence(available("alice@example.org/phone"));
	mirror.presence(unavailable("alice@example.org/phone"));
	EXPECT_EQ(changes(mirror), Strings({"alice=true", "alice=false"}));
	mirror.stop();
	EXPECT_FALSE(mirror.take_reset());

	/* Only presence of logins that are not enabled: nothing published. */
	online(mirror, {"alice"});
	mirror.presence(available("bob@example.org/phone"));
	mirror.stop();
	EXPECT_FALSE(mirror.take_reset());
}

TEST(Reset, TheTableEndsAllFalseAfterStop)
{
	Mirror mirror;
	Table table;
	online(mirror, {"alice", "bob", "carol"});
	table.apply(mirror);
	mirror.presence(available("alice@example.org/phone"));
	mirror.presence(available("bob@example.org/phone"));
	table.apply(mirror);
	EXPECT_TRUE(table.says("alice"));
	EXPECT_TRUE(table.says("bob"));
	mirror.presence(available("carol@example.org/phone"));
	mirror.stop(); /* before carol's change was taken */
	table.apply(mirror);
	EXPECT_FALSE(table.says("alice"));
	EXPECT_FALSE(table.says("bob"));
	EXPECT_FALSE(table.says("carol"));
}

/*
 * A change to false produced but not yet taken when the connection ends:
 * stop() drops it, and must not leave the table saying true. (The worker
 * takes changes right after feeding events, so this needs a stop() between
 * the two; the rule "every flag the mirror set goes back to false" holds
 * whatever the caller's timing.)
 */
TEST(Reset, ATakenBackFlagPendingAtStopStillEndsFalse)
{
	Mirror mirror;
	Table table;
	online(mirror, {"alice"});
	mirror.presence(available("alice@example.org/phone"));
	table.apply(mirror);
	ASSERT_TRUE(table.says("alice"));
	mirror.presence(unavailable("alice@example.org/phone")); /* alice=false, not taken */
	mirror.stop();
	table.apply(mirror);
	EXPECT_FALSE(table.says("alice"))
	    << "stop() dropped the pending alice=false and asked for no reset";
}

/* ------------------------------------------------------------- roster */

TEST(Roster, EnabledLoginsNotInTheRosterAreAddedAndAskedOnce)
{
	Mirror mirror;
	mirror.set_enabled_logins({"alice", "bob"});
	mirror.start(OWN_JID, Policy::openfire_users, true);
	EXPECT_EQ(actions(mirror), Strings()) << "nothing before the roster is known";
	mirror.roster({}, true);
	EXPECT_EQ(actions(mirror), Strings({"add_and_subscribe alice@example.org",
	                                    "add_and_subscribe bob@example.org"}));
	/* The server pushes the items added, not yet subscribed (ask=subscribe). */
	mirror.roster({{"alice@example.org", "none"}}, false);
	mirror.roster({{"bob@example.org", "none"}}, false);
	EXPECT_EQ(actions(mirror), Strings()) << "not asked again on every push";
	mirror.set_enabled_logins({"alice", "bob"});
	mirror.roster({{"alice@example.org", "none"}, {"bob@example.org", "none"}}, true);
	EXPECT_EQ(actions(mirror), Strings()) << "nor at the next wake or roster fetch";
	/* They approve. */
	mirror.roster({{"alice@example.org", "to"}}, false);
	mirror.roster({{"bob@example.org", "both"}}, false);
	EXPECT_EQ(actions(mirror), Strings());
}

TEST(Roster, EnabledLoginsWeAlreadySeeAreLeftAlone)
{
	Mirror mirror;
	mirror.set_enabled_logins({"alice", "bob"});
	mirror.start(OWN_JID, Policy::openfire_users, true);
	mirror.roster({{"alice@example.org", "to"}, {"Bob@Example.org", "both"}}, true);
	EXPECT_EQ(actions(mirror), Strings());
}

TEST(Roster, AnItemWeDoNotSeeIsAskedFor)
{
	/* "from": they see us, we do not see them; "none": neither. */
	Mirror mirror;
	mirror.set_enabled_logins({"alice", "bob"});
	mirror.start(OWN_JID, Policy::openfire_users, true);
	mirror.roster({{"alice@example.org", "from"}, {"bob@example.org", "none"}}, true);
	EXPECT_EQ(actions(mirror), Strings({"add_and_subscribe alice@example.org",
	                                    "add_and_subscribe bob@example.org"}));
}

TEST(Roster, ALoginEnabledLaterIsAddedOnce)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.set_enabled_logins({"alice", "carol"});
	EXPECT_EQ(actions(mirror), Strings({"add_and_subscribe carol@example.org"}));
	mirror.set_enabled_logins({"alice", "carol"});
	EXPECT_EQ(actions(mirror), Strings());
}

TEST(Roster, EnabledLoginsKnownOnlyAfterTheRosterAreAddedThen)
{
	Mirror mirror;
	mirror.start(OWN_JID, Policy::openfire_users, true);
	mirror.roster({}, true);
	EXPECT_EQ(actions(mirror), Strings()) << "the enabled logins are not known yet";
	mirror.set_enabled_logins({"alice"});
	EXPECT_EQ(actions(mirror), Strings({"add_and_subscribe alice@example.org"}));
}

TEST(Roster, TheBotsOwnJidIsNeverAddedToItsRoster)
{
	/* A user whose login is the account's local part (openfire_users_view
	 * lets the account shadow it) is the bot itself, not a contact. */
	Mirror mirror;
	mirror.set_enabled_logins({"alice", "bot"});
	mirror.start(OWN_JID, Policy::openfire_users, true);
	mirror.roster({}, true);
	EXPECT_EQ(actions(mirror), Strings({"add_and_subscribe alice@example.org"}));
}

TEST(Roster, PolicyOpenfireUsersRemovesOwnDomainItemsThatAreNotEnabledLogins)
{
	Mirror mirror;
	mirror.set_enabled_logins({"alice"});
	mirror.start(OWN_JID, Policy::openfire_users, true);
	mirror.roster({{"alice@example.org", "both"},
	               {"bob@example.org", "both"},             /* not enabled: removed */
	               {"carol@example.org", "from"},           /* not enabled: removed */
	               {"dave@other.org", "both"},              /* another domain: kept */
	               {"room@conference.example.org", "both"}, /* not our domain: kept */
	               {"example.org", "both"},                 /* the server: kept */
	               {"bot@example.org", "both"}},            /* the bot itself: kept */
	              true);
	EXPECT_EQ(actions(mirror), Strings({"remove bob@example.org", "remove carol@example.org"}));
	/* Removed once: the server's pushes of the removal ask nothing more. */
	mirror.roster({{"bob@example.org", "remove"}}, false);
	mirror.roster({{"carol@example.org", "remove"}}, false);
	EXPECT_EQ(actions(mirror), Strings());
	/* A push of another stranger on our domain removes it too. */
	mirror.roster({{"erin@example.org", "none"}}, false);
	EXPECT_EQ(actions(mirror), Strings({"remove erin@example.org"}));
}

TEST(Roster, OtherPoliciesKeepOwnDomainItemsThatAreNotEnabledLogins)
{
	for (Policy policy : {Policy::all, Policy::none})
	{
		Mirror mirror;
		mirror.set_enabled_logins({"alice"});
		mirror.start(OWN_JID, policy, true);
		mirror.roster({{"alice@example.org", "both"},
		               {"bob@example.org", "both"},
		               {"dave@other.org", "both"}},
		              true);
		EXPECT_EQ(actions(mirror), Strings()) << "policy " << static_cast<int>(policy);
		mirror.roster({{"erin@example.org", "from"}}, false);
		EXPECT_EQ(actions(mirror), Strings()) << "policy " << static_cast<int>(policy);
	}
}

TEST(Roster, EveryPolicyAddsEnabledLogins)
{
	for (Policy policy : {Policy::openfire_users, Policy::all, Policy::none})
	{
		Mirror mirror;
		mirror.set_enabled_logins({"alice"});
		mirror.start(OWN_JID, policy, true);
		mirror.roster({}, true);
		EXPECT_EQ(actions(mirror), Strings({"add_and_subscribe alice@example.org"}))
		    << "policy " << static_cast<int>(policy);
	}
}

TEST(Roster, AnItemRemovedElsewhereIsAddedAgain)
{
	/* The roster is changed by another client of the bot's account. */
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.roster({{"alice@example.org", "remove"}}, false);
	EXPECT_EQ(actions(mirror), Strings({"add_and_subscribe alice@example.org"}));
}

/* ------------------------------------------------ subscription requests */

TEST(SubscriptionRequest, OpenfireUsersApprovesEnabledLoginsAndSubscribesBack)
{
	/* The request comes before the roster is fetched. */
	Mirror mirror;
	mirror.set_enabled_logins({"alice"});
	mirror.start(OWN_JID, Policy::openfire_users, true);
	mirror.subscription_request("Alice@Example.org/phone");
	EXPECT_EQ(actions(mirror),
	          Strings({"approve alice@example.org", "add_and_subscribe alice@example.org"}));
	/* The roster then arrives without her: she is not asked twice. */
	mirror.roster({}, true);
	EXPECT_EQ(actions(mirror), Strings());
}

TEST(SubscriptionRequest, ApprovesWithoutAskingWhenWeAlreadySeeThem)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.subscription_request("alice@example.org");
	EXPECT_EQ(actions(mirror), Strings({"approve alice@example.org"}));
}

TEST(SubscriptionRequest, OpenfireUsersRefusesEveryoneElse)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.subscription_request("bob@example.org/phone"); /* not enabled */
	mirror.subscription_request("alice@other.org");       /* another domain */
	mirror.subscription_request("bot@example.org/other"); /* the bot itself */
	mirror.subscription_request("example.org");           /* the server */
	EXPECT_EQ(actions(mirror), Strings({"refuse bob@example.org", "refuse alice@other.org",
	                                    "refuse bot@example.org", "refuse example.org"}));
}

TEST(SubscriptionRequest, AllApprovesAnyoneAndSubscribesBack)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::all, true, subscribed({"alice"}));
	mirror.subscription_request("Stranger@Other.org/x");
	mirror.subscription_request("bob@example.org");
	EXPECT_EQ(actions(mirror),
	          Strings({"approve stranger@other.org", "add_and_subscribe stranger@other.org",
	                   "approve bob@example.org", "add_and_subscribe bob@example.org"}));
	/* Asked once: a repeated request is approved again, not asked again. */
	mirror.subscription_request("stranger@other.org");
	EXPECT_EQ(actions(mirror), Strings({"approve stranger@other.org"}));
	/* And the roster sync leaves them alone under this policy. */
	mirror.roster({{"stranger@other.org", "from"}, {"bob@example.org", "from"}}, false);
	EXPECT_EQ(actions(mirror), Strings());
}

TEST(SubscriptionRequest, NoneRefusesEveryoneEvenEnabledLogins)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::none, true, subscribed({"alice"}));
	mirror.subscription_request("alice@example.org");
	mirror.subscription_request("stranger@other.org");
	EXPECT_EQ(actions(mirror), Strings({"refuse alice@example.org", "refuse stranger@other.org"}));
}

TEST(SubscriptionRequest, APolicyChangeAppliesToTheNextRequest)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::none, true, subscribed({"alice"}));
	mirror.subscription_request("alice@example.org");
	mirror.set_policy(Policy::openfire_users);
	mirror.subscription_request("alice@example.org");
	EXPECT_EQ(actions(mirror), Strings({"refuse alice@example.org", "approve alice@example.org"}));
}

/* ------------------------------------------------ unsubscribe requests */

TEST(UnsubscribeRequest, RemovesAndDoesNotAskAgainUntilReEnabled)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.unsubscribe_request("Alice@example.org/phone");
	EXPECT_EQ(actions(mirror), Strings({"remove alice@example.org"}));

	/* The server confirms the removal; wakes and roster fetches follow. */
	mirror.roster({{"alice@example.org", "remove"}}, false);
	mirror.set_enabled_logins({"alice"});
	mirror.roster({}, true);
	EXPECT_EQ(actions(mirror), Strings()) << "no automatic re-subscribe";

	/* Disabled and enabled again: asked anew. */
	mirror.set_enabled_logins({});
	actions(mirror);
	mirror.set_enabled_logins({"alice"});
	EXPECT_EQ(actions(mirror), Strings({"add_and_subscribe alice@example.org"}));
}

TEST(UnsubscribeRequest, FromAStrangerRemovesIt)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::all, true, subscribed({"alice"}));
	mirror.unsubscribe_request("stranger@other.org");
	EXPECT_EQ(actions(mirror), Strings({"remove stranger@other.org"}));
}

/*
 * "Until the login is re-enabled": a reconnect (stop() and start(), e.g.
 * after a lost connection or a ping timeout) is not a re-enable, so the
 * user who unsubscribed must not be asked again when the roster is fetched
 * on the new connection.
 */
TEST(UnsubscribeRequest, NotAskedAgainAfterAReconnect)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.unsubscribe_request("alice@example.org");
	mirror.roster({{"alice@example.org", "remove"}}, false);
	EXPECT_EQ(actions(mirror), Strings({"remove alice@example.org"}));

	mirror.stop();
	mirror.set_enabled_logins({"alice"});
	mirror.start(OWN_JID, Policy::openfire_users, true);
	mirror.roster({}, true);
	EXPECT_EQ(actions(mirror), Strings()) << "re-subscribed alice after a reconnect";
}

/*
 * After unsubscribing, the user asks for the bot's presence again herself:
 * the policy accepts her, and accepting means subscribing back (README:
 * "accept enabled users on the account's domain, and subscribe back"). The
 * user's own request is not the automatic re-subscribe the rule above
 * forbids.
 */
TEST(UnsubscribeRequest, AFreshRequestFromTheUserIsAcceptedAndSubscribedBack)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.unsubscribe_request("alice@example.org");
	mirror.roster({{"alice@example.org", "remove"}}, false);
	actions(mirror);

	mirror.subscription_request("alice@example.org/phone");
	EXPECT_EQ(actions(mirror),
	          Strings({"approve alice@example.org", "add_and_subscribe alice@example.org"}));
}

/* ------------------------------------------------ xmpp_presence resources */

namespace
{

/*
 * xmpp_presence as the worker writes it: a reset empties it, then each
 * change writes (available) or deletes (unavailable) one row.
 */
struct ResourceTable
{
	std::map<std::string, std::string> rows; /* "jid/resource" -> "show|status|priority" */

	void apply(Mirror &mirror)
	{
		if (mirror.take_reset())
			rows.clear();
		for (const presence::ResourceChange &c : mirror.take_resource_changes())
		{
			const std::string key = c.jid + "/" + c.resource;
			if (c.available)
				rows[key] = c.show + "|" + c.status + "|" + std::to_string(c.priority);
			else
				rows.erase(key);
		}
	}
};

Update
with_status(Update update, const std::string &status, int priority)
{
	update.status = status;
	update.priority = priority;
	return update;
}

} // namespace

TEST(Resources, EachResourceOfAContactIsARowUntilItLeaves)
{
	Mirror mirror;
	ResourceTable table;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.presence(with_status(available("Alice@Example.org/phone", "away"), "on the road", 5));
	mirror.presence(available("alice@example.org/desk"));
	table.apply(mirror);
	EXPECT_EQ(table.rows,
	          (std::map<std::string, std::string>{{"alice@example.org/phone", "away|on the road|5"},
	                                              {"alice@example.org/desk", "||0"}}));

	mirror.presence(with_status(available("alice@example.org/desk", "dnd"), "meeting", 0));
	mirror.presence(unavailable("alice@example.org/phone"));
	table.apply(mirror);
	EXPECT_EQ(table.rows,
	          (std::map<std::string, std::string>{{"alice@example.org/desk", "dnd|meeting|0"}}));
}

TEST(Resources, AwayResourcesAreRowsEvenWhenAwayIsNotAvailable)
{
	Mirror mirror;
	ResourceTable table;
	online(mirror, {"alice"}, Policy::openfire_users, false, subscribed({"alice"}));
	mirror.presence(available("alice@example.org/phone", "xa"));
	table.apply(mirror);
	EXPECT_EQ(table.rows.count("alice@example.org/phone"), 1u);
	EXPECT_EQ(changes(mirror), Strings{});
}

TEST(Resources, OnlyContactsWhosePresenceWeReceiveAreRows)
{
	Mirror mirror;
	ResourceTable table;
	online(
	    mirror, {"alice"}, Policy::all, true,
	    {{"alice@example.org", "both"}, {"dave@elsewhere.net", "to"}, {"eve@example.org", "from"}});
	mirror.presence(available("alice@example.org/a"));
	mirror.presence(available("dave@elsewhere.net/b"));
	mirror.presence(available("eve@example.org/c"));     /* we do not see her: no row */
	mirror.presence(available("mallory@example.net/d")); /* a stranger's directed presence */
	mirror.presence(available("bot@example.org/other")); /* the bot's own other resource */
	table.apply(mirror);
	EXPECT_EQ(table.rows, (std::map<std::string, std::string>{{"alice@example.org/a", "||0"},
	                                                          {"dave@elsewhere.net/b", "||0"}}));
}

TEST(Resources, UnavailableFromAResourceWithoutARowChangesNothing)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.presence(unavailable("alice@example.org/never-seen"));
	EXPECT_TRUE(mirror.take_resource_changes().empty());
}

TEST(Resources, AContactLeavingTheRosterTakesItsRowsAlong)
{
	Mirror mirror;
	ResourceTable table;
	online(mirror, {"alice", "bob"}, Policy::openfire_users, true, subscribed({"alice", "bob"}));
	mirror.presence(available("alice@example.org/a"));
	mirror.presence(available("bob@example.org/b"));
	table.apply(mirror);
	mirror.set_enabled_logins({"bob"});            /* alice disabled */
	mirror.unsubscribe_request("bob@example.org"); /* bob unsubscribes */
	table.apply(mirror);
	EXPECT_TRUE(table.rows.empty());
}

TEST(Resources, ARosterPushThatStopsOurSubscriptionRemovesTheRows)
{
	Mirror mirror;
	ResourceTable table;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.presence(available("alice@example.org/a"));
	table.apply(mirror);
	mirror.roster({{"alice@example.org", "none"}}, false);
	table.apply(mirror);
	EXPECT_TRUE(table.rows.empty());
}

TEST(Resources, StopEmptiesTheTableThroughTheReset)
{
	Mirror mirror;
	ResourceTable table;
	online(mirror, {"alice"}, Policy::openfire_users, true, subscribed({"alice"}));
	mirror.presence(available("alice@example.org/a"));
	table.apply(mirror);
	mirror.presence(available("alice@example.org/b")); /* pending at stop */
	mirror.stop();
	table.apply(mirror);
	EXPECT_TRUE(table.rows.empty());
}

/* ------------------------------------------------- accepts_message_from */

TEST(MessagesFrom, AnyoneHearsEveryone)
{
	Mirror mirror;
	online(mirror, {"alice"});
	for (const char *from : {"stranger@elsewhere.org/x", "alice@example.org/phone", "", "x.org"})
		EXPECT_TRUE(mirror.accepts_message_from(from, presence::Senders::anyone)) << from;
}

TEST(MessagesFrom, RosterHearsItsItemsWhateverTheirSubscription)
{
	Mirror mirror;
	online(mirror, {}, Policy::all, true,
	       {{"friend@elsewhere.org", "both"}, {"asked@elsewhere.org", "none"}});
	const presence::Senders roster = presence::Senders::roster;
	EXPECT_TRUE(mirror.accepts_message_from("friend@elsewhere.org/x", roster));
	EXPECT_TRUE(mirror.accepts_message_from("Friend@Elsewhere.org/y", roster));
	EXPECT_TRUE(mirror.accepts_message_from("asked@elsewhere.org", roster));
	EXPECT_FALSE(mirror.accepts_message_from("stranger@elsewhere.org/x", roster));
	EXPECT_FALSE(mirror.accepts_message_from("elsewhere.org", roster));
}

TEST(MessagesFrom, OpenfireUsersHearsEnabledLoginsOfTheOwnDomainOnly)
{
	Mirror mirror;
	online(mirror, {"alice"}, Policy::openfire_users, true, {{"bob@example.org", "both"}});
	const presence::Senders users = presence::Senders::openfire_users;
	EXPECT_TRUE(mirror.accepts_message_from("alice@example.org/phone", users));
	EXPECT_TRUE(mirror.accepts_message_from("ALICE@example.org/phone", users));
	EXPECT_FALSE(mirror.accepts_message_from("bob@example.org/x", users)) << "in the roster only";
	EXPECT_FALSE(mirror.accepts_message_from("alice@elsewhere.org/x", users));
	mirror.set_enabled_logins({});
	EXPECT_FALSE(mirror.accepts_message_from("alice@example.org/phone", users));
}

TEST(MessagesFrom, TheOwnServerAndAccountAreAlwaysHeard)
{
	Mirror mirror;
	online(mirror, {});
	for (presence::Senders senders : {presence::Senders::roster, presence::Senders::openfire_users})
	{
		EXPECT_TRUE(mirror.accepts_message_from("", senders));
		EXPECT_TRUE(mirror.accepts_message_from("example.org", senders));
		EXPECT_TRUE(mirror.accepts_message_from("bot@example.org", senders));
		EXPECT_FALSE(mirror.accepts_message_from("example.org/announce", senders))
		    << "a resource of the server is not the server";
	}
}
