/*
 * settings.h: the jabclnd.* configuration parameters (GUCs).
 *
 * All are set in postgresql.conf. Those the worker reads at login take
 * effect at the next login after a reload; jabclnd.database, jabclnd.role
 * and jabclnd.enabled make the worker restart itself on reload, because a
 * background worker cannot leave the database it connected to.
 */
#pragma once

enum TlsMode
{
	TLS_REQUIRED, /* STARTTLS, never send credentials without it */
	TLS_DIRECT,   /* XEP-0368: TLS from the first byte */
	TLS_DISABLED  /* plain text; for a trusted loopback only */
};

enum SubscriptionPolicy
{
	SUBSCRIPTIONS_OPENFIRE_USERS, /* accept enabled openfire_users on our domain */
	SUBSCRIPTIONS_ALL,            /* accept everyone */
	SUBSCRIPTIONS_NONE            /* accept no one */
};

enum ReceivePolicy
{
	RECEIVE_ANYONE,        /* store every message, as the original daemon did */
	RECEIVE_ROSTER,        /* only from the bot's roster */
	RECEIVE_OPENFIRE_USERS /* only from enabled openfire_users */
};

enum RoomInvitations
{
	ROOM_INVITATIONS_IGNORE, /* an invitation to a room changes nothing */
	ROOM_INVITATIONS_ACCEPT  /* from a contact on the roster: the room goes into xmpp_rooms */
};

enum XmppLogLevel
{
	XMPP_LOG_DEBUG,
	XMPP_LOG_INFO,
	XMPP_LOG_WARN,
	XMPP_LOG_ERROR
};

extern char *jabclnd_database;
extern char *jabclnd_role;
extern bool jabclnd_enabled;
extern int jabclnd_safety_poll_interval_ms;
extern int jabclnd_batch_size;
extern int jabclnd_max_stanza_size;
extern int jabclnd_max_attempts;
extern int jabclnd_wait_retries;
extern int jabclnd_wait_retry_delay_ms;
extern int jabclnd_wait_retry_max_delay_ms;
extern int jabclnd_tls;
extern char *jabclnd_tls_ca_file;
extern bool jabclnd_tls_verify;
extern int jabclnd_connect_timeout_ms;
extern char *jabclnd_dns_server;
extern int jabclnd_retry_min_delay_ms;
extern int jabclnd_retry_max_delay_ms;
extern int jabclnd_ping_interval_ms;
extern int jabclnd_log_level;
extern int jabclnd_subscriptions;
extern bool jabclnd_away_is_available;
extern int jabclnd_receive_from;
extern int jabclnd_room_invitations;
extern int jabclnd_room_ping_interval_ms;
extern int jabclnd_room_rejoin_delay_ms;
/* Retention: how long rows are kept after insert_timestamp, in seconds; -1 is forever. */
#define KEEP_FOREVER (-1)
extern int jabclnd_keep_sent_s;
extern int jabclnd_keep_failed_s;
extern int jabclnd_keep_received_s;
extern int jabclnd_retention_interval_ms;
extern int jabclnd_retention_batch_size;

/* Defines every setting; called once from _PG_init. */
void define_settings(void);
