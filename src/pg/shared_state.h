/*
 * shared_state.h: what the worker publishes in shared memory.
 *
 * The worker writes its connection state, last error and counters here so
 * that jabclnd_status() answers from any session without waiting on the
 * worker, and writers find the worker's latch here to wake it at commit.
 * Only plain data: no process-local pointer ever goes into shared memory
 * (the latch is found through the worker's PGPROC number).
 */
#pragma once

#include <stdint.h>

enum WorkerState
{
	WS_STOPPED,         /* no worker running */
	WS_DISABLED,        /* jabclnd.enabled = off */
	WS_NO_EXTENSION,    /* CREATE EXTENSION jabclnd not run in jabclnd.database */
	WS_SCHEMA_MISMATCH, /* the extension is at a version this library does not serve */
	WS_NO_ACCOUNT,      /* no enabled row in xmpp_accounts */
	WS_CONNECTING,      /* login in progress */
	WS_ONLINE,          /* logged in, sending and receiving */
	WS_OFFLINE,         /* connection lost or refused; retrying at next_retry */
	WS_AUTH_FAILED,     /* the server refused the credentials; retrying at next_retry */
	WS_DATABASE_ERROR,  /* a unit of SQL work failed; retrying */
};

#define STATUS_TEXT_LEN 1024
/* Room for core/failure_condition.h's names (metrics.cpp checks that they fit). */
#define FAILURE_CONDITIONS_MAX 32

/* Size to request in shared memory; called from the shmem_request hook. */
size_t shared_state_size(void);
/* Creates or attaches the shared struct; called from the shmem_startup hook. */
void shared_state_init(void);

/* Worker side. */
void shared_state_register_worker(void);
void shared_state_unregister_worker(void);
void shared_state_set(WorkerState state, const char *jid, const char *error);
void shared_state_set_next_retry(int64_t timestamp);
void shared_state_count(uint64_t sent, uint64_t failed, uint64_t received, uint64_t set_aside);
void shared_state_count_ignored(uint64_t ignored);
bool shared_state_take_tables_changed(void);
/* For the metrics (jabclnd_metrics(), jabclnd_failures()): counted since the worker started. */
void shared_state_count_login(void);
void shared_state_count_connection_lost(void);
void shared_state_set_barrier_round_trip(int64_t microseconds);
void shared_state_count_failures(const int *conditions, int count);
void shared_state_count_expired(uint64_t sent, uint64_t failed, uint64_t received, bool pass_ended);
bool shared_state_begin_connect(void);
void shared_state_end_connect(void);

/* Any backend. */
void shared_state_wake_worker(void);
bool shared_state_is_worker(void);

/* Copies at most `size` - 1 bytes of `src` (null: ""), never splitting a UTF-8 character. */
void copy_status_text(char *dst, size_t size, const char *src);

/* A consistent copy for jabclnd_status(). */
struct StatusSnapshot
{
	WorkerState state;
	int worker_pid;
	int64_t since;      /* TimestampTz of the last state change, 0 if never */
	int64_t next_retry; /* TimestampTz, 0 if none */
	uint64_t sent;
	uint64_t failed;
	uint64_t received;
	uint64_t set_aside;
	uint64_t ignored;
	char jid[STATUS_TEXT_LEN];
	char last_error[STATUS_TEXT_LEN];
	/* The metrics' own (metrics.cpp). */
	int64_t started; /* TimestampTz the worker registered, 0 if none ran */
	uint64_t logins;
	uint64_t connections_lost;
	int64_t barrier_round_trip; /* microseconds, the last barrier's; -1 if none yet */
	uint64_t failures[FAILURE_CONDITIONS_MAX];
	uint64_t expired_sent;
	uint64_t expired_failed;
	uint64_t expired_received;
	uint64_t retention_passes;
	int64_t last_retention; /* TimestampTz the last pass ended, 0 if none */
};
void shared_state_snapshot(StatusSnapshot *out);
const char *worker_state_name(WorkerState state);
