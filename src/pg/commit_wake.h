/*
 * commit_wake.h: waking the worker when a writing transaction commits.
 */
#pragma once

/* Registers the transaction callback; called once from _PG_init. */
void register_wake_at_commit(void);
