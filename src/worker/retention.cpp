/*
 * retention.cpp: the worker deletes expired rows (README.md, "Retention"):
 * core/retention.h decides when and how many, pg/retention_store.h runs
 * the deletes, shared state counts them for the metrics.
 *
 * One batch at most per turn of the loop, after the turn's sending: a
 * pass with a backlog runs back to back, and sending waits one batch at
 * most (bounded in rows and time). Nothing runs while the extension's
 * tables are not served, while the database is failing, or while the
 * worker stops.
 */
#include "core/retention.h"
#include "worker/worker.h"

#include "pg/retention_store.h"
#include "pg/settings.h"

namespace
{

int64_t
keep_us(int seconds)
{
	return seconds == KEEP_FOREVER ? retention::FOREVER
	                               : seconds * static_cast<int64_t>(USECS_PER_SEC);
}

} // namespace

/* The jabclnd.keep_* and retention_* settings as the schedule's. */
retention::Settings
retention_settings(void)
{
	retention::Settings settings;
	settings.keep_sent_us = keep_us(jabclnd_keep_sent_s);
	settings.keep_failed_us = keep_us(jabclnd_keep_failed_s);
	settings.keep_received_us = keep_us(jabclnd_keep_received_s);
	settings.interval_us = jabclnd_retention_interval_ms * static_cast<int64_t>(1000);
	settings.max_batch_rows = jabclnd_retention_batch_size;
	return settings;
}

/* When retention wants the loop to wake next; 0 if it does not. */
TimestampTz
Worker::retention_wake() const
{
	if (!tables_served_ || stop_requested || retention_.next_due() == 0)
		return 0;
	return std::max(retention_.next_due(), database_retry_);
}

/* Runs the batch of retention that is due, if one is. */
void
Worker::expire(TimestampTz now)
{
	if (!tables_served_ || stop_requested || now < database_retry_ || !retention_.due(now))
		return;
	const retention::Batch batch = retention_.next_batch(now);
	retention::BatchResult result = {};
	uint64_t sent = 0, failed = 0, received = 0;
	bool ok;
	if (batch.table == retention::Table::tx)
	{
		TxExpiry expiry;
		ok = store_expire_tx(batch.after_id, batch.rows, batch.sent_cutoff, batch.failed_cutoff,
		                     batch.young_from, &expiry);
		result.examined = expiry.examined;
		result.last_id = expiry.last_id;
		result.reached_young = expiry.reached_young;
		sent = expiry.sent_deleted;
		failed = expiry.failed_deleted;
	}
	else
	{
		int64_t deleted = 0;
		ok = store_expire_rx(batch.rows, batch.received_cutoff, &deleted);
		result.examined = static_cast<int>(deleted);
		received = deleted;
	}
	const TimestampTz end = GetCurrentTimestamp();
	if (!ok)
	{
		/* Logged by the store; the next pass, an interval later, tries again. */
		retention_.batch_failed(end);
		return;
	}
	result.took_us = end - now;
	retention_.batch_done(result, end);
	shared_state_count_expired(sent, failed, received, !retention_.in_pass());
}
