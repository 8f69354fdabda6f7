"""The reference recording server on a real TCP socket (asyncio).

Each connection gets its own :class:`~.server_logic.RecordingServer`; this module only
moves bytes and time: it feeds what arrives, wakes up when live output falls due, writes
what the logic returns and logs its notices. Cameras (and their picture caches) are shared
by all connections. Resources are bounded: a cap on simultaneous connections and an idle
timeout per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import replace

from cvipsniff.sim.imageserver.server_logic import (
    Notice,
    RecordingServer,
    ServerConfig,
    Site,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7563
MAX_CONNECTIONS = 32
IDLE_TIMEOUT_S = 300.0
READ_SIZE = 64 * 1024


class ReferenceServer:
    """``await start()``, then ``await serve(duration)`` or ``await close()``."""

    def __init__(self, config: ServerConfig | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        # Live timestamps are real: the server clock starts now.
        base = config or ServerConfig()
        self.config = replace(base, epoch_ms=int(time.time() * 1000))
        self.site = Site(self.config)
        self._log = log or (lambda text: None)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
                    ) -> tuple[str, int]:
        """Listen; returns the bound address (pass port 0 for any free port)."""
        self._server = await asyncio.start_server(self._accept, host, port)
        sockname = self._server.sockets[0].getsockname()
        return sockname[0], sockname[1]

    async def serve(self, duration: float | None = None) -> None:
        """Serve for ``duration`` seconds (None: until cancelled), then close."""
        try:
            if duration is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(duration)
        finally:
            await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _accept(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if self.connections >= MAX_CONNECTIONS:
            self._log(f"{peer}: refused, {MAX_CONNECTIONS} connections already open")
            writer.close()
            return
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._log(f"{peer}: connected")
        try:
            await self._session(reader, writer, str(peer))
        except (ConnectionError, OSError) as exc:
            self._log(f"{peer}: {type(exc).__name__}: {exc}")
        except asyncio.CancelledError:
            # close() cancels open sessions; end normally so asyncio's stream callback
            # does not report the cancellation as an error.
            self._log(f"{peer}: server shutting down")
        finally:
            self.connections -= 1
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()
            self._log(f"{peer}: closed")

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       peer: str) -> None:
        logic = RecordingServer(site=self.site)
        loop = asyncio.get_running_loop()
        origin = loop.time()

        def now() -> float:
            return (loop.time() - origin) * 1000.0

        last_activity = now()
        try:
            while True:
                deadline = logic.next_deadline()
                wait_ms = IDLE_TIMEOUT_S * 1000.0 - (now() - last_activity)
                if deadline is not None:
                    wait_ms = min(wait_ms, deadline - now())
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE),
                                                  max(0.0, wait_ms) / 1000.0)
                except TimeoutError:
                    if logic.next_deadline() is None and \
                            now() - last_activity >= IDLE_TIMEOUT_S * 1000.0:
                        self._log(f"{peer}: idle for {IDLE_TIMEOUT_S:.0f} s, closing")
                        return
                    outputs = logic.poll(now())
                else:
                    if not data:
                        return
                    last_activity = now()
                    outputs = logic.receive(data, now())
                for out in outputs:
                    if isinstance(out, Notice):
                        self._log(f"{peer}: {out.text}")
                    else:
                        writer.write(out.data)
                await writer.drain()
        finally:
            logic.connection_lost()


async def run_server(host: str, port: int, config: ServerConfig, duration: float | None,
                     log: Callable[[str], None]) -> None:
    server = ReferenceServer(config, log)
    bound = await server.start(host, port)
    log(f"ImageServer reference recording server listening on {bound[0]}:{bound[1]}")
    await server.serve(duration)
