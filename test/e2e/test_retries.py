"""End-to-end: error replies of type wait are retried later, others fail at once, and failed
rows can be sent again with jabclnd_resend().

A temporary error has to come from the server itself, before the barrier's answer (an error
that comes after the server confirmed the row is not recorded), so each server is brought to
say "not now" the way it does in production:

  ejabberd  a user who is not exempt from max_user_offline_messages (100 in
            test/lib/ejabberd.yml.in) and whose offline queue is full: ejabberd answers
            resource-constraint (wait). The user logging in empties the queue.
  Prosody   an external component (XEP-0114, gateway.localhost in
            test/lib/prosody.cfg.lua.in) that is not connected: Prosody answers
            remote-server-timeout (wait), "Component unavailable". The test connecting the
            component (Component below) makes it deliverable.

The safety poll is set to an hour in these tests: a retry that happens was woken by the
worker's own timer for the row's next_attempt_at, not found by a poll.
"""
import contextlib
import hashlib
import itertools
import os
import re
import socket
import time

import pytest

from worker_helpers import (connect, query, scalar, tx_row, use_account, wait_for, wait_row_done,
                            wait_state, xmpp_control)

ALICE = "alice@localhost"
GATEWAY = "gateway.localhost"
GATEWAY_SECRET = "gatewaysecret"
OFFLINE_LIMIT = 100  # max_user_offline_messages for users outside test_users (ejabberd.yml.in)
_users = itertools.count(1)


def new_user():
    """A fresh account on the test server (not one of the exempt test accounts)."""
    name = f"retry{os.getpid()}x{next(_users)}"
    xmpp_control("register", name, "localhost", "retrypass")
    return f"{name}@localhost", "retrypass"


def set_settings(conn, **settings):
    for name, value in settings.items():
        query(conn, f"ALTER SYSTEM SET jabclnd.{name} = %s", (str(value),))
    query(conn, "SELECT pg_reload_conf()")
    time.sleep(1.0)  # the worker applies a reload at its next turn


@pytest.fixture
def online():
    """bot@localhost online; retries after 1 s (doubling), 3 of them, no safety poll."""
    conn = connect()
    query(conn, "CREATE EXTENSION IF NOT EXISTS jabclnd")
    use_account(conn)
    set_settings(conn, wait_retry_delay="1s", wait_retry_max_delay="4s", wait_retries=3,
                 safety_poll_interval="1h")
    wait_state(conn, "online", timeout=30)
    yield conn
    for name in ("wait_retry_delay", "wait_retry_max_delay", "wait_retries",
                 "safety_poll_interval"):
        query(conn, f"ALTER SYSTEM RESET jabclnd.{name}")
    query(conn, "SELECT pg_reload_conf()")
    conn.close()


class Component:
    """An external component (XEP-0114) connected to Prosody as `domain`: the handshake, then
    everything routed to it is read into `received`. Plain TCP on loopback, as the protocol is."""

    def __init__(self, domain, secret):
        self.domain = domain
        self.secret = secret
        self.sock = None
        self.received = ""

    def _read_until(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.received)
            if match:
                return match
            left = deadline - time.monotonic()
            assert left > 0, f"component {self.domain}: no {pattern!r} in {self.received!r}"
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            assert data, f"component {self.domain}: connection closed: {self.received!r}"
            self.received += data.decode("utf-8", "replace")

    def start(self):
        self.sock = socket.create_connection(
            ("127.0.0.1", int(os.environ["XMPP_COMPONENT_PORT"])), timeout=10)
        self.sock.sendall(f"<stream:stream xmlns='jabber:component:accept' "
                          f"xmlns:stream='http://etherx.jabber.org/streams' to='{self.domain}'>"
                          .encode())
        stream_id = self._read_until(r"<stream:stream[^>]*\sid=['\"]([^'\"]+)['\"]", 10).group(1)
        digest = hashlib.sha1((stream_id + self.secret).encode()).hexdigest()
        self.sock.sendall(f"<handshake>{digest}</handshake>".encode())
        self._read_until(r"<handshake\s*/>|<handshake></handshake>", 10)
        return self

    def wait_body(self, body, timeout=30):
        self._read_until(re.escape(f"<body>{body}</body>"), timeout)

    def stop(self):
        if self.sock:
            with contextlib.suppress(OSError):
                self.sock.sendall(b"</stream:stream>")
            self.sock.close()
            self.sock = None


class NotNow:
    """A recipient that the server answers with an error of type wait until deliverable() is
    called; then wait_delivered(body) waits for a message to reach it."""

    def __init__(self, peer_factory):
        self.server = os.environ["XMPP_SERVER"]
        self.peer_factory = peer_factory
        self.component = None
        self.peer = None
        if self.server == "prosody":
            self.to = f"bridge@{GATEWAY}"
            self.condition = "remote-server-timeout (wait)"
        else:
            self.to, self.password = new_user()
            self.condition = "resource-constraint (wait)"
            self._fill_offline_queue()

    def _fill_offline_queue(self):
        """alice fills the queue; her next message bouncing proves it is full."""
        alice = self.peer_factory(ALICE + "/filler", "alicepass")
        for n in range(OFFLINE_LIMIT):
            alice.send_message(self.to, f"filler {n}")
        alice.send_message(self.to, "one too many")
        wait_for(f"{self.to}'s offline queue to be full", lambda: any(
            m["type"] == "error" and m["from"].startswith(self.to) for m in alice.messages),
            timeout=30)

    def deliverable(self):
        if self.server == "prosody":
            self.component = Component(GATEWAY, GATEWAY_SECRET).start()
        else:
            self.peer = self.peer_factory(self.to + "/phone", self.password)

    def wait_delivered(self, body, timeout=30):
        if self.component:
            self.component.wait_body(body, timeout)
        else:
            self.peer.wait_message(lambda m: m["body"] == body, timeout=timeout)

    def stop(self):
        if self.component:
            self.component.stop()


@pytest.fixture
def not_now(peer_factory):
    recipient = NotNow(peer_factory)
    yield recipient
    recipient.stop()


def insert(conn, to, body):
    return scalar(conn, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                        "VALUES (%s, %s) RETURNING id", (to, body))


def wait_retry_recorded(conn, row):
    return wait_for(f"row {row} to wait for a retry", lambda: (
        lambda r: r if r["submission_retries"] >= 1 else None)(tx_row(conn, row)), timeout=20)


def test_a_wait_error_is_retried_and_then_delivered(online, not_now):
    row = insert(online, not_now.to, "retried until it went")
    waiting = wait_retry_recorded(online, row)
    assert waiting["submission_failed"] is False, waiting
    assert waiting["submission_timestamp"] is None, waiting
    assert waiting["next_attempt_at"] is not None, waiting
    assert not_now.condition in waiting["submission_info"], waiting
    assert "retry 1 of 3" in waiting["submission_info"], waiting
    not_now.deliverable()
    not_now.wait_delivered("retried until it went")
    done = wait_row_done(online, row, timeout=30)
    assert done["submission_timestamp"] is not None, done
    assert done["submission_failed"] is False, done
    # The last temporary error stays readable on the sent row.
    assert not_now.condition in done["submission_info"], done


def test_a_wait_error_that_persists_fails_after_the_retries(online, not_now):
    row = insert(online, not_now.to, "never let through")
    failed = wait_row_done(online, row, timeout=60)
    assert failed["submission_failed"] is True, failed
    assert failed["submission_timestamp"] is None, failed
    assert failed["submission_retries"] == 3, failed
    assert not_now.condition in failed["submission_info"], failed
    assert "still so after 3 retries (jabclnd.wait_retries)" in failed["submission_info"], failed


def test_a_cancel_error_fails_at_once(online):
    row = insert(online, "nobody-here@localhost", "to no one")
    failed = wait_row_done(online, row, timeout=20)
    assert failed["submission_failed"] is True, failed
    assert failed["submission_retries"] == 0, failed
    assert failed["next_attempt_at"] is None, failed
    assert "(cancel)" in failed["submission_info"], failed
    assert "retr" not in failed["submission_info"], failed


def test_resend_delivers_failed_rows(online, peer_factory):
    name = f"resend{os.getpid()}"
    to = f"{name}@localhost"
    rows = [insert(online, to, f"resent {n}") for n in range(3)]
    reasons = [wait_row_done(online, row)["submission_info"] for row in rows]
    assert all("(cancel)" in reason for reason in reasons), reasons
    # The user appears; the application sends the failed rows again.
    xmpp_control("register", name, "localhost", "resendpass")
    peer = peer_factory(to + "/phone", "resendpass")
    resent = [r[0] for r in query(online, "SELECT jabclnd_resend(%s)", (rows,))]
    assert sorted(resent) == sorted(rows)
    for n in range(3):
        peer.wait_message(lambda m, n=n: m["body"] == f"resent {n}", timeout=20)
    for row, reason in zip(rows, reasons):
        done = wait_row_done(online, row)
        assert done["submission_timestamp"] is not None, done
        assert done["submission_failed"] is False, done
        assert done["submission_info"] == reason, "the last failure reason is kept"
    # Rows that did not fail are not touched.
    assert query(online, "SELECT jabclnd_resend(%s)", (rows,)) == []
