"""End-to-end: the worker finds its server the way XMPP clients do (RFC 6120 §3.2, XEP-0368).

Each test starts a DNS server of its own on loopback (Debian's dnsmasq, from dnsmasq-base)
that serves SRV records for the test domain (localhost, the XMPP server's own domain) and
addresses for made-up target names under .srv.test, and points the worker at it with
jabclnd.dns_server. The bot's account gets an empty srv_host, so that the worker looks the
server up, and port 5222, where nothing listens on this machine: only a worker that follows
the SRV records reaches the test server (the code before SRV support connected to
localhost:5222 and was refused).

Each test leaves bot@localhost on srv_host 127.0.0.1 and the test server's port, online,
and jabclnd.dns_server reset; every dnsmasq it starts is stopped by pid.
"""
import os
import signal
import socket
import subprocess
import time

import pytest

from worker_helpers import (BOT, connect, query, reload_with, send, status, use_account,
                            wait_for, wait_state)

ALICE = "alice@localhost"
ALICE_PASSWORD = "alicepass"
DOMAIN = "localhost"
UNUSED_PORT = 5222  # the account's port: the fallback of RFC 6120, and closed here


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port():
    """A TCP port on 127.0.0.1 (and ::1) that refuses connections."""
    port = free_port()
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            assert s.connect_ex((host, port)) != 0, f"{host}:{port} accepts connections"
    return port


class DnsServer:
    """dnsmasq on 127.0.0.1, answering only from the records given (no upstream, no
    /etc/hosts): names under .srv.test and the SRV names of localhost; anything else under
    those domains does not exist."""

    def __init__(self, srv=(), hosts=()):
        """srv: (name, target or None for ".", port, priority, weight);
        hosts: (name, address, ...)."""
        self.log_path = os.path.join(os.environ["JABCLND_TMP"], f"dnsmasq-{time.time_ns()}.log")
        self.process = None
        for _ in range(5):  # the port is free when chosen; another process may take it first
            self.port = free_port(socket.SOCK_DGRAM)
            args = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                    "--no-hosts", "--no-poll", "--pid-file=", "--user=root", "--bind-interfaces",
                    "--listen-address=127.0.0.1", f"--port={self.port}",
                    "--log-queries", "--log-facility=-",
                    "--local=/srv.test/", f"--local=/{DOMAIN}/"]
            for name, target, port, priority, weight in srv:
                args.append(f"--srv-host={name},{target},{port},{priority},{weight}"
                            if target else f"--srv-host={name}")
            for name, *addresses in hosts:
                args.append(f"--host-record={name},{','.join(addresses)}")
            log = open(self.log_path, "a")
            self.process = subprocess.Popen(args, stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL)
            log.close()
            if self._answers():
                return
            self.stop()
        raise AssertionError(f"dnsmasq did not start; its log: {self.log()}")

    def _answers(self):
        """Whether dnsmasq answers a query on its port (waits up to 5 s)."""
        query_packet = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                        b"\x05probe\x03srv\x04test\x00\x00\x01\x00\x01")
        deadline = time.monotonic() + 5
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    s.sendto(query_packet, ("127.0.0.1", self.port))
                    if s.recvfrom(512)[0][:2] == b"\x12\x34":
                        return True
                except OSError:
                    pass
        return False

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


class ServerLog:
    """The PostgreSQL server log from the moment it was made."""

    def __init__(self):
        self.path = os.environ["PG_LOG"]
        self.offset = os.path.getsize(self.path)

    def text(self):
        with open(self.path, errors="replace") as f:
            f.seek(self.offset)
            return f.read()

    def wait_for(self, what, needle, timeout=20):
        return wait_for(f"{what} in the server log ({needle!r})",
                        lambda: needle in self.text(), timeout=timeout)


@pytest.fixture
def dns():
    """dns(srv=..., hosts=...) starts a DnsServer and points the worker at it."""
    conn = connect()
    query(conn, "CREATE EXTENSION IF NOT EXISTS jabclnd")
    use_account(conn)
    wait_state(conn, "online", timeout=30)
    servers = []

    def start(srv=(), hosts=()):
        server = DnsServer(srv, hosts)
        servers.append(server)
        reload_with(conn, dns_server=f"127.0.0.1:{server.port}")
        return server

    yield start
    try:
        reload_with(conn, dns_server=None, tls=None, connect_timeout=None)
        query(conn, "DELETE FROM xmpp_accounts WHERE acc_jid = %s AND srv_host <> %s",
              (BOT, os.environ.get("XMPP_HOST", "127.0.0.1")))
        use_account(conn)
        wait_state(conn, "online", timeout=30)
    finally:
        for server in servers:
            server.stop()
        conn.close()


def look_up_server(conn, port=UNUSED_PORT):
    """The bot's account without srv_host: the worker looks the server up (again)."""
    query(conn, "UPDATE xmpp_accounts SET srv_host = '', port = %s WHERE acc_jid = %s AND enabled",
          (port, BOT))


def test_a_refusing_first_target_is_skipped_for_the_next(dns, peer_factory):
    """SRV: the better target refuses, the next one (a name not in the server's certificate,
    which is checked against the JID's domain) logs in."""
    xmpp_port = int(os.environ["XMPP_PORT"])
    refused = closed_port()
    dns(srv=[(f"_xmpp-client._tcp.{DOMAIN}", "xmpp1.srv.test", refused, 10, 50),
             (f"_xmpp-client._tcp.{DOMAIN}", "xmpp2.srv.test", xmpp_port, 20, 50)],
        hosts=[("xmpp1.srv.test", "127.0.0.1"), ("xmpp2.srv.test", "127.0.0.1")])
    alice = peer_factory(ALICE, ALICE_PASSWORD)
    log = ServerLog()
    conn = connect()
    try:
        look_up_server(conn)
        log.wait_for("the refused first target",
                     f"xmpp1.srv.test:{refused} (127.0.0.1): connection error: Connection refused;"
                     f" trying xmpp2.srv.test:{xmpp_port}")
        log.wait_for("the login at the second target",
                     f"at xmpp2.srv.test:{xmpp_port} (127.0.0.1)")
        wait_state(conn, "online", timeout=10)
        send(conn, ALICE, body="found through SRV")
        alice.wait_message(lambda m: m["body"] == "found through SRV")
        text = log.text()
        assert text.index(f"xmpp1.srv.test:{refused}") < text.index("logged in as"), text
    finally:
        conn.close()


def test_every_address_of_every_target_is_tried_and_reported(dns):
    """Two targets, the second with an IPv6 and an IPv4 address: three attempts, all refused;
    jabclnd_status() says which target and address failed and how, and retries later."""
    refused = closed_port()
    dns(srv=[(f"_xmpp-client._tcp.{DOMAIN}", "first.srv.test", refused, 0, 0),
             (f"_xmpp-client._tcp.{DOMAIN}", "dual.srv.test", refused, 5, 0)],
        hosts=[("first.srv.test", "127.0.0.1"), ("dual.srv.test", "127.0.0.1", "::1")])
    conn = connect()
    try:
        look_up_server(conn)
        s = wait_for("every attempt to fail", lambda: (
            lambda st: st if "no server could be reached" in (st["last_error"] or "") else None)(
                status(conn)), timeout=20)
        error = s["last_error"]
        assert s["state"] == "offline" and s["next_retry"] is not None, s
        assert error.startswith("no server could be reached (3 attempts): "
                                f"first.srv.test:{refused} (127.0.0.1): "), error
        assert f"dual.srv.test:{refused} (::1): " in error, error
        assert f"dual.srv.test:{refused} (127.0.0.1): " in error, error
        # Refused on 127.0.0.1; on ::1 refused too, or unreachable on a machine without IPv6.
        assert error.count("connection error: ") == 3, error
        assert error.count("127.0.0.1): connection error: Connection refused") == 2, error
    finally:
        conn.close()


def test_without_srv_records_the_domain_itself_is_used(dns):
    """No SRV records for the domain: the domain itself, on the account's port."""
    server = dns(srv=[], hosts=[])
    log = ServerLog()
    conn = connect()
    try:
        look_up_server(conn, port=int(os.environ["XMPP_PORT"]))
        log.wait_for("the login at the domain itself",
                     f"at {DOMAIN}:{os.environ['XMPP_PORT']} (127.0.0.1)")
        wait_state(conn, "online", timeout=10)
        # The worker did ask: dnsmasq saw both SRV questions.
        assert f"_xmpp-client._tcp.{DOMAIN}" in server.log(), server.log()
        assert f"_xmpps-client._tcp.{DOMAIN}" in server.log(), server.log()
        # And with the default port, the fallback is localhost:5222, refused here.
        look_up_server(conn)
        s = wait_for("the fallback to be refused", lambda: (
            lambda st: st if st["state"] == "offline" else None)(status(conn)), timeout=20)
        assert s["last_error"].startswith(f"{DOMAIN}:{UNUSED_PORT} (127.0.0.1): "), s
    finally:
        conn.close()


def test_a_dot_target_means_no_service_and_no_fallback(dns):
    """_xmpp-client._tcp.localhost has the single target ".": the domain offers no XMPP
    service, so the worker does not try the domain itself, and says why."""
    dns(srv=[(f"_xmpp-client._tcp.{DOMAIN}", None, 0, 0, 0)])
    log = ServerLog()
    conn = connect()
    try:
        look_up_server(conn, port=int(os.environ["XMPP_PORT"]))
        s = wait_for("the refusal", lambda: (
            lambda st: st if "offers no XMPP service" in (st["last_error"] or "") else None)(
                status(conn)), timeout=20)
        assert s["state"] == "offline", s
        assert f"_xmpp-client._tcp.{DOMAIN}" in s["last_error"], s
        assert "srv_host" in s["last_error"], s
        # The domain answers on the account's port, yet no login is tried there, at the next
        # attempts either (jabclnd.retry_max_delay is 5 s in the tests).
        time.sleep(6)
        assert status(conn)["state"] == "offline"
        assert "logged in as" not in log.text(), log.text()
    finally:
        conn.close()


def test_a_direct_tls_record_is_used_with_tls_from_the_first_byte(dns):
    """XEP-0368: an _xmpps-client record with a better priority than the _xmpp-client one is
    tried first, with TLS from the first byte (jabclnd.tls = required, the default)."""
    tls_port = int(os.environ["XMPP_TLS_PORT"])
    dns(srv=[(f"_xmpps-client._tcp.{DOMAIN}", "tls.srv.test", tls_port, 0, 0),
             (f"_xmpp-client._tcp.{DOMAIN}", "plain.srv.test", closed_port(), 10, 0)],
        hosts=[("tls.srv.test", "127.0.0.1"), ("plain.srv.test", "127.0.0.1")])
    log = ServerLog()
    conn = connect()
    try:
        look_up_server(conn)
        log.wait_for("the login over direct TLS",
                     f"at tls.srv.test:{tls_port} (127.0.0.1), direct TLS")
        wait_state(conn, "online", timeout=10)
    finally:
        conn.close()


def test_a_configured_host_is_not_looked_up_by_srv_but_every_address_is_tried(dns):
    """srv_host set: no SRV lookup (the records would lead nowhere), and every address of the
    host in turn: ::1 refuses (the server listens on 127.0.0.1 only), 127.0.0.1 logs in."""
    xmpp_port = int(os.environ["XMPP_PORT"])
    server = dns(srv=[(f"_xmpp-client._tcp.{DOMAIN}", "nowhere.srv.test", closed_port(), 0, 0)],
                 hosts=[("dual.srv.test", "::1", "127.0.0.1"),
                        ("nowhere.srv.test", "127.0.0.1")])
    log = ServerLog()
    conn = connect()
    try:
        query(conn, "UPDATE xmpp_accounts SET srv_host = 'dual.srv.test', port = %s "
                    "WHERE acc_jid = %s AND enabled", (xmpp_port, BOT))
        log.wait_for("the login at the host's IPv4 address",
                     f"at dual.srv.test:{xmpp_port} (127.0.0.1)")
        text = log.text()
        assert f"dual.srv.test:{xmpp_port} (::1): connection error: " in text, text
        assert f"; trying dual.srv.test:{xmpp_port} (127.0.0.1)" in text, text
        assert "_xmpp-client" not in server.log(), server.log()
        assert "nowhere.srv.test" not in text
    finally:
        conn.close()


def test_a_silent_dns_server_blocks_neither_the_worker_nor_the_login(dns):
    """A DNS server that never answers: the worker's loop goes on (DROP DATABASE's barrier is
    answered at once), and after jabclnd.connect_timeout the login falls back to the domain
    itself, as RFC 6120 says for a failed SRV lookup."""
    xmpp_port = int(os.environ["XMPP_PORT"])
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    conn = connect()
    try:
        reload_with(conn, dns_server=f"127.0.0.1:{silent.getsockname()[1]}",
                    connect_timeout="5s")
        time.sleep(1)  # the reload reaches the worker before the login starts
        log = ServerLog()
        look_up_server(conn, port=xmpp_port)
        wait_for("the worker to wait for the SRV answers",
                 lambda: status(conn)["state"] == "connecting", timeout=10)
        query(conn, "CREATE DATABASE jabclnd_dns_barrier")
        started = time.monotonic()
        query(conn, "DROP DATABASE jabclnd_dns_barrier")
        assert time.monotonic() - started < 3, "DROP DATABASE waited on the worker"
        log.wait_for("the login at the domain itself", f"at {DOMAIN}:{xmpp_port} (127.0.0.1)",
                     timeout=30)
        text = log.text()
        assert (f"could not look up _xmpp-client._tcp.{DOMAIN}: no answer in time; "
                "treated as no SRV records") in text, text
        assert silent.recv(512, socket.MSG_DONTWAIT), "the worker never asked the silent server"
    finally:
        silent.close()
        conn.close()


def test_a_malformed_dns_server_setting_is_refused(dns):
    conn = connect()
    try:
        for bad in ("dns.example.org", "127.0.0.1:0", "[::1"):
            with pytest.raises(Exception) as raised:
                query(conn, "ALTER SYSTEM SET jabclnd.dns_server = %s", (bad,))
            assert "jabclnd.dns_server must be an IP address" in str(raised.value), raised.value
    finally:
        conn.close()
