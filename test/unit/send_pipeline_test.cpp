/*
 * send_pipeline_test.cpp: unit tests of src/core/send_pipeline.cpp, the
 * bookkeeping of sending xmpp_tx_queue (claims, batches in flight, barrier
 * answers, error replies, careful mode after a lost connection), with
 * GoogleTest.
 *
 * The pipeline is driven the way the worker drives it (src/worker/sending.cpp):
 * claim from claim_after(), begin_batch, row_sent or row_failed for each
 * row, end_batch with the barrier's id; then the answers as they arrive,
 * and outcomes_recorded() once the record transaction committed. Tests
 * assert what the worker would do next: whether a claim is due and from
 * where, what is confirmed and what failed.
 *
 * Vocabulary: the bot is bot@example.org/jabclnd, so example.org is its
 * own server; its messages go to alice@other.org unless a test says
 * otherwise. Row n goes out as stanza "m<n>"; barrier ids are "b<n>".
 * Group chat rows go to the room room@conference.other.org, where the bot's
 * nick is "bot": its echoes come from room@conference.other.org/bot, with
 * the stanza id "m<n>" and the origin-id "o<n>".
 */
#include "core/send_pipeline.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

using pipeline::ConfirmedBy;
using pipeline::Failure;
using pipeline::SendPipeline;
using pipeline::Timestamp;

namespace
{

const char *const OWN_JID = "bot@example.org/jabclnd";
const char *const SERVER = "example.org";
const char *const ALICE = "alice@other.org";
const char *const ROOM = "room@conference.other.org";
const char *const OCCUPANT = "room@conference.other.org/bot"; /* our nick in ROOM */
const char *const MALLORY = "room@conference.other.org/mallory";

const std::string NO_ECHO_REASON =
    "not confirmed by the room after 3 attempts (jabclnd.max_attempts); the last time, "
    "room@conference.other.org did not echo the message back within the deadline "
    "(jabclnd.ping_interval), so it is not known to have been distributed";

const std::string MAX_ATTEMPTS_PREFIX = "not confirmed by the server after 3 attempts "
                                        "(jabclnd.max_attempts); the connection was lost each "
                                        "time: ";

using Rows = std::vector<int64_t>;
using Strings = std::vector<std::string>;

/* An error reply of type cancel: it fails its row at once. */
retry::ErrorReply
cancel(const std::string &reason)
{
	return retry::ErrorReply{"cancel", "undefined-condition", reason};
}

std::string
stanza_id(int64_t row)
{
	return "m" + std::to_string(row);
}

std::string
origin_id(int64_t row)
{
	return "o" + std::to_string(row);
}

/*
 * One claim as the worker makes it: from claim_after(), at most `limit`
 * rows, returning `rows`; each is sent to `recipient`, and the batch ends
 * with barrier `barrier_id`, due by `deadline`.
 */
void
send(SendPipeline &pipeline, const Rows &rows, int limit, const std::string &barrier_id,
     Timestamp deadline = 1000, const std::string &recipient = ALICE)
{
	pipeline.begin_batch(pipeline.claim_after(), static_cast<int>(rows.size()), limit,
	                     rows.empty() ? 0 : rows.back());
	for (int64_t row : rows)
		pipeline.row_sent(row, stanza_id(row), recipient);
	pipeline.end_batch(barrier_id, deadline);
}

/* The same, each row a groupchat message to `room`, confirmed by its echo. */
void
send_to_room(SendPipeline &pipeline, const Rows &rows, int limit, const std::string &barrier_id,
             Timestamp deadline = 1000, const std::string &room = ROOM)
{
	pipeline.begin_batch(pipeline.claim_after(), static_cast<int>(rows.size()), limit,
	                     rows.empty() ? 0 : rows.back());
	for (int64_t row : rows)
		pipeline.row_sent(row, stanza_id(row), room, ConfirmedBy::echo, origin_id(row));
	pipeline.end_batch(barrier_id, deadline);
}

/* ROOM sends row's message back to us, as rooms do: from our nick, same id and origin-id. */
bool
echo(SendPipeline &pipeline, int64_t row)
{
	return pipeline.echo_received(OCCUPANT, stanza_id(row), origin_id(row), OCCUPANT);
}

/* The failures waiting to be recorded, as "row: reason" strings, in order. */
Strings
failures(const SendPipeline &pipeline)
{
	Strings out;
	for (const Failure &failure : pipeline.failures())
		out.push_back(std::to_string(failure.row) + ": " + failure.reason);
	return out;
}

/* What every lost connection leaves, whatever was in flight when it was lost. */
void
expect_lost_with_rows_in_flight(const SendPipeline &pipeline)
{
	EXPECT_EQ(pipeline.confirmed(), Rows()) << "a lost batch confirms nothing";
	EXPECT_TRUE(pipeline.careful());
	EXPECT_EQ(pipeline.claim_limit(100), 1);
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_EQ(pipeline.barrier_deadline(), 0);
	EXPECT_EQ(pipeline.claim_after(), 0) << "the lost rows are pending again, from the start";
}

/*
 * Logs in again and goes through careful mode as the worker would: the
 * rows first..last are claimed again one per batch, one batch in flight,
 * each confirmed and recorded; careful mode must last until `last` is
 * confirmed, and end then.
 */
void
expect_careful_until(SendPipeline &pipeline, int64_t first, int64_t last)
{
	pipeline.connected(OWN_JID);
	for (int64_t row = first; row <= last; row++)
	{
		SCOPED_TRACE("row " + std::to_string(row));
		EXPECT_TRUE(pipeline.careful()) << "not yet at the highest row that was in flight";
		EXPECT_EQ(pipeline.claim_limit(100), 1);
		ASSERT_TRUE(pipeline.claim_due());
		EXPECT_EQ(pipeline.claim_after(), 0);
		send(pipeline, {row}, 1, "c" + std::to_string(row));
		EXPECT_FALSE(pipeline.claim_due())
		    << "a full claim, but careful mode allows one batch in flight";
		ASSERT_TRUE(pipeline.barrier_answered("c" + std::to_string(row), SERVER));
		EXPECT_EQ(pipeline.confirmed(), Rows({row}));
		pipeline.outcomes_recorded();
	}
	EXPECT_FALSE(pipeline.careful());
	EXPECT_EQ(pipeline.claim_limit(100), 100);
}

} // namespace

/* ------------------------------------------------------------ claiming */

TEST(Claiming, AFreshPipelineClaimsNothingUntilConnectedOrToldRowsMayBePending)
{
	SendPipeline fresh;
	EXPECT_FALSE(fresh.claim_due());
	EXPECT_EQ(fresh.claim_after(), 0);
	EXPECT_EQ(fresh.batches_in_flight(), 0u);
	EXPECT_EQ(fresh.barrier_deadline(), 0);
	EXPECT_FALSE(fresh.careful());
	EXPECT_EQ(fresh.claim_limit(100), 100);
	EXPECT_FALSE(fresh.has_outcomes());
	EXPECT_FALSE(fresh.batch_needs_barrier()) << "no batch is being built";

	SendPipeline logged_in;
	logged_in.connected(OWN_JID);
	EXPECT_TRUE(logged_in.claim_due()) << "a login may find rows queued while offline";
	EXPECT_EQ(logged_in.claim_after(), 0);

	SendPipeline woken;
	woken.rows_may_be_pending();
	EXPECT_TRUE(woken.claim_due());
	EXPECT_EQ(woken.claim_after(), 0);
}

TEST(Claiming, TheNextClaimStartsAfterTheLastClaimedIdFailedRowsIncluded)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);

	pipeline.begin_batch(0, 3, 3, 3);
	EXPECT_FALSE(pipeline.claim_due()) << "no claim while a batch is being built";
	pipeline.row_sent(1, stanza_id(1), ALICE);
	pipeline.row_sent(2, stanza_id(2), ALICE);
	pipeline.row_failed(3, "message_to is empty");
	EXPECT_TRUE(pipeline.batch_needs_barrier());
	pipeline.end_batch("b1", 1000);

	EXPECT_EQ(pipeline.batches_in_flight(), 1u);
	EXPECT_EQ(pipeline.barrier_deadline(), 1000);
	/* Row 3 failed, but it was claimed: claiming it again would count another attempt. */
	EXPECT_EQ(pipeline.claim_after(), 3);
	EXPECT_TRUE(pipeline.claim_due()) << "a full claim may have left rows behind it";
	EXPECT_EQ(failures(pipeline), Strings({"3: message_to is empty"}));
	EXPECT_EQ(pipeline.confirmed(), Rows());

	send(pipeline, {4, 5}, 3, "b2", 2000);
	EXPECT_EQ(pipeline.batches_in_flight(), 2u);
	EXPECT_EQ(pipeline.claim_after(), 5) << "after the newest batch in flight";
	EXPECT_EQ(pipeline.barrier_deadline(), 1000) << "the oldest batch's deadline";
}

TEST(Claiming, AFullClaimWantsAnotherAShortOneDoesNot)
{
	SendPipeline full;
	full.connected(OWN_JID);
	send(full, {1, 2}, 2, "b1");
	EXPECT_TRUE(full.claim_due());
	EXPECT_EQ(full.claim_after(), 2);

	SendPipeline short_claim;
	short_claim.connected(OWN_JID);
	send(short_claim, {1}, 2, "b1");
	EXPECT_FALSE(short_claim.claim_due()) << "a short claim from 0 saw every committed row";
	EXPECT_EQ(short_claim.claim_after(), 1);

	/* A commit wakes the worker: then a claim is due again, above the batch in flight. */
	short_claim.rows_may_be_pending();
	EXPECT_TRUE(short_claim.claim_due());
	EXPECT_EQ(short_claim.claim_after(), 1);
}

TEST(Claiming, AnEmptyClaimLeavesNothingInFlightAndWantsNoMore)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 0, 100, 0);
	EXPECT_FALSE(pipeline.batch_needs_barrier());
	pipeline.end_batch("", 0);
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_FALSE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 0);
	EXPECT_FALSE(pipeline.has_outcomes());
}

/* ------------------------------------------------------------ in flight */

TEST(InFlight, AThirdClaimWaitsUntilTheOldestBatchIsAnswered)
{
	static_assert(pipeline::BATCHES_IN_FLIGHT == 2, "the cases below assume two");
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2}, 2, "b1", 100);
	send(pipeline, {3, 4}, 2, "b2", 200);

	EXPECT_EQ(pipeline.batches_in_flight(), 2u);
	EXPECT_FALSE(pipeline.claim_due()) << "both claims were full, but there is no room";
	EXPECT_EQ(pipeline.claim_after(), 4);
	EXPECT_EQ(pipeline.barrier_deadline(), 100);

	/* Servers answer in order: the second batch's answer cannot come first. */
	EXPECT_FALSE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows());
	EXPECT_EQ(pipeline.batches_in_flight(), 2u);
	EXPECT_FALSE(pipeline.claim_due());

	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({1, 2}));
	EXPECT_EQ(pipeline.batches_in_flight(), 1u);
	EXPECT_EQ(pipeline.barrier_deadline(), 200);
	EXPECT_TRUE(pipeline.claim_due()) << "room again, and the last claim was full";
	EXPECT_EQ(pipeline.claim_after(), 4) << "rows 3 and 4 are still in flight";

	EXPECT_TRUE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({1, 2, 3, 4}));
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_EQ(pipeline.barrier_deadline(), 0);
	EXPECT_EQ(pipeline.claim_after(), 0);
}

TEST(InFlight, AnAnswerIsTakenOnce)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_FALSE(pipeline.barrier_answered("b1", SERVER)) << "the batch is no longer in flight";
	EXPECT_EQ(pipeline.confirmed(), Rows({1}));
}

/* -------------------------------------------------- out of order commits */

TEST(OutOfOrderCommits, AShortClaimFromAboveLooksBelowOnceEverythingIsAnsweredAndRecorded)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2}, 2, "b1");
	ASSERT_EQ(pipeline.claim_after(), 2);
	/*
	 * Rows 3 and 4 belong to a transaction that took its ids early and has
	 * not committed yet: the claim above 2 finds only row 5.
	 */
	send(pipeline, {5}, 2, "b2");
	EXPECT_FALSE(pipeline.claim_due());

	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_FALSE(pipeline.claim_due()) << "a short claim, and row 5 is still in flight";
	EXPECT_TRUE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({1, 2, 5}));
	EXPECT_FALSE(pipeline.claim_due()) << "the outcomes are not recorded yet";

	pipeline.outcomes_recorded();
	EXPECT_FALSE(pipeline.has_outcomes());
	EXPECT_TRUE(pipeline.claim_due()) << "rows below 2 may have committed since: no safety poll";
	EXPECT_EQ(pipeline.claim_after(), 0);

	/* The late rows are found; a short claim from 0 has seen everything. */
	send(pipeline, {3, 4}, 10, "b3");
	EXPECT_TRUE(pipeline.barrier_answered("b3", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({3, 4}));
	pipeline.outcomes_recorded();
	EXPECT_FALSE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 0);
}

TEST(OutOfOrderCommits, AShortClaimFromZeroDoesNotAskAgain)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2}, 10, "b1");
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	pipeline.outcomes_recorded();
	EXPECT_FALSE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 0);
}

TEST(OutOfOrderCommits, NoClaimWhileEveryBatchIsAnsweredAndOutcomesWait)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2}, 2, "b1");
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.claim_after(), 0);
	/* A claim from 0 now would take rows 1 and 2 again: they are still pending in the table. */
	EXPECT_FALSE(pipeline.claim_due()) << "the last claim was full, but its outcomes wait";
	pipeline.rows_may_be_pending();
	EXPECT_FALSE(pipeline.claim_due()) << "not even after a commit";

	pipeline.outcomes_recorded();
	EXPECT_TRUE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 0);
}

TEST(OutOfOrderCommits, NoClaimWhileOnlyFailuresWait)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 1, 1, 1);
	pipeline.row_failed(1, "bad");
	pipeline.end_batch("", 0);
	pipeline.rows_may_be_pending();
	EXPECT_FALSE(pipeline.claim_due()) << "row 1 is pending until its failure is recorded";
	pipeline.outcomes_recorded();
	EXPECT_TRUE(pipeline.claim_due());
}

/* ------------------------------------------------------------ failures */

TEST(Failures, ABatchWhereEveryRowFailedNeedsNoBarrier)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 2, 10, 2);
	pipeline.row_failed(1, "message_to is empty");
	pipeline.row_failed(2, "the stanza is larger than jabclnd.max_stanza_size");
	EXPECT_FALSE(pipeline.batch_needs_barrier());
	pipeline.end_batch("", 0);

	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_EQ(pipeline.barrier_deadline(), 0);
	EXPECT_EQ(pipeline.confirmed(), Rows());
	EXPECT_EQ(failures(pipeline),
	          Strings({"1: message_to is empty",
	                   "2: the stanza is larger than jabclnd.max_stanza_size"}));
	EXPECT_TRUE(pipeline.has_outcomes());
	EXPECT_FALSE(pipeline.barrier_answered("", SERVER)) << "no barrier was sent";

	pipeline.outcomes_recorded();
	EXPECT_EQ(failures(pipeline), Strings());
	EXPECT_FALSE(pipeline.claim_due()) << "a short claim from 0";
}

/* --------------------------------------------------------- connection lost */

TEST(ConnectionLost, WithNothingInFlightNoCarefulModeAndNoErrorKept)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.connection_lost("stream error: conflict");

	EXPECT_FALSE(pipeline.careful()) << "no row was at risk";
	EXPECT_EQ(pipeline.claim_limit(100), 100);
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_EQ(pipeline.claim_after(), 0);
	EXPECT_EQ(pipeline.confirmed(), Rows());
	EXPECT_EQ(pipeline.out_of_attempts(4, 3), MAX_ATTEMPTS_PREFIX + "no error recorded");
}

TEST(ConnectionLost, WhileABatchIsBeingBuilt)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 3, 3, 3);
	pipeline.row_sent(1, stanza_id(1), ALICE);
	pipeline.row_sent(2, stanza_id(2), ALICE);
	pipeline.connection_lost("connection reset by peer");

	expect_lost_with_rows_in_flight(pipeline);
	EXPECT_FALSE(pipeline.batch_needs_barrier()) << "the batch being built is gone";
	EXPECT_EQ(pipeline.out_of_attempts(4, 3), MAX_ATTEMPTS_PREFIX + "connection reset by peer");
	/* Row 3 was never sent: careful mode covers rows 1 and 2. */
	expect_careful_until(pipeline, 1, 2);
}

TEST(ConnectionLost, WithOneBatchInFlight)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2, 3}, 3, "b1");
	pipeline.connection_lost("connection reset by peer");

	expect_lost_with_rows_in_flight(pipeline);
	EXPECT_FALSE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.out_of_attempts(4, 3), MAX_ATTEMPTS_PREFIX + "connection reset by peer");
	expect_careful_until(pipeline, 1, 3);
}

TEST(ConnectionLost, WithTwoBatchesInFlight)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2}, 2, "b1");
	pipeline.begin_batch(pipeline.claim_after(), 3, 3, 5);
	pipeline.row_sent(3, stanza_id(3), ALICE);
	pipeline.row_sent(4, stanza_id(4), ALICE);
	pipeline.row_failed(5, "message_to is empty");
	pipeline.end_batch("b2", 2000);
	ASSERT_EQ(pipeline.batches_in_flight(), 2u);
	pipeline.connection_lost("ping timeout");

	expect_lost_with_rows_in_flight(pipeline);
	EXPECT_FALSE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_FALSE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_EQ(failures(pipeline), Strings({"5: message_to is empty"}))
	    << "a row that failed before the loss stays failed";
	EXPECT_EQ(pipeline.out_of_attempts(4, 3), MAX_ATTEMPTS_PREFIX + "ping timeout");
	pipeline.outcomes_recorded();
	/* Row 5 was claimed but never sent: careful mode covers up to row 4, the highest sent. */
	expect_careful_until(pipeline, 1, 4);
}

TEST(ConnectionLost, ALossWithNothingInFlightKeepsTheEarlierError)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	pipeline.connection_lost("ping timeout");
	pipeline.connected(OWN_JID);
	pipeline.connection_lost("login failed");
	/* Row 1's attempts were lost to the ping timeout; the failed login sent nothing. */
	EXPECT_EQ(pipeline.out_of_attempts(4, 3), MAX_ATTEMPTS_PREFIX + "ping timeout");
	EXPECT_TRUE(pipeline.careful());
}

/* ------------------------------------------------------------ careful mode */

TEST(CarefulMode, EndsWhenAConfirmedBatchReachesItsEndNotBefore)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2, 3}, 3, "b1");
	pipeline.connection_lost("connection reset by peer");
	pipeline.connected(OWN_JID);

	send(pipeline, {1}, 1, "c1");
	EXPECT_TRUE(pipeline.barrier_answered("c1", SERVER));
	EXPECT_TRUE(pipeline.careful());
	pipeline.outcomes_recorded();
	send(pipeline, {2}, 1, "c2");
	EXPECT_TRUE(pipeline.careful()) << "sent is not confirmed";
	EXPECT_TRUE(pipeline.barrier_answered("c2", SERVER));
	EXPECT_TRUE(pipeline.careful());
	pipeline.outcomes_recorded();
	send(pipeline, {3}, 1, "c3");
	EXPECT_TRUE(pipeline.careful());
	EXPECT_TRUE(pipeline.barrier_answered("c3", SERVER));
	EXPECT_FALSE(pipeline.careful());
	EXPECT_EQ(pipeline.claim_limit(100), 100);
}

TEST(CarefulMode, EndsWhenARowAtItsEndFailsNotBelow)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2, 3}, 3, "b1");
	pipeline.connection_lost("connection reset by peer");
	pipeline.connected(OWN_JID);

	pipeline.begin_batch(0, 1, 1, 1);
	pipeline.row_failed(1, MAX_ATTEMPTS_PREFIX + "connection reset by peer");
	pipeline.end_batch("", 0);
	EXPECT_TRUE(pipeline.careful()) << "row 1 is below the end";
	pipeline.outcomes_recorded();

	pipeline.begin_batch(0, 1, 1, 3);
	pipeline.row_failed(3, MAX_ATTEMPTS_PREFIX + "connection reset by peer");
	EXPECT_FALSE(pipeline.careful()) << "row 3 is the end";
	pipeline.end_batch("", 0);
	EXPECT_FALSE(pipeline.careful());
}

TEST(CarefulMode, EndsWhenARowAfterItsEndFailsOrIsConfirmed)
{
	/* Rows 2 and 3 were deleted while offline: the next rows are above careful mode's end. */
	SendPipeline failing;
	failing.connected(OWN_JID);
	send(failing, {2, 3}, 2, "b1");
	failing.connection_lost("connection reset by peer");
	failing.connected(OWN_JID);
	failing.begin_batch(0, 1, 1, 4);
	failing.row_failed(4, "message_to is empty");
	failing.end_batch("", 0);
	EXPECT_FALSE(failing.careful());

	SendPipeline confirming;
	confirming.connected(OWN_JID);
	send(confirming, {2, 3}, 2, "b1");
	confirming.connection_lost("connection reset by peer");
	confirming.connected(OWN_JID);
	send(confirming, {4}, 1, "c4");
	EXPECT_TRUE(confirming.careful());
	EXPECT_TRUE(confirming.barrier_answered("c4", SERVER));
	EXPECT_FALSE(confirming.careful());
}

TEST(CarefulMode, ARowThatBouncedStillEndsItWhenItsBarrierIsAnswered)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	pipeline.connection_lost("connection reset by peer");
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "c1");
	EXPECT_TRUE(
	    pipeline.error_replied(stanza_id(1), "other.org", cancel("remote-server-not-found"), 0));
	EXPECT_TRUE(pipeline.careful());
	EXPECT_TRUE(pipeline.barrier_answered("c1", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows());
	EXPECT_EQ(failures(pipeline), Strings({"1: remote-server-not-found"}));
	EXPECT_FALSE(pipeline.careful()) << "row 1 reached the server, which is all careful mode asks";
}

/* ------------------------------------------------------------ out_of_attempts */

TEST(OutOfAttempts, EmptyUpToTheMaximum)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	pipeline.connection_lost("ping timeout");
	EXPECT_EQ(pipeline.out_of_attempts(1, 3), "");
	EXPECT_EQ(pipeline.out_of_attempts(3, 3), "");
	EXPECT_EQ(pipeline.out_of_attempts(4, 3), MAX_ATTEMPTS_PREFIX + "ping timeout");
	EXPECT_EQ(pipeline.out_of_attempts(5, 5), "");
	EXPECT_EQ(pipeline.out_of_attempts(6, 5),
	          "not confirmed by the server after 5 attempts (jabclnd.max_attempts); the "
	          "connection was lost each time: ping timeout")
	    << "the setting's value, not the row's count";
}

TEST(OutOfAttempts, NamesTheLastConnectionErrorUntilANewAccount)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	pipeline.connection_lost("stream error: policy-violation");
	EXPECT_EQ(pipeline.out_of_attempts(4, 3),
	          MAX_ATTEMPTS_PREFIX + "stream error: policy-violation");

	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b2");
	pipeline.connection_lost("ping timeout");
	EXPECT_EQ(pipeline.out_of_attempts(4, 3), MAX_ATTEMPTS_PREFIX + "ping timeout")
	    << "the latest error";

	pipeline.new_account();
	EXPECT_EQ(pipeline.out_of_attempts(4, 3), MAX_ATTEMPTS_PREFIX + "no error recorded")
	    << "another account's error is not this one's";
}

/* ------------------------------------------------------------ barrier answers */

TEST(BarrierAnswers, AcceptedFromTheOwnServerTheOwnBareJidOrNoFrom)
{
	for (const char *from :
	     {"example.org", "EXAMPLE.ORG", "bot@example.org", "Bot@Example.ORG", ""})
	{
		SendPipeline pipeline;
		pipeline.connected(OWN_JID);
		send(pipeline, {1, 2}, 2, "b1");
		EXPECT_TRUE(pipeline.barrier_answered("b1", from)) << "from \"" << from << "\"";
		EXPECT_EQ(pipeline.confirmed(), Rows({1, 2})) << "from \"" << from << "\"";
		EXPECT_EQ(pipeline.batches_in_flight(), 0u) << "from \"" << from << "\"";
	}
}

TEST(BarrierAnswers, RefusedFromAnyoneElse)
{
	for (const char *from : {
	         "alice@example.org",      /* another user of the server */
	         "other.org",              /* another domain */
	         "bot@other.org",          /* the bot's local part on another domain */
	         "stranger@evil.org/res",  /* a stranger's full JID */
	         "alice@example.org/res",  /* another user's full JID */
	         "sub.example.org",        /* a subdomain is another server */
	         "example.org.evil",       /* a domain that merely starts like ours */
	         "bot@example.org/mobile", /* another session of the account is not the server */
	     })
	{
		SendPipeline pipeline;
		pipeline.connected(OWN_JID);
		send(pipeline, {1, 2}, 2, "b1");
		EXPECT_FALSE(pipeline.barrier_answered("b1", from)) << "from " << from;
		EXPECT_EQ(pipeline.confirmed(), Rows()) << "from " << from;
		EXPECT_EQ(pipeline.batches_in_flight(), 1u) << "from " << from;
		EXPECT_EQ(pipeline.barrier_deadline(), 1000) << "from " << from;
		/* The server's own answer still counts after a forgery. */
		EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER)) << "from " << from;
		EXPECT_EQ(pipeline.confirmed(), Rows({1, 2})) << "from " << from;
	}
}

TEST(BarrierAnswers, AWrongIdIsRefused)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	EXPECT_FALSE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_FALSE(pipeline.barrier_answered("", SERVER));
	EXPECT_FALSE(pipeline.barrier_answered(stanza_id(1), SERVER)) << "a message id is no barrier";
	EXPECT_EQ(pipeline.confirmed(), Rows());
	EXPECT_EQ(pipeline.batches_in_flight(), 1u);
}

TEST(BarrierAnswers, AnAnswerAfterTheConnectionWasLostIsRefused)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	pipeline.connection_lost("ping timeout");
	EXPECT_FALSE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_FALSE(pipeline.barrier_answered("b1", "")) << "no from, and no batch either";
	EXPECT_EQ(pipeline.confirmed(), Rows());
}

TEST(BarrierAnswers, BarrierIdsArePerConnection)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	pipeline.connection_lost("ping timeout");

	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b2");
	EXPECT_FALSE(pipeline.barrier_answered("b1", SERVER)) << "the old connection's barrier";
	EXPECT_EQ(pipeline.confirmed(), Rows());
	EXPECT_TRUE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({1}));
}

TEST(BarrierAnswers, TheNewConnectionsServerAnswersForANewAccount)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	pipeline.outcomes_recorded();
	pipeline.connection_lost("logged out");

	pipeline.new_account();
	pipeline.connected("robot@other.net/jabclnd");
	send(pipeline, {2}, 1, "b2");
	EXPECT_FALSE(pipeline.barrier_answered("b2", SERVER)) << "the old account's server";
	EXPECT_TRUE(pipeline.barrier_answered("b2", "other.net"));
	EXPECT_EQ(pipeline.confirmed(), Rows({2}));
}

/* ------------------------------------------------------------ error replies */

TEST(ErrorReplies, FromTheRecipientAnyResourceCaseInsensitiveFailTheRow)
{
	for (const char *from :
	     {"alice@other.org", "Alice@OTHER.org", "alice@other.org/phone", "ALICE@other.org/Laptop"})
	{
		SendPipeline pipeline;
		pipeline.connected(OWN_JID);
		send(pipeline, {1, 2, 3}, 3, "b1");
		EXPECT_TRUE(pipeline.error_replied(stanza_id(2), from, cancel("service-unavailable"), 0))
		    << "from " << from;
		EXPECT_EQ(failures(pipeline), Strings({"2: service-unavailable"})) << "from " << from;
		EXPECT_EQ(pipeline.confirmed(), Rows()) << "from " << from;
		/* The barrier confirms what reached the server, less what bounced. */
		EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER)) << "from " << from;
		EXPECT_EQ(pipeline.confirmed(), Rows({1, 3})) << "from " << from;
		EXPECT_EQ(failures(pipeline), Strings({"2: service-unavailable"})) << "from " << from;
	}
}

TEST(ErrorReplies, FromTheRecipientsDomainFailTheRow)
{
	for (const char *from : {"other.org", "OTHER.org"})
	{
		SendPipeline pipeline;
		pipeline.connected(OWN_JID);
		send(pipeline, {1, 2}, 2, "b1");
		EXPECT_TRUE(
		    pipeline.error_replied(stanza_id(1), from, cancel("remote-server-not-found"), 0))
		    << "from " << from;
		EXPECT_EQ(failures(pipeline), Strings({"1: remote-server-not-found"})) << "from " << from;
		EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER)) << "from " << from;
		EXPECT_EQ(pipeline.confirmed(), Rows({2})) << "from " << from;
	}
}

TEST(ErrorReplies, ARecipientWithAResourceIsAnsweredForByItsBareJidAndDomain)
{
	for (const char *from :
	     {"alice@other.org/phone", "alice@other.org/laptop", "alice@other.org", "other.org"})
	{
		SendPipeline pipeline;
		pipeline.connected(OWN_JID);
		send(pipeline, {1}, 1, "b1", 1000, "alice@other.org/phone");
		EXPECT_TRUE(pipeline.error_replied(stanza_id(1), from, cancel("item-not-found"), 0))
		    << "from " << from;
		EXPECT_EQ(failures(pipeline), Strings({"1: item-not-found"})) << "from " << from;
	}
}

TEST(ErrorReplies, AnErrorForARowInTheSecondBatchRemovesItFromThatBatch)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2}, 2, "b1");
	send(pipeline, {3, 4}, 2, "b2");
	EXPECT_TRUE(pipeline.error_replied(stanza_id(3), ALICE, cancel("forbidden"), 0));
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({1, 2}));
	EXPECT_TRUE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({1, 2, 4}));
	EXPECT_EQ(failures(pipeline), Strings({"3: forbidden"}));
}

TEST(ErrorReplies, FromAnyoneElseChangeNothing)
{
	for (const char *from : {
	         "mallory@other.org",       /* a stranger on the recipient's domain */
	         "mallory@other.org/phone", /* the same, with a resource */
	         "evil.org",                /* another domain */
	         "alice@evil.org",          /* the recipient's local part elsewhere */
	         "example.org",             /* the bot's own server: the recipient is elsewhere */
	         "bot@example.org",         /* the bot itself */
	         "",                        /* no from: the bot's own server */
	     })
	{
		SendPipeline pipeline;
		pipeline.connected(OWN_JID);
		send(pipeline, {1, 2}, 2, "b1");
		EXPECT_FALSE(pipeline.error_replied(stanza_id(1), from, cancel("forged"), 0))
		    << "from " << from;
		EXPECT_EQ(failures(pipeline), Strings()) << "from " << from;
		EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER)) << "from " << from;
		EXPECT_EQ(pipeline.confirmed(), Rows({1, 2})) << "from " << from;
	}
}

TEST(ErrorReplies, WithAnUnknownIdChangeNothing)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	EXPECT_FALSE(pipeline.error_replied(stanza_id(2), ALICE, cancel("forbidden"), 0));
	EXPECT_FALSE(pipeline.error_replied("b1", ALICE, cancel("forbidden"), 0))
	    << "a barrier is no message";
	EXPECT_FALSE(pipeline.error_replied("", ALICE, cancel("forbidden"), 0));
	EXPECT_EQ(failures(pipeline), Strings());
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({1}));
}

TEST(ErrorReplies, ForARowAlreadyConfirmedChangeNothing)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	/* Confirmed is final: the server processed the stanza before the barrier. */
	EXPECT_FALSE(pipeline.error_replied(stanza_id(1), ALICE, cancel("service-unavailable"), 0));
	EXPECT_EQ(pipeline.confirmed(), Rows({1}));
	EXPECT_EQ(failures(pipeline), Strings());
}

TEST(ErrorReplies, ForARowAlreadyFailedChangeNothing)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	EXPECT_TRUE(pipeline.error_replied(stanza_id(1), ALICE, cancel("service-unavailable"), 0));
	EXPECT_FALSE(pipeline.error_replied(stanza_id(1), ALICE, cancel("again"), 0));
	EXPECT_EQ(failures(pipeline), Strings({"1: service-unavailable"}));
}

TEST(ErrorReplies, AfterTheConnectionWasLostChangeNothing)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	pipeline.connection_lost("ping timeout");
	EXPECT_FALSE(pipeline.error_replied(stanza_id(1), ALICE, cancel("service-unavailable"), 0));
	EXPECT_EQ(failures(pipeline), Strings()) << "row 1 stays pending, to be sent again";

	/* Sent again on the next connection, the same stanza id is in flight again. */
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b2");
	EXPECT_TRUE(pipeline.error_replied(stanza_id(1), ALICE, cancel("service-unavailable"), 0));
	EXPECT_EQ(failures(pipeline), Strings({"1: service-unavailable"}));
}

TEST(ErrorReplies, RawStanzasWithTheSameIdAreToldApartByRecipient)
{
	/* message_stanza rows carry their own ids: two rows may use the same one. */
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 2, 10, 2);
	pipeline.row_sent(1, "same", "alice@other.org");
	pipeline.row_sent(2, "same", "bob@third.org");
	pipeline.end_batch("b1", 1000);

	EXPECT_TRUE(pipeline.error_replied("same", "bob@third.org/phone", cancel("not-acceptable"), 0));
	EXPECT_EQ(failures(pipeline), Strings({"2: not-acceptable"})) << "bob's row, not alice's";
	EXPECT_FALSE(pipeline.error_replied("same", "bob@third.org", cancel("again"), 0))
	    << "bob's row already failed";
	EXPECT_TRUE(pipeline.error_replied("same", "other.org", cancel("remote-server-not-found"), 0));
	EXPECT_EQ(failures(pipeline), Strings({"2: not-acceptable", "1: remote-server-not-found"}));
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows());
}

TEST(ErrorReplies, RawStanzasWithTheSameIdTheOtherOneIsStillConfirmed)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 2, 10, 2);
	pipeline.row_sent(1, "same", "alice@other.org");
	pipeline.row_sent(2, "same", "bob@third.org");
	pipeline.end_batch("b1", 1000);

	EXPECT_TRUE(pipeline.error_replied("same", "bob@third.org", cancel("not-acceptable"), 0));
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({1}));
	EXPECT_EQ(failures(pipeline), Strings({"2: not-acceptable"}));
}

/*
 * An error that arrives while its batch is still being built (the worker
 * does not pump between begin_batch and end_batch today, but nothing in
 * the class relies on it) fails the row and takes it out of the batch:
 * the barrier does not also confirm it.
 */
TEST(ErrorReplies, ForARowOfTheBatchBeingBuiltTakeItOutOfTheBatch)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 2, 2, 2);
	pipeline.row_sent(1, stanza_id(1), ALICE);
	EXPECT_TRUE(
	    pipeline.error_replied(stanza_id(1), "other.org", cancel("remote-server-not-found"), 0));
	pipeline.row_sent(2, stanza_id(2), ALICE);
	pipeline.end_batch("b1", 1000);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(failures(pipeline), Strings({"1: remote-server-not-found"}));
	EXPECT_EQ(pipeline.confirmed(), Rows({2}));
}

/*
 * A claim whose rows all failed leaves no batch in flight, but its rows
 * are pending in the table until the failures are recorded: while another
 * batch is in flight, the next claim starts above them, not at the older
 * batch's end (it would claim and fail them twice).
 */
TEST(Failures, AnAllFailedClaimBehindABatchInFlightIsNotClaimedAgainBeforeItIsRecorded)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2}, 2, "b1");
	pipeline.begin_batch(pipeline.claim_after(), 2, 2, 4);
	pipeline.row_failed(3, "bad");
	pipeline.row_failed(4, "bad");
	EXPECT_FALSE(pipeline.batch_needs_barrier());
	pipeline.end_batch("", 0);
	EXPECT_EQ(pipeline.batches_in_flight(), 1u);
	EXPECT_TRUE(pipeline.claim_due()) << "the claim was full: more may wait";
	EXPECT_EQ(pipeline.claim_after(), 4);
	pipeline.outcomes_recorded();
	EXPECT_EQ(pipeline.claim_after(), 2) << "recorded: rows 3 and 4 are final in the table";
}

/* ---------------------------------------- confirmed in the same step as a loss */

TEST(SameStep, ConfirmedRowsStayConfirmedWhenTheConnectionIsLostRightAfter)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2}, 2, "b1");
	send(pipeline, {3, 4}, 2, "b2");

	/* One pump read the answer to b1 and then the end of the stream. */
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	pipeline.connection_lost("connection reset by peer");

	EXPECT_EQ(pipeline.confirmed(), Rows({1, 2}));
	EXPECT_TRUE(pipeline.careful());
	EXPECT_EQ(pipeline.claim_limit(100), 1);
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_EQ(pipeline.claim_after(), 0);

	pipeline.connected(OWN_JID);
	EXPECT_FALSE(pipeline.claim_due()) << "rows 1 and 2 are recorded first";
	pipeline.outcomes_recorded();
	/* Careful mode covers rows 3 and 4 only: rows 1 and 2 are not claimed again. */
	expect_careful_until(pipeline, 3, 4);
}

TEST(SameStep, EverythingConfirmedBeforeTheLossLeavesNoCarefulMode)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2}, 2, "b1");
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	pipeline.connection_lost("connection reset by peer");

	EXPECT_EQ(pipeline.confirmed(), Rows({1, 2}));
	EXPECT_FALSE(pipeline.careful());
	EXPECT_EQ(pipeline.claim_limit(100), 100);
	EXPECT_EQ(pipeline.out_of_attempts(4, 3), MAX_ATTEMPTS_PREFIX + "no error recorded");
}

/* ------------------------------------------------------------ echoes */

TEST(Echoes, AnEchoBeforeTheBarrierConfirmsTheRowTheBatchWaitsForItsBarrier)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send_to_room(pipeline, {1, 2}, 2, "b1");
	EXPECT_FALSE(pipeline.batch_needs_barrier()) << "the batch has ended";
	EXPECT_EQ(pipeline.echo_deadline(), 0) << "the barrier is not answered yet";

	/* The room is a component: it may echo before the server answers the ping. */
	EXPECT_TRUE(echo(pipeline, 1));
	EXPECT_EQ(pipeline.confirmed(), Rows({1}));
	EXPECT_EQ(pipeline.batches_in_flight(), 1u) << "its barrier is not answered yet";
	EXPECT_EQ(pipeline.barrier_deadline(), 1000);
	EXPECT_EQ(pipeline.claim_after(), 2);

	/* A room that rewrites ids still keeps the origin-id: that is enough. */
	EXPECT_TRUE(pipeline.echo_received(OCCUPANT, "room-id-42", origin_id(2), OCCUPANT));
	EXPECT_EQ(pipeline.confirmed(), Rows({1, 2}));
	EXPECT_EQ(pipeline.batches_in_flight(), 1u);

	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({1, 2})) << "nothing is confirmed twice";
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_EQ(pipeline.barrier_deadline(), 0);
	EXPECT_EQ(pipeline.echo_deadline(), 0);
}

TEST(Echoes, AfterTheBarrierTheBatchStaysInFlightUntilEveryEcho)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send_to_room(pipeline, {1, 2}, 2, "b1", 1000);

	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows()) << "the server's answer does not confirm room rows";
	EXPECT_EQ(pipeline.batches_in_flight(), 1u);
	EXPECT_EQ(pipeline.barrier_deadline(), 0) << "no barrier unanswered: the connection is fine";
	EXPECT_EQ(pipeline.echo_deadline(), 1000);
	EXPECT_EQ(pipeline.claim_after(), 2) << "rows 1 and 2 are in flight";
	EXPECT_TRUE(pipeline.claim_due()) << "a full claim, and room for a second batch";

	EXPECT_TRUE(echo(pipeline, 2));
	EXPECT_EQ(pipeline.confirmed(), Rows({2}));
	EXPECT_EQ(pipeline.batches_in_flight(), 1u) << "row 1 is not echoed yet";
	EXPECT_TRUE(echo(pipeline, 1));
	EXPECT_EQ(pipeline.confirmed(), Rows({2, 1}));
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_EQ(pipeline.echo_deadline(), 0);
	EXPECT_FALSE(pipeline.expire_echoes(5000)) << "nothing left to expire";
	EXPECT_EQ(pipeline.claim_after(), 0);
	EXPECT_FALSE(pipeline.claim_due()) << "outcomes wait to be recorded";
	pipeline.outcomes_recorded();
	EXPECT_TRUE(pipeline.claim_due());
}

TEST(Echoes, TheNextBarrierIsTheOldestUnansweredOneWhileAnOlderBatchWaitsForEchoes)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send_to_room(pipeline, {1}, 1, "b1", 100);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	send(pipeline, {2}, 1, "b2", 200);
	EXPECT_EQ(pipeline.batches_in_flight(), 2u);
	EXPECT_FALSE(pipeline.claim_due()) << "the batch that waits for its echo takes room";
	EXPECT_EQ(pipeline.barrier_deadline(), 200);
	EXPECT_EQ(pipeline.echo_deadline(), 100);
	EXPECT_FALSE(pipeline.barrier_answered("b1", SERVER)) << "answered once";
	EXPECT_TRUE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({2}));
	EXPECT_EQ(pipeline.batches_in_flight(), 1u);
}

TEST(Echoes, ABarrierAnsweredAndAnEchoMissingExpiresAtTheDeadlineIntoCarefulMode)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send_to_room(pipeline, {1, 2, 3}, 3, "b1", 1000);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_TRUE(echo(pipeline, 1));

	EXPECT_FALSE(pipeline.expire_echoes(999)) << "not yet";
	EXPECT_EQ(pipeline.batches_in_flight(), 1u);
	EXPECT_FALSE(pipeline.careful());

	EXPECT_TRUE(pipeline.expire_echoes(1000));
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_EQ(pipeline.echo_deadline(), 0);
	EXPECT_EQ(pipeline.confirmed(), Rows({1})) << "row 1 was echoed: it stays confirmed";
	EXPECT_EQ(failures(pipeline), Strings()) << "rows 2 and 3 stay pending";
	EXPECT_TRUE(pipeline.careful());
	EXPECT_EQ(pipeline.claim_limit(100), 1);
	EXPECT_FALSE(pipeline.expire_echoes(5000)) << "expired once";

	/* A late echo is not taken: the rows are no longer in flight, they will be sent again. */
	EXPECT_FALSE(echo(pipeline, 2));
	EXPECT_EQ(pipeline.confirmed(), Rows({1}));

	EXPECT_FALSE(pipeline.claim_due()) << "row 1 is recorded first";
	pipeline.outcomes_recorded();
	ASSERT_TRUE(pipeline.claim_due()) << "rows 2 and 3 are pending again: no safety poll";
	EXPECT_EQ(pipeline.claim_after(), 0);

	/* Careful mode: one row per batch, one batch in flight, until row 3. */
	send_to_room(pipeline, {2}, 1, "c2", 3000);
	EXPECT_FALSE(pipeline.claim_due());
	EXPECT_TRUE(pipeline.barrier_answered("c2", SERVER));
	EXPECT_TRUE(echo(pipeline, 2)) << "the same ids, in flight again";
	EXPECT_TRUE(pipeline.careful());
	pipeline.outcomes_recorded();
	EXPECT_EQ(pipeline.claim_after(), 0);
	send_to_room(pipeline, {3}, 1, "c3", 4000);
	EXPECT_TRUE(echo(pipeline, 3));
	EXPECT_TRUE(pipeline.careful()) << "echoed, but the batch waits for its barrier";
	EXPECT_TRUE(pipeline.barrier_answered("c3", SERVER));
	EXPECT_FALSE(pipeline.careful());
	EXPECT_EQ(pipeline.confirmed(), Rows({3}));
}

TEST(Echoes, AnExpiredBatchBehindANewerOneIsClaimedAgainOnlyOnceTheNewerOneIsDone)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send_to_room(pipeline, {1, 2}, 2, "b1", 100);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	send(pipeline, {3, 4}, 2, "b2", 200);

	EXPECT_TRUE(pipeline.expire_echoes(150));
	EXPECT_EQ(pipeline.batches_in_flight(), 1u);
	EXPECT_TRUE(pipeline.careful());
	EXPECT_EQ(pipeline.barrier_deadline(), 200);
	EXPECT_EQ(pipeline.claim_after(), 4) << "never below a row in flight";
	EXPECT_FALSE(pipeline.claim_due()) << "careful mode: one batch in flight";

	/* Batch 2 was claimed above rows 1 and 2: its answer does not end careful mode. */
	EXPECT_TRUE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({3, 4}));
	EXPECT_TRUE(pipeline.careful());
	EXPECT_FALSE(pipeline.claim_due());
	pipeline.outcomes_recorded();
	ASSERT_TRUE(pipeline.claim_due()) << "rows 1 and 2 are below: look there";
	EXPECT_EQ(pipeline.claim_after(), 0);
	EXPECT_EQ(pipeline.claim_limit(100), 1);

	send_to_room(pipeline, {1}, 1, "c1", 300);
	EXPECT_TRUE(pipeline.barrier_answered("c1", SERVER));
	EXPECT_TRUE(echo(pipeline, 1));
	EXPECT_TRUE(pipeline.careful()) << "row 2 is the end";
	pipeline.outcomes_recorded();
	send_to_room(pipeline, {2}, 1, "c2", 400);
	EXPECT_TRUE(pipeline.barrier_answered("c2", SERVER));
	EXPECT_TRUE(echo(pipeline, 2));
	EXPECT_FALSE(pipeline.careful());
}

TEST(Echoes, ABatchDoneBeforeAnOlderOneIsNotClaimedAgainBeforeItIsRecorded)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send_to_room(pipeline, {1, 2}, 2, "b1", 100);
	send(pipeline, {3, 4}, 2, "b2", 200);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_TRUE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({3, 4}));
	EXPECT_EQ(pipeline.batches_in_flight(), 1u) << "batch 1 waits for its echoes";

	/* Rows 3 and 4 are pending in the table until recorded: the claim stays above them. */
	EXPECT_TRUE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 4);
	pipeline.outcomes_recorded();
	EXPECT_GE(pipeline.claim_after(), 2) << "never below batch 1's rows";
}

TEST(Echoes, OnlyFromOurOwnNickInTheRowsRoom)
{
	struct Case
	{
		const char *from;
		const char *own_occupant_jid;
		const char *why;
	};
	for (const Case &c : {
	         Case{MALLORY, OCCUPANT, "another occupant repeats our id"},
	         Case{"room@conference.other.org/Bot", OCCUPANT, "nicks are compared exactly"},
	         Case{"room@conference.other.org/bot2", OCCUPANT, "a nick that starts like ours"},
	         Case{ROOM, OCCUPANT, "the room itself is not our nick"},
	         Case{"room@conference.other.org/", OCCUPANT, "an empty nick"},
	         Case{OCCUPANT, "", "not joined: no occupant JID of ours"},
	         Case{OCCUPANT, ROOM, "an occupant JID without a nick"},
	         Case{"other@conference.other.org/bot", "other@conference.other.org/bot",
	              "our nick in another room"},
	         Case{"room@conference.evil.org/bot", "room@conference.evil.org/bot",
	              "the room's name on another service"},
	         Case{"alice@other.org/bot", "alice@other.org/bot", "a user's resource"},
	         Case{OCCUPANT, "other@conference.other.org/bot", "occupant JID of another room"},
	     })
	{
		SendPipeline pipeline;
		pipeline.connected(OWN_JID);
		send_to_room(pipeline, {1}, 1, "b1");
		EXPECT_FALSE(pipeline.echo_received(c.from, stanza_id(1), origin_id(1), c.own_occupant_jid))
		    << c.why;
		EXPECT_FALSE(pipeline.echo_received(c.from, "", origin_id(1), c.own_occupant_jid)) << c.why;
		EXPECT_EQ(pipeline.confirmed(), Rows()) << c.why;
		EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER)) << c.why;
		EXPECT_EQ(pipeline.confirmed(), Rows()) << c.why;
		/* The real echo still counts after a forgery. */
		EXPECT_TRUE(echo(pipeline, 1)) << c.why;
		EXPECT_EQ(pipeline.confirmed(), Rows({1})) << c.why;
	}
}

TEST(Echoes, TheRoomsBareJidIsComparedInAsciiCase)
{
	for (const char *from : {"Room@Conference.Other.ORG/bot", "ROOM@conference.other.org/bot"})
	{
		SendPipeline pipeline;
		pipeline.connected(OWN_JID);
		send_to_room(pipeline, {1}, 1, "b1");
		EXPECT_TRUE(pipeline.echo_received(from, stanza_id(1), origin_id(1), OCCUPANT))
		    << "from " << from;
		EXPECT_EQ(pipeline.confirmed(), Rows({1})) << "from " << from;
	}
}

TEST(Echoes, OnlyForAnIdOrOriginIdInFlightOnlyOnce)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send_to_room(pipeline, {1, 2}, 2, "b1");

	EXPECT_FALSE(pipeline.echo_received(OCCUPANT, "m9", "o9", OCCUPANT)) << "no such stanza";
	EXPECT_FALSE(pipeline.echo_received(OCCUPANT, "", "", OCCUPANT)) << "no id at all";
	EXPECT_FALSE(pipeline.echo_received(OCCUPANT, "b1", "", OCCUPANT)) << "a barrier's id";
	EXPECT_FALSE(pipeline.echo_received(OCCUPANT, origin_id(1), stanza_id(1), OCCUPANT))
	    << "an origin-id is no stanza id, nor the other way round";
	EXPECT_EQ(pipeline.confirmed(), Rows());

	EXPECT_TRUE(echo(pipeline, 1));
	EXPECT_FALSE(echo(pipeline, 1)) << "a second echo (the room's history at a rejoin)";
	EXPECT_FALSE(pipeline.echo_received(OCCUPANT, "", origin_id(1), OCCUPANT));
	EXPECT_EQ(pipeline.confirmed(), Rows({1}));
	EXPECT_FALSE(pipeline.error_replied(stanza_id(1), ROOM, cancel("forbidden"), 0))
	    << "confirmed is final";
	EXPECT_EQ(failures(pipeline), Strings());
}

TEST(Echoes, RowsConfirmedByTheBarrierAreNotEchoRows)
{
	/* A chat row sent to an address that happens to be a room: the barrier confirms it. */
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1", 1000, ROOM);
	EXPECT_FALSE(echo(pipeline, 1));
	EXPECT_EQ(pipeline.confirmed(), Rows());
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({1}));
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
}

TEST(Echoes, ThoseOfAnEarlierConnectionAreNotTaken)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send_to_room(pipeline, {1}, 1, "b1");
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	pipeline.connection_lost("connection reset by peer");
	EXPECT_FALSE(echo(pipeline, 1));
	EXPECT_EQ(pipeline.confirmed(), Rows());
}

TEST(Echoes, RawStanzasWithTheSameIdToTwoRoomsAreToldApartByRoom)
{
	const std::string other_room = "other@conference.other.org";
	const std::string other_occupant = other_room + "/bot";
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 2, 10, 2);
	pipeline.row_sent(1, "same", ROOM, ConfirmedBy::echo);
	pipeline.row_sent(2, "same", other_room, ConfirmedBy::echo);
	pipeline.end_batch("b1", 1000);

	EXPECT_TRUE(pipeline.echo_received(other_occupant, "same", "", other_occupant));
	EXPECT_EQ(pipeline.confirmed(), Rows({2})) << "the other room's row";
	EXPECT_FALSE(pipeline.echo_received(other_occupant, "same", "", other_occupant));
	EXPECT_TRUE(pipeline.echo_received(OCCUPANT, "same", "", OCCUPANT));
	EXPECT_EQ(pipeline.confirmed(), Rows({2, 1}));
}

TEST(Echoes, AnEchoWhileItsBatchIsBeingBuiltTakesTheRowOutOfTheBatch)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 2, 2, 2);
	pipeline.row_sent(1, stanza_id(1), ROOM, ConfirmedBy::echo, origin_id(1));
	EXPECT_TRUE(echo(pipeline, 1));
	pipeline.row_sent(2, stanza_id(2), ROOM, ConfirmedBy::echo, origin_id(2));
	pipeline.end_batch("b1", 1000);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.batches_in_flight(), 1u) << "row 2 waits for its echo, row 1 does not";
	EXPECT_TRUE(echo(pipeline, 2));
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_EQ(pipeline.confirmed(), Rows({1, 2}));
}

/* ------------------------------------------------------------ errors from rooms */

TEST(RoomErrors, FromTheRoomOrItsServiceFailTheRowWithTheRoomsCondition)
{
	for (const char *from : {ROOM, "Room@Conference.other.org", "conference.other.org"})
	{
		for (bool barrier_first : {false, true})
		{
			SendPipeline pipeline;
			pipeline.connected(OWN_JID);
			send_to_room(pipeline, {1, 2}, 2, "b1");
			if (barrier_first)
			{
				EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
			}
			EXPECT_TRUE(pipeline.error_replied(
			    stanza_id(1), from, cancel("forbidden: you are not allowed to speak"), 0))
			    << "from " << from;
			EXPECT_EQ(failures(pipeline), Strings({"1: forbidden: you are not allowed to speak"}))
			    << "from " << from;
			EXPECT_FALSE(echo(pipeline, 1)) << "failed is final";
			EXPECT_TRUE(echo(pipeline, 2));
			if (!barrier_first)
			{
				EXPECT_EQ(pipeline.batches_in_flight(), 1u);
				EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
			}
			EXPECT_EQ(pipeline.batches_in_flight(), 0u) << "from " << from;
			EXPECT_EQ(pipeline.confirmed(), Rows({2})) << "from " << from;
		}
	}
}

TEST(RoomErrors, TheLastRowFailingSettlesTheBatch)
{
	for (const char *condition : {"not-acceptable", "resource-constraint"})
	{
		SendPipeline pipeline;
		pipeline.connected(OWN_JID);
		send_to_room(pipeline, {1}, 1, "b1");
		EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
		EXPECT_TRUE(pipeline.error_replied(stanza_id(1), ROOM, cancel(condition), 0));
		EXPECT_EQ(pipeline.batches_in_flight(), 0u);
		EXPECT_FALSE(pipeline.expire_echoes(5000));
		EXPECT_FALSE(pipeline.careful());
		EXPECT_EQ(failures(pipeline), Strings({std::string("1: ") + condition}));
	}
}

TEST(RoomErrors, FromAnOccupantOrAnyoneElseChangeNothing)
{
	for (const char *from : {
	         MALLORY,                    /* every occupant saw our stanza's id */
	         OCCUPANT,                   /* not what a room sends errors from */
	         "room@conference.evil.org", /* the room's name elsewhere */
	         "other.org",                /* the service's parent domain */
	         "example.org",              /* the bot's own server */
	         "",                         /* no from */
	     })
	{
		SendPipeline pipeline;
		pipeline.connected(OWN_JID);
		send_to_room(pipeline, {1}, 1, "b1");
		EXPECT_FALSE(pipeline.error_replied(stanza_id(1), from, cancel("forged"), 0))
		    << "from " << from;
		EXPECT_EQ(failures(pipeline), Strings()) << "from " << from;
		EXPECT_TRUE(echo(pipeline, 1)) << "from " << from;
		EXPECT_EQ(pipeline.confirmed(), Rows({1})) << "from " << from;
	}
}

/* ------------------------------------------------------------ mixed batches */

TEST(MixedBatches, PlainRowsAtTheBarrierRoomRowsAtTheirEchoes)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 5, 5, 5);
	pipeline.row_sent(1, stanza_id(1), ALICE);
	pipeline.row_sent(2, stanza_id(2), ROOM, ConfirmedBy::echo, origin_id(2));
	pipeline.row_sent(3, stanza_id(3), ALICE);
	pipeline.row_sent(4, stanza_id(4), ROOM, ConfirmedBy::echo, origin_id(4));
	pipeline.row_failed(5, "message_to is empty");
	EXPECT_TRUE(pipeline.batch_needs_barrier());
	pipeline.end_batch("b1", 1000);

	EXPECT_TRUE(echo(pipeline, 4));
	EXPECT_EQ(pipeline.confirmed(), Rows({4}));
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({4, 1, 3}));
	EXPECT_EQ(pipeline.batches_in_flight(), 1u) << "row 2 waits for its echo";
	EXPECT_FALSE(pipeline.error_replied(stanza_id(1), ALICE, cancel("late"), 0))
	    << "row 1 is confirmed";
	EXPECT_TRUE(echo(pipeline, 2));
	EXPECT_EQ(pipeline.confirmed(), Rows({4, 1, 3, 2}));
	EXPECT_EQ(failures(pipeline), Strings({"5: message_to is empty"}));
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
}

TEST(MixedBatches, AnEchoMissingLosesOnlyTheRoomRow)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 3, 3, 3);
	pipeline.row_sent(1, stanza_id(1), ALICE);
	pipeline.row_sent(2, stanza_id(2), ROOM, ConfirmedBy::echo, origin_id(2));
	pipeline.row_sent(3, stanza_id(3), ALICE);
	pipeline.end_batch("b1", 1000);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_TRUE(pipeline.expire_echoes(1000));

	EXPECT_EQ(pipeline.confirmed(), Rows({1, 3}));
	EXPECT_TRUE(pipeline.careful());
	pipeline.outcomes_recorded();
	/* Careful mode covers row 2 only: rows 1 and 3 are recorded, not claimed again. */
	ASSERT_TRUE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 0);
	EXPECT_EQ(pipeline.claim_limit(100), 1);
	send_to_room(pipeline, {2}, 1, "c2");
	EXPECT_TRUE(pipeline.barrier_answered("c2", SERVER));
	EXPECT_TRUE(echo(pipeline, 2));
	EXPECT_FALSE(pipeline.careful());
}

/* ------------------------------------------------------------ lost with echoes awaited */

TEST(EchoesLost, AConnectionLostBeforeTheEchoLeavesTheRowPending)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 3, 3, 3);
	pipeline.row_sent(1, stanza_id(1), ROOM, ConfirmedBy::echo, origin_id(1));
	pipeline.row_sent(2, stanza_id(2), ROOM, ConfirmedBy::echo, origin_id(2));
	pipeline.row_sent(3, stanza_id(3), ALICE);
	pipeline.end_batch("b1", 1000);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_TRUE(echo(pipeline, 1));
	pipeline.connection_lost("connection reset by peer");

	EXPECT_EQ(pipeline.confirmed(), Rows({3, 1})) << "what was confirmed stays confirmed";
	EXPECT_EQ(failures(pipeline), Strings());
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_EQ(pipeline.echo_deadline(), 0);
	EXPECT_FALSE(pipeline.expire_echoes(5000));
	EXPECT_TRUE(pipeline.careful());
	EXPECT_FALSE(echo(pipeline, 2)) << "from the lost connection";
	EXPECT_EQ(pipeline.out_of_attempts(4, 3, 2), MAX_ATTEMPTS_PREFIX + "connection reset by peer");
	pipeline.outcomes_recorded();
	/* Careful mode covers row 2, the only one at risk: row 3 was confirmed. */
	expect_careful_until(pipeline, 2, 2);
}

TEST(EchoesLost, WhileTheBarrierIsUnansweredCarefulModeCoversTheWholeBatch)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send_to_room(pipeline, {1, 2}, 2, "b1");
	EXPECT_TRUE(echo(pipeline, 2));
	pipeline.connection_lost("ping timeout");
	EXPECT_EQ(pipeline.confirmed(), Rows({2}));
	pipeline.outcomes_recorded();
	/* As today: the highest row sent with the lost batch, echoed or not. */
	expect_careful_until(pipeline, 1, 2);
}

/* ------------------------------------------------------------ attempts and missing echoes */

TEST(EchoAttempts, ARowLastLostToAMissingEchoNamesItWhenItRunsOut)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b0");
	pipeline.connection_lost("ping timeout");
	pipeline.connected(OWN_JID);

	send_to_room(pipeline, {2}, 1, "b1", 1000);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_TRUE(pipeline.expire_echoes(1000));

	EXPECT_EQ(pipeline.out_of_attempts(3, 3, 2), "") << "attempts left";
	EXPECT_EQ(pipeline.out_of_attempts(4, 3, 2), NO_ECHO_REASON);
	EXPECT_EQ(pipeline.out_of_attempts(4, 3, 1), MAX_ATTEMPTS_PREFIX + "ping timeout")
	    << "another row: the connection's error";
	EXPECT_EQ(pipeline.out_of_attempts(4, 3), MAX_ATTEMPTS_PREFIX + "ping timeout");

	/* The worker fails it: then it is forgotten. */
	pipeline.begin_batch(0, 1, 1, 2);
	pipeline.row_failed(2, pipeline.out_of_attempts(4, 3, 2));
	pipeline.end_batch("", 0);
	EXPECT_EQ(failures(pipeline), Strings({"2: " + NO_ECHO_REASON}));
	EXPECT_EQ(pipeline.out_of_attempts(4, 3, 2), MAX_ATTEMPTS_PREFIX + "ping timeout");
}

TEST(EchoAttempts, TheLastAttemptsFateCounts)
{
	/* Lost to a missing echo, then to a lost connection: the connection's error. */
	SendPipeline lost;
	lost.connected(OWN_JID);
	send_to_room(lost, {1}, 1, "b1", 1000);
	EXPECT_TRUE(lost.barrier_answered("b1", SERVER));
	EXPECT_TRUE(lost.expire_echoes(1000));
	send_to_room(lost, {1}, 1, "c1", 2000);
	lost.connection_lost("stream error: conflict");
	EXPECT_EQ(lost.out_of_attempts(4, 3, 1), MAX_ATTEMPTS_PREFIX + "stream error: conflict");

	/* Lost to a missing echo, then sent again and still in flight: the echo. */
	SendPipeline again;
	again.connected(OWN_JID);
	send_to_room(again, {1}, 1, "b1", 1000);
	EXPECT_TRUE(again.barrier_answered("b1", SERVER));
	EXPECT_TRUE(again.expire_echoes(1000));
	send_to_room(again, {1}, 1, "c1", 2000);
	EXPECT_EQ(again.out_of_attempts(4, 3, 1), NO_ECHO_REASON);
	/* Echoed at last: confirmed, nothing to name. */
	EXPECT_TRUE(echo(again, 1));
	EXPECT_EQ(again.out_of_attempts(4, 3, 1), MAX_ATTEMPTS_PREFIX + "no error recorded");

	/* Another account's rooms are not this one's. */
	SendPipeline account;
	account.connected(OWN_JID);
	send_to_room(account, {1}, 1, "b1", 1000);
	EXPECT_TRUE(account.barrier_answered("b1", SERVER));
	EXPECT_TRUE(account.expire_echoes(1000));
	account.new_account();
	EXPECT_EQ(account.out_of_attempts(4, 3, 1), MAX_ATTEMPTS_PREFIX + "no error recorded");
}

TEST(EchoAttempts, ARoomThatSwallowsEveryMessageFailsTheRowAfterMaxAttempts)
{
	/* As the worker runs it: claim, send, barrier, no echo, deadline; max_attempts 3. */
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	Timestamp now = 0;
	for (int attempt = 1; attempt <= 4; attempt++)
	{
		SCOPED_TRACE("attempt " + std::to_string(attempt));
		ASSERT_TRUE(pipeline.claim_due());
		ASSERT_EQ(pipeline.claim_after(), 0);
		pipeline.begin_batch(0, 1, pipeline.claim_limit(100), 7);
		const std::string problem = pipeline.out_of_attempts(attempt, 3, 7);
		if (attempt <= 3)
		{
			ASSERT_EQ(problem, "");
			pipeline.row_sent(7, stanza_id(7), ROOM, ConfirmedBy::echo, origin_id(7));
			now += 1000;
			pipeline.end_batch("b" + std::to_string(attempt), now);
			EXPECT_TRUE(pipeline.barrier_answered("b" + std::to_string(attempt), SERVER));
			EXPECT_FALSE(pipeline.expire_echoes(now - 1));
			EXPECT_TRUE(pipeline.expire_echoes(now));
			EXPECT_TRUE(pipeline.careful());
			continue;
		}
		ASSERT_EQ(problem, NO_ECHO_REASON);
		pipeline.row_failed(7, problem);
		pipeline.end_batch("", 0);
	}
	EXPECT_EQ(failures(pipeline), Strings({"7: " + NO_ECHO_REASON}));
	EXPECT_FALSE(pipeline.careful()) << "the row at careful mode's end failed";
}

/* ------------------------------------------------------------ waiting rows */

TEST(WaitingRows, AreNotClaimedAgainUntilARoomIsJoined)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	/* Row 2's room is not joined yet: it waits. */
	pipeline.begin_batch(0, 3, 10, 3);
	pipeline.row_sent(1, stanza_id(1), ALICE);
	pipeline.row_waits(2);
	pipeline.row_sent(3, stanza_id(3), ALICE);
	pipeline.end_batch("b1", 1000);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	pipeline.outcomes_recorded();

	EXPECT_FALSE(pipeline.claim_due()) << "a short claim from 0";
	pipeline.rows_may_be_pending(); /* a commit, the safety poll */
	ASSERT_TRUE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 2) << "above the row that waits";
	send(pipeline, {4}, 10, "b2");
	EXPECT_TRUE(pipeline.barrier_answered("b2", SERVER));
	pipeline.outcomes_recorded();
	EXPECT_FALSE(pipeline.claim_due()) << "a claim from the floor saw every row above it";

	pipeline.rows_below_may_be_due();
	ASSERT_TRUE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 0);
	pipeline.begin_batch(0, 1, 10, 2);
	pipeline.row_sent(2, stanza_id(2), ROOM, ConfirmedBy::echo, origin_id(2));
	pipeline.end_batch("b3", 2000);
	EXPECT_TRUE(pipeline.barrier_answered("b3", SERVER));
	EXPECT_TRUE(echo(pipeline, 2));
	EXPECT_EQ(pipeline.confirmed(), Rows({2}));
	pipeline.outcomes_recorded();
	EXPECT_FALSE(pipeline.claim_due());
}

TEST(WaitingRows, AFullClaimOfWaitingRowsDoesNotClaimThemOverAndOver)
{
	/* Careful mode claims one row at a time: every claim is full. */
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2}, 2, "b1");
	pipeline.connection_lost("connection reset by peer");
	pipeline.connected(OWN_JID);

	ASSERT_TRUE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 0);
	pipeline.begin_batch(0, 1, 1, 1);
	pipeline.row_waits(1); /* its room is not joined again yet */
	EXPECT_FALSE(pipeline.batch_needs_barrier());
	pipeline.end_batch("", 0);
	ASSERT_TRUE(pipeline.claim_due()) << "a full claim: more rows may follow";
	EXPECT_EQ(pipeline.claim_after(), 1) << "not row 1 again";
	send(pipeline, {2}, 1, "c2");
	EXPECT_TRUE(pipeline.barrier_answered("c2", SERVER));
	EXPECT_FALSE(pipeline.careful()) << "row 2 was careful mode's end";
	pipeline.outcomes_recorded();
	ASSERT_TRUE(pipeline.claim_due()) << "the claim of row 2 was full";
	EXPECT_EQ(pipeline.claim_after(), 1) << "from the floor: row 2 is recorded";
	pipeline.begin_batch(1, 0, 100, 0);
	pipeline.end_batch("", 0);
	EXPECT_FALSE(pipeline.claim_due()) << "nothing above: done until something changes";
}

TEST(WaitingRows, RowsBelowMayBeDueNeverClaimsARowInFlight)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 3, 3, 3);
	pipeline.row_sent(1, stanza_id(1), ROOM, ConfirmedBy::echo, origin_id(1));
	pipeline.row_waits(2);
	pipeline.row_sent(3, stanza_id(3), ALICE);
	pipeline.end_batch("b1", 1000);

	pipeline.rows_below_may_be_due();
	EXPECT_EQ(pipeline.claim_after(), 3) << "rows 1 and 3 are in flight";
	ASSERT_TRUE(pipeline.claim_due()) << "the claim was full";
	send(pipeline, {4}, 3, "b2", 2000);
	EXPECT_FALSE(pipeline.claim_due()) << "two batches in flight";

	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_TRUE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({3, 4}));
	EXPECT_EQ(pipeline.batches_in_flight(), 1u) << "row 1 waits for its echo";
	EXPECT_GE(pipeline.claim_after(), 4) << "rows 3 and 4 are not recorded yet";
	EXPECT_FALSE(pipeline.claim_due()) << "a short claim; the look below waits for the flight";
	pipeline.outcomes_recorded();
	EXPECT_GE(pipeline.claim_after(), 1) << "row 1 is in flight";
	EXPECT_FALSE(pipeline.claim_due()) << "not from below while row 1 is in flight";
	pipeline.rows_may_be_pending();
	ASSERT_TRUE(pipeline.claim_due());
	EXPECT_GE(pipeline.claim_after(), 1) << "a commit claims from above row 1, not below";

	EXPECT_TRUE(echo(pipeline, 1));
	EXPECT_EQ(pipeline.batches_in_flight(), 0u);
	EXPECT_FALSE(pipeline.claim_due()) << "row 1 is recorded first";
	pipeline.outcomes_recorded();
	ASSERT_TRUE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 0) << "now row 2 is claimed again";
}

TEST(WaitingRows, ALostConnectionLowersTheFloorBelowTheRowsInFlight)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 3, 10, 3);
	pipeline.row_sent(1, stanza_id(1), ALICE);
	pipeline.row_sent(2, stanza_id(2), ALICE);
	pipeline.row_waits(3);
	pipeline.end_batch("b1", 1000);
	EXPECT_EQ(pipeline.claim_after(), 3);
	pipeline.connection_lost("ping timeout");
	pipeline.connected(OWN_JID);
	ASSERT_TRUE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 0) << "rows 1 and 2 are pending again";
}

TEST(WaitingRows, AnExpiredEchoLowersTheFloorBelowItsRows)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 10, "b0");
	EXPECT_TRUE(pipeline.barrier_answered("b0", SERVER));
	pipeline.outcomes_recorded();
	/* Row 2 waits (the floor rises to it), row 3 goes to a joined room. */
	pipeline.rows_may_be_pending();
	pipeline.begin_batch(pipeline.claim_after(), 2, 10, 3);
	pipeline.row_waits(2);
	pipeline.row_sent(3, stanza_id(3), ROOM, ConfirmedBy::echo, origin_id(3));
	pipeline.end_batch("b1", 1000);
	send_to_room(pipeline, {5}, 10, "b2", 1000);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_TRUE(pipeline.barrier_answered("b2", SERVER));
	EXPECT_TRUE(echo(pipeline, 5));
	EXPECT_TRUE(pipeline.expire_echoes(1000));
	pipeline.outcomes_recorded();
	ASSERT_TRUE(pipeline.claim_due());
	EXPECT_EQ(pipeline.claim_after(), 2) << "above row 2, which waits, below row 3";
}

TEST(WaitingRows, ARoomJoinedWhileABatchIsBuiltRaisesNoFloorFromIt)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	pipeline.begin_batch(0, 3, 10, 3);
	pipeline.row_waits(1);
	pipeline.rows_below_may_be_due(); /* row 1's room may be the one joined */
	pipeline.row_waits(2);
	pipeline.row_sent(3, stanza_id(3), ALICE);
	pipeline.end_batch("b1", 1000);
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	pipeline.outcomes_recorded();
	ASSERT_TRUE(pipeline.claim_due()) << "rows 1 and 2 are looked at again";
	EXPECT_EQ(pipeline.claim_after(), 0);
}

/* ---------------------------------------------------------------- retries */

namespace
{

const retry::Policy TWO_RETRIES{2, 30, 100};
const retry::ErrorReply FULL_QUEUE{"wait", "resource-constraint",
                                   "the server answered with an error: resource-constraint (wait)"};

/* A pipeline with TWO_RETRIES, online, and rows 1..n sent in one batch, row i claimed with
 * retries[i - 1] retries behind it. */
void
send_with_retries(SendPipeline &pipeline, const std::vector<int> &retries)
{
	pipeline.set_retry_policy(TWO_RETRIES);
	pipeline.connected(OWN_JID);
	const int count = static_cast<int>(retries.size());
	pipeline.begin_batch(pipeline.claim_after(), count, count, count);
	for (int row = 1; row <= count; row++)
	{
		pipeline.row_retries(row, retries[row - 1]);
		pipeline.row_sent(row, stanza_id(row), ALICE);
	}
	pipeline.end_batch("b1", 1000);
}

} // namespace

TEST(Retries, AWaitErrorMakesTheRowDueLaterNotFailed)
{
	SendPipeline pipeline;
	pipeline.set_retry_policy(TWO_RETRIES);
	pipeline.connected(OWN_JID);
	send(pipeline, {1, 2}, 2, "b1");
	EXPECT_TRUE(pipeline.error_replied(stanza_id(1), ALICE, FULL_QUEUE, 500));
	EXPECT_TRUE(pipeline.barrier_answered("b1", SERVER));
	EXPECT_EQ(pipeline.confirmed(), Rows({2}));
	ASSERT_EQ(pipeline.failures().size(), 1u);
	EXPECT_EQ(pipeline.failures()[0].row, 1);
	EXPECT_EQ(pipeline.failures()[0].retry_at, 530) << "now + the first delay";
	EXPECT_NE(pipeline.failures()[0].reason.find("retry 1 of 2"), std::string::npos);
}

TEST(Retries, TheClaimedRetriesCountOn)
{
	SendPipeline pipeline;
	send_with_retries(pipeline, {1, 2});
	EXPECT_TRUE(pipeline.error_replied(stanza_id(1), ALICE, FULL_QUEUE, 500));
	EXPECT_TRUE(pipeline.error_replied(stanza_id(2), ALICE, FULL_QUEUE, 500));
	ASSERT_EQ(pipeline.failures().size(), 2u);
	EXPECT_EQ(pipeline.failures()[0].retry_at, 560) << "second retry: twice the delay";
	EXPECT_EQ(pipeline.failures()[1].retry_at, 0) << "retries used up: fails";
	EXPECT_NE(pipeline.failures()[1].reason.find("still so after 2 retries"), std::string::npos)
	    << pipeline.failures()[1].reason;
}

TEST(Retries, ACancelErrorFailsAtOnce)
{
	SendPipeline pipeline;
	pipeline.set_retry_policy(TWO_RETRIES);
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	EXPECT_TRUE(pipeline.error_replied(stanza_id(1), ALICE,
	                                   retry::ErrorReply{"cancel", "item-not-found", "gone"}, 500));
	ASSERT_EQ(pipeline.failures().size(), 1u);
	EXPECT_EQ(pipeline.failures()[0].retry_at, 0);
	EXPECT_EQ(pipeline.failures()[0].reason, "gone");
}

TEST(Retries, RecordedOrLostRowsForgetTheirRetries)
{
	SendPipeline pipeline;
	send_with_retries(pipeline, {2});
	pipeline.connection_lost("reset");
	pipeline.connected(OWN_JID);
	/* Claimed again (resent meanwhile: no retries behind it any more). */
	send(pipeline, {1}, 1, "c1");
	EXPECT_TRUE(pipeline.error_replied(stanza_id(1), ALICE, FULL_QUEUE, 500));
	ASSERT_EQ(pipeline.failures().size(), 1u);
	EXPECT_EQ(pipeline.failures()[0].retry_at, 530);
}
