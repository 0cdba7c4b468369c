"""jabclnd's benchmark: the measurements behind bench/run.

Run by bench/run, which has built bench/xmppbench and started Prosody and a
PostgreSQL cluster (test/lib/env.sh) with jabclnd and pg_stat_statements
preloaded, and exported where they are (XMPP_*, PG*, JABCLND_TMP).

Every figure is a ratio or a distribution taken in this run, next to its
counterpart measured on the same server in the same run:

  send        rows inserted in one transaction -> received by xmppbench recv
              (alice), against xmppbench send (bob) pushing the same stanzas
              to the same receiver: messages/s and the ratio, run by run.
  latency     one row per transaction at a steady rate, commit -> receipt,
              against xmppbench send --rate (send -> receipt).
  receive     xmppbench send (carol) -> the worker's account, until every
              message is a row of xmpp_rx_queue (seen by LISTEN jabclnd_rx),
              against the same sender -> xmppbench recv (dave).
  batch       send throughput for jabclnd.batch_size 1, 10, 100, 1000,
              against xmppbench send --batch B (the same batch-and-ping
              protocol without the database).
  memory      the worker's RSS around the large send runs and 10 reconnects.
  idle        the worker's CPU time, wake-ups and SQL statements while
              nothing happens, with the safety poll out of the way, then
              what one safety poll costs.

Processes it starts are written to $JABCLND_TMP/bench.pids (bench/run's
trap stops any left over) and stopped here in `finally`. Results go to
stdout and to bench/results.md (bench/results-quick.md with --quick).
"""
import argparse
import datetime
import os
import platform
import random
import select
import signal
import statistics
import subprocess
import sys
import time

import psycopg2
import psycopg2.extensions

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(BENCH_DIR, "xmppbench")
TMP = os.environ["JABCLND_TMP"]
PIDFILE = os.path.join(TMP, "bench.pids")
DOMAIN = os.environ.get("XMPP_DOMAIN", "localhost")
CLK_TCK = os.sysconf("SC_CLK_TCK")

BOT, BOT_PASS = f"bot@{DOMAIN}", "botpass"          # the worker's account
RECEIVER, RECEIVER_PASS = f"alice@{DOMAIN}", "alicepass"  # receives what is sent
LIMIT, LIMIT_PASS = f"bob@{DOMAIN}", "bobpass"      # the libstrophe-only sender
PEER, PEER_PASS = f"carol@{DOMAIN}", "carolpass"    # sends to the worker
PLAIN, PLAIN_PASS = f"dave@{DOMAIN}", "davepass"    # the libstrophe-only receiver


def say(text):
    print(text, flush=True)


def now_ns():
    return time.time_ns()  # CLOCK_REALTIME, as xmppbench's timestamps


class BenchError(Exception):
    pass


# --------------------------------------------------------------- processes

class Tool:
    """One xmppbench process; its stdout is read line by line with deadlines."""

    def __init__(self, *args):
        self.name = " ".join(args[:3])
        self.stderr_path = os.path.join(TMP, f"xmppbench-{os.getpid()}-{time.monotonic_ns()}.err")
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([TOOL, *args], stdout=subprocess.PIPE, stderr=self.stderr,
                                     env=os.environ)
        with open(PIDFILE, "a") as f:
            f.write(f"{self.proc.pid}\n")
        self.buffer = b""
        self.lines = []

    def _read(self, deadline):
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    return False
                self.buffer += chunk
        return True

    def expect(self, word, timeout):
        """The first line starting with `word`, as a dict of its key=value fields."""
        deadline = time.monotonic() + timeout
        while True:
            if not self._read(deadline):
                raise BenchError(f"{self.name}: no {word} line within {timeout:.0f} s "
                                 f"({self.problem()})")
            line, self.buffer = self.buffer.split(b"\n", 1)
            text = line.decode()
            self.lines.append(text)
            first, *rest = text.split()
            if first == word or (word == "DONE" and first == "TIMEOUT"):
                if first != word:
                    raise BenchError(f"{self.name}: {text} ({self.problem()})")
                fields = {"_": rest[0] if rest and "=" not in rest[0] else None}
                for item in rest:
                    if "=" in item:
                        key, value = item.split("=", 1)
                        fields[key] = float(value) if "." in value else int(value)
                return fields

    def finish(self, timeout=10):
        """Waits for the exit; returns the CPU line's user+sys seconds."""
        cpu = self.expect("CPU", timeout)
        self.proc.wait(timeout)
        self.stderr.close()
        return cpu["user"] + cpu["sys"]

    def problem(self):
        self.stderr.flush()
        with open(self.stderr_path) as f:
            err = f.read().strip().replace("\n", "; ")
        state = "running" if self.proc.poll() is None else f"exit {self.proc.returncode}"
        return f"{state}; stderr: {err[-400:] or 'empty'}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.stderr.closed:
            self.stderr.close()


class Tools:
    """Every Tool started in a `with` block is stopped at its end, pass or fail."""

    def __init__(self):
        self.started = []

    def __enter__(self):
        return self

    def start(self, *args):
        tool = Tool(*args)
        self.started.append(tool)
        return tool

    def __exit__(self, *exc):
        for tool in self.started:
            tool.stop()


def receiver(tools, tag, count, jid=RECEIVER, password=RECEIVER_PASS, times=None, sm=False):
    """xmppbench recv, logged in. Stream management is off unless sm: the receiver is the
    instrument, and leaves nothing unacknowledged for Prosody to store offline."""
    args = ["recv", "--jid", jid, "--pass", password, "--tag", tag, "--count", str(count),
            "--timeout", str(max(60, count / 500)), "--sm", "on" if sm else "off"]
    if times:
        args += ["--times", times]
    tool = tools.start(*args)
    tool.expect("READY", 20)
    return tool


def sender(tools, tag, count, to=RECEIVER, jid=LIMIT, password=LIMIT_PASS, **options):
    args = ["send", "--jid", jid, "--pass", password, "--to", to, "--tag", tag,
            "--count", str(count), "--timeout", str(max(60, count / 200))]
    for key, value in options.items():
        args += [f"--{key}", str(value)]
    return tools.start(*args)


def libstrophe_run(recv, send, count):
    """Waits for xmppbench send to connect, push count messages and for the receiver to have
    them all, each exactly once; {rate, seconds, receiver_cpu, sender_cpu}."""
    send.expect("READY", 20)
    done = recv.expect("DONE", max(60, count / 500))
    sent = send.expect("SENT", 60)
    receiver_cpu = recv.finish()
    sender_cpu = send.finish()
    if done["distinct"] != count or done["dups"]:
        raise BenchError(f"receiver saw {done}")
    if done["strays"]:
        say(f"  ({done['strays']} messages of earlier runs reached the receiver)")
    seconds = (done["last_ns"] - sent["start_ns"]) / 1e9
    return {"rate": count / seconds, "seconds": seconds, "receiver_cpu": receiver_cpu,
            "sender_cpu": sender_cpu}


# ------------------------------------------------------------------ /proc

def proc_cpu_ns(pid):
    """CPU time of a process in ns (schedstat: exact), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0])
    except OSError:
        return None


def proc_stat_ticks(pid):
    """utime + stime from /proc/PID/stat, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_status(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            values[key] = value.split()[0] if value.split() else ""
    return values


def memory(pid):
    s = proc_status(pid)
    return {k: int(s[k]) for k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")}


def machine_busy():
    """(busy, total) jiffies of all CPUs."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def children_of(ppid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == ppid:
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


class CpuMeter:
    """CPU seconds of the worker, Prosody and the rest of PostgreSQL over a span."""

    def __init__(self, bench):
        self.bench = bench

    def snapshot(self):
        b = self.bench
        others = [p for p in children_of(b.postmaster) if p != b.worker_pid]
        return {"worker": proc_cpu_ns(b.worker_pid) or 0,
                "prosody": proc_cpu_ns(b.prosody_pid) or 0,
                "postgres": sum(proc_cpu_ns(p) or 0 for p in others + [b.postmaster]),
                "machine": machine_busy()}

    def __enter__(self):
        self.before = self.snapshot()
        return self

    def __exit__(self, *exc):
        after = self.snapshot()
        self.seconds = {k: (after[k] - self.before[k]) / 1e9 for k in ("worker", "prosody",
                                                                      "postgres")}
        busy = after["machine"][0] - self.before["machine"][0]
        total = after["machine"][1] - self.before["machine"][1]
        self.machine = busy / total if total else 0.0


# --------------------------------------------------------------- the bench

class Bench:
    def __init__(self, args):
        self.args = args
        self.db = psycopg2.connect(dbname="jabclnd")
        self.db.autocommit = True
        # Observations run from another database, so that pg_stat_statements
        # and pg_stat_database can tell the worker's statements from ours.
        self.obs = psycopg2.connect(dbname="postgres")
        self.obs.autocommit = True
        with open(os.environ["PROSODY_PIDFILE"] + ".ours") as f:
            self.prosody_pid = int(f.read())
        with open(os.path.join(os.environ["PGDATA"], "postmaster.pid")) as f:
            self.postmaster = int(f.readline())
        self.run_id = "%04x" % random.randrange(0x10000)
        self.serial = 0
        self.results = {}
        self.runs = []  # one line per run, for the record

    # -- SQL helpers

    def sql(self, query, args=None, conn=None):
        with (conn or self.db).cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall() if cur.description else None

    def one(self, query, args=None, conn=None):
        rows = self.sql(query, args, conn)
        return rows[0][0] if rows else None

    def tag(self):
        self.serial += 1
        return f"b{self.run_id}r{self.serial}"

    def status(self):
        row = self.sql("SELECT state, worker_pid, last_error FROM jabclnd_status()")[0]
        return {"state": row[0], "pid": row[1], "error": row[2]}

    def wait_state(self, states, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.status()
            if s["state"] in states:
                return s
            time.sleep(0.02)
        raise BenchError(f"the worker did not reach {states} within {timeout} s: {self.status()}")

    def set_setting(self, name, value):
        if value is None:
            self.sql(f"ALTER SYSTEM RESET {name}")
        else:
            self.sql(f"ALTER SYSTEM SET {name} = %s", (str(value),))
        self.sql("SELECT pg_reload_conf()")
        time.sleep(1.0)  # the worker applies it at its next turn (SIGHUP sets its latch)

    def set_batch_size(self, size):
        self.set_setting("jabclnd.batch_size", size)
        self.batch_size = int(self.one("SHOW jabclnd.batch_size"))

    @property
    def worker_pid(self):
        return self._worker_pid

    def setup(self):
        self.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", conn=self.obs)
        self.sql("CREATE EXTENSION IF NOT EXISTS jabclnd")
        self.sql("""INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass, srv_host, port)
                    VALUES (true, %s, %s, %s, %s)""",
                 (BOT, BOT_PASS, os.environ.get("XMPP_HOST", "127.0.0.1"),
                  int(os.environ["XMPP_PORT"])))
        s = self.wait_state({"online"})
        self._worker_pid = s["pid"]
        self.jabclnd_oid = self.one("SELECT oid FROM pg_database WHERE datname = 'jabclnd'",
                                    conn=self.obs)
        self.batch_size = int(self.one("SHOW jabclnd.batch_size"))

    def check_worker(self):
        s = self.status()
        if s["pid"] != self._worker_pid:
            raise BenchError(f"the worker restarted (pid {self._worker_pid} -> {s['pid']}); "
                             f"see the server log")

    def clear_queues(self):
        self.sql("TRUNCATE xmpp_tx_queue, xmpp_rx_queue")

    def wait_all_sent(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = self.one("""SELECT count(*) FROM xmpp_tx_queue
                                  WHERE submission_timestamp IS NULL AND NOT submission_failed""")
            if pending == 0:
                return
            time.sleep(0.05)
        raise BenchError(f"{pending} rows still unsent after {timeout} s: {self.status()}")

    def record_run(self, kind, text):
        self.runs.append(f"{kind}: {text}")
        say(f"  {kind}: {text}")

    # -- 1. send throughput

    def send_jabclnd(self, count, cost=False):
        """Rows in one transaction -> the receiver; returns {rate, pause}, and with `cost`
        what the rows cost the database (SendCost.result) under "cost"."""
        tag = self.tag()
        self.clear_queues()
        times = os.path.join(TMP, f"{tag}.times")
        meter = SendCost(self) if cost else None
        with Tools() as tools:
            recv = receiver(tools, tag, count, times=times)
            with CpuMeter(self) as cpu:
                if meter:
                    meter.start()
                with self.db.cursor() as cur:
                    cur.execute("BEGIN")
                    cur.execute("""INSERT INTO xmpp_tx_queue (message_to, message_body)
                                   SELECT %s, %s || ' ' || g || ' 0'
                                   FROM generate_series(0, %s - 1) g""", (RECEIVER, tag, count))
                    cur.execute("COMMIT")
                committed = now_ns()
                if meter:
                    meter.inserted()
                done = recv.expect("DONE", max(60, count / 500))
                receiver_cpu = recv.finish()
            self.wait_all_sent()
        if meter:
            meter.sent()
        if done["distinct"] != count or done["dups"]:
            raise BenchError(f"receiver saw {done}")
        sent, failed, last_sent = self.sql("""
            SELECT count(*) FILTER (WHERE submission_timestamp IS NOT NULL),
                   count(*) FILTER (WHERE submission_failed),
                   (extract(epoch FROM max(submission_timestamp)) * 1e9)::int8
            FROM xmpp_tx_queue""")[0]
        if sent != count or failed:
            raise BenchError(f"{sent} rows marked sent and {failed} failed, of {count}")
        self.check_worker()
        seconds = (done["last_ns"] - committed) / 1e9
        rate = count / seconds
        pause = batch_pause(times, self.batch_size)
        self.record_run(f"jabclnd send {count} (batch {self.batch_size})",
                        f"{rate:.0f} msg/s ({seconds:.2f} s commit->last receipt; all rows "
                        f"marked sent {(last_sent - committed) / 1e9:.2f} s after commit); "
                        f"pause between batches {pause:.2f} ms; "
                        f"CPU µs/msg: worker {us(cpu.seconds['worker'], count)}, other "
                        f"postgres {us(cpu.seconds['postgres'], count)}, prosody "
                        f"{us(cpu.seconds['prosody'], count)}, receiver {us(receiver_cpu, count)}; "
                        f"machine busy {cpu.machine:.0%} of {os.cpu_count()} cores")
        os.unlink(times)
        result = {"rate": rate, "pause": pause}
        if meter:
            result["cost"] = meter.result(count)
            c = result["cost"]
            self.record_run(f"  cost of {count} rows", describe_cost(c))
        return result

    # -- 7. what sending costs the database

    def send_costs(self, count, reps):
        """The same rows sent with xmpp_tx_queue's fillfactor at 100 (PostgreSQL's default,
        jabclnd 1.0 and 1.1) and at the schema's own, in turn; autovacuum off, a CHECKPOINT
        before each run (no full-page image in the window), the table truncated (new pages,
        filled to the fillfactor)."""
        own = self.one("""SELECT coalesce((SELECT option_value FROM pg_options_to_table(
                                     (SELECT reloptions FROM pg_class
                                       WHERE oid = 'xmpp_tx_queue'::regclass))
                                   WHERE option_name = 'fillfactor'), '100')""")
        self.sql("ALTER SYSTEM SET autovacuum = off")
        self.sql("SELECT pg_reload_conf()")
        runs = {}
        try:
            order = ["100", own] if own != "100" else ["100"]
            for _ in range(reps):
                # Each repetition in the other order: a slower second run (a server warming
                # up, a neighbour's load) weighs on both alike.
                for fillfactor in order:
                    self.sql(f"ALTER TABLE xmpp_tx_queue SET (fillfactor = {fillfactor})")
                    self.sql("TRUNCATE xmpp_tx_queue")
                    self.sql("CHECKPOINT")
                    say(f"  fillfactor {fillfactor}:")
                    runs.setdefault(fillfactor, []).append(self.send_jabclnd(count, cost=True))
                order.reverse()
        finally:
            self.sql(f"ALTER TABLE xmpp_tx_queue SET (fillfactor = {own})")
            self.sql("ALTER SYSTEM RESET autovacuum")
            self.sql("SELECT pg_reload_conf()")
        self.results["cost"] = {"count": count, "own": own, "runs": runs}

    def send_limit(self, count, batch=None):
        """xmppbench send -> the receiver (batch: with a ping after each batch); {rate, pause}."""
        tag = self.tag()
        times = os.path.join(TMP, f"{tag}.times")
        options = {"batch": batch} if batch else {}
        with Tools() as tools:
            recv = receiver(tools, tag, count, times=times)
            with CpuMeter(self) as cpu:
                run = libstrophe_run(recv, sender(tools, tag, count, **options), count)
        rate, seconds = run["rate"], run["seconds"]
        receiver_cpu, sender_cpu = run["receiver_cpu"], run["sender_cpu"]
        pause = batch_pause(times, batch) if batch else None
        label = "libstrophe send" + (f" (batch {batch})" if batch else "")
        self.record_run(f"{label} {count}",
                        f"{rate:.0f} msg/s ({seconds:.2f} s first send->last receipt); "
                        + (f"pause between batches {pause:.2f} ms; " if batch else "")
                        + f"CPU µs/msg: sender {us(sender_cpu, count)}, prosody "
                        f"{us(cpu.seconds['prosody'], count)}, receiver {us(receiver_cpu, count)}; "
                        f"machine busy {cpu.machine:.0%}")
        os.unlink(times)
        return {"rate": rate, "pause": pause}

    def send_pair(self, key, count, reps):
        """jabclnd and the limit in turn, A B A B: the ratio is taken pair by pair."""
        jab, lim = [], []
        costs = StatementCosts(self)
        private = []  # the worker's RssAnon after each of its runs, kB
        for _ in range(reps):
            jab.append(self.send_jabclnd(count))
            private.append(memory(self.worker_pid)["RssAnon"])
            lim.append(self.send_limit(count))
        jab_rates = [x["rate"] for x in jab]
        lim_rates = [x["rate"] for x in lim]
        self.results[key] = {"count": count, "jabclnd": jab_rates, "limit": lim_rates,
                             "ratio": [a / b for a, b in zip(jab_rates, lim_rates)],
                             "pause": [x["pause"] for x in jab], "costs": costs.take(),
                             "private_kb": private}

    # -- 2. latency

    def latency_jabclnd(self, count, rate):
        tag = self.tag()
        self.clear_queues()
        times = os.path.join(TMP, f"{tag}.times")
        committed = {}
        with Tools() as tools:
            recv = receiver(tools, tag, count, times=times)
            start = time.monotonic() + 0.05
            with self.db.cursor() as cur:
                for seq in range(count):
                    delay = start + seq / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    before = now_ns()
                    cur.execute("INSERT INTO xmpp_tx_queue (message_to, message_body) "
                                "VALUES (%s, %s)", (RECEIVER, f"{tag} {seq} {before}"))
                    committed[seq] = now_ns()  # autocommit: the INSERT has committed
            recv.expect("DONE", 60)
            recv.finish()
        self.wait_all_sent()
        latencies, with_insert = [], []
        with open(times) as f:
            for line in f:
                seq, arrival, before = map(int, line.split())
                latencies.append((arrival - committed[seq]) / 1e6)
                with_insert.append((arrival - before) / 1e6)
        self.check_worker()
        self.record_run(f"jabclnd latency {count} at {rate}/s",
                        describe_latency(latencies) +
                        f"; from before the INSERT: {describe_latency(with_insert)}")
        return latencies

    def latency_limit(self, count, rate):
        tag = self.tag()
        times = os.path.join(TMP, f"{tag}.times")
        with Tools() as tools:
            recv = receiver(tools, tag, count, times=times)
            send = sender(tools, tag, count, rate=rate)
            recv.expect("DONE", 60 + count / rate)
            send.expect("SENT", 20)
            recv.finish()
            send.finish()
        with open(times) as f:
            latencies = [(int(arrival) - int(sent)) / 1e6
                         for _, arrival, sent in (line.split() for line in f)]
        self.record_run(f"libstrophe latency {count} at {rate}/s", describe_latency(latencies))
        return latencies

    # -- 3. receive throughput

    def receive_jabclnd(self, count):
        tag = self.tag()
        self.clear_queues()
        listen = psycopg2.connect(dbname="jabclnd")
        listen.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        try:
            self.sql("LISTEN jabclnd_rx", conn=listen)
            with Tools() as tools, CpuMeter(self) as cpu:
                send = sender(tools, tag, count, to=BOT, jid=PEER, password=PEER_PASS)
                send.expect("READY", 20)
                ids, last = 0, None
                deadline = time.monotonic() + max(60, count / 200)
                while ids < count and time.monotonic() < deadline:
                    if select.select([listen], [], [], 1.0)[0]:
                        listen.poll()
                        arrived = now_ns()
                        while listen.notifies:
                            ids += len(listen.notifies.pop(0).payload.split(","))
                            last = arrived
                if ids < count:
                    raise BenchError(f"only {ids} of {count} messages became rows: "
                                     f"{self.status()}")
                sent = send.expect("SENT", 60)
                sender_cpu = send.finish()
        finally:
            listen.close()
        rows, distinct = self.sql("""SELECT count(*), count(DISTINCT message_body)
                                     FROM xmpp_rx_queue WHERE message_body LIKE %s""",
                                  (tag + " %",))[0]
        if rows != count or distinct != count:
            raise BenchError(f"xmpp_rx_queue holds {rows} rows ({distinct} distinct) of {count}")
        self.check_worker()
        seconds = (last - sent["start_ns"]) / 1e9
        rate = count / seconds
        self.record_run(f"jabclnd receive {count}",
                        f"{rate:.0f} msg/s ({seconds:.2f} s first send->last row committed); "
                        f"CPU µs/msg: worker {us(cpu.seconds['worker'], count)}, other postgres "
                        f"{us(cpu.seconds['postgres'], count)}, prosody "
                        f"{us(cpu.seconds['prosody'], count)}, sender {us(sender_cpu, count)}; "
                        f"machine busy {cpu.machine:.0%}")
        return rate

    def receive_plain(self, count):
        tag = self.tag()
        with Tools() as tools, CpuMeter(self) as cpu:
            # Stream management on, as the worker's connection has it.
            recv = receiver(tools, tag, count, jid=PLAIN, password=PLAIN_PASS, sm=True)
            send = sender(tools, tag, count, to=PLAIN, jid=PEER, password=PEER_PASS)
            run = libstrophe_run(recv, send, count)
        rate, seconds = run["rate"], run["seconds"]
        receiver_cpu, sender_cpu = run["receiver_cpu"], run["sender_cpu"]
        self.record_run(f"libstrophe receive {count}",
                        f"{rate:.0f} msg/s ({seconds:.2f} s first send->last receipt); "
                        f"CPU µs/msg: receiver {us(receiver_cpu, count)}, prosody "
                        f"{us(cpu.seconds['prosody'], count)}, sender {us(sender_cpu, count)}; "
                        f"machine busy {cpu.machine:.0%}")
        return rate

    # -- 5. memory

    def reconnects(self, times):
        for _ in range(times):
            self.sql("UPDATE xmpp_accounts SET enabled = false WHERE acc_jid = %s", (BOT,))
            self.wait_state({"no_account"})
            self.sql("UPDATE xmpp_accounts SET enabled = (acc_jid = %s)", (BOT,))
            self.wait_state({"online"})
        self.check_worker()

    # -- 4. idle

    def idle_snapshot(self):
        pid = self.worker_pid
        status = proc_status(pid)
        statements = {
            (row[0], row[1]): row[2] for row in self.sql(
                "SELECT queryid, query, calls FROM pg_stat_statements WHERE dbid = %s",
                (self.jabclnd_oid,), conn=self.obs)}
        xacts = self.one("""SELECT xact_commit + xact_rollback FROM pg_stat_database
                            WHERE datname = 'jabclnd'""", conn=self.obs)
        return {"cpu_ns": proc_cpu_ns(pid), "ticks": proc_stat_ticks(pid),
                "voluntary": int(status["voluntary_ctxt_switches"]),
                "involuntary": int(status["nonvoluntary_ctxt_switches"]),
                "statements": statements, "xacts": xacts, "time": time.monotonic()}

    @staticmethod
    def idle_delta(before, after):
        calls = {}
        for key, n in after["statements"].items():
            d = n - before["statements"].get(key, 0)
            if d:
                calls[key[1]] = d
        seconds = after["time"] - before["time"]
        return {"seconds": seconds,
                "cpu_ms": (after["cpu_ns"] - before["cpu_ns"]) / 1e6,
                "ticks_ms": (after["ticks"] - before["ticks"]) * 1000 / CLK_TCK,
                "wakeups": after["voluntary"] - before["voluntary"],
                "involuntary": after["involuntary"] - before["involuntary"],
                "statements": sum(calls.values()), "by_statement": calls,
                "xacts": after["xacts"] - before["xacts"]}

    def idle(self, seconds, reps):
        # Nothing left for autovacuum to do in the window, then the poll out of the way.
        self.clear_queues()
        self.sql("VACUUM ANALYZE")
        # VACUUM's transactions (one per table) count in pg_stat_database when this
        # backend reports them: now, not inside the window. Autovacuum is off for the
        # windows, so that the transactions counted there are the worker's alone.
        self.sql("SELECT pg_stat_force_next_flush()")
        self.sql("ALTER SYSTEM SET autovacuum = off")
        self.set_setting("jabclnd.safety_poll_interval", "1h")
        # VACUUM ANALYZE queued cache invalidations that the idle worker has not read;
        # once enough pile up, PostgreSQL signals it to catch up, which wakes it (see
        # the DDL measurement below). One wake now, so that it reads them before the
        # windows.
        self.sql("SELECT jabclnd_wake()")
        time.sleep(3.0)
        # The seconds after a login: jabclnd.connect_timeout arms a timer for the login,
        # and PostgreSQL's disable_timeout() leaves the interval timer running; its
        # SIGALRM sets the latch at the old deadline anyway. A 5 s timeout brings that
        # moment into a short window.
        self.set_setting("jabclnd.connect_timeout", "5s")
        time.sleep(1.0)
        after_login = []
        for _ in range(reps):
            self.reconnects(1)
            time.sleep(0.5)  # the claim the worker runs once online, before the window
            before = self.idle_snapshot()
            time.sleep(8.0)
            d = self.idle_delta(before, self.idle_snapshot())
            after_login.append(d)
            self.record_run("idle, the 8 s after a login (jabclnd.connect_timeout 5 s)",
                            f"{d['statements']} statements, {d['xacts']} transactions, "
                            f"{d['wakeups']} wake-ups, CPU {d['cpu_ms']:.1f} ms")
        self.results["after_login"] = {
            "statements": sum(d["statements"] for d in after_login),
            "xacts": sum(d["xacts"] for d in after_login), "logins": len(after_login)}
        self.set_setting("jabclnd.connect_timeout", None)
        time.sleep(2.0)
        windows = []
        for _ in range(reps):
            before = self.idle_snapshot()
            time.sleep(seconds)
            d = self.idle_delta(before, self.idle_snapshot())
            windows.append(d)
            self.record_run(f"idle {seconds} s",
                            f"CPU {d['cpu_ms']:.1f} ms (/proc/PID/stat: {d['ticks_ms']:.0f} ms), "
                            f"{d['wakeups']} voluntary + {d['involuntary']} involuntary context "
                            f"switches, {d['statements']} SQL statements, {d['xacts']} "
                            f"transactions")
        self.results["idle"] = windows
        # What the safety poll costs: a short interval, counted by its own statement.
        interval = 2
        self.set_setting("jabclnd.safety_poll_interval", f"{interval}s")
        before = self.idle_snapshot()
        time.sleep(interval * (3 if self.args.quick else 5) + 0.5)
        d = self.idle_delta(before, self.idle_snapshot())
        polls = max((n for q, n in d["by_statement"].items() if "xmpp_accounts" in q), default=0)
        self.results["poll"] = {"polls": polls, "delta": d}
        self.record_run("safety poll",
                        f"{polls} polls in {d['seconds']:.1f} s: {d['statements']} statements, "
                        f"{d['xacts']} transactions, CPU {d['cpu_ms']:.1f} ms, "
                        f"{d['wakeups']} wake-ups")
        # Idle, but with DDL elsewhere in the cluster: cache invalidations pile up for
        # the idle worker and PostgreSQL signals it to catch up (SIGUSR1, which sets its
        # latch). Whether that makes it run SQL is what this counts.
        self.set_setting("jabclnd.safety_poll_interval", "1h")
        before = self.idle_snapshot()
        with self.obs.cursor() as cur:
            for _ in range(self.args.ddl):
                cur.execute("CREATE TABLE bench_invalidation (a int)")
                cur.execute("DROP TABLE bench_invalidation")
        time.sleep(2.0)
        d = self.idle_delta(before, self.idle_snapshot())
        self.results["ddl"] = d
        self.record_run(f"idle, {self.args.ddl} CREATE TABLE + DROP TABLE in database postgres",
                        f"{d['statements']} statements of the worker, {d['xacts']} transactions, "
                        f"{d['wakeups']} wake-ups in {d['seconds']:.1f} s")
        self.sql("ALTER SYSTEM RESET autovacuum")
        self.set_setting("jabclnd.safety_poll_interval", None)

    # -- the whole run

    def run(self):
        a = self.args
        self.setup()
        self.describe_machine()
        say(f"\n== worker pid {self.worker_pid}; {a.reps} repetition(s) of each measurement")

        say("\n== warm-up (not counted)")
        self.send_jabclnd(1000)
        self.send_limit(1000)
        self.runs.clear()

        say(f"\n== 1. send throughput, {a.small} rows")
        self.send_pair("send_small", a.small, a.reps)

        say(f"\n== 1. send throughput, {a.large} rows (and 5. memory around it)")
        mem = {"before": memory(self.worker_pid)}
        self.send_pair("send_large", a.large, a.reps)
        mem["after_large"] = memory(self.worker_pid)
        say(f"\n== 5. memory: {a.reconnects} reconnects (account disabled and enabled)")
        self.reconnects(a.reconnects)
        mem["after_reconnects"] = memory(self.worker_pid)
        self.results["memory"] = mem
        for k, v in mem.items():
            self.record_run(f"worker memory {k}", ", ".join(f"{n} {kb} kB" for n, kb in v.items()))

        say(f"\n== 2. latency, {a.latency_count} messages at {a.latency_rate}/s")
        jab, lim = [], []
        for _ in range(a.reps):
            jab.append(self.latency_jabclnd(a.latency_count, a.latency_rate))
            lim.append(self.latency_limit(a.latency_count, a.latency_rate))
        self.results["latency"] = {"jabclnd": jab, "limit": lim}

        say(f"\n== 3. receive throughput, {a.receive} messages")
        jab, lim = [], []
        for _ in range(a.reps):
            jab.append(self.receive_jabclnd(a.receive))
            lim.append(self.receive_plain(a.receive))
        self.results["receive"] = {"count": a.receive, "jabclnd": jab, "limit": lim,
                                   "ratio": [x / y for x, y in zip(jab, lim)]}

        say(f"\n== 6. batch size, {a.batch_count} rows")
        batches = {}
        for size in (1, 10, 100, 1000):
            self.set_batch_size(size)
            jab, lim = [], []
            for _ in range(a.reps):
                jab.append(self.send_jabclnd(a.batch_count))
                lim.append(self.send_limit(a.batch_count, batch=size))
            batches[size] = {"jabclnd": [x["rate"] for x in jab],
                             "limit": [x["rate"] for x in lim],
                             "ratio": [x["rate"] / y["rate"] for x, y in zip(jab, lim)],
                             "pause_jabclnd": [x["pause"] for x in jab],
                             "pause_limit": [x["pause"] for x in lim]}
        self.set_batch_size(None)
        self.results["batch"] = batches
        self.results["unpaced_limit"] = self.results["send_small"]["limit"]

        say(f"\n== 7. what sending costs the database, {a.cost_count} rows")
        self.send_costs(a.cost_count, a.reps)

        say(f"\n== 4. idle, {a.idle} s with no traffic")
        self.idle(a.idle, a.reps)
        self.check_worker()

    def run_cost_only(self):
        """--cost: section 7 alone (after a warm-up), e.g. to measure an older jabclnd."""
        a = self.args
        self.setup()
        self.describe_machine()
        say("\n== warm-up (not counted)")
        self.send_jabclnd(1000)
        self.runs.clear()
        say(f"\n== 7. what sending costs the database, {a.cost_count} rows")
        self.send_costs(a.cost_count, a.reps)
        self.check_worker()

    def describe_machine(self):
        model = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        strophe = subprocess.run(["pkg-config", "--modversion", "libstrophe"],
                                 capture_output=True, text=True).stdout.strip()
        prosody = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "prosody"],
                                 capture_output=True, text=True).stdout.strip()
        settings = dict(self.sql("""SELECT name, setting || coalesce(unit, '') FROM pg_settings
                                    WHERE name IN ('shared_buffers', 'synchronous_commit',
                                                   'fsync', 'wal_sync_method')"""))
        repo = os.path.dirname(BENCH_DIR)
        commit = subprocess.run(["git", "-C", repo, "log", "-1", "--format=%h %s"],
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--", "src", "sql",
                                "Makefile"], capture_output=True, text=True).stdout.strip()
        self.machine = {
            "jabclnd": (commit or "?") + (" (with uncommitted changes to src/ or sql/)"
                                          if dirty else ""),
            "cpu": f"{os.cpu_count()} cores, {model}",
            "kernel": f"Linux {platform.release()}",
            "postgres": self.one("SHOW server_version"),
            "libstrophe": strophe,
            "prosody": prosody,
            "settings": ", ".join(f"{k} = {v}" for k, v in sorted(settings.items())),
            "load": " ".join(open("/proc/loadavg").read().split()[:3]),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        }


def batch_pause(times, batch):
    """Median time (ms) between the last message of a batch and the first of the next, at the
    receiver: the sender's stop between batches (the barrier's round trip and, for the worker,
    its database work)."""
    arrival = {}
    with open(times) as f:
        for line in f:
            seq, at, _ = line.split()
            arrival[int(seq)] = int(at)
    gaps = [(arrival[i] - arrival[i - 1]) / 1e6 for i in range(batch, len(arrival), batch)]
    return statistics.median(gaps) if gaps else float("nan")


class StatementCosts:
    """Mean execution time of the worker's claim and mark-sent statements, and of a WAL
    flush, between construction and take() (pg_stat_statements, pg_stat_wal)."""

    def __init__(self, bench):
        self.bench = bench
        self.before = self.snapshot()

    def snapshot(self):
        b = self.bench
        rows = b.sql("""SELECT query, calls, total_exec_time, rows FROM pg_stat_statements
                        WHERE dbid = %s""", (b.jabclnd_oid,), conn=b.obs)
        stats = {}
        for query, calls, total, nrows in rows:
            if "SET submission_attempts = q.submission_attempts + 1" in query:
                key = "claim"
            elif "SET submission_timestamp = now()" in query:
                key = "mark sent"
            else:
                continue
            c, t, n = stats.get(key, (0, 0.0, 0))
            stats[key] = (c + calls, t + total, n + nrows)
        syncs, sync_ms = b.sql("SELECT wal_sync, wal_sync_time FROM pg_stat_wal", conn=b.obs)[0]
        stats["WAL flush"] = (syncs, sync_ms, 0)
        # Row updates of the queue, and how many were HOT (no new index entries).
        b.sql("SELECT pg_stat_clear_snapshot()")
        stats["updates"] = tuple(b.sql("""SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
                                          WHERE relid = 'xmpp_tx_queue'::regclass""")[0])
        return stats

    def take(self):
        time.sleep(1.0)  # the worker's table statistics reach pg_stat_user_tables within 1 s
        after = self.snapshot()
        costs = {}
        upd, hot = (a - b for a, b in zip(after.pop("updates"), self.before.pop("updates")))
        costs["updates"] = {"updates": upd, "hot": hot}
        for key, (calls, total, nrows) in after.items():
            c0, t0, n0 = self.before.get(key, (0, 0.0, 0))
            if calls > c0:
                costs[key] = {"calls": calls - c0, "mean_ms": (total - t0) / (calls - c0),
                              "rows": (nrows - n0) / (calls - c0)}
        return costs


class SendCost:
    """What sending rows costs the database, from before their INSERT to their last mark:
    WAL bytes (pg_current_wal_insert_lsn, the INSERT's own and the rest), and the updates of
    xmpp_tx_queue (pg_stat_user_tables), HOT or index-touching."""

    def __init__(self, bench):
        self.bench = bench

    def lsn(self):
        return self.bench.one("SELECT pg_current_wal_insert_lsn()::text", conn=self.bench.obs)

    def updates(self):
        b = self.bench
        b.sql("SELECT pg_stat_clear_snapshot()")
        return b.sql("""SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
                        WHERE relid = 'xmpp_tx_queue'::regclass""")[0]

    def start(self):
        self.updates_before = self.updates()
        self.lsn_start = self.lsn()

    def inserted(self):
        self.lsn_inserted = self.lsn()

    def sent(self):
        self.lsn_sent = self.lsn()
        time.sleep(1.0)  # the worker's table statistics reach pg_stat_user_tables within 1 s
        self.updates_after = self.updates()

    def result(self, count):
        diff = lambda a, b: int(self.bench.one("SELECT pg_wal_lsn_diff(%s, %s)", (a, b)))
        upd = self.updates_after[0] - self.updates_before[0]
        hot = self.updates_after[1] - self.updates_before[1]
        insert = diff(self.lsn_inserted, self.lsn_start) / count
        sending = diff(self.lsn_sent, self.lsn_inserted) / count
        return {"insert_wal": insert, "send_wal": sending, "total_ratio": (insert + sending) / insert,
                "updates": upd / count, "hot": hot / upd if upd else 0.0,
                "index_updates": (upd - hot) / count}


def describe_cost(c):
    return (f"WAL per row: INSERT {c['insert_wal']:.0f} B, sending {c['send_wal']:.0f} B, "
            f"total {c['total_ratio']:.2f}x the INSERT's; {c['updates']:.2f} updates per row, "
            f"{c['hot']:.0%} HOT, {c['index_updates']:.2f} index-touching per row")


def cost_table(r):
    """Section 7's table: one line per fillfactor, medians of the repetitions."""
    cost = r["cost"]
    out = [f"7. What sending costs the database ({cost['count']:,} rows in one transaction, "
           "from before the INSERT to the last mark; medians of the runs; autovacuum off, a "
           "`CHECKPOINT` and a `TRUNCATE` before each run):",
           "",
           "| xmpp_tx_queue fillfactor | WAL per row: INSERT | sending (claim, marks, commits) "
           "| total / INSERT | updates per row | HOT | index-touching updates per row | "
           "send throughput |",
           "|---|---|---|---|---|---|---|---|"]
    for fillfactor, runs in cost["runs"].items():
        med = lambda k: statistics.median(x["cost"][k] for x in runs)
        label = fillfactor + (" (the schema's)" if fillfactor == cost["own"] else "")
        out.append(f"| {label} | {med('insert_wal'):.0f} B | {med('send_wal'):.0f} B | "
                   f"{med('total_ratio'):.2f} | {med('updates'):.2f} | {med('hot'):.0%} | "
                   f"{med('index_updates'):.2f} | "
                   f"{spread([x['rate'] for x in runs])} msg/s |")
    return out


def cost_verdicts(r):
    cost = r["cost"]
    own = cost["runs"][cost["own"]]
    base = cost["runs"]["100"]
    med = lambda runs, k: statistics.median(x["cost"][k] for x in runs)
    rate = lambda runs: statistics.median(x["rate"] for x in runs)
    # Throughput "unchanged or better": within the spread of a shared machine (5 %).
    return {"cost_wal": med(own, "total_ratio") <= 2.0,
            "cost_index": med(own, "index_updates") <= 1.0,
            "cost_rate": rate(own) >= 0.95 * rate(base)}


def report_cost(bench):
    """The --cost report: the machine and section 7."""
    m, r = bench.machine, bench.results
    out = [f"# jabclnd benchmark: what sending costs the database (`bench/run --cost`, "
           f"{m['date']}, {bench.args.reps} repetition(s))", "",
           f"jabclnd {m['jabclnd']}; PostgreSQL {m['postgres']} ({m['settings']}); "
           f"{m['cpu']}; load at start {m['load']}", ""]
    out.extend(cost_table(r))
    verdicts = cost_verdicts(r)
    out += ["", "Every run, in order:", "", "```"] + bench.runs + ["```"]
    return "\n".join(out) + "\n", verdicts


def us(seconds, count):
    """CPU seconds spent on `count` messages, as µs per message."""
    return f"{seconds * 1e6 / count:.0f}"


def percentile(values, p):
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def describe_latency(ms):
    return (f"p50 {percentile(ms, 50):.2f} ms, p95 {percentile(ms, 95):.2f}, "
            f"p99 {percentile(ms, 99):.2f}, max {max(ms):.2f} (n={len(ms)})")


def spread(values, fmt="{:.0f}"):
    """median (min–max) of the repetitions."""
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


# ----------------------------------------------------------------- report

def report(bench):
    a, r, m = bench.args, bench.results, bench.machine
    out = []
    w = out.append
    w("# jabclnd benchmark results" + (" (quick smoke run)" if a.quick else ""))
    w("")
    w(f"Produced by `bench/run{' --quick' if a.quick else ''}` on {m['date']}. "
      f"Each figure is the median of {a.reps} repetition(s), with the range in parentheses; "
      "jabclnd and its libstrophe-only counterpart ran in turn (A B A B) on the same Prosody, "
      "and ratios are taken pair by pair.")
    w("")
    w("| machine | |")
    w("|---|---|")
    w(f"| jabclnd | {m['jabclnd']} |")
    w(f"| CPU | {m['cpu']} |")
    w(f"| kernel | {m['kernel']} |")
    w(f"| PostgreSQL | {m['postgres']} ({m['settings']}) |")
    w(f"| libstrophe | {m['libstrophe']} |")
    w(f"| Prosody | {m['prosody']}, loopback, STARTTLS; stream management with Prosody's "
      "default ack requests |")
    w(f"| load average at start | {m['load']} |")
    w("")

    def ratio_line(name, key, target=None, holds=None):
        x = r[key]
        w(f"| {name} | {spread(x['jabclnd'])} msg/s | {spread(x['limit'])} msg/s | "
          f"{spread(x['ratio'], '{:.2f}')} | {target or ''} | {holds or ''} |")

    verdicts = {}
    send_ratio = statistics.median(r["send_small"]["ratio"] + r["send_large"]["ratio"])
    verdicts["send"] = send_ratio >= 0.8
    lat = [v for run in r["latency"]["jabclnd"] for v in run]
    lim = [v for run in r["latency"]["limit"] for v in run]
    verdicts["latency"] = percentile(lat, 99) < 20
    idle = r["idle"]
    idle_statements = sum(d["statements"] for d in idle)
    after_login = r["after_login"]
    verdicts["idle_sql"] = (idle_statements == 0 and after_login["statements"] == 0
                            and r["ddl"]["statements"] == 0)
    cpu_share = max(d["cpu_ms"] / (d["seconds"] * 1000) for d in idle)
    verdicts["idle_cpu"] = cpu_share < 0.001
    mem = r["memory"]
    growth_large = (mem["after_large"]["RssAnon"] - mem["before"]["RssAnon"]) / 1024
    growth_rss = (mem["after_large"]["VmRSS"] - mem["before"]["VmRSS"]) / 1024
    verdicts["memory"] = growth_large < 5
    verdicts.update(cost_verdicts(r))

    def yes(k):
        return "holds" if verdicts[k] else "**missed**"

    w("| measurement | jabclnd | libstrophe alone | jabclnd / libstrophe | target | |")
    w("|---|---|---|---|---|---|")
    ratio_line(f"1. send throughput, {r['send_small']['count']:,} rows in one transaction",
               "send_small", "≥ 0.80", yes("send"))
    ratio_line(f"1. send throughput, {r['send_large']['count']:,} rows in one transaction",
               "send_large", "≥ 0.80", yes("send"))
    w(f"| 1. pause between batches of 100 (median; see 6.) | "
      f"{statistics.median(r['send_small']['pause'] + r['send_large']['pause']):.2f} ms | "
      f"{statistics.median(r['batch'][100]['pause_limit']):.2f} ms (batches of 100) | | | |")
    for name, p in (("p50", 50), ("p95", 95), ("p99", 99)):
        per_rep = [percentile(run, p) for run in r["latency"]["jabclnd"]]
        per_rep_lim = [percentile(run, p) for run in r["latency"]["limit"]]
        target = "< 20 ms" if p == 99 else ""
        runs = (f" (runs {min(per_rep):.2f}–{max(per_rep):.2f})" if len(per_rep) > 1 else "")
        runs_lim = (f" (runs {min(per_rep_lim):.2f}–{max(per_rep_lim):.2f})"
                    if len(per_rep_lim) > 1 else "")
        w(f"| 2. latency {name}, commit → receipt (send → receipt) | "
          f"{percentile(lat, p):.2f} ms{runs} | {percentile(lim, p):.2f} ms{runs_lim} | "
          f"{percentile(lat, p) / percentile(lim, p):.1f} | "
          f"{target} | {yes('latency') if p == 99 else ''} |")
    w(f"| 2. latency max | {max(lat):.2f} ms | {max(lim):.2f} ms | | | |")
    ratio_line(f"3. receive throughput, {r['receive']['count']:,} messages → rows",
               "receive")
    total_s = sum(d["seconds"] for d in idle)
    w(f"| 4. idle: SQL statements ({len(idle)} × {idle[0]['seconds']:.0f} s, safety poll "
      f"1 h) | {idle_statements} ({sum(d['xacts'] for d in idle)} transactions) | | | 0 | "
      f"{yes('idle_sql')} |")
    w(f"| 4. idle, the 8 s after a login (`jabclnd.connect_timeout` 5 s), "
      f"{after_login['logins']} logins: SQL statements | "
      f"{after_login['statements']} ({after_login['xacts']} transactions) | | | 0 | "
      f"{yes('idle_sql')} |")
    w(f"| 4. idle: worker CPU | {spread([d['cpu_ms'] / d['seconds'] / 10 for d in idle], '{:.4f}')}"
      f" % of a core ({sum(d['cpu_ms'] for d in idle):.1f} ms in {total_s:.0f} s; /proc/PID/stat: "
      f"{sum(d['ticks_ms'] for d in idle):.0f} ms) | | | < 0.1 % | {yes('idle_cpu')} |")
    w(f"| 4. idle: wake-ups (voluntary context switches) | "
      f"{spread([d['wakeups'] * 60 / d['seconds'] for d in idle])} per minute | | | | |")
    poll = r["poll"]
    pd = poll["delta"]
    if poll["polls"]:
        w(f"| 4. one safety poll | {pd['statements'] / poll['polls']:.1f} statements in "
          f"{pd['xacts'] / poll['polls']:.1f} transactions | | | | |")
    ddl = r["ddl"]
    w(f"| 4. idle, while {a.ddl} tables are created and dropped in another database: SQL "
      f"statements | {ddl['statements']} ({ddl['xacts']} transactions) | | | 0 | "
      f"{yes('idle_sql')} |")
    w(f"| 5. worker RSS across the {r['send_large']['count']:,}-row runs | "
      f"{mem['before']['VmRSS'] / 1024:.1f} → {mem['after_large']['VmRSS'] / 1024:.1f} MB "
      f"(private: {mem['before']['RssAnon'] / 1024:.1f} → "
      f"{mem['after_large']['RssAnon'] / 1024:.1f} MB, +{growth_large:.1f}; after each run: "
      f"{', '.join(f'{kb / 1024:.1f}' for kb in r['send_large']['private_kb'])} MB) | | | "
      f"< 5 MB | {yes('memory')} |")
    w(f"| 5. worker RSS after {a.reconnects} reconnects | "
      f"{mem['after_reconnects']['VmRSS'] / 1024:.1f} MB (private: "
      f"{mem['after_reconnects']['RssAnon'] / 1024:.1f} MB, "
      f"{(mem['after_reconnects']['RssAnon'] - mem['after_large']['RssAnon']) / 1024:+.1f}) "
      f"| | | | |")
    w("")
    out.extend(cost_table(r))
    w("")
    w(f"Targets for the schema's fillfactor: WAL per sent row ≤ 2× the INSERT's own: "
      f"{yes('cost_wal')}; ≤ 1 index-touching update per row: {yes('cost_index')}; send "
      f"throughput not below fillfactor 100's: {yes('cost_rate')}.")
    w("")
    w(f"6. Batch size ({a.batch_count:,} rows in one transaction; libstrophe alone sends the "
      "same batches, each followed by a ping whose answer it waits for before it sends the "
      "next: the barrier protocol, stop-and-wait, without the database):")
    w("")
    w("| jabclnd.batch_size | jabclnd | libstrophe, same batches | ratio | "
      "jabclnd / unpaced libstrophe | pause between batches: jabclnd | libstrophe |")
    w("|---|---|---|---|---|---|---|")
    unpaced = statistics.median(r["unpaced_limit"])
    for size, x in r["batch"].items():
        w(f"| {size} | {spread(x['jabclnd'])} msg/s | {spread(x['limit'])} msg/s | "
          f"{spread(x['ratio'], '{:.2f}')} | {statistics.median(x['jabclnd']) / unpaced:.2f} | "
          f"{statistics.median(x['pause_jabclnd']):.2f} ms | "
          f"{statistics.median(x['pause_limit']):.2f} ms |")
    w("")
    w("*Pause between batches*: at the receiver, the median time from the last message of one "
      "batch to the first of the next, i.e. how long Prosody waited for the next batch. For "
      "libstrophe alone it is the barrier ping's round trip; for a worker that waits for a "
      "batch's answer before it claims the next, the round trip plus its database work (below); "
      "0 when the next batch was already on its way.")
    w("")
    costs = r["send_large"]["costs"]
    if costs:
        w(f"The worker's database work per batch during the {r['send_large']['count']:,}-row "
          f"runs (batch size 100; pg_stat_statements, pg_stat_wal):")
        w("")
        w("| step | calls | mean time | rows per call |")
        w("|---|---|---|---|")
        updates = costs.pop("updates", None)
        for key, c in costs.items():
            rows = f"{c['rows']:.0f}" if key != "WAL flush" else ""
            w(f"| {key} | {c['calls']} | {c['mean_ms']:.3f} ms | {rows} |")
        w("")
        if updates and updates["updates"]:
            w(f"Each row is updated twice (claimed, marked sent): {updates['updates']:,} updates "
              f"of `xmpp_tx_queue`, of which {updates['hot']:,} HOT "
              f"({updates['hot'] / updates['updates']:.0%}); the others write new index entries "
              "(see 7.).")
            w("")
    w("How each figure is taken:")
    w("")
    w("- **Send**: the rows are inserted in one transaction while the receiver (`xmppbench recv`, "
      "libstrophe, logged in as alice) is online; the clock starts when `COMMIT` returns and "
      "stops at the receiver's last distinct body. The receiver checks every body arrived "
      "exactly once (a run with a missing or duplicate body fails the bench), and every row must "
      "be marked sent. *libstrophe alone* is `xmppbench send` (as bob): the same stanzas as "
      "the worker's (type chat, id, body, XEP-0359 origin-id, serialised and written with "
      "`xmpp_send_raw`), on a connection set up as the worker's (STARTTLS with a verified "
      "certificate, stream management on, so libstrophe asks for an ack after every stanza; "
      "TCP_NODELAY, quick ACKs), pushed as fast as the connection takes them (at most 1000 "
      "elements queued); its clock starts at its first send.")
    w("- The receivers of sections 1 and 2 run with stream management off (the same for both "
      "senders), so that Prosody keeps no copies for them; the libstrophe-only receiver of "
      "section 3 has it on, as the worker's connection does, and every receiver acknowledges "
      "what it handled before logging out, so that nothing is left for offline storage.")
    w("- **Latency**: one row per transaction at a steady rate; latency is the receipt time "
      "minus the time `INSERT` (autocommit) returned. For libstrophe alone, receipt minus the "
      "send time carried in the body. Percentiles pool every repetition; the per-repetition "
      "range is in parentheses.")
    w("- **Receive**: `xmppbench send` (as carol) sends to the worker's account; the clock "
      "stops when `LISTEN jabclnd_rx` has delivered every new id (the rows are committed), "
      "and every body must be a row exactly once. Against the same sender to `xmppbench recv` "
      "(as dave).")
    w("- **Idle**: no client connected but the worker; `jabclnd.safety_poll_interval` = 1h "
      "for the windows. CPU time from `/proc/PID/schedstat` (ns; `/proc/PID/stat` ticks "
      "alongside), wake-ups as voluntary context switches from `/proc/PID/status`, statements "
      "from `pg_stat_statements` (preloaded beside jabclnd, `track = all`, the worker's "
      "database only; observations run from another database), transactions from "
      "`pg_stat_database` (autovacuum off for the windows, after a `VACUUM`). Before the "
      "windows, the 8 s after a login with `jabclnd.connect_timeout` = 5 s, the moment the "
      "login's timer was due. The safety "
      "poll is then measured alone with a 2 s interval; last, the idle worker again while "
      "another database runs DDL (cache invalidations make PostgreSQL signal the worker to "
      "catch up).")
    w("- **Memory**: `/proc/PID/status` of the worker: VmRSS includes the shared buffers the "
      "worker has touched (RssShmem), which grows with the data it reads and is not a leak; "
      "the target is held against the private part (RssAnon).")
    w("")
    w("Every run, in order:")
    w("")
    w("```")
    out.extend(bench.runs)
    w("```")
    poll_lines = [f"  {n} × {q}" for q, n in sorted(pd["by_statement"].items(), key=lambda x: -x[1])]
    w("")
    w(f"Statements of the safety poll ({poll['polls']} polls):")
    w("")
    w("```")
    out.extend(poll_lines or ["  (none)"])
    w("```")
    idle_lines = []
    for d in idle:
        for q, n in d["by_statement"].items():
            idle_lines.append(f"  {n} × {q}")
    if idle_lines:
        w("")
        w("Statements while idle:")
        w("")
        w("```")
        out.extend(idle_lines)
        w("```")
    ddl_lines = [f"  {n} × {q}" for q, n in r["ddl"]["by_statement"].items()]
    if ddl_lines:
        w("")
        w(f"Statements of the idle worker while {a.ddl} tables were created and dropped in "
          "database postgres:")
        w("")
        w("```")
        out.extend(ddl_lines)
        w("```")
    return "\n".join(out) + "\n", verdicts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a ~2 minute smoke run")
    parser.add_argument("--reps", type=int, help="repetitions of each measurement")
    parser.add_argument("--cost", action="store_true",
                        help="only section 7, what sending costs the database (~2 minutes)")
    parser.add_argument("--output", help="where to write the markdown (default bench/results.md)")
    args = parser.parse_args()
    quick = args.quick
    args.reps = args.reps or (1 if quick else 3)
    args.small = 10000
    args.large = 20000 if quick else 100000
    args.latency_count = 300 if quick else 1000
    args.latency_rate = 100
    args.receive = 5000 if quick else 10000
    args.batch_count = 2000 if quick else 10000
    args.reconnects = 3 if quick else 10
    args.idle = 15 if quick else 60
    args.ddl = 300
    args.cost_count = 10000
    args.output = args.output or os.path.join(
        BENCH_DIR, "results-cost.md" if args.cost else
        "results-quick.md" if quick else "results.md")

    # bench/run stops us with SIGTERM: unwind, so every `finally` stops its processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    try:
        bench.run_cost_only() if args.cost else bench.run()
    except BenchError as e:
        print(f"bench failed: {e}", file=sys.stderr)
        return 1
    text, verdicts = report_cost(bench) if args.cost else report(bench)
    with open(args.output, "w") as f:
        f.write(text)
    print("\n" + text)
    print(f"written to {os.path.relpath(args.output)}; targets: "
          + ", ".join(f"{k} {'holds' if v else 'MISSED'}" for k, v in verdicts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
