# jabclnd: a PostgreSQL extension that makes the database an XMPP client.
# Built with PGXS: `make`, `make install`, `make installcheck` (against a
# running server that preloads jabclnd; test/run sets one up).
#
# The sources live in four folders, one per world (README, "Source layout"):
#   src/pg/      talks to PostgreSQL only
#   src/xmpp/    talks to libstrophe only
#   src/core/    pure C++17: neither
#   src/worker/  joins them
# The build keeps them apart: objects of src/xmpp and src/core are compiled
# with JABCLND_NO_POSTGRES, src/core also with JABCLND_NO_LIBSTROPHE, and
# the guard headers (src/core/boundary.h, src/pg/pg.h) stop the build
# when a header of the wrong world is included.

MODULE_big = jabclnd
EXTENSION = jabclnd
DATA = sql/jabclnd--1.0.sql sql/jabclnd--1.0--1.1.sql sql/jabclnd--1.1--1.2.sql
PGFILEDESC = "jabclnd - XMPP client inside PostgreSQL"

SRC_DIRS = src/pg src/xmpp src/core src/worker
OBJS = $(patsubst %.cpp,%.o,$(sort $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.cpp))))

# pg_regress: each test/regress/sql/NAME.sql is compared with
# test/regress/expected/NAME.out.
REGRESS = $(sort $(patsubst test/regress/sql/%.sql,%,$(wildcard test/regress/sql/*.sql)))
REGRESS_OPTS = --inputdir=test/regress

PG_CONFIG ?= pg_config

STROPHE_CFLAGS := $(shell pkg-config --cflags libstrophe)
STROPHE_LIBS := $(shell pkg-config --libs libstrophe)

# PostgreSQL's headers are included as system headers so that their
# warnings (the C++17 `register` keyword among them) are not ours; our own
# code is held to -Wall -Wextra. CI adds WERROR=1. Includes name their
# world: #include "core/stanza.h", "pg/store.h".
PG_CPPFLAGS = -Isrc -isystem $(shell $(PG_CONFIG) --includedir-server) $(STROPHE_CFLAGS) \
	$(CARES_CFLAGS)
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-register $(if $(WERROR),-Werror)
# Header dependencies: PGXS tracks them only in a server built with
# --enable-depend, and an object built against an old class layout from
# session.h crashes the worker. -MMD writes a .d beside each object.
PG_CXXFLAGS += -MMD -MP
# c-ares (Debian: libc-ares-dev) looks up the XMPP server without blocking (src/xmpp/resolver.cpp).
CARES_CFLAGS := $(shell pkg-config --cflags libcares)
CARES_LIBS := $(or $(shell pkg-config --libs libcares),-lcares)
SHLIB_LINK = $(STROPHE_LIBS) $(CARES_LIBS) -lstdc++
# Only PostgreSQL's entry points are exported (see the map's comment).
SHLIB_LINK += -Wl,--version-script=$(srcdir)/src/pg/exports.map

# The worlds, as the compiler sees them (see the top of this file).
src/xmpp/%.o: override CPPFLAGS += -DJABCLND_NO_POSTGRES -include core/boundary.h
src/core/%.o: override CPPFLAGS += -DJABCLND_NO_POSTGRES -DJABCLND_NO_LIBSTROPHE \
	-include core/boundary.h

# The server is built with LLVM JIT, so PGXS would also compile every .cpp
# to bitcode with clang for inlining into JIT-compiled queries. Our code is
# a background worker and a few trigger functions that no query plan
# inlines, so the bitcode would only add a clang dependency and a second
# C++ compile with other flags: switch it off. `override` because
# Makefile.global, included below, sets with_llvm = yes.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

-include $(OBJS:.o=.d)
EXTRA_CLEAN = $(OBJS:.o=.d)

# A change of the export list relinks the library.
$(shlib): src/pg/exports.map
