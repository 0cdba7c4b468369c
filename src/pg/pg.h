/*
 * pg.h: the one place that includes PostgreSQL's headers.
 *
 * PostgreSQL is C: its headers go inside extern "C", postgres.h first.
 * Files in src/pg include this first; files in src/worker include it last,
 * after the standard library and every core/ and xmpp/ header, because
 * PostgreSQL's port.h turns snprintf, printf and friends into macros that
 * must not reach C++ headers. Files in src/xmpp and src/core never include
 * it, so the two error regimes (longjmp vs exceptions) cannot meet by
 * accident: the build defines JABCLND_NO_POSTGRES for them, and then this
 * header stops it (core/boundary.h guards the other way).
 */
#pragma once

#ifdef JABCLND_NO_POSTGRES
#error "jabclnd: pg/pg.h included in src/core or src/xmpp, which must not talk to PostgreSQL"
#endif
#ifdef __LIBSTROPHE_STROPHE_H__
#error "jabclnd: strophe.h and PostgreSQL's headers in one file: only src/xmpp talks to libstrophe"
#endif

extern "C"
{
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "mb/pg_wchar.h"
#include "utils/lsyscache.h"
#include "common/pg_prng.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqsignal.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/syncrep.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procsignal.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

/* And no libstrophe after PostgreSQL: any #include of strophe.h from here on stops the build. */
#pragma GCC poison __LIBSTROPHE_STROPHE_H__
