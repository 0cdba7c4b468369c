"""End-to-end: the worker sends xmpp_tx_queue and fills xmpp_rx_queue.

The other party is a real, independent XMPP client (slixmpp, see
test/lib/peer.py) logged in to the same XMPP server as the worker's account.
"""
import re
import select
import time

import pytest

from worker_helpers import (BOT, connect, online_connection, query, scalar, send, status, tx_row,
                            wait_for, wait_row_done)

ALICE = "alice@localhost"
ALICE_PASSWORD = "alicepass"


@pytest.fixture(scope="module")
def online():
    """The extension installed, bot@localhost enabled and logged in."""
    conn = online_connection()
    yield conn
    conn.close()


@pytest.fixture
def alice(peer_factory):
    return peer_factory(ALICE, ALICE_PASSWORD)


def test_message_arrives_with_subject_and_body(online, alice):
    row = send(online, ALICE, body="Hello, there!\nline two <&>", subject="Alert: disk")
    msg = alice.wait_message(lambda m: m["body"].startswith("Hello, there!"))
    assert msg["subject"] == "Alert: disk"
    assert msg["body"] == "Hello, there!\nline two <&>"
    assert msg["type"] == "chat"
    assert msg["from"].startswith(BOT + "/")
    done = wait_row_done(online, row)
    assert done["submission_timestamp"] is not None
    assert done["submission_failed"] is False
    assert done["submission_attempts"] == 1
    # The stanza id is derived from the row, so a re-send can be recognised.
    assert msg["id"].startswith(f"jabclnd-tx-{row}-")


def test_the_stanza_id_is_the_rows_stable_origin_id_and_a_random_login_token(online, alice):
    """The id an error reply must name cannot be guessed from the row; the origin-id, the
    same at every attempt, lets a receiver recognise a duplicate."""
    rows = [send(online, ALICE, body=f"token {n}") for n in (1, 2)]
    msgs = [alice.wait_message(lambda m, n=n: m["body"] == f"token {n}") for n in (1, 2)]
    tokens = set()
    for row, msg in zip(rows, msgs):
        origin = re.search(r"<origin-id[^>]*\bid=[\"']([^\"']+)", msg["xml"])
        assert origin, msg["xml"]
        stable = origin.group(1)
        assert re.fullmatch(rf"jabclnd-tx-{row}-\d+", stable), stable
        assert msg["id"].startswith(stable + "-"), (msg["id"], stable)
        token = msg["id"][len(stable) + 1:]
        assert re.fullmatch(r"[0-9a-f]{16}", token), msg["id"]
        tokens.add(token)
    assert len(tokens) == 1, f"one token per login: {tokens}"


def test_spec_example_insert_verbatim(online, alice):
    query(online, "insert into xmpp_tx_queue (message_to, message_body) "
                  "values ('alice@localhost', 'Hello, there!')")
    msg = alice.wait_message(lambda m: m["body"] == "Hello, there!")
    assert msg["subject"] in (None, "")


def test_raw_stanza_arrives_as_written(online, alice):
    stanza = ("<message to='alice@localhost' type='headline' id='my-own-id'>"
              "<subject>raw subject</subject><body>raw body</body>"
              "<x xmlns='urn:example:custom' level='7'>extra</x></message>")
    row = send(online, None, stanza=stanza)
    msg = alice.wait_message(lambda m: m["body"] == "raw body")
    assert msg["id"] == "my-own-id"
    assert msg["type"] == "headline"
    assert msg["subject"] == "raw subject"
    assert "urn:example:custom" in msg["xml"] and "level=\"7\"" in msg["xml"].replace("'", '"')
    assert wait_row_done(online, row)["submission_failed"] is False


def test_raw_stanza_without_id_gets_one(online, alice):
    row = send(online, None, stanza="<message to='alice@localhost'><body>no id here</body></message>")
    msg = alice.wait_message(lambda m: m["body"] == "no id here")
    assert msg["id"].startswith(f"jabclnd-tx-{row}-")


def test_raw_stanza_in_jabber_client_with_white_space_around_is_sent(online, alice):
    row = send(online, None, stanza="\n  <message xmlns='jabber:client' to='alice@localhost'>"
                                    "<body>namespaced</body></message>\n")
    alice.wait_message(lambda m: m["body"] == "namespaced")
    assert wait_row_done(online, row)["submission_failed"] is False


def test_a_null_message_type_is_sent_as_chat(online, alice):
    row = scalar(online, "INSERT INTO xmpp_tx_queue (message_to, message_type, message_body) "
                         "VALUES (%s, NULL, 'typed NULL') RETURNING id", (ALICE,))
    assert alice.wait_message(lambda m: m["body"] == "typed NULL")["type"] == "chat"
    assert wait_row_done(online, row)["submission_failed"] is False


def test_message_types(online, alice):
    for mtype in ("normal", "headline"):
        send(online, ALICE, body=f"type {mtype}", mtype=mtype)
        assert alice.wait_message(lambda m: m["body"] == f"type {mtype}")["type"] == mtype


BAD_ROWS = [
    ("invalid XML", dict(stanza="<message to='alice@localhost'><body>unclosed</message>"),
     "not well-formed XML"),
    ("not a message", dict(stanza="<iq to='alice@localhost' type='get' id='x'/>"),
     "only <message> stanzas are sent"),
    ("invalid JID", dict(to="bad jid@localhost", body="x"), "message_to \"bad jid@localhost\""),
    ("two @", dict(to="a@b@localhost", body="x"), "more than one '@'"),
    ("empty JID", dict(to="", body="x"), "message_to is empty"),
    ("control character", dict(to=ALICE, body="bell\x07here"), "U+0007"),
    ("control character in subject", dict(to=ALICE, body="ok", subject="esc\x1b"), "U+001B"),
    ("unknown type", dict(to=ALICE, body="x", mtype="shout"), "message_type \"shout\""),
    ("nothing to send", dict(to=ALICE), "neither message_body nor message_subject"),
    ("oversized", dict(to=ALICE, body="x" * 70000), "more than jabclnd.max_stanza_size"),
    ("raw without recipient", dict(stanza="<message><body>to nobody</body></message>"),
     "no to attribute"),
    # libstrophe's parser takes the first element and drops the rest: refused whole.
    ("two messages", dict(stanza="<message to='alice@localhost'><body>one</body></message>"
                                 "<message to='alice@localhost'><body>two</body></message>"),
     "holds more than one element"),
    ("trailing text", dict(stanza="<message to='alice@localhost'><body>x</body></message>junk"),
     "has text after its element"),
    ("XML declaration", dict(stanza="<?xml version='1.0'?><message to='alice@localhost'>"
                                    "<body>x</body></message>"), "XML declaration"),
    ("DTD", dict(stanza="<!DOCTYPE message [<!ENTITY e 'x'>]><message to='alice@localhost'>"
                        "<body>&e;</body></message>"), "document type declaration"),
    # Another namespace makes the server close the stream.
    ("foreign namespace", dict(stanza="<message xmlns='urn:wrong:ns' to='alice@localhost'>"
                                      "<body>x</body></message>"), "namespace \"urn:wrong:ns\""),
    ("server namespace", dict(stanza="<message xmlns='jabber:server' to='alice@localhost'>"
                                     "<body>x</body></message>"), "namespace \"jabber:server\""),
    ("stream namespace", dict(stanza="<message xmlns='http://etherx.jabber.org/streams' "
                                     "to='alice@localhost'><body>x</body></message>"),
     "in namespace \"http://etherx.jabber.org/streams\""),
]


@pytest.mark.parametrize("label,row,reason", BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_bad_row_fails_alone_and_the_next_is_delivered(online, alice, label, row, reason):
    bad = send(online, row.get("to"), body=row.get("body"), subject=row.get("subject"),
               mtype=row.get("mtype"), stanza=row.get("stanza"))
    good = send(online, ALICE, body=f"after {label}")
    alice.wait_message(lambda m: m["body"] == f"after {label}")
    failed = wait_row_done(online, bad)
    assert failed["submission_failed"] is True, failed
    assert failed["submission_timestamp"] is None, "a row that was never sent has no timestamp"
    assert reason in failed["submission_info"], failed["submission_info"]
    assert wait_row_done(online, good)["submission_failed"] is False
    assert status(online)["state"] == "online", "a bad row must not cost the connection"


def test_recipient_that_does_not_exist_fails_with_the_servers_error(online):
    row = send(online, "nobody-here@localhost", body="into the void")
    failed = wait_for("the server's error on the row",
                      lambda: (lambda r: r if r["submission_failed"] else None)(tx_row(online, row)))
    assert "service-unavailable" in failed["submission_info"], failed["submission_info"]


def test_reply_lands_in_rx_queue_and_notifies(online, alice):
    listener = connect()
    query(listener, "LISTEN jabclnd_rx")
    before = scalar(online, "SELECT coalesce(max(id), 0) FROM xmpp_rx_queue")
    alice.send_message(BOT, "reply body", subject="re: alert")
    rows = wait_for("the reply in xmpp_rx_queue", lambda: query(online, """
        SELECT id, message_from, message_type, message_subject, message_body, message_stanza,
               message_id
          FROM xmpp_rx_queue WHERE id > %s""", (before,)))
    rx_id, sender, mtype, subject, body, stanza, stanza_id = rows[0]
    assert sender.startswith(ALICE + "/")
    assert (mtype, subject, body) == ("chat", "re: alert", "reply body")
    assert stanza.startswith("<message") and "reply body" in stanza
    assert stanza_id

    def notified():
        if select.select([listener], [], [], 0.2)[0]:
            listener.poll()
        return [n.payload for n in listener.notifies if n.channel == "jabclnd_rx"]
    payloads = wait_for("NOTIFY jabclnd_rx", notified, timeout=10)
    assert str(rx_id) in ",".join(payloads).split(",")
    listener.close()


def test_message_without_type_is_stored_as_normal(online, alice):
    alice.send_raw("<message to='bot@localhost' id='untyped-1'><body>untyped</body></message>")
    row = wait_for("the untyped message", lambda: query(
        online, "SELECT message_type FROM xmpp_rx_queue WHERE message_id = 'untyped-1'"))
    assert row[0][0] == "normal"


def test_message_without_body_or_subject_is_not_stored(online, alice):
    alice.send_raw("<message to='bot@localhost' id='state-only'>"
                   "<active xmlns='http://jabber.org/protocol/chatstates'/></message>")
    alice.send_raw("<message to='bot@localhost' id='after-state'><body>marker</body></message>")
    wait_for("the marker message", lambda: query(
        online, "SELECT 1 FROM xmpp_rx_queue WHERE message_id = 'after-state'"))
    assert not query(online, "SELECT 1 FROM xmpp_rx_queue WHERE message_id = 'state-only'")


def test_commit_wakes_the_worker_and_rollback_sends_nothing(online, alice):
    writer = connect()
    writer.autocommit = False
    with writer.cursor() as cur:
        cur.execute("INSERT INTO xmpp_tx_queue (message_to, message_body) "
                    "VALUES ('alice@localhost', 'rolled back')")
    writer.rollback()
    with writer.cursor() as cur:
        cur.execute("INSERT INTO xmpp_tx_queue (message_to, message_body) "
                    "VALUES ('alice@localhost', 'committed') RETURNING id")
        row = cur.fetchone()[0]
        # Not visible to the worker yet: nothing may arrive before commit.
        time.sleep(1.0)
        assert not [m for m in alice.messages if m["body"] == "committed"]
    writer.commit()
    started = time.monotonic()
    alice.wait_message(lambda m: m["body"] == "committed", timeout=5)
    # Woken by the commit, not by the 10 s safety poll.
    assert time.monotonic() - started < 5
    assert not [m for m in alice.messages if m["body"] == "rolled back"]
    assert wait_row_done(online, row)["submission_failed"] is False
    writer.close()


def test_multi_row_insert_and_copy_are_all_delivered(online, alice):
    query(online, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                  "SELECT 'alice@localhost', 'bulk ' || g FROM generate_series(1, 250) g")
    with online.cursor() as cur:
        import io
        cur.copy_expert("COPY xmpp_tx_queue (message_to, message_body) FROM STDIN",
                        io.StringIO("".join(f"alice@localhost\tcopied {i}\n" for i in range(30))))
    wanted = {f"bulk {i}" for i in range(1, 251)} | {f"copied {i}" for i in range(30)}
    wait_for("all bulk and copied messages",
             lambda: wanted <= {m["body"] for m in alice.messages}, timeout=30)
    assert scalar(online, """SELECT count(*) FROM xmpp_tx_queue
                             WHERE message_body ~ '^(bulk|copied) '
                               AND submission_timestamp IS NULL""") == 0


def test_status_counts_and_names_the_account(online):
    s = status(online)
    assert s["state"] == "online"
    assert s["jid"] == BOT
    assert s["messages_sent"] > 0
    assert s["messages_failed"] > 0
    assert s["worker_pid"] > 0
    assert scalar(online, "SELECT count(*) FROM pg_stat_activity "
                          "WHERE backend_type = 'jabclnd worker' "
                          "AND application_name = 'jabclnd worker'") == 1


def test_iq_requests_are_answered(online, alice):
    """RFC 6120 8.2.3: ping, disco#info, and service-unavailable for anything else."""
    send(online, ALICE, body="who are you")
    bot_full_jid = alice.wait_message(lambda m: m["body"] == "who are you")["from"]

    info = alice.iq(bot_full_jid, "<query xmlns='http://jabber.org/protocol/disco#info'/>")
    assert "type=\"result\"" in info, info
    assert "category=\"client\"" in info and "type=\"bot\"" in info, info
    assert "urn:xmpp:ping" in info, info

    pong = alice.iq(bot_full_jid, "<ping xmlns='urn:xmpp:ping'/>")
    assert "type=\"result\"" in pong, pong

    other = alice.iq(bot_full_jid, "<query xmlns='jabber:iq:version'/>")
    assert "type=\"error\"" in other and "service-unavailable" in other, other
    assert status(online)["state"] == "online"
