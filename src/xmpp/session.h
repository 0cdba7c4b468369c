/*
 * session.h: the XMPP connection, as the worker sees it.
 *
 * A Session owns a libstrophe context and at most one connection. It never
 * calls PostgreSQL: libstrophe's callbacks turn what arrives into plain
 * events (bounded), and the worker takes them after each pump and persists
 * them. Log lines are queued the same way, already stripped of secrets.
 *
 * Phases: idle -> connecting -> online -> (closing) -> idle. The worker
 * decides when to connect and when to give up; the session only reports.
 */
#pragma once

#include "core/boundary.h"
#include "core/presence.h"
#include "core/roster_requests.h"
#include "core/rooms.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

struct _xmpp_ctx_t;
struct _xmpp_conn_t;
struct _xmpp_stanza_t;

namespace session
{

struct Account
{
	std::string jid;
	std::string password;
	std::string host; /* empty: the JID's domain */
	int port = 5222;

	bool operator==(const Account &other) const
	{
		return jid == other.jid && password == other.password && host == other.host &&
		       port == other.port;
	}
	bool operator!=(const Account &other) const { return !(*this == other); }
};

enum class Tls
{
	required,
	direct,
	disabled
};

struct Options
{
	Tls tls = Tls::required;
	std::string ca_file; /* empty: the system trust store */
	bool verify = true;
};

enum class Phase
{
	idle,
	connecting,
	online,
	closing
};

/* A <message> with a body or subject, or an invitation to a room, that arrived. */
struct IncomingMessage
{
	std::string stanza;
	std::string from;
	std::string type;
	std::string id;
	std::string subject;
	std::string body;
	bool has_subject = false;
	bool has_body = false;
	/* The same message as the rooms read it (rooms::Rooms::classify). */
	rooms::Message room;
};

/* A <message type='error'> answering one of our stanzas (or claiming to). */
struct MessageError
{
	std::string id;
	std::string from;
	std::string type;      /* the <error type=''>: cancel, wait, modify, auth; "" if none */
	std::string condition; /* the defined condition; undefined-condition if none */
	std::string reason;    /* for submission_info: condition, type and text */
};

/* An iq result or error that may answer one of our pings. */
struct IqAnswer
{
	std::string id;
	std::string from;
};

/*
 * An iq result or error whose id starts with rooms::ID_PREFIX: perhaps the
 * answer to a room's self-ping, configuration or destroy
 * (rooms::Rooms::iq_answered decides).
 */
struct RoomIqAnswer
{
	std::string id;
	std::string from;
	std::string type;      /* result or error */
	std::string condition; /* type error: the defined condition, e.g. item-not-found */
};

/* How a connection ended. */
struct Ending
{
	bool was_online = false;
	bool auth_failed = false;
	bool replaced = false; /* another login took our full JID (stream error conflict) */
	std::string reason;
};

/* One libstrophe log line, already filtered of credentials. */
struct LogLine
{
	int level; /* 0 debug .. 3 error, as libstrophe's levels */
	std::string text;
};

/* The roster, whole (answer to our get) or one change (a push from the server). */
struct RosterEvent
{
	std::map<std::string, std::string> items; /* bare JID -> subscription, or "remove" */
	bool complete = false;
};

/* Everything that happened during the pumps since the last take_events(). */
struct Events
{
	bool came_online = false;
	std::vector<Ending> endings;
	std::vector<IncomingMessage> messages;
	std::vector<MessageError> errors;
	std::vector<IqAnswer> answered_iqs; /* results of our pings and barriers */
	std::vector<LogLine> log;
	std::vector<presence::Update> presences;
	std::vector<RosterEvent> rosters;
	std::vector<std::string> subscription_requests; /* bare JIDs */
	std::vector<std::string> unsubscribe_requests;  /* bare JIDs */
	/*
	 * Presence stanzas with <x xmlns='…/muc#user'/> or of type error, for
	 * rooms::Rooms::presence (the presence mirror never sees the former, and
	 * ignores the latter).
	 */
	std::vector<rooms::Presence> room_presences;
	std::vector<RoomIqAnswer> room_iq_answers;
};

class Session
{
  public:
	explicit Session(int log_level);
	~Session();
	Session(const Session &) = delete;
	Session &operator=(const Session &) = delete;

	/*
	 * Starts logging in. Returns an empty string, or why the attempt could
	 * not even start (then the phase stays idle).
	 */
	std::string connect(const Account &account, const Options &options);
	/* Unavailable presence and stream close; the phase becomes closing, then idle. */
	void disconnect();
	/* Drops the connection at once (a login that took too long, a dead peer). */
	void abort(const std::string &reason);

	/*
	 * Runs libstrophe without blocking until it stops making progress, or
	 * until a message arrived: then it does nothing until take_events().
	 */
	void pump();
	Events take_events();

	Phase phase() const { return phase_; }
	/* Whether received messages wait for take_events(). */
	bool holds_messages() const { return !events_.messages.empty(); }
	/* Whether the last pump stopped for a message: pump again without waiting. */
	bool cut_short() const { return cut_short_; }
	/* The connection's socket, or -1. Changes on every reconnect. */
	int socket() const { return socket_; }
	bool wants_to_write() const;
	/* True while the TCP connect itself is in progress (wait for writable). */
	bool tcp_connecting() const;
	const std::string &bound_jid() const { return bound_jid_; }
	/* The least severe libstrophe level handed on in Events::log. */
	void set_log_level(int level) { log_level_ = level; }

	/*
	 * Checks that `xml` is exactly one <message> element and sends it,
	 * giving it `id` unless it has one; returns the id sent (and its to
	 * attribute in `recipient`), or an empty id and the reason in `problem`.
	 */
	std::string send_raw_message(const std::string &xml, const std::string &id, size_t max_size,
	                             std::string *problem, std::string *recipient);
	/*
	 * Builds and sends a message from its parts, as stanza `id` with
	 * `origin_id` as its XEP-0359 origin-id; returns the problem or "".
	 */
	std::string send_message(const std::string &to, const std::string &type,
	                         const std::string *subject, const std::string *body,
	                         const std::string &id, const std::string &origin_id, size_t max_size);
	/*
	 * The id a row's stanza is sent with on this connection: its stable id
	 * (the same at every attempt, kept as the origin-id) and the random
	 * token drawn at this login, so that nobody can guess the id an error
	 * reply must name.
	 */
	std::string message_id(const std::string &stable_id) const
	{
		return stable_id + "-" + id_token_;
	}
	/* Sends an XEP-0199 ping to our server and returns its id. */
	std::string send_ping();
	/* Roster and subscription changes the presence mirror asked for. */
	void carry_out(const presence::RosterAction &action);
	/*
	 * Sends what a room asked for (join, leave, self_ping,
	 * configure_instant, destroy; session_rooms.cpp). Returns "" if it went
	 * out, or was not to go (accept_invitation is the worker's; nothing is
	 * sent while not online, as for the roster actions), else why not: a
	 * row whose nick or password cannot be put into a stanza. The room then
	 * sees no answer and retries by its own rules; the caller may log why.
	 */
	std::string carry_out(const rooms::Action &action);
	/* The random token drawn at this login (in every id we send), for rooms::Rooms::connected. */
	const std::string &id_token() const { return id_token_; }

	/* Called from libstrophe callbacks (C functions in session.cpp). */
	void on_connected();
	void on_disconnected(int error, const char *stream_error, bool replaced);
	void on_socket(int fd);
	void on_log(int level, const char *area, const char *message);
	void on_certificate_failure(const char *error);
	void on_stanza(_xmpp_stanza_t *stanza);
	/* A callback failed with an exception: pump() drops the connection before libstrophe acks. */
	void on_callback_failure() noexcept { callback_failed_ = true; }

  private:
	std::string send_checked(_xmpp_stanza_t *stanza, size_t max_size);
	void release_connection();
	void on_message(_xmpp_stanza_t *stanza);
	void on_iq(_xmpp_stanza_t *stanza);
	void on_presence(_xmpp_stanza_t *stanza);
	void take_room_presence(_xmpp_stanza_t *stanza);
	void take_room_iq_answer(_xmpp_stanza_t *stanza);
	void reply_to_iq(_xmpp_stanza_t *request);
	_xmpp_stanza_t *iq_reply(_xmpp_stanza_t *request, const char *type);
	void request_roster();
	bool take_roster(_xmpp_stanza_t *iq);
	void send_presence_type(const std::string &to, const char *type);
	void set_roster_item(const std::string &jid, bool remove);
	std::string next_id(const char *kind);

	struct Logger;
	std::unique_ptr<Logger> logger_;
	int log_level_;
	_xmpp_ctx_t *ctx_ = nullptr;
	_xmpp_conn_t *conn_ = nullptr;
	Phase phase_ = Phase::idle;
	int socket_ = -1;
	std::string bound_jid_;
	std::string account_jid_;
	std::string pending_failure_; /* the best explanation seen for a coming disconnect */
	std::string abort_reason_;
	bool auth_failed_ = false;
	bool cut_short_ = false;
	bool callback_failed_ = false;
	uint64_t next_id_ = 0;
	std::string id_token_; /* random, new at every login: see next_id */
	roster::Requests roster_requests_;
	Events events_;
};

/*
 * The socket of a login in progress, for a signal handler: libstrophe 0.12
 * has no deadline on its TLS handshake, so the worker's timer and SIGTERM
 * shut this socket down to make a stalled handshake fail. -1 when no login
 * is in progress. Async-signal-safe to read.
 */
int handshake_socket();

} // namespace session
