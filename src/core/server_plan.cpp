/*
 * server_plan.cpp: the order of the servers to try (see server_plan.h).
 */
#include "core/boundary.h"
#include "core/server_plan.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cmath>

namespace server_plan
{

namespace
{

bool
is_ipv6_literal(const std::string &host)
{
	unsigned char buffer[sizeof(struct in6_addr)];
	return inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

bool
is_ip_literal(const std::string &host)
{
	unsigned char buffer[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host.c_str(), buffer) == 1 || is_ipv6_literal(host);
}

/* A decimal port 1-65535, or -1. */
int
parse_port(const std::string &text)
{
	if (text.empty() || text.size() > 5 ||
	    !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
		return -1;
	const int port = std::stoi(text);
	return port >= 1 && port <= 65535 ? port : -1;
}

/*
 * Splits "host", "host:port", "[v6]:port" or a bare IPv6 literal. Returns
 * "" or why the text is not one; *port is left alone when the text has none.
 */
std::string
split_host_port(const std::string &text, std::string *host, int *port)
{
	if (!text.empty() && text[0] == '[')
	{
		const size_t close = text.find(']');
		if (close == std::string::npos)
			return "a [ without its ]";
		*host = text.substr(1, close - 1);
		if (!is_ipv6_literal(*host))
			return "[" + *host + "] is not an IPv6 address";
		if (close + 1 == text.size())
			return "";
		if (text[close + 1] != ':' || (*port = parse_port(text.substr(close + 2))) < 0)
			return "the port after ] is not a number from 1 to 65535";
		return "";
	}
	const size_t colon = text.find(':');
	if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos)
	{
		/* No colon, or several: a host name, or an IPv6 literal without a port. */
		if (colon != std::string::npos && !is_ipv6_literal(text))
			return "it has several colons but is not an IPv6 address (write [address]:port)";
		*host = text;
		return "";
	}
	*host = text.substr(0, colon);
	if ((*port = parse_port(text.substr(colon + 1))) < 0)
		return "the port after : is not a number from 1 to 65535";
	return "";
}

/* DNS's root as an SRV target: "." on the wire, "" from some parsers. */
bool
is_root(const std::string &target)
{
	return target.empty() || target == ".";
}

/* A service whose one record points at the root: RFC 2782's "decidedly not available". */
bool
says_no_service(const SrvAnswer &answer)
{
	return answer.error.empty() && answer.records.size() == 1 && is_root(answer.records[0].target);
}

/* The fallback's service under `policy`: direct TLS only for direct_only. */
bool
fallback_is_direct(TlsPolicy policy)
{
	return policy == TlsPolicy::direct_only;
}

std::string
without_trailing_dot(const std::string &name)
{
	if (name.size() > 1 && name.back() == '.')
		return name.substr(0, name.size() - 1);
	return name;
}

} // namespace

std::string
Target::text() const
{
	const std::string shown = is_ipv6_literal(host) ? "[" + host + "]" : host;
	return shown + ":" + std::to_string(port);
}

std::vector<SrvAnswer>
srv_questions(const std::string &domain, TlsPolicy policy)
{
	std::vector<SrvAnswer> questions;
	if (policy != TlsPolicy::plain_only)
	{
		SrvAnswer direct;
		direct.name = DIRECT_TLS_SERVICE + domain;
		direct.direct_tls = true;
		questions.push_back(direct);
	}
	if (policy != TlsPolicy::direct_only)
	{
		SrvAnswer starttls;
		starttls.name = STARTTLS_SERVICE + domain;
		questions.push_back(starttls);
	}
	return questions;
}

std::vector<SrvRecord>
order_records(std::vector<SrvRecord> records, const Random &random)
{
	std::stable_sort(records.begin(), records.end(),
	                 [](const SrvRecord &a, const SrvRecord &b)
	                 { return a.priority < b.priority; });
	std::vector<SrvRecord> ordered;
	ordered.reserve(records.size());
	size_t group_start = 0;
	while (group_start < records.size())
	{
		size_t group_end = group_start;
		while (group_end < records.size() &&
		       records[group_end].priority == records[group_start].priority)
			group_end++;
		std::vector<SrvRecord> group(records.begin() + group_start, records.begin() + group_end);
		/* RFC 2782: those of weight 0 first, so that the running sums give them a chance. */
		std::stable_partition(group.begin(), group.end(),
		                      [](const SrvRecord &r) { return r.weight == 0; });
		while (!group.empty())
		{
			long total = 0;
			for (const SrvRecord &r : group)
				total += r.weight;
			/* A whole number from 0 to total, inclusive. */
			long pick = static_cast<long>(std::floor(random() * static_cast<double>(total + 1)));
			pick = std::min(std::max(pick, 0L), total);
			long running = 0;
			size_t chosen = group.size() - 1;
			for (size_t i = 0; i < group.size(); i++)
			{
				running += group[i].weight;
				if (running >= pick)
				{
					chosen = i;
					break;
				}
			}
			ordered.push_back(group[chosen]);
			group.erase(group.begin() + static_cast<long>(chosen));
		}
		group_start = group_end;
	}
	return ordered;
}

Plan
plan_from_srv(const std::string &domain, const std::vector<SrvAnswer> &answers, int fallback_port,
              TlsPolicy policy, const Random &random)
{
	Plan plan;
	std::vector<SrvRecord> usable;
	bool fallback_refused = false;
	std::string refusing_name;
	std::vector<std::string> found;
	for (const SrvAnswer &answer : answers)
	{
		if (says_no_service(answer))
		{
			if (answer.direct_tls == fallback_is_direct(policy))
			{
				fallback_refused = true;
				refusing_name = answer.name;
			}
			continue;
		}
		size_t count = 0;
		for (const SrvRecord &record : answer.records)
		{
			/* A root target among others, or port 0, leads nowhere: skip it. */
			if (is_root(record.target) || record.port <= 0)
				continue;
			SrvRecord copy = record;
			copy.target = without_trailing_dot(record.target);
			copy.direct_tls = answer.direct_tls;
			usable.push_back(copy);
			count++;
		}
		if (count > 0)
			found.push_back(answer.name);
	}
	if (!usable.empty())
	{
		for (const SrvRecord &record : order_records(usable, random))
		{
			Target target{record.target, record.port, record.direct_tls};
			/* The same target twice (in both services, say) is tried once. */
			if (std::find(plan.targets.begin(), plan.targets.end(), target) == plan.targets.end())
				plan.targets.push_back(target);
		}
		plan.origin = "SRV records of ";
		for (size_t i = 0; i < found.size(); i++)
			plan.origin += (i > 0 ? " and " : "") + found[i];
		return plan;
	}
	if (fallback_refused)
	{
		plan.refusal = domain + " offers no XMPP service: its SRV record " + refusing_name +
		               " has the target \".\" (RFC 6120 §3.2.1); set srv_host to connect "
		               "elsewhere";
		return plan;
	}
	plan.targets.push_back(Target{domain, fallback_port, fallback_is_direct(policy)});
	plan.origin = "no SRV records for " + domain + ": the domain itself";
	return plan;
}

Plan
plan_from_host(const std::string &srv_host, int port, TlsPolicy policy)
{
	Plan plan;
	Target target;
	target.port = port;
	target.direct_tls = fallback_is_direct(policy);
	const std::string problem = split_host_port(srv_host, &target.host, &target.port);
	if (!problem.empty() || target.host.empty())
	{
		plan.refusal = "srv_host '" + srv_host + "' is not a host, host:port or [address]:port" +
		               (problem.empty() ? std::string() : ": " + problem);
		return plan;
	}
	plan.targets.push_back(target);
	plan.origin = "srv_host";
	return plan;
}

std::string
parse_dns_server(const std::string &text, std::string *address, int *port)
{
	*port = 53;
	const std::string problem = split_host_port(text, address, port);
	if (!problem.empty())
		return problem;
	if (!is_ip_literal(*address))
		return "'" + *address + "' is not an IPv4 or IPv6 address";
	return "";
}

} // namespace server_plan
