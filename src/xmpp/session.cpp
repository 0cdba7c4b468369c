/*
 * session.cpp: the XMPP connection, driven through libstrophe 0.12.
 *
 * Everything here runs in the worker process, on its only thread. The C
 * callbacks at the bottom of this file are what libstrophe calls: each one
 * catches every C++ exception (nothing may unwind through libstrophe's
 * frames) and hands the work to the Session, which only records plain
 * events. No PostgreSQL call happens here (core/boundary.h).
 */
#include "core/boundary.h"
#include "xmpp/session.h"

#include "core/jid.h"
#include "core/stanza.h"
#include "xmpp/room_stanzas.h"
#include "xmpp/xml.h"

#include <strophe.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <random>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace session
{

namespace
{

using xml::NS_PING;
using xml::NS_SID;
using xml::NS_STANZAS;
const char *const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";

/*
 * Bounds on what piles up between two takes, so a flood cannot eat memory.
 * Received messages have none: libstrophe counts every stanza it handed us
 * as handled, so dropping one would lose it; and they cannot pile up, since
 * a pump stops at the first one (one xmpp_run_once reads at most 4 kB).
 */
const size_t MAX_QUEUED_MESSAGES = 10000;
const size_t MAX_QUEUED_LOG_LINES = 1000;
/* How many xmpp_run_once calls one pump may make at most. */
const int MAX_RUNS_PER_PUMP = 64;
/* The resource bound when acc_jid has none (see jid_to_bind). */
const char *const DEFAULT_RESOURCE = "jabclnd";

/*
 * The one live session of this process, for the C callbacks that carry no
 * user data (the socket callback) and for handshake_socket(). Set and
 * cleared by the Session itself.
 */
Session *live_session = nullptr;
volatile sig_atomic_t login_socket = -1;

/* Activity counter bumped by every callback, so pump() sees progress. */
uint64_t callbacks_seen = 0;

using xml::add_element;
using xml::attribute;
using xml::take_string;

/*
 * The type, defined condition and text of an <error/> child into `reply`,
 * its reason e.g. "the server answered with an error: service-unavailable
 * (cancel): User does not exist".
 */
void
read_error(xmpp_ctx_t *ctx, xmpp_stanza_t *stanza, MessageError *reply)
{
	xmpp_stanza_t *error = xmpp_stanza_get_child_by_name(stanza, "error");
	std::string condition, text;

	if (!error)
	{
		reply->reason = "error without details";
		return;
	}
	for (xmpp_stanza_t *c = xmpp_stanza_get_children(error); c; c = xmpp_stanza_get_next(c))
	{
		const char *name = xmpp_stanza_get_name(c);
		const char *ns = xmpp_stanza_get_ns(c);
		if (!name || !ns || strcmp(ns, NS_STANZAS) != 0)
			continue;
		if (strcmp(name, "text") == 0)
			text = take_string(ctx, xmpp_stanza_get_text(c));
		else if (condition.empty())
			condition = name;
	}
	if (condition.empty())
		condition = "undefined-condition";
	const std::string type = attribute(error, "type");
	std::string result = "the server answered with an error: " + condition;
	if (!type.empty())
		result += " (" + type + ")";
	if (!text.empty())
		result += ": " + text;
	reply->type = type;
	reply->condition = condition;
	reply->reason = result;
}

/*
 * libstrophe logs every stanza at debug level, SASL exchanges included: the
 * <auth/> and <response/> elements carry the password (PLAIN) or proofs of
 * it (SCRAM). Anything that looks like SASL or legacy auth is replaced.
 */
bool
mentions_credentials(const char *message)
{
	static const char *const markers[] = {
	    "<auth",   "<response", "<challenge", "<success", "xmpp-sasl",
	    "iq:auth", "<password", "<digest",    "password", nullptr,
	};
	for (const char *const *m = markers; *m; m++)
		if (strstr(message, *m))
			return true;
	return false;
}

/*
 * TCP keepalive, so a silently dead peer is noticed by the kernel too; and
 * no Nagle delay: a batch ends with a small ping whose answer the worker
 * waits for, and Nagle would hold that ping back until the server's delayed
 * ACK (measured: about 90 ms per batch of 100 on loopback, against ~12 ms).
 */
void
tune_socket(int fd)
{
	int on = 1, idle = 60, interval = 10, count = 3;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

/*
 * Servers that write their answers in pieces without TCP_NODELAY (Prosody's
 * default) hold the rest of an answer until we acknowledge the first piece,
 * and Linux delays that acknowledgement by up to 40 ms: a batch's barrier
 * answer came 40 ms late (measured). Quick-ack mode is not sticky in the
 * kernel, so it is asked for again before every read.
 */
void
acknowledge_quickly(int fd)
{
	if (fd < 0)
		return;
	int on = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

/*
 * The worker binds the same resource at every login, "jabclnd" unless
 * acc_jid names one. libstrophe asks for resumable sessions, so a
 * connection that ends without a clean close leaves the old session
 * hibernating on the server (Prosody: 10 minutes) with the messages we did
 * not acknowledge. A new session under another resource would not get
 * them, and at the end of the hibernation they would be bounced to their
 * senders. Binding the same resource replaces the hibernating session at
 * once: the server moves what it held to offline storage and delivers it
 * at our initial presence (tested with Prosody, which kicks the old
 * session on a resource conflict, as ejabberd and Openfire do).
 */
std::string
jid_to_bind(const std::string &account_jid)
{
	if (account_jid.find('/') != std::string::npos)
		return account_jid;
	return account_jid + "/" + DEFAULT_RESOURCE;
}

/* 64 random bits in hex, from the kernel's generator (std::random_device reads it). */
std::string
random_token()
{
	std::random_device kernel;
	const uint64_t bits = (static_cast<uint64_t>(kernel()) << 32) | kernel();
	char text[17];
	snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(bits));
	return text;
}

/*
 * The defined condition of a <stream:error/> (RFC 6120 4.9.3), e.g.
 * "policy-violation", or "" if it names none.
 */
std::string
stream_error_condition(xmpp_stanza_t *error)
{
	for (xmpp_stanza_t *c = error ? xmpp_stanza_get_children(error) : nullptr; c;
	     c = xmpp_stanza_get_next(c))
	{
		const char *name = xmpp_stanza_get_name(c);
		if (xmpp_stanza_is_tag(c) && name && strcmp(name, "text") != 0)
			return name;
	}
	return "";
}

extern "C" void
log_callback(void *userdata, xmpp_log_level_t level, const char *area, const char *message)
{
	try
	{
		static_cast<Session *>(userdata)->on_log(static_cast<int>(level), area, message);
	}
	catch (...)
	{
		/* a log line lost to a failed allocation is not worth unwinding libstrophe */
	}
}

extern "C" int
socket_callback(xmpp_conn_t *, void *sock)
{
	try
	{
		if (live_session)
			live_session->on_socket(*static_cast<int *>(sock));
	}
	catch (...)
	{
	}
	return 0;
}

extern "C" int
certificate_failure_callback(const xmpp_tlscert_t *, const char *error)
{
	try
	{
		if (live_session)
			live_session->on_certificate_failure(error);
	}
	catch (...)
	{
	}
	return 0; /* reject: jabclnd.tls_verify = off uses XMPP_CONN_FLAG_TRUST_TLS instead */
}

extern "C" void
connection_callback(xmpp_conn_t *, xmpp_conn_event_t event, int error,
                    xmpp_stream_error_t *stream_error, void *userdata)
{
	try
	{
		Session *session = static_cast<Session *>(userdata);
		callbacks_seen++;
		if (event == XMPP_CONN_CONNECT)
			session->on_connected();
		else if (event == XMPP_CONN_DISCONNECT || event == XMPP_CONN_FAIL)
		{
			std::string detail;
			const bool replaced = stream_error && stream_error->type == XMPP_SE_CONFLICT;
			if (replaced)
				detail = "replaced by another login with the same JID and resource (stream error "
				         "conflict): give each worker its own account, or its own resource in "
				         "acc_jid";
			else if (stream_error)
			{
				detail = "stream error";
				const std::string condition = stream_error_condition(stream_error->stanza);
				if (!condition.empty())
					detail += " " + condition;
				if (stream_error->text)
					detail += std::string(": ") + stream_error->text;
			}
			session->on_disconnected(error, stream_error ? detail.c_str() : nullptr, replaced);
		}
	}
	catch (...)
	{
	}
}

/*
 * Every stanza, through one catch-all handler (libstrophe keeps one handler
 * per function and user data, so one function cannot be registered for
 * three names). It also sees stream-management elements: on_stanza
 * ignores what is not a message, iq or presence.
 */
extern "C" int
stanza_callback(xmpp_conn_t *, xmpp_stanza_t *stanza, void *userdata)
{
	callbacks_seen++;
	Session *session = static_cast<Session *>(userdata);
	try
	{
		session->on_stanza(stanza);
	}
	catch (...)
	{
		/*
		 * libstrophe must not unwind, and it counts the stanza as handled:
		 * its stream-management ack would tell the server we have it. The
		 * session drops the connection before the next xmpp_run_once (which
		 * sends acks), so the server keeps the stanza for the next login.
		 */
		session->on_callback_failure();
	}
	return 1;
}

} // namespace

int
handshake_socket()
{
	return login_socket;
}

/* libstrophe keeps a pointer to this struct: it lives as long as the context. */
struct Session::Logger
{
	xmpp_log_t log;
};

Session::Session(int log_level) : logger_(new Logger), log_level_(log_level)
{
	/* libstrophe formats every line at every level; on_log drops the unwanted ones. */
	logger_->log.handler = log_callback;
	logger_->log.userdata = this;
	xmpp_initialize();
	ctx_ = xmpp_ctx_new(nullptr, &logger_->log);
	if (!ctx_)
		throw std::bad_alloc();
	live_session = this;
}

Session::~Session()
{
	release_connection();
	xmpp_ctx_free(ctx_);
	live_session = nullptr;
}

/*
 * Releasing a live connection makes libstrophe close it and call our
 * connection handler with DISCONNECT: the phase is idle by then, so that
 * late callback does not report the ending a second time.
 */
void
Session::release_connection()
{
	login_socket = -1;
	socket_ = -1;
	phase_ = Phase::idle;
	if (conn_)
	{
		xmpp_conn_t *conn = conn_;
		conn_ = nullptr;
		xmpp_conn_release(conn);
	}
}

std::string
Session::connect(const Account &account, const Options &options)
{
	long flags = 0;

	release_connection();
	pending_failure_.clear();
	abort_reason_.clear();
	auth_failed_ = false;
	bound_jid_.clear();
	account_jid_ = account.jid;
	id_token_ = random_token();

	conn_ = xmpp_conn_new(ctx_);
	if (!conn_)
		return "could not allocate an XMPP connection";

	switch (options.tls)
	{
	case Tls::required:
		flags |= XMPP_CONN_FLAG_MANDATORY_TLS;
		break;
	case Tls::direct:
		flags |= XMPP_CONN_FLAG_LEGACY_SSL;
		break;
	case Tls::disabled:
		flags |= XMPP_CONN_FLAG_DISABLE_TLS;
		break;
	}
	if (!options.verify)
		flags |= XMPP_CONN_FLAG_TRUST_TLS;
	/*
	 * Stream management stays on for receiving: a message is acknowledged
	 * only after its row is committed (see pump). Sessions are never
	 * resumed, so libstrophe cannot resend our stanzas behind the worker's
	 * back (the barrier ping is the worker's own proof of processing).
	 */
	xmpp_conn_set_flags(conn_, flags);
	if (!options.ca_file.empty())
		xmpp_conn_set_cafile(conn_, options.ca_file.c_str());
	xmpp_conn_set_certfail_handler(conn_, certificate_failure_callback);
	xmpp_conn_set_sockopt_callback(conn_, socket_callback);
	xmpp_conn_set_jid(conn_, jid_to_bind(account.jid).c_str());
	xmpp_conn_set_pass(conn_, account.password.c_str());

	xmpp_handler_add(conn_, stanza_callback, nullptr, nullptr, nullptr, this);

	/* Without a host libstrophe does a blocking SRV lookup: name the domain instead. */
	const std::string host_name =
	    account.host.empty() ? jid::split(account.jid).domain : account.host;
	const char *host = host_name.c_str();
	phase_ = Phase::connecting;
	if (xmpp_connect_client(conn_, host, static_cast<unsigned short>(account.port),
	                        connection_callback, this) != XMPP_EOK)
	{
		std::string reason =
		    "could not connect to " + std::string(host) + ":" + std::to_string(account.port);
		if (!pending_failure_.empty())
			reason += ": " + pending_failure_;
		release_connection();
		return reason;
	}
	return "";
}

void
Session::disconnect()
{
	if (!conn_ || phase_ == Phase::idle || phase_ == Phase::closing)
		return;
	if (phase_ == Phase::online)
	{
		xmpp_stanza_t *presence = xmpp_presence_new(ctx_);
		xmpp_stanza_set_type(presence, "unavailable");
		xmpp_send(conn_, presence);
		xmpp_stanza_release(presence);
	}
	phase_ = Phase::closing;
	xmpp_disconnect(conn_);
}

void
Session::abort(const std::string &reason)
{
	if (!conn_)
		return;
	Ending ending;
	ending.was_online = phase_ == Phase::online;
	ending.reason = reason;
	events_.endings.push_back(ending);
	release_connection();
}

void
Session::pump()
{
	/*
	 * One xmpp_run_once reads at most 4096 bytes, and TLS may hold
	 * decrypted data the socket no longer shows as readable: run a few
	 * times, and on while callbacks keep firing.
	 *
	 * But stop as soon as a message has arrived: libstrophe answers the
	 * server's stream-management request at the start of the next
	 * xmpp_run_once, and that acknowledgement must not leave before the
	 * worker has committed the message's row.
	 */
	for (int run = 0; run < MAX_RUNS_PER_PUMP && events_.messages.empty() && !callback_failed_;
	     run++)
	{
		const uint64_t before = callbacks_seen;
		acknowledge_quickly(socket_);
		xmpp_run_once(ctx_, 0);
		if (run >= 3 && callbacks_seen == before)
			break;
	}
	if (callback_failed_)
	{
		callback_failed_ = false;
		abort("a stanza could not be handled (out of memory?); the connection is dropped "
		      "unacknowledged so that the server delivers it again");
	}
	/* Cut short: more may wait in TLS buffers that the socket will not announce. */
	cut_short_ = !events_.messages.empty();
}

Events
Session::take_events()
{
	Events taken;
	std::swap(taken, events_);
	return taken;
}

bool
Session::wants_to_write() const
{
	return conn_ && xmpp_conn_send_queue_len(conn_) > 0;
}

bool
Session::tcp_connecting() const
{
	return conn_ && phase_ == Phase::connecting && xmpp_conn_is_connecting(conn_);
}

void
Session::on_socket(int fd)
{
	socket_ = fd;
	tune_socket(fd);
	if (phase_ == Phase::connecting)
		login_socket = fd;
}

void
Session::on_connected()
{
	phase_ = Phase::online;
	login_socket = -1;
	const char *bound = xmpp_conn_get_bound_jid(conn_);
	bound_jid_ = bound ? bound : account_jid_;
	events_.came_online = true;

	roster_requests_.connected(bound_jid_);
	request_roster();
	/* Initial presence: the server then delivers what was stored for us offline. */
	xmpp_stanza_t *presence = xmpp_presence_new(ctx_);
	xmpp_send(conn_, presence);
	xmpp_stanza_release(presence);
}

void
Session::on_disconnected(int error, const char *stream_error, bool replaced)
{
	if (phase_ == Phase::idle)
		return;
	Ending ending;
	ending.was_online = phase_ == Phase::online;
	ending.auth_failed = auth_failed_;
	ending.replaced = replaced;
	if (!abort_reason_.empty())
		ending.reason = abort_reason_;
	else if (!pending_failure_.empty())
		ending.reason = pending_failure_;
	else if (stream_error)
		ending.reason = stream_error;
	else if (error)
		ending.reason = std::string("connection error: ") + strerror(error);
	else if (phase_ == Phase::closing)
		ending.reason = "logged out";
	else
		ending.reason = ending.was_online ? "the server closed the connection"
		                                  : "the server closed the connection during login";
	events_.endings.push_back(ending);
	/*
	 * The connection object cannot be released from inside its own
	 * callback; mark the phase and let the next connect() release it.
	 */
	phase_ = Phase::idle;
	socket_ = -1;
	login_socket = -1;
}

void
Session::on_log(int level, const char *area, const char *message)
{
	if (!message)
		return;
	/* A refused login is told in a log line alone, some of them at debug level. */
	if (phase_ == Phase::connecting &&
	    (strstr(message, "auth failed") || strstr(message, "Cannot authenticate")))
	{
		auth_failed_ = true;
		pending_failure_ = "authentication failed: the server refused the account's "
		                   "credentials (check acc_jid and acc_pass)";
	}
	/*
	 * A TCP connect that failed (refused, unreachable) is told in a debug
	 * line alone: 0.12 then disconnects with error 0. Keep the errno, so
	 * that the walk through the servers (worker/dialing.cpp) can say how
	 * each address failed.
	 */
	int connect_errno = 0;
	if (phase_ == Phase::connecting && area && strcmp(area, "xmpp") == 0 &&
	    sscanf(message, "connection failed, error %d", &connect_errno) == 1 && connect_errno > 0)
		pending_failure_ = std::string("connection error: ") + strerror(connect_errno);
	/*
	 * libstrophe writes every stanza in and out as a debug line. Unless the
	 * operator asked for them, drop them before scanning and copying them:
	 * that was about 4 % of the worker's CPU while sending (perf).
	 */
	if (level < XMPP_LEVEL_WARN && level < log_level_)
		return;
	const bool secret = mentions_credentials(message);
	if (level >= XMPP_LEVEL_WARN && !secret && !auth_failed_)
	{
		/* Keep the best explanation for the disconnect that usually follows. */
		pending_failure_ = message;
	}
	if (level < log_level_ || events_.log.size() >= MAX_QUEUED_LOG_LINES)
		return;
	LogLine line;
	line.level = level;
	line.text = std::string(area ? area : "?") + ": " +
	            (secret ? std::string("[authentication exchange not logged]") : message);
	events_.log.push_back(std::move(line));
}

void
Session::on_certificate_failure(const char *error)
{
	pending_failure_ = std::string("the server's TLS certificate was rejected: ") +
	                   (error ? error : "verification failed") +
	                   " (check jabclnd.tls_ca_file, or the account's domain)";
}

void
Session::on_stanza(xmpp_stanza_t *stanza)
{
	const char *name = xmpp_stanza_get_name(stanza);
	if (!name)
		return;
	if (strcmp(name, "message") == 0)
		on_message(stanza);
	else if (strcmp(name, "iq") == 0)
		on_iq(stanza);
	else if (strcmp(name, "presence") == 0)
		on_presence(stanza);
}

void
Session::on_message(xmpp_stanza_t *stanza)
{
	const std::string type = attribute(stanza, "type");
	if (type == "error")
	{
		MessageError error;
		error.id = attribute(stanza, "id");
		error.from = attribute(stanza, "from");
		read_error(ctx_, stanza, &error);
		if (!error.id.empty() && events_.errors.size() < MAX_QUEUED_MESSAGES)
			events_.errors.push_back(std::move(error));
		return;
	}

	IncomingMessage message;
	message.room = room_stanzas::read_message(stanza);
	message.has_body = message.room.has_body;
	message.has_subject = message.room.has_subject;
	message.subject = message.room.subject;
	if (!message.has_body && !message.has_subject &&
	    !room_stanzas::carries_invitation(message.room))
		return; /* chat states, receipts and the like: nothing to store */
	if (message.has_body)
		message.body = xml::child_text(stanza, "body");
	message.from = attribute(stanza, "from");
	message.type = type.empty() ? "normal" : type;
	message.id = attribute(stanza, "id");
	char *text = nullptr;
	size_t length = 0;
	if (xmpp_stanza_to_text(stanza, &text, &length) == XMPP_EOK)
		message.stanza = take_string(ctx_, text);
	events_.messages.push_back(std::move(message));
}

void
Session::on_iq(xmpp_stanza_t *stanza)
{
	if (take_roster(stanza))
		return;
	const std::string type = attribute(stanza, "type");
	if (type == "result" || type == "error")
	{
		const std::string id = attribute(stanza, "id");
		if (id.rfind("jabclnd-ping-", 0) == 0)
			events_.answered_iqs.push_back({id, attribute(stanza, "from")});
		else
			take_room_iq_answer(stanza);
		return;
	}
	if (type == "get" || type == "set")
		reply_to_iq(stanza);
}

/*
 * An iq of `type` answering `request`: same id, addressed to its sender.
 * Built by hand because xmpp_stanza_reply() returns NULL for a stanza
 * without a from attribute, which is how a server addresses its own
 * requests and roster pushes.
 */
xmpp_stanza_t *
Session::iq_reply(xmpp_stanza_t *request, const char *type)
{
	xmpp_stanza_t *reply = xmpp_iq_new(ctx_, type, attribute(request, "id").c_str());
	const char *from = xmpp_stanza_get_from(request);
	if (from)
		xmpp_stanza_set_to(reply, from);
	return reply;
}

/*
 * RFC 6120 8.2.3: every get/set gets an answer. We implement ping and
 * disco#info; everything else is service-unavailable.
 */
void
Session::reply_to_iq(xmpp_stanza_t *request)
{
	xmpp_stanza_t *query = xmpp_stanza_get_children(request);
	while (query && !xmpp_stanza_is_tag(query))
		query = xmpp_stanza_get_next(query);
	const char *ns = query ? xmpp_stanza_get_ns(query) : nullptr;
	const char *name = query ? xmpp_stanza_get_name(query) : nullptr;
	const std::string type = attribute(request, "type");
	xmpp_stanza_t *reply;

	if (type == "get" && ns && strcmp(ns, NS_PING) == 0 && name && strcmp(name, "ping") == 0)
		reply = iq_reply(request, "result");
	else if (type == "get" && ns && strcmp(ns, NS_DISCO_INFO) == 0)
	{
		reply = iq_reply(request, "result");
		xmpp_stanza_t *info = add_element(ctx_, reply, "query", NS_DISCO_INFO);
		const char *node = xmpp_stanza_get_attribute(query, "node");
		if (node)
			xmpp_stanza_set_attribute(info, "node", node);
		xmpp_stanza_t *identity = add_element(ctx_, info, "identity", nullptr);
		xmpp_stanza_set_attribute(identity, "category", "client");
		xmpp_stanza_set_attribute(identity, "type", "bot");
		xmpp_stanza_set_attribute(identity, "name", "jabclnd");
		for (const char *feature : {NS_DISCO_INFO, NS_PING, NS_SID})
			xmpp_stanza_set_attribute(add_element(ctx_, info, "feature", nullptr), "var", feature);
	}
	else
	{
		reply = iq_reply(request, "error");
		xmpp_stanza_t *error = add_element(ctx_, reply, "error", nullptr);
		xmpp_stanza_set_type(error, "cancel");
		add_element(ctx_, error, "service-unavailable", NS_STANZAS);
	}
	xmpp_send(conn_, reply);
	xmpp_stanza_release(reply);
}

std::string
Session::send_checked(xmpp_stanza_t *stanza, size_t max_size)
{
	char *text = nullptr;
	size_t length = 0;
	if (xmpp_stanza_to_text(stanza, &text, &length) != XMPP_EOK)
		return "the stanza could not be serialised";
	if (length > max_size)
	{
		xmpp_free(ctx_, text);
		return "the stanza is " + std::to_string(length) +
		       " bytes, more than jabclnd.max_stanza_size (" + std::to_string(max_size) +
		       "); servers close the stream on oversized stanzas";
	}
	xmpp_send_raw(conn_, text, length);
	xmpp_free(ctx_, text);
	return "";
}

std::string
Session::send_raw_message(const std::string &xml, const std::string &id, size_t max_size,
                          std::string *problem, std::string *recipient)
{
	xmpp_stanza_t *stanza = xmpp_stanza_new_from_string(ctx_, xml.c_str());
	if (!stanza)
	{
		*problem = "message_stanza is not well-formed XML";
		return "";
	}
	std::string sent_id;
	const char *name = xmpp_stanza_get_name(stanza);
	if (!name || strcmp(name, "message") != 0)
		*problem = std::string("message_stanza is a <") + (name ? name : "?") +
		           "> element; only <message> stanzas are sent";
	else
		*problem = stanza::check_client_namespace(xmpp_stanza_get_ns(stanza), "message_stanza");
	if (problem->empty())
	{
		const char *to = xmpp_stanza_get_to(stanza);
		*problem = to ? stanza::check_jid(to, "the to attribute of message_stanza")
		              : "message_stanza has no to attribute";
	}
	if (problem->empty())
	{
		const char *own_id = xmpp_stanza_get_id(stanza);
		if (!own_id || !*own_id)
			xmpp_stanza_set_id(stanza, id.c_str());
		sent_id = xmpp_stanza_get_id(stanza);
		*recipient = xmpp_stanza_get_to(stanza);
		*problem = send_checked(stanza, max_size);
		if (!problem->empty())
			sent_id.clear();
	}
	xmpp_stanza_release(stanza);
	return sent_id;
}

std::string
Session::send_message(const std::string &to, const std::string &type, const std::string *subject,
                      const std::string *body, const std::string &id, const std::string &origin_id,
                      size_t max_size)
{
	xmpp_stanza_t *message = xmpp_message_new(ctx_, type.c_str(), to.c_str(), id.c_str());
	auto add_text_child = [&](const char *name, const std::string &text)
	{
		xmpp_stanza_t *child = xmpp_stanza_new(ctx_);
		xmpp_stanza_set_name(child, name);
		xmpp_stanza_t *content = xmpp_stanza_new(ctx_);
		xmpp_stanza_set_text_with_size(content, text.data(), text.size());
		xmpp_stanza_add_child_ex(child, content, 0);
		xmpp_stanza_add_child_ex(message, child, 0);
	};
	if (subject)
		add_text_child("subject", *subject);
	if (body)
		add_text_child("body", *body);
	/*
	 * XEP-0359: the row's stable id, the same at every attempt (the stanza
	 * id changes with each login), so that a receiver recognises a
	 * duplicate.
	 */
	xmpp_stanza_t *origin = xmpp_stanza_new(ctx_);
	xmpp_stanza_set_name(origin, "origin-id");
	xmpp_stanza_set_ns(origin, NS_SID);
	xmpp_stanza_set_id(origin, origin_id.c_str());
	xmpp_stanza_add_child_ex(message, origin, 0);

	std::string problem = send_checked(message, max_size);
	xmpp_stanza_release(message);
	return problem;
}

std::string
Session::send_ping()
{
	const std::string id = next_id("ping");
	xmpp_stanza_t *iq = xmpp_iq_new(ctx_, "get", id.c_str());
	xmpp_stanza_set_to(iq, jid::split(bound_jid_).domain.c_str());
	add_element(ctx_, iq, "ping", NS_PING);
	xmpp_send(conn_, iq);
	xmpp_stanza_release(iq);
	return id;
}

} // namespace session
