"""pytest fixtures for the end-to-end tests.

test/run (see test/lib/env.sh) has started PostgreSQL, with jabclnd preloaded
and an empty database "jabclnd", and one XMPP server (Prosody or ejabberd: the
suite runs once against each), and exported where they are: PGHOST, PGPORT,
PGUSER, PGDATABASE, PGDATA, PG_BIN, PG_LOG, JABCLND_TMP, XMPP_SERVER,
XMPP_HOST, XMPP_PORT, XMPP_TLS_PORT, XMPP_DOMAIN, XMPP_CA, XMPP_CONTROL,
XMPP_CONFIG, XMPP_LOG. Run them through it: test/run e2e [--server NAME]
[-- pytest arguments]. Tests never name the server: they restart it and
change passwords through XMPP_CONTROL (test/lib/xmpp-control).

Fixtures:
  db            an autocommit psycopg2 connection to PGDATABASE, closed after the test
  peer_factory  peer_factory(jid, password, **Peer options) -> a logged-in Peer
                (test/lib/peer.py); every peer is stopped after the test, pass or fail
  xmpp_env      the exported variables above, as a dict
"""
import os
import sys

import psycopg2
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))

from peer import Peer  # noqa: E402

ENV_NAMES = ("XMPP_SERVER", "XMPP_HOST", "XMPP_PORT", "XMPP_TLS_PORT", "XMPP_DOMAIN", "XMPP_CA",
             "XMPP_CONTROL", "XMPP_CONFIG", "XMPP_LOG", "PGHOST", "PGPORT", "PGUSER",
             "PGDATABASE", "PGDATA", "PG_BIN", "PG_LOG", "JABCLND_TMP")


def pytest_configure(config):
    missing = [name for name in ("XMPP_SERVER", "XMPP_PORT", "XMPP_CA", "XMPP_CONTROL",
                                 "PGHOST", "PGPORT")
               if not os.environ.get(name)]
    if missing:
        pytest.exit(f"{', '.join(missing)} not set: run the end-to-end tests through "
                    "test/run e2e (it starts the XMPP server and PostgreSQL)", returncode=4)


def pytest_report_header(config):
    return f"XMPP server: {os.environ.get('XMPP_SERVER')} on 127.0.0.1:{os.environ.get('XMPP_PORT')}"


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
    errors = []
    for peer in reversed(peers):
        try:
            peer.stop()
        except Exception as e:  # stop the others anyway
            errors.append(f"{peer.jid}: {e!r}")
    assert not errors, f"stopping peers failed: {errors}"


@pytest.fixture
def xmpp_env():
    return {name: os.environ.get(name) for name in ENV_NAMES}
