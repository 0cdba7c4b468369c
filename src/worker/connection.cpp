/*
 * connection.cpp: the worker's XMPP connection: logging in (finding the
 * server is dialing.cpp's), out and over, backoff
 * between attempts, keep-alive pings, and the events libstrophe reports,
 * presence among them.
 */
#include <algorithm>

#include "core/jid.h"
#include "worker/worker.h"

#include "pg/settings.h"

namespace
{

/* How long a graceful logout may take at shutdown or restart. */
const int LOGOUT_MS = 1000;

} // namespace

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

/* jabclnd.receive_from as the presence mirror's rule. */
presence::Senders
message_senders(void)
{
	switch (jabclnd_receive_from)
	{
	case RECEIVE_ROSTER:
		return presence::Senders::roster;
	case RECEIVE_OPENFIRE_USERS:
		return presence::Senders::openfire_users;
	default:
		return presence::Senders::anyone;
	}
}

/* The next delay of `backoff`, with the retry settings as they are now. */
int
Worker::next_backoff_ms(Backoff &backoff)
{
	return backoff.next_delay_ms(jabclnd_retry_min_delay_ms, jabclnd_retry_max_delay_ms,
	                             pg_prng_double(&pg_global_prng_state));
}

void
Worker::log_out()
{
	if (session_.phase() == session::Phase::idle)
		return;
	/*
	 * Received messages whose rows are not committed (the database failed)
	 * must not be acknowledged, and a polite logout runs libstrophe, which
	 * would: drop the connection instead; the server keeps them for the
	 * next login (see jid_to_bind in xmpp/session.cpp).
	 */
	if (!received_.empty())
	{
		session_.abort("logged out with received messages not yet recorded");
		return;
	}
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

void
Worker::drive_connection(TimestampTz now)
{
	switch (session_.phase())
	{
	case session::Phase::idle:
		if (dial_ || (have_account_ && now >= next_login_))
			dial(now);
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
	/* A login that failed was explained by login_attempt_failed (dialing.cpp). */
	const std::string &reason = ending.reason;
	handshake_broken = false;
	login_deadline_ = 0;
	dial_.reset();
	pipeline_.connection_lost(reason);
	barriers_.clear();
	rooms_.connection_lost(now);
	ping_id_.clear();
	/* Offline, we no longer know who is online: every flag we set goes back to false. */
	mirror_.stop();
	/* Changes taken but not recorded yet: the reset covers them, true or false. */
	if (!presence_changes_.empty() || !resource_changes_.empty())
		presence_reset_ = true;
	presence_changes_.clear();
	resource_changes_.clear();
	presence_reset_ = presence_reset_ || mirror_.take_reset();

	if (logging_out_ || !have_account_)
	{
		logging_out_ = false;
		next_login_ = now;
		if (!have_account_)
			publish(offline_state_, offline_error_.c_str());
		return;
	}
	/*
	 * Replaced by another login with our full JID: most likely a second
	 * installation on the same account. Each login would replace the
	 * other's at once, and a successful login resets the backoff; this one
	 * grows until the replacements stop.
	 */
	if (ending.was_online)
		shared_state_count_connection_lost();
	if (!ending.replaced)
		replaced_backoff_.reset();
	const int delay = next_backoff_ms(ending.replaced ? replaced_backoff_ : backoff_);
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

	/* The session hands on only lines at jabclnd.log_level or above. */
	for (const session::LogLine &line : events.log)
		ereport(LOG, (errmsg("jabclnd: libstrophe %s", line.text.c_str())));

	if (events.came_online)
	{
		disable_timeout(login_timer, false);
		login_deadline_ = 0;
		backoff_.reset();
		pipeline_.connected(session_.bound_jid());
		next_ping_ = after_ms(now, jabclnd_ping_interval_ms);
		publish(WS_ONLINE, "");
		/* jabclnd.away_is_available is read here: a change applies from the next login. */
		mirror_.start(session_.bound_jid(), subscription_policy(), jabclnd_away_is_available);
		rooms_.connected(session_.bound_jid(), session_.id_token(), now);
		dial_.reset();
		ereport(LOG, (errmsg("jabclnd: logged in as %s at %s", session_.bound_jid().c_str(),
		                     login_where_.c_str())));
		shared_state_count_login();
	}
	/*
	 * Answers before endings: what the server answered before it closed
	 * the stream counts. Error replies before barrier answers: the server
	 * bounces a stanza before it processes the ping behind it.
	 */
	for (const session::MessageError &error : events.errors)
		if (pipeline_.error_replied(error.id, error.from,
		                            retry::ErrorReply{error.type, error.condition, error.reason},
		                            now))
			rooms_.message_refused(error.from, error.condition, now);
	for (const session::IqAnswer &answer : events.answered_iqs)
	{
		if (pipeline_.barrier_answered(answer.id, answer.from))
		{
			next_ping_ = after_ms(now, jabclnd_ping_interval_ms);
			const int64_t round_trip = barriers_.answered(answer.id, now);
			if (round_trip >= 0)
				shared_state_set_barrier_round_trip(round_trip);
		}
		else if (answer.id == ping_id_ && jid::is_own_server(answer.from, session_.bound_jid()))
		{
			ping_id_.clear();
			next_ping_ = after_ms(now, jabclnd_ping_interval_ms);
		}
	}
	/* The rooms' answers and presence first: a message below may come from a room just joined. */
	follow_rooms(events, now);
	for (session::Ending &ending : events.endings)
	{
		/* A login that failed goes on with the next server, if any (dialing.cpp). */
		if (!ending.was_online && login_attempt_failed(ending, now))
			continue;
		connection_ended(ending, now);
	}

	const presence::Senders senders = message_senders();
	uint64_t ignored = 0;
	for (session::IncomingMessage &message : events.messages)
	{
		/* The rooms classify every message first: they chose their senders themselves. */
		if (room_message(message, now, &ignored))
			continue;
		/* An invitation to a room without a text of its own: the rooms' business, not a row. */
		if (!message.has_body && !message.has_subject)
			continue;
		if (mirror_.accepts_message_from(message.from, senders))
			received_.push_back(ReceivedMessage{std::move(message), std::string(), 0, 0});
		else
			ignored++;
	}
	if (ignored > 0)
		shared_state_count_ignored(ignored);
	follow_presence(events);
	drive_rooms(now);
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
	for (presence::ResourceChange &change : mirror_.take_resource_changes())
		resource_changes_.push_back(std::move(change));
	presence_reset_ = presence_reset_ || mirror_.take_reset();
}

/*
 * XEP-0199 pings to the server: a connection that does not answer within
 * jabclnd.ping_interval is dead, whatever TCP thinks. A barrier unanswered is
 * its own ping; a batch that waits only for a room's echo is not (the
 * room, not the server, answers that).
 */
void
Worker::keep_alive(TimestampTz now)
{
	const TimestampTz barrier_deadline = pipeline_.barrier_deadline();
	if (barrier_deadline != 0 && now >= barrier_deadline)
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
	/* Echoes missing past their deadline: those rows are pending again (send_pipeline.h). */
	pipeline_.expire_echoes(now);
	if (ping_id_.empty() && pipeline_.barrier_deadline() == 0 && now >= next_ping_)
	{
		ping_id_ = session_.send_ping();
		ping_deadline_ = after_ms(now, jabclnd_ping_interval_ms);
	}
}
