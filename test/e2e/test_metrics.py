"""End-to-end: the metrics (README.md, "Metrics"), through Debian's
prometheus-postgres-exporter with contrib/prometheus/queries.yaml.

The test starts the exporter itself, on a free port of 127.0.0.1, against the
test cluster's socket, as a monitoring role granted only what README.md says
(EXECUTE on jabclnd_metrics() and jabclnd_failures()), with its default
metrics off; reads /metrics over HTTP before and after sending and receiving
known numbers of messages; and stops the exporter by its pid, also when the
test fails.
"""
import math
import os
import re
import socket
import subprocess
import time
import urllib.request

import pytest

from worker_helpers import (BOT, online_connection, query, send, use_account, wait_for,
                            wait_row_done, wait_state)

EXPORTER = "/usr/bin/prometheus-postgres-exporter"
QUERIES = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "prometheus",
                       "queries.yaml")
MONITOR = "jabclnd_test_monitor"
ALICE = "alice@localhost"
ALICE_PASSWORD = "alicepass"
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def labels_of(text):
    """The labels of a sample as '{a="x",b="y"}' (sorted), without the exporter's own
    server="host:port"; "" when none is left."""
    pairs = sorted((k, v) for k, v in LABEL.findall(text or "") if k != "server")
    return "{" + ",".join(f'{k}="{v}"' for k, v in pairs) + "}" if pairs else ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    """prometheus-postgres-exporter on 127.0.0.1:port, started and stopped by pid."""

    def __init__(self, log_path):
        self.port = free_port()
        self.log = open(log_path, "w")
        env = dict(os.environ)
        env["DATA_SOURCE_NAME"] = (f"host={os.environ['PGHOST']} port={os.environ['PGPORT']} "
                                   f"user={MONITOR} dbname={os.environ['PGDATABASE']} "
                                   "sslmode=disable")
        self.process = subprocess.Popen(
            [EXPORTER, f"--web.listen-address=127.0.0.1:{self.port}",
             f"--extend.query-path={QUERIES}", "--disable-default-metrics",
             "--disable-settings-metrics", "--no-collector.database", "--no-collector.bgwriter",
             "--log.level=warn"],
            env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

    def scrape(self):
        """Every sample of /metrics: {(name, labels): value}."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        samples = {}
        for line in text.splitlines():
            match = SAMPLE.match(line)
            if match and not line.startswith("#"):
                samples[(match.group(1), labels_of(match.group(2)))] = float(match.group(3))
        return samples

    def wait_up(self):
        def probe():
            assert self.process.poll() is None, f"the exporter exited: {self.output()}"
            try:
                samples = self.scrape()
            except OSError:
                return None
            return samples if ("jabclnd_pending", "") in samples else None
        return wait_for(f"jabclnd metrics on the exporter (log: {self.output()!r})", probe,
                        timeout=30, interval=0.2)

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()[-2000:]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def online():
    conn = online_connection()
    yield conn
    conn.close()


@pytest.fixture
def exporter(online, tmp_path):
    assert os.access(EXPORTER, os.X_OK), \
        f"{EXPORTER} is missing: test/run installs prometheus-postgres-exporter"
    query(online, f"DROP ROLE IF EXISTS {MONITOR}")
    query(online, f"CREATE ROLE {MONITOR} LOGIN")
    # README.md, "Metrics": the grants of a monitoring role.
    query(online, f"GRANT USAGE ON SCHEMA public TO {MONITOR}")
    query(online, f"GRANT EXECUTE ON FUNCTION jabclnd_metrics(), jabclnd_failures() TO {MONITOR}")
    started = Exporter(tmp_path / "exporter.log")
    try:
        yield started
    finally:
        started.stop()
        query(online, f"REVOKE ALL ON SCHEMA public FROM {MONITOR}")
        query(online, f"REVOKE ALL ON FUNCTION jabclnd_metrics(), jabclnd_failures() "
                      f"FROM {MONITOR}")
        query(online, f"DROP ROLE {MONITOR}")


def value(samples, name, labels=""):
    assert (name, labels) in samples, f"{name}{labels} is not in /metrics: {sorted(samples)}"
    return samples[(name, labels)]


COUNTERS = ("messages_sent_total", "messages_failed_total", "messages_received_total",
            "messages_set_aside_total", "messages_ignored_total", "logins_total",
            "connections_lost_total", "expired_sent_total", "expired_failed_total",
            "expired_received_total", "retention_passes_total")


def test_the_exporter_serves_the_jabclnd_metrics_with_the_right_values(online, exporter,
                                                                         peer_factory):
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    before = exporter.wait_up()
    for name in COUNTERS:
        value(before, "jabclnd_" + name)
    assert value(before, "jabclnd_state_current", '{state="online"}') == 1
    assert value(before, "jabclnd_logins_total") >= 1

    # Known numbers: 4 sent to alice, 1 failed by the server, 3 received from alice.
    rows = [send(online, ALICE, body=f"metrics {i}") for i in range(4)]
    bad = send(online, "nobody-here@localhost", body="metrics: into the void")
    for row in rows + [bad]:
        wait_row_done(online, row)
    for i in range(3):
        alice.send_message(BOT, f"metrics reply {i}")
    wait_for("the 3 replies stored", lambda: query(
        online, "SELECT count(*) FROM xmpp_rx_queue WHERE message_body LIKE 'metrics reply %%'"
    )[0][0] == 3)

    def settled():
        samples = exporter.scrape()
        received = value(samples, "jabclnd_messages_received_total")
        return samples if received - value(before, "jabclnd_messages_received_total") >= 3 \
            else None
    after = wait_for("the exporter to show the messages", settled, timeout=15, interval=0.2)

    def delta(name, labels=""):
        return value(after, name, labels) - value(before, name, labels)
    assert delta("jabclnd_messages_sent_total") == 4
    assert delta("jabclnd_messages_failed_total") == 1
    assert delta("jabclnd_messages_received_total") == 3
    assert delta("jabclnd_failures_total", '{condition="service-unavailable"}') == 1
    assert delta("jabclnd_failures_total", '{condition="rejected"}') == 0
    assert value(after, "jabclnd_pending") == 0
    assert value(after, "jabclnd_oldest_pending_age_seconds") == 0
    round_trip = value(after, "jabclnd_last_barrier_round_trip_seconds")
    assert 0 < round_trip < 10, round_trip
    assert value(after, "jabclnd_worker_started_seconds") <= time.time()
    assert value(after, "jabclnd_state_since_seconds", '{state="online"}') <= time.time()

    # The same numbers as jabclnd_metrics() itself.
    with online.cursor() as cur:
        cur.execute("SELECT * FROM jabclnd_metrics()")
        row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    for name in ("messages_sent", "messages_failed", "messages_received", "logins",
                 "connections_lost"):
        assert value(after, f"jabclnd_{name}_total") == row[name], name
    assert math.isclose(value(after, "jabclnd_last_barrier_round_trip_seconds"),
                        row["last_barrier_round_trip"])


def test_pending_rows_and_their_age_show_while_the_worker_is_offline(online, exporter):
    exporter.wait_up()
    query(online, "UPDATE xmpp_accounts SET enabled = false")
    try:
        wait_state(online, "no_account", timeout=10)
        query(online, """INSERT INTO xmpp_tx_queue (message_to, message_body, insert_timestamp)
                         VALUES ('alice@localhost', 'waits', now() - interval '90 seconds'),
                                ('alice@localhost', 'waits too', now())""")
        samples = wait_for("the state no_account on the exporter", lambda: (
            lambda s: s if s.get(("jabclnd_state_current", '{state="no_account"}')) == 1
            else None)(exporter.scrape()), timeout=15, interval=0.2)
        assert value(samples, "jabclnd_pending") == 2
        assert 90 <= value(samples, "jabclnd_oldest_pending_age_seconds") < 300
    finally:
        use_account(online)
    wait_state(online, "online", timeout=30)
    wait_for("the waiting rows to be sent", lambda: query(
        online, "SELECT count(*) FROM xmpp_tx_queue WHERE message_body LIKE 'waits%%' "
                "AND submission_timestamp IS NULL AND NOT submission_failed")[0][0] == 0)
