"""Helpers for end-to-end tests of the jabclnd worker.

They talk to the real PostgreSQL cluster and the real XMPP server (Prosody or
ejabberd) that test/run started (see test/lib). Every wait is bounded and
fails with a message that says what was expected and what was seen.
"""
import os
import subprocess
import time

import psycopg2

BOT = "bot@localhost"
BOT_PASSWORD = "botpass"
BOT2 = "bot2@localhost"
BOT2_PASSWORD = "bot2pass"


def connect():
    """A new autocommit connection to the worker's database."""
    conn = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "jabclnd"))
    conn.autocommit = True
    return conn


def query(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def scalar(conn, sql, args=None):
    rows = query(conn, sql, args)
    return rows[0][0] if rows else None


def wait_for(what, probe, timeout=20.0, interval=0.05):
    """Calls probe() until it returns something truthy; fails with `what` after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last seen: {last!r}")


def status(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM jabclnd_status()")
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone()))


def wait_state(conn, state, timeout=20.0):
    """Waits until jabclnd_status().state is `state`; returns the status row."""
    def probe():
        s = status(conn)
        return s if s["state"] == state else None

    try:
        return wait_for(f"worker state {state}", probe, timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}; status now: {status(conn)!r}") from None


def use_account(conn, jid=BOT, password=BOT_PASSWORD, port=None):
    """Makes `jid` the one enabled account (inserting it if needed)."""
    port = port or int(os.environ["XMPP_PORT"])
    host = os.environ.get("XMPP_HOST", "127.0.0.1")
    with conn.cursor() as cur:
        cur.execute("""UPDATE xmpp_accounts SET enabled = true, acc_pass = %s
                        WHERE acc_jid = %s AND srv_host = %s AND port = %s""",
                    (password, jid, host, port))
        if cur.rowcount == 0:
            cur.execute("""INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass, srv_host, port)
                           VALUES (true, %s, %s, %s, %s)""", (jid, password, host, port))


def online_connection():
    """A new connection, with the extension installed and bot@localhost logged in."""
    conn = connect()
    query(conn, "CREATE EXTENSION IF NOT EXISTS jabclnd")
    use_account(conn)
    wait_state(conn, "online", timeout=30)
    return conn


def reload_with(conn, **settings):
    """ALTER SYSTEM SET jabclnd.NAME = value for each setting (None resets it), then a
    reload."""
    for name, value in settings.items():
        if value is None:
            query(conn, f"ALTER SYSTEM RESET jabclnd.{name}")
        else:
            query(conn, f"ALTER SYSTEM SET jabclnd.{name} = %s", (value,))
    query(conn, "SELECT pg_reload_conf()")


def send(conn, to, body=None, subject=None, mtype=None, stanza=None):
    """Queues one message; returns its row id."""
    if stanza is not None:
        return scalar(conn, "INSERT INTO xmpp_tx_queue (message_stanza) VALUES (%s) RETURNING id",
                      (stanza,))
    if mtype is None:
        return scalar(conn, """INSERT INTO xmpp_tx_queue (message_to, message_subject, message_body)
                               VALUES (%s, %s, %s) RETURNING id""", (to, subject, body))
    return scalar(conn, """INSERT INTO xmpp_tx_queue (message_to, message_subject, message_body,
                                                      message_type)
                           VALUES (%s, %s, %s, %s) RETURNING id""", (to, subject, body, mtype))


def tx_row(conn, row_id):
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM xmpp_tx_queue WHERE id = %s", (row_id,))
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone()))


def wait_row_done(conn, row_id, timeout=20.0):
    """Waits until the tx row is sent or failed; returns it."""
    def probe():
        row = tx_row(conn, row_id)
        return row if (row["submission_timestamp"] or row["submission_failed"]) else None

    return wait_for(f"tx row {row_id} to be sent or failed", probe, timeout)


def xmpp_control(*args, timeout=60):
    """Runs test/lib/xmpp-control (start, stop, restart, passwd USER HOST PASSWORD) on the
    server of this pass; fails with its output."""
    result = subprocess.run([os.environ["XMPP_CONTROL"], *args], capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (f"xmpp-control {' '.join(args[:1])} failed "
                                    f"({result.returncode}): {result.stdout}{result.stderr}")

