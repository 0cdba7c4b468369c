/*
 * rooms_test.cpp: unit tests of src/core/room.cpp and src/core/rooms.cpp,
 * the group chat rooms (joins, leaves, the answers of rooms, backoffs,
 * self-pings, status lines) and the classification of messages from rooms,
 * with GoogleTest.
 *
 * The rooms are driven as the worker drives them: rows, login, presence,
 * iq answers and messages as plain structs, time passed in; the tests
 * assert the exact actions (as one line each, see line()) and status lines.
 *
 * Vocabulary: the bot is bot@example.org/jabclnd (so its default nick is
 * "bot"), its login token "tok" (ids jabclnd-room-tok-1, -2, ...). DEV is
 * dev@conference.example.org, OPS ops@conference.example.org. The jitter
 * is 0, so each delay is half its bound: rejoins after 15 s, 30 s, ...;
 * errors after 300 s, 600 s, ... (Settings' defaults).
 */
#include "core/rooms.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

using rooms::Action;
using rooms::Lookups;
using rooms::Message;
using rooms::Presence;
using rooms::PublicState;
using rooms::RoomRow;
using rooms::Rooms;
using rooms::RoomStatus;
using rooms::SECOND;
using rooms::SendCheck;
using rooms::Settings;
using rooms::Timestamp;
using rooms::Verdict;

namespace
{

const char *const OWN_JID = "bot@example.org/jabclnd";
const char *const TOKEN = "tok";
const std::string DEV = "dev@conference.example.org";
const std::string OPS = "ops@conference.example.org";
const Timestamp T0 = 802051200 * SECOND; /* 2025-06-01T00:00:00Z */

using Lines = std::vector<std::string>;

RoomRow
row(const std::string &room_jid, const std::string &nick = "", const std::string &password = "",
    bool enabled = true, bool create = false)
{
	RoomRow r;
	r.room_jid = room_jid;
	r.nick = nick;
	r.password = password;
	r.enabled = enabled;
	r.create = create;
	return r;
}

/* An action as one line: its kind, where it goes, and what it carries. */
std::string
line(const Action &action)
{
	switch (action.kind)
	{
	case Action::join:
		return "join " + action.to +
		       (action.password.empty() ? "" : " password=" + action.password) +
		       " since=" + std::to_string(action.history_since) +
		       (action.history_max_stanzas < 0
		            ? ""
		            : " max=" + std::to_string(action.history_max_stanzas));
	case Action::leave:
		return "leave " + action.to;
	case Action::self_ping:
		return "self_ping " + action.to + " " + action.id;
	case Action::configure_instant:
		return "configure_instant " + action.to + " " + action.id;
	case Action::destroy:
		return "destroy " + action.to + " " + action.id + " (" + action.reason + ")";
	case Action::accept_invitation:
		return "accept_invitation " + action.room +
		       (action.password.empty() ? "" : " password=" + action.password);
	}
	return "?";
}

Presence
self_presence(const std::string &room, const std::string &nick, std::vector<int> codes = {110})
{
	Presence p;
	p.from = room + "/" + nick;
	p.status_codes = codes;
	return p;
}

Presence
unavailable(const std::string &room, const std::string &nick, std::vector<int> codes)
{
	Presence p = self_presence(room, nick, codes);
	p.type = "unavailable";
	return p;
}

Presence
refusal(const std::string &room, const std::string &nick, const std::string &condition)
{
	Presence p;
	p.from = room + "/" + nick;
	p.type = "error";
	p.error_condition = condition;
	return p;
}

Message
groupchat(const std::string &from, const std::string &id, const std::string &body = "hello")
{
	Message m;
	m.from = from;
	m.type = "groupchat";
	m.id = id;
	m.has_body = !body.empty();
	return m;
}

class RoomsTest : public ::testing::Test
{
  protected:
	Settings settings;
	double jitter = 0.0;
	Rooms rooms{settings, [this] { return jitter; }};

	Lines actions()
	{
		Lines lines;
		for (const Action &action : rooms.take_actions())
			lines.push_back(line(action));
		return lines;
	}

	RoomStatus status(const std::string &room_jid)
	{
		for (const RoomStatus &s : rooms.statuses())
			if (s.room_jid == room_jid)
				return s;
		ADD_FAILURE() << "no status line for " << room_jid;
		return RoomStatus();
	}

	std::string state(const std::string &room_jid)
	{
		return rooms::public_state_name(status(room_jid).state);
	}

	/* DEV joined as `nick` at T0 (rows set, logged in, self-presence), actions taken. */
	void join_dev(const RoomRow &dev_row = row(DEV), const std::string &nick = "bot")
	{
		rooms.set_rows({dev_row}, T0);
		rooms.connected(OWN_JID, TOKEN, T0);
		rooms.presence(self_presence(DEV, nick), T0);
		rooms.take_actions();
		rooms.take_status_changes();
		ASSERT_EQ(state(DEV), "joined");
	}
};

/* ---- joining and leaving ---- */

TEST_F(RoomsTest, JoinsEveryEnabledRoomAfterLoginOnly)
{
	rooms.set_rows(
	    {row(DEV), row(OPS, "watcher", "secret"), row("off@conference.example.org", "", "", false)},
	    T0);
	EXPECT_EQ(actions(), Lines()) << "nothing goes out before the login";
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(state("off@conference.example.org"), "disabled");

	rooms.connected(OWN_JID, TOKEN, T0 + SECOND);
	EXPECT_EQ(actions(),
	          Lines({"join dev@conference.example.org/bot since=0",
	                 "join ops@conference.example.org/watcher password=secret since=0"}));
	EXPECT_EQ(status(DEV).nick, "bot") << "the default nick is the account's local part";
	EXPECT_EQ(status(DEV).since, T0) << "still joining: the state did not change";
}

TEST_F(RoomsTest, JoinedBySelfPresence)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	EXPECT_FALSE(rooms.joined(DEV));
	EXPECT_EQ(rooms.occupant_jid(DEV), "");

	Presence other = self_presence(DEV, "alice", {});
	EXPECT_TRUE(rooms.presence(other, T0 + 1)) << "a room's presence is the rooms' business";
	EXPECT_EQ(state(DEV), "joining") << "another occupant's presence is not ours";

	EXPECT_TRUE(rooms.presence(self_presence(DEV, "bot"), T0 + 2 * SECOND));
	EXPECT_EQ(state(DEV), "joined");
	EXPECT_EQ(status(DEV).since, T0 + 2 * SECOND);
	EXPECT_EQ(status(DEV).last_error, "");
	EXPECT_TRUE(rooms.joined("DEV@Conference.Example.ORG"))
	    << "room JIDs compare case-insensitively";
	EXPECT_EQ(rooms.occupant_jid(DEV), DEV + "/bot");
	EXPECT_EQ(actions(), Lines());
}

TEST_F(RoomsTest, PresenceOfOthersIsNotTheRooms)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	Presence contact;
	contact.from = "alice@example.org/phone";
	EXPECT_FALSE(rooms.presence(contact, T0));
	contact.from = "other@conference.example.org/bot";
	EXPECT_FALSE(rooms.presence(contact, T0));
}

TEST_F(RoomsTest, SelfPresenceRecognisedByNickWithoutStatus110)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.presence(self_presence(DEV, "bot", {}), T0);
	EXPECT_EQ(state(DEV), "joined");
}

TEST_F(RoomsTest, NickGivenByTheServiceIsTheNickInUse)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.presence(self_presence(DEV, "Bot (jabclnd)", {110, 210}), T0);
	EXPECT_EQ(state(DEV), "joined");
	EXPECT_EQ(status(DEV).nick, "Bot (jabclnd)");
	EXPECT_EQ(status(DEV).last_error,
	          "the room gave the nick 'Bot (jabclnd)' instead of 'bot' (status 210)");
	EXPECT_EQ(rooms.occupant_jid(DEV), DEV + "/Bot (jabclnd)");
}

TEST_F(RoomsTest, JoinsANewRowAndAnEnabledRowAtOnce)
{
	join_dev();
	rooms.set_rows({row(DEV), row(OPS, "", "", false)}, T0 + SECOND);
	EXPECT_EQ(actions(), Lines()) << "a disabled row is not joined";
	EXPECT_EQ(state(OPS), "disabled");

	rooms.set_rows({row(DEV), row(OPS)}, T0 + 2 * SECOND);
	EXPECT_EQ(actions(), Lines({"join ops@conference.example.org/bot since=0"}));
	EXPECT_EQ(state(OPS), "joining");
	EXPECT_EQ(status(OPS).since, T0 + 2 * SECOND);

	rooms.set_rows({row(DEV), row(OPS), row("new@conference.example.org")}, T0 + 3 * SECOND);
	EXPECT_EQ(actions(), Lines({"join new@conference.example.org/bot since=0"}));
}

TEST_F(RoomsTest, RowsReadAgainUnchangedDoNothing)
{
	join_dev();
	RoomRow again = row(DEV);
	again.last_stored = T0; /* a fact of xmpp_rx_queue, not configuration */
	rooms.set_rows({again}, T0 + SECOND);
	EXPECT_EQ(actions(), Lines());
	EXPECT_EQ(rooms.take_status_changes().size(), 0u);
	EXPECT_EQ(state(DEV), "joined");
}

TEST_F(RoomsTest, LeavesWhenDisabled)
{
	join_dev();
	rooms.set_rows({row(DEV, "", "", false)}, T0 + SECOND);
	EXPECT_EQ(actions(), Lines({"leave dev@conference.example.org/bot"}));
	EXPECT_EQ(state(DEV), "disabled");
	EXPECT_EQ(status(DEV).since, T0 + SECOND);
	EXPECT_FALSE(rooms.joined(DEV));
	rooms.tick(T0 + 3600 * SECOND);
	EXPECT_EQ(actions(), Lines()) << "a disabled room is neither pinged nor joined";
}

TEST_F(RoomsTest, LeavesWhenDeletedAndDropsItsStatusLine)
{
	join_dev();
	rooms.set_rows({}, T0 + SECOND);
	EXPECT_EQ(actions(), Lines({"leave dev@conference.example.org/bot"}));
	EXPECT_EQ(rooms.statuses().size(), 0u);
	const std::vector<RoomStatus> changes = rooms.take_status_changes();
	ASSERT_EQ(changes.size(), 1u);
	EXPECT_EQ(changes[0].room_jid, DEV);
	EXPECT_TRUE(changes[0].removed);
	EXPECT_FALSE(rooms.presence(self_presence(DEV, "bot"), T0 + 2 * SECOND))
	    << "no longer one of the rooms";
}

TEST_F(RoomsTest, LeavesTheNickTriedWhenDisabledWhileJoining)
{
	rooms.set_rows({row(DEV, "watcher")}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	rooms.set_rows({row(DEV, "watcher", "", false)}, T0 + SECOND);
	EXPECT_EQ(actions(), Lines({"leave dev@conference.example.org/watcher"}));
}

TEST_F(RoomsTest, NoLeaveForARoomInError)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.presence(refusal(DEV, "bot", "forbidden"), T0);
	rooms.take_actions();
	rooms.set_rows({}, T0 + SECOND);
	EXPECT_EQ(actions(), Lines()) << "not in the room: nothing to leave";
}

TEST_F(RoomsTest, RowsChangedWhileOfflineApplyAtLogin)
{
	join_dev();
	rooms.set_rows({row(DEV), row(OPS)}, T0);
	rooms.presence(self_presence(OPS, "bot"), T0);
	rooms.take_actions();

	rooms.connection_lost(T0 + SECOND);
	rooms.set_rows({row(DEV, "", "", false), row("new@conference.example.org", "n")},
	               T0 + 2 * SECOND);
	EXPECT_EQ(actions(), Lines()) << "offline: nothing can go out, not even a leave";
	EXPECT_EQ(state(DEV), "disabled");
	EXPECT_EQ(rooms.statuses().size(), 2u) << "OPS was deleted";

	rooms.connected(OWN_JID, TOKEN, T0 + 3 * SECOND);
	EXPECT_EQ(actions(), Lines({"join new@conference.example.org/n since=0"}));
}

TEST_F(RoomsTest, NewNickInTheRowLeavesAndJoinsAgain)
{
	join_dev();
	rooms.set_rows({row(DEV, "watcher")}, T0 + SECOND);
	EXPECT_EQ(actions(),
	          Lines({"leave dev@conference.example.org/bot",
	                 "join dev@conference.example.org/watcher since=" + std::to_string(T0)}));
	EXPECT_EQ(state(DEV), "joining");

	rooms.presence(unavailable(DEV, "bot", {110}), T0 + 2 * SECOND);
	EXPECT_EQ(state(DEV), "joining") << "the echo of the leave is not trouble";
	EXPECT_EQ(actions(), Lines());
	rooms.presence(self_presence(DEV, "watcher"), T0 + 2 * SECOND);
	EXPECT_EQ(state(DEV), "joined");
	EXPECT_EQ(status(DEV).nick, "watcher");
}

TEST_F(RoomsTest, NewPasswordWhileJoinedChangesNothing)
{
	join_dev();
	rooms.set_rows({row(DEV, "", "new")}, T0 + SECOND);
	EXPECT_EQ(actions(), Lines());
	EXPECT_EQ(state(DEV), "joined");
}

/* DEV's row as read at another version (xmin): an UPDATE, whatever it changed. */
RoomRow
updated(RoomRow r, const std::string &version)
{
	r.version = version;
	return r;
}

TEST_F(RoomsTest, AnUpdateThatChangesNoValueRetriesARoomInErrorAtOnce)
{
	rooms.set_rows({updated(row(DEV), "700")}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	rooms.presence(refusal(DEV, "bot", "registration-required"), T0 + SECOND);
	EXPECT_EQ(state(DEV), "error");

	rooms.set_rows({updated(row(DEV), "700")}, T0 + 2 * SECOND);
	EXPECT_EQ(actions(), Lines()) << "read again, not updated: no retry";
	EXPECT_EQ(state(DEV), "error");

	rooms.set_rows({updated(row(DEV), "701")}, T0 + 3 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=0"}))
	    << "the operator dealt with the reason (a member now) and touched the row";
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).last_error, "");

	rooms.presence(refusal(DEV, "bot", "registration-required"), T0 + 4 * SECOND);
	EXPECT_EQ(status(DEV).retry_at, T0 + 4 * SECOND + 300 * SECOND)
	    << "the long backoff starts anew after an update";
}

TEST_F(RoomsTest, AnUpdateRetriesAKickedRoomAtOnce)
{
	join_dev(updated(row(DEV), "700"));
	rooms.presence(unavailable(DEV, "bot", {110, 307}), T0 + SECOND);
	EXPECT_EQ(actions(), Lines());
	rooms.set_rows({updated(row(DEV), "701")}, T0 + 2 * SECOND);
	EXPECT_EQ(actions(),
	          Lines({"join dev@conference.example.org/bot since=" + std::to_string(T0)}));
}

TEST_F(RoomsTest, AnUpdateWhileJoinedChangesNothing)
{
	join_dev(updated(row(DEV), "700"));
	rooms.set_rows({updated(row(DEV), "701")}, T0 + SECOND);
	EXPECT_EQ(actions(), Lines());
	EXPECT_EQ(state(DEV), "joined");
	EXPECT_EQ(rooms.take_status_changes().size(), 0u);
}

TEST_F(RoomsTest, AnUpdateWhileTheJoinWasOutIsTriedAtOnce)
{
	rooms.set_rows({updated(row(DEV), "700")}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	rooms.set_rows({updated(row(DEV), "701")}, T0 + 1);
	EXPECT_EQ(actions(), Lines()) << "the join is out: wait for its answer";
	rooms.presence(refusal(DEV, "bot", "forbidden"), T0 + 2);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=0"}))
	    << "the refusal answered the row as it was before the update";
	rooms.presence(refusal(DEV, "bot", "forbidden"), T0 + 3);
	EXPECT_EQ(state(DEV), "error") << "the same row refused again: no hammering";
	EXPECT_EQ(actions(), Lines());
}

TEST_F(RoomsTest, AMessageRefusedAsNotAcceptableMeansNotAnOccupant)
{
	join_dev();
	rooms.message_refused(DEV, "not-acceptable", T0 + SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=" + std::to_string(T0)}))
	    << "joined again at once, without a leave (the room does not count us)";
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).last_error, "the room refused a message: it no longer counts the bot "
	                                  "as an occupant (not-acceptable)");
}

TEST_F(RoomsTest, OtherRefusalsOfMessagesAreTheRowsBusiness)
{
	join_dev();
	rooms.message_refused(DEV, "forbidden", T0 + SECOND);
	rooms.message_refused(DEV, "resource-constraint", T0 + SECOND);
	rooms.message_refused(DEV + "/alice", "not-acceptable", T0 + SECOND);
	rooms.message_refused(OPS, "not-acceptable", T0 + SECOND);
	EXPECT_EQ(actions(), Lines());
	EXPECT_EQ(state(DEV), "joined");
}

TEST_F(RoomsTest, ShorterTimersFromTheSettings)
{
	Settings short_timers;
	short_timers.self_ping_interval = 2 * SECOND;
	short_timers.rejoin_min_ms = 3000;
	rooms.set_settings(short_timers);
	join_dev();
	rooms.tick(T0 + 2 * SECOND);
	EXPECT_EQ(actions(), Lines({"self_ping dev@conference.example.org/bot jabclnd-room-tok-1"}));
	rooms.iq_answered("jabclnd-room-tok-1", DEV + "/bot", "result", "", T0 + 2 * SECOND);
	rooms.presence(unavailable(DEV, "bot", {110, 307}), T0 + 3 * SECOND);
	EXPECT_EQ(status(DEV).retry_at, T0 + 3 * SECOND + 1500 * 1000) << "half of 3 s (no jitter)";
}

TEST_F(RoomsTest, StatusChangesAreTakenOnce)
{
	rooms.set_rows({row(DEV)}, T0);
	std::vector<RoomStatus> changes = rooms.take_status_changes();
	ASSERT_EQ(changes.size(), 1u);
	EXPECT_EQ(changes[0].state, PublicState::joining);
	EXPECT_EQ(changes[0].nick, "") << "the default nick is known at the login";
	EXPECT_EQ(changes[0].since, T0);

	rooms.connected(OWN_JID, TOKEN, T0 + SECOND);
	changes = rooms.take_status_changes();
	ASSERT_EQ(changes.size(), 1u);
	EXPECT_EQ(changes[0].nick, "bot");
	EXPECT_EQ(changes[0].since, T0);

	rooms.presence(self_presence(DEV, "bot"), T0 + 2 * SECOND);
	changes = rooms.take_status_changes();
	ASSERT_EQ(changes.size(), 1u);
	EXPECT_EQ(changes[0].state, PublicState::joined);
	EXPECT_EQ(changes[0].since, T0 + 2 * SECOND);
	EXPECT_EQ(rooms.take_status_changes().size(), 0u);
}

/* ---- refused joins ---- */

TEST_F(RoomsTest, NickConflictTriesDerivedNicks)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();

	rooms.presence(refusal(DEV, "bot", "conflict"), T0 + 1);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot_2 since=0"}));
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).nick, "bot_2");
	EXPECT_EQ(status(DEV).last_error, "the nick 'bot' is in use in the room; trying 'bot_2'");

	rooms.presence(refusal(DEV, "bot_2", "conflict"), T0 + 2);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot_3 since=0"}));
	EXPECT_EQ(status(DEV).last_error, "the nick 'bot_2' is in use in the room; trying 'bot_3'");

	rooms.presence(self_presence(DEV, "bot_3"), T0 + 3);
	EXPECT_EQ(state(DEV), "joined");
	EXPECT_EQ(status(DEV).nick, "bot_3");
	EXPECT_EQ(status(DEV).last_error, "the nick 'bot' is in use in the room; joined as 'bot_3'");
	EXPECT_EQ(rooms.occupant_jid(DEV), DEV + "/bot_3");
}

TEST_F(RoomsTest, NickConflictGivesUpAfterTheLastDerivedNick)
{
	settings.max_nick_attempts = 3;
	rooms.set_settings(settings);
	rooms.set_rows({row(DEV, "watcher")}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.presence(refusal(DEV, "watcher", "conflict"), T0);
	rooms.presence(refusal(DEV, "watcher_2", "conflict"), T0);
	rooms.presence(refusal(DEV, "watcher_3", "conflict"), T0);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/watcher since=0",
	                            "join dev@conference.example.org/watcher_2 since=0",
	                            "join dev@conference.example.org/watcher_3 since=0"}));
	EXPECT_EQ(state(DEV), "error");
	EXPECT_EQ(status(DEV).last_error, "the nicks 'watcher' to 'watcher_3' are all in use in the "
	                                  "room: set xmpp_rooms.nick to another nick");
	EXPECT_EQ(status(DEV).nick, "watcher") << "the next try starts from the row's nick";
}

TEST_F(RoomsTest, RefusalFromAnotherNickIsNotOurs)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	rooms.presence(refusal(DEV, "alice", "conflict"), T0);
	EXPECT_EQ(actions(), Lines());
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).last_error, "");
}

TEST_F(RoomsTest, RefusalFromTheRoomItselfCounts)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	Presence p = refusal(DEV, "bot", "forbidden");
	p.from = DEV;
	rooms.presence(p, T0);
	EXPECT_EQ(state(DEV), "error");
}

TEST_F(RoomsTest, WrongPasswordIsAnErrorUntilTheRowChanges)
{
	rooms.set_rows({row(DEV, "", "old")}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();

	rooms.presence(refusal(DEV, "bot", "not-authorized"), T0 + SECOND);
	EXPECT_EQ(state(DEV), "error");
	EXPECT_EQ(status(DEV).since, T0 + SECOND);
	EXPECT_EQ(status(DEV).last_error, "the room refused the password: correct xmpp_rooms.password");
	EXPECT_EQ(status(DEV).retry_at, T0 + SECOND + 300 * SECOND);
	EXPECT_EQ(rooms.next_wake(), T0 + SECOND + 300 * SECOND);
	rooms.tick(T0 + 299 * SECOND);
	EXPECT_EQ(actions(), Lines()) << "no hammering";

	rooms.set_rows({row(DEV, "", "new")}, T0 + 10 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot password=new since=0"}));
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).last_error, "");
}

TEST_F(RoomsTest, ErrorRetriedAfterALongBackoffThatDoubles)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	rooms.presence(refusal(DEV, "bot", "not-authorized"), T0);
	EXPECT_EQ(status(DEV).last_error, "the room needs a password: set xmpp_rooms.password");

	rooms.tick(T0 + 300 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=0"}));
	EXPECT_EQ(state(DEV), "joining");
	rooms.presence(refusal(DEV, "bot", "not-authorized"), T0 + 301 * SECOND);
	EXPECT_EQ(status(DEV).retry_at, T0 + 301 * SECOND + 600 * SECOND);

	/* Up to the bound: 1 h, half of it with this jitter. */
	Timestamp now = T0 + 901 * SECOND;
	for (int i = 0; i < 5; i++)
	{
		rooms.tick(now);
		rooms.presence(refusal(DEV, "bot", "not-authorized"), now);
		now = status(DEV).retry_at;
	}
	EXPECT_EQ(status(DEV).retry_at - status(DEV).since, 1800 * SECOND);
}

TEST_F(RoomsTest, RefusalsNameWhatToDo)
{
	const std::vector<std::tuple<std::string, bool, std::string>> cases = {
	    {"registration-required", false,
	     "the room is members-only: ask an owner of the room to make bot@example.org a member"},
	    {"forbidden", false,
	     "bot@example.org is banned from the room: ask an owner of the room to lift the ban"},
	    {"item-not-found", false,
	     "the room does not exist: create it, or set xmpp_rooms.create to true"},
	    {"item-not-found", true,
	     "the room cannot be entered: it is locked while someone else creates it, or the "
	     "service does not create rooms on a join"},
	    {"not-allowed", true,
	     "the room does not exist, and the service does not let bot@example.org create rooms: "
	     "create it on the server"},
	    {"not-acceptable", false,
	     "the room admits its members only under their registered nick: set xmpp_rooms.nick "
	     "to the nick registered for bot@example.org"},
	    {"service-unavailable", false,
	     "the room is full, or the service is not available (service-unavailable)"},
	    {"jid-malformed", false,
	     "the room refused the nick 'bot' (jid-malformed): set xmpp_rooms.nick to another nick"},
	    {"undefined-condition", false, "the room refused the join (undefined-condition)"},
	};
	for (const auto &c : cases)
	{
		Rooms fresh(settings, [] { return 0.0; });
		fresh.set_rows({row(DEV, "", "", true, std::get<1>(c))}, T0);
		fresh.connected(OWN_JID, TOKEN, T0);
		fresh.take_actions();
		fresh.presence(refusal(DEV, "bot", std::get<0>(c)), T0);
		ASSERT_EQ(fresh.statuses().size(), 1u);
		EXPECT_EQ(fresh.statuses()[0].state, PublicState::error) << std::get<0>(c);
		EXPECT_EQ(fresh.statuses()[0].last_error, std::get<2>(c)) << std::get<0>(c);
		EXPECT_EQ(fresh.statuses()[0].retry_at, T0 + 300 * SECOND) << std::get<0>(c);
		EXPECT_EQ(fresh.take_actions().size(), 0u) << std::get<0>(c);
	}
}

TEST_F(RoomsTest, RefusalTextIsShown)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	Presence p = refusal(DEV, "bot", "registration-required");
	p.error_text = "Membership is required to enter this room";
	rooms.presence(p, T0);
	EXPECT_EQ(status(DEV).last_error,
	          "the room is members-only: ask an owner of the room to make bot@example.org a "
	          "member (Membership is required to enter this room)");
}

TEST_F(RoomsTest, RowChangedWhileTheJoinWasOutIsTriedAtOnce)
{
	rooms.set_rows({row(DEV, "", "old")}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	rooms.set_rows({row(DEV, "", "new")}, T0 + 1);
	EXPECT_EQ(actions(), Lines()) << "the join is out: wait for its answer";
	rooms.presence(refusal(DEV, "bot", "not-authorized"), T0 + 2);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot password=new since=0"}))
	    << "the refusal answered the old password";
	EXPECT_EQ(state(DEV), "joining");
}

TEST_F(RoomsTest, UnreachableServerRetriedAfterAShortBackoff)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	rooms.presence(refusal(DEV, "bot", "remote-server-not-found"), T0);
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).last_error,
	          "the room's server cannot be reached (remote-server-not-found)");
	EXPECT_EQ(status(DEV).retry_at, T0 + 15 * SECOND);
	rooms.tick(T0 + 15 * SECOND - 1);
	EXPECT_EQ(actions(), Lines());
	rooms.tick(T0 + 15 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=0"}));
}

TEST_F(RoomsTest, NoAnswerToTheJoinRetriedAfterABackoff)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	EXPECT_EQ(rooms.next_wake(), T0 + 60 * SECOND);
	rooms.tick(T0 + 60 * SECOND - 1);
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).last_error, "");
	rooms.tick(T0 + 60 * SECOND);
	EXPECT_EQ(status(DEV).last_error, "no answer from the room to the join within 60 s");
	EXPECT_EQ(status(DEV).retry_at, T0 + 75 * SECOND);
	EXPECT_EQ(actions(), Lines());
	rooms.tick(T0 + 75 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=0"}));
}

/* ---- rooms that do not exist ---- */

TEST_F(RoomsTest, MissingRoomCreatedByTheJoinIsDestroyedWhenCreateIsFalse)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	rooms.presence(self_presence(DEV, "bot", {110, 201}), T0 + SECOND);
	EXPECT_EQ(actions(), Lines({"destroy dev@conference.example.org jabclnd-room-tok-1 (created "
	                            "by mistake: xmpp_rooms.create is false)"}));
	EXPECT_EQ(state(DEV), "error");
	EXPECT_EQ(status(DEV).last_error,
	          "the room does not exist (the join created it, and the bot destroyed it again): "
	          "create it, or set xmpp_rooms.create to true");
	EXPECT_FALSE(rooms.joined(DEV));

	EXPECT_FALSE(rooms.iq_answered("jabclnd-room-tok-1", DEV + "/bot", "result", "", T0 + SECOND))
	    << "the room answers the destroy, not an occupant";
	EXPECT_TRUE(rooms.iq_answered("jabclnd-room-tok-1", DEV, "result", "", T0 + SECOND));
	Presence gone = unavailable(DEV, "bot", {110});
	gone.destroyed = true;
	rooms.presence(gone, T0 + SECOND);
	EXPECT_EQ(state(DEV), "error");
	EXPECT_EQ(status(DEV).last_error,
	          "the room does not exist (the join created it, and the bot destroyed it again): "
	          "create it, or set xmpp_rooms.create to true");
	EXPECT_EQ(actions(), Lines());

	rooms.set_rows({row(DEV, "", "", true, true)}, T0 + 2 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=0"}));
}

TEST_F(RoomsTest, MissingRoomCreatedAsAnInstantRoomWhenCreateIsTrue)
{
	rooms.set_rows({row(DEV, "", "", true, true)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	rooms.presence(self_presence(DEV, "bot", {110, 201}), T0 + SECOND);
	EXPECT_EQ(actions(),
	          Lines({"configure_instant dev@conference.example.org jabclnd-room-tok-1"}));
	EXPECT_EQ(state(DEV), "joining") << "locked until configured";
	EXPECT_FALSE(rooms.joined(DEV));

	EXPECT_FALSE(rooms.iq_answered("jabclnd-room-tok-1", "ops@conference.example.org", "result", "",
	                               T0 + 2 * SECOND));
	EXPECT_FALSE(rooms.iq_answered("jabclnd-room-tok-2", DEV, "result", "", T0 + 2 * SECOND));
	EXPECT_TRUE(rooms.iq_answered("jabclnd-room-tok-1", DEV, "result", "", T0 + 2 * SECOND));
	EXPECT_EQ(state(DEV), "joined");
	EXPECT_EQ(status(DEV).since, T0 + 2 * SECOND);
	EXPECT_FALSE(rooms.iq_answered("jabclnd-room-tok-1", DEV, "result", "", T0 + 2 * SECOND))
	    << "answered once";
}

TEST_F(RoomsTest, InstantConfigurationRefused)
{
	rooms.set_rows({row(DEV, "", "", true, true)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.presence(self_presence(DEV, "bot", {110, 201}), T0);
	rooms.take_actions();
	EXPECT_TRUE(rooms.iq_answered("jabclnd-room-tok-1", DEV, "error", "forbidden", T0));
	EXPECT_EQ(actions(), Lines({"leave dev@conference.example.org/bot"}));
	EXPECT_EQ(state(DEV), "error");
	EXPECT_EQ(status(DEV).last_error, "the join created the room, but the service refused to "
	                                  "configure it as an instant room (forbidden): create the "
	                                  "room on the server");
}

TEST_F(RoomsTest, InstantConfigurationUnanswered)
{
	rooms.set_rows({row(DEV, "", "", true, true)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.presence(self_presence(DEV, "bot", {110, 201}), T0);
	rooms.take_actions();
	rooms.tick(T0 + 60 * SECOND);
	EXPECT_EQ(actions(), Lines({"leave dev@conference.example.org/bot"}));
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).last_error, "no answer from the room to its configuration within 60 s");
	EXPECT_EQ(status(DEV).retry_at, T0 + 75 * SECOND);
}

TEST_F(RoomsTest, CreationRefusedByTheService)
{
	rooms.set_rows({row(DEV, "", "", true, true)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	rooms.presence(refusal(DEV, "bot", "not-allowed"), T0);
	EXPECT_EQ(state(DEV), "error");
	EXPECT_EQ(status(DEV).last_error, "the room does not exist, and the service does not let "
	                                  "bot@example.org create rooms: create it on the server");
}

/* ---- removed from the room ---- */

TEST_F(RoomsTest, KickedRejoinsAfterABackoffNotBefore)
{
	join_dev();
	Presence kick = unavailable(DEV, "bot", {110, 307});
	kick.reason = "spam";
	rooms.presence(kick, T0 + 10 * SECOND);
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).since, T0 + 10 * SECOND);
	EXPECT_EQ(status(DEV).last_error, "kicked from the room (status 307): spam");
	EXPECT_EQ(status(DEV).retry_at, T0 + 25 * SECOND);
	EXPECT_FALSE(rooms.joined(DEV));
	rooms.tick(T0 + 25 * SECOND - 1);
	EXPECT_EQ(actions(), Lines());
	rooms.tick(T0 + 25 * SECOND);
	EXPECT_EQ(actions(),
	          Lines({"join dev@conference.example.org/bot since=" + std::to_string(T0)}));

	/* Kicked again right away: the delay doubles. */
	rooms.presence(self_presence(DEV, "bot"), T0 + 26 * SECOND);
	rooms.presence(kick, T0 + 27 * SECOND);
	EXPECT_EQ(status(DEV).retry_at, T0 + 57 * SECOND);

	/* Kicked after staying a long while: the delays start anew. */
	rooms.tick(T0 + 57 * SECOND);
	rooms.presence(self_presence(DEV, "bot"), T0 + 57 * SECOND);
	rooms.presence(kick, T0 + 57 * SECOND + 600 * SECOND);
	EXPECT_EQ(status(DEV).retry_at, T0 + 57 * SECOND + 615 * SECOND);
}

TEST_F(RoomsTest, RemovedByTheRoomRejoinsAfterABackoff)
{
	const std::vector<std::pair<int, std::string>> cases = {
	    {321, "removed from the room by a change of affiliation (status 321)"},
	    {322, "removed from the room because it became members-only (status 322)"},
	    {332, "removed from the room because the service is shutting down (status 332)"},
	    {333, "removed from the room because of a technical problem (status 333)"},
	};
	for (const auto &c : cases)
	{
		Rooms fresh(settings, [] { return 0.0; });
		fresh.set_rows({row(DEV)}, T0);
		fresh.connected(OWN_JID, TOKEN, T0);
		fresh.presence(self_presence(DEV, "bot"), T0);
		fresh.take_actions();
		fresh.presence(unavailable(DEV, "bot", {110, c.first}), T0 + SECOND);
		ASSERT_EQ(fresh.statuses().size(), 1u);
		EXPECT_EQ(fresh.statuses()[0].state, PublicState::joining) << c.first;
		EXPECT_EQ(fresh.statuses()[0].last_error, c.second);
		EXPECT_EQ(fresh.statuses()[0].retry_at, T0 + 16 * SECOND) << c.first;
		fresh.tick(T0 + 16 * SECOND);
		ASSERT_EQ(fresh.take_actions().size(), 1u) << c.first;
	}
}

TEST_F(RoomsTest, BannedIsAnError)
{
	join_dev();
	rooms.presence(unavailable(DEV, "bot", {110, 301}), T0 + SECOND);
	EXPECT_EQ(state(DEV), "error");
	EXPECT_EQ(status(DEV).last_error, "banned from the room (status 301): ask an owner of the room "
	                                  "to lift the ban on bot@example.org");
	EXPECT_EQ(status(DEV).retry_at, T0 + 301 * SECOND);
	EXPECT_EQ(actions(), Lines());
}

TEST_F(RoomsTest, UnexplainedDepartureRejoinsAfterABackoff)
{
	join_dev();
	rooms.presence(unavailable(DEV, "bot", {110}), T0 + SECOND);
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).last_error, "the room reported the bot gone without saying why");
	EXPECT_EQ(status(DEV).retry_at, T0 + 16 * SECOND);
}

TEST_F(RoomsTest, OthersLeavingIsNotOurs)
{
	join_dev();
	rooms.presence(unavailable(DEV, "alice", {307}), T0 + SECOND);
	EXPECT_EQ(state(DEV), "joined");
}

TEST_F(RoomsTest, NickChangedByTheRoomIsFollowed)
{
	join_dev();
	Presence change = unavailable(DEV, "bot", {110, 303});
	change.item_nick = "bot-renamed";
	rooms.presence(change, T0 + SECOND);
	EXPECT_EQ(state(DEV), "joined");
	rooms.presence(self_presence(DEV, "bot-renamed"), T0 + SECOND);
	EXPECT_EQ(status(DEV).nick, "bot-renamed");
	EXPECT_EQ(rooms.occupant_jid(DEV), DEV + "/bot-renamed");
}

TEST_F(RoomsTest, DestroyedRoomIsAnError)
{
	join_dev();
	Presence gone = unavailable(DEV, "bot", {});
	gone.destroyed = true;
	gone.destroy_reason = "moving";
	gone.destroy_alternate = "dev2@conference.example.org";
	rooms.presence(gone, T0 + SECOND);
	EXPECT_EQ(state(DEV), "error");
	EXPECT_EQ(status(DEV).last_error, "the room was destroyed (moving); it moved to "
	                                  "dev2@conference.example.org: put that room into xmpp_rooms");
	EXPECT_EQ(actions(), Lines());
}

/* ---- self-pings ---- */

class SelfPingTest : public RoomsTest
{
  protected:
	const Timestamp ping_at = T0 + 300 * SECOND;
	const std::string ping_id = "jabclnd-room-tok-1";

	void SetUp() override
	{
		join_dev();
		EXPECT_EQ(rooms.next_wake(), ping_at);
		rooms.tick(ping_at - 1);
		EXPECT_EQ(actions(), Lines()) << "not before the interval";
		rooms.tick(ping_at);
		EXPECT_EQ(actions(), Lines({"self_ping dev@conference.example.org/bot " + ping_id}));
		EXPECT_EQ(state(DEV), "joined") << "still joined while the ping is out";
		EXPECT_EQ(rooms.next_wake(), ping_at + 60 * SECOND);
	}
};

TEST_F(SelfPingTest, ResultMeansStillJoined)
{
	EXPECT_TRUE(rooms.iq_answered(ping_id, DEV + "/bot", "result", "", ping_at + SECOND));
	EXPECT_EQ(state(DEV), "joined");
	EXPECT_EQ(status(DEV).since, T0);
	EXPECT_EQ(rooms.next_wake(), ping_at + SECOND + 300 * SECOND);
	rooms.tick(ping_at + 60 * SECOND);
	EXPECT_EQ(actions(), Lines()) << "no deadline once answered";
	EXPECT_EQ(state(DEV), "joined");
}

TEST_F(SelfPingTest, OurClientAnsweringWithAnErrorMeansStillJoined)
{
	EXPECT_TRUE(rooms.iq_answered(ping_id, DEV + "/bot", "error", "service-unavailable", ping_at));
	EXPECT_EQ(state(DEV), "joined");
	EXPECT_EQ(actions(), Lines());
	rooms.tick(ping_at + 300 * SECOND);
	EXPECT_EQ(actions(), Lines({"self_ping dev@conference.example.org/bot jabclnd-room-tok-2"}));
	EXPECT_TRUE(rooms.iq_answered("jabclnd-room-tok-2", DEV + "/bot", "error",
	                              "feature-not-implemented", ping_at + 300 * SECOND));
	EXPECT_EQ(state(DEV), "joined");
	EXPECT_EQ(actions(), Lines());
}

TEST_F(SelfPingTest, NotAnOccupantRejoinsAtOnce)
{
	EXPECT_TRUE(rooms.iq_answered(ping_id, DEV + "/bot", "error", "not-acceptable", ping_at));
	EXPECT_EQ(actions(),
	          Lines({"join dev@conference.example.org/bot since=" + std::to_string(T0)}));
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).last_error,
	          "the self-ping found the bot no longer in the room (not-acceptable)");
}

TEST_F(SelfPingTest, ItemNotFoundRejoinsAtOnce)
{
	EXPECT_TRUE(rooms.iq_answered(ping_id, DEV, "error", "item-not-found", ping_at))
	    << "the room itself may answer";
	EXPECT_EQ(actions(),
	          Lines({"join dev@conference.example.org/bot since=" + std::to_string(T0)}));
	EXPECT_EQ(status(DEV).last_error,
	          "the self-ping found the bot no longer in the room (item-not-found)");
}

TEST_F(SelfPingTest, UnreachableServerRejoinsAfterABackoff)
{
	for (const char *condition : {"remote-server-not-found", "remote-server-timeout"})
	{
		Rooms fresh(settings, [] { return 0.0; });
		fresh.set_rows({row(DEV)}, T0);
		fresh.connected(OWN_JID, TOKEN, T0);
		fresh.presence(self_presence(DEV, "bot"), T0);
		fresh.tick(ping_at);
		fresh.take_actions();
		EXPECT_TRUE(fresh.iq_answered(ping_id, DEV, "error", condition, ping_at + SECOND));
		EXPECT_EQ(fresh.take_actions().size(), 0u) << condition;
		ASSERT_EQ(fresh.statuses().size(), 1u);
		EXPECT_EQ(fresh.statuses()[0].state, PublicState::joining);
		EXPECT_EQ(fresh.statuses()[0].last_error,
		          "the self-ping could not reach the room's server (" + std::string(condition) +
		              ")");
		EXPECT_EQ(fresh.statuses()[0].retry_at, ping_at + 16 * SECOND);
		fresh.tick(ping_at + 16 * SECOND);
		EXPECT_EQ(fresh.take_actions().size(), 1u) << condition;
	}
}

TEST_F(SelfPingTest, NoAnswerByTheDeadlineRejoinsAfterABackoff)
{
	rooms.tick(ping_at + 60 * SECOND - 1);
	EXPECT_EQ(state(DEV), "joined");
	rooms.tick(ping_at + 60 * SECOND);
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).last_error, "no answer to the self-ping within 60 s");
	EXPECT_EQ(actions(), Lines());
	rooms.tick(ping_at + 75 * SECOND);
	EXPECT_EQ(actions(),
	          Lines({"join dev@conference.example.org/bot since=" + std::to_string(T0)}));
	EXPECT_FALSE(rooms.iq_answered(ping_id, DEV + "/bot", "result", "", ping_at + 76 * SECOND))
	    << "too late: no longer outstanding";
}

TEST_F(SelfPingTest, AnswersFromAnyoneElseAreNotOurs)
{
	EXPECT_FALSE(rooms.iq_answered(ping_id, DEV + "/alice", "error", "not-acceptable", ping_at))
	    << "another occupant";
	EXPECT_FALSE(rooms.iq_answered(ping_id, OPS + "/bot", "error", "not-acceptable", ping_at))
	    << "another room";
	EXPECT_FALSE(
	    rooms.iq_answered(ping_id, "conference.example.org", "error", "not-acceptable", ping_at))
	    << "the service's domain";
	EXPECT_FALSE(rooms.iq_answered(ping_id, "bot@example.org/jabclnd", "result", "", ping_at));
	EXPECT_FALSE(
	    rooms.iq_answered("jabclnd-room-tok-2", DEV + "/bot", "error", "not-acceptable", ping_at))
	    << "another id";
	EXPECT_FALSE(rooms.iq_answered("jabclnd-ping-tok-1", DEV + "/bot", "result", "", ping_at));
	EXPECT_FALSE(rooms.iq_answered(ping_id, DEV + "/bot", "get", "", ping_at));
	EXPECT_EQ(state(DEV), "joined");
	EXPECT_EQ(actions(), Lines());
	EXPECT_TRUE(rooms.iq_answered(ping_id, "DEV@conference.EXAMPLE.org/bot", "result", "", ping_at))
	    << "the room's JID in another case is the room";
}

TEST_F(RoomsTest, ActivityPostponesTheSelfPing)
{
	join_dev();
	rooms.classify(groupchat(DEV + "/alice", "a1"), Lookups(), T0 + 100 * SECOND);
	EXPECT_EQ(rooms.next_wake(), T0 + 400 * SECOND);
	rooms.presence(self_presence(DEV, "carol", {}), T0 + 200 * SECOND);
	EXPECT_EQ(rooms.next_wake(), T0 + 500 * SECOND);
	rooms.tick(T0 + 499 * SECOND);
	EXPECT_EQ(actions(), Lines());
	rooms.tick(T0 + 500 * SECOND);
	EXPECT_EQ(actions(), Lines({"self_ping dev@conference.example.org/bot jabclnd-room-tok-1"}));
}

/* ---- the connection ---- */

TEST_F(RoomsTest, ConnectionLostAllJoinAgainAfterLogin)
{
	rooms.set_rows(
	    {row(DEV), row(OPS), row("err@conference.example.org"), row("slow@conference.example.org")},
	    T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.take_actions();
	rooms.presence(self_presence(DEV, "bot"), T0);
	rooms.presence(self_presence(OPS, "bot"), T0 + SECOND);
	rooms.presence(refusal("err@conference.example.org", "bot", "forbidden"), T0 + 10 * SECOND);
	rooms.tick(T0 + 300 * SECOND); /* DEV's self-ping goes out, slow's join times out */
	EXPECT_EQ(actions(), Lines({"self_ping dev@conference.example.org/bot jabclnd-room-tok-1"}));
	ASSERT_EQ(status("slow@conference.example.org").retry_at, T0 + 315 * SECOND);
	ASSERT_EQ(state(OPS), "joined");
	ASSERT_EQ(state("err@conference.example.org"), "error");

	rooms.connection_lost(T0 + 301 * SECOND);
	EXPECT_EQ(actions(), Lines());
	EXPECT_EQ(state(DEV), "joining");
	EXPECT_EQ(status(DEV).since, T0 + 301 * SECOND);
	EXPECT_EQ(status(DEV).last_error, "the connection to the server was lost");
	EXPECT_EQ(status(DEV).retry_at, 0) << "at the next login";
	EXPECT_EQ(state("err@conference.example.org"), "error") << "an error stays an error";
	EXPECT_FALSE(rooms.joined(DEV));
	EXPECT_EQ(rooms.next_wake(), 0) << "offline: no timers";
	EXPECT_FALSE(
	    rooms.iq_answered("jabclnd-room-tok-1", DEV + "/bot", "result", "", T0 + 301 * SECOND));

	rooms.connected(OWN_JID, "tok2", T0 + 302 * SECOND);
	EXPECT_EQ(actions(),
	          Lines({"join dev@conference.example.org/bot since=" + std::to_string(T0),
	                 "join ops@conference.example.org/bot since=" + std::to_string(T0 + SECOND)}))
	    << "the room in error and the one backing off keep their times";
	rooms.tick(T0 + 315 * SECOND);
	EXPECT_EQ(actions(), Lines({"join err@conference.example.org/bot since=0",
	                            "join slow@conference.example.org/bot since=0"}));
	rooms.presence(self_presence(DEV, "bot"), T0 + 316 * SECOND);
	rooms.tick(T0 + 616 * SECOND);
	EXPECT_EQ(actions(), Lines({"self_ping dev@conference.example.org/bot jabclnd-room-tok2-1"}))
	    << "ids carry the new login's token";
}

TEST_F(RoomsTest, ActionsNotTakenBeforeTheLossAreDropped)
{
	rooms.set_rows({row(DEV)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	rooms.connection_lost(T0 + 1);
	EXPECT_EQ(actions(), Lines());
	rooms.connected(OWN_JID, TOKEN, T0 + 2);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=0"}));
}

TEST_F(RoomsTest, NothingHappensOffline)
{
	join_dev();
	rooms.connection_lost(T0 + 1);
	EXPECT_TRUE(rooms.presence(self_presence(DEV, "bot"), T0 + 2));
	rooms.tick(T0 + 3600 * SECOND);
	EXPECT_EQ(actions(), Lines());
	EXPECT_EQ(state(DEV), "joining");
}

/* ---- history ---- */

const Timestamp OVERLAP = rooms::Settings().history_overlap;

TEST_F(RoomsTest, HistorySinceTheLastStoredMessage)
{
	RoomRow dev = row(DEV);
	dev.last_stored = T0 - 3600 * SECOND;
	rooms.set_rows({dev}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=" +
	                            std::to_string(T0 - 3600 * SECOND - OVERLAP)}))
	    << "with an overlap: the room's clock is not the database's";

	/* A stored message moves it on: its delay stamp for history, the time of arrival if live. */
	rooms.presence(self_presence(DEV, "bot"), T0);
	Message old = groupchat(DEV + "/alice", "h1");
	old.delayed = true;
	old.delay_stamp = T0 - 60 * SECOND;
	EXPECT_EQ(rooms.classify(old, Lookups(), T0).kind, Verdict::store);
	rooms.presence(unavailable(DEV, "bot", {110, 332}), T0 + SECOND);
	rooms.tick(T0 + 16 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=" +
	                            std::to_string(T0 - 60 * SECOND - OVERLAP)}));
	rooms.presence(self_presence(DEV, "bot"), T0 + 16 * SECOND);
	EXPECT_EQ(rooms.classify(groupchat(DEV + "/alice", "l1"), Lookups(), T0 + 20 * SECOND).kind,
	          Verdict::store);
	rooms.connection_lost(T0 + 21 * SECOND);
	rooms.connected(OWN_JID, TOKEN, T0 + 22 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=" +
	                            std::to_string(T0 + 20 * SECOND - OVERLAP)}));

	/* An older time read with the rows does not move it back. */
	rooms.set_rows({dev}, T0 + 23 * SECOND);
	rooms.connection_lost(T0 + 24 * SECOND);
	rooms.connected(OWN_JID, TOKEN, T0 + 25 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=" +
	                            std::to_string(T0 + 20 * SECOND - OVERLAP)}));
}

TEST_F(RoomsTest, NoHistoryForANewRoomThenSinceItsFirstJoin)
{
	join_dev();
	rooms.connection_lost(T0 + 100 * SECOND);
	rooms.connected(OWN_JID, TOKEN, T0 + 200 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=" + std::to_string(T0)}))
	    << "nothing stored, but joined before in this process: nothing said since then is lost";
}

TEST_F(RoomsTest, HistoryNeverFromBeforeTheRowWasAdded)
{
	/* last_stored 0: a new worker, nothing stored yet; else a message stored right after. */
	for (const Timestamp last_stored : {Timestamp(0), T0 - 5 * SECOND})
	{
		RoomRow dev = row(DEV);
		dev.added = T0 - 10 * SECOND;
		dev.last_stored = last_stored;
		rooms.set_rows({dev}, T0);
		rooms.connected(OWN_JID, TOKEN, T0);
		EXPECT_EQ(actions(),
		          Lines({"join dev@conference.example.org/bot since=" + std::to_string(dev.added)}))
		    << "what was said since the operator asked for the room, and nothing older: "
		    << last_stored;
		rooms.set_rows({}, T0);
		rooms.connection_lost(T0);
		actions();
	}
}

TEST_F(RoomsTest, HistoryMaxStanzas)
{
	RoomRow none = row(DEV);
	none.history_max_stanzas = 0;
	none.added = T0 - 100 * SECOND;
	none.last_stored = T0 - 50 * SECOND;
	RoomRow last_n = row(OPS);
	last_n.history_max_stanzas = 5;
	last_n.added = T0 - 100 * SECOND;
	rooms.set_rows({none, last_n}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=0 max=0",
	                            "join ops@conference.example.org/bot since=0 max=5"}))
	    << "0: none at all; N with nothing stored: the room's last N, however old";

	last_n.last_stored = T0 - 50 * SECOND;
	rooms.set_rows({none, last_n}, T0 + SECOND);
	rooms.connection_lost(T0 + 2 * SECOND);
	rooms.connected(OWN_JID, TOKEN, T0 + 3 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=0 max=0",
	                            "join ops@conference.example.org/bot since=" +
	                                std::to_string(T0 - 50 * SECOND - OVERLAP) + " max=5"}))
	    << "N with messages stored: since the last one, at most N";
}

TEST_F(RoomsTest, HistoryCarriesItsStampAndJoin)
{
	join_dev();
	Message live = groupchat(DEV + "/alice", "l1");
	Verdict v = rooms.classify(live, Lookups(), T0 + 5 * SECOND);
	EXPECT_EQ(v.kind, Verdict::store);
	EXPECT_EQ(v.history_stamp, 0);
	EXPECT_EQ(v.history_join, 0) << "live: nothing to look for";

	Message old = groupchat(DEV + "/alice", "h1");
	old.delayed = true;
	old.delay_stamp = T0 - 60 * SECOND;
	v = rooms.classify(old, Lookups(), T0 + 6 * SECOND);
	EXPECT_EQ(v.kind, Verdict::store);
	EXPECT_EQ(v.history_stamp, T0 - 60 * SECOND);
	EXPECT_EQ(v.history_join, T0) << "when the join that brought it went out";
}

TEST_F(RoomsTest, AStampInTheFutureDoesNotMoveHistoryOn)
{
	join_dev();
	Message forged = groupchat(DEV + "/mallory", "f1");
	forged.delayed = true; /* a sender's own <delay/>, passed on by the room */
	forged.delay_stamp = T0 + 365 * 24 * 3600 * SECOND;
	const Verdict v = rooms.classify(forged, Lookups(), T0 + 5 * SECOND);
	EXPECT_EQ(v.history_stamp, T0 + 5 * SECOND);
	rooms.connection_lost(T0 + 6 * SECOND);
	rooms.connected(OWN_JID, TOKEN, T0 + 7 * SECOND);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/bot since=" +
	                            std::to_string(T0 + 5 * SECOND - OVERLAP)}));
}

TEST(Xep0082, UtcWholeSecondsFromPostgresEpoch)
{
	EXPECT_EQ(rooms::xep0082(0), "2000-01-01T00:00:00Z");
	/* 2024-05-01T12:34:56.789Z: 767 882 096 s after 2000-01-01. */
	EXPECT_EQ(rooms::xep0082(767882096LL * SECOND + 789000), "2024-05-01T12:34:56Z");
	EXPECT_EQ(rooms::xep0082(-1), "1999-12-31T23:59:59Z") << "rounded down, not towards zero";
}

/* ---- messages from rooms ---- */

class ClassifyTest : public RoomsTest
{
  protected:
	std::set<std::string> sent_ids{"m1", "origin-7"};
	std::set<std::string> stored_stanza_ids{"sid-1"};
	std::vector<std::string> asked; /* what stored_message was asked, as one line each */
	Lookups lookups;

	void SetUp() override
	{
		RoomRow dev = row(DEV);
		dev.has_last_subject = true;
		dev.last_subject = "Release on Friday";
		join_dev(dev);
		lookups.sent_by_us = [this](const std::string &room, const std::string &id)
		{ return room == DEV && sent_ids.count(id) > 0; };
		lookups.stored_stanza_id = [this](const std::string &room, const std::string &id)
		{ return room == DEV && stored_stanza_ids.count(id) > 0; };
		lookups.stored_message = [this](const std::string &room, const std::string &from,
		                                const std::string &id, Timestamp sent)
		{
			asked.push_back(room + " " + from + " " + id + " " + std::to_string(sent));
			return from == DEV + "/alice" && id == "old-1" && sent == T0 - SECOND;
		};
		lookups.inviter_allowed = [](const std::string &inviter)
		{ return inviter == "alice@example.org"; };
	}

	Verdict classify(const Message &message) { return rooms.classify(message, lookups, T0 + 1); }
};

TEST_F(ClassifyTest, AnotherOccupantIsStored)
{
	Message m = groupchat(DEV + "/alice", "m1");
	m.stanza_ids = {{"bot@example.org", "mam-1"}, {DEV, "sid-9"}};
	const Verdict v = classify(m);
	EXPECT_EQ(v.kind, Verdict::store) << "our id from another nick is not our echo";
	EXPECT_EQ(v.room, DEV);
	EXPECT_EQ(v.stanza_id, "sid-9") << "the room's stanza-id, not our server's";
}

TEST_F(ClassifyTest, OwnEchoById)
{
	const Verdict v = classify(groupchat(DEV + "/bot", "m1"));
	EXPECT_EQ(v.kind, Verdict::own_echo);
	EXPECT_EQ(v.echo_id, "m1");
}

TEST_F(ClassifyTest, OwnEchoByOriginId)
{
	Message m = groupchat(DEV + "/bot", "rewritten-by-the-room");
	m.origin_id = "origin-7";
	const Verdict v = classify(m);
	EXPECT_EQ(v.kind, Verdict::own_echo);
	EXPECT_EQ(v.echo_id, "origin-7");
}

TEST_F(ClassifyTest, OurNickWithAnIdWeDidNotSendIsStored)
{
	EXPECT_EQ(classify(groupchat(DEV + "/bot", "m2")).kind, Verdict::store)
	    << "another session under the same nick";
	EXPECT_EQ(classify(groupchat(DEV + "/bot", "")).kind, Verdict::store);
	EXPECT_EQ(rooms.classify(groupchat(DEV + "/bot", "m1"), Lookups(), T0).kind, Verdict::store)
	    << "no lookup given: nothing is ours";
}

TEST_F(ClassifyTest, SubjectStoredOnlyWhenChanged)
{
	Message subject;
	subject.from = DEV + "/alice";
	subject.type = "groupchat";
	subject.has_subject = true;
	subject.subject = "Release on Friday";
	EXPECT_EQ(classify(subject).kind, Verdict::subject_unchanged) << "the one stored before";

	subject.subject = "Release on Monday";
	EXPECT_EQ(classify(subject).kind, Verdict::store_subject);
	EXPECT_EQ(classify(subject).kind, Verdict::subject_unchanged) << "sent again at a rejoin";

	subject.from = DEV; /* set by the service */
	subject.subject = "";
	EXPECT_EQ(classify(subject).kind, Verdict::store_subject) << "cleared";

	Message with_body = groupchat(DEV + "/alice", "s1");
	with_body.has_subject = true;
	with_body.subject = "Other";
	EXPECT_EQ(classify(with_body).kind, Verdict::store) << "a message with a body is a message";
}

TEST_F(ClassifyTest, NoSubjectEverStoredAndAnEmptyOneIsNotAChange)
{
	Rooms fresh;
	fresh.set_rows({row(DEV)}, T0);
	fresh.connected(OWN_JID, TOKEN, T0);
	fresh.presence(self_presence(DEV, "bot"), T0);
	Message subject;
	subject.from = DEV;
	subject.type = "groupchat";
	subject.has_subject = true;
	EXPECT_EQ(fresh.classify(subject, lookups, T0).kind, Verdict::subject_unchanged);
	subject.subject = "Hello";
	EXPECT_EQ(fresh.classify(subject, lookups, T0).kind, Verdict::store_subject);
}

TEST_F(ClassifyTest, HistoryDuplicateByStanzaId)
{
	Message m = groupchat(DEV + "/carol", "c1");
	m.delayed = true;
	m.delay_stamp = T0 - 10 * SECOND;
	m.stanza_ids = {{DEV, "sid-1"}};
	EXPECT_EQ(classify(m).kind, Verdict::duplicate);

	m.stanza_ids = {{"carol@example.org", "sid-1"}};
	EXPECT_EQ(classify(m).kind, Verdict::store)
	    << "a stanza-id by anyone but the room is not proof";

	m.stanza_ids = {{DEV, "sid-2"}};
	const Verdict v = classify(m);
	EXPECT_EQ(v.kind, Verdict::store);
	EXPECT_EQ(v.stanza_id, "sid-2");
}

TEST_F(ClassifyTest, HistoryDuplicateBySenderIdAndTime)
{
	Message m = groupchat(DEV + "/alice", "old-1");
	m.delayed = true;
	m.delay_stamp = T0 - SECOND;
	EXPECT_EQ(classify(m).kind, Verdict::duplicate);
	EXPECT_EQ(asked, Lines({DEV + " " + DEV + "/alice old-1 " + std::to_string(T0 - SECOND)}));

	m.delay_stamp = T0 - 2 * SECOND;
	EXPECT_EQ(classify(m).kind, Verdict::store) << "another time: another message";
}

TEST_F(ClassifyTest, LiveMessagesAreNotLookedUp)
{
	Message m = groupchat(DEV + "/alice", "old-1");
	m.stanza_ids = {{DEV, "sid-1"}};
	EXPECT_EQ(classify(m).kind, Verdict::store);
	EXPECT_EQ(asked, Lines());
}

TEST_F(ClassifyTest, PrivateMessageFromAnOccupant)
{
	Message m = groupchat(DEV + "/alice", "p1");
	m.type = "chat";
	EXPECT_EQ(classify(m).kind, Verdict::store_private);
	m.type = "";
	EXPECT_EQ(classify(m).kind, Verdict::store_private) << "normal";
	m.has_body = false;
	EXPECT_EQ(classify(m).kind, Verdict::nothing_to_store) << "a chat state";
}

TEST_F(ClassifyTest, WhatTheRoomSaysItselfWithoutAMessage)
{
	Message notice;
	notice.from = DEV;
	notice.type = "groupchat";
	notice.has_body = true;
	notice.has_status_codes = true; /* e.g. 104: the configuration changed */
	EXPECT_EQ(classify(notice).kind, Verdict::nothing_to_store);
	notice.has_body = false;
	EXPECT_EQ(classify(notice).kind, Verdict::nothing_to_store);
	notice.type = "normal"; /* a voice request form */
	EXPECT_EQ(classify(notice).kind, Verdict::nothing_to_store);

	Message announcement = groupchat(DEV, "r1", "Maintenance at 18:00");
	EXPECT_EQ(classify(announcement).kind, Verdict::store);

	Message chat_state = groupchat(DEV + "/alice", "x", "");
	EXPECT_EQ(classify(chat_state).kind, Verdict::nothing_to_store);
}

TEST_F(ClassifyTest, ErrorsAreTheSendPipelines)
{
	Message error = groupchat(DEV, "m1");
	error.type = "error";
	const Verdict v = classify(error);
	EXPECT_EQ(v.kind, Verdict::error_reply);
	EXPECT_EQ(v.room, DEV);
}

TEST_F(ClassifyTest, MessagesFromRoomsNotJoinedAreIgnored)
{
	rooms.set_rows({row(DEV), row(OPS)}, T0);
	rooms.take_actions();
	ASSERT_EQ(state(OPS), "joining");
	Verdict v = classify(groupchat(OPS + "/alice", "o1"));
	EXPECT_EQ(v.kind, Verdict::not_joined);
	EXPECT_EQ(v.room, OPS);
	Message pm = groupchat(OPS + "/alice", "o2");
	pm.type = "chat";
	EXPECT_EQ(classify(pm).kind, Verdict::not_joined);

	EXPECT_EQ(classify(groupchat("other@conference.example.org/alice", "o3")).kind,
	          Verdict::not_joined)
	    << "a groupchat message from a room not in xmpp_rooms";
	Message chat = groupchat("alice@example.org/phone", "c1");
	chat.type = "chat";
	EXPECT_EQ(classify(chat).kind, Verdict::not_room) << "the one-to-one rules decide";
}

TEST_F(ClassifyTest, DirectInvitationAccepted)
{
	settings.invitations = rooms::Invitations::accept;
	rooms.set_settings(settings);
	Message invite;
	invite.from = "Alice@Example.org/phone";
	invite.direct_invite_room = "party@conference.example.org";
	invite.direct_invite_password = "cake";
	const Verdict v = classify(invite);
	EXPECT_EQ(v.kind, Verdict::invitation_accepted);
	EXPECT_EQ(v.room, "party@conference.example.org");
	EXPECT_EQ(actions(), Lines({"accept_invitation party@conference.example.org password=cake"}));
}

TEST_F(ClassifyTest, AcceptedInvitationOutlivesTheConnection)
{
	settings.invitations = rooms::Invitations::accept;
	rooms.set_settings(settings);
	Message invite;
	invite.from = "alice@example.org/phone";
	invite.direct_invite_room = "party@conference.example.org";
	EXPECT_EQ(classify(invite).kind, Verdict::invitation_accepted);
	rooms.connection_lost(T0 + 2);
	rooms.connected(OWN_JID, TOKEN, T0 + 3);
	EXPECT_EQ(actions(), Lines({"accept_invitation party@conference.example.org",
	                            "join dev@conference.example.org/bot since=" + std::to_string(T0)}))
	    << "the database's part stays; the room's rows bring the join";
}

TEST_F(ClassifyTest, InvitationsIgnoredByDefault)
{
	Message invite;
	invite.from = "alice@example.org/phone";
	invite.direct_invite_room = "party@conference.example.org";
	const Verdict v = classify(invite);
	EXPECT_EQ(v.kind, Verdict::invitation_ignored);
	EXPECT_EQ(v.why, "invitations are ignored (the setting)");
	EXPECT_EQ(actions(), Lines());
}

TEST_F(ClassifyTest, InvitationFromAStrangerIgnored)
{
	settings.invitations = rooms::Invitations::accept;
	rooms.set_settings(settings);
	Message invite;
	invite.from = "mallory@evil.example/x";
	invite.direct_invite_room = "party@conference.example.org";
	const Verdict v = classify(invite);
	EXPECT_EQ(v.kind, Verdict::invitation_ignored);
	EXPECT_EQ(v.why, "the inviter mallory@evil.example/x may not add rooms");
	EXPECT_EQ(actions(), Lines());
	EXPECT_EQ(rooms.classify(invite, Lookups(), T0).kind, Verdict::invitation_ignored)
	    << "no lookup: no one is allowed";
}

TEST_F(ClassifyTest, MediatedInvitationAcceptedFromOurOwnService)
{
	settings.invitations = rooms::Invitations::accept;
	rooms.set_settings(settings);
	Message invite;
	invite.from = "party@conference.example.org";
	invite.mediated_invite = true;
	invite.mediated_inviter = "alice@example.org/laptop";
	invite.mediated_password = "cake";
	const Verdict v = classify(invite);
	EXPECT_EQ(v.kind, Verdict::invitation_accepted);
	EXPECT_EQ(actions(), Lines({"accept_invitation party@conference.example.org password=cake"}));

	invite.mediated_inviter = "mallory@example.org";
	EXPECT_EQ(classify(invite).kind, Verdict::invitation_ignored);

	/* A semi-anonymous room names the inviter by nick: whoever it is cannot be checked. */
	invite.mediated_inviter = "party@conference.example.org/alice";
	const Verdict masked = classify(invite);
	EXPECT_EQ(masked.kind, Verdict::invitation_ignored);
	EXPECT_EQ(masked.why, "the room names the inviter only as the occupant "
	                      "party@conference.example.org/alice (it is semi-anonymous): invite the "
	                      "bot directly (XEP-0249), or make the room non-anonymous");
	EXPECT_EQ(actions(), Lines());
}

TEST_F(ClassifyTest, MediatedInvitationWithTheDirectFormToo)
{
	settings.invitations = rooms::Invitations::accept;
	rooms.set_settings(settings);
	/* ejabberd adds <x xmlns='jabber:x:conference' jid='the room'/> to its mediated invitation. */
	Message invite;
	invite.from = "party@conference.example.org";
	invite.mediated_invite = true;
	invite.mediated_inviter = "alice@example.org/laptop";
	invite.direct_invite_room = "party@conference.example.org";
	EXPECT_EQ(classify(invite).kind, Verdict::invitation_accepted)
	    << "the room's invitation: the inviter is the one the room names";
	EXPECT_EQ(actions(), Lines({"accept_invitation party@conference.example.org"}));

	/* Anyone else's message with both forms is a direct invitation from its sender. */
	invite.from = "mallory@example.org/x";
	const Verdict v = classify(invite);
	EXPECT_EQ(v.kind, Verdict::invitation_ignored);
	EXPECT_EQ(v.why, "the inviter mallory@example.org/x may not add rooms");
	invite.from = "other@conference.example.org"; /* a room naming another room */
	EXPECT_EQ(classify(invite).kind, Verdict::invitation_ignored);
	EXPECT_EQ(actions(), Lines());
}

TEST_F(ClassifyTest, MediatedInvitationFromAnotherServiceIgnored)
{
	settings.invitations = rooms::Invitations::accept;
	rooms.set_settings(settings);
	Message invite;
	invite.mediated_invite = true;
	invite.mediated_inviter = "alice@example.org"; /* a claim only the room vouches for */
	for (const char *from : {"party@evil.example", "party@example.org",
	                         "party@conference.example.org/nick", "party@notexample.org"})
	{
		invite.from = from;
		const Verdict v = classify(invite);
		EXPECT_EQ(v.kind, Verdict::invitation_ignored) << from;
		EXPECT_EQ(v.why,
		          "a mediated invitation counts only from a room of a service of example.org")
		    << from;
	}
	EXPECT_EQ(actions(), Lines());
}

TEST_F(ClassifyTest, InvitationToAKnownRoomOrNoRoomIgnored)
{
	settings.invitations = rooms::Invitations::accept;
	rooms.set_settings(settings);
	Message invite;
	invite.from = "alice@example.org/phone";
	invite.direct_invite_room = "Dev@Conference.example.org";
	Verdict v = classify(invite);
	EXPECT_EQ(v.kind, Verdict::invitation_ignored);
	EXPECT_EQ(v.why, "the room is in xmpp_rooms already");

	for (const char *room : {"conference.example.org", "party@conference.example.org/nick",
	                         "par ty@conference.example.org"})
	{
		invite.direct_invite_room = room;
		v = classify(invite);
		EXPECT_EQ(v.kind, Verdict::invitation_ignored) << room;
		EXPECT_EQ(v.why, "not the JID of a room") << room;
	}
	EXPECT_EQ(actions(), Lines());
}

/* ---- sending to rooms ---- */

TEST_F(RoomsTest, SendCheck)
{
	rooms.set_rows({row(DEV), row(OPS, "", "", false)}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	std::string reason;
	EXPECT_EQ(rooms.send_check(DEV, &reason), SendCheck::wait);
	rooms.presence(self_presence(DEV, "bot"), T0);
	EXPECT_EQ(rooms.send_check("dev@CONFERENCE.example.org", &reason), SendCheck::send);

	EXPECT_EQ(rooms.send_check(OPS, &reason), SendCheck::fail);
	EXPECT_EQ(reason, "the room ops@conference.example.org is disabled in xmpp_rooms: enable it "
	                  "to send to it");
	EXPECT_EQ(rooms.send_check("new@conference.example.org", &reason), SendCheck::fail);
	EXPECT_EQ(
	    reason,
	    "the room new@conference.example.org is not in xmpp_rooms: add it there to send to it");

	rooms.presence(unavailable(DEV, "bot", {110, 307}), T0);
	EXPECT_EQ(rooms.send_check(DEV, &reason), SendCheck::wait);
}

TEST_F(RoomsTest, RowsDifferingOnlyInCaseAreOneRoom)
{
	rooms.set_rows({row(DEV, "first"), row("DEV@conference.example.org", "second")}, T0);
	rooms.connected(OWN_JID, TOKEN, T0);
	EXPECT_EQ(actions(), Lines({"join dev@conference.example.org/first since=0"}));
	EXPECT_EQ(rooms.statuses().size(), 1u);
}

} // namespace
