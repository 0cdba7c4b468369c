/*
 * worker_loop.h: the worker's state and loop, shared by the files that
 * implement it (internal to the background worker).
 *
 *   worker.cpp             process entry: signals, connecting to the
 *                          database, the states where the loop cannot run
 *   worker_loop.cpp        the loop: wait, look at the tables, pump, record
 *   worker_connection.cpp  logging in, out and over; keep-alive; presence
 *   worker_sending.cpp     claiming, sending and confirming batches
 *
 * One turn of the loop:
 *   wait   in a WaitEventSet on the latch (a commit woke us), postmaster
 *          death, the XMPP socket, and a timeout for our own timers;
 *   look   at the tables if a commit woke us or the safety poll is due:
 *          the account (log in, out or over if it changed), and whether
 *          to claim;
 *   pump   libstrophe without blocking, and take its events;
 *   send   a claimed batch, followed by a ping (the "barrier"): its answer
 *          proves the server processed everything before it;
 *   record outcomes and received messages in one transaction, before the
 *          next pump, so nothing is acknowledged that is not committed.
 *
 * No transaction is ever open while the network is touched: claiming,
 * sending and recording are three separate steps.
 */
#pragma once

#include "pg.h"
#include "presence.h"
#include "resolver.h"
#include "session.h"
#include "shared_state.h"
#include "store.h"

#include <csignal>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

/* Armed at each login for jabclnd.connect_timeout; registered in worker.cpp. */
extern TimeoutId login_timer;
/* Set by a signal handler that cut a stalled TLS handshake (worker.cpp). */
extern volatile sig_atomic_t handshake_broken;

inline TimestampTz
after_ms(TimestampTz from, int ms)
{
	return TimestampTzPlusMilliseconds(from, ms);
}

/* Milliseconds from now until when, rounded up; 0 if it has passed. */
inline long
ms_until(TimestampTz now, TimestampTz when)
{
	if (when <= now)
		return 0;
	return static_cast<long>((when - now + 999) / 1000);
}

/* jabclnd.subscriptions as the presence mirror's policy. */
presence::Policy subscription_policy(void);

/*
 * The id a stanza was sent with, mapped back to its tx row, for error
 * replies. Rows built by the worker carry their row id in the stanza id;
 * raw stanzas that came with an id of their own are remembered here, the
 * most recent REMEMBERED_STANZA_IDS of them.
 */
class SentIds
{
  public:
	void remember(const std::string &id, int64_t row);
	/* The row a stanza id belongs to, or 0. */
	int64_t find(const std::string &id) const;

  private:
	std::unordered_map<std::string, int64_t> rows_;
	std::deque<std::string> order_;
};

/* Exponential backoff with jitter between login attempts. */
class Backoff
{
  public:
	void reset() { failures_ = 0; }
	/* The delay before the next attempt; each call counts a failure. */
	int next_delay_ms();

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
	void confirm_batch(const std::string &answered_id, TimestampTz now);
	void fail_rejected_rows(const std::vector<session::MessageError> &errors);
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
	Backoff replaced_backoff_; /* reset by any ending but a replacement */
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
	std::vector<presence::ResourceChange> resource_changes_;
	bool presence_reset_ = false;
	/* Whether presence waits for record(). */
	bool presence_pending() const
	{
		return !presence_changes_.empty() || !resource_changes_.empty() || presence_reset_;
	}
};

/* The worker of this process, for the exit callback; null when none. */
extern Worker *running_worker;
