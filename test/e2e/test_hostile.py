"""End-to-end: strangers on XMPP and rogue signals do not change what the worker records.

The attacker is a real, independent XMPP client (mallory is eve@localhost, any
user of the server) who knows the bot's full JID (its resource is fixed and
documented) and that row ids are sequential. Every case here was reproduced
against the product before its fix (issue "Trust nothing that arrives").
"""
import contextlib
import os
import time

import pytest

from hold_proxy import HoldProxy
from worker_helpers import (BOT, BOT_PASSWORD, connect, query, scalar, status, tx_row,
                            use_account, wait_for, wait_row_done, wait_state)

ALICE = "alice@localhost"
BOT_FULL = BOT + "/jabclnd"


@pytest.fixture
def online():
    """The extension installed, bot@localhost enabled and logged in, no openfire_users."""
    conn = connect()
    query(conn, "CREATE EXTENSION IF NOT EXISTS jabclnd")
    query(conn, "DELETE FROM openfire_users")
    use_account(conn)
    wait_state(conn, "online", timeout=30)
    yield conn
    query(conn, "DELETE FROM openfire_users")
    conn.close()


@pytest.fixture
def alice(peer_factory):
    return peer_factory(ALICE + "/phone", "alicepass")


@pytest.fixture
def mallory(peer_factory):
    return peer_factory("eve@localhost/mallory", "evepass", auto_accept=False)


def forged_error(stanza_id, text="forged by mallory"):
    return (f"<message type='error' to='{BOT_FULL}' id='{stanza_id}'>"
            "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            f"<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>{text}</text></error></message>")


def test_a_forged_error_reply_does_not_fail_a_sent_row(online, alice, mallory):
    row = scalar(online, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                         "VALUES (%s, 'to be kept') RETURNING id", (ALICE,))
    msg = alice.wait_message(lambda m: m["body"] == "to be kept")
    assert wait_row_done(online, row)["submission_timestamp"] is not None
    # The real stanza id, and the id the old worker parsed a row out of.
    for stanza_id in (msg["id"], f"jabclnd-tx-{row}-0"):
        mallory.send_raw(forged_error(stanza_id))
    # A marker after the forgeries: once it is sent, the worker has read them.
    marker = scalar(online, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                            "VALUES (%s, 'marker') RETURNING id", (ALICE,))
    alice.wait_message(lambda m: m["body"] == "marker")
    wait_row_done(online, marker)
    time.sleep(0.5)
    kept = tx_row(online, row)
    assert kept["submission_failed"] is False, kept
    assert kept["submission_info"] is None, kept
    assert kept["submission_timestamp"] is not None


def test_forged_error_replies_do_not_fail_pending_rows(online, alice, mallory):
    """Right after a large commit, mallory targets rows that are not sent yet."""
    ids = [r[0] for r in query(online, """
        INSERT INTO xmpp_tx_queue (message_to, message_body)
        SELECT %s, 'bulk ' || n FROM generate_series(1, 2000) AS n RETURNING id""", (ALICE,))]
    targets = ids[-25:]
    for row in targets:
        mallory.send_raw(forged_error(f"jabclnd-tx-{row}-0"))
    wait_for("every bulk row to be sent or failed", lambda: scalar(online, """
        SELECT count(*) = 0 FROM xmpp_tx_queue
         WHERE id = ANY(%s) AND submission_timestamp IS NULL AND NOT submission_failed""",
        (ids,)), timeout=60)
    failed = query(online, "SELECT id, submission_info FROM xmpp_tx_queue "
                           "WHERE id = ANY(%s) AND submission_failed", (ids,))
    assert failed == [], f"{len(failed)} rows failed by forged errors, e.g. {failed[:3]}"
    wait_for("alice to receive the targeted rows",
             lambda: {f"bulk {len(ids) - 24 + i}" for i in range(25)}
             <= {m["body"] for m in alice.messages}, timeout=30)


def test_a_forged_iq_result_confirms_nothing(online, alice, mallory):
    """Barrier and ping answers count only from the server: results from a user do nothing."""
    for n in range(1, 200):
        mallory.send_raw(f"<iq type='result' to='{BOT_FULL}' id='jabclnd-ping-{n}'/>")
    row = scalar(online, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                         "VALUES (%s, 'after the forged results') RETURNING id", (ALICE,))
    alice.wait_message(lambda m: m["body"] == "after the forged results")
    done = wait_row_done(online, row)
    assert done["submission_failed"] is False and done["submission_attempts"] == 1, done
    assert status(online)["state"] == "online"


@pytest.fixture
def proxied(online):
    """bot@localhost logged in through a HoldProxy (test/lib/hold_proxy.py) to the server."""
    proxy = HoldProxy(os.environ["XMPP_HOST"], int(os.environ["XMPP_PORT"])).start()
    try:
        query(online, "UPDATE xmpp_accounts SET enabled = false")
        use_account(online, port=proxy.port)
        wait_for("the worker online through the proxy", lambda: proxy.connections() == 1 and
                 status(online)["state"] == "online", timeout=30)
        yield proxy
    finally:
        proxy.stop()
        query(online, "DELETE FROM xmpp_accounts WHERE port = %s", (proxy.port,))
        use_account(online)
        wait_state(online, "online", timeout=30)


def test_forged_barrier_answers_confirm_nothing_while_the_batch_is_in_flight(
        proxied, online, alice, mallory):
    """The bot's uplink stops carrying data: its rows and its barrier never reach the server.
    Mallory answers barriers with every id the old worker could have used: no row may be
    marked sent, and once the link is cut every row is sent again and delivered."""
    proxied.hold()
    ids = [r[0] for r in query(online, """
        INSERT INTO xmpp_tx_queue (message_to, message_body)
        SELECT %s, 'held ' || n FROM generate_series(1, 20) AS n RETURNING id""", (ALICE,))]
    wait_for("the rows claimed and sent into the held link", lambda: scalar(
        online, "SELECT bool_and(submission_attempts = 1) FROM xmpp_tx_queue WHERE id = ANY(%s)",
        (ids,)), timeout=10)
    for _ in range(3):
        for n in range(1, 300):
            mallory.send_raw(f"<iq type='result' to='{BOT_FULL}' id='jabclnd-ping-{n}'/>")
        time.sleep(0.3)
    marked = scalar(online, "SELECT count(*) FROM xmpp_tx_queue WHERE id = ANY(%s) "
                            "AND submission_timestamp IS NOT NULL", (ids,))
    assert marked == 0, f"{marked} rows marked sent that the server never received"
    assert not any(m["body"].startswith("held ") for m in alice.messages)

    proxied.cut()
    wait_for("every held row delivered once the worker logged in again",
             lambda: {f"held {n}" for n in range(1, 21)} <= {m["body"] for m in alice.messages},
             timeout=30)
    wait_for("every held row marked sent", lambda: scalar(
        online, "SELECT bool_and(submission_timestamp IS NOT NULL AND NOT submission_failed) "
                "FROM xmpp_tx_queue WHERE id = ANY(%s)", (ids,)), timeout=10)


def test_the_answer_to_a_roster_set_is_not_read_as_a_roster(online, peer_factory):
    """With two subscribed users, adding a third once looped forever (roster storm).

    A second resource of the bot's own account sees every roster push the
    server sends the bot: one change must cost a handful of them, not
    thousands.
    """
    for login in ("alice", "bob"):
        query(online, "INSERT INTO openfire_users (login, pass, enabled) VALUES (%s, md5('x'), true)",
              (login,))
    alice = peer_factory("alice@localhost/a", "alicepass")
    bob = peer_factory("bob@localhost/b", "bobpass")
    for peer in (alice, bob):
        wait_for(f"{peer.jid} subscribed both ways with the bot",
                 lambda peer=peer: peer.roster_subscription(BOT) == "both", timeout=20)
    wait_for("alice and bob available", lambda: scalar(
        online, "SELECT count(*) FROM openfire_users WHERE available") == 2, timeout=20)
    observer = peer_factory(BOT + "/observer", BOT_PASSWORD, initial_presence=False)
    time.sleep(1)
    before = observer.roster_pushes
    query(online, "INSERT INTO openfire_users (login, pass, enabled) VALUES ('carol', md5('x'), true)")
    time.sleep(4)
    pushes = observer.roster_pushes - before
    assert 1 <= pushes <= 6, f"{pushes} roster pushes in 4 s after one user was added"
    assert status(online)["state"] == "online"


def test_pg_cancel_backend_cancels_no_worker(online, alice):
    """A query cancel is for the statement the worker runs: between statements it changes nothing."""
    pid = status(online)["worker_pid"]
    assert scalar(online, "SELECT pg_cancel_backend(%s)", (pid,)) is True
    time.sleep(1.5)
    after = status(online)
    assert after["worker_pid"] == pid, "the worker exited on a cancel"
    assert after["state"] == "online", after
    row = scalar(online, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                         "VALUES (%s, 'after the cancel') RETURNING id", (ALICE,))
    alice.wait_message(lambda m: m["body"] == "after the cancel", timeout=5)
    assert wait_row_done(online, row)["submission_failed"] is False


def test_a_row_committed_out_of_id_order_is_sent_at_once(online, alice):
    """A transaction that took its id early and commits after a later one is not left for the
    safety poll (jabclnd.safety_poll_interval, 10 s)."""
    early = connect()
    early.autocommit = False
    with early.cursor() as cur:
        cur.execute("INSERT INTO xmpp_tx_queue (message_to, message_body) "
                    "VALUES (%s, 'committed late') RETURNING id", (ALICE,))
        late_row = cur.fetchone()[0]
    try:
        # A backlog after it, committed first; the early row commits while the
        # backlog's batches are in flight, so the claims run above its id.
        query(online, """INSERT INTO xmpp_tx_queue (message_to, message_body)
                         SELECT %s, 'backlog ' || n FROM generate_series(1, 3000) AS n""", (ALICE,))
        alice.wait_message(lambda m: m["body"] == "backlog 50", timeout=30)
        early.commit()
        alice.wait_message(lambda m: m["body"] == "backlog 3000", timeout=60)
        backlog_done = time.monotonic()
        alice.wait_message(lambda m: m["body"] == "committed late", timeout=15)
        took = time.monotonic() - backlog_done
    finally:
        early.close()
    assert wait_row_done(online, late_row)["submission_failed"] is False
    assert took < 4, f"the late row came {took:.1f} s after the backlog: it waited for the safety poll"


def received(conn, message_id):
    return query(conn, "SELECT message_body, message_subject FROM xmpp_rx_queue "
                       "WHERE message_id = %s", (message_id,))


def client_body_text(stanza):
    """The whole text (markup inside included) of the jabber:client <body> of a stored stanza;
    None if it has none."""
    from xml.etree import ElementTree
    root = ElementTree.fromstring(stanza)
    for child in root:
        if child.tag in ("body", "{jabber:client}body"):
            return "".join(child.itertext())
    return None


def test_a_received_body_is_stored_whole_and_only_the_client_body_counts(online, alice):
    """Prosody hands the first message over as sent, markup in the body and all: the stored
    body is "aboldc". ejabberd re-encodes a message's <body> from its text alone and delivers
    <body>ac</body>; the worker must store the whole text of the body it received, whatever
    the server made of it: message_body is checked against the stored stanza."""
    alice.send_raw(f"<message to='{BOT}' type='chat' id='markup-1'>"
                   "<body>a<b xmlns='urn:example:markup'>bold</b>c</body></message>")
    alice.send_raw(f"<message to='{BOT}' type='chat' id='foreign-1'>"
                   "<body xmlns='urn:example:other'>not the body</body></message>")
    alice.send_raw(f"<message to='{BOT}' type='chat' id='foreign-2'>"
                   "<body xmlns='urn:example:other'>not the body</body>"
                   "<body>the body</body></message>")
    alice.send_message(BOT, "marker after the bodies")
    wait_for("the marker in xmpp_rx_queue", lambda: scalar(
        online, "SELECT count(*) FROM xmpp_rx_queue WHERE message_body = "
                "'marker after the bodies'"), timeout=10)
    stanza = scalar(online, "SELECT message_stanza FROM xmpp_rx_queue WHERE message_id = %s",
                    ("markup-1",))
    assert stanza is not None, "the message with markup in its body was not stored"
    delivered = client_body_text(stanza)
    assert delivered in ("aboldc", "ac"), f"the server delivered an unexpected body: {stanza}"
    if "urn:example:markup" in stanza:
        assert delivered == "aboldc", stanza
    assert received(online, "markup-1") == [(delivered, None)], stanza
    assert received(online, "foreign-1") == [], "a foreign <body/> is not a body: nothing to store"
    assert received(online, "foreign-2") == [("the body", None)]


def test_a_database_owner_cannot_redirect_the_workers_sql(online):
    """A non-superuser who owns the worker's database sets its search_path to a schema with an
    operator that makes them superuser if the worker (the bootstrap superuser) runs it."""
    database = scalar(online, "SELECT current_database()")
    owner = scalar(online, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                   (database,))
    query(online, "CREATE ROLE jabclnd_evil_owner LOGIN")
    try:
        query(online, f'ALTER DATABASE "{database}" OWNER TO jabclnd_evil_owner')
        query(online, "SET ROLE jabclnd_evil_owner")
        query(online, """
            CREATE SCHEMA evil;
            -- Whoever runs the operators leaves a trace, whatever its rights.
            CREATE TABLE evil.ran (who name, what text);
            GRANT INSERT ON evil.ran TO PUBLIC;
            CREATE FUNCTION evil.take_over(what text) RETURNS void LANGUAGE plpgsql AS $f$
            BEGIN
                INSERT INTO evil.ran VALUES (current_user, what);
                BEGIN
                    EXECUTE 'ALTER ROLE jabclnd_evil_owner SUPERUSER';
                EXCEPTION WHEN insufficient_privilege THEN NULL;
                END;
            END $f$;
            CREATE FUNCTION evil.oid_eq_int(oid, integer) RETURNS boolean LANGUAGE plpgsql AS $f$
            BEGIN
                PERFORM evil.take_over('=');
                RETURN $1::bigint = $2;
            END $f$;
            CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = integer, FUNCTION = evil.oid_eq_int);
            CREATE FUNCTION evil.numeric_times_int(numeric, integer) RETURNS numeric
                LANGUAGE plpgsql AS $f$
            BEGIN
                PERFORM evil.take_over('*');
                RETURN $1 * $2::numeric;
            END $f$;
            CREATE OPERATOR evil.* (LEFTARG = numeric, RIGHTARG = integer,
                                    FUNCTION = evil.numeric_times_int);
            GRANT USAGE ON SCHEMA evil TO PUBLIC;
            GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA evil TO PUBLIC;""")
        query(online, f'ALTER DATABASE "{database}" SET search_path = evil, public')
        query(online, "RESET ROLE")
        # The setting applies to new sessions: a new worker.
        old_pid = status(online)["worker_pid"]
        query(online, "SELECT pg_terminate_backend(%s)", (old_pid,))
        wait_for("a new worker", lambda: (status(online)["worker_pid"] or old_pid) != old_pid,
                 timeout=30)
        wait_state(online, "online", timeout=30)
        row = scalar(online, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                             "VALUES (%s, 'under a hostile search_path') RETURNING id", (ALICE,))
        wait_row_done(online, row)
        assert query(online, "SELECT who, what FROM evil.ran") == [], \
            "the worker ran the owner's operators"
        assert scalar(online, "SELECT rolsuper FROM pg_roles WHERE rolname = "
                              "'jabclnd_evil_owner'") is False
    finally:
        query(online, "RESET ROLE")
        query(online, f'ALTER DATABASE "{database}" RESET search_path')
        query(online, "DROP SCHEMA IF EXISTS evil CASCADE")
        query(online, f'ALTER DATABASE "{database}" OWNER TO "{owner}"')
        query(online, "DROP ROLE jabclnd_evil_owner")


def peak_memory_kb(pid):
    """The process's peak resident set (VmHWM), in kB."""
    with open(f"/proc/{pid}/status") as status_file:
        for line in status_file:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmHWM for pid {pid}")


def test_a_huge_row_from_an_insert_only_role_fails_without_entering_the_worker(online, alice):
    query(online, "CREATE ROLE jabclnd_insert_only")
    try:
        query(online, "GRANT USAGE ON SCHEMA public TO jabclnd_insert_only")
        query(online, "GRANT INSERT ON xmpp_tx_queue TO jabclnd_insert_only")
        pid = status(online)["worker_pid"]
        before = peak_memory_kb(pid)
        query(online, "SET ROLE jabclnd_insert_only")
        # 64 MB that compress to almost nothing: stored TOASTed, small on disk.
        query(online, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                      "VALUES (%s, repeat('x', 64 * 1024 * 1024))", (ALICE,))
        query(online, "RESET ROLE")
        row = scalar(online, "SELECT max(id) FROM xmpp_tx_queue")
        done = wait_row_done(online, row, timeout=30)
        grown = peak_memory_kb(pid) - before
        assert grown < 16 * 1024, f"the worker's peak memory grew by {grown} kB"
        assert done["submission_failed"] is True, done["submission_info"]
        assert "67108883 bytes, more than jabclnd.max_stanza_size" in done["submission_info"], \
            done["submission_info"]
        after = scalar(online, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                               "VALUES (%s, 'after the huge row') RETURNING id", (ALICE,))
        alice.wait_message(lambda m: m["body"] == "after the huge row")
        assert wait_row_done(online, after)["submission_failed"] is False
    finally:
        query(online, "RESET ROLE")
        query(online, "DROP OWNED BY jabclnd_insert_only")
        query(online, "DROP ROLE jabclnd_insert_only")


@contextlib.contextmanager
def refusing_trigger(conn, name, condition, error, tables=("xmpp_rx_queue",)):
    """A BEFORE INSERT trigger NAME on each of `tables` that raises `error` (the words after
    RAISE EXCEPTION) when `condition` holds for NEW; dropped on the way out."""
    query(conn, f"""
        CREATE FUNCTION public.{name}() RETURNS trigger LANGUAGE plpgsql AS $f$
        BEGIN
            IF {condition} THEN
                RAISE EXCEPTION {error};
            END IF;
            RETURN NEW;
        END $f$""")
    try:
        for table in tables:
            query(conn, f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
                        f"FOR EACH ROW EXECUTE FUNCTION public.{name}()")
        yield
    finally:
        for table in tables:
            query(conn, f"DROP TRIGGER IF EXISTS {name} ON {table}")
        query(conn, f"DROP FUNCTION public.{name}()")


def send_refused_then_another(conn, alice, stanza_id, body, timeout):
    """alice sends a message the trigger refuses (id `stanza_id`), then one it takes: returns
    once the second is stored, which proves the first held nothing back."""
    after = f"stored after {stanza_id}"
    alice.send_raw(f"<message to='{BOT}' type='chat' id='{stanza_id}'>"
                   f"<body>{body}</body></message>")
    alice.send_message(BOT, after)
    wait_for("the next message in xmpp_rx_queue", lambda: scalar(
        conn, "SELECT count(*) FROM xmpp_rx_queue WHERE message_body = %s", (after,)),
        timeout=timeout)


def test_a_message_that_cannot_be_stored_is_set_aside_and_holds_back_nothing(online, alice):
    before = status(online)["messages_set_aside"]
    with refusing_trigger(online, "jabclnd_test_refuse", "NEW.message_body LIKE '%refuse me%'",
                          "'this queue does not take %', NEW.message_body"):
        send_refused_then_another(online, alice, "refused-1", "please refuse me", timeout=5)
        aside = query(online, "SELECT message_from, message_id, error, message_stanza "
                              "FROM xmpp_rx_set_aside WHERE message_id = 'refused-1'")
        assert len(aside) == 1, aside
        assert aside[0][0].startswith(ALICE), aside
        assert "this queue does not take please refuse me" in aside[0][2], aside
        assert "P0001" in aside[0][2], aside
        assert "please refuse me" in aside[0][3]
        now = status(online)
        assert now["messages_set_aside"] == before + 1, now
        assert now["state"] == "online", now
        # Sending goes on too.
        row = scalar(online, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                             "VALUES (%s, 'sent while a trigger refuses') RETURNING id", (ALICE,))
        alice.wait_message(lambda m: m["body"] == "sent while a trigger refuses", timeout=5)
        assert wait_row_done(online, row)["submission_failed"] is False


def test_a_trigger_that_always_raises_an_error_that_may_pass_holds_back_nothing(online, alice):
    """A serialization failure is retried; one raised every time sets the message aside after
    a few tries instead of stopping receiving."""
    with refusing_trigger(online, "jabclnd_test_conflict",
                          "NEW.message_body = 'always conflicting'",
                          "'a conflict every time' USING ERRCODE = 'serialization_failure'"):
        send_refused_then_another(online, alice, "conflicting-1", "always conflicting",
                                  timeout=40)
        aside = query(online, "SELECT error FROM xmpp_rx_set_aside "
                              "WHERE message_id = 'conflicting-1'")
        assert len(aside) == 1 and "40001" in aside[0][0], aside
        assert status(online)["state"] == "online"


def test_a_message_both_tables_refuse_is_logged_whole_and_holds_back_nothing(online, alice):
    log_offset = os.path.getsize(os.environ["PG_LOG"])
    before = status(online)["messages_set_aside"]
    with refusing_trigger(online, "jabclnd_test_refuse_all",
                          "NEW.message_stanza LIKE '%refused twice%'",
                          "'% refuses it', TG_TABLE_NAME",
                          tables=("xmpp_rx_queue", "xmpp_rx_set_aside")):
        send_refused_then_another(online, alice, "refused-twice", "refused twice, kept in the log",
                                  timeout=5)
        with open(os.environ["PG_LOG"], errors="replace") as log:
            log.seek(log_offset)
            text = log.read()
        assert "could be stored neither in xmpp_rx_queue nor in xmpp_rx_set_aside" in text
        assert "xmpp_rx_set_aside refuses it" in text and "xmpp_rx_queue refuses it" in text
        assert "refused twice, kept in the log" in text, "the stanza itself is in the log"
        assert status(online)["messages_set_aside"] == before + 1


def test_messages_from_strangers_are_counted_not_stored_when_so_configured(online, alice, mallory):
    query(online, "INSERT INTO openfire_users (login, pass, enabled) VALUES ('alice', md5('x'), true)")
    query(online, "ALTER SYSTEM SET jabclnd.receive_from = 'openfire_users'")
    query(online, "SELECT pg_reload_conf()")
    try:
        time.sleep(1)
        before = status(online)["messages_ignored"]
        mallory.send_raw(f"<message to='{BOT}' type='chat' id='stranger-1'>"
                         "<body>spam from a stranger</body></message>")
        alice.send_raw(f"<message to='{BOT}' type='chat' id='user-1'>"
                       "<body>from an enabled user</body></message>")
        wait_for("alice's message stored", lambda: received(online, "user-1"), timeout=10)
        wait_for("the stranger's message counted", lambda: status(online)["messages_ignored"]
                 == before + 1, timeout=5)
        assert received(online, "stranger-1") == []
    finally:
        query(online, "ALTER SYSTEM RESET jabclnd.receive_from")
        query(online, "SELECT pg_reload_conf()")
    # Back to the default: anyone is heard again.
    time.sleep(1)
    mallory.send_raw(f"<message to='{BOT}' type='chat' id='stranger-2'>"
                     "<body>heard again</body></message>")
    wait_for("the stranger's message stored under the default", lambda: received(
        online, "stranger-2"), timeout=10)


def test_a_filtering_trigger_and_a_deferred_constraint_hold_back_nothing(online, alice):
    """A BEFORE trigger that returns NULL takes a message without a row; a deferred constraint
    trigger that refuses one fires with that message, not at commit for all of them."""
    query(online, """
        CREATE FUNCTION jabclnd_test_filter() RETURNS trigger LANGUAGE plpgsql AS $f$
        BEGIN
            IF NEW.message_body = 'filter me' THEN RETURN NULL; END IF;
            RETURN NEW;
        END $f$;
        CREATE TRIGGER jabclnd_test_filter BEFORE INSERT ON xmpp_rx_queue
            FOR EACH ROW EXECUTE FUNCTION jabclnd_test_filter();
        CREATE FUNCTION jabclnd_test_deferred() RETURNS trigger LANGUAGE plpgsql AS $f$
        BEGIN
            IF NEW.message_body = 'refuse me later' THEN
                RAISE EXCEPTION 'deferred refusal';
            END IF;
            RETURN NULL;
        END $f$;
        CREATE CONSTRAINT TRIGGER jabclnd_test_deferred AFTER INSERT ON xmpp_rx_queue
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION jabclnd_test_deferred();""")
    try:
        alice.send_raw(f"<message to='{BOT}' type='chat' id='filtered-1'><body>filter me</body>"
                       "</message>")
        alice.send_raw(f"<message to='{BOT}' type='chat' id='deferred-1'>"
                       "<body>refuse me later</body></message>")
        alice.send_message(BOT, "after the filter and the deferred refusal")
        wait_for("the next message in xmpp_rx_queue", lambda: scalar(
            online, "SELECT count(*) FROM xmpp_rx_queue WHERE message_body = "
                    "'after the filter and the deferred refusal'"), timeout=5)
        assert received(online, "filtered-1") == []
        assert scalar(online, "SELECT count(*) FROM xmpp_rx_set_aside "
                              "WHERE message_id = 'filtered-1'") == 0
        aside = query(online, "SELECT error FROM xmpp_rx_set_aside WHERE message_id = 'deferred-1'")
        assert len(aside) == 1 and "deferred refusal" in aside[0][0], aside
        assert status(online)["state"] == "online"
    finally:
        query(online, "DROP TRIGGER jabclnd_test_filter ON xmpp_rx_queue")
        query(online, "DROP TRIGGER jabclnd_test_deferred ON xmpp_rx_queue")
        query(online, "DROP FUNCTION jabclnd_test_filter(), jabclnd_test_deferred()")


def test_the_worker_runs_as_its_own_role_with_only_the_grants_it_needs(online):
    """The harness runs the worker as jabclnd_worker (jabclnd.role), as README's install steps
    do: not a superuser, and granted by CREATE EXTENSION exactly what its SQL needs."""
    pid = status(online)["worker_pid"]
    assert scalar(online, "SELECT usename FROM pg_stat_activity WHERE pid = %s", (pid,)) \
        == "jabclnd_worker"
    assert scalar(online, "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls "
                          "FROM pg_roles WHERE rolname = 'jabclnd_worker'") is False
    grants = query(online, """
        SELECT table_name, privilege_type FROM information_schema.role_table_grants
         WHERE grantee = 'jabclnd_worker' ORDER BY 1, 2""")
    assert grants == [("xmpp_accounts", "SELECT"), ("xmpp_presence", "DELETE"),
                      ("xmpp_presence", "INSERT"), ("xmpp_presence", "SELECT"),
                      ("xmpp_presence", "UPDATE"), ("xmpp_rooms", "SELECT"),
                      ("xmpp_rx_queue", "DELETE"), ("xmpp_rx_queue", "INSERT"),
                      ("xmpp_rx_set_aside", "INSERT"), ("xmpp_tx_queue", "DELETE"),
                      ("xmpp_tx_queue", "SELECT")], grants  # DELETE: retention (1.2)
    columns = query(online, """
        SELECT table_name, privilege_type, string_agg(column_name, ',' ORDER BY column_name)
          FROM information_schema.column_privileges
         WHERE grantee = 'jabclnd_worker'
           AND table_name IN ('xmpp_tx_queue', 'openfire_users', 'xmpp_rx_queue', 'xmpp_rooms')
           AND (table_name, privilege_type) NOT IN (('xmpp_tx_queue', 'SELECT'),
                                                    ('xmpp_rooms', 'SELECT'))
         GROUP BY 1, 2 ORDER BY 1, 2""")
    assert columns == [
        ("openfire_users", "SELECT", "available,enabled,login"),
        ("openfire_users", "UPDATE", "available,available_timestamp"),
        ("xmpp_rooms", "INSERT", "enabled,password,room_jid"),
        ("xmpp_rx_queue", "INSERT", "id,insert_timestamp,message_body,message_from,message_id,"
                                    "message_stanza,message_subject,message_type,stanza_id"),
        # The rooms' last messages and subjects, and the stanza-ids already stored.
        ("xmpp_rx_queue", "SELECT", "id,insert_timestamp,message_body,message_from,"
                                    "message_subject,message_type,stanza_id"),
        # The outcome of each row, and (1.2) when a row that got a temporary error is due.
        ("xmpp_tx_queue", "UPDATE", "next_attempt_at,submission_attempts,submission_failed,"
                                    "submission_info,submission_retries,submission_timestamp"),
    ], columns
