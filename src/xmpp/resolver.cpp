/*
 * resolver.cpp: SRV and address lookups with c-ares (see resolver.h).
 *
 * c-ares calls a lookup's callback once: with the answer, with an error,
 * or with ARES_EDESTRUCTION when the channel is destroyed first. The
 * callbacks write into slots that the Resolver owns and frees only after
 * the channel is gone, so a callback never meets freed memory, even for a
 * lookup the worker stopped waiting for (its answer lands in a slot nobody
 * reads).
 */
#include "core/boundary.h"
#include "xmpp/resolver.h"

#include <algorithm>
#include <arpa/inet.h>
#include <ares.h>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>

namespace resolver
{

namespace
{

/*
 * c-ares's own bounds on one query (the worker's jabclnd.connect_timeout
 * bounds the wait in any case): 1.5 s for the first try, doubled at each
 * of the next two, so an unanswered query ends within about 11 s.
 */
const int QUERY_TIMEOUT_MS = 1500;
const int QUERY_TRIES = 3;
/* DNS's class and type numbers (RFC 1035, RFC 2782). */
const int CLASS_IN = 1;
const int TYPE_SRV = 33;

std::string
numeric_address(const struct sockaddr *address)
{
	char text[INET6_ADDRSTRLEN] = "";
	if (address->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 *>(address)->sin6_addr, text,
		          sizeof text);
	else if (address->sa_family == AF_INET)
		inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in *>(address)->sin_addr, text,
		          sizeof text);
	return text;
}

/* No answer is not an error: the name simply has no such records. */
bool
means_no_records(int status)
{
	return status == ARES_ENODATA || status == ARES_ENOTFOUND;
}

} // namespace

struct Resolver::Channel
{
	ares_channel channel = nullptr;
	~Channel()
	{
		if (channel)
			ares_destroy(channel); /* calls every pending callback, with ARES_EDESTRUCTION */
	}
};

struct Resolver::SrvSlot
{
	server_plan::SrvAnswer answer;
	bool done = false;
};

struct Resolver::AddressSlot
{
	std::string host;
	std::vector<std::string> addresses;
	std::string error;
	bool done = false;
};

namespace
{

/* c-ares's callback for one SRV query: copies the records into the slot. */
void
srv_answered(void *arg, int status, int, unsigned char *answer, int length) noexcept
{
	auto *slot = static_cast<Resolver::SrvSlot *>(arg);
	try
	{
		slot->done = true;
		if (status == ARES_SUCCESS)
		{
			struct ares_srv_reply *replies = nullptr;
			status = ares_parse_srv_reply(answer, length, &replies);
			for (struct ares_srv_reply *r = replies; status == ARES_SUCCESS && r; r = r->next)
			{
				server_plan::SrvRecord record;
				record.target = r->host ? r->host : "";
				record.port = r->port;
				record.priority = r->priority;
				record.weight = r->weight;
				slot->answer.records.push_back(record);
			}
			if (replies)
				ares_free_data(replies);
		}
		if (status != ARES_SUCCESS && !means_no_records(status))
			slot->answer.error = std::string("could not look up ") + slot->answer.name + ": " +
			                     ares_strerror(status);
	}
	catch (...)
	{
		slot->answer.records.clear();
		slot->answer.error = "could not look up " + slot->answer.name + ": out of memory";
	}
}

/* c-ares's callback for one address lookup: every address once, in c-ares's order. */
void
addresses_answered(void *arg, int status, int, struct ares_addrinfo *result) noexcept
{
	auto *slot = static_cast<Resolver::AddressSlot *>(arg);
	try
	{
		slot->done = true;
		for (struct ares_addrinfo_node *node = result ? result->nodes : nullptr;
		     status == ARES_SUCCESS && node; node = node->ai_next)
		{
			const std::string address = numeric_address(node->ai_addr);
			if (!address.empty() && std::find(slot->addresses.begin(), slot->addresses.end(),
			                                  address) == slot->addresses.end())
				slot->addresses.push_back(address);
		}
		if (slot->addresses.empty())
			slot->error = "could not look up the address of " + slot->host + ": " +
			              (status == ARES_SUCCESS ? "no address" : ares_strerror(status));
	}
	catch (...)
	{
		slot->addresses.clear();
		slot->error = "could not look up the address of " + slot->host + ": out of memory";
	}
	if (result)
		ares_freeaddrinfo(result);
}

} // namespace

Resolver::Resolver() = default;

Resolver::~Resolver()
{
	/* The channel first: destroying it calls back into the slots. */
	channel_.reset();
}

std::string
Resolver::open(const std::string &server_address, int server_port)
{
	static bool library_ready = false;
	if (!library_ready)
	{
		const int rc = ares_library_init(ARES_LIB_INIT_ALL);
		if (rc != ARES_SUCCESS)
			return std::string("could not start c-ares: ") + ares_strerror(rc);
		library_ready = true;
	}
	struct ares_options options;
	std::memset(&options, 0, sizeof options);
	options.timeout = QUERY_TIMEOUT_MS;
	options.tries = QUERY_TRIES;
	std::unique_ptr<Channel> channel(new Channel());
	int rc = ares_init_options(&channel->channel, &options, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS)
	{
		channel->channel = nullptr;
		return std::string("could not prepare DNS lookups: ") + ares_strerror(rc);
	}
	if (!server_address.empty())
	{
		struct ares_addr_port_node server;
		std::memset(&server, 0, sizeof server);
		if (inet_pton(AF_INET, server_address.c_str(), &server.addr.addr4) == 1)
			server.family = AF_INET;
		else if (inet_pton(AF_INET6, server_address.c_str(), &server.addr.addr6) == 1)
			server.family = AF_INET6;
		else
			return "jabclnd.dns_server: '" + server_address + "' is not an IP address";
		server.udp_port = server_port;
		server.tcp_port = server_port;
		rc = ares_set_servers_ports(channel->channel, &server);
		if (rc != ARES_SUCCESS)
			return std::string("could not use jabclnd.dns_server: ") + ares_strerror(rc);
	}
	channel_ = std::move(channel);
	return "";
}

void
Resolver::look_up_srv(const std::vector<server_plan::SrvAnswer> &questions)
{
	for (const server_plan::SrvAnswer &question : questions)
	{
		srv_.emplace_back(new SrvSlot());
		SrvSlot *slot = srv_.back().get();
		slot->answer = question;
		slot->answer.records.clear();
		if (!channel_)
		{
			slot->done = true;
			slot->answer.error = "could not look up " + question.name + ": no DNS channel";
			continue;
		}
		ares_query(channel_->channel, question.name.c_str(), CLASS_IN, TYPE_SRV, srv_answered,
		           slot);
	}
}

bool
Resolver::srv_done() const
{
	return std::all_of(srv_.begin(), srv_.end(),
	                   [](const std::unique_ptr<SrvSlot> &slot) { return slot->done; });
}

std::vector<server_plan::SrvAnswer>
Resolver::srv_answers() const
{
	std::vector<server_plan::SrvAnswer> answers;
	for (const std::unique_ptr<SrvSlot> &slot : srv_)
	{
		answers.push_back(slot->answer);
		/* Asked for before every lookup answered: the caller stopped waiting. */
		if (!slot->done)
			answers.back().error = "could not look up " + slot->answer.name + ": no answer in time";
	}
	return answers;
}

void
Resolver::look_up_addresses(const std::string &host)
{
	addresses_.emplace_back(new AddressSlot());
	AddressSlot *slot = addresses_.back().get();
	slot->host = host;
	if (!channel_)
	{
		slot->done = true;
		slot->error = "could not look up the address of " + host + ": no DNS channel";
		return;
	}
	struct ares_addrinfo_hints hints;
	std::memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* An IP literal is answered at once, inside this call. */
	ares_getaddrinfo(channel_->channel, host.c_str(), nullptr, &hints, addresses_answered, slot);
}

bool
Resolver::addresses_done() const
{
	return !addresses_.empty() && addresses_.back()->done;
}

const std::vector<std::string> &
Resolver::addresses() const
{
	static const std::vector<std::string> none;
	return addresses_.empty() ? none : addresses_.back()->addresses;
}

const std::string &
Resolver::address_error() const
{
	static const std::string none;
	return addresses_.empty() ? none : addresses_.back()->error;
}

void
Resolver::poll()
{
	if (!channel_)
		return;
	ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
	const int bits = ares_getsock(channel_->channel, sockets, ARES_GETSOCK_MAXNUM);
	struct pollfd fds[ARES_GETSOCK_MAXNUM];
	nfds_t count = 0;
	for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++)
	{
		const bool readable = ARES_GETSOCK_READABLE(bits, i);
		const bool writable = ARES_GETSOCK_WRITABLE(bits, i);
		if (!readable && !writable)
			continue;
		fds[count].fd = sockets[i];
		fds[count].events = static_cast<short>((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
		fds[count].revents = 0;
		count++;
	}
	if (count > 0 && ::poll(fds, count, 0) > 0)
		for (nfds_t i = 0; i < count; i++)
		{
			const bool in = fds[i].revents & (POLLIN | POLLERR | POLLHUP);
			const bool out = fds[i].revents & POLLOUT;
			if (in || out)
				ares_process_fd(channel_->channel, in ? fds[i].fd : ARES_SOCKET_BAD,
				                out ? fds[i].fd : ARES_SOCKET_BAD);
		}
	/* Neither socket: c-ares only handles its timeouts (retries, the next server). */
	ares_process_fd(channel_->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

} // namespace resolver
