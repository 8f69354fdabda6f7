"""asyncio CVIP server: a :class:`~cvipsniff.sim.cvip.device.Peer` on real sockets.

Listens on TCP and UDP at the CVIP port (7110) and at the common port (9990), where only
pings are answered. All protocol behaviour lives in the sans-I/O peer; this module only
moves bytes, notifies subscribed connections on a timer (the simulated event detector)
and keeps resource use bounded: a connection cap, an idle timeout, and a cap on bytes
queued for a client that does not read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from cvipsniff.sim.cvip.constants import COMMON_PORT, DEFAULT_PORT
from cvipsniff.sim.cvip.device import Peer, Session

log = logging.getLogger(__name__)

MAX_WRITE_BUFFER = 1 << 20  # bytes queued for one client before it is dropped


@dataclass(slots=True)
class ServerConfig:
    """Where and how to serve. ``udp_port``/``udp_ping_port`` default to the TCP ports;
    port 0 picks a free port (see :attr:`CvipServer.ports`)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    ping_port: int = COMMON_PORT
    udp_port: int | None = None
    udp_ping_port: int | None = None
    role: str = "device"
    seed: int = 1
    advertise_ip: str | None = None
    broadcast: bool = False
    udp: bool = True
    event_interval: float = 1.0
    max_connections: int = 64
    idle_timeout: float = 300.0


class _PingDatagrams(asyncio.DatagramProtocol):
    """UDP on the CVIP or common port: pings are answered to their sender."""

    def __init__(self, server: CvipServer, common_port: bool) -> None:
        self.server = server
        self.common_port = common_port
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        peer = self.server.peer
        if peer is None or self.transport is None:
            return
        for answer in peer.handle_datagram(data, common_port=self.common_port):
            self.transport.sendto(answer, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)


class CvipServer:
    """Start with ``await server.start()`` (or ``async with``), stop with ``close()``."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.peer: Peer | None = None
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.base_events.Server] = []
        self._udp: list[asyncio.DatagramTransport] = []
        self._writers: dict[Session, asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CvipServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        cfg = self.config
        try:
            main = await asyncio.start_server(self._handler(False), cfg.host, cfg.port)
            self._servers.append(main)
            common = await asyncio.start_server(self._handler(True), cfg.host, cfg.ping_port)
            self._servers.append(common)
            self.ports["tcp"] = main.sockets[0].getsockname()[1]
            self.ports["tcp_common"] = common.sockets[0].getsockname()[1]
            if cfg.udp:
                loop = asyncio.get_running_loop()
                for key, port, is_common in (
                    ("udp", cfg.udp_port if cfg.udp_port is not None else self.ports["tcp"], False),
                    ("udp_common", cfg.udp_ping_port if cfg.udp_ping_port is not None
                     else self.ports["tcp_common"], True),
                ):
                    transport, _ = await loop.create_datagram_endpoint(
                        lambda c=is_common: _PingDatagrams(self, c),
                        local_addr=(cfg.host, port), allow_broadcast=cfg.broadcast,
                    )
                    self._udp.append(transport)
                    self.ports[key] = transport.get_extra_info("sockname")[1]
        except BaseException:
            await self.close()
            raise
        advertise = cfg.advertise_ip or (cfg.host if cfg.host not in ("", "0.0.0.0") else
                                         "127.0.0.1")
        self.peer = Peer(cfg.role, seed=cfg.seed, ip=advertise, port=self.ports["tcp"])
        if cfg.event_interval > 0:
            self._ticker = asyncio.create_task(self._tick_events())

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        for server in self._servers:
            server.close()
        for writer in list(self._writers.values()):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        for transport in self._udp:
            transport.close()
        self._servers.clear()
        self._udp.clear()

    async def serve(self, duration: float | None = None) -> None:
        """Serve for ``duration`` seconds, or until cancelled."""
        if duration is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(duration)

    # --- TCP ------------------------------------------------------------------------

    def _handler(self, common_port: bool) -> Any:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            try:
                await self._serve_connection(reader, writer, common_port)
            finally:
                if task is not None:
                    self._tasks.discard(task)

        return handle

    async def _serve_connection(self, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter, common_port: bool) -> None:
        peer = self.peer
        if peer is None or len(self._writers) >= self.config.max_connections:
            writer.close()
            return
        session = peer.open_session(common_port=common_port)
        self._writers[session] = writer
        log.debug("connection from %s (common port: %s)", writer.get_extra_info("peername"),
                  common_port)
        try:
            while not session.closed:
                data = await asyncio.wait_for(reader.read(65536), self.config.idle_timeout)
                if not data:
                    break
                for answer in session.feed(data):
                    writer.write(answer)
                await writer.drain()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            peer.close_session(session)
            self._writers.pop(session, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    # --- events -----------------------------------------------------------------------

    async def _tick_events(self) -> None:
        while True:
            await asyncio.sleep(self.config.event_interval)
            if self.peer is None:
                continue
            for session, data in self.peer.tick():
                writer = self._writers.get(session)
                if writer is None or writer.is_closing():
                    continue
                if writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
                    writer.close()  # a client that does not read is let go
                    continue
                writer.write(data)


async def run_server(config: ServerConfig, duration: float | None = None,
                     ready: asyncio.Event | None = None) -> dict[str, int]:
    """Serve until ``duration`` elapses (or forever); returns the bound ports."""
    async with CvipServer(config) as server:
        if ready is not None:
            ready.set()
        log.info("serving %s on %s", config.role, server.ports)
        await server.serve(duration)
        return dict(server.ports)
