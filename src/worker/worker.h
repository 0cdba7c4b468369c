/*
 * worker.h: the Worker, the one place where the two worlds meet: it
 * drives the XMPP session (xmpp/), keeps its books in pure C++ (core/),
 * and persists through the store (pg/). Internal to the background worker.
 *
 *   main.cpp        process entry: signals, connecting to the database,
 *                   the states where the loop cannot run yet
 *   loop.cpp        the loop: wait, look at the tables, pump, record
 *   connection.cpp  logging in, out and over; keep-alive; the events the
 *                   session reports, presence among them
 *   dialing.cpp     finding the server: SRV records, every address of
 *                   each target in turn (core/server_plan.h, core/dialer.h)
 *   sending.cpp     claiming and sending batches (core/send_pipeline.h
 *                   keeps their books)
 *   retention.cpp   deleting expired rows (core/retention.h decides when)
 *
 * One turn of the loop:
 *   wait   in a WaitEventSet on the latch (a commit woke us), postmaster
 *          death, the XMPP socket, and a timeout for our own timers;
 *   look   at the tables if a commit woke us or the safety poll is due:
 *          the account (log in, out or over if it changed), and whether
 *          to claim;
 *   pump   libstrophe without blocking, and take its events;
 *   send   a claimed batch, followed by a ping (the "barrier"): its answer
 *          proves the server processed everything before it; a row to a
 *          group chat room is proven by the room's echo instead;
 *   rooms  (rooms.cpp) the rows of xmpp_rooms drive core/rooms.h; its
 *          joins, leaves and self-pings go out, its states are published
 *          for jabclnd_rooms();
 *   record the outcomes of sent rows with presence (one unit), and received
 *          messages (another), before the next pump, so nothing is
 *          acknowledged that is not committed;
 *   expire one batch of expired rows, if retention is due (retention.cpp).
 *
 * No transaction is ever open while the network is touched: claiming,
 * sending and recording are three separate steps.
 */
#pragma once

#include "core/backoff.h"
#include "core/dialer.h"
#include "core/presence.h"
#include "core/retention.h"
#include "core/round_trips.h"
#include "core/rooms.h"
#include "core/send_pipeline.h"
#include "xmpp/resolver.h"
#include "xmpp/session.h"

#include <csignal>
#include <memory>
#include <string>
#include <vector>

/* Last: see pg/pg.h. */
#include "pg/pg.h"
#include "pg/shared_state.h"
#include "pg/stop_request.h"
#include "pg/store.h"

/* Armed at each login for jabclnd.connect_timeout; registered in main.cpp. */
extern TimeoutId login_timer;
/* Set by a signal handler that cut a stalled TLS handshake (main.cpp). */
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
/* jabclnd.receive_from as the presence mirror's rule for messages. */
presence::Senders message_senders(void);
/* The rooms' settings (jabclnd.room_invitations among them). */
rooms::Settings room_settings(void);
/* The retention settings (jabclnd.keep_*, jabclnd.retention_*). */
retention::Settings retention_settings(void);

/*
 * One login's search for its server (dialing.cpp): the SRV lookups, then
 * the dialer's targets and addresses, one connection attempt at a time.
 */
struct Dial
{
	enum class Stage
	{
		srv,      /* waiting for the SRV answers */
		addresses /* looking up the current target, or connecting to its address */
	};
	Stage stage = Stage::srv;
	resolver::Resolver resolver;
	std::string domain;
	std::unique_ptr<Dialer> dialer; /* once the plan is known */
	bool address_lookup_running = false;
	TimestampTz step_deadline = 0; /* of the lookup running */
};

/* A received message waiting for record(), with what storing it needs beyond the stanza. */
struct ReceivedMessage
{
	session::IncomingMessage message;
	std::string stanza_id; /* a room's XEP-0359 stanza-id, "" if none */
	/* A room's history: where the store looks for it stored already (RxRow); 0 if live. */
	TimestampTz history_from;
	TimestampTz history_until;
};

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
	void retries_due(TimestampTz now);
	bool offline_from(const TablesSnapshot &snapshot);
	void drive_connection(TimestampTz now);
	void dial(TimestampTz now);
	bool start_dial(TimestampTz now);
	bool plan_from_srv_answers(TimestampTz now);
	bool find_address(TimestampTz now);
	void start_login(TimestampTz now);
	bool login_attempt_failed(session::Ending &ending, TimestampTz now);
	void dial_failed(const std::string &reason, TimestampTz now);
	void take_events(TimestampTz now);
	void connection_ended(const session::Ending &ending, TimestampTz now);
	void send_batch(TimestampTz now);
	std::string send_row(const TxRow &row);
	void keep_alive(TimestampTz now);
	void record(TimestampTz now);
	bool record_outcomes();
	bool record_received();
	void drop_unreplicated(size_t count);
	void pump(TimestampTz &now);
	void database_failed(TimestampTz now);
	void new_installation(uint32_t installation);
	void stop_when_answered(TimestampTz now);
	void wait(TimestampTz now);
	void publish(WorkerState state, const char *error);
	void follow_presence(session::Events &events);
	void set_room_rows(const TablesSnapshot &snapshot, TimestampTz now);
	void follow_rooms(session::Events &events, TimestampTz now);
	bool room_message(session::IncomingMessage &message, TimestampTz now, uint64_t *ignored);
	void drive_rooms(TimestampTz now);
	void accept_invitation(const rooms::Action &action);
	void invitation_ignored(const std::string &from, const rooms::Verdict &verdict);
	void publish_rooms(const std::vector<rooms::RoomStatus> &changes);
	std::vector<std::string> waiting_rooms() const;
	std::string send_groupchat_row(const TxRow &row, const std::string &id,
	                               const std::string &stable_id);
	int next_backoff_ms(Backoff &backoff);
	void expire(TimestampTz now);
	TimestampTz retention_wake() const;
	void count_failures();
	/* Whether a batch may be claimed and sent now. */
	bool claim_due(TimestampTz now) const
	{
		return session_.phase() == session::Phase::online && pipeline_.claim_due() &&
		       now >= database_retry_ && !stop_requested;
	}

	session::Session session_;
	MemoryContext results_;
	WaitEventSet *wait_set_ = nullptr;
	int waited_socket_ = -1;
	int socket_position_ = -1;

	bool have_account_ = false;
	session::Account account_;
	bool logging_out_ = false; /* a disconnect we asked for: no backoff */
	/* The state without an account, and why (WS_STOPPED: not looked yet). */
	WorkerState offline_state_ = WS_STOPPED;
	std::string offline_error_;
	std::string refused_version_; /* the extension's version last refused (and logged) */

	bool tables_wanted_ = true; /* a commit woke us, a reload, or the first turn */
	TimestampTz next_poll_ = 0; /* the safety poll */
	TimestampTz database_retry_ = 0;
	TimestampTz next_login_ = 0;
	TimestampTz login_deadline_ = 0;
	TimestampTz next_ping_ = 0;
	std::string ping_id_;
	TimestampTz ping_deadline_ = 0;
	TimestampTz stop_deadline_ = 0;  /* a stop was asked for: end by then at the latest */
	TimestampTz next_retry_due_ = 0; /* the earliest next_attempt_at still to come, 0 if none */
	Backoff backoff_;
	Backoff replaced_backoff_; /* reset by any ending but a replacement */

	pipeline::SendPipeline pipeline_;
	uint32_t installation_ = 0;  /* the extension the pipeline's rows belong to (its oid) */
	bool tables_served_ = false; /* the last look found the tables of the version we serve */
	retention::Schedule retention_;
	RoundTrips barriers_; /* barriers in flight, for the metrics' round trip */
	presence::Mirror mirror_;
	rooms::Rooms rooms_;
	std::unique_ptr<Dial> dial_; /* while a login looks for its server */
	std::string login_where_;    /* the target and address of the login in progress */

	/* Waiting for the next record(), beside the pipeline's outcomes. */
	std::vector<ReceivedMessage> received_;
	int failed_receive_tries_ = 0; /* of storing received_, since it was last emptied */
	std::vector<presence::Change> presence_changes_;
	std::vector<presence::ResourceChange> resource_changes_;
	bool presence_reset_ = false;
	/* Whether presence waits for record(). */
	bool presence_pending() const
	{
		return !presence_changes_.empty() || !resource_changes_.empty() || presence_reset_;
	}
	/* Whether anything waits for record(). */
	bool outcomes_pending() const
	{
		return pipeline_.has_outcomes() || !received_.empty() || presence_pending();
	}
};

/* The worker of this process, for the exit callback; null when none. */
extern Worker *running_worker;
