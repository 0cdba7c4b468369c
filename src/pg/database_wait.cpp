/*
 * database_wait.cpp: waiting for jabclnd.database to exist.
 *
 * A background worker cannot catch the FATAL that
 * BackgroundWorkerInitializeConnection raises when the database (or the
 * role) does not exist: the process exits, and the postmaster starts it
 * again every bgw_restart_time, each time with a FATAL in the log. That is
 * the normal case between setting jabclnd.database and CREATE DATABASE.
 *
 * So the worker notes in shared memory that it is connecting, and clears
 * the note once connected. A worker that finds the note still set knows
 * its predecessor died connecting; it connects to no database instead
 * (shared catalogs only, like the autovacuum launcher), looks up the
 * database and role every few seconds, and exits to be started again once
 * both are there. One FATAL, then one line saying what it waits for.
 *
 * Plain C data only here: an error in this file longjmps back to
 * StartBackgroundWorker, which ends the process.
 */
#include "pg/pg.h"
#include "pg/database_wait.h"
#include "pg/settings.h"
#include "pg/shared_state.h"
#include "pg/reload_wait.h"

/* How often the catalogs are looked at while waiting. */
static const long DATABASE_POLL_MS = 5000;

bool
previous_connect_failed(void)
{
	return shared_state_begin_connect();
}

void
connect_succeeded(void)
{
	shared_state_end_connect();
}

/*
 * What keeps the worker from connecting, as a sentence, or an empty
 * string. Runs a short transaction on the shared catalogs.
 */
static void
describe_obstacle(char *out, size_t size)
{
	out[0] = '\0';
	StartTransactionCommand();
	const Oid database = get_database_oid(jabclnd_database, true);
	Oid role = InvalidOid;
	if (jabclnd_role[0])
	{
		role = get_role_oid(jabclnd_role, true);
		HeapTuple tuple =
		    OidIsValid(role) ? SearchSysCache1(AUTHOID, ObjectIdGetDatum(role)) : nullptr;
		if (!HeapTupleIsValid(tuple))
			snprintf(out, size, "role \"%s\" (jabclnd.role) does not exist", jabclnd_role);
		else
		{
			if (!((Form_pg_authid)GETSTRUCT(tuple))->rolcanlogin)
				snprintf(out, size, "role \"%s\" (jabclnd.role) may not log in (NOLOGIN)",
				         jabclnd_role);
			ReleaseSysCache(tuple);
		}
	}
	if (out[0] == '\0' && !OidIsValid(database))
		snprintf(out, size, "database \"%s\" (jabclnd.database) does not exist", jabclnd_database);
	else if (out[0] == '\0')
	{
		HeapTuple tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(database));
		if (HeapTupleIsValid(tuple))
		{
			const Form_pg_database form = (Form_pg_database)GETSTRUCT(tuple);
			/* -2: left invalid by an interrupted DROP DATABASE (15.4 and later). */
			if (form->datconnlimit == -2)
				snprintf(out, size,
				         "database \"%s\" (jabclnd.database) is invalid (an interrupted DROP "
				         "DATABASE); drop it",
				         jabclnd_database);
			else if (!form->datallowconn)
				snprintf(out, size, "database \"%s\" (jabclnd.database) does not allow connections",
				         jabclnd_database);
			ReleaseSysCache(tuple);
		}
		if (out[0] == '\0' && OidIsValid(role) && !superuser_arg(role) &&
		    pg_database_aclcheck(database, role, ACL_CONNECT) != ACLCHECK_OK)
			snprintf(out, size,
			         "role \"%s\" (jabclnd.role) has no CONNECT privilege on database "
			         "\"%s\"",
			         jabclnd_role, jabclnd_database);
	}
	CommitTransactionCommand();
}

void
wait_for_database(void)
{
	char obstacle[256 + NAMEDATALEN];
	char reported[sizeof obstacle] = "";

	BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
	pgstat_report_appname("jabclnd worker");
	for (;;)
	{
		describe_obstacle(obstacle, sizeof obstacle);
		if (obstacle[0] == '\0')
		{
			/* The next worker connects instead of waiting again. */
			shared_state_end_connect();
			ereport(LOG, (errmsg("jabclnd: nothing keeps the worker from database \"%s\" now; it "
			                     "restarts to connect",
			                     jabclnd_database)));
			proc_exit(1);
		}
		if (strcmp(obstacle, reported) != 0)
		{
			ereport(LOG, (errmsg("jabclnd: %s; waiting for it", obstacle),
			              errhint("Fix that (CREATE DATABASE, CREATE ROLE ... LOGIN, GRANT "
			                      "CONNECT), or point jabclnd.database and jabclnd.role elsewhere "
			                      "and reload.")));
			shared_state_set(WS_DATABASE_ERROR, "", obstacle);
			strlcpy(reported, obstacle, sizeof reported);
		}
		if (sleep_until_reload(DATABASE_POLL_MS) && !jabclnd_enabled)
			proc_exit(1);
	}
}
