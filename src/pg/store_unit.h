/*
 * store_unit.h: the frame of every unit of the worker's SQL (store.cpp's
 * run_unit), for the files of the store beside store.cpp
 * (retention_store.cpp). Internal to src/pg.
 */
#pragma once

typedef void (*UnitBody)(void *arg);

/* Whether a unit's commit must reach the disk before the worker goes on. */
enum class Durability
{
	flushed, /* synchronous_commit as configured, and at least local */
	relaxed  /* synchronous_commit = off: losing this commit in a crash is harmless */
};

/*
 * Runs `body` in a transaction of its own, with SPI connected and a
 * snapshot; any error rolls back, is logged, and makes it return false
 * (store_last_error() says why).
 */
bool run_unit(const char *what, Durability durability, UnitBody body, void *arg);

/* Inside a unit: the extension whose tables the worker serves, InvalidOid if none. */
Oid store_served_extension(void);
