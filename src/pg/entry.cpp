/*
 * entry.cpp: what happens when the postmaster loads jabclnd.
 *
 * _PG_init defines the settings, asks for shared memory, registers the
 * background worker (its entry point, jabclnd_worker_main, is in
 * src/worker/main.cpp) and the commit callback that wakes it. All of that only
 * makes sense in the postmaster, before any backend is forked: loaded any
 * other way (LOAD, or a function call in a server without the preload) the
 * library refuses, with a hint that says how to load it.
 */
#include "pg/pg.h"
#include "pg/settings.h"
#include "pg/room_status.h"
#include "pg/shared_state.h"
#include "pg/commit_wake.h"

extern "C"
{
	PG_MODULE_MAGIC;
	PGDLLEXPORT void _PG_init(void);
}

static shmem_request_hook_type previous_shmem_request_hook = nullptr;
static shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

static void
request_shared_memory(void)
{
	if (previous_shmem_request_hook)
		previous_shmem_request_hook();
	RequestAddinShmemSpace(shared_state_size());
	RequestAddinShmemSpace(room_status_size());
	room_status_request_lock();
}

static void
start_shared_memory(void)
{
	if (previous_shmem_startup_hook)
		previous_shmem_startup_hook();
	shared_state_init();
	room_status_init();
}

/* The one static worker, started once recovery is over. */
static void
register_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof worker);
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* Never on a standby: the queue tables are written by the worker. */
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "jabclnd");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "jabclnd_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "jabclnd worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "jabclnd worker");
	RegisterBackgroundWorker(&worker);
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
		        (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		         errmsg("jabclnd must be loaded via shared_preload_libraries"),
		         errhint("Add jabclnd to shared_preload_libraries in postgresql.conf and restart "
		                 "PostgreSQL.")));

	define_settings();

	previous_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_shared_memory;
	previous_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = start_shared_memory;

	register_worker();
	register_wake_at_commit();
}
