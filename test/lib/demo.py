"""The live demo behind test/demo: what an application sees, step by step."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from peer import Peer  # noqa: E402


def step(title):
    print(f"\n== {title}", flush=True)


def psql(sql):
    print(f"jabclnd=# {sql}", flush=True)
    subprocess.run(["psql", "-X", "-d", "jabclnd", "-c", sql], check=True)


def value(sql):
    return subprocess.run(["psql", "-X", "-d", "jabclnd", "-Atc", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def wait(what, probe, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.1)
    sys.exit(f"demo failed: no {what} within {timeout} s")


port = os.environ["XMPP_PORT"]
step("1. Install the extension in the worker's database (jabclnd.database = 'jabclnd')")
psql("CREATE EXTENSION jabclnd")

step("2. Give the worker an XMPP account; it logs in within a second of the commit")
psql("INSERT INTO xmpp_accounts (enabled, acc_jid, acc_pass, srv_host, port) "
     f"VALUES (true, 'bot@localhost', 'botpass', '127.0.0.1', {port})")
wait("login", lambda: value("SELECT state FROM jabclnd_status()") == "online")
psql("SELECT state, jid, since FROM jabclnd_status()")

with Peer("alice@localhost/demo", "alicepass") as alice:
    step("3. Send a message by inserting a row (alice@localhost is logged in with slixmpp)")
    psql("INSERT INTO xmpp_tx_queue (message_to, message_subject, message_body) "
         "VALUES ('alice@localhost', 'demo', 'Hello from PostgreSQL')")
    msg = alice.wait_message(lambda m: m["body"] == "Hello from PostgreSQL", timeout=20)
    print(f"alice received from {msg['from']}: subject {msg['subject']!r}, "
          f"body {msg['body']!r}, id {msg['id']!r}", flush=True)
    wait("submission_timestamp", lambda: value(
        "SELECT count(*) FROM xmpp_tx_queue WHERE submission_timestamp IS NOT NULL") == "1")
    psql("SELECT id, message_to, submission_timestamp, submission_failed FROM xmpp_tx_queue")

    step("4. A bad row fails alone, with the reason, and never reaches the server")
    psql("INSERT INTO xmpp_tx_queue (message_to, message_body) VALUES ('not a jid', 'x')")
    wait("the failure", lambda: value(
        "SELECT count(*) FROM xmpp_tx_queue WHERE submission_failed") == "1")
    psql("SELECT id, message_to, submission_failed, submission_info FROM xmpp_tx_queue "
         "WHERE submission_failed")

    step("5. alice replies; the reply lands in xmpp_rx_queue (and NOTIFY jabclnd_rx fires)")
    alice.send_message("bot@localhost", "Hello from alice!", subject="re: demo")
    wait("the reply", lambda: value("SELECT count(*) FROM xmpp_rx_queue") == "1")
    psql("SELECT id, message_from, message_type, message_subject, message_body "
         "FROM xmpp_rx_queue")

step("6. What the worker has done")
psql("SELECT state, jid, messages_sent, messages_failed, messages_received, pending "
     "FROM jabclnd_status()")
print("\ndemo complete", flush=True)
