"""The harness itself: the XMPP server (Prosody or ejabberd) and PostgreSQL are the real
things, set up as promised.

These run whether or not the worker works, so the suite is never empty and a
harness fault shows up here rather than as a puzzling worker failure.
"""
import os
import re
import socket
import ssl
import time

import pytest

from peer import Peer


def test_two_peers_exchange_a_message_over_the_server(peer_factory):
    alice = peer_factory("alice@localhost", "alicepass")
    bob = peer_factory("bob@localhost", "bobpass")
    alice.send_message("bob@localhost", "harness check <&> ü", subject="subject check")
    msg = bob.wait_message(lambda m: m["body"] == "harness check <&> ü")
    assert msg["subject"] == "subject check"
    assert msg["type"] == "chat"
    assert msg["from"].startswith("alice@localhost/")
    assert msg["to"].startswith("bob@localhost")


def test_jabclnd_is_preloaded(db):
    with db.cursor() as cur:
        cur.execute("SHOW shared_preload_libraries")
        assert "jabclnd" in cur.fetchone()[0]
        cur.execute("SHOW jabclnd.database")
        assert cur.fetchone()[0] == "jabclnd"
        cur.execute("SHOW jabclnd.tls_ca_file")
        assert cur.fetchone()[0] == os.environ["XMPP_CA"]
        cur.execute("SELECT current_database(), current_user")
        assert cur.fetchone() == ("jabclnd", "postgres")


def test_environment_is_exported(xmpp_env):
    assert xmpp_env["XMPP_SERVER"] in ("prosody", "ejabberd")
    assert xmpp_env["XMPP_HOST"] == "127.0.0.1"
    assert xmpp_env["XMPP_DOMAIN"] == "localhost"
    assert xmpp_env["XMPP_PORT"] != xmpp_env["XMPP_TLS_PORT"]
    assert os.path.isfile(xmpp_env["XMPP_CA"])
    assert os.access(xmpp_env["XMPP_CONTROL"], os.X_OK)
    for name in ("PGHOST", "PGPORT", "PGDATA", "PG_BIN", "PG_LOG", "JABCLND_TMP",
                 "XMPP_CONFIG", "XMPP_LOG"):
        assert os.environ.get(name), f"{name} is not exported"
    assert os.path.isfile(xmpp_env["XMPP_CONFIG"])


# What each server calls itself in the identity of its disco#info, and the line its log
# has once it runs: so that a pass cannot silently test another server than it names.
SERVER_IDENTITY = {
    "prosody": ("Prosody", "Activated service 'c2s'"),
    "ejabberd": ("ejabberd", "ejabberd 23.01"),
}


def test_the_server_is_the_one_this_pass_names(xmpp_env, peer_factory):
    """disco#info of the domain names the software: Prosody in the Prosody pass, ejabberd (and
    Debian's 23.01, by its log) in the ejabberd pass."""
    name, log_line = SERVER_IDENTITY[xmpp_env["XMPP_SERVER"]]
    alice = peer_factory("alice@localhost/harness", "alicepass", initial_presence=False)
    reply = alice.iq("localhost", "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert re.search(r"""<iq [^>]*type=["']result["']""", reply), reply
    identities = re.findall(r"<identity [^>]*>", reply)

    def names(identity):
        return re.search(r"""category=["']server["']""", identity) and re.findall(
            r"""name=["']([^"']*)["']""", identity)
    server_names = {n for i in identities for n in (names(i) or [])}
    assert server_names == {name}, identities
    with open(xmpp_env["XMPP_LOG"], errors="replace") as log:
        assert log_line in log.read(), f"{xmpp_env['XMPP_LOG']} lacks {log_line!r}"
    assert xmpp_env["XMPP_PORT"] in open(xmpp_env["XMPP_CONFIG"]).read()


def test_server_requires_tls_before_authentication(xmpp_env):
    """Before STARTTLS, the server offers no SASL mechanism: credentials cannot go in clear."""
    # A generous timeout: it only guards against a hang (a loaded machine can be slow).
    with socket.create_connection((xmpp_env["XMPP_HOST"], int(xmpp_env["XMPP_PORT"])),
                                  timeout=20) as s:
        s.sendall(b"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' "
                  b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        features = b""
        while b"</stream:features>" not in features:
            chunk = s.recv(4096)
            assert chunk, "the server closed the stream before sending its features"
            features += chunk
        assert b"starttls" in features
        assert b"<required" in features
        assert b"mechanisms" not in features
        # Trying to authenticate anyway does not succeed (whatever the server
        # answers, or if it says nothing at all).
        s.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                  b"AGFsaWNlAGFsaWNlcGFzcw==</auth>")
        s.settimeout(2)
        reply = b""
        try:
            while b"</stream:stream>" not in reply and b"failure" not in reply:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except (socket.timeout, ConnectionError):
            pass
        assert b"success" not in reply, reply


def test_direct_tls_port_serves_the_test_certificate(xmpp_env):
    context = ssl.create_default_context(cafile=xmpp_env["XMPP_CA"])
    with socket.create_connection((xmpp_env["XMPP_HOST"], int(xmpp_env["XMPP_TLS_PORT"])),
                                  5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version().startswith("TLS")
            names = {v for k, v in tls.getpeercert()["subjectAltName"] if k == "DNS"}
            assert {"localhost", "other.localhost", "conference.localhost"} <= names


def test_the_test_ca_is_the_only_trust(xmpp_env):
    """The system's CAs do not vouch for the test certificate: XMPP_CA is really used."""
    context = ssl.create_default_context()
    with socket.create_connection((xmpp_env["XMPP_HOST"], int(xmpp_env["XMPP_TLS_PORT"])),
                                  5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            context.wrap_socket(raw, server_hostname="localhost")


def test_wrong_password_is_refused():
    peer = Peer("alice@localhost", "not-her-password")
    with pytest.raises(AssertionError, match="could not log in"):
        peer.start(timeout=10)


def test_unreachable_server_fails_clearly_and_quickly(monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("XMPP_PORT", str(port))
    started = time.monotonic()
    with pytest.raises(AssertionError, match="could not log in"):
        Peer("alice@localhost", "alicepass").start(timeout=10)
    assert time.monotonic() - started < 10


def test_every_test_account_can_log_in(peer_factory):
    for jid, password in [("bot@localhost", "botpass"), ("bot2@localhost", "bot2pass"),
                          ("carol@localhost", "carolpass"), ("dave@localhost", "davepass"),
                          ("outsider@other.localhost", "outsiderpass")]:
        peer_factory(jid + "/harness", password, initial_presence=False).stop()


def test_presence_reaches_a_subscribed_peer(peer_factory):
    """subscribe / auto-accept / presence events work, as the presence tests assume.

    harness1 and harness2 exist for this test only, so the subscription it
    leaves in the server's rosters touches no other test."""
    one = peer_factory("harness1@localhost/p", "harness1pass")
    two = peer_factory("harness2@localhost/p", "harness2pass")
    two.subscribe("harness1@localhost")
    two.wait_presence(lambda p: p["from"] == "harness1@localhost" and p["type"] == "subscribed")
    one.set_presence(show="away", status="harness")
    p = two.wait_presence(lambda p: p["from"] == "harness1@localhost/p" and p["show"] == "away")
    assert p["status"] == "harness"
    assert ("harness1@localhost", "subscribed") in two.presences
    assert "harness2@localhost" in one.subscription_requests
