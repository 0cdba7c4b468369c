"""End-to-end: what a room said while the bot was away, its subject, invitations to rooms,
and private messages between the bot and occupants.

alice (a slixmpp occupant, test/lib/peer.py) creates each room and stays in it, so that the
room and its history outlive the bot's absences (Prosody's rooms are not persistent). The
bot is away in three ways: its account disabled, its worker process ended (the postmaster
starts a new one), and its TCP connection cut (through a HoldProxy, test/lib/hold_proxy.py:
the server may keep the session for a stream-management resumption, and deliver what it
held on top of the history of the rejoin). Both servers are covered by the suite's two
passes: Prosody sends history with its own delay stamps and no stanza-ids, ejabberd with
its own stamps.
"""
import os
import time
import uuid

import pytest

from hold_proxy import HoldProxy
# The fixtures online (bot@localhost logged in), alice and room (a room alice created and
# stays in) are test_rooms.py's.
from test_rooms import alice, join_bot, online, room, rooms_line, wait_room_state  # noqa: F401
from worker_helpers import BOT, query, scalar, send, status, use_account, wait_for, wait_row_done
from worker_helpers import wait_state

ALICE = "alice@localhost"
SERVICE = "conference.localhost"
BOT_NICK = "bot"


def new_room_jid(prefix="room"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}@{SERVICE}"


def stored(conn, room_jid, mtype="groupchat"):
    """(message_from, message_subject, message_body) of the rows from room_jid, in order."""
    return query(conn, """SELECT message_from, message_subject, message_body FROM xmpp_rx_queue
                           WHERE split_part(message_from, '/', 1) = %s AND message_type = %s
                           ORDER BY id""", (room_jid, mtype))


def bodies(conn, room_jid):
    return [body for _, _, body in stored(conn, room_jid) if body is not None]


def say(alice, conn, room_jid, body):
    """alice says body in the room; returns once the room sent it back to her."""
    alice.send_groupchat(room_jid, body)
    alice.wait_groupchat(lambda m: m["body"] == body, timeout=20)


def say_and_wait_stored(alice, conn, room_jid, body):
    say(alice, conn, room_jid, body)
    try:
        wait_for(f"{body!r} in xmpp_rx_queue", lambda: body in bodies(conn, room_jid), timeout=30)
    except AssertionError as e:
        raise AssertionError(f"{e}; jabclnd_rooms(): {rooms_line(conn, room_jid)!r}; "
                             f"the room's presence at alice: {alice.presences[-6:]!r}") from None


def bot_away(alice, conn, room_jid, saw_it_leave=True):
    """Waits until the worker no longer counts itself in the room (jabclnd_rooms() is not
    'joined': a worker logging out still is, until its connection has closed; a new worker
    without an account has no line) and, if
    saw_it_leave, until the room told alice that the bot left (its unavailable presence)."""
    wait_for("the bot out of the room in jabclnd_rooms()",
             lambda: (rooms_line(conn, room_jid) or {}).get("state") != "joined", timeout=60)
    if saw_it_leave:
        occupant = f"{room_jid}/{BOT_NICK}"
        alice.wait_presence(lambda p: p["from"] == occupant and p["type"] == "unavailable",
                            timeout=60)


def away_and_back(conn, alice, room_jid, away, said_meanwhile):
    """The bot goes away, alice says said_meanwhile in the room, the bot comes back."""
    away.leave()
    bot_away(alice, conn, room_jid, saw_it_leave=not isinstance(away, ConnectionCut))
    for body in said_meanwhile:
        say(alice, conn, room_jid, body)
    away.come_back()
    wait_room_state(conn, room_jid, "joined", timeout=90)


# -- the ways of being away ----------------------------------------------------------------

class AccountDisabled:
    """UPDATE xmpp_accounts SET enabled = false, then true again: the same worker process."""
    name = "account disabled"

    def __init__(self, conn):
        self.conn = conn

    def leave(self):
        query(self.conn, "UPDATE xmpp_accounts SET enabled = false WHERE acc_jid = %s", (BOT,))

    def come_back(self):
        use_account(self.conn)

    def close(self):
        use_account(self.conn)


class WorkerEnded:
    """The worker process ended (pg_terminate_backend) while the bot is away: what it knew in
    memory is gone, only the tables remain. It is kept away until come_back (account
    disabled), so that the room goes on without it."""
    name = "worker ended"

    def __init__(self, conn):
        self.conn = conn

    def leave(self):
        old_pid = status(self.conn)["worker_pid"]
        query(self.conn, "UPDATE xmpp_accounts SET enabled = false WHERE acc_jid = %s", (BOT,))
        query(self.conn, "SELECT pg_terminate_backend(%s)", (old_pid,))
        wait_for("a new worker", lambda: (status(self.conn)["worker_pid"] or old_pid) != old_pid,
                 timeout=30)

    def come_back(self):
        use_account(self.conn)

    def close(self):
        use_account(self.conn)


class ConnectionCut:
    """The bot's TCP connection cut under it (HoldProxy.cut); the worker reconnects by itself
    after its backoff, and may resume its stream-management session."""
    name = "connection cut"

    def __init__(self, conn):
        self.conn = conn
        self.proxy = HoldProxy(os.environ["XMPP_HOST"], int(os.environ["XMPP_PORT"])).start()
        query(conn, "UPDATE xmpp_accounts SET enabled = false")
        use_account(conn, port=self.proxy.port)
        wait_for("the worker online through the proxy", lambda: self.proxy.connections() == 1
                 and status(conn)["state"] == "online", timeout=30)

    def leave(self):
        self.proxy.hold()  # what the bot sends is lost; the server's side stays open a while
        self.proxy.cut()

    def come_back(self):
        pass  # the worker reconnects through the proxy, which forwards new connections again

    def close(self):
        self.proxy.stop()
        query(self.conn, "DELETE FROM xmpp_accounts WHERE port = %s", (self.proxy.port,))
        use_account(self.conn)


@pytest.fixture(params=[AccountDisabled, WorkerEnded, ConnectionCut],
                ids=["account-disabled", "worker-ended", "connection-cut"])
def absence(request, online):
    away = request.param(online)
    try:
        yield away
    finally:
        away.close()
        wait_state(online, "online", timeout=60)


def test_what_was_said_while_the_bot_was_away_is_stored_once(online, alice, room, absence):
    join_bot(online, alice, room)
    say_and_wait_stored(alice, online, room, "before 1")
    say_and_wait_stored(alice, online, room, "before 2")

    during = [f"during {n}" for n in range(1, 4)]
    away_and_back(online, alice, room, absence, during)
    say_and_wait_stored(alice, online, room, "after 1")

    # Nothing said is missing, nothing is there twice, and the order is the room's.
    assert bodies(online, room) == ["before 1", "before 2", *during, "after 1"], \
        f"{absence.name}: {stored(online, room)!r}"
    assert all(sender == f"{room}/alice" for sender, _, _ in stored(online, room))


def test_a_room_joined_but_silent_before_the_absence_loses_nothing(online, alice, room):
    """Nothing was stored from the room before the worker ended: its history is asked for
    since the row of xmpp_rooms was added, which a new process reads from the table."""
    join_bot(online, alice, room)
    away = WorkerEnded(online)
    try:
        away_and_back(online, alice, room, away, ["said to an empty bot seat"])
        say_and_wait_stored(alice, online, room, "after the return")
    finally:
        away.close()
    assert bodies(online, room) == ["said to an empty bot seat", "after the return"]


def test_what_was_said_before_the_row_was_added_is_not_replayed(online, alice, room):
    say(alice, online, room, "old news")
    time.sleep(1.1)  # the room's stamps have whole seconds: the row is added a second later
    join_bot(online, alice, room)
    say_and_wait_stored(alice, online, room, "new news")
    assert bodies(online, room) == ["new news"]


def test_history_max_stanzas_takes_the_last_n_of_a_room_never_stored_from(online, alice, room):
    for n in range(1, 6):
        say(alice, online, room, f"earlier {n}")
    query(online, "INSERT INTO xmpp_rooms (room_jid, nick, history_max_stanzas) "
                  "VALUES (%s, %s, 2)", (room, BOT_NICK))
    wait_room_state(online, room, "joined")
    say_and_wait_stored(alice, online, room, "later")
    assert bodies(online, room) == ["earlier 4", "earlier 5", "later"]


def test_history_max_stanzas_0_takes_no_history(online, alice, room):
    query(online, "INSERT INTO xmpp_rooms (room_jid, nick, history_max_stanzas) "
                  "VALUES (%s, %s, 0)", (room, BOT_NICK))
    wait_room_state(online, room, "joined")
    say_and_wait_stored(alice, online, room, "while there")
    away = AccountDisabled(online)
    try:
        away_and_back(online, alice, room, away, ["while away"])
        say_and_wait_stored(alice, online, room, "back again")
    finally:
        away.close()
    assert bodies(online, room) == ["while there", "back again"]


# -- the subject -------------------------------------------------------------------------

def set_subject(peer, conn, room_jid, subject):
    """peer sets the room's subject. A subject has no body, which slixmpp does not hand to
    peer.py: a message said after it, once back, shows the room has taken the subject."""
    peer.send_raw(f"<message to='{room_jid}' type='groupchat'><subject>{subject}</subject>"
                  "</message>")
    say(peer, conn, room_jid, f"after the subject {subject!r}")


def subjects(conn, room_jid):
    return [subject for _, subject, body in stored(conn, room_jid)
            if subject is not None and body is None]


def test_the_subject_is_stored_when_it_changes_not_at_every_join(online, alice, room):
    set_subject(alice, online, room, "first topic")
    join_bot(online, alice, room)
    wait_for("the subject in xmpp_rx_queue", lambda: subjects(online, room), timeout=20)

    # The room sends its subject at every join: after a rejoin by the same process, and
    # after a new process read what was stored, it is not stored again.
    for away in (AccountDisabled(online), WorkerEnded(online)):
        try:
            away_and_back(online, alice, room, away, [])
        finally:
            away.close()
    say_and_wait_stored(alice, online, room, "a message after the rejoins")
    assert subjects(online, room) == ["first topic"]

    set_subject(alice, online, room, "second topic")
    wait_for("the new subject", lambda: subjects(online, room) == ["first topic", "second topic"],
             timeout=20)
    assert stored(online, room)[-1][0] == f"{room}/alice"


# -- invitations -------------------------------------------------------------------------

@pytest.fixture
def accept_invitations(online):
    query(online, "ALTER SYSTEM SET jabclnd.room_invitations = 'accept'")
    query(online, "SELECT pg_reload_conf()")
    try:
        yield
    finally:
        query(online, "ALTER SYSTEM RESET jabclnd.room_invitations")
        query(online, "SELECT pg_reload_conf()")


@pytest.fixture
def alice_a_user(online):
    """alice an enabled user of openfire_users (the bot puts her on its roster)."""
    query(online, "INSERT INTO openfire_users (login, enabled) VALUES ('alice', true) "
                  "ON CONFLICT DO NOTHING")
    yield
    query(online, "DELETE FROM openfire_users WHERE login = 'alice'")


def direct_invitation(room_jid, to=BOT, body=None):
    text = f"<body>{body}</body>" if body else ""
    return (f"<message to='{to}'>{text}"
            f"<x xmlns='jabber:x:conference' jid='{room_jid}'/></message>")


def mediated_invitation(room_jid, to=BOT, claimed_inviter=None):
    """What an occupant sends to the room to have it invite `to` (XEP-0045 7.8.2); with
    claimed_inviter, the <invite/> names someone else as its sender."""
    sender = f" from='{claimed_inviter}'" if claimed_inviter else ""
    return (f"<message to='{room_jid}'><x xmlns='http://jabber.org/protocol/muc#user'>"
            f"<invite to='{to}'{sender}><reason>join us</reason></invite></x></message>")


def processed_after(conn, peer, marker):
    """A chat message from peer, stored: the worker has read everything peer sent before."""
    peer.send_message(BOT, marker)
    wait_for(f"{marker!r} stored", lambda: scalar(
        conn, "SELECT count(*) FROM xmpp_rx_queue WHERE message_body = %s", (marker,)),
        timeout=30)


def room_rows(conn, room_jid):
    return query(conn, "SELECT room_jid, enabled FROM xmpp_rooms WHERE lower(room_jid) = %s",
                 (room_jid.lower(),))


def log_text():
    with open(os.environ["PG_LOG"], errors="replace") as f:
        return f.read()


def test_invitations_are_ignored_by_default(online, alice, alice_a_user, room):
    alice.send_raw(direct_invitation(room))
    alice.send_raw(mediated_invitation(room))
    processed_after(online, alice, "after two invitations")
    assert room_rows(online, room) == []
    assert rooms_line(online, room) is None


def make_non_anonymous(owner, room_jid):
    """The room shows every occupant's real JID (muc#roomconfig_whois = anyone): its mediated
    invitations then name the inviter by it (a semi-anonymous one, by nick: see below)."""
    reply = owner.iq(room_jid, "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                     "<x xmlns='jabber:x:data' type='submit'>"
                     "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig"
                     "</value></field>"
                     "<field var='muc#roomconfig_whois'><value>anyone</value></field>"
                     "</x></query>", itype="set")
    assert "type=\"result\"" in reply or "type='result'" in reply, reply


@pytest.mark.parametrize("form", ["direct", "mediated"])
def test_an_invitation_from_a_user_adds_the_room_and_the_bot_joins(
        online, alice, alice_a_user, accept_invitations, room, form):
    wait_for("alice on the bot's roster", lambda: scalar(
        online, "SELECT available FROM openfire_users WHERE login = 'alice'"), timeout=30)
    if form == "mediated":
        make_non_anonymous(alice, room)
    alice.send_raw(direct_invitation(room) if form == "direct" else mediated_invitation(room))
    wait_for("the room in xmpp_rooms", lambda: room_rows(online, room), timeout=30)
    assert room_rows(online, room) == [(room, True)]
    wait_room_state(online, room, "joined")
    alice.wait_presence(lambda p: p["from"].startswith(f"{room}/") and
                        p["from"] != f"{room}/alice" and p["type"] != "unavailable", timeout=30)


def test_a_mediated_invitation_from_a_semi_anonymous_room(
        online, alice, alice_a_user, accept_invitations, room):
    """In a semi-anonymous room (the default) Prosody names the inviter by occupant JID only:
    whether that is alice or anyone else who joined cannot be told, so it is ignored.
    ejabberd names the inviter by real JID even then: the room vouches for alice."""
    wait_for("alice on the bot's roster", lambda: scalar(
        online, "SELECT available FROM openfire_users WHERE login = 'alice'"), timeout=30)
    log_start = len(log_text())
    alice.send_raw(mediated_invitation(room))
    processed_after(online, alice, "after a mediated invitation")
    if os.environ["XMPP_SERVER"] == "prosody":
        assert room_rows(online, room) == []
        assert f"the room names the inviter only as the occupant {room}/alice" in \
            log_text()[log_start:]
    else:
        assert room_rows(online, room) == [(room, True)]
        wait_room_state(online, room, "joined")


@pytest.fixture
def mallory(peer_factory):
    """A stranger: neither on the bot's roster nor in openfire_users."""
    return peer_factory("eve@localhost", "evepass")


def test_invitations_from_a_stranger_are_ignored_and_logged(
        online, alice, alice_a_user, mallory, accept_invitations):
    log_start = len(log_text())
    started = scalar(online, "SELECT clock_timestamp()")
    mallory_room = new_room_jid("mallory")
    mallory.join_room(mallory_room, "mallory")
    attempts = {
        "direct": new_room_jid("direct"),
        "direct, with a body naming alice": new_room_jid("named"),
        "mediated, forged from mallory herself": new_room_jid("forged"),
        "mediated through mallory's room": mallory_room,
        "mediated through mallory's room, claiming alice": mallory_room,
    }
    mallory.send_raw(direct_invitation(attempts["direct"]))
    mallory.send_raw(direct_invitation(attempts["direct, with a body naming alice"],
                                       body=f"{ALICE} invites you"))
    # Not through a room: mallory's own message, dressed as one a room would send.
    mallory.send_raw(f"<message to='{BOT}'><x xmlns='http://jabber.org/protocol/muc#user'>"
                     f"<invite from='{ALICE}'/></x>"
                     f"<x xmlns='jabber:x:conference' jid='{attempts['mediated, forged from mallory herself']}'/>"
                     "</message>")
    mallory.send_raw(mediated_invitation(mallory_room))
    mallory.send_raw(mediated_invitation(mallory_room, claimed_inviter=ALICE))
    processed_after(online, mallory, "after mallory's invitations")

    for what, room_jid in attempts.items():
        assert room_rows(online, room_jid) == [], what
    assert query(online, "SELECT room_jid FROM xmpp_rooms WHERE insert_timestamp >= %s",
                 (started,)) == []
    log = log_text()[log_start:]
    assert "eve@localhost" in log and "invitation" in log, log[-3000:]


# -- private messages ----------------------------------------------------------------------

def test_private_messages_between_the_bot_and_an_occupant(online, alice, room):
    join_bot(online, alice, room)
    # From the occupant: stored as chat from her occupant JID.
    alice.send_message(f"{room}/{BOT_NICK}", "psst, bot")
    wait_for("the private message stored", lambda: stored(online, room, mtype="chat"),
             timeout=20)
    assert stored(online, room, mtype="chat") == [(f"{room}/alice", None, "psst, bot")]
    assert stored(online, room) == []  # not a message of the room

    # To the occupant: a chat row to her occupant JID reaches her, from the bot's.
    row = send(online, f"{room}/alice", body="psst, alice", mtype="chat")
    msg = alice.wait_message(lambda m: m["body"] == "psst, alice", timeout=20)
    assert msg["from"] == f"{room}/{BOT_NICK}"
    assert msg["type"] == "chat"
    done = wait_row_done(online, row)
    assert done["submission_failed"] is False, done["submission_info"]
    assert done["submission_timestamp"] is not None
