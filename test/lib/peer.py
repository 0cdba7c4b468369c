"""A real, independent XMPP client for tests: slixmpp in a thread of its own.

Peer(jid, password) logs in to the test Prosody (XMPP_HOST:XMPP_PORT, STARTTLS,
trusting the test CA in XMPP_CA) and records what it receives. Its methods are
synchronous and every wait is bounded, so tests read like scripts:

    with Peer("alice@localhost/phone", "alicepass") as alice:
        alice.send_message("bot@localhost", "hi")
        msg = alice.wait_message(lambda m: m["body"] == "hello")

Received messages are dicts: from, to, type, id, subject, body, xml.
"""
import asyncio
import os
import ssl
import threading
import time

import slixmpp


class _Client(slixmpp.ClientXMPP):
    def __init__(self, peer, jid, password):
        super().__init__(jid, password)
        self.peer = peer
        self.ssl_context = ssl.create_default_context(cafile=os.environ["XMPP_CA"])
        self.auto_authorize = peer.auto_accept
        self.auto_subscribe = peer.auto_accept
        self.add_event_handler("session_start", self._started)
        self.add_event_handler("message", self._message)
        self.add_event_handler("presence_subscribe", self._subscribe_request)
        self.add_event_handler("failed_auth", self._failed)
        self.add_event_handler("connection_failed", self._failed)

    async def _started(self, _event):
        await self.get_roster()
        if self.peer.initial_presence:
            self.send_presence()
        self.peer._ready.set()

    def _message(self, msg):
        self.peer._record(msg)

    def _subscribe_request(self, presence):
        self.peer.subscription_requests.append(str(presence["from"]))

    def _failed(self, event):
        self.peer.error = f"login of {self.boundjid} failed: {event}"
        self.peer._ready.set()


class Peer:
    def __init__(self, jid, password, auto_accept=True, initial_presence=True):
        self.jid = jid
        self.password = password
        self.auto_accept = auto_accept
        self.initial_presence = initial_presence
        self.messages = []
        self.subscription_requests = []
        self.error = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop = None
        self._thread = None
        self.client = None

    # -- lifecycle -------------------------------------------------------------

    def start(self, timeout=15):
        started = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self.client = _Client(self, self.jid, self.password)
            self.client.connect((os.environ.get("XMPP_HOST", "127.0.0.1"),
                                 int(os.environ["XMPP_PORT"])))
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=f"peer {self.jid}", daemon=True)
        self._thread.start()
        started.wait(5)
        if not self._ready.wait(timeout) or self.error:
            reason = self.error or f"no session within {timeout} s"
            self.stop()
            raise AssertionError(f"peer {self.jid} could not log in: {reason}")
        return self

    def stop(self):
        if self._loop is None:
            return
        if self.client is not None and self._loop.is_running():
            done = threading.Event()

            async def close():
                try:
                    self.client.disconnect(wait=1.0)
                    await asyncio.wait_for(self.client.disconnected, 3)
                except Exception:
                    pass
                done.set()

            asyncio.run_coroutine_threadsafe(close(), self._loop)
            done.wait(5)

            async def cancel_the_rest():
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                self._loop.stop()

            asyncio.run_coroutine_threadsafe(cancel_the_rest(), self._loop)
        if self._thread:
            self._thread.join(5)
        self._loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- doing things ------------------------------------------------------------

    def _call(self, fn, *args, **kwargs):
        """Runs fn in the client's loop and waits for it."""
        result = {}
        done = threading.Event()

        def run():
            try:
                result["value"] = fn(*args, **kwargs)
            except Exception as e:  # re-raised in the caller's thread
                result["error"] = e
            done.set()

        self._loop.call_soon_threadsafe(run)
        if not done.wait(10):
            raise AssertionError(f"peer {self.jid}: call {fn.__name__} did not run")
        if "error" in result:
            raise result["error"]
        return result.get("value")

    def send_message(self, to, body, subject=None, mtype="chat"):
        self._call(self.client.send_message, mto=to, mbody=body, msubject=subject, mtype=mtype)

    def send_raw(self, xml):
        self._call(self.client.send_raw, xml)

    def set_presence(self, show=None, status=None, priority=0):
        kwargs = {"ppriority": priority}
        if show:
            kwargs["pshow"] = show
        if status:
            kwargs["pstatus"] = status
        self._call(self.client.send_presence, **kwargs)

    def send_presence_unavailable(self):
        self._call(self.client.send_presence, ptype="unavailable")

    def subscribe(self, jid):
        self._call(self.client.send_presence, pto=jid, ptype="subscribe")

    def roster_subscription(self, jid):
        """What our roster says about jid: none, to, from, both (or None if absent)."""
        def look():
            roster = self.client.client_roster
            return roster[jid]["subscription"] if jid in roster else None
        return self._call(look)

    def iq(self, to, xml_payload, itype="get", timeout=10):
        """Sends an iq with the given payload and returns the reply as XML text."""
        future = asyncio.run_coroutine_threadsafe(
            self._send_iq(to, xml_payload, itype, timeout), self._loop)
        return future.result(timeout + 5)

    async def _send_iq(self, to, xml_payload, itype, timeout):
        from slixmpp.xmlstream import ET
        iq = self.client.Iq()
        iq["to"] = to
        iq["type"] = itype
        iq.append(ET.fromstring(xml_payload))
        try:
            reply = await iq.send(timeout=timeout)
        except slixmpp.exceptions.IqError as e:
            reply = e.iq
        return str(reply)

    # -- receiving ---------------------------------------------------------------

    def _record(self, msg):
        entry = {
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "type": msg["type"],
            "id": msg["id"],
            "subject": msg["subject"],
            "body": msg["body"],
            "xml": str(msg),
        }
        with self._lock:
            self.messages.append(entry)

    def wait_message(self, predicate=None, timeout=10):
        """The first received message matching predicate; AssertionError after timeout."""
        predicate = predicate or (lambda m: True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for m in self.messages:
                    if predicate(m):
                        return m
            time.sleep(0.02)
        with self._lock:
            seen = [m["body"] for m in self.messages][-5:]
        raise AssertionError(f"peer {self.jid}: no matching message within {timeout} s; "
                             f"last bodies seen: {seen!r}")
