/*
 * room_status.cpp: the rooms' status lines in shared memory, and
 * jabclnd_worker_rooms(), the SQL view of them (behind jabclnd_rooms()).
 *
 * An LWLock, not a spinlock: a copy of the list is some hundred kilobytes
 * at most, too long to spin on.
 */
#include "pg/pg.h"
#include "pg/room_status.h"
#include "pg/shared_state.h"

#include <string.h>

extern "C"
{
	PG_FUNCTION_INFO_V1(jabclnd_worker_rooms);
}

struct SharedRoomLine
{
	char room_jid[1024];
	char state[16];
	char nick[256];
	TimestampTz since;
	char last_error[512];
	TimestampTz retry_at;
};

struct SharedRooms
{
	LWLock *lock;
	int count;     /* lines in use */
	int not_shown; /* rooms beyond MAX_ROOM_LINES */
	SharedRoomLine lines[MAX_ROOM_LINES];
};

static SharedRooms *shared_rooms = nullptr;

static const char *const LOCK_TRANCHE = "jabclnd rooms";

size_t
room_status_size(void)
{
	return MAXALIGN(sizeof(SharedRooms));
}

void
room_status_request_lock(void)
{
	RequestNamedLWLockTranche(LOCK_TRANCHE, 1);
}

void
room_status_init(void)
{
	bool found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared_rooms =
	    static_cast<SharedRooms *>(ShmemInitStruct("jabclnd rooms", room_status_size(), &found));
	if (!found)
	{
		memset(shared_rooms, 0, sizeof(SharedRooms));
		shared_rooms->lock = &(GetNamedLWLockTranche(LOCK_TRANCHE))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
room_status_publish(const RoomStatusLine *lines, int count)
{
	const int shown = count < MAX_ROOM_LINES ? count : MAX_ROOM_LINES;

	LWLockAcquire(shared_rooms->lock, LW_EXCLUSIVE);
	for (int i = 0; i < shown; i++)
	{
		SharedRoomLine *line = &shared_rooms->lines[i];
		copy_status_text(line->room_jid, sizeof line->room_jid, lines[i].room_jid);
		copy_status_text(line->state, sizeof line->state, lines[i].state);
		copy_status_text(line->nick, sizeof line->nick, lines[i].nick);
		line->since = lines[i].since;
		copy_status_text(line->last_error, sizeof line->last_error, lines[i].last_error);
		line->retry_at = lines[i].retry_at;
	}
	shared_rooms->count = shown;
	shared_rooms->not_shown = count - shown;
	LWLockRelease(shared_rooms->lock);
}

enum RoomColumn
{
	COL_ROOM_JID,
	COL_STATE,
	COL_NICK,
	COL_SINCE,
	COL_LAST_ERROR,
	COL_RETRY_AT,
	ROOM_COLUMNS
};

/* Appends one line to the result; texts "" and times 0 are NULL. */
static void
put_line(Tuplestorestate *store, TupleDesc tupdesc, const SharedRoomLine *line)
{
	Datum values[ROOM_COLUMNS];
	bool nulls[ROOM_COLUMNS] = {};

	values[COL_ROOM_JID] = CStringGetTextDatum(line->room_jid);
	values[COL_STATE] = CStringGetTextDatum(line->state);
	values[COL_NICK] = CStringGetTextDatum(line->nick);
	nulls[COL_NICK] = line->nick[0] == '\0';
	values[COL_SINCE] = TimestampTzGetDatum(line->since);
	nulls[COL_SINCE] = line->since == 0;
	values[COL_LAST_ERROR] = CStringGetTextDatum(line->last_error);
	nulls[COL_LAST_ERROR] = line->last_error[0] == '\0';
	values[COL_RETRY_AT] = TimestampTzGetDatum(line->retry_at);
	nulls[COL_RETRY_AT] = line->retry_at == 0;
	tuplestore_putvalues(store, tupdesc, values, nulls);
}

extern "C" Datum
jabclnd_worker_rooms(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	SharedRoomLine *lines;
	int count;
	int not_shown;

	InitMaterializedSRF(fcinfo, 0);

	/* Copied out first: nothing below may raise an error while the lock is held. */
	lines = static_cast<SharedRoomLine *>(palloc(sizeof(SharedRoomLine) * MAX_ROOM_LINES));
	LWLockAcquire(shared_rooms->lock, LW_SHARED);
	count = shared_rooms->count;
	not_shown = shared_rooms->not_shown;
	memcpy(lines, shared_rooms->lines, sizeof(SharedRoomLine) * count);
	LWLockRelease(shared_rooms->lock);

	for (int i = 0; i < count; i++)
		put_line(rsinfo->setResult, rsinfo->setDesc, &lines[i]);
	if (not_shown > 0)
	{
		SharedRoomLine more = {};
		snprintf(more.room_jid, sizeof more.room_jid, "(%d more rooms)", not_shown);
		snprintf(more.state, sizeof more.state, "not shown");
		put_line(rsinfo->setResult, rsinfo->setDesc, &more);
	}
	return (Datum)0;
}
