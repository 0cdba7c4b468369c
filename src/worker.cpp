/*
 * worker.cpp: the jabclnd background worker and its main loop.
 *
 * One turn of the loop:
 *   wait   in a WaitEventSet on the latch (a commit woke us), postmaster
 *          death, the XMPP socket, and a timeout for our own timers;
 *   look   at the tables if woken or the safety poll is due: the account
 *          (log in, out or over if it changed), and whether to claim;
 *   pump   libstrophe without blocking, and take its events;
 *   send   a claimed batch, followed by a ping (the "barrier"): its answer
 *          proves the server processed everything before it;
 *   record outcomes and received messages in one transaction, before the
 *          next pump, so nothing is acknowledged that is not committed.
 *
 * No transaction is ever open while the network is touched: claiming,
 * sending and recording are three separate steps.
 *
 * Errors: any PostgreSQL error outside store.cpp's units would mean a bug;
 * PG_exception_stack is cleared at start so that such an error becomes
 * FATAL (exit and restart) instead of a longjmp through the C++ frames
 * below, which own objects with destructors. C++ exceptions stop at
 * jabclnd_worker_main.
 */
#include "pg.h"
#include "presence.h"
#include "resolver.h"
#include "session.h"
#include "settings.h"
#include "shared_state.h"
#include "stanza.h"
#include "store.h"
#include "worker.h"

#include <algorithm>
#include <cerrno>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <sys/socket.h>
#include <unordered_map>
#include <vector>

extern "C"
{
	PGDLLEXPORT void jabclnd_worker_main(Datum);
}

namespace
{

/* How long a failed unit of SQL work waits before it is tried again. */
const int DATABASE_RETRY_MS = 5000;
/* While a connection is up, wake at least this often: TLS may hold data the socket does not show.
 */
const int CONNECTED_WAIT_MS = 1000;
/* How many ids of sent raw stanzas are remembered to match error replies. */
const size_t REMEMBERED_STANZA_IDS = 10000;
/* How often a running address lookup is polled. */
const int LOOKUP_POLL_MS = 10;
/* How long a graceful logout may take at shutdown or restart. */
const int LOGOUT_MS = 1000;

TimeoutId login_timer;

/*
 * libstrophe 0.12's TLS handshake has no deadline and blocks inside
 * xmpp_run_once, retrying through EINTR. Shutting the socket down makes it
 * fail at once. The handlers below do that when the worker must get back
 * to its loop: SIGTERM (then PostgreSQL's own die()), a ProcSignalBarrier
 * such as DROP DATABASE's (then PostgreSQL's own SIGUSR1 handler), and
 * jabclnd.connect_timeout. A healthy handshake takes milliseconds; only a
 * stalled one is ever cut, and the login is retried.
 */
volatile sig_atomic_t handshake_broken = false;

void
break_stalled_handshake(void)
{
	const int save_errno = errno;
	const int fd = session::handshake_socket();
	if (fd >= 0)
	{
		shutdown(fd, SHUT_RDWR);
		handshake_broken = true;
	}
	errno = save_errno;
}

void
handle_sigterm(SIGNAL_ARGS)
{
	break_stalled_handshake();
	die(postgres_signal_arg);
}

void
handle_sigusr1(SIGNAL_ARGS)
{
	procsignal_sigusr1_handler(postgres_signal_arg);
	if (ProcSignalBarrierPending)
		break_stalled_handshake();
}

void
handle_login_deadline(void)
{
	break_stalled_handshake();
	SetLatch(MyLatch);
}

TimestampTz
after_ms(TimestampTz from, int ms)
{
	return TimestampTzPlusMilliseconds(from, ms);
}

long
ms_until(TimestampTz now, TimestampTz when)
{
	if (when <= now)
		return 0;
	return static_cast<long>((when - now + 999) / 1000);
}

presence::Policy
subscription_policy(void)
{
	switch (jabclnd_subscriptions)
	{
	case SUBSCRIPTIONS_ALL:
		return presence::Policy::all;
	case SUBSCRIPTIONS_NONE:
		return presence::Policy::none;
	default:
		return presence::Policy::openfire_users;
	}
}

session::Tls
tls_setting(void)
{
	switch (jabclnd_tls)
	{
	case TLS_DIRECT:
		return session::Tls::direct;
	case TLS_DISABLED:
		return session::Tls::disabled;
	default:
		return session::Tls::required;
	}
}

/*
 * The id a stanza was sent with, mapped back to its tx row, for error
 * replies. Rows built by the worker carry their row id in the stanza id;
 * raw stanzas that came with an id of their own are remembered here, the
 * most recent REMEMBERED_STANZA_IDS of them.
 */
class SentIds
{
  public:
	void remember(const std::string &id, int64_t row)
	{
		if (rows_.emplace(id, row).second)
			order_.push_back(id);
		while (order_.size() > REMEMBERED_STANZA_IDS)
		{
			rows_.erase(order_.front());
			order_.pop_front();
		}
	}

	/* The row a stanza id belongs to, or 0. */
	int64_t find(const std::string &id) const
	{
		auto found = rows_.find(id);
		if (found != rows_.end())
			return found->second;
		long long row = 0;
		long long inserted = 0;
		if (sscanf(id.c_str(), "jabclnd-tx-%lld-%lld", &row, &inserted) == 2)
			return row;
		return 0;
	}

  private:
	std::unordered_map<std::string, int64_t> rows_;
	std::deque<std::string> order_;
};

/* Exponential backoff with jitter between login attempts. */
class Backoff
{
  public:
	void reset() { failures_ = 0; }
	int next_delay_ms()
	{
		const double ceiling = std::max(jabclnd_retry_max_delay_ms, jabclnd_retry_min_delay_ms);
		double delay = jabclnd_retry_min_delay_ms;
		for (int i = 0; i < failures_ && delay < ceiling; i++)
			delay *= 2;
		failures_++;
		delay = std::min(delay, ceiling);
		/* Jitter: somewhere in the upper half, so many servers' workers do not retry in step. */
		return static_cast<int>(delay * (0.5 + 0.5 * pg_prng_double(&pg_global_prng_state)));
	}

  private:
	int failures_ = 0;
};

/* A batch sent and not yet confirmed by the server. */
struct InFlight
{
	std::vector<int64_t> rows; /* sent, in id order */
	int64_t last_claimed = 0;  /* the highest id claimed with them, failed rows included */
	std::string barrier_id;
	TimestampTz deadline = 0;
};

/*
 * Two batches in flight: the next batch is claimed and sent while the
 * server works through the previous one, so the database work between
 * batches overlaps the barrier's round trip (measured by bench/: without
 * it, ~1.3 ms of claim, mark and flush per batch stood between batches).
 * One in careful mode, where a lost connection must point at one row.
 */
const size_t BATCHES_IN_FLIGHT = 2;

class Worker
{
  public:
	Worker();
	~Worker();
	[[noreturn]] void run();
	/* Logs out politely; called at exit and before a deliberate restart. */
	void log_out();

  private:
	void reload_settings();
	void look_at_tables(TimestampTz now);
	void drive_connection(TimestampTz now);
	void start_login(TimestampTz now, const std::string &address);
	void look_up_server(TimestampTz now);
	void take_events(TimestampTz now);
	void connection_ended(const session::Ending &ending, TimestampTz now);
	void send_batch(TimestampTz now);
	bool may_send_batch() const
	{
		return in_flight_.size() < (careful_until_ != 0 ? 1 : BATCHES_IN_FLIGHT);
	}
	std::string send_row(const TxRow &row);
	void keep_alive(TimestampTz now);
	void record(TimestampTz now);
	void pump(TimestampTz &now);
	void database_failed(TimestampTz now);
	void wait(TimestampTz now);
	void publish(WorkerState state, const char *error);
	void follow_presence(session::Events &events);

	session::Session session_;
	MemoryContext results_;
	WaitEventSet *wait_set_ = nullptr;
	int waited_socket_ = -1;
	int socket_position_ = -1;

	bool have_account_ = false;
	session::Account account_;
	bool logging_out_ = false; /* a disconnect we asked for: no backoff */
	WorkerState offline_state_ = WS_NO_ACCOUNT;

	bool tables_wanted_ = true; /* a commit woke us, a reload, or the first turn */
	bool claim_wanted_ = false; /* the queue may hold pending rows */
	TimestampTz next_poll_ = 0; /* the safety poll */
	TimestampTz database_retry_ = 0;
	TimestampTz next_login_ = 0;
	TimestampTz login_deadline_ = 0;
	TimestampTz next_ping_ = 0;
	std::string ping_id_;
	TimestampTz ping_deadline_ = 0;
	Backoff backoff_;
	std::string last_error_;

	std::deque<InFlight> in_flight_;
	/* After a batch was lost with the connection, send one row at a time up to this id. */
	int64_t careful_until_ = 0;
	SentIds sent_ids_;
	presence::Mirror mirror_;
	std::unique_ptr<resolver::Lookup> lookup_; /* the server's address, while a login starts */

	/* Waiting for the next record(). */
	std::vector<int64_t> confirmed_;
	std::vector<int64_t> failed_rows_;
	std::vector<std::string> failure_reasons_;
	std::vector<session::IncomingMessage> received_;
	std::vector<presence::Change> presence_changes_;
	bool presence_reset_ = false;
};

Worker *running_worker = nullptr;

Worker::Worker() : session_(jabclnd_log_level)
{
	results_ = AllocSetContextCreate(TopMemoryContext, "jabclnd results", ALLOCSET_DEFAULT_SIZES);
	running_worker = this;
}

Worker::~Worker()
{
	running_worker = nullptr;
	if (wait_set_)
		FreeWaitEventSet(wait_set_);
	MemoryContextDelete(results_);
}

void
Worker::publish(WorkerState state, const char *error)
{
	shared_state_set(state, have_account_ ? account_.jid.c_str() : "", error);
}

void
Worker::log_out()
{
	if (session_.phase() == session::Phase::idle)
		return;
	session_.disconnect();
	const TimestampTz give_up = after_ms(GetCurrentTimestamp(), LOGOUT_MS);
	while (session_.phase() != session::Phase::idle && GetCurrentTimestamp() < give_up)
	{
		session_.pump();
		/*
		 * A message arriving now cannot be recorded (the worker is on its
		 * way out): drop the connection before libstrophe acknowledges
		 * it, so that the server keeps it for the next login.
		 */
		if (session_.holds_messages())
			break;
		pg_usleep(10000);
	}
	session_.abort("logged out");
}

/*
 * Settings that decide which database and role the worker uses, and
 * whether it runs at all, cannot change under a connected background
 * worker: it logs out and exits, and the postmaster starts it again with
 * the new values. The rest take effect at the next batch or login.
 */
void
Worker::reload_settings()
{
	char *database = pstrdup(jabclnd_database);
	char *role = pstrdup(jabclnd_role);

	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	if (!jabclnd_enabled || strcmp(database, jabclnd_database) != 0 ||
	    strcmp(role, jabclnd_role) != 0)
	{
		ereport(LOG, (errmsg("jabclnd worker restarting: jabclnd.enabled, jabclnd.database or "
		                     "jabclnd.role changed")));
		log_out();
		proc_exit(1);
	}
	pfree(database);
	pfree(role);
	mirror_.set_policy(subscription_policy());
	session_.set_log_level(jabclnd_log_level);
	tables_wanted_ = true;
}

void
Worker::database_failed(TimestampTz now)
{
	database_retry_ = after_ms(now, DATABASE_RETRY_MS);
	shared_state_set(session_.phase() == session::Phase::online ? WS_ONLINE : WS_DATABASE_ERROR,
	                 nullptr, store_last_error());
}

/*
 * Reads the enabled account. A change of login data (or the account going
 * away, or the extension being dropped) logs the session out; the next
 * turn logs in with what is there now.
 */
void
Worker::look_at_tables(TimestampTz now)
{
	TablesSnapshot snapshot;

	tables_wanted_ = false;
	next_poll_ = after_ms(now, jabclnd_safety_poll_interval_ms);
	MemoryContextReset(results_);
	if (!store_load_account(results_, &snapshot))
	{
		database_failed(now);
		return;
	}
	const TablesFound tables = snapshot.tables;
	const AccountRow &row = snapshot.account;
	if (tables == TablesFound::present)
		mirror_.set_enabled_logins(
		    std::set<std::string>(snapshot.logins, snapshot.logins + snapshot.login_count));

	session::Account wanted;
	const bool want_account = tables == TablesFound::present && row.found;
	if (want_account)
	{
		wanted.jid = row.jid;
		wanted.password = row.password;
		wanted.host = row.host ? row.host : "";
		wanted.port = row.port;
	}
	offline_state_ = tables == TablesFound::missing ? WS_NO_EXTENSION : WS_NO_ACCOUNT;

	if (want_account != have_account_ || (want_account && wanted != account_))
	{
		if (session_.phase() != session::Phase::idle)
		{
			ereport(LOG, (errmsg("jabclnd: the XMPP account changed; logging out of %s",
			                     account_.jid.c_str())));
			logging_out_ = true;
			session_.disconnect();
		}
		lookup_.reset();
		have_account_ = want_account;
		account_ = wanted;
		backoff_.reset();
		next_login_ = now;
		last_error_.clear();
		if (!have_account_)
			publish(offline_state_, "");
	}
	if (tables == TablesFound::present)
		claim_wanted_ = true;
}

/*
 * A login starts with the server's address: srv_host, or the JID's domain.
 * The lookup runs beside the loop (resolver.h) under the same deadline as
 * the rest of the login.
 */
void
Worker::look_up_server(TimestampTz now)
{
	if (!have_account_)
	{
		lookup_.reset();
		return;
	}
	if (!lookup_)
	{
		std::string host = account_.host;
		if (host.empty())
			host = stanza::split_jid(account_.jid).domain;
		publish(WS_CONNECTING, nullptr);
		login_deadline_ = after_ms(now, jabclnd_connect_timeout_ms);
		lookup_.reset(new resolver::Lookup(host));
	}
	switch (lookup_->poll())
	{
	case resolver::Status::pending:
		if (now >= login_deadline_)
		{
			lookup_.reset();
			session::Ending ending;
			ending.reason = "the server's address could not be looked up within "
			                "jabclnd.connect_timeout";
			connection_ended(ending, now);
		}
		return;
	case resolver::Status::failed:
	{
		session::Ending ending;
		ending.reason = lookup_->error();
		lookup_.reset();
		connection_ended(ending, now);
		return;
	}
	case resolver::Status::done:
	{
		const std::string address = lookup_->address();
		lookup_.reset();
		start_login(now, address);
		return;
	}
	}
}

void
Worker::start_login(TimestampTz now, const std::string &address)
{
	session::Options options;
	options.tls = tls_setting();
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
	session::Account connect_to = account_;
	connect_to.host = address;
	const std::string problem = session_.connect(connect_to, options);
	if (!problem.empty())
	{
		session::Ending ending;
		ending.reason = problem;
		connection_ended(ending, now);
		return;
	}
	/* What is left of the deadline after the lookup guards libstrophe's blocking handshake. */
	enable_timeout_after(login_timer, std::max<long>(ms_until(now, login_deadline_), 1));
}

void
Worker::drive_connection(TimestampTz now)
{
	switch (session_.phase())
	{
	case session::Phase::idle:
		if (lookup_ || (have_account_ && now >= next_login_))
			look_up_server(now);
		break;
	case session::Phase::connecting:
		if (now >= login_deadline_)
			session_.abort("login did not complete within jabclnd.connect_timeout (" +
			               std::to_string(jabclnd_connect_timeout_ms / 1000) + " s)");
		break;
	case session::Phase::online:
	case session::Phase::closing:
		break;
	}
}

/*
 * A connection ended: rows of an unconfirmed batch stay pending (they are
 * sent again, one at a time, so that a row that kills connections shows
 * itself), and a login is scheduled with backoff unless we logged out on
 * purpose.
 */
void
Worker::connection_ended(const session::Ending &ending, TimestampTz now)
{
	disable_timeout(login_timer, false);
	std::string reason = ending.reason;
	if (!ending.was_online && login_deadline_ != 0 && now >= login_deadline_)
		reason = "login did not complete within jabclnd.connect_timeout (" +
		         std::to_string(jabclnd_connect_timeout_ms / 1000) + " s)";
	else if (!ending.was_online && handshake_broken)
		reason = "login interrupted while the server was silent during the TLS handshake (" +
		         reason + ")";
	handshake_broken = false;
	login_deadline_ = 0;
	if (!in_flight_.empty())
	{
		careful_until_ = std::max(careful_until_, in_flight_.back().rows.back());
		last_error_ = reason;
		in_flight_.clear();
	}
	ping_id_.clear();
	/* Offline, we no longer know who is online: every flag we set goes back to false. */
	mirror_.stop();
	/* Changes taken but not recorded yet: the reset covers them, true or false. */
	if (!presence_changes_.empty())
		presence_reset_ = true;
	presence_changes_.clear();
	presence_reset_ = presence_reset_ || mirror_.take_reset();

	if (logging_out_ || !have_account_)
	{
		logging_out_ = false;
		next_login_ = now;
		if (!have_account_)
			publish(offline_state_, "");
		return;
	}
	const int delay = backoff_.next_delay_ms();
	next_login_ = after_ms(now, delay);
	publish(ending.auth_failed ? WS_AUTH_FAILED : WS_OFFLINE, reason.c_str());
	shared_state_set_next_retry(next_login_);
	ereport(LOG, (errmsg("jabclnd: %s %s: %s; next attempt in %.1f s",
	                     ending.was_online ? "connection lost for" : "could not log in as",
	                     account_.jid.c_str(), reason.c_str(), delay / 1000.0)));
}

void
Worker::take_events(TimestampTz now)
{
	session::Events events = session_.take_events();

	for (const session::LogLine &line : events.log)
		if (line.level >= jabclnd_log_level)
			ereport(LOG, (errmsg("jabclnd: libstrophe %s", line.text.c_str())));

	if (events.came_online)
	{
		disable_timeout(login_timer, false);
		login_deadline_ = 0;
		backoff_.reset();
		claim_wanted_ = true;
		next_ping_ = after_ms(now, jabclnd_ping_interval_ms);
		publish(WS_ONLINE, "");
		/* jabclnd.away_is_available is read here: a change applies from the next login. */
		mirror_.start(session_.bound_jid(), subscription_policy(), jabclnd_away_is_available);
		ereport(LOG, (errmsg("jabclnd: logged in as %s", session_.bound_jid().c_str())));
	}
	for (const session::Ending &ending : events.endings)
		connection_ended(ending, now);

	for (const std::string &id : events.answered_iq_ids)
	{
		/* The server answers in order: the oldest batch in flight is the one confirmed. */
		if (!in_flight_.empty() && id == in_flight_.front().barrier_id)
		{
			const InFlight &batch = in_flight_.front();
			confirmed_.insert(confirmed_.end(), batch.rows.begin(), batch.rows.end());
			if (careful_until_ != 0 && batch.rows.back() >= careful_until_)
				careful_until_ = 0;
			in_flight_.pop_front();
			next_ping_ = after_ms(now, jabclnd_ping_interval_ms);
		}
		if (id == ping_id_)
		{
			ping_id_.clear();
			next_ping_ = after_ms(now, jabclnd_ping_interval_ms);
		}
	}
	for (const session::MessageError &error : events.errors)
	{
		const int64_t row = sent_ids_.find(error.id);
		if (row != 0)
		{
			failed_rows_.push_back(row);
			failure_reasons_.push_back(error.reason);
		}
	}
	for (session::IncomingMessage &message : events.messages)
		received_.push_back(std::move(message));
	follow_presence(events);
}

/*
 * Feeds the presence mirror and carries out the roster changes it asks
 * for. The flag changes it produces wait for record().
 */
void
Worker::follow_presence(session::Events &events)
{
	for (const session::RosterEvent &roster : events.rosters)
		mirror_.roster(roster.items, roster.complete);
	for (const presence::Update &update : events.presences)
		mirror_.presence(update);
	for (const std::string &jid : events.subscription_requests)
		mirror_.subscription_request(jid);
	for (const std::string &jid : events.unsubscribe_requests)
		mirror_.unsubscribe_request(jid);
	for (const presence::RosterAction &action : mirror_.take_actions())
		session_.carry_out(action);
	for (presence::Change &change : mirror_.take_changes())
		presence_changes_.push_back(std::move(change));
	presence_reset_ = presence_reset_ || mirror_.take_reset();
}

std::string
Worker::send_row(const TxRow &row)
{
	const std::string id = stanza::row_stanza_id(row.id, row.inserted_us);
	const size_t max_size = static_cast<size_t>(jabclnd_max_stanza_size);

	if (row.stanza)
	{
		std::string problem = stanza::check_xml_text(row.stanza, "message_stanza");
		if (!problem.empty())
			return problem;
		const std::string sent_id = session_.send_raw_message(row.stanza, id, max_size, &problem);
		if (problem.empty())
			sent_ids_.remember(sent_id, row.id);
		return problem;
	}

	const std::string subject = row.subject ? row.subject : "";
	const std::string body = row.body ? row.body : "";
	const std::string type = row.type ? row.type : "chat";
	std::string problem = stanza::check_message_parts(
	    row.to, type, row.subject ? &subject : nullptr, row.body ? &body : nullptr);
	if (problem.empty())
		problem = session_.send_message(row.to, type, row.subject ? &subject : nullptr,
		                                row.body ? &body : nullptr, id, max_size);
	return problem;
}

/*
 * Claims a batch and sends it, followed by the barrier ping. Rows that
 * cannot be sent fail here, each with its reason, without reaching the
 * server; rows that have been sent max_attempts times without the server
 * confirming them fail with the last connection error.
 */
void
Worker::send_batch(TimestampTz now)
{
	const int limit = careful_until_ != 0 ? 1 : jabclnd_batch_size;
	TxRow *rows = nullptr;
	int count = 0;

	const int64_t after_id = in_flight_.empty() ? 0 : in_flight_.back().last_claimed;

	MemoryContextReset(results_);
	if (!store_claim_batch(results_, limit, after_id, &rows, &count))
	{
		database_failed(now);
		return;
	}
	claim_wanted_ = count == limit;
	std::sort(rows, rows + count, [](const TxRow &a, const TxRow &b) { return a.id < b.id; });

	InFlight batch;
	batch.last_claimed = count > 0 ? rows[count - 1].id : 0;
	for (int i = 0; i < count; i++)
	{
		std::string problem;
		if (rows[i].attempts > jabclnd_max_attempts)
			problem = "not confirmed by the server after " + std::to_string(jabclnd_max_attempts) +
			          " attempts (jabclnd.max_attempts); the connection was lost each time: " +
			          (last_error_.empty() ? std::string("no error recorded") : last_error_);
		else
			problem = send_row(rows[i]);
		if (problem.empty())
			batch.rows.push_back(rows[i].id);
		else
		{
			failed_rows_.push_back(rows[i].id);
			failure_reasons_.push_back(problem);
			if (careful_until_ != 0 && rows[i].id >= careful_until_)
				careful_until_ = 0;
		}
	}
	if (batch.rows.empty())
		return;
	batch.barrier_id = session_.send_ping();
	batch.deadline = after_ms(now, jabclnd_ping_interval_ms);
	in_flight_.push_back(std::move(batch));
}

/*
 * XEP-0199 pings to the server: a connection that does not answer within
 * jabclnd.ping_interval is dead, whatever TCP thinks. A batch in flight is
 * its own ping.
 */
void
Worker::keep_alive(TimestampTz now)
{
	if (!in_flight_.empty() && now >= in_flight_.front().deadline)
	{
		session_.abort("the server did not confirm a batch within jabclnd.ping_interval (" +
		               std::to_string(jabclnd_ping_interval_ms / 1000) + " s)");
		return;
	}
	if (!ping_id_.empty() && now >= ping_deadline_)
	{
		session_.abort("no answer to a ping within jabclnd.ping_interval (" +
		               std::to_string(jabclnd_ping_interval_ms / 1000) + " s)");
		return;
	}
	if (ping_id_.empty() && in_flight_.empty() && now >= next_ping_)
	{
		ping_id_ = session_.send_ping();
		ping_deadline_ = after_ms(now, jabclnd_ping_interval_ms);
	}
}

/* One transaction for everything the last pumps produced. */
void
Worker::record(TimestampTz now)
{
	if (mirror_.take_reset())
		presence_reset_ = true;
	if (confirmed_.empty() && failed_rows_.empty() && received_.empty() &&
	    presence_changes_.empty() && !presence_reset_)
		return;
	if (now < database_retry_)
		return;

	std::vector<RowFailure> failures(failed_rows_.size());
	for (size_t i = 0; i < failed_rows_.size(); i++)
		failures[i] = RowFailure{failed_rows_[i], failure_reasons_[i].c_str()};
	std::vector<RxRow> received(received_.size());
	for (size_t i = 0; i < received_.size(); i++)
	{
		const session::IncomingMessage &m = received_[i];
		received[i] = RxRow{m.stanza.c_str(),
		                    m.from.empty() ? nullptr : m.from.c_str(),
		                    m.type.c_str(),
		                    m.id.empty() ? nullptr : m.id.c_str(),
		                    m.has_subject ? m.subject.c_str() : nullptr,
		                    m.has_body ? m.body.c_str() : nullptr};
	}
	std::vector<PresenceRow> presence(presence_changes_.size());
	for (size_t i = 0; i < presence_changes_.size(); i++)
		presence[i] =
		    PresenceRow{presence_changes_[i].login.c_str(), presence_changes_[i].available};
	Outcomes outcomes = {confirmed_.data(),
	                     static_cast<int>(confirmed_.size()),
	                     failures.data(),
	                     static_cast<int>(failures.size()),
	                     received.data(),
	                     static_cast<int>(received.size()),
	                     presence_reset_,
	                     presence.data(),
	                     static_cast<int>(presence.size())};
	if (!store_record(&outcomes))
	{
		database_failed(now);
		return;
	}
	shared_state_count(confirmed_.size(), failed_rows_.size(), received_.size());
	confirmed_.clear();
	failed_rows_.clear();
	failure_reasons_.clear();
	received_.clear();
	presence_changes_.clear();
	presence_reset_ = false;
}

/*
 * Sleeps until the latch, the socket or the nearest of our own deadlines.
 * The wait set is rebuilt whenever the socket changes (a new login may
 * reuse the number of a closed one).
 */
void
Worker::wait(TimestampTz now)
{
	const session::Phase phase = session_.phase();
	const int socket = session_.socket();

	if (wait_set_ == nullptr || socket != waited_socket_)
	{
		if (wait_set_)
			FreeWaitEventSet(wait_set_);
		wait_set_ = CreateWaitEventSet(TopMemoryContext, 3);
		AddWaitEventToSet(wait_set_, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, nullptr);
		AddWaitEventToSet(wait_set_, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
		socket_position_ =
		    socket >= 0 ? AddWaitEventToSet(wait_set_, WL_SOCKET_READABLE, socket, nullptr, nullptr)
		                : -1;
		waited_socket_ = socket;
	}
	if (socket_position_ >= 0)
		ModifyWaitEvent(
		    wait_set_, socket_position_,
		    WL_SOCKET_READABLE |
		        (session_.tcp_connecting() || session_.wants_to_write() ? WL_SOCKET_WRITEABLE : 0),
		    nullptr);

	TimestampTz until = next_poll_;
	auto sooner = [&until](TimestampTz when)
	{
		if (when != 0 && when < until)
			until = when;
	};
	if (phase == session::Phase::idle && have_account_)
		sooner(next_login_);
	if (phase == session::Phase::connecting)
		sooner(login_deadline_);
	if (phase == session::Phase::online)
	{
		sooner(in_flight_.empty() ? next_ping_ : in_flight_.front().deadline);
		if (!ping_id_.empty())
			sooner(ping_deadline_);
	}
	/* Outcomes left over only because the database failed: retry when it is due. */
	if (!confirmed_.empty() || !failed_rows_.empty() || !received_.empty() ||
	    !presence_changes_.empty() || presence_reset_)
		sooner(database_retry_);
	long timeout = ms_until(now, until);
	if (phase != session::Phase::idle)
		timeout = std::min<long>(timeout, CONNECTED_WAIT_MS);
	if (lookup_)
		timeout = std::min<long>(timeout, LOOKUP_POLL_MS);
	if (claim_wanted_ && phase == session::Phase::online && may_send_batch() &&
	    now >= database_retry_)
		timeout = 0;
	if (phase != session::Phase::idle && session_.cut_short() && received_.empty())
		timeout = 0;

	WaitEvent event;
	if (WaitEventSetWait(wait_set_, timeout, &event, 1, PG_WAIT_EXTENSION) > 0 &&
	    (event.events & WL_LATCH_SET))
	{
		ResetLatch(MyLatch);
		/* Not every latch event is a commit (see shared_state_wake_worker). */
		if (shared_state_take_tables_changed())
			tables_wanted_ = true;
	}
}

/*
 * Runs libstrophe and records what it produced. While received messages
 * wait for the database (a failed unit, retried later), libstrophe is not
 * run at all: running it would acknowledge them to the server. The
 * connection then stalls and, past jabclnd.ping_interval, is dropped, and
 * the server keeps what was not acknowledged for the next login.
 */
void
Worker::pump(TimestampTz &now)
{
	if (session_.phase() != session::Phase::idle && received_.empty())
		session_.pump();
	now = GetCurrentTimestamp();
	take_events(now);
	record(now);
}

[[noreturn]] void
Worker::run()
{
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
			reload_settings();

		TimestampTz now = GetCurrentTimestamp();
		if ((tables_wanted_ || now >= next_poll_) && now >= database_retry_)
			look_at_tables(now);
		drive_connection(now);

		pump(now);
		if (session_.phase() == session::Phase::online)
		{
			if (claim_wanted_ && may_send_batch() && now >= database_retry_)
				send_batch(now);
			keep_alive(now);
			/* Put what was just queued on the wire before sleeping. */
			pump(now);
		}
		wait(now);
	}
}

/* before_shmem_exit: log out of XMPP politely, then say the worker is gone. */
void
on_worker_exit(int, Datum)
{
	if (running_worker)
	{
		try
		{
			running_worker->log_out();
		}
		catch (...)
		{
		}
	}
	shared_state_unregister_worker();
}

/*
 * jabclnd.enabled = off: the worker stays out of the database (so that it
 * can be dropped) and waits for a reload that turns it back on.
 */
void
wait_until_enabled(void)
{
	shared_state_set(WS_DISABLED, "", "jabclnd.enabled is off");
	while (!jabclnd_enabled)
	{
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}

/*
 * The worker cannot serve this database: wait, running no SQL, until a
 * reload names another database (or turns the worker off), then exit so
 * the postmaster starts it afresh.
 */
[[noreturn]] void
wait_for_other_database(void)
{
	const std::string database = jabclnd_database;
	for (;;)
	{
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (!jabclnd_enabled || database != jabclnd_database)
				proc_exit(1);
		}
	}
}

} // namespace

void
register_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof worker);
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* Never on a standby: the queue tables are written by the worker. */
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "jabclnd");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "jabclnd_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "jabclnd worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "jabclnd worker");
	RegisterBackgroundWorker(&worker);
}

void
jabclnd_worker_main(Datum)
{
	char failure[512] = "";

	pqsignal(SIGTERM, handle_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGUSR1, handle_sigusr1);
	/* libstrophe writes with send(..., 0): a dead peer must not kill the process. */
	pqsignal(SIGPIPE, SIG_IGN);
	login_timer = RegisterTimeout(USER_TIMEOUT, handle_login_deadline);
	BackgroundWorkerUnblockSignals();

	shared_state_register_worker();
	before_shmem_exit(on_worker_exit, 0);

	if (!jabclnd_enabled)
		wait_until_enabled();

	BackgroundWorkerInitializeConnection(jabclnd_database, jabclnd_role[0] ? jabclnd_role : nullptr,
	                                     0);
	pgstat_report_appname("jabclnd worker");
	/*
	 * A table lock someone holds (LOCK TABLE, a long ALTER) must not stall
	 * the XMPP side for its duration: a unit that waits this long fails,
	 * and is retried like any failed unit.
	 */
	SetConfigOption("lock_timeout", "5s", PGC_SUSET, PGC_S_OVERRIDE);

	if (GetDatabaseEncoding() != PG_UTF8)
	{
		ereport(LOG, (errmsg("jabclnd: database \"%s\" uses encoding %s; jabclnd needs UTF8",
		                     jabclnd_database, GetDatabaseEncodingName()),
		              errhint("XMPP is UTF-8 throughout. Point jabclnd.database at a UTF8 "
		                      "database.")));
		shared_state_set(WS_DATABASE_ERROR, "", "jabclnd.database is not a UTF8 database");
		wait_for_other_database();
	}

	/*
	 * From here on, a PostgreSQL error outside store.cpp's units becomes
	 * FATAL instead of a longjmp back to StartBackgroundWorker through the
	 * C++ frames below (see the header comment).
	 */
	PG_exception_stack = nullptr;

	try
	{
		Worker worker;
		worker.run();
	}
	catch (const std::exception &e)
	{
		snprintf(failure, sizeof failure, "%s", e.what());
	}
	catch (...)
	{
		snprintf(failure, sizeof failure, "unknown C++ exception");
	}
	ereport(FATAL, (errmsg("jabclnd worker stopped by an internal error: %s", failure)));
}
