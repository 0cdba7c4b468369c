"""End-to-end: staying in a group chat room (XEP-0045) through refusals, kicks and restarts.

The room's owner is alice, a real slixmpp occupant (test/lib/peer.py) who creates
each room and then configures it, kicks and bans the bot as an owner does. The
rooms live on conference.localhost (Prosody's muc component, ejabberd's
mod_muc). What an operator would do is SQL on xmpp_rooms; what they would see
is jabclnd_rooms().

The module makes the rooms' timers short (jabclnd.room_ping_interval,
jabclnd.room_rejoin_delay) so that a self-ping or a rejoin after a kick comes
within seconds; the long backoff after a refusal (10 min at least) stays as it
is, so that a retry seen within the test is one the row asked for.
"""
import time

import pytest

from test_rooms import (ALICE, BOT_NICK, add_room, alice, join_bot, occupant_available,  # noqa: F401
                        online, room, rooms_line, wait_room_state)
from test_worker_faults import assert_no_sql_while, rare_safety_poll  # noqa: F401
from worker_helpers import (BOT, connect, query, scalar, send, status, tx_row, wait_for,
                            wait_row_done, xmpp_control)

BOT_OCCUPANT_TIMEOUT = 30
# How long a room in error is watched for a retry it must not make (the long backoff is 10 min).
QUIET = 3


@pytest.fixture(scope="module", autouse=True)
def short_room_timers():
    """Self-pings after 2 s of silence, the first rejoin after a kick within 3 s."""
    conn = connect()
    query(conn, "ALTER SYSTEM SET jabclnd.room_ping_interval = '2s'")
    query(conn, "ALTER SYSTEM SET jabclnd.room_rejoin_delay = '3s'")
    query(conn, "SELECT pg_reload_conf()")
    yield
    query(conn, "ALTER SYSTEM RESET jabclnd.room_ping_interval")
    query(conn, "ALTER SYSTEM RESET jabclnd.room_rejoin_delay")
    query(conn, "SELECT pg_reload_conf()")
    conn.close()


@pytest.fixture(autouse=True)
def forget_rooms(online):
    """Each test's room leaves xmpp_rooms with it: later restarts find no old rooms to rejoin."""
    yield
    query(online, "DELETE FROM xmpp_rooms")


def bot_occupant(room_jid, nick=BOT_NICK):
    return f"{room_jid}/{nick}"


def wait_bot_gone(peer, room_jid):
    """The room's unavailable presence for the bot, as its occupant `peer` sees it."""
    return peer.wait_presence(lambda p: p["from"] == bot_occupant(room_jid) and
                              p["type"] == "unavailable", timeout=BOT_OCCUPANT_TIMEOUT)


def wait_error(conn, room_jid, words):
    """The room in state error, its last_error naming `words`; returns the line."""
    line = wait_room_state(conn, room_jid, "error")
    assert words in (line["last_error"] or ""), line
    return line


def assert_no_retry(conn, room_jid, line):
    """The room stays in error, untried, for QUIET seconds, its next try a long backoff away."""
    assert line["retry_at"] is not None, line
    assert (line["retry_at"] - line["since"]).total_seconds() >= 4 * 60, line
    time.sleep(QUIET)
    assert rooms_line(conn, room_jid) == line, "the room was tried again without a reason"


def touch_row(conn, room_jid):
    """What an operator does once the reason shown is dealt with: any UPDATE of the row."""
    query(conn, "UPDATE xmpp_rooms SET enabled = true WHERE room_jid = %s", (room_jid,))


def wait_joined_soon(conn, peer, room_jid):
    """Joined within a few seconds (a retry the row asked for, not the long backoff's)."""
    line = wait_room_state(conn, room_jid, "joined", timeout=5)
    occupant_available(peer, bot_occupant(room_jid, line["nick"]))
    return line


def assert_row_reaches_room(conn, peer, room_jid, body, timeout=20):
    """A groupchat row to the room is seen by `peer` and confirmed by the room's echo."""
    row = send(conn, room_jid, body=body, mtype="groupchat")
    msg = peer.wait_groupchat(lambda m: m["body"] == body, timeout=timeout)
    assert msg["from"] == bot_occupant(room_jid), msg
    done = wait_row_done(conn, row, timeout=timeout)
    assert done["submission_failed"] is False, done["submission_info"]
    assert done["submission_timestamp"] is not None, done
    return done


def set_password(peer, room_jid, password):
    peer.configure_room(room_jid, {"muc#roomconfig_passwordprotectedroom": True,
                                   "muc#roomconfig_roomsecret": password})


# -- passwords ---------------------------------------------------------------------------


def test_a_wrong_password_is_an_error_until_the_row_has_the_right_one(online, alice, room):
    set_password(alice, room, "right-secret")
    query(online, "INSERT INTO xmpp_rooms (room_jid, nick, password) VALUES (%s, %s, %s)",
          (room, BOT_NICK, "wrong-secret"))
    line = wait_error(online, room, "password")
    assert "xmpp_rooms.password" in line["last_error"], line
    assert_no_retry(online, room, line)

    query(online, "UPDATE xmpp_rooms SET password = 'right-secret' WHERE room_jid = %s", (room,))
    line = wait_joined_soon(online, alice, room)
    assert line["last_error"] is None, line
    assert_row_reaches_room(online, alice, room, "joined with the right password")


def test_a_password_changed_by_the_owner_is_taken_from_the_row(online, alice, room):
    set_password(alice, room, "first-secret")
    query(online, "INSERT INTO xmpp_rooms (room_jid, nick, password) VALUES (%s, %s, %s)",
          (room, BOT_NICK, "first-secret"))
    wait_room_state(online, room, "joined")
    occupant_available(alice, bot_occupant(room))

    # The owner changes the password and kicks the bot: its rejoin with the old one is refused.
    set_password(alice, room, "second-secret")
    alice.kick(room, BOT_NICK, "the password changed")
    wait_bot_gone(alice, room)
    line = wait_error(online, room, "password")
    assert_no_retry(online, room, line)

    alice.presence_events.clear()
    query(online, "UPDATE xmpp_rooms SET password = 'second-secret' WHERE room_jid = %s", (room,))
    wait_joined_soon(online, alice, room)
    assert_row_reaches_room(online, alice, room, "joined with the new password")


# -- members-only and bans ---------------------------------------------------------------


def member_at_last(conn, owner, room_jid):
    """The owner makes the bot a member, the operator touches the row: the bot joins soon and
    its rows reach the room."""
    owner.presence_events.clear()
    owner.set_affiliation(room_jid, BOT, "member")
    touch_row(conn, room_jid)
    wait_joined_soon(conn, owner, room_jid)
    assert_row_reaches_room(conn, owner, room_jid, "a member now")


def test_a_members_only_room_is_an_error_until_the_bot_is_a_member(online, alice, room):
    alice.configure_room(room, {"muc#roomconfig_membersonly": True})
    add_room(online, room)
    line = wait_error(online, room, "members-only")
    assert BOT in line["last_error"], line
    assert_no_retry(online, room, line)

    member_at_last(online, alice, room)


def test_a_banned_bot_is_an_error_until_the_ban_is_lifted(online, alice, room):
    join_bot(online, alice, room)
    alice.set_affiliation(room, BOT, "outcast", reason="spam")
    wait_bot_gone(alice, room)
    line = wait_error(online, room, "banned")
    assert BOT in line["last_error"], line
    assert_no_retry(online, room, line)
    member_at_last(online, alice, room)  # which lifts the ban


# -- kicks ---------------------------------------------------------------------------------


def test_a_kicked_bot_says_so_and_rejoins_after_a_short_delay(online, alice, room):
    join_bot(online, alice, room)
    alice.presence_events.clear()
    alice.kick(room, BOT_NICK, "cool down")
    wait_bot_gone(alice, room)
    line = wait_room_state(online, room, "joining", timeout=5)
    assert "kicked" in (line["last_error"] or ""), line
    assert "cool down" in line["last_error"], line
    assert line["retry_at"] is not None, line

    line = wait_room_state(online, room, "joined", timeout=20)
    occupant_available(alice, bot_occupant(room))
    assert line["last_error"] is None, line
    assert_row_reaches_room(online, alice, room, "back after the kick")


# -- restarts --------------------------------------------------------------------------------


def persistent_room(peer, room_jid):
    """The room outlives a restart of its service (both servers keep persistent rooms)."""
    peer.configure_room(room_jid, {"muc#roomconfig_persistentroom": True})


def test_the_bot_is_back_in_the_room_after_the_muc_service_restarts(online, alice, room,
                                                                       peer_factory):
    """The service forgets its occupants under a live c2s connection: ejabberd tells them
    (status 332), Prosody (xmpp-control restart-muc: forgotten rooms, as in a crash) tells
    nobody, and only the bot's self-ping finds out."""
    persistent_room(alice, room)
    join_bot(online, alice, room)
    restarted = restart_muc(online)
    wait_joined_again(online, room, restarted)
    owner_back_and_row_through(online, room, peer_factory)


def test_a_room_refusing_a_row_as_from_a_stranger_is_joined_again(online, alice, room,
                                                                    peer_factory):
    """The room's own errors count: with self-pings an hour apart, a restart of the MUC
    service that tells nobody (Prosody's) is noticed by the first row the room refuses
    (not-acceptable: the bot is no occupant), which fails with the room's reason; ejabberd
    tells the occupants (status 332), and the row waits for the rejoin instead."""
    persistent_room(alice, room)
    join_bot(online, alice, room)
    query(online, "ALTER SYSTEM SET jabclnd.room_ping_interval = '1h'")
    query(online, "SELECT pg_reload_conf()")
    try:
        time.sleep(4)  # the self-ping due under the old interval has gone, the next is in 1 h
        restarted = restart_muc(online)
        first = send(online, room, body="first after the restart", mtype="groupchat")
        done = wait_row_done(online, first, timeout=BOT_OCCUPANT_TIMEOUT)
        if done["submission_failed"]:
            assert "not-acceptable" in done["submission_info"], done
        wait_joined_again(online, room, restarted)
        owner_back_and_row_through(online, room, peer_factory)
    finally:
        query(online, "ALTER SYSTEM SET jabclnd.room_ping_interval = '2s'")
        query(online, "SELECT pg_reload_conf()")


def restart_muc(conn):
    """Restarts the MUC service under the live c2s connections; returns when it began."""
    restarted = scalar(conn, "SELECT clock_timestamp()")
    xmpp_control("restart-muc")
    return restarted


def wait_joined_again(conn, room_jid, restarted):
    """The bot noticed that it is no longer in the room, and joined it again."""
    def joined_again():
        line = rooms_line(conn, room_jid)
        return line if line["state"] == "joined" and line["since"] > restarted else None

    wait_for("the bot to join the room again", joined_again, timeout=BOT_OCCUPANT_TIMEOUT)


def owner_back_and_row_through(conn, room_jid, peer_factory):
    """The owner comes back (ejabberd and the restart forgot her too), sees the bot in the
    room, and a row reaches the room, confirmed by its echo."""
    owner = peer_factory(ALICE, "alicepass")
    owner.join_room(room_jid, "alice-again")
    occupant_available(owner, bot_occupant(room_jid))
    assert_row_reaches_room(conn, owner, room_jid, "after the muc restart")


def test_rows_queued_while_the_server_is_down_reach_the_room_once_it_is_joined_again(
        online, alice, room, peer_factory):
    persistent_room(alice, room)
    join_bot(online, alice, room)
    bodies = [f"queued while down {i}" for i in range(3)]
    xmpp_control("stop")
    try:
        wait_for("the worker to notice the server is gone",
                 lambda: status(online)["state"] != "online", timeout=30)
        rows = [send(online, room, body=body, mtype="groupchat") for body in bodies]
    finally:
        xmpp_control("start")
    owner = peer_factory(ALICE, "alicepass")
    owner.join_room(room, "alice-again")
    for row in rows:
        done = wait_row_done(online, row, timeout=60)
        assert done["submission_failed"] is False, done["submission_info"]
        assert done["submission_attempts"] == 1, done
    for body in bodies:
        owner.wait_groupchat(lambda m, body=body: m["body"] == body, timeout=20)
    time.sleep(1)  # a duplicate would follow its original closely
    counts = {body: owner.count_groupchat(lambda m, body=body: m["body"] == body)
              for body in bodies}
    assert all(count == 1 for count in counts.values()), counts


# -- waiting rows, leaving -------------------------------------------------------------------


def test_a_row_for_a_room_in_error_waits_unclaimed_and_idle(online, alice, room,
                                                          rare_safety_poll):  # noqa: F811
    set_password(alice, room, "the-secret")
    query(online, "INSERT INTO xmpp_rooms (room_jid, nick) VALUES (%s, %s)", (room, BOT_NICK))
    wait_error(online, room, "password")
    row = send(online, room, body="waiting for the room", mtype="groupchat")
    time.sleep(1)  # the commit's wake has come and gone
    assert_no_sql_while(rare_safety_poll, "while a row waited for a room in error",
                        lambda: time.sleep(QUIET))
    waiting = tx_row(online, row)
    assert waiting["submission_timestamp"] is None and not waiting["submission_failed"], waiting
    assert waiting["submission_attempts"] == 0, waiting

    query(online, "UPDATE xmpp_rooms SET password = 'the-secret' WHERE room_jid = %s", (room,))
    msg = alice.wait_groupchat(lambda m: m["body"] == "waiting for the room", timeout=20)
    assert msg["from"] == bot_occupant(room)
    done = wait_row_done(online, row)
    assert done["submission_failed"] is False, done["submission_info"]
    assert done["submission_attempts"] == 1, done


def test_deleting_the_row_makes_the_bot_leave_and_store_nothing_more(online, alice, room):
    join_bot(online, alice, room)
    query(online, "DELETE FROM xmpp_rooms WHERE room_jid = %s", (room,))
    wait_bot_gone(alice, room)
    wait_for("the room gone from jabclnd_rooms()", lambda: rooms_line(online, room) is None)

    alice.send_groupchat(room, "said after the delete")
    alice.wait_groupchat(lambda m: m["body"] == "said after the delete")
    # A message to the bot after it: once stored, the room's message would have been too.
    alice.send_message(BOT, "a marker after the delete")
    wait_for("alice's marker in xmpp_rx_queue", lambda: scalar(
        online, "SELECT count(*) FROM xmpp_rx_queue WHERE message_body = %s",
        ("a marker after the delete",)))
    assert scalar(online, "SELECT count(*) FROM xmpp_rx_queue WHERE message_from LIKE %s",
                  (room + "/%",)) == 0
