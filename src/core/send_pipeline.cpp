/*
 * send_pipeline.cpp: the rules of sending the queue (see send_pipeline.h).
 */
#include "core/send_pipeline.h"

#include "core/jid.h"

#include <algorithm>

namespace pipeline
{

void
SendPipeline::connected(const std::string &own_jid)
{
	own_jid_ = own_jid;
	claim_wanted_ = true;
}

/*
 * Careful mode covers, per batch, what was at risk: before the barrier's
 * answer every row sent with it (bounced ones included, as always), after
 * it the echo rows still waiting. The floor comes down below the lowest
 * row that is pending again, so that the claims from the start find it.
 */
void
SendPipeline::connection_lost(const std::string &reason)
{
	int64_t highest = 0;
	for (const Batch &batch : in_flight_)
	{
		if (!batch.barrier_answered)
			highest = std::max(highest, batch.highest_sent);
		for (int64_t row : batch.echo_rows)
			highest = std::max(highest, row);
	}
	if (building_)
		highest = std::max(highest, building_batch_.highest_sent);
	if (highest != 0)
	{
		enter_careful_mode(highest);
		last_error_ = reason;
	}
	/* Every stanza in sent_ is a row not yet settled: pending again, lost to this connection. */
	for (const auto &stanza : sent_)
	{
		unechoed_.erase(stanza.second.row);
		floor_ = std::min(floor_, stanza.second.row - 1);
	}
	in_flight_.clear();
	unrecorded_through_ = 0;
	building_ = false;
	building_batch_ = Batch();
	sent_.clear();
	origin_ids_.clear();
	own_jid_.clear();
	/* Rows not recorded are claimed again, with their retries read again. */
	retries_.clear();
}

void
SendPipeline::new_account()
{
	last_error_.clear();
	unechoed_.clear();
	floor_ = 0;
}

/*
 * The rows that waited may be for the room just joined. A claim from 0
 * is only made when nothing is in flight and every outcome is recorded
 * (claim_due, claim_after), so it cannot take a row in flight again. A
 * row that waited in a batch being built now (the worker does not pump
 * while it builds, but nothing here relies on it) raises no floor: it is
 * found by this same look below.
 */
void
SendPipeline::rows_below_may_be_due()
{
	floor_ = 0;
	look_below_ = true;
	if (building_)
	{
		building_batch_.highest_waiting = 0;
		building_batch_.waits_void = true;
	}
}

bool
SendPipeline::claim_due() const
{
	if (building_ || in_flight_.size() >= in_flight_limit())
		return false;
	if (in_flight_.empty() && has_outcomes())
		return false;
	return claim_wanted_ || (look_below_ && in_flight_.empty());
}

/*
 * Above every batch in flight (the newest one claimed highest), and above
 * the unrecorded rows of batches that left the flight: a batch that waits
 * for an echo may outlive newer ones, and then it is the newest in flight.
 * With nothing in flight, from the floor: claim_due refuses while
 * outcomes wait to be recorded.
 */
int64_t
SendPipeline::claim_after() const
{
	if (in_flight_.empty())
		return floor_;
	int64_t after = std::max(floor_, unrecorded_through_);
	for (const Batch &batch : in_flight_)
		after = std::max(after, batch.last_claimed);
	return after;
}

void
SendPipeline::begin_batch(int64_t after, int count, int limit, int64_t highest_id)
{
	/*
	 * A full claim may have left rows behind it; a claim from the start
	 * (the floor) has seen every committed row, one from above has not
	 * seen those below it that committed late (a transaction that took
	 * its ids early and committed after a later one).
	 */
	claim_wanted_ = count == limit;
	look_below_ = after > floor_;
	building_ = true;
	building_batch_ = Batch();
	building_batch_.number = ++batches_begun_;
	building_batch_.last_claimed = count > 0 ? highest_id : after;
}

void
SendPipeline::row_sent(int64_t row, const std::string &stanza_id, const std::string &recipient,
                       ConfirmedBy by, const std::string &origin_id)
{
	if (by == ConfirmedBy::echo)
		building_batch_.echo_rows.push_back(row);
	else
		building_batch_.rows.push_back(row);
	building_batch_.highest_sent = std::max(building_batch_.highest_sent, row);
	const std::string origin = by == ConfirmedBy::echo ? origin_id : std::string();
	sent_.emplace(stanza_id, SentStanza{row, recipient, building_batch_.number, by, origin});
	if (!origin.empty())
		origin_ids_.emplace(origin, stanza_id);
}

void
SendPipeline::row_failed(int64_t row, const std::string &reason)
{
	failures_.push_back({row, reason});
	unechoed_.erase(row);
	leave_careful_mode_after(row, building_batch_.number);
}

void
SendPipeline::row_waits(int64_t row)
{
	if (!building_batch_.waits_void)
		building_batch_.highest_waiting = std::max(building_batch_.highest_waiting, row);
}

std::string
SendPipeline::out_of_attempts(int attempts, int max_attempts, int64_t row) const
{
	if (attempts <= max_attempts)
		return "";
	auto room = row != 0 ? unechoed_.find(row) : unechoed_.end();
	if (room != unechoed_.end())
		return "not confirmed by the room after " + std::to_string(max_attempts) +
		       " attempts (jabclnd.max_attempts); the last time, " + room->second +
		       " did not echo the message back within the deadline (jabclnd.ping_interval), so "
		       "it is not known to have been distributed";
	return "not confirmed by the server after " + std::to_string(max_attempts) +
	       " attempts (jabclnd.max_attempts); the connection was lost each time: " +
	       (last_error_.empty() ? std::string("no error recorded") : last_error_);
}

void
SendPipeline::end_batch(const std::string &barrier_id, Timestamp deadline)
{
	if (!building_)
		return;
	building_ = false;
	if (!building_batch_.waits_void)
		floor_ = std::max(floor_, building_batch_.highest_waiting);
	if (building_batch_.rows.empty() && building_batch_.echo_rows.empty())
	{
		/* Its failed rows are pending in the table until recorded: claim above them. */
		unrecorded_through_ = std::max(unrecorded_through_, building_batch_.last_claimed);
		return;
	}
	building_batch_.barrier_id = barrier_id;
	building_batch_.deadline = deadline;
	in_flight_.push_back(std::move(building_batch_));
	building_batch_ = Batch();
}

/*
 * The server answers in order, so only the oldest unanswered barrier can
 * be the one answered; and only the server (or the account itself) can
 * answer a ping to the server. The batch's plain rows are confirmed; it
 * stays in flight while its echo rows wait.
 */
bool
SendPipeline::barrier_answered(const std::string &id, const std::string &from)
{
	auto batch = std::find_if(in_flight_.begin(), in_flight_.end(),
	                          [](const Batch &b) { return !b.barrier_answered; });
	if (batch == in_flight_.end() || id != batch->barrier_id || !jid::is_own_server(from, own_jid_))
		return false;
	batch->barrier_answered = true;
	confirmed_.insert(confirmed_.end(), batch->rows.begin(), batch->rows.end());
	for (int64_t row : batch->rows)
		unechoed_.erase(row);
	batch->rows.clear();
	const uint64_t number = batch->number;
	for (auto stanza = sent_.begin(); stanza != sent_.end();)
		stanza = stanza->second.batch == number && stanza->second.by == ConfirmedBy::barrier
		             ? sent_.erase(stanza)
		             : std::next(stanza);
	finish_if_settled(number);
	return true;
}

/*
 * Only from our occupant JID in the row's room (see the header), only for
 * a stanza id or an origin-id in flight, each echo confirming one row.
 */
bool
SendPipeline::echo_received(const std::string &from, const std::string &id,
                            const std::string &origin_id, const std::string &own_occupant_jid)
{
	const std::string nick = jid::resource(own_occupant_jid);
	if (nick.empty() || jid::resource(from) != nick ||
	    jid::bare_key(from) != jid::bare_key(own_occupant_jid))
		return false;
	const std::string room = jid::bare_key(from);
	auto echo_of = [&room](const SentStanza &stanza)
	{ return stanza.by == ConfirmedBy::echo && jid::bare_key(stanza.recipient) == room; };

	if (!id.empty())
	{
		auto range = sent_.equal_range(id);
		for (auto stanza = range.first; stanza != range.second; ++stanza)
			if (echo_of(stanza->second))
			{
				confirmed_.push_back(stanza->second.row);
				settle(stanza);
				return true;
			}
	}
	if (!origin_id.empty())
	{
		auto origins = origin_ids_.equal_range(origin_id);
		for (auto origin = origins.first; origin != origins.second; ++origin)
		{
			auto range = sent_.equal_range(origin->second);
			for (auto stanza = range.first; stanza != range.second; ++stanza)
				if (echo_of(stanza->second) && stanza->second.origin_id == origin_id)
				{
					confirmed_.push_back(stanza->second.row);
					settle(stanza);
					return true;
				}
		}
	}
	return false;
}

bool
SendPipeline::error_replied(const std::string &id, const std::string &from,
                            const retry::ErrorReply &error, Timestamp now)
{
	auto range = sent_.equal_range(id);
	for (auto stanza = range.first; stanza != range.second; ++stanza)
	{
		if (!answers_for(stanza->second, from))
			continue;
		const int64_t row = stanza->second.row;
		auto retries = retries_.find(row);
		const retry::Decision decision = retry::decide(
		    error, retries == retries_.end() ? 0 : retries->second, retry_policy_, now);
		failures_.push_back({row, decision.reason, decision.retry_at});
		settle(stanza);
		return true;
	}
	return false;
}

void
SendPipeline::row_retries(int64_t row, int retries)
{
	if (retries > 0)
		retries_[row] = retries;
}

/*
 * A room that has not echoed by the deadline may have swallowed the
 * message, or may never have had it: the rows are sent again (careful
 * mode, one per batch), and the next time they run out of attempts, their
 * reason names the room. They are below the claim cursor now: look below
 * once nothing is in flight, and never from above the lowest of them.
 */
bool
SendPipeline::expire_echoes(Timestamp now)
{
	bool expired = false;
	for (auto batch = in_flight_.begin(); batch != in_flight_.end();)
	{
		if (!batch->barrier_answered || batch->echo_rows.empty() || now < batch->deadline)
		{
			++batch;
			continue;
		}
		const uint64_t number = batch->number;
		for (auto stanza = sent_.begin(); stanza != sent_.end();)
		{
			if (stanza->second.batch != number)
			{
				++stanza;
				continue;
			}
			unechoed_[stanza->second.row] = stanza->second.recipient;
			auto next = std::next(stanza);
			forget(stanza);
			stanza = next;
		}
		const auto bounds = std::minmax_element(batch->echo_rows.begin(), batch->echo_rows.end());
		enter_careful_mode(*bounds.second);
		floor_ = std::min(floor_, *bounds.first - 1);
		look_below_ = true;
		unrecorded_through_ = std::max(unrecorded_through_, batch->last_claimed);
		batch = in_flight_.erase(batch);
		expired = true;
	}
	return expired;
}

Timestamp
SendPipeline::barrier_deadline() const
{
	for (const Batch &batch : in_flight_)
		if (!batch.barrier_answered)
			return batch.deadline;
	return 0;
}

Timestamp
SendPipeline::echo_deadline() const
{
	Timestamp earliest = 0;
	for (const Batch &batch : in_flight_)
		if (batch.barrier_answered && !batch.echo_rows.empty() &&
		    (earliest == 0 || batch.deadline < earliest))
			earliest = batch.deadline;
	return earliest;
}

void
SendPipeline::outcomes_recorded()
{
	for (int64_t row : confirmed_)
		retries_.erase(row);
	for (const Failure &failure : failures_)
		retries_.erase(failure.row);
	confirmed_.clear();
	failures_.clear();
	unrecorded_through_ = 0;
}

/* The batch in flight numbered `number`, or the one being built, or nullptr. */
SendPipeline::Batch *
SendPipeline::find_batch(uint64_t number)
{
	for (Batch &batch : in_flight_)
		if (batch.number == number)
			return &batch;
	if (building_ && building_batch_.number == number)
		return &building_batch_;
	return nullptr;
}

/*
 * Whether an error `from` this address may fail `stanza`: its recipient's
 * bare JID or domain; for an echo row, the room's bare JID without a
 * resource, or its domain (from room@service/nick, it is an occupant's
 * message that the room relays, and every occupant saw our stanza's id).
 */
bool
SendPipeline::answers_for(const SentStanza &stanza, const std::string &from) const
{
	if (stanza.by == ConfirmedBy::echo && !jid::resource(from).empty())
		return false;
	return jid::speaks_for(from, stanza.recipient);
}

/*
 * The row of `stanza` is confirmed or failed (the caller recorded which):
 * it leaves its batch, and the batch leaves the flight if nothing of it
 * is left to settle.
 */
void
SendPipeline::settle(SentMap::iterator stanza)
{
	const int64_t row = stanza->second.row;
	const uint64_t number = stanza->second.batch;
	if (Batch *batch = find_batch(number))
	{
		auto forget_row = [row](std::vector<int64_t> &rows)
		{ rows.erase(std::remove(rows.begin(), rows.end(), row), rows.end()); };
		forget_row(batch->rows);
		forget_row(batch->echo_rows);
	}
	unechoed_.erase(row);
	forget(stanza);
	finish_if_settled(number);
}

/* Drops a stanza in flight, with its origin-id. */
void
SendPipeline::forget(SentMap::iterator stanza)
{
	const std::string &origin_id = stanza->second.origin_id;
	if (!origin_id.empty())
	{
		auto range = origin_ids_.equal_range(origin_id);
		for (auto origin = range.first; origin != range.second; ++origin)
			if (origin->second == stanza->first)
			{
				origin_ids_.erase(origin);
				break;
			}
	}
	sent_.erase(stanza);
}

/*
 * A batch whose barrier is answered and whose echo rows are all settled
 * leaves the flight. Its rows are pending in the table until recorded, and
 * an older batch may still be in flight: claims stay above them.
 */
void
SendPipeline::finish_if_settled(uint64_t number)
{
	for (auto batch = in_flight_.begin(); batch != in_flight_.end(); ++batch)
	{
		if (batch->number != number)
			continue;
		if (!batch->barrier_answered || !batch->echo_rows.empty())
			return;
		leave_careful_mode_after(batch->highest_sent, number);
		unrecorded_through_ = std::max(unrecorded_through_, batch->last_claimed);
		in_flight_.erase(batch);
		return;
	}
}

void
SendPipeline::enter_careful_mode(int64_t through)
{
	careful_until_ = std::max(careful_until_, through);
	careful_since_ = batches_begun_;
}

/*
 * A batch claimed in careful mode (begun after it) settled up to `row`,
 * or failed `row`: at or above the end, careful mode is over. A batch
 * begun before was claimed above the rows careful mode is about.
 */
void
SendPipeline::leave_careful_mode_after(int64_t row, uint64_t batch)
{
	if (careful_until_ != 0 && batch > careful_since_ && row >= careful_until_)
		careful_until_ = 0;
}

} // namespace pipeline
