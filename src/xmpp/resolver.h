/*
 * resolver.h: DNS lookups for a login (SRV records and the addresses of
 * each target) without blocking the worker and without threads.
 *
 * A background worker must not block in DNS: it would miss SIGTERM, DROP
 * DATABASE's barrier and its own deadlines. c-ares (Debian: libc-ares2)
 * sends the queries on non-blocking sockets of its own; the worker calls
 * poll() from its loop, which reads what arrived, handles c-ares's
 * timeouts and returns at once. Everything runs on the worker's main
 * thread, and c-ares's callbacks only copy plain data (no exception leaves
 * them). No PostgreSQL or libstrophe here.
 *
 * One Resolver serves one login: it reads /etc/resolv.conf (or asks the
 * DNS server it is given: jabclnd.dns_server) when it is opened, and
 * /etc/hosts before DNS for addresses, as c-ares does.
 */
#pragma once

#include "core/boundary.h"
#include "core/server_plan.h"

#include <memory>
#include <string>
#include <vector>

namespace resolver
{

class Resolver
{
  public:
	Resolver();
	~Resolver();
	Resolver(const Resolver &) = delete;
	Resolver &operator=(const Resolver &) = delete;

	/*
	 * Prepares the lookups: the system's DNS servers when server_address is
	 * "", else only that server (an IP address) on server_port. Returns ""
	 * or why not.
	 */
	std::string open(const std::string &server_address, int server_port);

	/* Starts the SRV lookups of `questions` (server_plan::srv_questions). */
	void look_up_srv(const std::vector<server_plan::SrvAnswer> &questions);
	/* Whether every SRV lookup has answered; then srv_answers() has them. */
	bool srv_done() const;
	/* The answers; one still pending has an error that says so. */
	std::vector<server_plan::SrvAnswer> srv_answers() const;

	/* Starts looking up every address (IPv6 and IPv4) of `host`; forgets the previous one. */
	void look_up_addresses(const std::string &host);
	bool addresses_done() const;
	/* The addresses found, in the order to try them (RFC 6724's, as c-ares sorts them). */
	const std::vector<std::string> &addresses() const;
	/* Why the address lookup failed ("" if it found addresses). */
	const std::string &address_error() const;

	/* Reads answers and handles c-ares's own timeouts; never blocks. */
	void poll();

	/* Plain data the callbacks fill in (resolver.cpp). */
	struct SrvSlot;
	struct AddressSlot;

  private:
	struct Channel;
	std::unique_ptr<Channel> channel_;
	std::vector<std::unique_ptr<SrvSlot>> srv_;
	/* Every address lookup started, the last one current: see resolver.cpp. */
	std::vector<std::unique_ptr<AddressSlot>> addresses_;
};

} // namespace resolver
