/*
 * main.cpp: the jabclnd background worker's process: its entry point
 * (registered by pg/entry.cpp), signal handlers, the connection to
 * jabclnd.database, and the states in which the loop (loop.cpp) cannot
 * run yet.
 *
 * Errors: any PostgreSQL error outside pg/store.cpp's units would mean a bug;
 * PG_exception_stack is cleared at start so that such an error becomes
 * FATAL (exit and restart) instead of a longjmp through the C++ frames
 * below, which own objects with destructors. C++ exceptions stop at
 * jabclnd_worker_main.
 */
#include <cerrno>
#include <sys/socket.h>

#include "worker/worker.h"

#include "pg/database_wait.h"
#include "pg/reload_wait.h"
#include "pg/room_status.h"
#include "pg/settings.h"

extern "C"
{
	PGDLLEXPORT void jabclnd_worker_main(Datum);
}

TimeoutId login_timer;

/*
 * libstrophe 0.12's TLS handshake has no deadline and blocks inside
 * xmpp_run_once, retrying through EINTR. Shutting the socket down makes it
 * fail at once. The handlers below do that when the worker must get back
 * to its loop: SIGTERM (then pg/stop_request.h), a ProcSignalBarrier
 * such as DROP DATABASE's (then PostgreSQL's own SIGUSR1 handler), and
 * jabclnd.connect_timeout. A healthy handshake takes milliseconds; only a
 * stalled one is ever cut, and the login is retried.
 */
volatile sig_atomic_t handshake_broken = false;

namespace
{

void
break_stalled_handshake(void)
{
	const int save_errno = errno;
	const int fd = session::handshake_socket();
	if (fd >= 0)
	{
		shutdown(fd, SHUT_RDWR);
		handshake_broken = true;
	}
	errno = save_errno;
}

void
handle_sigterm(SIGNAL_ARGS)
{
	break_stalled_handshake();
	stop_request_on_sigterm(postgres_signal_arg);
}

void
handle_sigusr1(SIGNAL_ARGS)
{
	procsignal_sigusr1_handler(postgres_signal_arg);
	if (ProcSignalBarrierPending)
		break_stalled_handshake();
}

void
handle_login_deadline(void)
{
	break_stalled_handshake();
	SetLatch(MyLatch);
}

/* before_shmem_exit: log out of XMPP politely, then say the worker is gone. */
void
on_worker_exit(int, Datum)
{
	if (running_worker)
	{
		try
		{
			running_worker->log_out();
		}
		catch (...)
		{
		}
	}
	/* No worker, no room: jabclnd_rooms() must not show the last worker's states as current. */
	room_status_publish(nullptr, 0);
	shared_state_unregister_worker();
}

/*
 * jabclnd.enabled = off: the worker stays out of the database (so that it
 * can be dropped) and waits for a reload that turns it back on.
 */
void
wait_until_enabled(void)
{
	shared_state_set(WS_DISABLED, "", "jabclnd.enabled is off");
	while (!jabclnd_enabled)
		wait_for_reload();
}

/*
 * The worker cannot serve this database: wait, running no SQL, until a
 * reload names another database (or turns the worker off), then exit so
 * the postmaster starts it afresh.
 */
[[noreturn]] void
wait_for_other_database(void)
{
	/* Plain C data: an error here longjmps past this frame (see the header comment). */
	char database[NAMEDATALEN];
	strlcpy(database, jabclnd_database, sizeof database);
	do
		wait_for_reload();
	while (jabclnd_enabled && strcmp(database, jabclnd_database) == 0);
	proc_exit(1);
}

} // namespace

void
jabclnd_worker_main(Datum)
{
	char failure[512] = "";

	/*
	 * A query cancel (pg_cancel_backend on the worker's pid) is meant for
	 * the SQL the worker runs: pg/store.cpp lets it through inside its
	 * units only, where it cancels that unit (rolled back and retried).
	 * Anywhere else it would be an ERROR, FATAL here, from any
	 * CHECK_FOR_INTERRUPTS: the loop's, or the one that ends every
	 * ereport(LOG). So cancels are held from the start.
	 */
	HOLD_CANCEL_INTERRUPTS();
	pqsignal(SIGTERM, handle_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGUSR1, handle_sigusr1);
	/* libstrophe writes with send(..., 0): a dead peer must not kill the process. */
	pqsignal(SIGPIPE, SIG_IGN);
	login_timer = RegisterTimeout(USER_TIMEOUT, handle_login_deadline);
	BackgroundWorkerUnblockSignals();

	shared_state_register_worker();
	before_shmem_exit(on_worker_exit, 0);

	if (!jabclnd_enabled)
		wait_until_enabled();

	if (previous_connect_failed())
		wait_for_database();
	BackgroundWorkerInitializeConnection(jabclnd_database, jabclnd_role[0] ? jabclnd_role : nullptr,
	                                     0);
	connect_succeeded();
	pgstat_report_appname("jabclnd worker");
	/*
	 * A table lock someone holds (LOCK TABLE, a long ALTER) must not stall
	 * the XMPP side for its duration: a unit that waits this long fails,
	 * and is retried like any failed unit.
	 */
	SetConfigOption("lock_timeout", "5s", PGC_SUSET, PGC_S_OVERRIDE);
	/*
	 * The worker's SQL names the extension's tables by schema, and every
	 * function and operator it uses is PostgreSQL's own: with nothing but
	 * pg_catalog on the path (pg_temp is never searched for functions or
	 * operators), no object a user created can be chosen for them. The
	 * override outranks ALTER DATABASE/ROLE ... SET search_path, which the
	 * database's owner may set: `oid = 16384` would otherwise run an
	 * operator evil.=(oid, integer) as the worker's role (reproduced).
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	if (GetDatabaseEncoding() != PG_UTF8)
	{
		ereport(LOG, (errmsg("jabclnd: database \"%s\" uses encoding %s; jabclnd needs UTF8",
		                     jabclnd_database, GetDatabaseEncodingName()),
		              errhint("XMPP is UTF-8 throughout. Point jabclnd.database at a UTF8 "
		                      "database.")));
		shared_state_set(WS_DATABASE_ERROR, "", "jabclnd.database is not a UTF8 database");
		wait_for_other_database();
	}

	/*
	 * From here on, a PostgreSQL error outside pg/store.cpp's units becomes
	 * FATAL instead of a longjmp back to StartBackgroundWorker through the
	 * C++ frames below (see the header comment).
	 */
	PG_exception_stack = nullptr;

	try
	{
		Worker worker;
		worker.run();
	}
	catch (const std::exception &e)
	{
		snprintf(failure, sizeof failure, "%s", e.what());
	}
	catch (...)
	{
		snprintf(failure, sizeof failure, "unknown C++ exception");
	}
	ereport(FATAL, (errmsg("jabclnd worker stopped by an internal error: %s", failure)));
}
