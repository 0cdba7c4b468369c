"""End-to-end: a row someone else holds locked does not stall the rows behind it.

The worker's claim locks no row before it updates it (each such lock was a WAL record per
row: README.md, "What sending costs the database"). It waits for a lock for a moment at most,
then claims again skipping the rows others hold (FOR UPDATE SKIP LOCKED), as it always did.
"""
import time

import pytest

from worker_helpers import (connect, online_connection, query, scalar, tx_row, wait_row_done)

ALICE = "alice@localhost"


@pytest.fixture
def online():
    conn = online_connection()
    yield conn
    conn.close()


@pytest.fixture
def alice(peer_factory):
    return peer_factory(ALICE + "/phone", "alicepass")


def insert(conn, body, due_in=None):
    if due_in is None:
        return scalar(conn, "INSERT INTO xmpp_tx_queue (message_to, message_body) "
                            "VALUES (%s, %s) RETURNING id", (ALICE, body))
    return scalar(conn, "INSERT INTO xmpp_tx_queue (message_to, message_body, next_attempt_at) "
                        "VALUES (%s, %s, now() + %s * interval '1 s') RETURNING id",
                  (ALICE, body, due_in))


def test_a_locked_row_does_not_stall_the_rows_behind_it(online, alice):
    # The row to be locked is due only in 2 s, so that the lock is taken before any claim
    # sees it (a row locked in its own inserting transaction would be unlocked at commit).
    locked = insert(online, "held by someone", due_in=2)
    locker = connect()
    try:
        query(locker, "BEGIN")
        query(locker, "SELECT id FROM xmpp_tx_queue WHERE id = %s FOR UPDATE", (locked,))
        time.sleep(2.5)
        behind = insert(online, "behind the held one")
        alice.wait_message(lambda m: m["body"] == "behind the held one", timeout=20)
        assert wait_row_done(online, behind)["submission_timestamp"] is not None
        held = tx_row(online, locked)
        assert held["submission_timestamp"] is None and held["submission_attempts"] == 0, held
        query(locker, "ROLLBACK")
    finally:
        locker.close()
    # Released: the next claim (woken by the next commit) takes it.
    insert(online, "after the release")
    alice.wait_message(lambda m: m["body"] == "held by someone", timeout=20)
    alice.wait_message(lambda m: m["body"] == "after the release", timeout=20)
    done = wait_row_done(online, locked)
    assert done["submission_timestamp"] is not None and done["submission_attempts"] == 1, done
