/*
 * worker.h: the jabclnd background worker.
 */
#pragma once

/* Registers the static worker; called once from _PG_init. */
void register_worker(void);
