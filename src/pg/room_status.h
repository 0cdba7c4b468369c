/*
 * room_status.h: the status lines of the group chat rooms, in shared
 * memory, for jabclnd_rooms().
 *
 * The worker publishes the whole list whenever a line changes (rooms are
 * few and change rarely); jabclnd_worker_rooms() copies it out under the
 * same lock, so it never waits on the worker. At most MAX_ROOM_LINES lines
 * are kept: the rooms beyond them are served all the same, and the last
 * line says how many are not shown.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

const int MAX_ROOM_LINES = 64;

/* One room as the worker sees it; texts are cut to fit, never mid-character. */
struct RoomStatusLine
{
	const char *room_jid;
	const char *state; /* joining, joined, error, disabled */
	const char *nick;  /* the nick in use or tried, "" if none */
	int64_t since;     /* TimestampTz of the last change of state */
	const char *last_error;
	int64_t retry_at; /* TimestampTz of the next join attempt, 0 if none */
};

/* Size to request in shared memory, and its lock; called from the shmem_request hook. */
size_t room_status_size(void);
void room_status_request_lock(void);
/* Creates or attaches the list; called from the shmem_startup hook. */
void room_status_init(void);

/* Worker side: replaces the list (count 0: no rooms, e.g. when it stops). */
void room_status_publish(const RoomStatusLine *lines, int count);
