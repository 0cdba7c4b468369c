"""pytest fixtures for the end-to-end tests.

test/run has started PostgreSQL (with jabclnd preloaded) and Prosody and
exported where they are (PGHOST, PGPORT, XMPP_PORT, XMPP_CA, ...).
"""
import os
import sys

import psycopg2
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))

from peer import Peer  # noqa: E402


@pytest.fixture
def db():
    conn = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "jabclnd"))
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture
def peer_factory():
    """peer_factory(jid, password, **options) -> a logged-in Peer, stopped after the test."""
    peers = []

    def make(jid, password, **options):
        peer = Peer(jid, password, **options)
        peers.append(peer)
        return peer.start()

    yield make
    for peer in reversed(peers):
        peer.stop()


@pytest.fixture
def xmpp_env():
    return {name: os.environ[name] for name in
            ("XMPP_HOST", "XMPP_PORT", "XMPP_TLS_PORT", "XMPP_DOMAIN", "XMPP_CA")}
