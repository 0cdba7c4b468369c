"""bench/retention.py: does retention keep a steadily fed queue flat? (bench/run --retention)

Run by bench/run --retention, which has started Prosody and a PostgreSQL
cluster (jabclnd preloaded, autovacuum as configured by default) like the
tests. The worker's account sends RATE messages a second to itself, for
DURATION seconds: each row of xmpp_tx_queue is sent through Prosody, comes
back to the worker and is stored in xmpp_rx_queue, so both queues are fed at
the same steady rate by the real paths. Retention keeps sent and received
rows KEEP seconds (jabclnd.keep_sent, keep_received), with a pass every
INTERVAL seconds.

Every REPORT seconds it prints, for each queue, the rows and
pg_total_relation_size (table, indexes and TOAST), with what retention
deleted so far (jabclnd_metrics()); then a verdict: after the warm-up (the
first rows expire at KEEP, and autovacuum needs a round or two to make their
space reusable), the rows must stay within the steady state, rate x (keep +
interval), and the sizes must stop growing: the last size at most 1.25 x the
size at the end of the warm-up. The table is written to
bench/results-retention.md (--output).
"""
import argparse
import os
import sys
import time

import psycopg2

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
DOMAIN = os.environ.get("XMPP_DOMAIN", "localhost")
BOT, BOT_PASS = f"bot@{DOMAIN}", "botpass"
TABLES = ("xmpp_tx_queue", "xmpp_rx_queue")


def say(text):
    print(text, flush=True)


class Feed:
    def __init__(self, args):
        self.args = args
        self.db = psycopg2.connect(dbname="jabclnd")
        self.db.autocommit = True

    def sql(self, query, params=None):
        with self.db.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else None

    def one(self, query, params=None):
        return self.sql(query, params)[0][0]

    def setup(self):
        a = self.args
        self.sql("CREATE EXTENSION IF NOT EXISTS jabclnd")
        self.sql("""INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass, srv_host, port)
                    VALUES (true, %s, %s, %s, %s)""",
                 (BOT, BOT_PASS, os.environ.get("XMPP_HOST", "127.0.0.1"),
                  int(os.environ["XMPP_PORT"])))
        for name, value in (("keep_sent", f"{a.keep}s"), ("keep_received", f"{a.keep}s"),
                            ("retention_interval", f"{a.interval}s")):
            self.sql(f"ALTER SYSTEM SET jabclnd.{name} = %s", (value,))
        self.sql("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 30
        while self.one("SELECT state FROM jabclnd_status()") != "online":
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not log in: {self.sql('SELECT * FROM jabclnd_status()')}")
            time.sleep(0.1)

    def sample(self, elapsed):
        row = {"t": elapsed}
        for table in TABLES:
            row[table] = (self.one(f"SELECT count(*) FROM {table}"),
                          self.one("SELECT pg_total_relation_size(%s)", (table,)))
        m = self.sql("""SELECT expired_sent, expired_received, retention_passes, pending
                          FROM jabclnd_metrics()""")[0]
        row["expired_sent"], row["expired_received"], row["passes"], row["pending"] = m
        row["autovacuum"] = self.one("""SELECT sum(autovacuum_count) FROM pg_stat_user_tables
                                         WHERE relname IN %s""", (TABLES,))
        return row

    def run(self):
        a = self.args
        self.setup()
        samples = []
        start = time.monotonic()
        next_report = start
        sent = 0
        tick = 0.1
        per_tick = a.rate * tick
        say(f"feeding {a.rate} messages/s for {a.duration} s; keep {a.keep} s, "
            f"retention every {a.interval} s")
        while True:
            now = time.monotonic()
            elapsed = now - start
            if now >= next_report:
                row = self.sample(round(elapsed))
                samples.append(row)
                say(line(row))
                next_report += a.report
            if elapsed >= a.duration:
                break
            due = int((elapsed + tick) * a.rate) - sent
            if due > 0:
                self.sql("""INSERT INTO xmpp_tx_queue (message_to, message_body)
                            SELECT %s, 'retention bench ' || g FROM generate_series(1, %s) g""",
                         (BOT, due))
                sent += due
            time.sleep(max(0.0, start + (int(elapsed / tick) + 1) * tick - time.monotonic()))
        return samples, sent


def kb(size):
    return f"{size / 1024:,.0f} kB"


def line(row):
    tx, rx = row["xmpp_tx_queue"], row["xmpp_rx_queue"]
    return (f"| {row['t']:>5} s | {tx[0]:>6,} | {kb(tx[1]):>9} | {rx[0]:>6,} | {kb(rx[1]):>9} "
            f"| {row['expired_sent']:>7,} | {row['expired_received']:>7,} | {row['passes']:>4} "
            f"| {row['pending']:>5} | {row['autovacuum']:>3} |")


HEADER = ("| time | tx rows | tx size | rx rows | rx size | sent deleted | received deleted "
          "| passes | pending | autovacuums |\n"
          "|---|---|---|---|---|---|---|---|---|---|")


def verdict(args, samples):
    """The steady state holds after the warm-up: rows bounded, sizes flat."""
    warm = [s for s in samples if s["t"] >= args.warmup]
    if len(warm) < 2:
        return False, "the run was too short to leave the warm-up"
    bound = args.rate * (args.keep + args.interval) * 1.2
    notes = []
    ok = True
    for table in TABLES:
        most_rows = max(s[table][0] for s in warm)
        first, last = warm[0][table][1], warm[-1][table][1]
        flat = last <= 1.25 * first
        bounded = most_rows <= bound
        ok = ok and flat and bounded
        notes.append(f"{table}: at most {most_rows:,} rows after the warm-up (bound "
                     f"{bound:,.0f}); size {kb(first)} at {warm[0]['t']} s, {kb(last)} at "
                     f"{warm[-1]['t']} s ({last / first:.2f}x): "
                     f"{'flat' if flat and bounded else 'GROWING'}")
    return ok, "; ".join(notes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a ~3 minute run")
    parser.add_argument("--output", help="default bench/results-retention.md")
    args = parser.parse_args()
    args.rate = 20
    args.keep = 60
    args.interval = 10
    args.duration = 180 if args.quick else 420
    args.report = 15 if args.quick else 30
    args.warmup = 120 if args.quick else 180
    args.output = args.output or os.path.join(BENCH_DIR, "results-retention.md")

    feed = Feed(args)
    samples, sent = feed.run()
    ok, notes = verdict(args, samples)
    text = "\n".join([
        "# Retention: a steadily fed queue stays flat (bench/run --retention)",
        "",
        f"{args.rate} messages/s for {args.duration} s, {sent:,} in all, from the worker's "
        f"account to itself (each row of xmpp_tx_queue also becomes a row of xmpp_rx_queue); "
        f"jabclnd.keep_sent = keep_received = {args.keep}s, retention_interval = "
        f"{args.interval}s, retention_batch_size and autovacuum at their defaults. Sizes are "
        "pg_total_relation_size (table, indexes, TOAST).",
        "",
        HEADER,
        *[line(s) for s in samples],
        "",
        f"Verdict after the {args.warmup} s warm-up: {'holds' if ok else 'MISSED'}. {notes}.",
        ""])
    with open(args.output, "w") as f:
        f.write(text)
    say("\n" + text)
    say(f"written to {os.path.relpath(args.output)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
