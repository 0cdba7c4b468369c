/*
 * schema_version.h: the extension's version against the library's, in
 * pure C++. The worker serves exactly one version of the extension's
 * schema (pg/store.h, store_schema_version()); when the database holds
 * another, these say which side is behind and what the operator does
 * about it, in words for the server log and jabclnd_status().last_error.
 *
 * Versions are dot-separated numbers, compared number by number: 1.10 is
 * newer than 1.9, and 1.1 than 1.0.
 */
#pragma once

#include "core/boundary.h"

#include <string>

namespace schema_version
{

enum class Order
{
	older,     /* a is older than b */
	same,      /* equal, number by number ("1.01" is "1.1") */
	newer,     /* a is newer than b */
	unordered, /* either is not dot-separated numbers: nobody can tell */
};

/* How `a` compares with `b`. */
Order compare(const std::string &a, const std::string &b);

/*
 * What to do when the extension in `database` is at `installed` and the
 * library serves `served` (not the same): one line. An older schema
 * needs ALTER EXTENSION jabclnd UPDATE; a newer one the library of its
 * release and a restart; for versions that do not compare, both are named.
 */
std::string mismatch_advice(const std::string &installed, const std::string &served,
                            const std::string &database);

} // namespace schema_version
