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

void
SendPipeline::connection_lost(const std::string &reason)
{
	int64_t highest = 0;
	for (const Batch &batch : in_flight_)
		highest = std::max(highest, batch.highest_sent);
	if (building_)
		highest = std::max(highest, building_batch_.highest_sent);
	if (highest != 0)
	{
		careful_until_ = std::max(careful_until_, highest);
		last_error_ = reason;
	}
	in_flight_.clear();
	unrecorded_through_ = 0;
	building_ = false;
	building_batch_ = Batch();
	sent_.clear();
	own_jid_.clear();
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

int64_t
SendPipeline::claim_after() const
{
	if (in_flight_.empty())
		return 0;
	return std::max(in_flight_.back().last_claimed, unrecorded_through_);
}

void
SendPipeline::begin_batch(int64_t after, int count, int limit, int64_t highest_id)
{
	/*
	 * A full claim may have left rows behind it; a claim from the start
	 * has seen every committed row, one from above has not seen those
	 * below it that committed late (a transaction that took its ids early
	 * and committed after a later one).
	 */
	claim_wanted_ = count == limit;
	look_below_ = after != 0;
	building_ = true;
	building_batch_ = Batch();
	building_batch_.number = ++batches_begun_;
	building_batch_.last_claimed = count > 0 ? highest_id : after;
}

void
SendPipeline::row_sent(int64_t row, const std::string &stanza_id, const std::string &recipient)
{
	building_batch_.rows.push_back(row);
	building_batch_.highest_sent = std::max(building_batch_.highest_sent, row);
	sent_.emplace(stanza_id, SentStanza{row, recipient, building_batch_.number});
}

void
SendPipeline::row_failed(int64_t row, const std::string &reason)
{
	failures_.push_back({row, reason});
	leave_careful_mode_after(row);
}

std::string
SendPipeline::out_of_attempts(int attempts, int max_attempts) const
{
	if (attempts <= max_attempts)
		return "";
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
	if (building_batch_.rows.empty())
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
 * The server answers in order, so only the oldest batch in flight can be
 * the one answered; and only the server (or the account itself) can
 * answer a ping to the server.
 */
bool
SendPipeline::barrier_answered(const std::string &id, const std::string &from)
{
	if (in_flight_.empty() || id != in_flight_.front().barrier_id ||
	    !jid::is_own_server(from, own_jid_))
		return false;
	const Batch &batch = in_flight_.front();
	confirmed_.insert(confirmed_.end(), batch.rows.begin(), batch.rows.end());
	leave_careful_mode_after(batch.highest_sent);
	for (auto stanza = sent_.begin(); stanza != sent_.end();)
		stanza = stanza->second.batch == batch.number ? sent_.erase(stanza) : std::next(stanza);
	in_flight_.pop_front();
	return true;
}

bool
SendPipeline::error_replied(const std::string &id, const std::string &from,
                            const std::string &reason)
{
	auto range = sent_.equal_range(id);
	for (auto stanza = range.first; stanza != range.second; ++stanza)
	{
		if (!jid::speaks_for(from, stanza->second.recipient))
			continue;
		const int64_t row = stanza->second.row;
		auto forget_row = [row](Batch &batch) {
			batch.rows.erase(std::remove(batch.rows.begin(), batch.rows.end(), row),
			                 batch.rows.end());
		};
		for (Batch &batch : in_flight_)
			if (batch.number == stanza->second.batch)
				forget_row(batch);
		/* Defensive: the worker does not pump while it builds a batch. */
		if (building_ && building_batch_.number == stanza->second.batch)
			forget_row(building_batch_);
		sent_.erase(stanza);
		failures_.push_back({row, reason});
		return true;
	}
	return false;
}

Timestamp
SendPipeline::barrier_deadline() const
{
	return in_flight_.empty() ? 0 : in_flight_.front().deadline;
}

void
SendPipeline::outcomes_recorded()
{
	confirmed_.clear();
	failures_.clear();
	unrecorded_through_ = 0;
}

void
SendPipeline::leave_careful_mode_after(int64_t row)
{
	if (careful_until_ != 0 && row >= careful_until_)
		careful_until_ = 0;
}

} // namespace pipeline
