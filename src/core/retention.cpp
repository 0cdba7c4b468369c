/*
 * retention.cpp: the retention schedule (see retention.h): passes an
 * interval apart, batches back to back within a pass, batch sizes that
 * follow the time the last batch took.
 */
#include "core/retention.h"

#include <algorithm>

namespace retention
{

namespace
{

/* The cutoff of a keep for a pass that started at `start`. */
Timestamp
cutoff(Timestamp start, int64_t keep_us)
{
	return keep_us == FOREVER ? NO_CUTOFF : start - keep_us;
}

} // namespace

int
next_batch_rows(int rows, int64_t took_us, int max_rows)
{
	const int64_t most = std::min<int64_t>(2 * static_cast<int64_t>(rows), max_rows);
	if (took_us <= 0)
		return static_cast<int>(std::max<int64_t>(1, most));
	const int64_t scaled = static_cast<int64_t>(rows) * TARGET_BATCH_US / took_us;
	return static_cast<int>(std::max<int64_t>(1, std::min(scaled, most)));
}

bool
Schedule::tx_expires() const
{
	return settings_.keep_sent_us != FOREVER || settings_.keep_failed_us != FOREVER;
}

bool
Schedule::rx_expires() const
{
	return settings_.keep_received_us != FOREVER;
}

bool
Schedule::enabled() const
{
	return configured_ && (tx_expires() || rx_expires());
}

void
Schedule::set_settings(const Settings &settings, Timestamp now)
{
	const bool was_enabled = enabled();
	settings_ = settings;
	configured_ = true;
	if (batch_rows_ <= 0 || batch_rows_ > settings_.max_batch_rows)
		batch_rows_ = std::max(1, settings_.max_batch_rows);
	if (!enabled())
	{
		in_pass_ = false;
		next_pass_ = 0;
		return;
	}
	if (!was_enabled)
		next_pass_ = now;
	else if (!in_pass_ && last_pass_end_ != 0)
		next_pass_ = last_pass_end_ + settings_.interval_us;
}

Timestamp
Schedule::next_due() const
{
	return enabled() ? next_pass_ : 0;
}

void
Schedule::start_pass(Timestamp now)
{
	in_pass_ = true;
	pass_start_ = now;
	table_ = tx_expires() ? Table::tx : Table::rx;
	cursor_ = 0;
}

void
Schedule::end_pass(Timestamp now)
{
	in_pass_ = false;
	last_pass_end_ = now;
	next_pass_ = now + settings_.interval_us;
}

Batch
Schedule::next_batch(Timestamp now)
{
	if (!in_pass_)
		start_pass(now);
	/* A reload may have turned the tx queue's keeps off during the pass. */
	if (table_ == Table::tx && !tx_expires())
		table_ = Table::rx;
	Batch batch;
	batch.table = table_;
	batch.rows = batch_rows_;
	batch.after_id = cursor_;
	batch.sent_cutoff = cutoff(pass_start_, settings_.keep_sent_us);
	batch.failed_cutoff = cutoff(pass_start_, settings_.keep_failed_us);
	batch.young_from = std::max(batch.sent_cutoff, batch.failed_cutoff);
	batch.received_cutoff = cutoff(pass_start_, settings_.keep_received_us);
	return batch;
}

void
Schedule::batch_done(const BatchResult &result, Timestamp now)
{
	if (!in_pass_)
		return;
	/* Fewer rows than asked for: the table has no more of them (for this pass). */
	bool table_done = result.examined < batch_rows_;
	if (table_ == Table::tx)
	{
		cursor_ = std::max(cursor_, result.last_id);
		table_done = table_done || result.reached_young;
	}
	batch_rows_ = next_batch_rows(batch_rows_, result.took_us, settings_.max_batch_rows);
	if (!table_done)
		next_pass_ = now;
	else if (table_ == Table::tx && rx_expires())
	{
		table_ = Table::rx;
		next_pass_ = now;
	}
	else
		end_pass(now);
}

void
Schedule::batch_failed(Timestamp now)
{
	batch_rows_ = std::max(1, batch_rows_ / 2);
	if (in_pass_)
		end_pass(now);
}

} // namespace retention
