/*
 * boundary.h: the first include of every file in src/core and src/xmpp,
 * headers and sources alike. It keeps the two error regimes apart
 * (PostgreSQL's longjmp, C++'s exceptions and libstrophe's callbacks; see
 * README, "Source layout"), by the compiler rather than by reviewers:
 *
 *   - a PostgreSQL header included before it is an error everywhere, so a
 *     file in src/worker must include core/ and xmpp/ headers (and the
 *     standard library) before pg/pg.h, whose macros (snprintf and
 *     friends) would otherwise reach into them;
 *   - in a translation unit of src/core or src/xmpp (the Makefile defines
 *     JABCLND_NO_POSTGRES there) a PostgreSQL header is an error wherever
 *     it is included: postgres.h's include guard is poisoned, and pg/pg.h
 *     refuses such a unit itself;
 *   - in src/core (JABCLND_NO_LIBSTROPHE) the same holds for strophe.h.
 *
 * The Makefile also puts it in front of every unit of src/core and
 * src/xmpp (-include), so a file that forgets it is guarded all the same.
 */
#pragma once

#if defined(POSTGRES_H) || defined(C_H) || defined(POSTGRES_FE_H)
#error                                                                                             \
    "jabclnd: a PostgreSQL header was included before a core/ or xmpp/ header; include pg/pg.h last (core/ and xmpp/ never include it at all)"
#endif

#ifdef JABCLND_NO_POSTGRES
/*
 * From here on, any #include of postgres.h, postgres_fe.h or c.h (which
 * every other PostgreSQL header needs) stops the build: each tests its
 * include guard, and the guards are poisoned.
 */
#pragma GCC poison POSTGRES_H POSTGRES_FE_H C_H
#endif

#ifdef JABCLND_NO_LIBSTROPHE
#ifdef __LIBSTROPHE_STROPHE_H__
#error "jabclnd: strophe.h in src/core: pure C++ files talk to neither PostgreSQL nor libstrophe"
#endif
#pragma GCC poison __LIBSTROPHE_STROPHE_H__
#endif
