"""End-to-end: group chat rooms (XEP-0045) listed in xmpp_rooms.

An occupant (alice, a real slixmpp client, test/lib/peer.py) creates each
room first, as an instant room; the worker then joins it because a row of
xmpp_rooms says so. The MUC service is conference.localhost on both test
servers. Each test uses a room of its own, so that none depends on another.
"""
import uuid

import pytest

from worker_helpers import (online_connection, query, scalar, send, wait_for, wait_row_done)

ALICE = "alice@localhost"
ALICE_PASSWORD = "alicepass"
SERVICE = "conference.localhost"
BOT_NICK = "bot"


@pytest.fixture(scope="module")
def online():
    """The extension installed, bot@localhost enabled and logged in."""
    conn = online_connection()
    yield conn
    query(conn, "DELETE FROM xmpp_rooms")
    conn.close()


@pytest.fixture
def alice(peer_factory):
    return peer_factory(ALICE, ALICE_PASSWORD)


@pytest.fixture
def room(alice):
    """A new room, created by alice (who stays in it as 'alice')."""
    jid = f"room-{uuid.uuid4().hex[:10]}@{SERVICE}"
    alice.join_room(jid, "alice")
    return jid


def rooms_line(conn, room_jid):
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM jabclnd_rooms() WHERE room_jid = %s", (room_jid,))
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row)) if row else None


def wait_room_state(conn, room_jid, state, timeout=30):
    def probe():
        line = rooms_line(conn, room_jid)
        return line if line and line["state"] == state else None

    try:
        return wait_for(f"room {room_jid} in state {state}", probe, timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}; jabclnd_rooms() now: {rooms_line(conn, room_jid)!r}") from None


def add_room(conn, room_jid, nick=BOT_NICK):
    query(conn, "INSERT INTO xmpp_rooms (room_jid, nick) VALUES (%s, %s)", (room_jid, nick))


def occupant_available(peer, occupant):
    return peer.wait_presence(lambda p: p["from"] == occupant and p["type"] != "unavailable",
                              timeout=30)


def join_bot(conn, alice, room_jid, nick=BOT_NICK):
    add_room(conn, room_jid, nick)
    line = wait_room_state(conn, room_jid, "joined")
    try:
        occupant_available(alice, f"{room_jid}/{line['nick']}")
    except AssertionError as e:
        raise AssertionError(f"{e}; jabclnd_rooms(): {rooms_line(conn, room_jid)!r}") from None
    return line


def test_the_bot_joins_a_room_listed_in_xmpp_rooms(online, alice, room):
    line = join_bot(online, alice, room)
    assert line["nick"] == BOT_NICK
    assert line["last_error"] is None
    assert line["since"] is not None
    # jabclnd_rooms() is for the operator: PUBLIC may not run it.
    assert scalar(online, """SELECT coalesce(bool_or(a.grantee = 0), false)
                               FROM pg_proc p, aclexplode(p.proacl) a
                              WHERE p.proname = 'jabclnd_rooms'""") is False


def test_a_groupchat_row_is_marked_sent_only_after_the_rooms_echo(online, alice, room):
    join_bot(online, alice, room)
    row = send(online, room, body="hello room", mtype="groupchat")
    msg = alice.wait_groupchat(lambda m: m["body"] == "hello room", timeout=20)
    assert msg["from"] == f"{room}/{BOT_NICK}"
    done = wait_row_done(online, row)
    assert done["submission_failed"] is False, done["submission_info"]
    assert done["submission_timestamp"] is not None
    assert done["submission_attempts"] == 1
    # The bot's own echo is not a received message.
    assert scalar(online, "SELECT count(*) FROM xmpp_rx_queue WHERE message_from = %s",
                  (f"{room}/{BOT_NICK}",)) == 0


def test_an_occupants_message_becomes_a_row(online, alice, room):
    join_bot(online, alice, room)
    alice.send_groupchat(room, "from alice to the room")
    echo = alice.wait_groupchat(lambda m: m["body"] == "from alice to the room")

    def stored():
        return query(online, """SELECT message_type, message_from, message_body, stanza_id
                                  FROM xmpp_rx_queue WHERE message_body = %s""",
                     ("from alice to the room",))

    rows = wait_for("alice's message in xmpp_rx_queue", stored)
    assert len(rows) == 1
    mtype, mfrom, body, stanza_id = rows[0]
    assert mtype == "groupchat"
    assert mfrom == f"{room}/alice"
    # The room's stanza-id (XEP-0359), when the server gives one: the same alice saw.
    assert stanza_id == echo["stanza_id"]


def test_a_row_for_a_room_not_in_xmpp_rooms_fails_with_what_to_do(online):
    stranger = f"nowhere-{uuid.uuid4().hex[:10]}@{SERVICE}"
    row = send(online, stranger, body="nobody listens", mtype="groupchat")
    done = wait_row_done(online, row)
    assert done["submission_failed"] is True
    assert "xmpp_rooms" in done["submission_info"], done["submission_info"]


def test_disabling_the_row_makes_the_bot_leave(online, alice, room):
    join_bot(online, alice, room)
    query(online, "UPDATE xmpp_rooms SET enabled = false WHERE room_jid = %s", (room,))
    alice.wait_presence(lambda p: p["from"] == f"{room}/{BOT_NICK}" and
                        p["type"] == "unavailable", timeout=30)
    wait_room_state(online, room, "disabled")
    # A row for a disabled room fails, and says how to enable it.
    row = send(online, room, body="to a disabled room", mtype="groupchat")
    done = wait_row_done(online, row)
    assert done["submission_failed"] is True
    assert "enable" in done["submission_info"], done["submission_info"]


def test_a_nick_in_use_makes_the_bot_join_as_nick_2(online, peer_factory):
    bob = peer_factory("bob@localhost", "bobpass")
    jid = f"room-{uuid.uuid4().hex[:10]}@{SERVICE}"
    bob.join_room(jid, BOT_NICK)  # bob takes the bot's nick
    line = join_bot(online, bob, jid)
    assert line["nick"] == f"{BOT_NICK}_2"
    assert line["last_error"], line
