/*
 * retention_test.cpp: unit tests of src/core/retention.cpp, the retention
 * schedule: when passes start (never more often than the interval), which
 * batches a pass runs (tx queue then rx queue, back to back), the cutoffs
 * they carry, and how batch sizes follow the time a batch took.
 */
#include "core/retention.h"

#include <gtest/gtest.h>

using retention::Batch;
using retention::BatchResult;
using retention::FOREVER;
using retention::NO_CUTOFF;
using retention::Schedule;
using retention::Settings;
using retention::Table;
using retention::Timestamp;

namespace
{

const int64_t SECOND = 1000000;
const Timestamp START = 1000 * SECOND;

Settings
keeping(int64_t sent, int64_t failed, int64_t received)
{
	Settings settings;
	settings.keep_sent_us = sent;
	settings.keep_failed_us = failed;
	settings.keep_received_us = received;
	settings.interval_us = 60 * SECOND;
	settings.max_batch_rows = 100;
	return settings;
}

/* A tx batch that looked at `examined` rows up to `last_id`, quickly. */
BatchResult
tx_result(int examined, int64_t last_id, bool reached_young = false)
{
	return BatchResult{examined, last_id, reached_young, retention::TARGET_BATCH_US};
}

BatchResult
rx_result(int deleted)
{
	return BatchResult{deleted, 0, false, retention::TARGET_BATCH_US};
}

} // namespace

TEST(Retention, OffByDefaultAndNeverDue)
{
	Schedule schedule;
	EXPECT_FALSE(schedule.enabled());
	EXPECT_EQ(schedule.next_due(), 0);
	schedule.set_settings(Settings(), START);
	EXPECT_FALSE(schedule.enabled());
	EXPECT_EQ(schedule.next_due(), 0);
	EXPECT_FALSE(schedule.due(START + 3600 * SECOND));
}

TEST(Retention, TurnedOnAPassStartsAtOnce)
{
	Schedule schedule;
	schedule.set_settings(keeping(3600 * SECOND, FOREVER, FOREVER), START);
	EXPECT_TRUE(schedule.enabled());
	EXPECT_EQ(schedule.next_due(), START);
	EXPECT_TRUE(schedule.due(START));
}

TEST(Retention, CutoffsAreThePassStartMinusEachKeep)
{
	Schedule schedule;
	schedule.set_settings(keeping(10 * SECOND, 20 * SECOND, 30 * SECOND), START);
	const Batch batch = schedule.next_batch(START);
	EXPECT_EQ(batch.table, Table::tx);
	EXPECT_EQ(batch.after_id, 0);
	EXPECT_EQ(batch.rows, 100);
	EXPECT_EQ(batch.sent_cutoff, START - 10 * SECOND);
	EXPECT_EQ(batch.failed_cutoff, START - 20 * SECOND);
	/* The walk ends at rows no class expires: younger than the latest cutoff. */
	EXPECT_EQ(batch.young_from, START - 10 * SECOND);
	EXPECT_EQ(batch.received_cutoff, START - 30 * SECOND);
}

TEST(Retention, AKeptForeverClassHasNoCutoff)
{
	Schedule schedule;
	schedule.set_settings(keeping(FOREVER, 20 * SECOND, FOREVER), START);
	const Batch batch = schedule.next_batch(START);
	EXPECT_EQ(batch.sent_cutoff, NO_CUTOFF);
	EXPECT_EQ(batch.failed_cutoff, START - 20 * SECOND);
	EXPECT_EQ(batch.young_from, START - 20 * SECOND);
	EXPECT_EQ(batch.received_cutoff, NO_CUTOFF);
}

TEST(Retention, OnlyReceivedRowsExpireThePassSkipsTheTxQueue)
{
	Schedule schedule;
	schedule.set_settings(keeping(FOREVER, FOREVER, 5 * SECOND), START);
	EXPECT_EQ(schedule.next_batch(START).table, Table::rx);
}

TEST(Retention, AFullTxBatchWalksOnFromItsLastId)
{
	Schedule schedule;
	schedule.set_settings(keeping(SECOND, SECOND, FOREVER), START);
	schedule.next_batch(START);
	schedule.batch_done(tx_result(100, 4711), START + SECOND);
	/* Back to back: due at once, the cutoffs of the same pass. */
	EXPECT_TRUE(schedule.in_pass());
	EXPECT_TRUE(schedule.due(START + SECOND));
	const Batch batch = schedule.next_batch(START + SECOND);
	EXPECT_EQ(batch.table, Table::tx);
	EXPECT_EQ(batch.after_id, 4711);
	EXPECT_EQ(batch.sent_cutoff, START - SECOND);
}

TEST(Retention, TheTxWalkEndsAtAShortBatchOrAYoungRowThenTheRxQueue)
{
	for (const BatchResult &last : {tx_result(99, 50), tx_result(100, 50, true)})
	{
		Schedule schedule;
		schedule.set_settings(keeping(SECOND, FOREVER, SECOND), START);
		schedule.next_batch(START);
		schedule.batch_done(last, START + SECOND);
		EXPECT_TRUE(schedule.in_pass());
		const Batch batch = schedule.next_batch(START + SECOND);
		EXPECT_EQ(batch.table, Table::rx);
		EXPECT_EQ(batch.received_cutoff, START - SECOND);
	}
}

TEST(Retention, APassEndsWhenTheRxQueueHasNoMoreAndTheNextWaitsAnInterval)
{
	Schedule schedule;
	schedule.set_settings(keeping(FOREVER, FOREVER, SECOND), START);
	schedule.next_batch(START);
	schedule.batch_done(rx_result(100), START + SECOND);
	EXPECT_TRUE(schedule.due(START + SECOND));
	schedule.next_batch(START + SECOND);
	schedule.batch_done(rx_result(3), START + 2 * SECOND);
	EXPECT_FALSE(schedule.in_pass());
	EXPECT_EQ(schedule.next_due(), START + 62 * SECOND);
	EXPECT_FALSE(schedule.due(START + 61 * SECOND));
	/* The next pass starts afresh: cursor back at 0, new cutoffs. */
	const Batch batch = schedule.next_batch(START + 62 * SECOND);
	EXPECT_TRUE(schedule.in_pass());
	EXPECT_EQ(batch.received_cutoff, START + 61 * SECOND);
}

TEST(Retention, ANewPassWalksTheTxQueueFromTheStart)
{
	Schedule schedule;
	schedule.set_settings(keeping(SECOND, FOREVER, FOREVER), START);
	schedule.next_batch(START);
	schedule.batch_done(tx_result(100, 900), START);
	schedule.next_batch(START);
	schedule.batch_done(tx_result(10, 1000), START + SECOND);
	EXPECT_FALSE(schedule.in_pass());
	EXPECT_EQ(schedule.next_batch(START + 61 * SECOND).after_id, 0);
}

TEST(Retention, AnIdleWorkerRunsOnePassPerInterval)
{
	Schedule schedule;
	schedule.set_settings(keeping(SECOND, SECOND, SECOND), START);
	int batches = 0;
	/* Ten minutes of wake-ups every second with nothing to delete. */
	for (Timestamp now = START; now < START + 600 * SECOND; now += SECOND)
		if (schedule.due(now))
		{
			const Batch batch = schedule.next_batch(now);
			schedule.batch_done(batch.table == Table::tx ? tx_result(0, 0) : rx_result(0), now);
			batches++;
		}
	/* A pass is two batches (tx, rx), one pass a minute. */
	EXPECT_EQ(batches, 2 * 10);
}

TEST(Retention, AFailedBatchEndsThePassAndHalvesTheBatch)
{
	Schedule schedule;
	schedule.set_settings(keeping(SECOND, FOREVER, FOREVER), START);
	schedule.next_batch(START);
	schedule.batch_failed(START + SECOND);
	EXPECT_FALSE(schedule.in_pass());
	EXPECT_EQ(schedule.next_due(), START + 61 * SECOND);
	EXPECT_EQ(schedule.batch_rows(), 50);
}

TEST(Retention, TurnedOffNothingIsDueEvenInAPass)
{
	Schedule schedule;
	schedule.set_settings(keeping(SECOND, FOREVER, FOREVER), START);
	schedule.next_batch(START);
	schedule.batch_done(tx_result(100, 100), START);
	schedule.set_settings(Settings(), START + SECOND);
	EXPECT_FALSE(schedule.in_pass());
	EXPECT_EQ(schedule.next_due(), 0);
}

TEST(Retention, AChangedIntervalAppliesFromTheEndOfTheLastPass)
{
	Schedule schedule;
	Settings settings = keeping(SECOND, FOREVER, FOREVER);
	schedule.set_settings(settings, START);
	schedule.next_batch(START);
	schedule.batch_done(tx_result(0, 0), START);
	EXPECT_EQ(schedule.next_due(), START + 60 * SECOND);
	settings.interval_us = 10 * SECOND;
	schedule.set_settings(settings, START + 5 * SECOND);
	EXPECT_EQ(schedule.next_due(), START + 10 * SECOND);
	settings.interval_us = 3600 * SECOND;
	schedule.set_settings(settings, START + 6 * SECOND);
	EXPECT_EQ(schedule.next_due(), START + 3600 * SECOND);
}

TEST(Retention, BatchSizesFollowTheTimeTaken)
{
	const int64_t target = retention::TARGET_BATCH_US;
	/* Four times too slow: a quarter. */
	EXPECT_EQ(retention::next_batch_rows(1000, 4 * target, 1000), 250);
	/* Twice as fast as wanted: at most double, and never above the setting. */
	EXPECT_EQ(retention::next_batch_rows(100, target / 10, 1000), 200);
	EXPECT_EQ(retention::next_batch_rows(800, target / 10, 1000), 1000);
	/* On target: unchanged. */
	EXPECT_EQ(retention::next_batch_rows(300, target, 1000), 300);
	/* Never below one row, whatever it took. */
	EXPECT_EQ(retention::next_batch_rows(1, 1000 * target, 1000), 1);
	/* No time measured: as fast as can be. */
	EXPECT_EQ(retention::next_batch_rows(10, 0, 1000), 20);
}

TEST(Retention, ASlowBatchShrinksTheNextOfThePass)
{
	Schedule schedule;
	schedule.set_settings(keeping(SECOND, FOREVER, FOREVER), START);
	schedule.next_batch(START);
	schedule.batch_done(BatchResult{100, 100, false, 2 * retention::TARGET_BATCH_US}, START);
	EXPECT_EQ(schedule.next_batch(START).rows, 50);
}

TEST(Retention, ALowerBatchSizeSettingAppliesAtOnce)
{
	Schedule schedule;
	Settings settings = keeping(SECOND, FOREVER, FOREVER);
	schedule.set_settings(settings, START);
	settings.max_batch_rows = 7;
	schedule.set_settings(settings, START);
	EXPECT_EQ(schedule.next_batch(START).rows, 7);
}
