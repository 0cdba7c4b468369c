/*
 * server_plan.h: which servers to try for an account, in which order, the
 * way XMPP clients do it (RFC 6120 §3.2, XEP-0368), in pure C++.
 *
 * Vocabulary:
 *   SRV record  one answer to _xmpp-client._tcp.DOMAIN (STARTTLS) or
 *               _xmpps-client._tcp.DOMAIN (TLS from the first byte)
 *   target      a host name (or address) and port to connect to, and how
 *               TLS starts there; its addresses are looked up later
 *   plan        the targets of one login, in order, or why there are none
 *
 * The lookups themselves are xmpp/resolver.h's; the walk through a plan's
 * targets and addresses is core/dialer.h's. Randomness (RFC 2782's
 * weighted choice) comes from the caller, which keeps this testable.
 */
#pragma once

#include "core/boundary.h"

#include <functional>
#include <string>
#include <vector>

namespace server_plan
{

/* The two services of RFC 6120 §3.2 and XEP-0368. */
const char *const STARTTLS_SERVICE = "_xmpp-client._tcp.";
const char *const DIRECT_TLS_SERVICE = "_xmpps-client._tcp.";

struct SrvRecord
{
	std::string target; /* "" or "." is DNS's root: no service (RFC 2782) */
	int port = 0;
	int priority = 0;
	int weight = 0;
	bool direct_tls = false; /* from _xmpps-client */
};

/* What one SRV lookup found. */
struct SrvAnswer
{
	std::string name;        /* the name asked, e.g. _xmpp-client._tcp.example.org */
	bool direct_tls = false; /* which service it was */
	std::string error;       /* "" when the lookup itself worked (with or without records) */
	std::vector<SrvRecord> records;
};

struct Target
{
	std::string host;
	int port = 0;
	bool direct_tls = false;

	/* host:port, with an IPv6 literal in brackets. */
	std::string text() const;
	bool operator==(const Target &other) const
	{
		return host == other.host && port == other.port && direct_tls == other.direct_tls;
	}
};

struct Plan
{
	std::vector<Target> targets;
	/* When targets is empty: why (the domain says it offers no XMPP service). */
	std::string refusal;
	/* How the targets were found, for the log. */
	std::string origin;
};

/* A number in [0, 1), for RFC 2782's weighted choice. */
using Random = std::function<double()>;

/* Which SRV services to look up, for jabclnd.tls: direct only, STARTTLS only, or both. */
enum class TlsPolicy
{
	starttls_or_direct, /* jabclnd.tls = required: both services, in one order */
	direct_only,        /* jabclnd.tls = direct */
	plain_only          /* jabclnd.tls = disabled: _xmpp-client only */
};

/* The SRV names to look up for `domain` under `policy` (one or two), with their service. */
std::vector<SrvAnswer> srv_questions(const std::string &domain, TlsPolicy policy);

/*
 * RFC 2782's order: ascending priority; within one priority, a weighted
 * random choice, repeated (records of weight 0 have a small chance, placed
 * first as the RFC says).
 */
std::vector<SrvRecord> order_records(std::vector<SrvRecord> records, const Random &random);

/*
 * The plan for an account without srv_host, from the answers to
 * srv_questions(): every usable record of every service, in one RFC 2782
 * order (XEP-0368 merges the two services). A service whose only record
 * has the target "." does not exist at the domain: if the service the
 * fallback would use (STARTTLS, or direct TLS for direct_only) says so
 * and no record is usable, the plan is a refusal (RFC 6120 §3.2.1: no
 * fallback). With no usable record otherwise, the domain itself at
 * `fallback_port` (the account's port, 5222 by default).
 */
Plan plan_from_srv(const std::string &domain, const std::vector<SrvAnswer> &answers,
                   int fallback_port, TlsPolicy policy, const Random &random);

/*
 * The plan for a configured srv_host: no SRV lookup. srv_host may carry a
 * port of its own (host:port, [v6]:port), which wins over `port`; a bare
 * IPv6 literal has none. Returns a refusal for a malformed srv_host.
 */
Plan plan_from_host(const std::string &srv_host, int port, TlsPolicy policy);

/*
 * jabclnd.dns_server: an IPv4 or IPv6 address with an optional port
 * (1.2.3.4, 1.2.3.4:53, ::1, [::1]:5353). Returns "" and fills address
 * and port (53 if none), or why the text is not one.
 */
std::string parse_dns_server(const std::string &text, std::string *address, int *port);

} // namespace server_plan
