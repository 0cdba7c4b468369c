/*
 * sending.cpp: sending the queue. A batch of pending rows is claimed
 * (counting an attempt), sent, and followed by a ping, the barrier: its
 * answer confirms the batch. The books (what is in flight, careful mode,
 * which stanza is whose and who may answer it) are kept by
 * core/send_pipeline.h; this file does the claiming and the sending.
 */
#include <algorithm>

#include "core/stanza.h"
#include "worker/worker.h"

#include "pg/settings.h"

/* Sends one claimed row; returns why it cannot be sent, or "". */
std::string
Worker::send_row(const TxRow &row)
{
	const std::string stable_id = stanza::row_stanza_id(row.id, row.inserted_us);
	const std::string id = session_.message_id(stable_id);
	const size_t max_size = static_cast<size_t>(jabclnd_max_stanza_size);

	if (!row.text_loaded)
		return "the row's text is " + std::to_string(row.text_bytes) +
		       " bytes, more than jabclnd.max_stanza_size (" + std::to_string(max_size) +
		       "); it was neither loaded nor sent";

	if (row.stanza)
	{
		std::string problem = stanza::check_xml_text(row.stanza, "message_stanza");
		if (problem.empty())
			problem = stanza::check_single_element(row.stanza, "message_stanza");
		if (!problem.empty())
			return problem;
		std::string recipient;
		const std::string sent_id =
		    session_.send_raw_message(row.stanza, id, max_size, &problem, &recipient);
		if (problem.empty())
			pipeline_.row_sent(row.id, sent_id, recipient);
		return problem;
	}

	const std::string type = row.type ? row.type : "chat";
	if (type == "groupchat")
		return send_groupchat_row(row, id, stable_id);
	const std::string subject = row.subject ? row.subject : "";
	const std::string body = row.body ? row.body : "";
	std::string problem = stanza::check_message_parts(
	    row.to, type, row.subject ? &subject : nullptr, row.body ? &body : nullptr);
	if (problem.empty())
		problem = session_.send_message(row.to, type, row.subject ? &subject : nullptr,
		                                row.body ? &body : nullptr, id, stable_id, max_size);
	if (problem.empty())
		pipeline_.row_sent(row.id, id, row.to);
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
	const int limit = pipeline_.claim_limit(jabclnd_batch_size);
	const int64_t after_id = pipeline_.claim_after();
	TxRow *rows = nullptr;
	int count = 0;
	bool stale = false;

	const std::vector<std::string> waiting = waiting_rooms();
	std::vector<const char *> waiting_names;
	for (const std::string &room : waiting)
		waiting_names.push_back(room.c_str());

	MemoryContextReset(results_);
	if (!store_claim_batch(results_, limit, after_id, jabclnd_max_stanza_size, waiting_names.data(),
	                       static_cast<int>(waiting_names.size()), installation_, &rows, &count,
	                       &stale))
	{
		database_failed(now);
		return;
	}
	if (stale)
	{
		/* Dropped (and perhaps created again) since the last look: look again first. */
		tables_wanted_ = true;
		return;
	}
	std::sort(rows, rows + count, [](const TxRow &a, const TxRow &b) { return a.id < b.id; });

	/* Read at each batch, so that a reload applies to the next error replies. */
	pipeline_.set_retry_policy(retry::Policy{jabclnd_wait_retries,
	                                         int64_t(jabclnd_wait_retry_delay_ms) * 1000,
	                                         int64_t(jabclnd_wait_retry_max_delay_ms) * 1000});
	pipeline_.begin_batch(after_id, count, limit, count > 0 ? rows[count - 1].id : 0);
	for (int i = 0; i < count; i++)
	{
		pipeline_.row_retries(rows[i].id, rows[i].retries);
		std::string problem =
		    pipeline_.out_of_attempts(rows[i].attempts, jabclnd_max_attempts, rows[i].id);
		if (problem.empty())
			problem = send_row(rows[i]);
		if (!problem.empty())
			pipeline_.row_failed(rows[i].id, problem);
	}
	if (!pipeline_.batch_needs_barrier())
	{
		pipeline_.end_batch("", 0);
		return;
	}
	const std::string barrier_id = session_.send_ping();
	pipeline_.end_batch(barrier_id, after_ms(now, jabclnd_ping_interval_ms));
	barriers_.sent(barrier_id, now);
}
