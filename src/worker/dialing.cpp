/*
 * dialing.cpp: how a login finds its server, the way XMPP clients do
 * (RFC 6120 §3.2, XEP-0368).
 *
 * With srv_host empty: the SRV records of _xmpp-client._tcp.DOMAIN (and
 * _xmpps-client._tcp.DOMAIN, TLS from the first byte, unless jabclnd.tls
 * is disabled), ordered by priority and weight (core/server_plan.h); no
 * records: the domain itself on the account's port; a single "." target:
 * no XMPP service there, a clear error and no fallback. With srv_host set:
 * that host, no SRV lookup. Then every address of each target in turn
 * (core/dialer.h), each attempt under its own jabclnd.connect_timeout,
 * until one logs in. A wrong password or a replaced session ends the walk
 * (another server would say the same).
 *
 * The lookups run in c-ares beside the loop (xmpp/resolver.h): this file
 * polls them each turn and never waits. jabclnd_status() says "connecting"
 * through the walk, with the last failure and the next target in
 * last_error; the server log has the same line.
 */
#include <algorithm>

#include "core/jid.h"
#include "core/server_plan.h"
#include "worker/worker.h"

#include "pg/settings.h"

namespace
{

/* jabclnd.tls as the SRV services to ask for. */
server_plan::TlsPolicy
tls_policy(void)
{
	switch (jabclnd_tls)
	{
	case TLS_DIRECT:
		return server_plan::TlsPolicy::direct_only;
	case TLS_DISABLED:
		return server_plan::TlsPolicy::plain_only;
	default:
		return server_plan::TlsPolicy::starttls_or_direct;
	}
}

/* How TLS starts at `target`: an _xmpps-client record means direct TLS whatever jabclnd.tls says.
 */
session::Tls
tls_for(const server_plan::Target &target)
{
	if (target.direct_tls)
		return session::Tls::direct;
	return jabclnd_tls == TLS_DISABLED ? session::Tls::disabled : session::Tls::required;
}

double
random01(void)
{
	return pg_prng_double(&pg_global_prng_state);
}

std::string
timeout_text(void)
{
	return "jabclnd.connect_timeout (" + std::to_string(jabclnd_connect_timeout_ms / 1000) + " s)";
}

} // namespace

/*
 * One step of the walk, every turn of the loop while no connection is in
 * progress: start it, read the lookups' answers, or start the next
 * attempt.
 */
void
Worker::dial(TimestampTz now)
{
	if (!have_account_)
	{
		dial_.reset();
		return;
	}
	if (!dial_ && !start_dial(now))
		return;
	dial_->resolver.poll();
	if (dial_->stage == Dial::Stage::srv && !plan_from_srv_answers(now))
		return;
	if (find_address(now))
		start_login(now);
}

/* A new walk: the plan from srv_host, or the SRV lookups. False if it ended at once. */
bool
Worker::start_dial(TimestampTz now)
{
	publish(WS_CONNECTING, nullptr);
	dial_.reset(new Dial());
	dial_->domain = jid::split(account_.jid).domain;
	std::string dns_address;
	int dns_port = 53;
	const std::string dns_server = jabclnd_dns_server ? jabclnd_dns_server : "";
	if (!dns_server.empty())
	{
		const std::string problem =
		    server_plan::parse_dns_server(dns_server, &dns_address, &dns_port);
		if (!problem.empty())
		{
			dial_failed("jabclnd.dns_server '" + dns_server + "': " + problem, now);
			return false;
		}
	}
	const std::string problem = dial_->resolver.open(dns_address, dns_port);
	if (!problem.empty())
	{
		dial_failed(problem, now);
		return false;
	}
	if (account_.host.empty())
	{
		dial_->stage = Dial::Stage::srv;
		dial_->step_deadline = after_ms(now, jabclnd_connect_timeout_ms);
		dial_->resolver.look_up_srv(server_plan::srv_questions(dial_->domain, tls_policy()));
		return true;
	}
	const server_plan::Plan plan =
	    server_plan::plan_from_host(account_.host, account_.port, tls_policy());
	if (plan.targets.empty())
	{
		dial_failed(plan.refusal, now);
		return false;
	}
	dial_->stage = Dial::Stage::addresses;
	dial_->dialer.reset(new Dialer(plan.targets));
	return true;
}

/*
 * The SRV answers, once all are in (or jabclnd.connect_timeout passed:
 * those missing count as failed lookups, and RFC 6120 falls back to the
 * domain). True when the walk goes on to the addresses.
 */
bool
Worker::plan_from_srv_answers(TimestampTz now)
{
	if (!dial_->resolver.srv_done() && now < dial_->step_deadline)
		return false;
	const std::vector<server_plan::SrvAnswer> answers = dial_->resolver.srv_answers();
	for (const server_plan::SrvAnswer &answer : answers)
		if (!answer.error.empty())
			ereport(LOG, (errmsg("jabclnd: %s; treated as no SRV records", answer.error.c_str())));
	const server_plan::Plan plan =
	    server_plan::plan_from_srv(dial_->domain, answers, account_.port, tls_policy(), random01);
	if (plan.targets.empty())
	{
		dial_failed(plan.refusal, now);
		return false;
	}
	std::string targets;
	for (const server_plan::Target &target : plan.targets)
		targets += (targets.empty() ? "" : ", ") + target.text() +
		           (target.direct_tls ? " (direct TLS)" : "");
	ereport(DEBUG1, (errmsg("jabclnd: servers of %s, from %s: %s", dial_->domain.c_str(),
	                        plan.origin.c_str(), targets.c_str())));
	dial_->stage = Dial::Stage::addresses;
	dial_->dialer.reset(new Dialer(plan.targets));
	return true;
}

/*
 * Looks up the current target's addresses, moving on to the next target
 * when a lookup fails. True when the dialer has an address to connect to;
 * false while a lookup runs, or when the walk ended (dial_ is gone then).
 */
bool
Worker::find_address(TimestampTz now)
{
	Dialer &dialer = *dial_->dialer;
	while (dialer.needs_addresses())
	{
		resolver::Resolver &resolver = dial_->resolver;
		if (!dial_->address_lookup_running)
		{
			resolver.look_up_addresses(dialer.target().host);
			dial_->address_lookup_running = true;
			dial_->step_deadline = after_ms(now, jabclnd_connect_timeout_ms);
		}
		if (!resolver.addresses_done())
		{
			if (now < dial_->step_deadline)
				return false;
			dialer.lookup_failed("could not look up the address of " + dialer.target().host +
			                     " within " + timeout_text());
		}
		else if (!resolver.address_error().empty())
			dialer.lookup_failed(resolver.address_error());
		else
		{
			dialer.addresses_found(resolver.addresses());
			dial_->address_lookup_running = false;
			break;
		}
		dial_->address_lookup_running = false;
		if (!dialer.finished())
		{
			publish(WS_CONNECTING, dialer.progress().c_str());
			ereport(LOG, (errmsg("jabclnd: logging in as %s: %s", account_.jid.c_str(),
			                     dialer.progress().c_str())));
		}
	}
	if (dialer.finished())
	{
		dial_failed(dialer.summary(STATUS_TEXT_LEN - 1), now);
		return false;
	}
	return true;
}

/* Connects to the dialer's current address, under a deadline of its own. */
void
Worker::start_login(TimestampTz now)
{
	const server_plan::Target target = dial_->dialer->target();
	session::Options options;
	options.tls = tls_for(target);
	options.ca_file = jabclnd_tls_ca_file ? jabclnd_tls_ca_file : "";
	options.verify = jabclnd_tls_verify;
	if (!options.verify)
		ereport(WARNING,
		        (errmsg("jabclnd: jabclnd.tls_verify is off: the certificate of the XMPP server "
		                "for %s is not verified",
		                account_.jid.c_str()),
		         errhint("Anyone on the network path can read and change this connection. Set "
		                 "jabclnd.tls_ca_file to the CA that signed the server's certificate "
		                 "instead.")));
	if (options.tls == session::Tls::disabled)
		ereport(WARNING, (errmsg("jabclnd: jabclnd.tls is disabled: logging in to %s without "
		                         "encryption",
		                         account_.jid.c_str())));

	logging_out_ = false;
	login_where_ = dial_->dialer->where();
	/*
	 * libstrophe connects to the address found, and checks the server's
	 * certificate against the JID's domain (it takes the domain from the
	 * JID, never from the host it connects to: RFC 6125, RFC 7590), so an
	 * SRV target's own name never needs to be in the certificate.
	 */
	session::Account connect_to = account_;
	connect_to.host = dial_->dialer->address();
	connect_to.port = target.port;
	login_deadline_ = after_ms(now, jabclnd_connect_timeout_ms);
	const std::string problem = session_.connect(connect_to, options);
	if (!problem.empty())
	{
		session::Ending ending;
		ending.reason = problem;
		if (!login_attempt_failed(ending, now))
			connection_ended(ending, now);
		return;
	}
	/* The deadline also guards libstrophe's blocking TLS handshake (main.cpp). */
	enable_timeout_after(login_timer, jabclnd_connect_timeout_ms);
}

/*
 * A login attempt ended before the session was online: says why in
 * `ending` (the deadline or a broken handshake, when those were the
 * cause, and where), and tries the next address or target if there is
 * one and another server could help. True when the walk goes on; false
 * when the caller must end the login (connection_ended) with `ending`.
 */
bool
Worker::login_attempt_failed(session::Ending &ending, TimestampTz now)
{
	disable_timeout(login_timer, false);
	if (login_deadline_ != 0 && now >= login_deadline_)
		ending.reason = "login did not complete within " + timeout_text();
	else if (handshake_broken)
		ending.reason = "login interrupted while the server was silent during the TLS handshake (" +
		                ending.reason + ")";
	handshake_broken = false;
	login_deadline_ = 0;
	if (!dial_ || !dial_->dialer || dial_->dialer->finished() || logging_out_ || !have_account_)
	{
		dial_.reset();
		return false;
	}
	Dialer &dialer = *dial_->dialer;
	const std::string where = dialer.where();
	dialer.attempt_failed(ending.reason);
	/* Another server would refuse the same password, or be replaced the same way. */
	if (ending.auth_failed || ending.replaced)
	{
		ending.reason = where + ": " + ending.reason;
		dial_.reset();
		return false;
	}
	if (dialer.finished())
	{
		ending.reason = dialer.summary(STATUS_TEXT_LEN - 1);
		dial_.reset();
		return false;
	}
	publish(WS_CONNECTING, dialer.progress().c_str());
	ereport(LOG, (errmsg("jabclnd: logging in as %s: %s", account_.jid.c_str(),
	                     dialer.progress().c_str())));
	return true;
}

/* The walk ended without a connection: the login failed, with backoff. */
void
Worker::dial_failed(const std::string &reason, TimestampTz now)
{
	dial_.reset();
	session::Ending ending;
	ending.reason = reason;
	connection_ended(ending, now);
}
