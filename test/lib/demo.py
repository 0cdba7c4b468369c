"""The live demo behind test/demo: what an application sees, step by step: a message to a
user and back, then a group chat room (XEP-0045) joined, posted to and read from.

test/demo has started Prosody and a cluster (test/lib/env.sh) and exported
where they are; this script talks to both as an application and a user would.
Every wait is bounded; a timeout ends the demo with a message naming the step.
"""
import logging
import os
import subprocess
import sys
import time

# slixmpp warns at import that it uses its pure-Python stringprep: true, and noise here.
logging.getLogger("slixmpp.stringprep").setLevel(logging.ERROR)

sys.path.insert(0, os.path.dirname(__file__))
from peer import Peer  # noqa: E402

ROOM = "ops@conference.localhost"
PSQL = os.path.join(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"), "psql")


def step(title):
    print(f"\n== {title}", flush=True)


def psql(sql, expanded=False):
    print(f"jabclnd=# {sql}", flush=True)
    subprocess.run([PSQL, "-X", "-d", "jabclnd", "-v", "ON_ERROR_STOP=1",
                    *(["-x"] if expanded else []), "-c", sql], check=True)


def value(sql):
    result = subprocess.run([PSQL, "-X", "-d", "jabclnd", "-Atc", sql],
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def fail(what, timeout):
    print(f"\ndemo failed: no {what} within {timeout} s.", flush=True)
    status = value("SELECT row_to_json(s) FROM jabclnd_status() s")
    print(f"jabclnd_status(): {status or '(not available)'}", flush=True)
    print("Is the worker running? Its lines in the PostgreSQL log follow.", flush=True)
    sys.exit(1)


def wait(what, probe, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.1)
    fail(what, timeout)


port = os.environ["XMPP_PORT"]
step("1. Install the extension in the worker's database (jabclnd.database = 'jabclnd')")
psql("CREATE EXTENSION jabclnd")

step("2. Give the worker an XMPP account; it logs in as soon as the row commits")
psql("INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass, srv_host, port) "
     f"VALUES (true, 'bot@localhost', 'botpass', '127.0.0.1', {port})")
wait("login of bot@localhost (jabclnd_status().state = 'online')",
     lambda: value("SELECT state FROM jabclnd_status()") == "online")
psql("SELECT state, jid, since FROM jabclnd_status()")

step("3. alice@localhost logs in to the same Prosody (an independent client, slixmpp)")
with Peer("alice@localhost/demo", "alicepass") as alice:
    print("alice is online", flush=True)

    step("4. Send a message by inserting a row into xmpp_tx_queue")
    psql("INSERT INTO xmpp_tx_queue (message_to, message_subject, message_body) "
         "VALUES ('alice@localhost', 'demo', 'Hello from PostgreSQL')")
    try:
        msg = alice.wait_message(lambda m: m["body"] == "Hello from PostgreSQL", timeout=20)
    except AssertionError:
        fail("message at alice", 20)
    print(f"alice received a {msg['type']} message from {msg['from']}:\n"
          f"  subject: {msg['subject']!r}\n  body:    {msg['body']!r}\n  id:      {msg['id']!r}",
          flush=True)
    wait("submission_timestamp on the row", lambda: value(
        "SELECT count(*) FROM xmpp_tx_queue WHERE submission_timestamp IS NOT NULL") == "1")
    psql("SELECT id, message_to, message_subject, submission_timestamp, submission_failed "
         "FROM xmpp_tx_queue")

    step("5. alice replies to bot@localhost; the reply becomes a row of xmpp_rx_queue")
    alice.send_message("bot@localhost", "Hello from alice!", subject="re: demo")
    wait("row in xmpp_rx_queue", lambda: value("SELECT count(*) FROM xmpp_rx_queue") == "1")
    psql("SELECT id, message_from, message_type, message_subject, message_body "
         "FROM xmpp_rx_queue")

    step("6. alice opens a group chat room; a row of xmpp_rooms makes the bot join it")
    alice.join_room(ROOM, "alice")
    psql(f"INSERT INTO xmpp_rooms (room_jid, nick) VALUES ('{ROOM}', 'bot')")
    wait("the bot in the room (jabclnd_rooms().state = 'joined')", lambda: value(
        f"SELECT state FROM jabclnd_rooms() WHERE room_jid = '{ROOM}'") == "joined")
    psql("SELECT room_jid, state, nick, since FROM jabclnd_rooms()")

    step("7. A row with message_type 'groupchat' is said in the room")
    psql("INSERT INTO xmpp_tx_queue (message_to, message_type, message_body) "
         f"VALUES ('{ROOM}', 'groupchat', 'disk full on db1')")
    try:
        msg = alice.wait_groupchat(lambda m: m["body"] == "disk full on db1", timeout=20)
    except AssertionError:
        fail("groupchat message at alice", 20)
    print(f"alice sees in the room, from {msg['from']}: {msg['body']!r}", flush=True)
    wait("submission_timestamp on the groupchat row (set by the room's echo)", lambda: value(
        "SELECT count(*) FROM xmpp_tx_queue WHERE message_type = 'groupchat' "
        "AND submission_timestamp IS NOT NULL") == "1")

    step("8. alice answers in the room; what is said there becomes a row of xmpp_rx_queue")
    alice.send_groupchat(ROOM, "on it")
    wait("groupchat row in xmpp_rx_queue", lambda: value(
        "SELECT count(*) FROM xmpp_rx_queue WHERE message_type = 'groupchat'") == "1")
    psql("SELECT id, message_from, message_type, message_body FROM xmpp_rx_queue "
         "WHERE message_type = 'groupchat'")

step("9. What the worker reports: SELECT * FROM jabclnd_status()")
psql("SELECT * FROM jabclnd_status()", expanded=True)
print("\ndemo complete: a row became a message, a message became a row, in a chat and in a room.",
      flush=True)
