/*
 * resolver.cpp: host lookups with getaddrinfo_a() (see resolver.h).
 *
 * A lookup still running when its Lookup is destroyed (the login was
 * abandoned) is cancelled; if glibc cannot cancel it any more, the request
 * is left to finish in the helper thread and its memory is leaked on
 * purpose, because freeing it under a running thread would be worse.
 */
#include "core/boundary.h"
#include "xmpp/resolver.h"

#include <arpa/inet.h>
#include <cstring>
#include <netdb.h>

namespace resolver
{

/* Plain data, owned by the helper thread while a lookup runs: it holds its own copy of the name. */
struct Lookup::Request
{
	struct gaicb control;
	struct addrinfo hints;
	char name[1025];
};

namespace
{

/* A numeric address is returned as it is: no lookup, no thread. */
bool
is_ip_literal(const std::string &host)
{
	unsigned char buffer[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
	       inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

std::string
numeric_host(const struct addrinfo *info)
{
	char text[INET6_ADDRSTRLEN] = "";
	const void *where = info->ai_family == AF_INET6
	                        ? static_cast<const void *>(
	                              &reinterpret_cast<const sockaddr_in6 *>(info->ai_addr)->sin6_addr)
	                        : static_cast<const void *>(
	                              &reinterpret_cast<const sockaddr_in *>(info->ai_addr)->sin_addr);
	inet_ntop(info->ai_family, where, text, sizeof text);
	return text;
}

} // namespace

Lookup::Lookup(const std::string &host) : host_(host)
{
	if (is_ip_literal(host))
	{
		address_ = host;
		status_ = Status::done;
		return;
	}
	if (host.size() >= sizeof(Request::name))
	{
		error_ = "the host name " + host + " is too long";
		status_ = Status::failed;
		return;
	}
	request_.reset(new Request()); /* value-initialised: all zero */
	std::memcpy(request_->name, host.c_str(), host.size() + 1);
	request_->hints.ai_family = AF_UNSPEC;
	request_->hints.ai_socktype = SOCK_STREAM;
	request_->control.ar_name = request_->name;
	request_->control.ar_request = &request_->hints;
	struct gaicb *list[] = {&request_->control};
	const int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr);
	if (rc != 0)
	{
		error_ = "could not start looking up " + host_ + ": " + gai_strerror(rc);
		status_ = Status::failed;
		request_.reset();
	}
}

Lookup::~Lookup()
{
	if (!request_)
		return;
	if (status_ == Status::pending && gai_cancel(&request_->control) != EAI_CANCELED &&
	    gai_error(&request_->control) == EAI_INPROGRESS)
	{
		(void)request_.release(); /* still in the helper thread's hands: see the header */
		return;
	}
	if (request_->control.ar_result)
		freeaddrinfo(request_->control.ar_result);
}

Status
Lookup::poll()
{
	if (status_ != Status::pending)
		return status_;
	const int rc = gai_error(&request_->control);
	if (rc == EAI_INPROGRESS)
		return status_;
	if (rc != 0 || !request_->control.ar_result)
	{
		error_ = "could not look up the address of " + host_ + ": " +
		         (rc != 0 ? gai_strerror(rc) : "no address");
		status_ = Status::failed;
		return status_;
	}
	address_ = numeric_host(request_->control.ar_result);
	status_ = Status::done;
	return status_;
}

} // namespace resolver
