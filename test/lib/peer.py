"""A real, independent XMPP client for tests: slixmpp in a thread of its own.

Peer(jid, password) logs in to the test XMPP server (XMPP_HOST:XMPP_PORT, STARTTLS
required, trusting only the test CA in XMPP_CA, certificate checked against the
JID's domain) and records what it receives. Its methods are synchronous and
every wait is bounded, so tests read like scripts:

    with Peer("alice@localhost/phone", "alicepass") as alice:
        alice.send_message("bot@localhost", "hi")
        msg = alice.wait_message(lambda m: m["body"] == "hello")

What it records (appended by the client's thread, read by the test's):
  messages          dicts: from, to, type, id, subject, body, xml
  presences         (from, type) tuples of every presence stanza; type is
                    available, unavailable, subscribe, subscribed, ...
  presence_events   the same presences as dicts: from, to, type, show, status,
                    priority, xml (see wait_presence)
  subscription_requests  JIDs that asked to subscribe to our presence
  roster_pushes     how many roster pushes (iq set from our server) arrived
  groupchat         the messages of type groupchat (dicts as in messages, and
                    stanza_id: the room's XEP-0359 stanza-id, or None); see
                    join_room, send_groupchat, wait_groupchat

Group chats (XEP-0045, slixmpp's xep_0045 plugin): join_room(room, nick)
joins, and creates the room as an instant room if the join created it;
the presences of the room's occupants land in presence_events as any other.
An owner of a room configures it (configure_room), sets affiliations
(set_affiliation: member, outcast, ...) and kicks (kick).

auto_accept=True (the default) accepts subscription requests and subscribes
back, as a user who trusts the other party would. initial_presence=False logs
in without sending presence (the peer stays invisible).

Login failures (connection refused, untrusted certificate, wrong password,
no session within the timeout) raise AssertionError from start() with the
reason, and leave no thread behind.
"""
import asyncio
import os
import ssl
import threading
import time
from pathlib import Path
from xml.sax.saxutils import escape

import slixmpp


def _xml_text(text):
    """text escaped for an XML element or attribute value."""
    return escape(text, {"'": "&apos;", '"': "&quot;"})


class _Client(slixmpp.ClientXMPP):
    def __init__(self, peer, jid, password):
        super().__init__(jid, password)
        self.peer = peer
        # Trust the test CA and nothing else: ca_certs keeps slixmpp from
        # adding the system's default trust store to the context.
        ca = os.environ["XMPP_CA"]
        self.ssl_context = ssl.create_default_context(cafile=ca)
        self.ca_certs = Path(ca)
        self.auto_authorize = peer.auto_accept
        self.auto_subscribe = peer.auto_accept
        self.add_event_handler("session_start", self._started)
        self.add_event_handler("message", self._message)
        self.add_event_handler("presence", self._presence)
        self.add_event_handler("presence_subscribe", self._subscribe_request)
        self.add_event_handler("roster_update", self._roster_push)
        self.add_event_handler("failed_auth", self._failed)
        self.add_event_handler("failed_all_auth", self._failed)
        self.add_event_handler("connection_failed", self._failed)
        self.add_event_handler("ssl_invalid_chain", self._failed_tls)
        self.add_event_handler("stream_error", self._failed)
        self.add_event_handler("disconnected", self._disconnected)
        self.register_plugin("xep_0045")
        # Once in a room, xep_0045 stops the "presence" event for the room's JIDs (it sets
        # the roster's ignore_updates): their presences are recorded from its own event.
        self.add_event_handler("groupchat_presence", self._room_presence)

    async def _started(self, _event):
        await self.get_roster()
        if self.peer.initial_presence:
            self.send_presence()
        self.peer._ready.set()

    def _message(self, msg):
        self.peer._record_message(msg)

    def _presence(self, presence):
        if presence.xml.find("{http://jabber.org/protocol/muc#user}x") is None:
            self.peer._record_presence(presence)

    def _room_presence(self, presence):
        self.peer._record_presence(presence)

    def _subscribe_request(self, presence):
        self.peer.subscription_requests.append(str(presence["from"]))

    def _roster_push(self, _iq):
        with self.peer._lock:
            self.peer.roster_pushes += 1

    def _failed(self, event):
        if not self.peer._ready.is_set():
            self.peer.error = f"login of {self.boundjid} failed: {event}"
            self.peer._ready.set()

    def _failed_tls(self, error):
        self._failed(f"the server's certificate is not trusted (XMPP_CA): {error}")
        self.abort()

    def _disconnected(self, reason):
        self._failed(f"disconnected before the session started ({reason})")


class Peer:
    def __init__(self, jid, password, auto_accept=True, initial_presence=True):
        self.jid = jid
        self.password = password
        self.auto_accept = auto_accept
        self.initial_presence = initial_presence
        self.messages = []
        self.presences = []  # (from, type): type is available, unavailable, subscribe, ...
        self.presence_events = []
        self.groupchat = []
        self.subscription_requests = []
        self.roster_pushes = 0
        self.error = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop = None
        self._thread = None
        self.client = None

    # -- lifecycle -------------------------------------------------------------

    def start(self, timeout=15):
        """Connects and logs in; returns self. AssertionError (with the reason) on failure."""
        address = (os.environ.get("XMPP_HOST", "127.0.0.1"), int(os.environ["XMPP_PORT"]))
        loop_ready = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self.client = _Client(self, self.jid, self.password)
                # An explicit address: no DNS SRV lookup; STARTTLS is required.
                self.client.connect(address, use_ssl=False, force_starttls=True)
            except Exception as e:  # reported by start() in the caller's thread
                self.error = f"could not start the client: {e!r}"
                self._ready.set()
            loop_ready.set()
            try:
                self._loop.run_forever()
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name=f"peer {self.jid}", daemon=True)
        self._thread.start()
        loop_ready.wait(5)
        if not self._ready.wait(timeout) or self.error:
            reason = self.error or f"no session within {timeout} s"
            self.stop()
            raise AssertionError(f"peer {self.jid} could not log in to "
                                 f"{address[0]}:{address[1]}: {reason}")
        return self

    def stop(self):
        """Disconnects (bounded) and ends the client's thread. Safe to call twice."""
        loop = self._loop
        if loop is None:
            return
        if loop.is_running():
            async def close():
                try:
                    if self.client is not None:
                        self.client.disconnect(wait=1.0)
                        await asyncio.wait_for(self.client.disconnected, 3)
                except Exception:
                    if self.client is not None:
                        self.client.abort()
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                loop.stop()

            try:
                asyncio.run_coroutine_threadsafe(close(), loop)
            except RuntimeError:  # the loop closed meanwhile
                pass
        if self._thread:
            self._thread.join(8)
            if self._thread.is_alive():  # last resort: stop the loop as it is
                try:
                    loop.call_soon_threadsafe(loop.stop)
                except RuntimeError:
                    pass
                self._thread.join(2)
        self._loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- doing things ------------------------------------------------------------

    def _call(self, fn, *args, **kwargs):
        """Runs fn in the client's loop and waits for it."""
        if self._loop is None:
            raise AssertionError(f"peer {self.jid} is not started")
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
        """Writes xml to the stream as it is (a whole stanza, or anything else)."""
        self._call(self.client.send_raw, xml)

    def set_presence(self, show=None, status=None, priority=0):
        """Broadcasts available presence; show is away, chat, dnd or xa (None: plain available)."""
        kwargs = {"ppriority": priority}
        if show:
            kwargs["pshow"] = show
        if status:
            kwargs["pstatus"] = status
        self._call(self.client.send_presence, **kwargs)

    def send_presence_unavailable(self):
        self._call(self.client.send_presence, ptype="unavailable")

    def subscribe(self, jid):
        """Asks jid for a subscription to its presence."""
        self._call(self.client.send_presence, pto=jid, ptype="subscribe")

    def unsubscribe(self, jid):
        self._call(self.client.send_presence, pto=jid, ptype="unsubscribe")

    def roster_subscription(self, jid):
        """What our roster says about jid: none, to, from, both (or None if absent)."""
        def look():
            roster = self.client.client_roster
            return roster[jid]["subscription"] if jid in roster else None
        return self._call(look)

    def iq(self, to, xml_payload, itype="get", timeout=10):
        """Sends an iq with the given payload and returns the reply (result or error) as XML."""
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

    # -- group chats ---------------------------------------------------------------

    def join_room(self, room, nick, timeout=10):
        """Joins room as nick, and configures it as an instant room: Prosody keeps a room
        the join created locked until its owner does (for a room that existed, the owner's
        empty submission changes nothing). Returns the room's presence for us."""
        occupant = f"{room}/{nick}"
        self._call(self.client.plugin["xep_0045"].join_muc, slixmpp.JID(room), nick)
        presence = self.wait_presence(
            lambda p: p["from"] == occupant and p["type"] != "unavailable", timeout)
        reply = self.iq(room, "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                        "<x xmlns='jabber:x:data' type='submit'/></query>", itype="set")
        if "error" in reply and "forbidden" not in reply:
            raise AssertionError(f"peer {self.jid}: could not unlock room {room}: {reply}")
        return presence

    def leave_room(self, room, nick):
        self._call(self.client.send_presence, pto=f"{room}/{nick}", ptype="unavailable")

    def send_groupchat(self, room, body, subject=None):
        self._call(self.client.send_message, mto=room, mbody=body, msubject=subject,
                   mtype="groupchat")

    def wait_groupchat(self, predicate=None, timeout=10):
        """The first groupchat message matching predicate; AssertionError after timeout."""
        return self._wait("groupchat message", self.groupchat, predicate or (lambda m: True),
                          timeout, lambda m: (m["from"], m["body"]))

    def count_groupchat(self, predicate):
        """How many groupchat messages received so far match predicate."""
        with self._lock:
            return sum(1 for m in self.groupchat if predicate(m))

    # -- a room's owner --------------------------------------------------------------
    # What an owner of a room does to it (XEP-0045 10 and 9), as plain iqs: each fails
    # with the room's answer when the room refuses.

    def _owner_iq(self, room, payload, what):
        reply = self.iq(room, payload, itype="set")
        if "type=\"error\"" in reply or "type='error'" in reply:
            raise AssertionError(f"peer {self.jid}: room {room} refused to {what}: {reply}")
        return reply

    def configure_room(self, room, fields):
        """Submits the room's configuration form with `fields` ({'muc#roomconfig_…': value};
        a bool is sent as 1/0); the fields left out keep their values."""
        def field(var, value):
            if isinstance(value, bool):
                value = "1" if value else "0"
            return f"<field var='{var}'><value>{_xml_text(str(value))}</value></field>"

        form = ("<field var='FORM_TYPE' type='hidden'>"
                "<value>http://jabber.org/protocol/muc#roomconfig</value></field>"
                + "".join(field(var, value) for var, value in fields.items()))
        self._owner_iq(room, "<query xmlns='http://jabber.org/protocol/muc#owner'>"
                       f"<x xmlns='jabber:x:data' type='submit'>{form}</x></query>",
                       f"take the configuration {fields!r}")

    def set_affiliation(self, room, jid, affiliation, reason=None):
        """Gives the bare `jid` an affiliation in the room: owner, admin, member, none, or
        outcast (banned: the room removes it with status 301)."""
        reason_xml = f"<reason>{_xml_text(reason)}</reason>" if reason else ""
        self._owner_iq(room, "<query xmlns='http://jabber.org/protocol/muc#admin'>"
                       f"<item affiliation='{affiliation}' jid='{jid}'>{reason_xml}</item>"
                       "</query>", f"make {jid} {affiliation}")

    def kick(self, room, nick, reason=None):
        """Kicks the occupant `nick` (role none: the room removes it with status 307)."""
        reason_xml = f"<reason>{_xml_text(reason)}</reason>" if reason else ""
        self._owner_iq(room, "<query xmlns='http://jabber.org/protocol/muc#admin'>"
                       f"<item nick='{_xml_text(nick)}' role='none'>{reason_xml}</item>"
                       "</query>", f"kick {nick}")

    # -- receiving ---------------------------------------------------------------

    def _record_message(self, msg):
        entry = {
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "type": msg["type"],
            "id": msg["id"],
            "subject": msg["subject"],
            "body": msg["body"],
            "xml": str(msg),
        }
        if entry["type"] == "groupchat":
            sid = msg.xml.find("{urn:xmpp:sid:0}stanza-id")
            entry["stanza_id"] = sid.get("id") if sid is not None else None
        with self._lock:
            self.messages.append(entry)
            if entry["type"] == "groupchat":
                self.groupchat.append(entry)

    def _record_presence(self, presence):
        entry = {
            "from": str(presence["from"]),
            "to": str(presence["to"]),
            "type": presence["type"],
            "show": presence["show"],
            "status": presence["status"],
            "priority": presence["priority"],
            "xml": str(presence),
        }
        with self._lock:
            self.presences.append((entry["from"], entry["type"]))
            self.presence_events.append(entry)

    def _wait(self, what, records, predicate, timeout, describe):
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for record in records:
                    if predicate(record):
                        return record
                seen = [describe(r) for r in records][-5:]
            if time.monotonic() >= deadline:
                raise AssertionError(f"peer {self.jid}: no matching {what} within {timeout} s; "
                                     f"last seen: {seen!r}")
            time.sleep(0.02)

    def wait_message(self, predicate=None, timeout=10):
        """The first received message matching predicate; AssertionError after timeout."""
        return self._wait("message", self.messages, predicate or (lambda m: True), timeout,
                          lambda m: (m["from"], m["body"]))

    def wait_presence(self, predicate=None, timeout=10):
        """The first received presence (a dict) matching predicate; AssertionError after timeout."""
        return self._wait("presence", self.presence_events, predicate or (lambda p: True),
                          timeout, lambda p: (p["from"], p["type"], p["show"]))
