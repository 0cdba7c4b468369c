"""End-to-end: openfire_users.available follows the users' presence, exactly.

Users are alice (two resources), bob and carol on the bot's domain
(localhost), and outsider@other.localhost. Their peers accept subscription
requests, as a user who trusts the bot would.
"""
import time

import pytest

from worker_helpers import connect, query, scalar, use_account, wait_for, wait_state

BOT = "bot@localhost"


def available(conn, login):
    return scalar(conn, "SELECT available FROM openfire_users WHERE login = %s", (login,))


def stamp(conn, login):
    return scalar(conn, "SELECT available_timestamp FROM openfire_users WHERE login = %s",
                  (login,))


def wait_available(conn, login, expected, timeout=15):
    return wait_for(f"openfire_users.available of {login} to be {expected}",
                    lambda: available(conn, login) is expected, timeout=timeout)


def add_user(conn, login, enabled=True):
    query(conn, "INSERT INTO openfire_users (login, pass, enabled) VALUES (%s, md5('x'), %s)",
          (login, enabled))


@pytest.fixture
def bot():
    conn = connect()
    query(conn, "CREATE EXTENSION IF NOT EXISTS jabclnd")
    query(conn, "DELETE FROM openfire_users")
    use_account(conn)
    wait_state(conn, "online", timeout=30)
    yield conn
    query(conn, "DELETE FROM openfire_users")
    query(conn, "ALTER SYSTEM RESET jabclnd.subscriptions")
    query(conn, "ALTER SYSTEM RESET jabclnd.away_is_available")
    query(conn, "SELECT pg_reload_conf()")
    use_account(conn)
    conn.close()


def relogin(conn):
    """Disables and re-enables the account: a fresh login of the bot."""
    query(conn, "UPDATE xmpp_accounts SET enabled = false")
    wait_state(conn, "no_account", timeout=10)
    use_account(conn)
    wait_state(conn, "online", timeout=30)


def test_a_new_user_is_subscribed_and_mirrored_with_two_resources(bot, peer_factory):
    phone = peer_factory("alice@localhost/phone", "alicepass")
    add_user(bot, "alice")
    # The bot asks alice for her presence (she never added it) ...
    wait_for("the bot's subscription request", lambda: BOT in phone.subscription_requests
             or phone.roster_subscription(BOT) in ("from", "both"), timeout=15)
    # ... and, accepted, mirrors it.
    wait_available(bot, "alice", True)
    first = stamp(bot, "alice")
    laptop = peer_factory("alice@localhost/laptop", "alicepass")
    time.sleep(1)
    assert available(bot, "alice") is True
    assert stamp(bot, "alice") == first, "a second resource must not touch the timestamp"

    phone.send_presence_unavailable()
    time.sleep(1.5)
    assert available(bot, "alice") is True, "one resource left: alice is still available"
    assert stamp(bot, "alice") == first
    laptop.send_presence_unavailable()
    wait_available(bot, "alice", False)
    assert stamp(bot, "alice") > first


def test_away_counts_as_available_unless_configured(bot, peer_factory):
    add_user(bot, "alice")
    alice = peer_factory("alice@localhost/desk", "alicepass")
    wait_available(bot, "alice", True)
    for show in ("away", "xa", "dnd"):
        alice.set_presence(show=show)
        time.sleep(0.5)
        assert available(bot, "alice") is True, show
    query(bot, "ALTER SYSTEM SET jabclnd.away_is_available = off")
    query(bot, "SELECT pg_reload_conf()")
    relogin(bot)
    alice.set_presence(show="away")
    wait_available(bot, "alice", False)
    alice.set_presence(show="chat")
    wait_available(bot, "alice", True)


def test_logins_compare_case_insensitively(bot, peer_factory):
    add_user(bot, "Bob")
    peer_factory("bob@localhost/x", "bobpass")
    wait_available(bot, "Bob", True)


def test_user_online_before_the_bot_is_seen_at_login(bot, peer_factory):
    add_user(bot, "carol")
    carol = peer_factory("carol@localhost/early", "carolpass")
    wait_available(bot, "carol", True)
    relogin(bot)
    wait_available(bot, "carol", True)
    assert carol.roster_subscription(BOT) in ("from", "both")


def test_the_bots_disconnect_resets_every_flag(bot, peer_factory):
    add_user(bot, "alice")
    add_user(bot, "bob")
    peer_factory("alice@localhost/a", "alicepass")
    peer_factory("bob@localhost/b", "bobpass")
    wait_available(bot, "alice", True)
    wait_available(bot, "bob", True)
    query(bot, "UPDATE xmpp_accounts SET enabled = false")
    wait_available(bot, "alice", False, timeout=10)
    assert available(bot, "bob") is False
    use_account(bot)
    wait_available(bot, "alice", True, timeout=30)


def test_disabling_a_user_resets_the_flag_and_unsubscribes(bot, peer_factory):
    add_user(bot, "dave")
    dave = peer_factory("dave@localhost/d", "davepass")
    wait_available(bot, "dave", True)
    query(bot, "UPDATE openfire_users SET enabled = false WHERE login = 'dave'")
    wait_available(bot, "dave", False)
    wait_for("the bot to remove dave's subscription",
             lambda: dave.roster_subscription(BOT) in (None, "none", "remove"), timeout=15)


def test_outsiders_and_unlisted_users_do_not_touch_the_table(bot, peer_factory):
    add_user(bot, "alice")
    alice = peer_factory("alice@localhost/a", "alicepass")
    wait_available(bot, "alice", True)
    before = query(bot, "SELECT login, available, available_timestamp FROM openfire_users")
    outsider = peer_factory("outsider@other.localhost/o", "outsiderpass")
    eve = peer_factory("eve@localhost/e", "evepass")
    outsider.subscribe(BOT)
    eve.subscribe(BOT)
    # Refused under the default policy: each gets 'unsubscribed'.
    for peer in (outsider, eve):
        wait_for(f"{peer.jid} to be refused", lambda: any(
            f.startswith(BOT) and t == "unsubscribed" for f, t in peer.presences), timeout=15)
    time.sleep(0.5)
    assert query(bot, "SELECT login, available, available_timestamp FROM openfire_users") == before
    assert alice  # still online, untouched


def test_policy_all_accepts_anyone(bot, peer_factory):
    query(bot, "ALTER SYSTEM SET jabclnd.subscriptions = 'all'")
    query(bot, "SELECT pg_reload_conf()")
    time.sleep(0.5)
    eve = peer_factory("eve@localhost/e2", "evepass")
    eve.subscribe(BOT)
    wait_for("eve to be accepted", lambda: any(
        f.startswith(BOT) and t == "subscribed" for f, t in eve.presences), timeout=15)


def resources(conn):
    return query(conn, "SELECT jid, resource, show, status, priority FROM xmpp_presence "
                       "ORDER BY jid, resource")


def test_xmpp_presence_shows_each_resource_with_show_status_and_priority(bot, peer_factory):
    """The full picture: one row per available resource of a contact, as it said it; gone when
    the resource leaves; the table emptied when the bot's connection ends."""
    add_user(bot, "alice")
    phone = peer_factory("alice@localhost/phone", "alicepass")
    wait_available(bot, "alice", True)
    phone.set_presence(show="away", status="on the road", priority=-1)
    laptop = peer_factory("alice@localhost/laptop", "alicepass")
    laptop.set_presence(show="dnd", status="in a meeting", priority=5)
    expected = [("alice@localhost", "laptop", "dnd", "in a meeting", 5),
                ("alice@localhost", "phone", "away", "on the road", -1)]
    wait_for("both resources in xmpp_presence", lambda: resources(bot) == expected, timeout=15)
    before = scalar(bot, "SELECT since FROM xmpp_presence WHERE resource = 'laptop'")

    laptop.set_presence()  # plainly available: no show, no status
    wait_for("the laptop's new presence", lambda: resources(bot)[0] == (
        "alice@localhost", "laptop", None, None, 0), timeout=15)
    assert scalar(bot, "SELECT since FROM xmpp_presence WHERE resource = 'laptop'") > before

    phone.send_presence_unavailable()
    wait_for("the phone's row to go", lambda: [r[1] for r in resources(bot)] == ["laptop"],
             timeout=15)

    query(bot, "UPDATE xmpp_accounts SET enabled = false")
    wait_state(bot, "no_account", timeout=10)
    # Offline, the bot knows no one's presence.
    wait_for("xmpp_presence to be emptied", lambda: resources(bot) == [], timeout=10)
    use_account(bot)
    wait_state(bot, "online", timeout=30)
    wait_for("the laptop seen again at the bot's login", lambda: [
        r[1] for r in resources(bot)] == ["laptop"], timeout=15)


def test_xmpp_presence_ignores_strangers_and_users_it_does_not_follow(bot, peer_factory):
    """Directed presence from someone not in the roster writes nothing."""
    outsider = peer_factory("outsider@other.localhost", "outsiderpass")
    outsider.send_raw("<presence to='bot@localhost'><status>let me in</status></presence>")
    carol = peer_factory("carol@localhost", "carolpass")  # not an openfire user
    carol.send_raw("<presence to='bot@localhost'/>")
    time.sleep(1.5)
    assert resources(bot) == []
