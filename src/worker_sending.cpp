/*
 * worker_sending.cpp: sending the queue. A batch of pending rows is
 * claimed (counting an attempt), sent, and followed by a ping, the
 * barrier: its answer confirms the batch. Two batches are in flight at a
 * time, one after a lost connection ("careful" mode), so that a row that
 * kills the stream fails alone after jabclnd.max_attempts.
 */
#include "settings.h"
#include "stanza.h"
#include "worker_loop.h"

#include <algorithm>

/* How many ids of sent raw stanzas are remembered to match error replies. */
const size_t REMEMBERED_STANZA_IDS = 10000;

void
SentIds::remember(const std::string &id, int64_t row)
{
	if (rows_.emplace(id, row).second)
		order_.push_back(id);
	while (order_.size() > REMEMBERED_STANZA_IDS)
	{
		rows_.erase(order_.front());
		order_.pop_front();
	}
}

int64_t
SentIds::find(const std::string &id) const
{
	auto found = rows_.find(id);
	if (found != rows_.end())
		return found->second;
	long long row = 0;
	long long inserted = 0;
	if (sscanf(id.c_str(), "jabclnd-tx-%lld-%lld", &row, &inserted) == 2)
		return row;
	return 0;
}

std::string
Worker::send_row(const TxRow &row)
{
	const std::string id = stanza::row_stanza_id(row.id, row.inserted_us);
	const size_t max_size = static_cast<size_t>(jabclnd_max_stanza_size);

	if (row.stanza)
	{
		std::string problem = stanza::check_xml_text(row.stanza, "message_stanza");
		if (!problem.empty())
			return problem;
		const std::string sent_id = session_.send_raw_message(row.stanza, id, max_size, &problem);
		if (problem.empty())
			sent_ids_.remember(sent_id, row.id);
		return problem;
	}

	const std::string subject = row.subject ? row.subject : "";
	const std::string body = row.body ? row.body : "";
	const std::string type = row.type ? row.type : "chat";
	std::string problem = stanza::check_message_parts(
	    row.to, type, row.subject ? &subject : nullptr, row.body ? &body : nullptr);
	if (problem.empty())
		problem = session_.send_message(row.to, type, row.subject ? &subject : nullptr,
		                                row.body ? &body : nullptr, id, max_size);
	return problem;
}

/*
 * Claims a batch and sends it, followed by the barrier ping. Rows that
 * cannot be sent fail here, each with its reason, without reaching the
 * server; rows that have been sent max_attempts times without the server
 * confirming them fail with the last connection error.
 */
void
Worker::send_batch(TimestampTz now)
{
	const int limit = careful_until_ != 0 ? 1 : jabclnd_batch_size;
	TxRow *rows = nullptr;
	int count = 0;

	const int64_t after_id = in_flight_.empty() ? 0 : in_flight_.back().last_claimed;

	MemoryContextReset(results_);
	if (!store_claim_batch(results_, limit, after_id, &rows, &count))
	{
		database_failed(now);
		return;
	}
	claim_wanted_ = count == limit;
	std::sort(rows, rows + count, [](const TxRow &a, const TxRow &b) { return a.id < b.id; });

	InFlight batch;
	batch.last_claimed = count > 0 ? rows[count - 1].id : 0;
	for (int i = 0; i < count; i++)
	{
		std::string problem;
		if (rows[i].attempts > jabclnd_max_attempts)
			problem = "not confirmed by the server after " + std::to_string(jabclnd_max_attempts) +
			          " attempts (jabclnd.max_attempts); the connection was lost each time: " +
			          (last_error_.empty() ? std::string("no error recorded") : last_error_);
		else
			problem = send_row(rows[i]);
		if (problem.empty())
			batch.rows.push_back(rows[i].id);
		else
		{
			failed_rows_.push_back(rows[i].id);
			failure_reasons_.push_back(problem);
			if (careful_until_ != 0 && rows[i].id >= careful_until_)
				careful_until_ = 0;
		}
	}
	if (batch.rows.empty())
		return;
	batch.barrier_id = session_.send_ping();
	batch.deadline = after_ms(now, jabclnd_ping_interval_ms);
	in_flight_.push_back(std::move(batch));
}

/*
 * A barrier's answer: the server has processed every stanza of the batch
 * before it. The server answers in order, so the oldest batch in flight is
 * the one confirmed.
 */
void
Worker::confirm_batch(const std::string &answered_id, TimestampTz now)
{
	if (in_flight_.empty() || answered_id != in_flight_.front().barrier_id)
		return;
	const InFlight &batch = in_flight_.front();
	confirmed_.insert(confirmed_.end(), batch.rows.begin(), batch.rows.end());
	if (careful_until_ != 0 && batch.rows.back() >= careful_until_)
		careful_until_ = 0;
	in_flight_.pop_front();
	next_ping_ = after_ms(now, jabclnd_ping_interval_ms);
}

/* Error replies to sent stanzas fail their rows, with the server's reason. */
void
Worker::fail_rejected_rows(const std::vector<session::MessageError> &errors)
{
	for (const session::MessageError &error : errors)
	{
		const int64_t row = sent_ids_.find(error.id);
		if (row != 0)
		{
			failed_rows_.push_back(row);
			failure_reasons_.push_back(error.reason);
		}
	}
}
