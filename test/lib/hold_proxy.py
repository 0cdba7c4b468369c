"""A TCP proxy on 127.0.0.1 that can hold back what a client sends, for tests.

HoldProxy(host, port) forwards every connection made to its own port to
host:port, byte for byte (TLS passes through untouched). Two switches model
a link that has stopped carrying data one way, as a throttled or broken
uplink does:

    proxy = HoldProxy("127.0.0.1", 5222).start()
    proxy.hold()     # what clients send from now on is not forwarded; what
                     # the server sends still reaches them
    proxy.cut()      # every connection is closed; what was held back never
                     # reaches the server
    proxy.stop()     # cut, and close the listening socket
    proxy.connections()  # how many connections are open

New connections after cut() are forwarded again (not held). Everything runs
in one asyncio thread of the proxy's own; the methods are synchronous.
"""
import asyncio
import threading


class HoldProxy:
    def __init__(self, host, port):
        self.target = (host, port)
        self.port = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None
        self._holding = False
        self._links = set()  # (client writer, server writer) of open connections

    def start(self):
        self._thread.start()
        self._call(self._listen())
        return self

    def connections(self):
        """How many connections are open through the proxy."""
        return len(self._links)

    def hold(self):
        self._holding = True

    def cut(self):
        self._call(self._cut())

    def stop(self):
        if not self._thread.is_alive():
            return
        self._call(self._cut())
        self._call(self._close_server())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _call(self, coroutine, timeout=10):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _listen(self):
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close_server(self):
        self._server.close()
        await self._server.wait_closed()

    async def _cut(self):
        self._holding = False
        for client, server in list(self._links):
            client.transport.abort()
            server.transport.abort()
        self._links.clear()

    async def _accept(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        link = (client_writer, server_writer)
        self._links.add(link)
        await asyncio.gather(self._pipe(client_reader, server_writer, upstream=True),
                             self._pipe(server_reader, client_writer, upstream=False),
                             return_exceptions=True)
        self._links.discard(link)
        for writer in link:
            writer.transport.abort()

    async def _pipe(self, reader, writer, upstream):
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if upstream and self._holding:
                continue  # never forwarded: the server must not see it
            writer.write(data)
            await writer.drain()
        writer.transport.abort()
