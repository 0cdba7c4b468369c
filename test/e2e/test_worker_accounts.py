"""End-to-end: the worker follows xmpp_accounts, and survives login failures.

Each test leaves bot@localhost enabled and online again, whatever it changed.
"""
import os
import signal
import socket
import threading
import time

import pytest

from worker_helpers import (BOT, BOT2, BOT2_PASSWORD, BOT_PASSWORD, connect, query, reload_with,
                            scalar, send, status, tx_row, use_account, wait_for, wait_row_done,
                            wait_state, xmpp_control)

ALICE = "alice@localhost"
ALICE_PASSWORD = "alicepass"


@pytest.fixture
def db_online():
    conn = connect()
    query(conn, "CREATE EXTENSION IF NOT EXISTS jabclnd")
    use_account(conn)
    wait_state(conn, "online", timeout=30)
    yield conn
    # Back to the state every test starts from.
    query(conn, "UPDATE xmpp_accounts SET acc_pass = %s WHERE acc_jid = %s", (BOT_PASSWORD, BOT))
    use_account(conn)
    wait_state(conn, "online", timeout=30)
    conn.close()


def server_password(user, password):
    """Changes a user's password on the server side only."""
    xmpp_control("passwd", user, "localhost", password)


def test_switching_accounts_logs_in_with_the_new_one(db_online, peer_factory):
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    use_account(db_online, BOT2, BOT2_PASSWORD)
    assert scalar(db_online, "SELECT count(*) FROM xmpp_accounts WHERE enabled") == 1
    wait_for("the worker to log in as bot2",
             lambda: (lambda s: s["state"] == "online" and s["jid"] == BOT2)(status(db_online)))
    send(db_online, ALICE, body="from the second account")
    msg = alice.wait_message(lambda m: m["body"] == "from the second account")
    assert msg["from"].startswith(BOT2 + "/")


def test_the_worker_binds_its_resource_and_names_a_login_that_replaces_it(db_online,
                                                                           peer_factory):
    """The worker logs in as bot@localhost/jabclnd (acc_jid names no resource). Another client
    that logs in with that full JID replaces it (stream error conflict): the worker says so in
    last_error, and logs in again."""
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    send(db_online, ALICE, body="from the fixed resource")
    msg = alice.wait_message(lambda m: m["body"] == "from the fixed resource")
    assert msg["from"] == BOT + "/jabclnd"

    intruder = peer_factory(BOT + "/jabclnd", BOT_PASSWORD)
    s = wait_for("the worker to report the conflict", lambda: (
        lambda s: s if "replaced by another login" in (s["last_error"] or "") else None)(
        status(db_online)), timeout=15)
    assert "own resource in acc_jid" in s["last_error"], s
    intruder.stop()
    wait_state(db_online, "online", timeout=30)


def test_a_reload_ends_the_wait_after_a_replaced_login(db_online, peer_factory):
    """After a split brain is fenced the operator reloads: the worker logs in at once instead
    of waiting out the backoff it took when the other login replaced it."""
    query(db_online, "ALTER SYSTEM SET jabclnd.retry_min_delay = '30s'")
    query(db_online, "ALTER SYSTEM SET jabclnd.retry_max_delay = '60s'")
    query(db_online, "SELECT pg_reload_conf()")
    try:
        time.sleep(0.5)
        intruder = peer_factory(BOT + "/jabclnd", BOT_PASSWORD)
        s = wait_for("the worker to be replaced and back off", lambda: (
            lambda s: s if s["state"] == "offline" and s["next_retry"] else None)(
            status(db_online)), timeout=15)
        wait_seconds = scalar(db_online, "SELECT extract(epoch FROM %s - now())",
                              (s["next_retry"],))
        assert wait_seconds > 10, s
        intruder.stop()
    finally:
        query(db_online, "ALTER SYSTEM RESET jabclnd.retry_min_delay")
        query(db_online, "ALTER SYSTEM RESET jabclnd.retry_max_delay")
        query(db_online, "SELECT pg_reload_conf()")
    wait_state(db_online, "online", timeout=5)


def test_disabling_the_account_logs_out_and_enabling_logs_in(db_online):
    query(db_online, "UPDATE xmpp_accounts SET enabled = false")
    wait_state(db_online, "no_account", timeout=5)
    row = send(db_online, ALICE, body="queued while no account")
    time.sleep(1)
    assert status(db_online)["pending"] >= 1
    use_account(db_online)
    wait_state(db_online, "online", timeout=10)
    assert wait_row_done(db_online, row)["submission_failed"] is False


def test_a_change_that_is_not_login_data_does_not_reconnect(db_online):
    before = status(db_online)
    query(db_online, "INSERT INTO xmpp_accounts (acc_jid, acc_pass) VALUES "
                     "('spare@localhost', 'x') ON CONFLICT (acc_jid, srv_host, port) DO NOTHING")
    query(db_online, "UPDATE xmpp_accounts SET acc_pass = acc_pass WHERE acc_jid = %s", (BOT,))
    time.sleep(1.5)
    after = status(db_online)
    assert after["state"] == "online"
    assert after["since"] == before["since"], "the session must not have been re-established"


def test_wrong_password_backs_off_then_the_correction_is_picked_up(db_online):
    query(db_online, "UPDATE xmpp_accounts SET acc_pass = 'wrong' WHERE acc_jid = %s", (BOT,))
    s = wait_state(db_online, "auth_failed", timeout=10)
    assert "authentication failed" in s["last_error"]
    assert s["next_retry"] is not None
    row = send(db_online, ALICE, body="sent after the password was fixed")
    query(db_online, "UPDATE xmpp_accounts SET acc_pass = %s WHERE acc_jid = %s",
          (BOT_PASSWORD, BOT))
    wait_state(db_online, "online", timeout=10)
    assert wait_row_done(db_online, row)["submission_failed"] is False


def test_password_corrected_on_the_server_alone_is_picked_up(db_online):
    """The account keeps a password the server does not know yet; then the server learns it."""
    query(db_online, "UPDATE xmpp_accounts SET acc_pass = 'newbotpass' WHERE acc_jid = %s", (BOT,))
    wait_state(db_online, "auth_failed", timeout=10)
    try:
        server_password("bot", "newbotpass")
        wait_state(db_online, "online", timeout=30)
    finally:
        server_password("bot", BOT_PASSWORD)


def test_refused_connection_is_retried_without_stopping_the_worker(db_online):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    pid = status(db_online)["worker_pid"]
    query(db_online, "UPDATE xmpp_accounts SET port = %s WHERE acc_jid = %s", (closed_port, BOT))
    s = wait_state(db_online, "offline", timeout=10)
    assert s["last_error"], s
    assert s["worker_pid"] == pid, "a refused connection must not restart the worker"
    query(db_online, "UPDATE xmpp_accounts SET port = %s WHERE acc_jid = %s",
          (int(os.environ["XMPP_PORT"]), BOT))


class StallingServer:
    """Accepts TCP, offers STARTTLS, answers <proceed/>, then says nothing more."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.clients = []
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.clients.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _read_until(client, marker):
        data = b""
        while marker not in data:
            chunk = client.recv(4096)
            if not chunk:
                return False
            data += chunk
        return True

    def _serve(self, client):
        try:
            if not self._read_until(client, b"<stream:stream"):
                return
            client.sendall(
                b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                b"xmlns:stream='http://etherx.jabber.org/streams' id='stall' from='localhost' "
                b"version='1.0'><stream:features><starttls "
                b"xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
                b"</stream:features>")
            if self._read_until(client, b"starttls"):
                client.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        except OSError:
            pass

    def close(self):
        self.stopped = True
        self.sock.close()
        for client in self.clients:
            client.close()


def test_stalled_tls_handshake_is_abandoned_and_sigterm_still_works(db_online):
    server = StallingServer()
    try:
        query(db_online, "ALTER SYSTEM SET jabclnd.connect_timeout = '2s'")
        query(db_online, "SELECT pg_reload_conf()")
        # pg_reload_conf() only signals the postmaster, which signals the worker: a login
        # that starts before the worker reloads keeps the default 30 s deadline (one
        # full run in five or so failed so).
        time.sleep(1)
        query(db_online, "UPDATE xmpp_accounts SET port = %s WHERE acc_jid = %s",
              (server.port, BOT))
        s = wait_for("the login to be abandoned", lambda: (
            lambda st: st if "jabclnd.connect_timeout" in (st["last_error"] or "") else None)(
                status(db_online)), timeout=15)
        assert s["state"] in ("offline", "connecting")
        # With a long deadline, the next handshake hangs: the worker must still honour
        # DROP DATABASE's barrier and SIGTERM at once.
        query(db_online, "ALTER SYSTEM SET jabclnd.connect_timeout = '5min'")
        query(db_online, "SELECT pg_reload_conf()")
        wait_state(db_online, "connecting", timeout=10)
        time.sleep(0.5)  # well inside the next handshake
        query(db_online, "CREATE DATABASE jabclnd_barrier")
        started = time.monotonic()
        query(db_online, "DROP DATABASE jabclnd_barrier")
        assert time.monotonic() - started < 3, "DROP DATABASE waited on the worker"
        wait_state(db_online, "connecting", timeout=10)
        time.sleep(0.5)
        pid = status(db_online)["worker_pid"]
        os.kill(pid, signal.SIGTERM)
        started = time.monotonic()
        wait_for("the worker to exit after SIGTERM",
                 lambda: not os.path.exists(f"/proc/{pid}"), timeout=5)
        assert time.monotonic() - started < 3
    finally:
        query(db_online, "ALTER SYSTEM RESET jabclnd.connect_timeout")
        query(db_online, "SELECT pg_reload_conf()")
        query(db_online, "UPDATE xmpp_accounts SET port = %s WHERE acc_jid = %s",
              (int(os.environ["XMPP_PORT"]), BOT))
        server.close()
    # The postmaster restarts the worker (exit code 1) and it logs in again.
    wait_state(db_online, "online", timeout=30)


def test_passwords_never_reach_the_server_log(db_online):
    query(db_online, "ALTER SYSTEM SET jabclnd.log_level = 'debug'")
    query(db_online, "SELECT pg_reload_conf()")
    try:
        query(db_online, "UPDATE xmpp_accounts SET acc_pass = 'Secret-Canary-42' "
                         "WHERE acc_jid = %s", (BOT,))
        wait_state(db_online, "auth_failed", timeout=10)
        query(db_online, "UPDATE xmpp_accounts SET acc_pass = %s WHERE acc_jid = %s",
              (BOT_PASSWORD, BOT))
        wait_state(db_online, "online", timeout=10)
    finally:
        query(db_online, "ALTER SYSTEM RESET jabclnd.log_level")
        query(db_online, "SELECT pg_reload_conf()")
    log = open(os.environ["PG_LOG"], errors="replace").read()
    assert "libstrophe" in log, "debug logging should have produced libstrophe lines"
    import base64
    assert "Secret-Canary-42" not in log
    # PLAIN would send base64("\0user\0password"); SCRAM never sends the password itself.
    assert base64.b64encode(b"\0bot\0Secret-Canary-42").decode() not in log


def test_direct_tls(db_online, peer_factory):
    """jabclnd.tls = direct: XEP-0368, TLS from the first byte, on the direct TLS port."""
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    try:
        reload_with(db_online, tls="direct")
        query(db_online, "UPDATE xmpp_accounts SET port = %s WHERE acc_jid = %s",
              (int(os.environ["XMPP_TLS_PORT"]), BOT))
        wait_for("a login over direct TLS", lambda: (
            lambda s: s["state"] == "online" and s["since"])(status(db_online)), timeout=20)
        send(db_online, ALICE, body="over direct TLS")
        alice.wait_message(lambda m: m["body"] == "over direct TLS")
    finally:
        reload_with(db_online, tls=None)
        query(db_online, "UPDATE xmpp_accounts SET port = %s WHERE acc_jid = %s",
              (int(os.environ["XMPP_PORT"]), BOT))


def test_untrusted_certificate_is_refused_and_tls_verify_off_accepts_it(db_online):
    """A CA that did not sign the server's certificate: no login, a clear reason."""
    other_ca = os.path.join(os.environ["JABCLND_TMP"], "unrelated-ca.pem")
    if not os.path.exists(other_ca):
        import subprocess
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=Unrelated CA", "-keyout", other_ca + ".key", "-out",
                        other_ca], check=True, capture_output=True, timeout=60)
        os.chmod(other_ca, 0o644)
    log_offset = os.path.getsize(os.environ["PG_LOG"])
    try:
        reload_with(db_online, tls_ca_file=other_ca)
        # A reload alone does not log out: disable and enable the account to log in anew.
        query(db_online, "UPDATE xmpp_accounts SET enabled = false")
        wait_state(db_online, "no_account", timeout=10)
        use_account(db_online)
        s = wait_for("the certificate to be refused", lambda: (
            lambda st: st if "certificate" in (st["last_error"] or "") else None)(
                status(db_online)), timeout=20)
        assert s["state"] == "offline", s
        reload_with(db_online, tls_verify="off")
        wait_state(db_online, "online", timeout=30)
        with open(os.environ["PG_LOG"], errors="replace") as log:
            log.seek(log_offset)
            assert "jabclnd.tls_verify is off" in log.read()
    finally:
        reload_with(db_online, tls_ca_file=None, tls_verify=None)
        query(db_online, "UPDATE xmpp_accounts SET enabled = false")
        use_account(db_online)


def test_a_row_that_keeps_breaking_the_connection_fails_after_max_attempts(db_online,
                                                                            peer_factory):
    """A stanza under our size limit but over the server's (256 KiB: Prosody's
    c2s_stanza_size_limit, ejabberd's max_stanza_size) makes the server close the stream each
    time it is sent. It must fail after jabclnd.max_attempts, with the reason, and
    the rows queued with it and after it must be delivered."""
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    reload_with(db_online, max_stanza_size="1MB", max_attempts="2", retry_min_delay="100ms")
    try:
        before = send(db_online, ALICE, body="before the stream killer")
        killer = send(db_online, ALICE, body="k" * 300000)
        after = send(db_online, ALICE, body="after the stream killer")
        failed = wait_for("the stream killer to fail", lambda: (
            lambda r: r if r["submission_failed"] else None)(tx_row(db_online, killer)),
            timeout=60)
        assert "jabclnd.max_attempts" in failed["submission_info"], failed
        assert failed["submission_attempts"] == 3, failed  # two sends, then the third claim fails it
        alice.wait_message(lambda m: m["body"] == "before the stream killer", timeout=30)
        alice.wait_message(lambda m: m["body"] == "after the stream killer", timeout=30)
        for row in (before, after):
            assert wait_row_done(db_online, row)["submission_failed"] is False
    finally:
        reload_with(db_online, max_stanza_size=None, max_attempts=None, retry_min_delay=None)


def test_server_names_are_looked_up_and_a_failed_lookup_is_retried(db_online):
    pid = status(db_online)["worker_pid"]
    try:
        query(db_online, "UPDATE xmpp_accounts SET srv_host = 'no-such-host.invalid' "
                         "WHERE acc_jid = %s", (BOT,))
        s = wait_for("the failed lookup", lambda: (
            lambda st: st if "could not look up" in (st["last_error"] or "") else None)(
                status(db_online)), timeout=10)
        assert "no-such-host.invalid" in s["last_error"]
        assert s["state"] == "offline" and s["next_retry"] is not None
        query(db_online, "UPDATE xmpp_accounts SET srv_host = 'localhost' WHERE acc_jid = %s",
              (BOT,))
        wait_state(db_online, "online", timeout=10)
        assert status(db_online)["worker_pid"] == pid
    finally:
        query(db_online, "UPDATE xmpp_accounts SET srv_host = %s WHERE acc_jid = %s",
              (os.environ.get("XMPP_HOST", "127.0.0.1"), BOT))
