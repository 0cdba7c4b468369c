"""The harness itself: Prosody and PostgreSQL are the real things, set up as promised."""
import os
import socket
import ssl

from peer import Peer


def test_two_peers_exchange_a_message_over_prosody(peer_factory):
    alice = peer_factory("alice@localhost", "alicepass")
    bob = peer_factory("bob@localhost", "bobpass")
    alice.send_message("bob@localhost", "harness check", subject="subject check")
    msg = bob.wait_message(lambda m: m["body"] == "harness check")
    assert msg["subject"] == "subject check"
    assert msg["from"].startswith("alice@localhost/")


def test_jabclnd_is_preloaded(db):
    with db.cursor() as cur:
        cur.execute("SHOW shared_preload_libraries")
        assert "jabclnd" in cur.fetchone()[0]
        cur.execute("SHOW jabclnd.database")
        assert cur.fetchone()[0] == "jabclnd"


def test_prosody_requires_tls_before_authentication():
    """Before STARTTLS, the server offers no SASL mechanism: credentials cannot go in clear."""
    with socket.create_connection(("127.0.0.1", int(os.environ["XMPP_PORT"])), timeout=5) as s:
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


def test_direct_tls_port_serves_the_test_certificate():
    context = ssl.create_default_context(cafile=os.environ["XMPP_CA"])
    with socket.create_connection(("127.0.0.1", int(os.environ["XMPP_TLS_PORT"])), 5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version().startswith("TLS")


def test_wrong_password_is_refused():
    peer = Peer("alice@localhost", "not-her-password")
    try:
        peer.start(timeout=10)
    except AssertionError as e:
        assert "could not log in" in str(e)
    else:
        peer.stop()
        raise AssertionError("a wrong password was accepted")
