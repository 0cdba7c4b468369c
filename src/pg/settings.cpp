/*
 * settings.cpp: definitions and checks of the jabclnd.* settings.
 *
 * Time settings carry units (GUC_UNIT_MS / GUC_UNIT_S) so that operators can
 * write '10s' or '500ms'. Every bound below is what the worker relies on:
 * the WaitEventSet timeout must fit in a long, the backoff must be able to
 * double without overflow, a batch must fit in one SPI result.
 */
#include "pg/pg.h"
#include "pg/settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

char *jabclnd_database = nullptr;
char *jabclnd_role = nullptr;
bool jabclnd_enabled = true;
int jabclnd_safety_poll_interval_ms = 10000;
int jabclnd_batch_size = 100;
int jabclnd_max_stanza_size = 65536;
int jabclnd_max_attempts = 5;
int jabclnd_wait_retries = 5;
int jabclnd_wait_retry_delay_ms = 30000;
int jabclnd_wait_retry_max_delay_ms = 3600 * 1000;
int jabclnd_tls = TLS_REQUIRED;
char *jabclnd_tls_ca_file = nullptr;
bool jabclnd_tls_verify = true;
int jabclnd_connect_timeout_ms = 30000;
char *jabclnd_dns_server = nullptr;
int jabclnd_retry_min_delay_ms = 1000;
int jabclnd_retry_max_delay_ms = 300000;
int jabclnd_ping_interval_ms = 60000;
int jabclnd_log_level = XMPP_LOG_WARN;
int jabclnd_subscriptions = SUBSCRIPTIONS_OPENFIRE_USERS;
bool jabclnd_away_is_available = true;
int jabclnd_receive_from = RECEIVE_ANYONE;
int jabclnd_room_invitations = ROOM_INVITATIONS_IGNORE;
int jabclnd_room_ping_interval_ms = 300000;
int jabclnd_room_rejoin_delay_ms = 30000;
int jabclnd_keep_sent_s = KEEP_FOREVER;
int jabclnd_keep_failed_s = KEEP_FOREVER;
int jabclnd_keep_received_s = KEEP_FOREVER;
int jabclnd_retention_interval_ms = 60000;
int jabclnd_retention_batch_size = 1000;

static const struct config_enum_entry tls_options[] = {
    {"required", TLS_REQUIRED, false},
    {"direct", TLS_DIRECT, false},
    {"disabled", TLS_DISABLED, false},
    {nullptr, 0, false},
};

static const struct config_enum_entry subscription_options[] = {
    {"openfire_users", SUBSCRIPTIONS_OPENFIRE_USERS, false},
    {"all", SUBSCRIPTIONS_ALL, false},
    {"none", SUBSCRIPTIONS_NONE, false},
    {nullptr, 0, false},
};

static const struct config_enum_entry receive_options[] = {
    {"anyone", RECEIVE_ANYONE, false},
    {"roster", RECEIVE_ROSTER, false},
    {"openfire_users", RECEIVE_OPENFIRE_USERS, false},
    {nullptr, 0, false},
};

static const struct config_enum_entry room_invitation_options[] = {
    {"ignore", ROOM_INVITATIONS_IGNORE, false},
    {"accept", ROOM_INVITATIONS_ACCEPT, false},
    {nullptr, 0, false},
};

static const struct config_enum_entry log_level_options[] = {
    {"debug", XMPP_LOG_DEBUG, false}, {"info", XMPP_LOG_INFO, false},
    {"warn", XMPP_LOG_WARN, false},   {"warning", XMPP_LOG_WARN, true},
    {"error", XMPP_LOG_ERROR, false}, {nullptr, 0, false},
};

/*
 * An empty database name would make every worker start fail with a
 * connection error far from its cause: refuse it where it is written.
 */
static bool
check_database_name(char **newval, void **, GucSource)
{
	if (*newval == nullptr || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("jabclnd.database must name a database.");
		return false;
	}
	return true;
}

/* A decimal port from 1 to 65535, and nothing after it. */
static bool
port_is_valid(const char *text)
{
	char *end = nullptr;
	long port;

	if (text[0] < '0' || text[0] > '9')
		return false;
	errno = 0;
	port = strtol(text, &end, 10);
	return errno == 0 && *end == '\0' && port >= 1 && port <= 65535;
}

/*
 * Whether `text` is a DNS server's address: IPv4 with an optional :port,
 * IPv6 bare or as [address]:port. The worker reads it with
 * server_plan::parse_dns_server (core/server_plan.h), which takes the same
 * forms; this check only lets a reload refuse a typo where it is written.
 */
static bool
dns_server_is_valid(const char *text)
{
	unsigned char binary[sizeof(struct in6_addr)];
	char address[INET6_ADDRSTRLEN];
	const char *rest;
	size_t length;
	const bool bracketed = text[0] == '[';

	if (inet_pton(AF_INET6, text, binary) == 1)
		return true;
	if (bracketed)
	{
		const char *close = strchr(text, ']');
		if (close == nullptr)
			return false;
		length = close - text - 1;
		text++;
		rest = close + 1;
	}
	else
	{
		const char *colon = strchr(text, ':');
		length = colon ? static_cast<size_t>(colon - text) : strlen(text);
		rest = text + length;
	}
	if (length >= sizeof address)
		return false;
	memcpy(address, text, length);
	address[length] = '\0';
	if (inet_pton(bracketed ? AF_INET6 : AF_INET, address, binary) != 1)
		return false;
	return rest[0] == '\0' || (rest[0] == ':' && port_is_valid(rest + 1));
}

/* jabclnd.dns_server: empty, or an IP address with an optional port. */
static bool
check_dns_server(char **newval, void **, GucSource)
{
	if (*newval == nullptr || (*newval)[0] == '\0' || dns_server_is_valid(*newval))
		return true;
	GUC_check_errdetail("jabclnd.dns_server must be an IP address with an optional port "
	                    "(192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:5353).");
	return false;
}

/*
 * One of jabclnd.keep_sent, keep_failed, keep_received. The texts are
 * literals: PostgreSQL keeps the pointers, not copies.
 */
static void
define_keep(const char *name, const char *short_desc, int *value)
{
	DefineCustomIntVariable(
	    name, short_desc,
	    "-1 (the default) keeps them forever. The worker deletes older ones in small batches "
	    "every jabclnd.retention_interval.",
	    value, KEEP_FOREVER, KEEP_FOREVER, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr,
	    nullptr);
}

/* Retention: README.md, "Retention". */
static void
define_retention_settings(void)
{
	define_keep("jabclnd.keep_sent",
	            "How long rows of xmpp_tx_queue marked sent are kept after their insert_timestamp.",
	            &jabclnd_keep_sent_s);
	define_keep("jabclnd.keep_failed",
	            "How long rows of xmpp_tx_queue marked failed are kept after their "
	            "insert_timestamp.",
	            &jabclnd_keep_failed_s);
	define_keep("jabclnd.keep_received",
	            "How long rows of xmpp_rx_queue are kept after their insert_timestamp.",
	            &jabclnd_keep_received_s);
	DefineCustomIntVariable(
	    "jabclnd.retention_interval", "How often the worker deletes expired rows.",
	    "From the end of one pass to the start of the next; a pass with a backlog runs its "
	    "batches back to back.",
	    &jabclnd_retention_interval_ms, 60000, 1000, 24 * 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
	    nullptr, nullptr, nullptr);
	DefineCustomIntVariable(
	    "jabclnd.retention_batch_size", "Most rows one retention transaction deletes.",
	    "Smaller batches are used when a batch takes longer than about 200 ms.",
	    &jabclnd_retention_batch_size, 1000, 1, 100000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
}

void
define_settings(void)
{
	DefineCustomStringVariable(
	    "jabclnd.database", "Database the jabclnd worker connects to.",
	    "CREATE EXTENSION jabclnd is accepted only in this database. Changing it restarts the "
	    "worker.",
	    &jabclnd_database, "postgres", PGC_SIGHUP, 0, check_database_name, nullptr, nullptr);

	DefineCustomStringVariable(
	    "jabclnd.role", "Role the jabclnd worker connects as.",
	    "Empty means the bootstrap superuser. Changing it restarts the worker.", &jabclnd_role, "",
	    PGC_SIGHUP, 0, nullptr, nullptr, nullptr);

	DefineCustomBoolVariable(
	    "jabclnd.enabled", "Whether the jabclnd worker runs.",
	    "When off, the worker logs out, leaves the database (so that it can be dropped) and "
	    "waits for the setting to come back on.",
	    &jabclnd_enabled, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);

	DefineCustomIntVariable(
	    "jabclnd.safety_poll_interval",
	    "How often the idle worker looks at the queue without being woken.",
	    "Commits wake the worker at once; this covers rows written with triggers disabled.",
	    &jabclnd_safety_poll_interval_ms, 10000, 100, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
	    nullptr, nullptr);

	DefineCustomIntVariable(
	    "jabclnd.batch_size", "Rows of xmpp_tx_queue sent per batch before waiting for the server.",
	    nullptr, &jabclnd_batch_size, 100, 1, 10000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);

	DefineCustomIntVariable(
	    "jabclnd.max_stanza_size", "Largest stanza the worker sends.",
	    "Larger rows fail instead of making the server close the stream. Keep it below the "
	    "server's own limit (Prosody: c2s_stanza_size_limit, 256kB).",
	    &jabclnd_max_stanza_size, 65536, 256, 16 * 1024 * 1024, PGC_SIGHUP, GUC_UNIT_BYTE, nullptr,
	    nullptr, nullptr);

	DefineCustomIntVariable(
	    "jabclnd.max_attempts", "How many times a row is sent before it is failed.",
	    "A row whose sending keeps losing the connection is marked failed after this many tries.",
	    &jabclnd_max_attempts, 5, 1, 1000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);

	DefineCustomIntVariable(
	    "jabclnd.wait_retries", "How many times a row is sent again after a temporary error.",
	    "An error reply of type wait (e.g. resource-constraint: the recipient's offline storage "
	    "is full) makes the row due again later instead of failing it, this many times; 0 fails "
	    "it at once.",
	    &jabclnd_wait_retries, 5, 0, 1000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);

	DefineCustomIntVariable("jabclnd.wait_retry_delay",
	                        "Delay before a row is sent again after its first temporary error.",
	                        "The delay doubles at each further retry, up to "
	                        "jabclnd.wait_retry_max_delay.",
	                        &jabclnd_wait_retry_delay_ms, 30000, 10, 24 * 3600 * 1000, PGC_SIGHUP,
	                        GUC_UNIT_MS, nullptr, nullptr, nullptr);

	DefineCustomIntVariable("jabclnd.wait_retry_max_delay",
	                        "Longest delay before a row is sent again after a temporary error.",
	                        nullptr, &jabclnd_wait_retry_max_delay_ms, 3600 * 1000, 10,
	                        24 * 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);

	DefineCustomEnumVariable("jabclnd.tls", "How the worker secures its XMPP connection.",
	                         "required: STARTTLS, mandatory; direct: TLS from the first byte "
	                         "(XEP-0368); disabled: plain text, for a trusted loopback only.",
	                         &jabclnd_tls, TLS_REQUIRED, tls_options, PGC_SIGHUP, 0, nullptr,
	                         nullptr, nullptr);

	DefineCustomStringVariable("jabclnd.tls_ca_file",
	                           "File of CA certificates that verify the XMPP server.",
	                           "Empty means the system's trust store.", &jabclnd_tls_ca_file, "",
	                           PGC_SIGHUP, 0, nullptr, nullptr, nullptr);

	DefineCustomBoolVariable("jabclnd.tls_verify", "Whether the server certificate is verified.",
	                         "Off accepts any certificate and logs a warning at every login.",
	                         &jabclnd_tls_verify, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);

	DefineCustomIntVariable(
	    "jabclnd.connect_timeout", "Longest time one login attempt may take.",
	    "Covers the TCP connect, the TLS handshake and authentication at one address, and each "
	    "DNS lookup; an attempt that takes longer is abandoned for the next address, or retried "
	    "later.",
	    &jabclnd_connect_timeout_ms, 30000, 1000, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
	    nullptr, nullptr);

	DefineCustomStringVariable(
	    "jabclnd.dns_server", "DNS server for the XMPP server's SRV records and addresses.",
	    "An IP address with an optional port; empty means the servers of /etc/resolv.conf.",
	    &jabclnd_dns_server, "", PGC_SIGHUP, 0, check_dns_server, nullptr, nullptr);

	DefineCustomIntVariable("jabclnd.retry_min_delay",
	                        "First delay before logging in again after a failure.", nullptr,
	                        &jabclnd_retry_min_delay_ms, 1000, 10, 3600 * 1000, PGC_SIGHUP,
	                        GUC_UNIT_MS, nullptr, nullptr, nullptr);

	DefineCustomIntVariable(
	    "jabclnd.retry_max_delay", "Longest delay between login attempts.",
	    "Delays double from jabclnd.retry_min_delay up to this, with random jitter.",
	    &jabclnd_retry_max_delay_ms, 300000, 10, 24 * 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
	    nullptr, nullptr);

	DefineCustomIntVariable(
	    "jabclnd.ping_interval", "How often the worker pings the XMPP server (XEP-0199).",
	    "A ping without an answer within this interval counts the connection as dead.",
	    &jabclnd_ping_interval_ms, 60000, 1000, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
	    nullptr, nullptr);

	DefineCustomEnumVariable(
	    "jabclnd.log_level", "Least severe libstrophe message written to the server log.",
	    "Passwords and SASL exchanges are never logged, at any level.", &jabclnd_log_level,
	    XMPP_LOG_WARN, log_level_options, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);

	DefineCustomEnumVariable(
	    "jabclnd.subscriptions", "Whose presence subscription requests the worker accepts.",
	    "openfire_users: enabled users of openfire_users on the account's domain; all: anyone; "
	    "none: no one. Requests not accepted are answered with unsubscribed.",
	    &jabclnd_subscriptions, SUBSCRIPTIONS_OPENFIRE_USERS, subscription_options, PGC_SIGHUP, 0,
	    nullptr, nullptr, nullptr);

	DefineCustomBoolVariable(
	    "jabclnd.away_is_available", "Whether away, xa and dnd count as available.",
	    "When off, a user whose every resource is away, xa or dnd is mirrored as not available.",
	    &jabclnd_away_is_available, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);

	DefineCustomEnumVariable(
	    "jabclnd.receive_from", "Whose messages the worker stores in xmpp_rx_queue.",
	    "anyone: every sender; roster: the bot's roster; openfire_users: enabled users of "
	    "openfire_users on the account's domain. The account's own server is always heard. "
	    "Messages not stored are counted in jabclnd_status().messages_ignored.",
	    &jabclnd_receive_from, RECEIVE_ANYONE, receive_options, PGC_SIGHUP, 0, nullptr, nullptr,
	    nullptr);

	DefineCustomEnumVariable(
	    "jabclnd.room_invitations", "What an invitation to a group chat room does.",
	    "ignore: nothing; accept: an invitation from a contact on the bot's roster adds the "
	    "room to xmpp_rooms, and the worker joins it.",
	    &jabclnd_room_invitations, ROOM_INVITATIONS_IGNORE, room_invitation_options, PGC_SIGHUP, 0,
	    nullptr, nullptr, nullptr);

	DefineCustomIntVariable(
	    "jabclnd.room_ping_interval",
	    "How long a joined room may stay silent before the worker checks that it is still in it.",
	    "The check is a self-ping (XEP-0410) to the bot's own nick in the room; a room that no "
	    "longer counts the bot as an occupant (its service restarted, the room was destroyed) "
	    "is joined again. Every message or presence from the room starts the interval anew.",
	    &jabclnd_room_ping_interval_ms, 300000, 1000, 24 * 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
	    nullptr, nullptr, nullptr);

	DefineCustomIntVariable(
	    "jabclnd.room_rejoin_delay", "First delay before joining a room again after a kick.",
	    "Also after other trouble that passes by itself (no answer, the room's server "
	    "unreachable). Delays double from this up to 10 minutes (or this, if longer), with "
	    "random jitter.",
	    &jabclnd_room_rejoin_delay_ms, 30000, 100, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
	    nullptr, nullptr);

	define_retention_settings();
	MarkGUCPrefixReserved("jabclnd");
}
