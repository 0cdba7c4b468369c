/*
 * database_wait.h: waiting, quietly, for jabclnd.database and jabclnd.role
 * to exist.
 */
#pragma once

/*
 * Called before the worker connects: true when the previous worker died
 * while connecting (the database or role missing, connections refused).
 */
bool previous_connect_failed(void);
/* Called once connected. */
void connect_succeeded(void);

/*
 * Connects to no database and polls the shared catalogs until the worker
 * can connect, then exits so that the postmaster starts it again, and it
 * connects. Logs what it waits for once, instead of the FATAL of a failed
 * connection every bgw_restart_time.
 */
[[noreturn]] void wait_for_database(void);
