/*
 * loop.cpp: the worker's main loop (see worker.h for one turn of it):
 * waiting, looking at the tables, pumping libstrophe and recording what it
 * produced.
 */
#include <algorithm>
#include <set>

#include "core/failure_condition.h"
#include "core/schema_version.h"
#include "worker/worker.h"

#include "pg/settings.h"

namespace
{

/* How long a failed unit of SQL work waits before it is tried again. */
const int DATABASE_RETRY_MS = 5000;
/*
 * Failed tries of storing the same received messages after which a
 * serialization failure or deadlock raised for one message sets it aside
 * instead of failing the unit again: 15 s of retries, then nothing waits.
 */
const int RECEIVE_TRIES = 3;
/* While a connection is up, wake at least this often: TLS may hold data the socket does not show.
 */
const int CONNECTED_WAIT_MS = 1000;
/* How often running DNS lookups (dialing.cpp) are polled. */
const int LOOKUP_POLL_MS = 10;
/*
 * How often libstrophe is run while a login is in progress. Its own
 * answers during a login (<auth/>, the stream restart, the bind iq) go into
 * a send queue that xmpp_conn_send_queue_len() does not count in 0.12, so
 * the socket's writability cannot tell us; and the server waits for them.
 * Waiting for the socket alone stalled one login in three by a whole
 * CONNECTED_WAIT_MS (measured on Prosody and ejabberd). A login lasts some
 * hundred milliseconds: polling through it costs nothing.
 */
const int LOGIN_POLL_MS = 10;

} // namespace

Worker *running_worker = nullptr;

/*
 * The rooms take their settings now, not only at the first reload (a value
 * in postgresql.conf counts from the start), and PostgreSQL's generator for
 * the jitter of their backoffs, so that the workers of many databases do not
 * rejoin a room in step.
 */
Worker::Worker()
    : session_(jabclnd_log_level),
      rooms_(room_settings(), [] { return pg_prng_double(&pg_global_prng_state); })
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
	rooms_.set_settings(room_settings());
	session_.set_log_level(jabclnd_log_level);
	retention_.set_settings(retention_settings(), GetCurrentTimestamp());
	tables_wanted_ = true;
	/*
	 * A reload is the operator saying "try now" (a server fixed, the other
	 * node of a split brain fenced): a login waiting out a backoff goes at
	 * once, and the backoffs start again from jabclnd.retry_min_delay.
	 */
	backoff_.reset();
	replaced_backoff_.reset();
	if (session_.phase() == session::Phase::idle && have_account_)
	{
		next_login_ = GetCurrentTimestamp();
		shared_state_set_next_retry(0);
	}
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
	tables_served_ = tables == TablesFound::present;
	if (snapshot.installation != installation_)
		new_installation(snapshot.installation);
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
	const bool offline_changed = offline_from(snapshot);

	if (want_account != have_account_ || (want_account && wanted != account_))
	{
		if (session_.phase() != session::Phase::idle)
		{
			ereport(LOG, (errmsg("jabclnd: the XMPP account changed; logging out of %s",
			                     account_.jid.c_str())));
			logging_out_ = true;
			/*
			 * Messages that could not be stored (the extension went away
			 * under them) hold libstrophe still, and a polite logout would
			 * wait for it forever: drop the connection unacknowledged, and
			 * the server delivers them at the account's next login.
			 */
			if (received_.empty())
				session_.disconnect();
			else
			{
				session_.abort("logged out with received messages not yet stored");
				received_.clear();
				failed_receive_tries_ = 0;
			}
		}
		dial_.reset();
		have_account_ = want_account;
		account_ = wanted;
		backoff_.reset();
		next_login_ = now;
		pipeline_.new_account();
		if (!have_account_)
			publish(offline_state_, offline_error_.c_str());
	}
	else if (!have_account_ && offline_changed)
		publish(offline_state_, offline_error_.c_str());
	if (tables == TablesFound::present)
		pipeline_.rows_may_be_pending();
	next_retry_due_ = tables == TablesFound::present ? snapshot.next_due : 0;
	set_room_rows(snapshot, now);
}

/*
 * Rows that waited for their retry (next_attempt_at) are due: claim from
 * the start once nothing is in flight, as they are below the claims made
 * since; and look at the tables, which finds when the next retry is due.
 * The worker sleeps until then (wait): no polling for retries.
 */
void
Worker::retries_due(TimestampTz now)
{
	if (next_retry_due_ == 0 || now < next_retry_due_)
		return;
	next_retry_due_ = 0;
	tables_wanted_ = true;
	pipeline_.rows_below_may_be_due();
}

/*
 * What the worker is without an account, from what it found: no
 * extension, an extension at a version it does not serve, or no enabled
 * account. A version it does not serve is logged once (until the version
 * changes again), with what to do; the worker keeps looking at each commit
 * and safety poll, and serves the tables as soon as the version matches.
 * Returns whether the state or its reason changed.
 */
bool
Worker::offline_from(const TablesSnapshot &snapshot)
{
	WorkerState state = WS_NO_ACCOUNT;
	std::string error;
	std::string refused;
	if (snapshot.tables == TablesFound::missing)
		state = WS_NO_EXTENSION;
	else if (snapshot.tables == TablesFound::other_version)
	{
		state = WS_SCHEMA_MISMATCH;
		refused = snapshot.version;
		error = schema_version::mismatch_advice(refused, store_schema_version(), jabclnd_database);
		if (refused != refused_version_)
			ereport(LOG, (errmsg("jabclnd: %s; the worker waits, and serves the tables as soon "
			                     "as the versions match",
			                     error.c_str())));
	}
	refused_version_ = refused;
	const bool changed = state != offline_state_ || error != offline_error_;
	offline_state_ = state;
	offline_error_ = error;
	return changed;
}

/*
 * The extension was dropped, or dropped and created again: the send
 * pipeline's books (rows in flight, outcomes not yet recorded, the claim
 * cursor) name rows of the old tables, whose ids the new ones reuse. They
 * are forgotten; answers to stanzas still in flight match nothing now.
 */
void
Worker::new_installation(uint32_t installation)
{
	if (installation_ != 0 && (pipeline_.has_outcomes() || pipeline_.batches_in_flight() > 0))
		ereport(LOG, (errmsg("jabclnd: the extension was dropped: %zu batches in flight and %zu "
		                     "outcomes not yet recorded are forgotten",
		                     pipeline_.batches_in_flight(),
		                     pipeline_.confirmed().size() + pipeline_.failures().size())));
	installation_ = installation;
	pipeline_ = pipeline::SendPipeline();
	if (session_.phase() == session::Phase::online)
		pipeline_.connected(session_.bound_jid());
}

/*
 * Records what the last pumps produced, in two units: the outcomes of sent
 * rows with presence, and the received messages. Apart, so that a message
 * that cannot be stored never holds back the marks (nor the other way).
 */
void
Worker::record(TimestampTz now)
{
	if (mirror_.take_reset())
		presence_reset_ = true;
	/* Stopping, a failed unit is tried again at once: the stop waits STOP_GRACE_MS at most. */
	if (!outcomes_pending() || (now < database_retry_ && !stop_requested))
		return;
	/* Both are tried, whatever the other did. */
	bool ok = true;
	if (pipeline_.has_outcomes() || presence_pending())
		ok = record_outcomes();
	if (!received_.empty())
		ok = record_received() && ok;
	if (!ok)
		database_failed(now);
}

/* Marks of sent and failed rows, and presence: one unit. */
bool
Worker::record_outcomes()
{
	const std::vector<int64_t> &confirmed = pipeline_.confirmed();
	const std::vector<pipeline::Failure> &failed = pipeline_.failures();
	std::vector<RowFailure> failures(failed.size());
	size_t retried = 0;
	TimestampTz earliest_retry = 0;
	for (size_t i = 0; i < failed.size(); i++)
	{
		failures[i] = RowFailure{failed[i].row, failed[i].reason.c_str(), failed[i].retry_at};
		if (failed[i].retry_at == 0)
			continue;
		retried++;
		if (earliest_retry == 0 || failed[i].retry_at < earliest_retry)
			earliest_retry = failed[i].retry_at;
	}
	std::vector<PresenceRow> presence(presence_changes_.size());
	for (size_t i = 0; i < presence_changes_.size(); i++)
		presence[i] =
		    PresenceRow{presence_changes_[i].login.c_str(), presence_changes_[i].available};
	std::vector<ResourceRow> resources(resource_changes_.size());
	for (size_t i = 0; i < resource_changes_.size(); i++)
	{
		const presence::ResourceChange &r = resource_changes_[i];
		resources[i] = ResourceRow{r.jid.c_str(),
		                           r.resource.c_str(),
		                           r.available,
		                           r.show.empty() ? nullptr : r.show.c_str(),
		                           r.status.empty() ? nullptr : r.status.c_str(),
		                           r.priority};
	}
	Outcomes outcomes = {installation_,
	                     confirmed.data(),
	                     static_cast<int>(confirmed.size()),
	                     failures.data(),
	                     static_cast<int>(failures.size()),
	                     presence_reset_,
	                     presence.data(),
	                     static_cast<int>(presence.size()),
	                     resources.data(),
	                     static_cast<int>(resources.size())};
	if (!store_record(&outcomes))
		return false;
	/* Rows waiting for a retry have not failed (yet). */
	shared_state_count(confirmed.size(), failed.size() - retried, 0, 0);
	count_failures();
	if (earliest_retry != 0 && (next_retry_due_ == 0 || earliest_retry < next_retry_due_))
		next_retry_due_ = earliest_retry;
	pipeline_.outcomes_recorded();
	presence_changes_.clear();
	resource_changes_.clear();
	presence_reset_ = false;
	return true;
}

/* The failures just recorded, by condition, for jabclnd_failures(). */
void
Worker::count_failures()
{
	std::vector<int> conditions;
	for (const pipeline::Failure &failure : pipeline_.failures())
		conditions.push_back(failure_condition::of_reason(failure.reason));
	shared_state_count_failures(conditions.data(), static_cast<int>(conditions.size()));
}

/* Received messages: one unit, each message on its own inside it. */
bool
Worker::record_received()
{
	std::vector<RxRow> received(received_.size());
	for (size_t i = 0; i < received_.size(); i++)
	{
		const session::IncomingMessage &m = received_[i].message;
		const std::string &stanza_id = received_[i].stanza_id;
		received[i] = RxRow{m.stanza.c_str(),
		                    m.from.empty() ? nullptr : m.from.c_str(),
		                    m.type.c_str(),
		                    m.id.empty() ? nullptr : m.id.c_str(),
		                    m.has_subject ? m.subject.c_str() : nullptr,
		                    m.has_body ? m.body.c_str() : nullptr,
		                    stanza_id.empty() ? nullptr : stanza_id.c_str(),
		                    received_[i].history_from,
		                    received_[i].history_until};
	}
	int set_aside = 0;
	bool replicated = true;
	/* Never while stopping: a unit cancelled by the stop says nothing about a message. */
	const bool final_try = failed_receive_tries_ + 1 >= RECEIVE_TRIES && !stop_requested;
	if (!store_received(received.data(), static_cast<int>(received.size()), final_try, &set_aside,
	                    &replicated))
	{
		failed_receive_tries_++;
		return false;
	}
	if (!replicated)
		drop_unreplicated(received.size());
	shared_state_count(0, 0, received.size() - set_aside, set_aside);
	received_.clear();
	failed_receive_tries_ = 0;
	return true;
}

/*
 * The commit of received messages ended without the synchronous standby's
 * confirmation: PostgreSQL cancelled its wait (a fast shutdown, the
 * postmaster's death, a cancel) and the rows are on this node only. Were
 * they acknowledged, a failover now would lose them. So the connection is
 * dropped before libstrophe runs again (it would send the ack first thing):
 * the server keeps the messages and hands them to the next login under our
 * resource, this worker's after a cancel, or the promoted standby's.
 *
 * The abort comes before the log line on purpose: ereport() checks for
 * interrupts, and a pending die would exit there, through log_out(), whose
 * polite logout runs libstrophe.
 */
void
Worker::drop_unreplicated(size_t count)
{
	session_.abort("received messages were committed but not confirmed by the synchronous "
	               "standby");
	ereport(WARNING,
	        (errmsg_plural("jabclnd: %zu received message was committed locally but not "
	                       "confirmed by the synchronous standby; dropping the XMPP connection "
	                       "without acknowledging it",
	                       "jabclnd: %zu received messages were committed locally but not "
	                       "confirmed by the synchronous standby; dropping the XMPP connection "
	                       "without acknowledging them",
	                       count, count),
	         errdetail("PostgreSQL cancelled the commit's wait for synchronous replication "
	                   "(shutdown, postmaster death or a cancel)."),
	         errhint("The XMPP server delivers what was not acknowledged again at the next "
	                 "login of this worker, or of the worker of a promoted standby; if this node "
	                 "goes on, a message may be stored twice.")));
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
		const TimestampTz barrier = pipeline_.barrier_deadline();
		sooner(barrier == 0 ? next_ping_ : barrier);
		if (!ping_id_.empty())
			sooner(ping_deadline_);
		sooner(pipeline_.echo_deadline());
	}
	sooner(rooms_.next_wake());
	sooner(next_retry_due_);
	sooner(retention_wake());
	/* Outcomes left over only because the database failed: retry when it is due. */
	if (outcomes_pending())
		sooner(database_retry_);
	sooner(stop_deadline_);
	long timeout = ms_until(now, until);
	if (phase != session::Phase::idle)
		timeout = std::min<long>(timeout, CONNECTED_WAIT_MS);
	if (dial_ && phase == session::Phase::idle)
		timeout = std::min<long>(timeout, LOOKUP_POLL_MS);
	if (phase == session::Phase::connecting)
		timeout = std::min<long>(timeout, LOGIN_POLL_MS);
	if (claim_due(now))
		timeout = 0;
	if (phase != session::Phase::idle && session_.cut_short() && received_.empty())
		timeout = 0;

	/*
	 * A stop asked for during a unit of SQL: its latch may have been reset
	 * by the lock or replication wait it cancelled. Do not sleep on it.
	 */
	if (stop_requested && stop_deadline_ == 0)
		return;
	/*
	 * A commit may have set its flag while a store unit ran: PostgreSQL
	 * resets the latch itself in lock waits and synchronous-replication
	 * waits, so the latch alone would not tell. Look before sleeping.
	 */
	if (shared_state_take_tables_changed())
	{
		tables_wanted_ = true;
		return;
	}
	WaitEvent event;
	if (WaitEventSetWait(wait_set_, timeout, &event, 1, PG_WAIT_EXTENSION) > 0 &&
	    (event.events & WL_LATCH_SET))
		ResetLatch(MyLatch);
	/* Not every latch event is a commit (see shared_state_wake_worker). */
	if (shared_state_take_tables_changed())
		tables_wanted_ = true;
}

/*
 * A stop was asked for (pg/stop_request.h): nothing more is claimed, and
 * the worker ends as soon as the batches in flight are answered and every
 * outcome is recorded, or after STOP_GRACE_MS, whichever comes first. Rows
 * still unanswered then stay pending, as at any lost connection.
 */
void
Worker::stop_when_answered(TimestampTz now)
{
	if (stop_deadline_ == 0)
	{
		stop_deadline_ = after_ms(now, STOP_GRACE_MS);
		if (pipeline_.batches_in_flight() > 0)
			ereport(LOG, (errmsg("jabclnd: stopping; waiting up to %d ms for the server to "
			                     "confirm %zu batches in flight",
			                     STOP_GRACE_MS, pipeline_.batches_in_flight())));
	}
	if ((pipeline_.batches_in_flight() == 0 && !outcomes_pending()) || now >= stop_deadline_)
		stop_request_finish();
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
	/* From here on a SIGTERM outside SQL waits for the batches in flight (stop_when_answered). */
	stop_can_wait = true;
	retention_.set_settings(retention_settings(), GetCurrentTimestamp());
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
			reload_settings();

		TimestampTz now = GetCurrentTimestamp();
		if (stop_requested)
			stop_when_answered(now);
		else
		{
			retries_due(now);
			if ((tables_wanted_ || now >= next_poll_) && now >= database_retry_)
				look_at_tables(now);
			drive_connection(now);
		}

		pump(now);
		if (session_.phase() == session::Phase::online)
		{
			if (claim_due(now))
				send_batch(now);
			keep_alive(now);
			/* Put what was just queued on the wire before sleeping. */
			pump(now);
		}
		expire(now);
		wait(GetCurrentTimestamp());
	}
}
