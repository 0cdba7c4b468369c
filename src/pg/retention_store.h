/*
 * retention_store.h: the worker's SQL that deletes expired rows
 * (core/retention.h decides when, and how many). Each call is one short
 * transaction of its own, bounded in rows (the caller's limit) and in time
 * (a lock_timeout and a statement timeout of its own), like every unit of
 * the store (store.h): false on any error, store_last_error() says why.
 */
#pragma once

#include <cstdint>

/* What one batch of the tx queue did. */
struct TxExpiry
{
	int examined;         /* rows looked at */
	int64_t last_id;      /* the highest id looked at (0: none) */
	bool reached_young;   /* a row looked at was inserted at or after young_from */
	int64_t sent_deleted; /* rows marked sent that were deleted */
	int64_t failed_deleted;
};

/*
 * Looks at up to `rows` rows of xmpp_tx_queue with ids above `after_id`,
 * in id order, and deletes those among them that are marked sent and
 * were inserted before `sent_cutoff`, or marked failed and inserted
 * before `failed_cutoff` (TimestampTz; INT64_MIN: none). A pending row is
 * never deleted, nor a row someone holds locked. The ids, not
 * insert_timestamp, order the walk: no index beyond the primary key.
 */
bool store_expire_tx(int64_t after_id, int rows, int64_t sent_cutoff, int64_t failed_cutoff,
                     int64_t young_from, TxExpiry *result);
/* Deletes up to `rows` rows of xmpp_rx_queue inserted before `cutoff`, oldest first. */
bool store_expire_rx(int rows, int64_t cutoff, int64_t *deleted);
