/*
 * send_pipeline.h: the bookkeeping of sending xmpp_tx_queue, in pure C++.
 *
 * The worker claims rows (one transaction, counting an attempt), sends
 * them, and sends a barrier: a ping to its own server, whose answer proves
 * that the server processed every stanza before it. This class holds what
 * that needs to be right, and does no I/O: the worker asks it when a claim
 * is due and from which id, tells it what was sent and what arrived, and
 * takes the outcomes to record.
 *
 * Vocabulary:
 *   claim         rows taken from the queue in one transaction, ids ascending
 *   batch         the rows of one claim that were sent, and their barrier
 *   in flight     a batch whose barrier has not been answered yet; at most
 *                 BATCHES_IN_FLIGHT, so that the database work between
 *                 batches overlaps the barrier's round trip
 *   careful mode  after a connection was lost with batches in flight, the
 *                 rows up to the highest of them are sent one per batch,
 *                 one batch in flight: a row that kills the stream then
 *                 fails alone after jabclnd.max_attempts
 *   outcome       a row confirmed or failed, waiting for the worker's
 *                 record transaction
 *
 * Who may answer what: a barrier's answer counts only from the account's
 * own server (or the account itself), and only for the oldest batch in
 * flight (servers answer in order). An error reply counts only for a
 * stanza in flight on this connection, and only from that stanza's
 * recipient or the recipient's domain. Anything else is not ours.
 */
#pragma once

#include "core/boundary.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace pipeline
{

/* Microseconds, as PostgreSQL's TimestampTz. */
using Timestamp = int64_t;

/* Batches in flight at most; one in careful mode. Measured by bench/ (README, "How fast"). */
const size_t BATCHES_IN_FLIGHT = 2;

/* A row that will not be delivered, and why (for submission_info). */
struct Failure
{
	int64_t row;
	std::string reason;
};

class SendPipeline
{
  public:
	/* Logged in as own_jid: answers are now taken from its server. */
	void connected(const std::string &own_jid);
	/*
	 * The connection ended. Batches in flight are lost: their rows stay
	 * pending (they are claimed again), careful mode covers them, and
	 * `reason` is kept for rows that run out of attempts.
	 */
	void connection_lost(const std::string &reason);
	/* Another account: the last connection error is not its. */
	void new_account() { last_error_.clear(); }

	/* The queue may hold rows: a commit, a login, the safety poll. */
	void rows_may_be_pending() { claim_wanted_ = true; }
	/*
	 * Whether a claim is due: rows may be pending, or rows below a claim
	 * that started above them may have committed since; and there is room
	 * in flight. Never while every batch is answered and outcomes wait to
	 * be recorded: a claim from the start would take those rows again.
	 */
	bool claim_due() const;
	/* How many rows the next claim takes. */
	int claim_limit(int batch_size) const { return careful() ? 1 : batch_size; }
	/* The next claim takes rows above this id (rows in flight stay pending until confirmed). */
	int64_t claim_after() const;

	/*
	 * A claim (above `after`, at most `limit` rows) returned `count` rows,
	 * the highest `highest_id`: a batch is being built from them.
	 */
	void begin_batch(int64_t after, int count, int limit, int64_t highest_id);
	/* A row of the batch being built went out as stanza `stanza_id` to `recipient`. */
	void row_sent(int64_t row, const std::string &stanza_id, const std::string &recipient);
	/* A row of the batch being built fails without reaching the server. */
	void row_failed(int64_t row, const std::string &reason);
	/* Why a row claimed for the `attempts`th time must fail, or "" if it may be sent. */
	std::string out_of_attempts(int attempts, int max_attempts) const;
	/* Whether the batch being built sent anything: then it needs a barrier. */
	bool batch_needs_barrier() const { return building_ && !building_batch_.rows.empty(); }
	/*
	 * The batch being built is complete: with a barrier sent as `barrier_id`
	 * (answered by `deadline`), or, when nothing was sent, without one.
	 */
	void end_batch(const std::string &barrier_id, Timestamp deadline);

	/* An iq result or error, `id` from `from`: true if it confirmed the oldest batch. */
	bool barrier_answered(const std::string &id, const std::string &from);
	/* A message of type error, `id` from `from`: true if it failed a row in flight. */
	bool error_replied(const std::string &id, const std::string &from, const std::string &reason);

	bool careful() const { return careful_until_ != 0; }
	size_t batches_in_flight() const { return in_flight_.size(); }
	/* When the oldest batch in flight must be answered, or 0 if none is. */
	Timestamp barrier_deadline() const;

	/* Outcomes waiting for the record transaction. */
	const std::vector<int64_t> &confirmed() const { return confirmed_; }
	const std::vector<Failure> &failures() const { return failures_; }
	bool has_outcomes() const { return !confirmed_.empty() || !failures_.empty(); }
	/* The record transaction committed them. */
	void outcomes_recorded();

  private:
	struct Batch
	{
		uint64_t number = 0;
		std::vector<int64_t> rows; /* sent, in id order, less those an error reply failed */
		int64_t highest_sent = 0;  /* the highest id sent with it */
		int64_t last_claimed = 0;  /* the highest id claimed with it, failed rows included */
		std::string barrier_id;
		Timestamp deadline = 0;
	};
	/* A stanza in flight: who may answer it with an error. */
	struct SentStanza
	{
		int64_t row;
		std::string recipient;
		uint64_t batch;
	};

	size_t in_flight_limit() const { return careful() ? 1 : BATCHES_IN_FLIGHT; }
	void leave_careful_mode_after(int64_t row);

	std::string own_jid_;
	bool claim_wanted_ = false;
	bool look_below_ = false; /* a claim started above 0: rows below it may have committed since */
	int64_t careful_until_ = 0;
	/* The highest id of a batch that sent nothing (every row failed), until recorded. */
	int64_t unrecorded_through_ = 0;
	std::string last_error_;
	uint64_t batches_begun_ = 0;

	bool building_ = false;
	Batch building_batch_;
	std::deque<Batch> in_flight_;
	std::unordered_multimap<std::string, SentStanza> sent_;

	std::vector<int64_t> confirmed_;
	std::vector<Failure> failures_;
};

} // namespace pipeline
