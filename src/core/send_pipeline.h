/*
 * send_pipeline.h: the bookkeeping of sending xmpp_tx_queue, in pure C++.
 *
 * The worker claims rows (one transaction, counting an attempt), sends
 * them, and sends a barrier: a ping to its own server, whose answer proves
 * that the server processed every stanza before it. A row to a group chat
 * room is confirmed later, by the room: it distributes a message by sending
 * it to every occupant, us included, and that echo (same id, or same
 * origin-id) is what proves the row was delivered. This class holds what
 * that needs to be right, and does no I/O: the worker asks it when a claim
 * is due and from which id, tells it what was sent and what arrived, and
 * takes the outcomes to record.
 *
 * Vocabulary:
 *   claim         rows taken from the queue in one transaction, ids ascending
 *   batch         the rows of one claim that were sent, and their barrier
 *   plain row     a row confirmed by its batch's barrier (ConfirmedBy::barrier)
 *   echo row      a row confirmed by its recipient room's echo
 *                 (ConfirmedBy::echo), not by the barrier; the room is a
 *                 component, so its echo may come before or after the
 *                 barrier's answer
 *   in flight     a batch whose barrier has not been answered yet, or whose
 *                 echo rows are not all echoed or failed yet; at most
 *                 BATCHES_IN_FLIGHT, so that the database work between
 *                 batches overlaps the barrier's round trip
 *   deadline      when a batch in flight must be settled: its barrier
 *                 unanswered by then means a dead connection (the worker
 *                 ends it); its echoes missing by then (expire_echoes) make
 *                 the rows not echoed pending again, as a lost connection
 *                 would, and the next time they run out of attempts their
 *                 reason names the missing echo
 *   careful mode  after a connection was lost with batches in flight, or
 *                 echoes were missing, the rows up to the highest of them
 *                 are sent one per batch, one batch in flight: a row that
 *                 kills the stream, or that its room swallows, then fails
 *                 alone after jabclnd.max_attempts. It ends when a batch
 *                 claimed after it began is settled at or above that row
 *   waiting row   a claimed row that can not go yet (its room is not joined):
 *                 neither sent nor failed, it stays pending in the table;
 *                 the claims start above it (the floor) until
 *                 rows_below_may_be_due()
 *   outcome       a row confirmed or failed, waiting for the worker's
 *                 record transaction
 *
 * Who may answer what: a barrier's answer counts only from the account's
 * own server (or the account itself), and only for the oldest batch whose
 * barrier is unanswered (servers answer in order). An echo counts only
 * for an echo row in flight on this connection, matched by its stanza id
 * or its origin-id, only from our own occupant JID in the row's recipient
 * room (room@service/our-nick: bare JID compared in ASCII case, nick
 * exactly, as rooms compare them), and only once: another occupant who
 * repeats our id or origin-id (every occupant saw them) sends from his own
 * nick. An error reply counts only for a stanza in flight on this
 * connection, and only from that stanza's recipient or the recipient's
 * domain; for an echo row, only from the room's bare JID itself (no
 * resource: from room@service/nick it is an occupant's message, relayed
 * by the room) or the room's domain. Anything else is not ours. A row is
 * settled once: confirmed or failed, later answers for it change nothing.
 */
#pragma once

#include "core/boundary.h"
#include "core/retry.h"

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

/*
 * A row that will not be delivered, and why (for submission_info); or,
 * with retry_at set, a row that got a temporary error and is due again
 * then (retry.h): it stays pending.
 */
struct Failure
{
	int64_t row;
	std::string reason;
	Timestamp retry_at = 0;
};

/* What proves that a sent row was delivered. */
enum class ConfirmedBy
{
	barrier, /* the server's answer to the batch's barrier: a message to a user */
	echo     /* the recipient room sending it back to us: a groupchat message */
};

class SendPipeline
{
  public:
	/* Logged in as own_jid: answers are now taken from its server. */
	void connected(const std::string &own_jid);
	/*
	 * The connection ended. Batches in flight are lost: their rows not yet
	 * confirmed stay pending (they are claimed again), careful mode covers
	 * them, and `reason` is kept for rows that run out of attempts.
	 */
	void connection_lost(const std::string &reason);
	/* Another account: the last connection error, missing echoes, rooms' waits are not its. */
	void new_account();

	/* The queue may hold rows: a commit, a login, the safety poll. */
	void rows_may_be_pending() { claim_wanted_ = true; }
	/*
	 * Rows that waited (row_waits) may go now: a room was joined. The
	 * floor is gone, and the next claim starts from 0 once nothing is in
	 * flight and the outcomes are recorded (the look below that finds late
	 * commits): never below a row in flight or an unrecorded outcome.
	 */
	void rows_below_may_be_due();
	/*
	 * Whether a claim is due: rows may be pending, or rows below a claim
	 * that started above them may have committed since; and there is room
	 * in flight. Never while every batch is settled and outcomes wait to
	 * be recorded: a claim from the start would take those rows again.
	 */
	bool claim_due() const;
	/* How many rows the next claim takes. */
	int claim_limit(int batch_size) const { return careful() ? 1 : batch_size; }
	/*
	 * The next claim takes rows above this id: above every row in flight
	 * or waiting to be recorded, and above the rows that wait for a room.
	 */
	int64_t claim_after() const;

	/*
	 * A claim (above `after`, at most `limit` rows) returned `count` rows,
	 * the highest `highest_id`: a batch is being built from them.
	 */
	void begin_batch(int64_t after, int count, int limit, int64_t highest_id);
	/*
	 * A row of the batch being built went out as stanza `stanza_id` to
	 * `recipient`, confirmed `by` the barrier or by an echo from the
	 * recipient (then a room's bare JID), matched by `stanza_id` or by
	 * `origin_id` (the row's stable id, "" if the stanza carries none).
	 */
	void row_sent(int64_t row, const std::string &stanza_id, const std::string &recipient,
	              ConfirmedBy by = ConfirmedBy::barrier,
	              const std::string &origin_id = std::string());
	/* A row of the batch being built fails without reaching the server. */
	void row_failed(int64_t row, const std::string &reason);
	/*
	 * A row of the batch being built can not go yet (its room is not
	 * joined): it stays pending, neither sent nor failed. The claims start
	 * above it until rows_below_may_be_due(), so that waiting rows are not
	 * claimed (each claim counts an attempt) over and over.
	 */
	void row_waits(int64_t row);
	/*
	 * Why `row`, claimed for the `attempts`th time, must fail, or "" if it
	 * may be sent. The reason names the missing echo if `row` was last
	 * lost to one (expire_echoes), else the last connection error.
	 */
	std::string out_of_attempts(int attempts, int max_attempts, int64_t row = 0) const;
	/* Whether the batch being built sent anything: then it needs a barrier. */
	bool batch_needs_barrier() const
	{
		return building_ && (!building_batch_.rows.empty() || !building_batch_.echo_rows.empty());
	}
	/*
	 * The batch being built is complete: with a barrier sent as `barrier_id`
	 * (to be answered, and its echo rows echoed, by `deadline`), or, when
	 * nothing was sent, without one.
	 */
	void end_batch(const std::string &barrier_id, Timestamp deadline);

	/*
	 * An iq result or error, `id` from `from`: true if it answered the
	 * oldest unanswered barrier. Its plain rows are confirmed; its echo
	 * rows wait for their echoes.
	 */
	bool barrier_answered(const std::string &id, const std::string &from);
	/*
	 * A message from a room that carries `id` and `origin_id` ("" if none):
	 * true if it is the echo of an echo row in flight, which it confirms.
	 * `own_occupant_jid` is where our echoes come from in the room that
	 * `from` names: room@service/our-nick while joined, else "" (the
	 * worker passes Rooms::occupant_jid(from)); from must be exactly it.
	 */
	bool echo_received(const std::string &from, const std::string &id, const std::string &origin_id,
	                   const std::string &own_occupant_jid);
	/*
	 * A message of type error, `id` from `from`, at `now`: true if it
	 * answered a row in flight. The row fails, or, if the error is
	 * temporary and the retry policy allows another retry, waits for its
	 * retry (retry::decide).
	 */
	bool error_replied(const std::string &id, const std::string &from,
	                   const retry::ErrorReply &error, Timestamp now);
	/* jabclnd.wait_retries and its delays, for the error replies from now on. */
	void set_retry_policy(const retry::Policy &policy) { retry_policy_ = policy; }
	/*
	 * A row of the batch being built had `retries` retries after temporary
	 * errors so far (submission_retries): the next error reply counts on.
	 */
	void row_retries(int64_t row, int retries);
	/*
	 * Time passed: batches whose barrier was answered but whose echo rows
	 * are not all settled by their deadline (at `now` or before) lose those
	 * rows, as a lost connection would: pending again, claimed again, in
	 * careful mode. True if it did.
	 */
	bool expire_echoes(Timestamp now);

	bool careful() const { return careful_until_ != 0; }
	size_t batches_in_flight() const { return in_flight_.size(); }
	/*
	 * When the oldest unanswered barrier must be answered, or 0 if none
	 * is: past it, the connection is dead.
	 */
	Timestamp barrier_deadline() const;
	/*
	 * The earliest deadline of a batch whose barrier was answered and
	 * that waits only for echoes, or 0 if none: then expire_echoes is due.
	 */
	Timestamp echo_deadline() const;

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
		std::vector<int64_t> rows;      /* plain rows until the barrier, less those that failed */
		std::vector<int64_t> echo_rows; /* echo rows not yet echoed or failed */
		bool barrier_answered = false;
		int64_t highest_sent = 0;    /* the highest id sent with it */
		int64_t last_claimed = 0;    /* the highest id claimed with it, failed rows included */
		int64_t highest_waiting = 0; /* the highest row that waits (row_waits), 0 if none */
		bool waits_void = false;     /* a room was joined while it was built: no floor from it */
		std::string barrier_id;
		Timestamp deadline = 0;
	};
	/* A stanza in flight: who may answer it. */
	struct SentStanza
	{
		int64_t row;
		std::string recipient;
		uint64_t batch;
		ConfirmedBy by;
		std::string origin_id;
	};
	using SentMap = std::unordered_multimap<std::string, SentStanza>;

	size_t in_flight_limit() const { return careful() ? 1 : BATCHES_IN_FLIGHT; }
	Batch *find_batch(uint64_t number);
	bool answers_for(const SentStanza &stanza, const std::string &from) const;
	void settle(SentMap::iterator stanza);
	void forget(SentMap::iterator stanza);
	void finish_if_settled(uint64_t number);
	void enter_careful_mode(int64_t through);
	void leave_careful_mode_after(int64_t row, uint64_t batch);

	std::string own_jid_;
	bool claim_wanted_ = false;
	/* A claim started above the floor: rows below it may have committed since. */
	bool look_below_ = false;
	/* Claims start above it: the highest row that waits for its room (row_waits). */
	int64_t floor_ = 0;
	int64_t careful_until_ = 0;
	/* Careful mode ends only by a batch begun after this one (those before were claimed above). */
	uint64_t careful_since_ = 0;
	/*
	 * The highest id claimed by a batch that is no longer in flight but
	 * whose outcomes are not recorded (every row failed, or settled while
	 * an older batch still waits for an echo): claims start above it.
	 */
	int64_t unrecorded_through_ = 0;
	std::string last_error_;
	/* Rows whose last attempt was lost to a missing echo -> the room that did not echo. */
	std::unordered_map<int64_t, std::string> unechoed_;
	uint64_t batches_begun_ = 0;

	bool building_ = false;
	Batch building_batch_;
	std::deque<Batch> in_flight_;
	/* Every stanza in flight by stanza id; echo rows until echoed, failed or lost. */
	SentMap sent_;
	/* origin-id -> stanza id, for the echo rows of sent_ that have one. */
	std::unordered_multimap<std::string, std::string> origin_ids_;

	std::vector<int64_t> confirmed_;
	std::vector<Failure> failures_;

	retry::Policy retry_policy_;
	/* Rows claimed with retries behind them (row_retries), until their outcome is recorded. */
	std::unordered_map<int64_t, int> retries_;
};

} // namespace pipeline
