"""End-to-end: the worker survives faults of PostgreSQL and of its own process
without losing a row.

Killing the worker with SIGKILL makes the postmaster reset the whole
cluster (crash recovery), so these tests reconnect their own sessions.
"""
import os
import signal
import subprocess
import time

import psycopg2
import pytest

from worker_helpers import (BOT, connect, online_connection, query, scalar, status, use_account,
                            wait_for, wait_state, xmpp_control)

ALICE = "alice@localhost"
ALICE_PASSWORD = "alicepass"


def reconnect(timeout=60):
    """A new connection, once the cluster accepts them again."""
    def attempt():
        try:
            return connect()
        except psycopg2.OperationalError:
            return None
    return wait_for("PostgreSQL to accept connections", attempt, timeout=timeout, interval=0.2)


def current_status(timeout=60):
    """The status row, reconnecting as often as needed (the cluster may be restarting)."""
    def attempt():
        try:
            conn = connect()
            try:
                return status(conn)
            finally:
                conn.close()
        except psycopg2.Error:
            return None
    return wait_for("jabclnd_status()", attempt, timeout=timeout, interval=0.2)


def wait_online(timeout=60):
    return wait_for("the worker to be online", lambda: (
        lambda s: s if s and s["state"] == "online" else None)(current_status(timeout)),
        timeout=timeout, interval=0.2)


def pg_ctl(*args):
    subprocess.run(["su", "postgres", "-c",
                    " ".join([os.path.join(os.environ["PG_BIN"], "pg_ctl"), "-D",
                              os.environ["PGDATA"], "-l", os.environ["PG_LOG"], "-w", *args])],
                   check=True, capture_output=True, timeout=120)


@pytest.fixture
def online():
    conn = online_connection()
    conn.close()
    yield
    wait_online()


def queue_numbered(conn, label, count):
    query(conn, """INSERT INTO xmpp_tx_queue (message_to, message_body)
                   SELECT 'alice@localhost', %s || ' ' || g FROM generate_series(1, %s) g""",
          (label, count))
    return {f"{label} {i}" for i in range(1, count + 1)}


def assert_all_delivered(alice, conn, label, wanted, timeout=90):
    try:
        wait_for(f"every '{label}' message at alice",
                 lambda: wanted <= {m["body"] for m in alice.messages}, timeout=timeout,
                 interval=0.2)
    except AssertionError as e:
        missing = sorted(wanted - {m["body"] for m in alice.messages},
                         key=lambda b: int(b.split()[-1]))
        rows = query(conn, """SELECT count(*) FILTER (WHERE submission_timestamp IS NOT NULL),
                                       count(*) FILTER (WHERE submission_failed), count(*)
                                  FROM xmpp_tx_queue WHERE message_body LIKE %s""",
                     (label + " %",))
        raise AssertionError(f"{e}: {len(missing)} missing, e.g. {missing[:5]}; "
                             f"rows sent/failed/all: {rows[0]}") from None
    wait_for(f"every '{label}' row marked sent", lambda: scalar(conn, """
        SELECT count(*) = 0 FROM xmpp_tx_queue
         WHERE message_body LIKE %s AND submission_timestamp IS NULL""", (label + " %",)),
        timeout=30)
    assert scalar(conn, "SELECT count(*) FROM xmpp_tx_queue WHERE message_body LIKE %s "
                        "AND submission_failed", (label + " %",)) == 0


def test_sigkill_mid_batch_loses_nothing(online, peer_factory):
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    conn = connect()
    wanted = queue_numbered(conn, "killed", 3000)
    # Kill while the queue is being worked off: some rows sent, some not.
    wait_for("the first rows to arrive", lambda: len(alice.messages) >= 50, timeout=30,
             interval=0.01)
    os.kill(status(conn)["worker_pid"], signal.SIGKILL)
    conn.close()
    wait_online(timeout=90)
    conn = reconnect()
    assert_all_delivered(alice, conn, "killed", wanted)
    duplicates = len([m for m in alice.messages if m["body"].startswith("killed ")]) - len(wanted)
    # At-least-once: duplicates are possible, bounded by what was in flight.
    assert duplicates <= int(scalar(conn, "SHOW jabclnd.batch_size")) * 2, duplicates
    conn.close()


def test_pg_ctl_restart_with_a_backlog(online, peer_factory):
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    conn = connect()
    query(conn, "ALTER SYSTEM SET jabclnd.enabled = off")
    query(conn, "SELECT pg_reload_conf()")
    wait_state(conn, "disabled", timeout=15)
    wanted = queue_numbered(conn, "backlog", 500)
    query(conn, "ALTER SYSTEM RESET jabclnd.enabled")
    conn.close()
    pg_ctl("restart", "-m", "fast")
    wait_online(timeout=60)
    conn = reconnect()
    assert_all_delivered(alice, conn, "backlog", wanted)
    conn.close()


def test_a_clean_stop_waits_for_the_batches_in_flight(online, peer_factory):
    """pg_ctl stop -m fast (a switchover does the same) while a backlog is being sent: the
    worker waits for the server's answers to the batches it has in flight before it goes, so
    the next worker sends none of them again (it used to re-send up to two batches)."""
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    conn = connect()
    log_offset = os.path.getsize(os.environ["PG_LOG"])
    wanted = queue_numbered(conn, "switchover", 3000)
    wait_for("the first rows to arrive", lambda: len(alice.messages) >= 300, timeout=30,
             interval=0.01)
    conn.close()
    pg_ctl("restart", "-m", "fast")
    wait_online(timeout=60)
    conn = reconnect()
    assert_all_delivered(alice, conn, "switchover", wanted)
    received = [m["body"] for m in alice.messages if m["body"].startswith("switchover ")]
    duplicates = len(received) - len(set(received))
    with open(os.environ["PG_LOG"], errors="replace") as log:
        log.seek(log_offset)
        waited = [line.strip() for line in log if "jabclnd: stopping; waiting" in line]
    assert duplicates == 0, f"{duplicates} rows sent twice across the stop; the stop: {waited}"
    conn.close()


def test_drop_extension_goes_idle_and_create_brings_it_back(online, peer_factory):
    conn = connect()
    pid = status(conn)["worker_pid"]
    log_offset = os.path.getsize(os.environ["PG_LOG"])
    query(conn, "DROP EXTENSION jabclnd")
    query(conn, "SELECT 1")  # the status function went with the extension
    time.sleep(1)
    # The worker finds no tables at its next look (the safety poll at the latest).
    query(conn, "CREATE EXTENSION jabclnd")
    use_account(conn)
    wait_state(conn, "online", timeout=30)
    assert status(conn)["worker_pid"] == pid, "DROP EXTENSION must not crash the worker"
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    query(conn, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                "VALUES ('alice@localhost', 'after re-create')")
    alice.wait_message(lambda m: m["body"] == "after re-create")
    with open(os.environ["PG_LOG"], errors="replace") as log:
        log.seek(log_offset)
        failures = [line for line in log if "jabclnd:" in line and "failed" in line]
    assert not failures, f"errors after DROP EXTENSION: {failures}"
    conn.close()


def test_an_outcome_held_across_drop_extension_does_not_mark_the_new_row_with_its_id(
        online, peer_factory):
    """A row's outcome that could not be recorded before DROP EXTENSION is not applied to
    the row that reuses its id after CREATE EXTENSION (identities start again at 1)."""
    conn = connect()
    log_offset = os.path.getsize(os.environ["PG_LOG"])
    query(conn, """CREATE FUNCTION public.jabclnd_test_refuse_marks() RETURNS trigger
                   LANGUAGE plpgsql AS
                   $$BEGIN RAISE EXCEPTION 'marks refused by the test'; END$$""")
    try:
        # The worker fails the row (not a JID) but cannot record it: it retries every 5 s.
        query(conn, """CREATE TRIGGER refuse_marks BEFORE UPDATE OF submission_failed
                       ON xmpp_tx_queue FOR EACH ROW WHEN (NEW.submission_failed)
                       EXECUTE FUNCTION public.jabclnd_test_refuse_marks()""")
        old_row = scalar(conn, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                               "VALUES ('not a jid', 'fails') RETURNING id")

        def refused():
            with open(os.environ["PG_LOG"], errors="replace") as log:
                log.seek(log_offset)
                return "marks refused by the test" in log.read()
        wait_for("the worker's mark to be refused", refused, timeout=20)

        # One transaction: the worker never sees the extension missing, only new tables
        # without an account, where the row with the old id waits to be sent.
        conn.autocommit = False
        query(conn, "DROP EXTENSION jabclnd")
        query(conn, "CREATE EXTENSION jabclnd")
        query(conn, """INSERT INTO xmpp_tx_queue (id, message_to, message_body)
                       OVERRIDING SYSTEM VALUE VALUES (%s, %s, 'new row, old id')""",
              (old_row, ALICE))
        query(conn, "SELECT setval(pg_get_serial_sequence('xmpp_tx_queue', 'id'), %s)", (old_row,))
        conn.commit()
        conn.autocommit = True
        time.sleep(7)  # longer than the worker's 5 s retry of a failed unit
        row = query(conn, "SELECT submission_failed, submission_info, submission_timestamp "
                          "FROM xmpp_tx_queue WHERE id = %s", (old_row,))[0]
        assert row == (False, None, None), f"the old row's outcome marked the new row: {row}"

        alice = peer_factory(ALICE, ALICE_PASSWORD)
        use_account(conn)
        alice.wait_message(lambda m: m["body"] == "new row, old id")
        wait_for("the new row to be marked sent", lambda: scalar(
            conn, "SELECT submission_timestamp IS NOT NULL AND NOT submission_failed "
                  "FROM xmpp_tx_queue WHERE id = %s", (old_row,)))
    finally:
        if not conn.autocommit:
            conn.rollback()
            conn.autocommit = True
        query(conn, "CREATE EXTENSION IF NOT EXISTS jabclnd")
        query(conn, "DROP TRIGGER IF EXISTS refuse_marks ON xmpp_tx_queue")
        query(conn, "DROP FUNCTION public.jabclnd_test_refuse_marks()")
        use_account(conn)
        conn.close()


def test_drop_database_of_another_database_is_not_blocked(online):
    conn = connect()
    query(conn, "CREATE DATABASE jabclnd_scratch")
    started = time.monotonic()
    query(conn, "DROP DATABASE jabclnd_scratch")
    assert time.monotonic() - started < 5
    assert status(conn)["state"] == "online"
    conn.close()


def test_worker_lets_go_of_its_database_when_disabled(online):
    """The documented way to drop the worker's own database: jabclnd.enabled = off."""
    conn = connect()
    query(conn, "CREATE DATABASE jabclnd_target")
    try:
        query(conn, "ALTER SYSTEM SET jabclnd.database = 'jabclnd_target'")
        query(conn, "SELECT pg_reload_conf()")
        wait_for("the worker to move to jabclnd_target", lambda: scalar(
            conn, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'jabclnd worker' "
                  "AND datname = 'jabclnd_target'"), timeout=20)
        with pytest.raises(psycopg2.errors.ObjectInUse):
            query(conn, "DROP DATABASE jabclnd_target")
        query(conn, "ALTER SYSTEM SET jabclnd.enabled = off")
        query(conn, "SELECT pg_reload_conf()")
        wait_for("the worker to leave jabclnd_target", lambda: scalar(
            conn, "SELECT count(*) = 0 FROM pg_stat_activity "
                  "WHERE datname = 'jabclnd_target'"), timeout=20)
        query(conn, "DROP DATABASE jabclnd_target")
    finally:
        query(conn, "ALTER SYSTEM RESET jabclnd.database")
        query(conn, "ALTER SYSTEM RESET jabclnd.enabled")
        query(conn, "SELECT pg_reload_conf()")
        query(conn, "DROP DATABASE IF EXISTS jabclnd_target")
    wait_state(conn, "online", timeout=30)
    conn.close()


def log_since(offset):
    with open(os.environ["PG_LOG"], errors="replace") as log:
        log.seek(offset)
        return log.read()


def test_a_commit_during_a_lock_wait_is_not_missed(online, rare_safety_poll, peer_factory):
    """The worker waits for a lock inside a unit of work (PostgreSQL resets the process latch
    in lock waits) while an application commits a row: the row is sent once the lock is gone,
    not at the next safety poll (1 h here)."""
    conn = rare_safety_poll
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    pid = status(conn)["worker_pid"]
    locker = connect()
    locker.autocommit = False
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE xmpp_rx_queue IN ACCESS EXCLUSIVE MODE")
        alice.send_message(BOT, "blocks the worker")
        wait_for("the worker to wait for the lock", lambda: scalar(
            conn, "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", (pid,)),
            timeout=10, interval=0.02)
        query(conn, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                    "VALUES ('alice@localhost', 'committed during the lock wait')")
        time.sleep(1)
    finally:
        locker.rollback()
        locker.close()
    alice.wait_message(lambda m: m["body"] == "committed during the lock wait", timeout=10)


def test_a_missing_database_is_waited_for_without_a_restart_loop(online):
    """jabclnd.database names a database that does not exist yet: one failed connection (FATAL),
    then the worker waits quietly, saying so once, and connects soon after CREATE DATABASE."""
    conn = connect()
    offset = os.path.getsize(os.environ["PG_LOG"])
    fatal = 'FATAL:  database "jabclnd_later" does not exist'
    try:
        query(conn, "ALTER SYSTEM SET jabclnd.database = 'jabclnd_later'")
        query(conn, "SELECT pg_reload_conf()")
        wait_for("the worker to wait for jabclnd_later", lambda: 'database "jabclnd_later" '
                 '(jabclnd.database) does not exist; waiting for it' in log_since(offset),
                 timeout=30, interval=0.2)
        time.sleep(7)  # longer than the postmaster's 5 s between restarts
        log = log_since(offset)
        assert log.count(fatal) == 1, log
        assert log.count("waiting for it") == 1, log
        query(conn, "CREATE DATABASE jabclnd_later")
        wait_for("the worker to connect to jabclnd_later", lambda: scalar(
            conn, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'jabclnd worker' "
                  "AND datname = 'jabclnd_later'"), timeout=30, interval=0.2)
        assert log_since(offset).count(fatal) == 1
    finally:
        query(conn, "ALTER SYSTEM RESET jabclnd.database")
        query(conn, "SELECT pg_reload_conf()")
        wait_for("the worker to leave jabclnd_later", lambda: scalar(
            conn, "SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = 'jabclnd_later'"),
            timeout=20)
        query(conn, "DROP DATABASE IF EXISTS jabclnd_later")
    wait_state(conn, "online", timeout=30)
    conn.close()


@pytest.fixture
def rare_safety_poll():
    """The safety poll moved out of the way, so that any SQL the worker runs is unasked for."""
    conn = connect()
    query(conn, "ALTER SYSTEM SET jabclnd.safety_poll_interval = '1h'")
    query(conn, "SELECT pg_reload_conf()")
    time.sleep(1)
    yield conn
    query(conn, "ALTER SYSTEM RESET jabclnd.safety_poll_interval")
    query(conn, "SELECT pg_reload_conf()")
    conn.close()


def assert_no_sql_while(conn, what, meanwhile):
    """Runs meanwhile() and checks that the worker started no transaction during it."""
    pid = status(conn)["worker_pid"]

    def activity():
        return query(conn, "SELECT state_change, xact_start FROM pg_stat_activity WHERE pid = %s",
                     (pid,))[0]

    before, _ = activity()
    meanwhile()
    after, open_since = activity()
    assert before == after, f"the idle worker ran a transaction {what}"
    assert open_since is None, "the idle worker holds a transaction open"
    assert status(conn)["worker_pid"] == pid


def test_idle_worker_runs_no_sql(online, rare_safety_poll):
    """Between safety polls an idle worker must not touch the database."""
    assert_no_sql_while(rare_safety_poll, "in 3 s of quiet", lambda: time.sleep(3))


def test_ddl_in_another_database_runs_no_sql_in_the_worker(online, rare_safety_poll):
    """DDL anywhere fills the cache-invalidation queue, and PostgreSQL signals idle backends
    (the worker too) to catch up; that wakes the worker, but is no reason to read its tables."""
    other = psycopg2.connect(dbname="postgres")
    other.autocommit = True

    def churn():
        with other.cursor() as cur:
            for i in range(300):
                cur.execute(f"CREATE TABLE jabclnd_churn_{i} (x int)")
                cur.execute(f"DROP TABLE jabclnd_churn_{i}")
        time.sleep(0.5)

    try:
        assert_no_sql_while(rare_safety_poll, "while another database ran DDL", churn)
    finally:
        other.close()


def test_the_login_timer_runs_no_sql_after_login(online, rare_safety_poll):
    """jabclnd.connect_timeout arms a timer at each login; PostgreSQL leaves it running after
    the login succeeds, and its signal wakes the worker at the old deadline."""
    conn = rare_safety_poll
    query(conn, "ALTER SYSTEM SET jabclnd.connect_timeout = '2s'")
    query(conn, "SELECT pg_reload_conf()")
    try:
        time.sleep(0.5)
        query(conn, "UPDATE xmpp_accounts SET enabled = false WHERE enabled")
        wait_state(conn, "no_account")
        use_account(conn)
        wait_state(conn, "online", timeout=30)
        time.sleep(0.3)  # the claim that follows the login
        assert_no_sql_while(conn, "when the login's timer fired", lambda: time.sleep(3))
    finally:
        query(conn, "ALTER SYSTEM RESET jabclnd.connect_timeout")
        query(conn, "SELECT pg_reload_conf()")


def test_server_restarted_mid_queue_delivers_everything(online, peer_factory):
    """The server goes away while a backlog is being sent, and comes back."""
    conn = connect()
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    # Large enough that stopping the server (ejabberd takes over a second) ends it midway.
    wanted = queue_numbered(conn, "restart", 6000)
    wait_for("the first rows to arrive", lambda: len(alice.messages) >= 20, timeout=30,
             interval=0.01)
    try:
        xmpp_control("stop")
        wait_state(conn, "offline", timeout=15)
        assert scalar(conn, "SELECT count(*) FROM xmpp_tx_queue WHERE message_body LIKE "
                            "'restart %%' AND submission_timestamp IS NULL") > 0, \
            "the backlog should not be done"
        alice.stop()
        received_before = list(alice.messages)
    finally:
        # Whatever failed above, the server comes back for the tests after this one.
        xmpp_control("start")
    wait_state(conn, "online", timeout=30)
    # alice logs in again: what reached her offline storage comes with it.
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    alice.messages.extend(received_before)
    assert_all_delivered(alice, conn, "restart", wanted)
    conn.close()


def test_a_table_lock_delays_the_worker_but_does_not_stop_it(online, peer_factory):
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    conn = connect()
    pid = status(conn)["worker_pid"]
    row = scalar(conn, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                       "VALUES ('alice@localhost', 'behind a lock') RETURNING id")
    alice.wait_message(lambda m: m["body"] == "behind a lock")
    log_offset = os.path.getsize(os.environ["PG_LOG"])
    locker = connect()
    locker.autocommit = False
    with locker.cursor() as cur:
        cur.execute("LOCK TABLE xmpp_tx_queue IN ACCESS EXCLUSIVE MODE")
        # The worker is woken (a wake at commit from another table) and blocks on the lock:
        query(conn, "SELECT jabclnd_wake()")
        time.sleep(7)  # longer than the worker's 5 s lock_timeout
    locker.rollback()
    locker.close()
    query(conn, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                "VALUES ('alice@localhost', 'after the lock')")
    alice.wait_message(lambda m: m["body"] == "after the lock", timeout=20)
    s = status(conn)
    assert s["worker_pid"] == pid and s["state"] == "online", s
    assert row
    assert "lock timeout" in log_since(log_offset), "the worker should have given up waiting after 5 s"
    conn.close()


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_a_message_not_recorded_at_exit_reaches_the_next_worker(online, peer_factory, stop):
    """The worker stops while a message it received waits for the database (xmpp_rx_queue is
    locked): politely (SIGTERM) or killed (SIGKILL, then the cluster restarts). It must not
    acknowledge the message on its way out, and the server must hand it to the next login at
    once: not keep it for a session that will never be resumed, and not bounce it."""
    conn = connect()
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    pid = status(conn)["worker_pid"]
    before = scalar(conn, "SELECT coalesce(max(id), 0) FROM xmpp_rx_queue")
    # A first message, recorded (and acknowledged): the worker has seen alice and its
    # statements are planned.
    alice.send_message(BOT, f"before {stop}")
    wait_for("the first message in xmpp_rx_queue", lambda: scalar(
        conn, "SELECT count(*) FROM xmpp_rx_queue WHERE id > %s", (before,)))
    time.sleep(0.2)
    locker = connect()
    locker.autocommit = False
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE xmpp_rx_queue IN ACCESS EXCLUSIVE MODE")
        alice.send_message(BOT, f"held at {stop}")
        wait_for("the worker to wait for the lock on xmpp_rx_queue", lambda: scalar(
            conn, "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", (pid,)),
            timeout=10, interval=0.02)
        if stop == "sigterm":
            query(conn, "SELECT pg_terminate_backend(%s)", (pid,))
            wait_for("the worker to exit", lambda: scalar(
                conn, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)) == 0)
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        try:
            locker.rollback()
            locker.close()
        except psycopg2.Error:
            pass  # the cluster restarted under it
    wait_online()
    try:
        conn.close()
    except psycopg2.Error:
        pass
    conn = reconnect()

    def stored(body):
        return scalar(conn, "SELECT count(*) FROM xmpp_rx_queue WHERE message_body = %s", (body,))
    wait_for("the message in xmpp_rx_queue", lambda: stored(f"held at {stop}"), timeout=30,
             interval=0.1)
    time.sleep(1)
    assert stored(f"held at {stop}") == 1
    # The first message was acknowledged once recorded: the server does not deliver it again.
    assert stored(f"before {stop}") == 1
    errors = [m for m in alice.messages if m["type"] == "error"]
    assert not errors, f"the server bounced the message: {errors}"
    conn.close()
