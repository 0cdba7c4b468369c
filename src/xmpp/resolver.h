/*
 * resolver.h: looking up the XMPP server's address without blocking.
 *
 * getaddrinfo() blocks for as long as DNS takes, and a background worker
 * must not: it would miss SIGTERM, DROP DATABASE's barrier and its own
 * deadlines. glibc's getaddrinfo_a() does the lookup in a helper thread
 * (which blocks every signal, so PostgreSQL's handlers never run there);
 * the worker polls it from its loop. No PostgreSQL or libstrophe here.
 */
#pragma once

#include "core/boundary.h"

#include <memory>
#include <string>

namespace resolver
{

enum class Status
{
	pending,
	done,
	failed
};

/* One lookup of a host name; an IP literal is "done" at once. */
class Lookup
{
  public:
	explicit Lookup(const std::string &host);
	~Lookup();
	Lookup(const Lookup &) = delete;
	Lookup &operator=(const Lookup &) = delete;

	Status poll();
	/* The first address found, as a literal libstrophe can connect to without DNS. */
	const std::string &address() const { return address_; }
	/* Why the lookup failed. */
	const std::string &error() const { return error_; }

  private:
	struct Request;
	std::unique_ptr<Request> request_;
	std::string host_;
	std::string address_;
	std::string error_;
	Status status_ = Status::pending;
};

} // namespace resolver
