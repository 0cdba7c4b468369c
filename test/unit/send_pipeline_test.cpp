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
 */
#include "core/send_pipeline.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

using pipeline::Failure;
using pipeline::SendPipeline;
using pipeline::Timestamp;

namespace
{

const char *const OWN_JID = "bot@example.org/jabclnd";
const char *const SERVER = "example.org";
const char *const ALICE = "alice@other.org";

const std::string MAX_ATTEMPTS_PREFIX = "not confirmed by the server after 3 attempts "
                                        "(jabclnd.max_attempts); the connection was lost each "
                                        "time: ";

using Rows = std::vector<int64_t>;
using Strings = std::vector<std::string>;

std::string
stanza_id(int64_t row)
{
	return "m" + std::to_string(row);
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
	EXPECT_TRUE(pipeline.error_replied(stanza_id(1), "other.org", "remote-server-not-found"));
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
		EXPECT_TRUE(pipeline.error_replied(stanza_id(2), from, "service-unavailable"))
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
		EXPECT_TRUE(pipeline.error_replied(stanza_id(1), from, "remote-server-not-found"))
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
		EXPECT_TRUE(pipeline.error_replied(stanza_id(1), from, "item-not-found"))
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
	EXPECT_TRUE(pipeline.error_replied(stanza_id(3), ALICE, "forbidden"));
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
		EXPECT_FALSE(pipeline.error_replied(stanza_id(1), from, "forged")) << "from " << from;
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
	EXPECT_FALSE(pipeline.error_replied(stanza_id(2), ALICE, "forbidden"));
	EXPECT_FALSE(pipeline.error_replied("b1", ALICE, "forbidden")) << "a barrier is no message";
	EXPECT_FALSE(pipeline.error_replied("", ALICE, "forbidden"));
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
	EXPECT_FALSE(pipeline.error_replied(stanza_id(1), ALICE, "service-unavailable"));
	EXPECT_EQ(pipeline.confirmed(), Rows({1}));
	EXPECT_EQ(failures(pipeline), Strings());
}

TEST(ErrorReplies, ForARowAlreadyFailedChangeNothing)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	EXPECT_TRUE(pipeline.error_replied(stanza_id(1), ALICE, "service-unavailable"));
	EXPECT_FALSE(pipeline.error_replied(stanza_id(1), ALICE, "again"));
	EXPECT_EQ(failures(pipeline), Strings({"1: service-unavailable"}));
}

TEST(ErrorReplies, AfterTheConnectionWasLostChangeNothing)
{
	SendPipeline pipeline;
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b1");
	pipeline.connection_lost("ping timeout");
	EXPECT_FALSE(pipeline.error_replied(stanza_id(1), ALICE, "service-unavailable"));
	EXPECT_EQ(failures(pipeline), Strings()) << "row 1 stays pending, to be sent again";

	/* Sent again on the next connection, the same stanza id is in flight again. */
	pipeline.connected(OWN_JID);
	send(pipeline, {1}, 1, "b2");
	EXPECT_TRUE(pipeline.error_replied(stanza_id(1), ALICE, "service-unavailable"));
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

	EXPECT_TRUE(pipeline.error_replied("same", "bob@third.org/phone", "not-acceptable"));
	EXPECT_EQ(failures(pipeline), Strings({"2: not-acceptable"})) << "bob's row, not alice's";
	EXPECT_FALSE(pipeline.error_replied("same", "bob@third.org", "again"))
	    << "bob's row already failed";
	EXPECT_TRUE(pipeline.error_replied("same", "other.org", "remote-server-not-found"));
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

	EXPECT_TRUE(pipeline.error_replied("same", "bob@third.org", "not-acceptable"));
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
	EXPECT_TRUE(pipeline.error_replied(stanza_id(1), "other.org", "remote-server-not-found"));
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
