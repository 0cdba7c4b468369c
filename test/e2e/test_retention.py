"""End-to-end: retention (README.md, "Retention").

The worker deletes rows of xmpp_tx_queue marked sent or failed, and rows of
xmpp_rx_queue, once they are older than jabclnd.keep_sent, keep_failed and
keep_received (from insert_timestamp), in batches of at most
jabclnd.retention_batch_size rows, one pass every jabclnd.retention_interval.
A pending row is never deleted, nor a row younger than its keep.

A witness sees every batch: an AFTER DELETE statement trigger on both queues
(it fires for every DELETE statement, also one that deletes nothing) records
the transaction and the rows it deleted in a table of the test's own, so the
tests count batches and rows per transaction from the database itself, not
from the worker's word.
"""
import time

import psycopg2
import pytest

from worker_helpers import (connect, query, reload_with, scalar, use_account, wait_for,
                            wait_state)

SETTINGS = ("jabclnd.keep_sent", "jabclnd.keep_failed", "jabclnd.keep_received",
            "jabclnd.retention_interval", "jabclnd.retention_batch_size")

WITNESS = """
CREATE TABLE retention_witness (tbl text, xid xid8 DEFAULT pg_current_xact_id(), deleted int,
                                at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION retention_witness() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog AS $$
BEGIN
    INSERT INTO retention_witness (tbl, deleted) SELECT TG_TABLE_NAME, count(*) FROM gone;
    RETURN NULL;
END $$;
CREATE TRIGGER retention_witness AFTER DELETE ON xmpp_tx_queue REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION retention_witness();
CREATE TRIGGER retention_witness AFTER DELETE ON xmpp_rx_queue REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION retention_witness();
"""

UNWITNESS = """
DROP TRIGGER IF EXISTS retention_witness ON xmpp_tx_queue;
DROP TRIGGER IF EXISTS retention_witness ON xmpp_rx_queue;
DROP FUNCTION IF EXISTS retention_witness();
DROP TABLE IF EXISTS retention_witness;
"""


def change_triggers(conn, sql):
    """Runs `sql` (WITNESS or UNWITNESS) without ever waiting long for a lock: a retention
    pass of the worker may hold a lock on one queue while it waits for the other, which the
    DDL locks in turn (a deadlock, seen in full runs at the teardown). A wait past 100 ms
    gives up, lets the pass finish, and tries again."""
    query(conn, "SET lock_timeout = '100ms'")
    try:
        for _ in range(50):
            try:
                query(conn, sql)
                return
            except (psycopg2.errors.DeadlockDetected, psycopg2.errors.LockNotAvailable):
                time.sleep(0.1)
        query(conn, sql)
    finally:
        query(conn, "RESET lock_timeout")


def metrics(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM jabclnd_metrics()")
        return dict(zip([d[0] for d in cur.description], cur.fetchone()))


@pytest.fixture
def quiet():
    """The extension with no enabled account (state no_account): the worker serves the
    tables, so retention runs, but sends nothing, so pending rows stay pending. The
    queues start empty, with the witness in place; everything is undone afterwards."""
    conn = connect()
    query(conn, "CREATE EXTENSION IF NOT EXISTS jabclnd")
    change_triggers(conn, UNWITNESS)
    query(conn, "UPDATE xmpp_accounts SET enabled = false")
    wait_state(conn, "no_account", timeout=10)
    query(conn, "DELETE FROM xmpp_tx_queue")
    query(conn, "DELETE FROM xmpp_rx_queue")
    change_triggers(conn, WITNESS)
    yield conn
    reload_with(conn, **{name.split(".")[1]: None for name in SETTINGS})
    change_triggers(conn, UNWITNESS)
    use_account(conn)
    conn.close()


def insert_tx(conn, count, age, sent=False, failed=False, tag="row"):
    """`count` rows of xmpp_tx_queue inserted `age` ago, marked as asked; returns their ids."""
    rows = query(conn, """
        INSERT INTO xmpp_tx_queue (message_to, message_body, insert_timestamp,
                                   submission_timestamp, submission_failed, submission_info)
        SELECT 'nobody@localhost', %s || i, now() - %s::interval,
               CASE WHEN %s THEN now() - %s::interval END, %s, CASE WHEN %s THEN 'test' END
          FROM generate_series(1, %s) i RETURNING id""",
                 (tag, age, sent, age, failed, failed, count))
    return sorted(r[0] for r in rows)


def insert_rx(conn, count, age, tag="rx"):
    rows = query(conn, """
        INSERT INTO xmpp_rx_queue (message_from, message_type, message_body, insert_timestamp)
        SELECT 'alice@localhost/x', 'chat', %s || i, now() - %s::interval
          FROM generate_series(1, %s) i RETURNING id""", (tag, age, count))
    return sorted(r[0] for r in rows)


def existing(conn, table, ids):
    return sorted(r[0] for r in query(conn, f"SELECT id FROM {table} WHERE id = ANY(%s)", (ids,)))


def test_expired_rows_go_in_batches_and_pending_or_young_rows_stay(quiet):
    conn = quiet
    # Interleaved, as a real queue is: old rows of every kind, then young ones.
    old_pending = insert_tx(conn, 3, "2 hours", tag="old pending")
    old_sent = insert_tx(conn, 24, "2 hours", sent=True, tag="old sent")
    old_pending += insert_tx(conn, 2, "90 minutes", tag="old pending")
    old_failed = insert_tx(conn, 21, "90 minutes", failed=True, tag="old failed")
    young_sent = insert_tx(conn, 5, "1 minute", sent=True, tag="young sent")
    young_failed = insert_tx(conn, 4, "1 minute", failed=True, tag="young failed")
    old_rx = insert_rx(conn, 33, "2 hours", tag="old rx")
    young_rx = insert_rx(conn, 6, "1 minute", tag="young rx")
    before = metrics(conn)

    reload_with(conn, keep_sent="1h", keep_failed="1h", keep_received="1h",
              retention_batch_size="10", retention_interval="1s")
    wait_for("the old sent, failed and received rows to be deleted", lambda: (
        not existing(conn, "xmpp_tx_queue", old_sent + old_failed)
        and not existing(conn, "xmpp_rx_queue", old_rx)), timeout=30)

    assert existing(conn, "xmpp_tx_queue", old_pending) == old_pending, \
        "a pending row is never deleted, however old"
    assert existing(conn, "xmpp_tx_queue", young_sent + young_failed) == \
        sorted(young_sent + young_failed), "rows within their keep stay"
    assert existing(conn, "xmpp_rx_queue", young_rx) == young_rx

    # In batches: no transaction deleted more than retention_batch_size rows.
    per_xact = query(conn, """SELECT tbl, xid::text, sum(deleted) FROM retention_witness
                              WHERE deleted > 0 GROUP BY 1, 2""")
    assert per_xact and max(n for _, _, n in per_xact) <= 10, per_xact
    tx_xacts = [n for t, _, n in per_xact if t == "xmpp_tx_queue"]
    rx_xacts = [n for t, _, n in per_xact if t == "xmpp_rx_queue"]
    assert sum(tx_xacts) == 45 and len(tx_xacts) >= 5, per_xact
    assert sum(rx_xacts) == 33 and len(rx_xacts) >= 4, per_xact

    # The worker counted them for the metrics.
    after = wait_for("the metrics to count the deletes", lambda: (
        lambda m: m if m["expired_received"] - before["expired_received"] == 33 else None)(
            metrics(conn)), timeout=10)
    assert after["expired_sent"] - before["expired_sent"] == 24
    assert after["expired_failed"] - before["expired_failed"] == 21
    assert after["retention_passes"] > before["retention_passes"]
    assert after["last_retention"] is not None


def test_keep_failed_and_keep_sent_apply_each_to_their_own_rows(quiet):
    conn = quiet
    old_sent = insert_tx(conn, 4, "3 hours", sent=True, tag="old sent")
    old_failed = insert_tx(conn, 4, "3 hours", failed=True, tag="old failed")
    old_rx = insert_rx(conn, 4, "3 hours")
    # Failed rows kept a day, sent rows an hour, received rows forever.
    reload_with(conn, keep_sent="1h", keep_failed="1d", retention_interval="1s")
    wait_for("the old sent rows to be deleted",
             lambda: not existing(conn, "xmpp_tx_queue", old_sent), timeout=30)
    passes = metrics(conn)["retention_passes"]
    wait_for("another pass", lambda: metrics(conn)["retention_passes"] > passes, timeout=15)
    assert existing(conn, "xmpp_tx_queue", old_failed) == old_failed
    assert existing(conn, "xmpp_rx_queue", old_rx) == old_rx


def batches(conn):
    return scalar(conn, "SELECT count(*) FROM retention_witness")


def test_an_idle_worker_runs_retention_no_more_often_than_the_interval(quiet):
    conn = quiet
    # Retention off (the default): no batch at all.
    time.sleep(3)
    assert batches(conn) == 0, "retention is off by default: the worker deletes nothing"

    # On, every 2 s, with nothing to delete: one pass (one batch per queue) per interval.
    reload_with(conn, keep_sent="1h", keep_received="1h", retention_interval="2s")
    wait_for("the first pass", lambda: batches(conn) >= 2, timeout=15)
    start, first = time.monotonic(), batches(conn)
    time.sleep(7)
    elapsed, ran = time.monotonic() - start, batches(conn) - first
    # Each pass is one batch per queue and passes start 2 s after the last ended: at most
    # elapsed / 2 + 1 passes, and it does run.
    assert 2 <= ran <= 2 * (int(elapsed / 2) + 1), f"{ran} batches in {elapsed:.1f} s"

    # A long interval: no further pass within it.
    reload_with(conn, retention_interval="1h")
    time.sleep(1)
    settled = batches(conn)
    time.sleep(5)
    assert batches(conn) == settled, "no pass before the interval is over"
