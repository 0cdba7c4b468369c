/*
 * xmppbench: the XMPP ends of jabclnd's benchmark (bench/run), written
 * with libstrophe alone so that neither end is slower than what it
 * measures (a slixmpp receiver tops out near 8k messages/s).
 *
 *   xmppbench recv --jid J --pass P --count N --tag T [--times FILE]
 *       Logs in, sends presence, and counts the messages whose body is
 *       "T SEQ TS" with 0 <= SEQ < N: each SEQ must arrive exactly once.
 *       Stops when all N have arrived (or at --timeout) and prints
 *       "DONE distinct=.. dups=.. strays=.. first_ns=.. last_ns=..".
 *       --times writes "SEQ ARRIVAL_NS TS" per message (latency runs).
 *       --sm off disables stream management (XEP-0198) on this connection.
 *
 *   xmppbench send --jid J --pass P --to J2 --count N --tag T
 *                  [--batch B | --rate R] [--window W]
 *       The "limit": sends N messages built exactly as jabclnd's worker
 *       builds them (src/xmpp/session.cpp: type chat, id, body, XEP-0359
 *       origin-id; serialised and written with xmpp_send_raw), on a
 *       connection set up as jabclnd sets up its own (STARTTLS required,
 *       certificate verified, stream management on, TCP_NODELAY, quick
 *       ACKs before each read). Without --batch or --rate it pushes as
 *       fast as the connection takes them, keeping at most W elements in
 *       libstrophe's send queue. --batch B sends B messages, then a ping,
 *       and waits for its answer before the next batch: jabclnd's
 *       protocol without the database. --rate R sends R messages a second,
 *       each carrying its send time (CLOCK_REALTIME ns) as TS. --gap-us U
 *       (with --batch) pauses U µs after each batch's answer: a diagnostic
 *       that imitates the worker's database work between batches.
 *       Ends with a ping whose answer proves the server processed all,
 *       and prints "SENT start_ns=.. acked_ns=..".
 *
 * Both print "READY <ns>" once logged in and the server has answered a ping
 * sent after the initial presence (so a receiver is routable), and
 * "CPU user=.. sys=.." (seconds, this process) at the end. Exit status 0
 * on success, 2 on a timeout, 1 on any other failure. Connection comes
 * from XMPP_HOST, XMPP_PORT and XMPP_CA (test/lib/env.sh exports them).
 */
#include <strophe.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace
{

int64_t
now_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void
die(const char *what)
{
	fprintf(stderr, "xmppbench: %s\n", what);
	exit(1);
}

struct Options
{
	std::string mode, jid, pass, to, tag, times_file;
	long count = 0;
	int batch = 0;
	double rate = 0;
	int window = 1000;
	int gap_us = 0;
	double timeout = 120;
	bool sm = true;
};

struct State
{
	Options opt;
	xmpp_ctx_t *ctx = nullptr;
	xmpp_conn_t *conn = nullptr;
	std::string domain;
	int fd = -1;
	bool online = false;
	bool ended = false;
	bool leaving = false; /* we asked to disconnect */
	bool ready = false;
	std::string waiting_ping; /* id of the ping whose answer we wait for */
	uint64_t callbacks = 0;
	bool sm_enabled = false;
	uint32_t sm_handled = 0; /* stanzas received since <enabled/>, as the server counts them */

	/* receiver */
	std::vector<int64_t> arrival; /* 0: not yet */
	std::vector<int64_t> body_ts;
	long distinct = 0, dups = 0, strays = 0;
	int64_t first_ns = 0, last_ns = 0;
};

State st;

void
quick_ack()
{
	if (st.fd >= 0)
	{
		int on = 1;
		setsockopt(st.fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
	}
}

/* As jabclnd's src/xmpp/session.cpp tune_socket(): no Nagle delay. */
int
sockopt_cb(xmpp_conn_t *, void *sock)
{
	st.fd = *static_cast<int *>(sock);
	int on = 1;
	setsockopt(st.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	return 0;
}

void
send_ping(const std::string &id)
{
	xmpp_stanza_t *iq = xmpp_iq_new(st.ctx, "get", id.c_str());
	xmpp_stanza_set_to(iq, st.domain.c_str());
	xmpp_stanza_t *ping = xmpp_stanza_new(st.ctx);
	xmpp_stanza_set_name(ping, "ping");
	xmpp_stanza_set_ns(ping, "urn:xmpp:ping");
	xmpp_stanza_add_child_ex(iq, ping, 0);
	xmpp_send(st.conn, iq);
	xmpp_stanza_release(iq);
	st.waiting_ping = id;
}

void
conn_cb(xmpp_conn_t *, xmpp_conn_event_t event, int error, xmpp_stream_error_t *stream_error,
        void *)
{
	st.callbacks++;
	if (event == XMPP_CONN_CONNECT)
	{
		st.online = true;
		xmpp_stanza_t *presence = xmpp_presence_new(st.ctx);
		xmpp_send(st.conn, presence);
		xmpp_stanza_release(presence);
		send_ping("bench-ready");
	}
	else
	{
		if (!st.leaving && st.online)
			fprintf(stderr, "xmppbench: %s: disconnected (error %d%s%s)\n", st.opt.jid.c_str(),
			        error, stream_error && stream_error->text ? ": " : "",
			        stream_error && stream_error->text ? stream_error->text : "");
		st.online = false;
		st.ended = true;
	}
}

int
iq_cb(xmpp_conn_t *, xmpp_stanza_t *stanza, void *)
{
	st.callbacks++;
	const char *type = xmpp_stanza_get_type(stanza);
	const char *id = xmpp_stanza_get_id(stanza);
	if (type && id && (!strcmp(type, "result") || !strcmp(type, "error")) && st.waiting_ping == id)
	{
		st.waiting_ping.clear();
		if (!st.ready)
		{
			st.ready = true;
			printf("READY %" PRId64 "\n", now_ns());
			fflush(stdout);
		}
	}
	else if (type && (!strcmp(type, "get") || !strcmp(type, "set")))
	{
		/* Answer the server's pings (and refuse the rest) so it never drops us. */
		const char *query_ns = nullptr;
		for (xmpp_stanza_t *c = xmpp_stanza_get_children(stanza); c; c = xmpp_stanza_get_next(c))
			if (xmpp_stanza_is_tag(c))
			{
				query_ns = xmpp_stanza_get_ns(c);
				break;
			}
		const bool ping = query_ns && !strcmp(query_ns, "urn:xmpp:ping");
		xmpp_stanza_t *reply = xmpp_iq_new(st.ctx, ping ? "result" : "error", id ? id : "");
		const char *from = xmpp_stanza_get_from(stanza);
		if (from)
			xmpp_stanza_set_to(reply, from);
		if (!ping)
		{
			xmpp_stanza_t *error = xmpp_stanza_new(st.ctx);
			xmpp_stanza_set_name(error, "error");
			xmpp_stanza_set_type(error, "cancel");
			xmpp_stanza_t *cond = xmpp_stanza_new(st.ctx);
			xmpp_stanza_set_name(cond, "service-unavailable");
			xmpp_stanza_set_ns(cond, "urn:ietf:params:xml:ns:xmpp-stanzas");
			xmpp_stanza_add_child_ex(error, cond, 0);
			xmpp_stanza_add_child_ex(reply, error, 0);
		}
		xmpp_send(st.conn, reply);
		xmpp_stanza_release(reply);
	}
	return 1;
}

/*
 * Counts what the server counts for stream management: stanzas (message,
 * presence, iq) received after <enabled/>. libstrophe 0.12 answers the
 * server's <r/> itself but offers no way to acknowledge before leaving, and
 * Prosody stores every unacknowledged message offline when a session ends
 * (a flood for the next login): the receiver acknowledges all it handled,
 * with this count, before it logs out.
 */
int
sm_count_cb(xmpp_conn_t *, xmpp_stanza_t *stanza, void *)
{
	const char *name = xmpp_stanza_get_name(stanza);
	const char *ns = xmpp_stanza_get_ns(stanza);
	if (!name)
		return 1;
	if (ns && !strcmp(ns, "urn:xmpp:sm:3"))
	{
		if (!strcmp(name, "enabled"))
		{
			st.sm_enabled = true;
			st.sm_handled = 0;
		}
	}
	else if (st.sm_enabled &&
	         (!strcmp(name, "message") || !strcmp(name, "presence") || !strcmp(name, "iq")))
		st.sm_handled++;
	return 1;
}

/* "TAG SEQ TS": true and seq/ts set when the body is one of ours. */
bool
parse_body(const char *body, long *seq, int64_t *ts)
{
	const size_t tag_len = st.opt.tag.size();
	if (strncmp(body, st.opt.tag.c_str(), tag_len) != 0 || body[tag_len] != ' ')
		return false;
	char *end = nullptr;
	errno = 0;
	long s = strtol(body + tag_len + 1, &end, 10);
	if (errno || *end != ' ')
		return false;
	long long t = strtoll(end + 1, &end, 10);
	if (errno || *end != '\0')
		return false;
	*seq = s;
	*ts = t;
	return true;
}

int
message_cb(xmpp_conn_t *, xmpp_stanza_t *stanza, void *)
{
	st.callbacks++;
	const int64_t t = now_ns();
	if (st.opt.mode != "recv")
		return 1;
	xmpp_stanza_t *body = xmpp_stanza_get_child_by_name(stanza, "body");
	xmpp_stanza_t *text = body ? xmpp_stanza_get_children(body) : nullptr;
	const char *value = text ? xmpp_stanza_get_text_ptr(text) : nullptr;
	long seq;
	int64_t ts;
	if (!value || !parse_body(value, &seq, &ts) || seq < 0 || seq >= st.opt.count)
	{
		if (st.strays++ < 3)
			fprintf(stderr, "xmppbench: not one of ours: %s\n", value ? value : "(no body)");
		return 1;
	}
	if (st.arrival[seq] != 0)
	{
		st.dups++;
		return 1;
	}
	st.arrival[seq] = t;
	st.body_ts[seq] = ts;
	st.distinct++;
	if (st.first_ns == 0)
		st.first_ns = t;
	st.last_ns = t;
	return 1;
}

/*
 * One turn of libstrophe. While callbacks fire, run again at once (more may
 * wait, decrypted, in TLS buffers); otherwise wait up to wait_ms for the
 * socket.
 */
void
turn(bool *busy, unsigned long wait_ms)
{
	const uint64_t before = st.callbacks;
	quick_ack();
	xmpp_run_once(st.ctx, *busy ? 0 : wait_ms);
	*busy = st.callbacks != before;
}

void
log_in()
{
	const char *host = getenv("XMPP_HOST");
	const char *port = getenv("XMPP_PORT");
	const char *ca = getenv("XMPP_CA");
	if (!port || !ca)
		die("XMPP_PORT and XMPP_CA must be set (test/lib/env.sh exports them)");
	xmpp_initialize();
	st.ctx = xmpp_ctx_new(nullptr, xmpp_get_default_logger(XMPP_LEVEL_WARN));
	st.conn = xmpp_conn_new(st.ctx);
	xmpp_conn_set_flags(st.conn,
	                    XMPP_CONN_FLAG_MANDATORY_TLS | (st.opt.sm ? 0 : XMPP_CONN_FLAG_DISABLE_SM));
	xmpp_conn_set_cafile(st.conn, ca);
	xmpp_conn_set_sockopt_callback(st.conn, sockopt_cb);
	const std::string jid = st.opt.jid + "/bench-" + std::to_string(getpid());
	xmpp_conn_set_jid(st.conn, jid.c_str());
	xmpp_conn_set_pass(st.conn, st.opt.pass.c_str());
	const size_t at = st.opt.jid.find('@');
	st.domain = st.opt.jid.substr(at + 1);
	xmpp_handler_add(st.conn, message_cb, nullptr, "message", nullptr, nullptr);
	xmpp_handler_add(st.conn, iq_cb, nullptr, "iq", nullptr, nullptr);
	xmpp_handler_add(st.conn, sm_count_cb, nullptr, nullptr, nullptr, nullptr);
	if (xmpp_connect_client(st.conn, host ? host : "127.0.0.1",
	                        static_cast<unsigned short>(atoi(port)), conn_cb, nullptr) != XMPP_EOK)
		die("xmpp_connect_client failed");
	const int64_t deadline = now_ns() + 15 * 1000000000LL;
	bool busy = false;
	while (!st.ready && !st.ended && now_ns() < deadline)
		turn(&busy, 10);
	if (!st.ready)
		die(("could not log in as " + st.opt.jid).c_str());
}

void
log_out()
{
	st.leaving = true;
	if (st.online && st.sm_enabled)
	{
		char ack[80];
		snprintf(ack, sizeof ack, "<a xmlns='urn:xmpp:sm:3' h='%u'/>", st.sm_handled);
		xmpp_send_raw_string(st.conn, "%s", ack);
	}
	if (st.online)
	{
		xmpp_disconnect(st.conn);
		const int64_t deadline = now_ns() + 3 * 1000000000LL;
		bool busy = false;
		while (st.online && now_ns() < deadline)
			turn(&busy, 10);
	}
	st.ended = true;
	xmpp_conn_release(st.conn);
	xmpp_ctx_free(st.ctx);
	xmpp_shutdown();
	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	printf("CPU user=%.3f sys=%.3f\n", usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6,
	       usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6);
	fflush(stdout);
}

int
receive()
{
	st.arrival.assign(st.opt.count, 0);
	st.body_ts.assign(st.opt.count, 0);
	log_in();
	const int64_t deadline = now_ns() + static_cast<int64_t>(st.opt.timeout * 1e9);
	bool busy = false;
	while (st.distinct < st.opt.count && !st.ended && now_ns() < deadline)
		turn(&busy, 1);
	const bool complete = st.distinct == st.opt.count;
	printf("%s distinct=%ld dups=%ld strays=%ld first_ns=%" PRId64 " last_ns=%" PRId64 "\n",
	       complete ? "DONE" : "TIMEOUT", st.distinct, st.dups, st.strays, st.first_ns, st.last_ns);
	if (!complete)
	{
		long shown = 0;
		fprintf(stderr, "xmppbench: missing seqs:");
		for (long i = 0; i < st.opt.count && shown < 10; i++)
			if (st.arrival[i] == 0)
			{
				fprintf(stderr, " %ld", i);
				shown++;
			}
		fprintf(stderr, "%s\n", st.opt.count - st.distinct > shown ? " ..." : "");
	}
	if (!st.opt.times_file.empty())
	{
		FILE *f = fopen(st.opt.times_file.c_str(), "w");
		if (!f)
			die("cannot write --times file");
		for (long i = 0; i < st.opt.count; i++)
			if (st.arrival[i])
				fprintf(f, "%ld %" PRId64 " %" PRId64 "\n", i, st.arrival[i], st.body_ts[i]);
		fclose(f);
	}
	fflush(stdout);
	log_out();
	return complete ? 0 : 2;
}

/* As src/xmpp/session.cpp Session::send_message(), for a row with a body and no subject. */
void
send_one(long seq, int64_t ts)
{
	const std::string id = "jabclnd-tx-" + std::to_string(seq + 1) + "-1732850000000000";
	const std::string body = st.opt.tag + " " + std::to_string(seq) + " " + std::to_string(ts);
	xmpp_stanza_t *message = xmpp_message_new(st.ctx, "chat", st.opt.to.c_str(), id.c_str());
	xmpp_stanza_t *child = xmpp_stanza_new(st.ctx);
	xmpp_stanza_set_name(child, "body");
	xmpp_stanza_t *content = xmpp_stanza_new(st.ctx);
	xmpp_stanza_set_text_with_size(content, body.data(), body.size());
	xmpp_stanza_add_child_ex(child, content, 0);
	xmpp_stanza_add_child_ex(message, child, 0);
	xmpp_stanza_t *origin = xmpp_stanza_new(st.ctx);
	xmpp_stanza_set_name(origin, "origin-id");
	xmpp_stanza_set_ns(origin, "urn:xmpp:sid:0");
	xmpp_stanza_set_id(origin, id.c_str());
	xmpp_stanza_add_child_ex(message, origin, 0);
	char *text = nullptr;
	size_t length = 0;
	if (xmpp_stanza_to_text(message, &text, &length) != XMPP_EOK)
		die("xmpp_stanza_to_text failed");
	xmpp_send_raw(st.conn, text, length);
	xmpp_free(st.ctx, text);
	xmpp_stanza_release(message);
}

/* Runs libstrophe until the ping we wait for is answered; false if the connection ended. */
bool
await_ping(int64_t deadline)
{
	bool busy = true;
	while (!st.waiting_ping.empty() && !st.ended && now_ns() < deadline)
		turn(&busy, 1);
	return st.waiting_ping.empty();
}

int
send()
{
	log_in();
	const int64_t start = now_ns();
	const int64_t deadline = start + static_cast<int64_t>(st.opt.timeout * 1e9);
	bool busy = false;
	long pings = 0;
	for (long seq = 0; seq < st.opt.count && !st.ended; seq++)
	{
		if (st.opt.rate > 0)
		{
			/* Steady rate: message seq leaves at start + seq / rate. */
			const int64_t due = start + static_cast<int64_t>(seq * 1e9 / st.opt.rate);
			for (int64_t now = now_ns(); now < due && !st.ended; now = now_ns())
			{
				const int64_t left_ms = (due - now) / 1000000;
				turn(&busy, left_ms > 1 ? 1 : 0);
				if (!busy && left_ms < 1)
				{
					struct timespec nap = {0, static_cast<long>(due - now_ns())};
					if (nap.tv_nsec > 0)
						nanosleep(&nap, nullptr);
				}
			}
			send_one(seq, now_ns());
			/* Put it on the wire now, as jabclnd's pump after send_batch does. */
			turn(&busy, 0);
			continue;
		}
		send_one(seq, 0);
		if (st.opt.batch > 0 && ((seq + 1) % st.opt.batch == 0 || seq + 1 == st.opt.count))
		{
			send_ping("bench-batch-" + std::to_string(pings++));
			if (!await_ping(deadline))
				break;
			if (st.opt.gap_us > 0)
			{
				/* Diagnostic: stand still between batches, as the worker does while it
				 * records one batch and claims the next. */
				struct timespec nap = {st.opt.gap_us / 1000000, (st.opt.gap_us % 1000000) * 1000L};
				nanosleep(&nap, nullptr);
			}
			continue;
		}
		while (xmpp_conn_send_queue_len(st.conn) >= st.opt.window && !st.ended &&
		       now_ns() < deadline)
			turn(&busy, 1);
	}
	send_ping("bench-final");
	const bool acked = await_ping(deadline);
	const int64_t acked_ns = now_ns();
	printf("SENT start_ns=%" PRId64 " acked_ns=%" PRId64 "\n", start, acked_ns);
	fflush(stdout);
	if (!acked)
		fprintf(stderr, "xmppbench: the server did not confirm the messages (%s)\n",
		        st.ended ? "connection lost" : "timeout");
	log_out();
	return acked ? 0 : (st.ended ? 1 : 2);
}

void
usage()
{
	fprintf(stderr, "usage: xmppbench recv|send --jid J --pass P --count N --tag T [--to J2] "
	                "[--batch B] [--rate R] [--window W] [--timeout S] [--times FILE] "
	                "[--sm on|off]\n");
	exit(1);
}

} // namespace

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	Options &o = st.opt;
	o.mode = argv[1];
	for (int i = 2; i < argc; i++)
	{
		const std::string arg = argv[i];
		if (i + 1 >= argc)
			usage();
		const char *value = argv[++i];
		if (arg == "--jid")
			o.jid = value;
		else if (arg == "--pass")
			o.pass = value;
		else if (arg == "--to")
			o.to = value;
		else if (arg == "--tag")
			o.tag = value;
		else if (arg == "--times")
			o.times_file = value;
		else if (arg == "--count")
			o.count = atol(value);
		else if (arg == "--batch")
			o.batch = atoi(value);
		else if (arg == "--rate")
			o.rate = atof(value);
		else if (arg == "--window")
			o.window = atoi(value);
		else if (arg == "--timeout")
			o.timeout = atof(value);
		else if (arg == "--gap-us")
			o.gap_us = atoi(value);
		else if (arg == "--sm")
			o.sm = strcmp(value, "off") != 0;
		else
			usage();
	}
	if (o.jid.find('@') == std::string::npos || o.pass.empty() || o.tag.empty() || o.count <= 0)
		usage();
	if (o.mode == "recv")
		return receive();
	if (o.mode == "send" && !o.to.empty())
		return send();
	usage();
}
