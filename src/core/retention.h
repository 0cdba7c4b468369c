/*
 * retention.h: when the worker deletes expired rows, and how many at a
 * time, in pure C++ (the SQL is pg/retention_store.cpp, the calls
 * worker/retention.cpp).
 *
 * Vocabulary:
 *   keep       how long a class of rows is kept after its insert_timestamp
 *              (jabclnd.keep_sent, keep_failed, keep_received); FOREVER:
 *              never deleted, the default
 *   cutoff     a pass's start minus a keep: rows inserted before it expired
 *   pass       one walk over the tables, tx queue first, then rx queue, in
 *              batches; passes start jabclnd.retention_interval apart (from
 *              the end of one to the start of the next), so an idle worker
 *              is woken for retention no more often than that
 *   batch      one transaction: at most batch_rows rows examined (tx, in id
 *              order from a cursor) or deleted (rx, oldest first); while a
 *              pass has work left, batches run back to back, one per turn
 *              of the worker's loop, after its sending
 *
 * Batch sizing: a batch should take about TARGET_BATCH_US, so that a
 * batch never holds the loop (and sending) up for long: the next batch's
 * size follows the last one's time, at most doubling, at least one row,
 * at most jabclnd.retention_batch_size.
 */
#pragma once

#include "core/boundary.h"

#include <cstdint>
#include <limits>

namespace retention
{

/* Microseconds, as PostgreSQL's TimestampTz. */
using Timestamp = int64_t;

/* A keep that never expires anything. */
const int64_t FOREVER = -1;
/* A cutoff no row is older than (PostgreSQL's -infinity, DT_NOBEGIN). */
const Timestamp NO_CUTOFF = std::numeric_limits<int64_t>::min();
/* How long one batch should take. */
const int64_t TARGET_BATCH_US = 200 * 1000;

struct Settings
{
	int64_t keep_sent_us = FOREVER;
	int64_t keep_failed_us = FOREVER;
	int64_t keep_received_us = FOREVER;
	int64_t interval_us = 60 * 1000000LL;
	int max_batch_rows = 1000;
};

enum class Table
{
	tx, /* xmpp_tx_queue: sent and failed rows */
	rx  /* xmpp_rx_queue */
};

/* What the next batch is to do. */
struct Batch
{
	Table table;
	int rows;              /* tx: rows to examine; rx: rows to delete */
	int64_t after_id;      /* tx: examine rows with a higher id */
	Timestamp sent_cutoff; /* tx: sent rows inserted before it expired */
	Timestamp failed_cutoff;
	Timestamp young_from;      /* tx: a row inserted at or after it ends the pass's walk */
	Timestamp received_cutoff; /* rx */
};

/* What a batch found. */
struct BatchResult
{
	int examined;       /* tx: rows looked at; rx: rows deleted */
	int64_t last_id;    /* tx: the highest id looked at */
	bool reached_young; /* tx: a row looked at was inserted at or after young_from */
	int64_t took_us;    /* how long the batch's transaction took */
};

class Schedule
{
  public:
	/*
	 * New settings (at start and at each reload). Turning retention on
	 * starts a pass at once; a shorter interval applies from the end of
	 * the last pass.
	 */
	void set_settings(const Settings &settings, Timestamp now);
	/* Whether any class of rows expires. */
	bool enabled() const;
	/* When the next batch is due: now while a pass has work left; 0 if never. */
	Timestamp next_due() const;
	bool due(Timestamp now) const { return next_due() != 0 && now >= next_due(); }
	/* Whether a pass is under way (its batches run back to back). */
	bool in_pass() const { return in_pass_; }
	/* The batch to run now (call when due): starts a pass if none is under way. */
	Batch next_batch(Timestamp now);
	/* The batch ran; `now` is when it ended. */
	void batch_done(const BatchResult &result, Timestamp now);
	/* The batch failed (a lock, a timeout, an error): the pass ends, the next waits an interval. */
	void batch_failed(Timestamp now);
	/* Rows the next batch handles. */
	int batch_rows() const { return batch_rows_; }

  private:
	void start_pass(Timestamp now);
	void end_pass(Timestamp now);
	bool tx_expires() const;
	bool rx_expires() const;

	Settings settings_;
	bool configured_ = false;
	bool in_pass_ = false;
	Table table_ = Table::tx;
	int64_t cursor_ = 0;
	Timestamp pass_start_ = 0;
	Timestamp last_pass_end_ = 0;
	Timestamp next_pass_ = 0;
	int batch_rows_ = 0;
};

/* The size of the batch after one of `rows` rows that took `took_us`. */
int next_batch_rows(int rows, int64_t took_us, int max_rows);

} // namespace retention
