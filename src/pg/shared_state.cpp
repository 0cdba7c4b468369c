/*
 * shared_state.cpp: the worker's status block in shared memory.
 *
 * One struct, guarded by a spinlock: every access is a copy of a few
 * hundred bytes, so no LWLock is needed and nothing here can sleep or
 * raise an error while holding the lock.
 */
#include "pg/pg.h"
#include "pg/shared_state.h"

#include <string.h>

struct SharedState
{
	slock_t mutex;
	int worker_procno; /* PGPROC number of the worker, -1 when none */
	int worker_pid;
	bool tables_changed; /* a commit touched the worker's tables since it last looked */
	bool connecting;     /* a worker is connecting to its database (database_wait.cpp) */
	WorkerState state;
	TimestampTz since;
	TimestampTz next_retry;
	uint64 sent;
	uint64 failed;
	uint64 received;
	uint64 set_aside; /* received messages stored in xmpp_rx_set_aside instead */
	uint64 ignored;   /* received messages from senders jabclnd.receive_from does not hear */
	char jid[STATUS_TEXT_LEN];
	char last_error[STATUS_TEXT_LEN];
	/* The metrics' counters, as in StatusSnapshot. */
	TimestampTz started;
	uint64 logins;
	uint64 connections_lost;
	int64 barrier_round_trip;
	uint64 failures[FAILURE_CONDITIONS_MAX];
	uint64 expired_sent;
	uint64 expired_failed;
	uint64 expired_received;
	uint64 retention_passes;
	TimestampTz last_retention;
};

static SharedState *shared = nullptr;

size_t
shared_state_size(void)
{
	return MAXALIGN(sizeof(SharedState));
}

void
shared_state_init(void)
{
	bool found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = static_cast<SharedState *>(ShmemInitStruct("jabclnd", shared_state_size(), &found));
	if (!found)
	{
		memset(shared, 0, sizeof(SharedState));
		SpinLockInit(&shared->mutex);
		shared->worker_procno = -1;
		shared->state = WS_STOPPED;
		shared->barrier_round_trip = -1;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * The worker announces itself once it can be woken. Counters restart with
 * each worker: they count what this worker did since it started.
 */
void
shared_state_register_worker(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->worker_procno = MyProc->pgprocno;
	shared->worker_pid = MyProcPid;
	shared->sent = shared->failed = shared->received = shared->set_aside = shared->ignored = 0;
	shared->next_retry = 0;
	shared->started = GetCurrentTimestamp();
	shared->logins = shared->connections_lost = 0;
	shared->barrier_round_trip = -1;
	memset(shared->failures, 0, sizeof shared->failures);
	shared->expired_sent = shared->expired_failed = shared->expired_received = 0;
	shared->retention_passes = 0;
	shared->last_retention = 0;
	SpinLockRelease(&shared->mutex);
}

/* Sets one of the flags and returns what it was. */
static bool
exchange_flag(bool SharedState::*flag, bool value)
{
	bool was;

	SpinLockAcquire(&shared->mutex);
	was = shared->*flag;
	shared->*flag = value;
	SpinLockRelease(&shared->mutex);
	return was;
}

/* Notes that a worker connects now; returns whether the last one died doing so. */
bool
shared_state_begin_connect(void)
{
	return exchange_flag(&SharedState::connecting, true);
}

void
shared_state_end_connect(void)
{
	exchange_flag(&SharedState::connecting, false);
}

void
shared_state_unregister_worker(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->worker_procno = -1;
	shared->worker_pid = 0;
	shared->state = WS_STOPPED;
	shared->since = GetCurrentTimestamp();
	shared->next_retry = 0;
	SpinLockRelease(&shared->mutex);
}

/* Copies at most `size` - 1 bytes of `src` (null: ""), never splitting a UTF-8 character. */
void
copy_status_text(char *dst, size_t size, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len >= size)
	{
		len = size - 1;
		while (len > 0 && (static_cast<unsigned char>(src[len]) & 0xC0) == 0x80)
			len--;
	}
	if (len > 0)
		memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * Sets the state; jid and error are kept as they were when null. "since"
 * changes only when the state does, so it tells how long the worker has
 * been online (or failing).
 */
void
shared_state_set(WorkerState state, const char *jid, const char *error)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&shared->mutex);
	if (shared->state != state || shared->since == 0)
		shared->since = now;
	shared->state = state;
	if (jid)
		copy_status_text(shared->jid, sizeof shared->jid, jid);
	if (error)
		copy_status_text(shared->last_error, sizeof shared->last_error, error);
	if (state == WS_ONLINE || state == WS_CONNECTING)
		shared->next_retry = 0;
	SpinLockRelease(&shared->mutex);
}

void
shared_state_set_next_retry(int64_t timestamp)
{
	SpinLockAcquire(&shared->mutex);
	shared->next_retry = timestamp;
	SpinLockRelease(&shared->mutex);
}

void
shared_state_count(uint64_t sent, uint64_t failed, uint64_t received, uint64_t set_aside)
{
	SpinLockAcquire(&shared->mutex);
	shared->sent += sent;
	shared->failed += failed;
	shared->received += received;
	shared->set_aside += set_aside;
	SpinLockRelease(&shared->mutex);
}

void
shared_state_count_ignored(uint64_t ignored)
{
	SpinLockAcquire(&shared->mutex);
	shared->ignored += ignored;
	SpinLockRelease(&shared->mutex);
}

void
shared_state_count_login(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->logins++;
	SpinLockRelease(&shared->mutex);
}

void
shared_state_count_connection_lost(void)
{
	SpinLockAcquire(&shared->mutex);
	shared->connections_lost++;
	SpinLockRelease(&shared->mutex);
}

void
shared_state_set_barrier_round_trip(int64_t microseconds)
{
	SpinLockAcquire(&shared->mutex);
	shared->barrier_round_trip = microseconds;
	SpinLockRelease(&shared->mutex);
}

/* One failed row per entry of `conditions` (numbers of core/failure_condition.h). */
void
shared_state_count_failures(const int *conditions, int count)
{
	SpinLockAcquire(&shared->mutex);
	for (int i = 0; i < count; i++)
		if (conditions[i] >= 0 && conditions[i] < FAILURE_CONDITIONS_MAX)
			shared->failures[conditions[i]]++;
	SpinLockRelease(&shared->mutex);
}

void
shared_state_count_expired(uint64_t sent, uint64_t failed, uint64_t received, bool pass_ended)
{
	TimestampTz now = pass_ended ? GetCurrentTimestamp() : 0;

	SpinLockAcquire(&shared->mutex);
	shared->expired_sent += sent;
	shared->expired_failed += failed;
	shared->expired_received += received;
	if (pass_ended)
	{
		shared->retention_passes++;
		shared->last_retention = now;
	}
	SpinLockRelease(&shared->mutex);
}

/*
 * Sets the worker's latch. Called at commit by any backend that wrote to
 * the worker's tables; harmless when no worker runs.
 *
 * The latch alone does not say why it was set: PostgreSQL sets it too, for
 * every SIGUSR1 (catch-up interrupts after DDL anywhere in the cluster) and
 * SIGALRM (timers, also ones already disabled). The flag tells the worker
 * that this wake-up was a commit, so only commits make it run SQL.
 */
void
shared_state_wake_worker(void)
{
	int procno;

	if (shared == nullptr)
		return;
	SpinLockAcquire(&shared->mutex);
	procno = shared->worker_procno;
	shared->tables_changed = true;
	SpinLockRelease(&shared->mutex);
	if (procno >= 0)
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
}

/*
 * Worker side: whether a commit asked it to look since the last call.
 * Called after ResetLatch, so a commit that sets the flag after this read
 * also sets the latch again and is seen at the next wait.
 */
bool
shared_state_take_tables_changed(void)
{
	return exchange_flag(&SharedState::tables_changed, false);
}

bool
shared_state_is_worker(void)
{
	bool is_worker;

	if (shared == nullptr)
		return false;
	SpinLockAcquire(&shared->mutex);
	is_worker = shared->worker_pid == MyProcPid;
	SpinLockRelease(&shared->mutex);
	return is_worker;
}

void
shared_state_snapshot(StatusSnapshot *out)
{
	SpinLockAcquire(&shared->mutex);
	out->state = shared->state;
	out->worker_pid = shared->worker_pid;
	out->since = shared->since;
	out->next_retry = shared->next_retry;
	out->sent = shared->sent;
	out->failed = shared->failed;
	out->received = shared->received;
	out->set_aside = shared->set_aside;
	out->ignored = shared->ignored;
	memcpy(out->jid, shared->jid, STATUS_TEXT_LEN);
	memcpy(out->last_error, shared->last_error, STATUS_TEXT_LEN);
	out->started = shared->started;
	out->logins = shared->logins;
	out->connections_lost = shared->connections_lost;
	out->barrier_round_trip = shared->barrier_round_trip;
	memcpy(out->failures, shared->failures, sizeof out->failures);
	out->expired_sent = shared->expired_sent;
	out->expired_failed = shared->expired_failed;
	out->expired_received = shared->expired_received;
	out->retention_passes = shared->retention_passes;
	out->last_retention = shared->last_retention;
	SpinLockRelease(&shared->mutex);
}

const char *
worker_state_name(WorkerState state)
{
	switch (state)
	{
	case WS_STOPPED:
		return "stopped";
	case WS_DISABLED:
		return "disabled";
	case WS_NO_EXTENSION:
		return "no_extension";
	case WS_SCHEMA_MISMATCH:
		return "schema_mismatch";
	case WS_NO_ACCOUNT:
		return "no_account";
	case WS_CONNECTING:
		return "connecting";
	case WS_ONLINE:
		return "online";
	case WS_OFFLINE:
		return "offline";
	case WS_AUTH_FAILED:
		return "auth_failed";
	case WS_DATABASE_ERROR:
		return "database_error";
	}
	return "unknown";
}
