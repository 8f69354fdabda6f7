"""Recording the reference peers' sessions for the fixture tests, without sniffing.

A relay sits between the reference client and the reference server on 127.0.0.1: every
chunk either side sends is forwarded and noted in a transcript (direction, bytes, time),
which the project's capture synthesizer lays out as a pcapng. The recorded server
endpoint is the protocol's standard port (7110 / 7563), as on a real network, whatever
ephemeral port the relay listened on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from cvipsniff.sim.synth import write_capture
from cvipsniff.sim.transcript import Conversation, MessageTruth, Scenario, WireMessage

HOST = "127.0.0.1"
_client_ports = itertools.count(41000)


class Recorder:
    def __init__(self, name: str) -> None:
        self.scenario = Scenario(name, "recorded through a relay by the fixture tests")
        self.origin = time.monotonic()

    def now_ms(self) -> float:
        return round((time.monotonic() - self.origin) * 1000.0, 3)

    def conversation(self, transport: str, server_port: int) -> Conversation:
        conv = Conversation(transport, (HOST, next(_client_ports)), (HOST, server_port))  # type: ignore[arg-type]
        self.scenario.conversations.append(conv)
        return conv

    def note(self, conv: Conversation, direction: int, data: bytes) -> None:
        at = max(self.now_ms(), conv.messages[-1].t_ms if conv.messages else 0.0)
        conv.messages.append(WireMessage(direction, data, at, MessageTruth("cvip", "unknown")))

    def write(self, path: Path) -> Path:
        scenario = Scenario(self.scenario.name, self.scenario.description,
                            [c for c in self.scenario.conversations if c.messages])
        write_capture(scenario, path, truth=False)
        return path


class _Listener:
    """A TCP listener on an ephemeral port of 127.0.0.1 whose connections ``_handle``
    relays to the ``upstream`` port."""

    upstream = 0

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class TcpRelay(_Listener):
    """Forwards connections to ``upstream`` and records them as ``server_port``."""

    def __init__(self, recorder: Recorder, upstream: int, server_port: int) -> None:
        super().__init__()
        self.recorder = recorder
        self.upstream = upstream
        self.server_port = server_port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conv = self.recorder.conversation("tcp", self.server_port)
        up_reader, up_writer = await asyncio.open_connection(HOST, self.upstream)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, direction: int):
            try:
                while data := await src.read(65536):
                    self.recorder.note(conv, direction, data)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer, 0), pipe(up_reader, writer, 1))


class UdpRelay(asyncio.DatagramProtocol):
    """One client's datagrams to ``upstream`` and the answers, recorded as ``server_port``."""

    def __init__(self, recorder: Recorder, upstream: int, server_port: int) -> None:
        self.recorder = recorder
        self.upstream = upstream
        self.server_port = server_port
        self.transport: Any = None
        self.up: Any = None
        self.client: Any = None
        self.conv: Conversation | None = None
        self.port = 0

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(lambda: self,
                                                                local_addr=(HOST, 0))
        relay = self

        class Up(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                if relay.conv is not None and relay.client is not None:
                    relay.recorder.note(relay.conv, 1, data)
                    relay.transport.sendto(data, relay.client)

        self.up, _ = await loop.create_datagram_endpoint(Up, remote_addr=(HOST, self.upstream))
        self.port = self.transport.get_extra_info("sockname")[1]
        return self.port

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.conv is None or addr != self.client:
            self.conv = self.recorder.conversation("udp", self.server_port)
            self.client = addr
        self.recorder.note(self.conv, 0, data)
        self.up.sendto(data)

    async def close(self) -> None:
        self.transport.close()
        self.up.close()


Fault = Any  # Callable[[bytes], bytes | None]: the answer's new bytes, or None to drop it


class FaultyRelay(_Listener):
    """A deliberately broken server: the reference server behind a relay that applies
    ``fault`` to the first answer to ``method`` (messages read with the project's framer
    and dissector in both directions, so the fault hits exactly one message)."""

    def __init__(self, upstream: int, family: str, method: str, fault: Fault) -> None:
        super().__init__()
        self.upstream = upstream
        self.family = family
        self.method = method
        self.fault = fault
        self.applied = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from cvipsniff.fixtures.live import StreamDecoder

        up_reader, up_writer = await asyncio.open_connection(HOST, self.upstream)
        asked: dict[Any, str] = {}
        requests, answers = StreamDecoder(self.family), StreamDecoder(self.family)

        async def client_side() -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await reader.read(65536):
                    for m in requests.feed(data):
                        if m.record.method:
                            asked[m.record.txn] = m.record.method
                    up_writer.write(data)
                    await up_writer.drain()
            with contextlib.suppress(Exception):
                up_writer.close()

        async def server_side() -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await up_reader.read(65536):
                    for m in answers.feed(data):
                        out: bytes | None = m.data
                        if not self.applied and m.record.is_response \
                                and asked.get(m.record.txn) == self.method:
                            self.applied += 1
                            out = self.fault(m.data)
                        if out is not None:
                            writer.write(out)
                    await writer.drain()
            with contextlib.suppress(Exception):
                writer.close()

        await asyncio.gather(client_side(), server_side())


async def udp_ping(port: int, txn: int = 77, timeout: float = 3.0) -> bytes | None:
    """One CVIP ping over UDP to ``port``; the answer, or None."""
    from cvipsniff.sim.cvip.encode import ping_request

    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bytes] = loop.create_future()

    class Collect(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            if not answer.done():
                answer.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(Collect, remote_addr=(HOST, port))
    try:
        ip, local = transport.get_extra_info("sockname")[:2]
        transport.sendto(ping_request(txn, ip, local, 1))
        return await asyncio.wait_for(answer, timeout)
    except TimeoutError:
        return None
    finally:
        transport.close()


def record_reference_sessions(path: Path) -> tuple[list[bool], Path]:
    """Run the reference clients against the reference servers through recording relays:
    CVIP ``configure`` and ``events`` plus a UDP ping, ImageServer ``browse`` and
    ``live``. Returns every client step's verdict and the capture written."""
    from cvipsniff.sim.cvip.client import ClientConfig, run_client
    from cvipsniff.sim.imageserver.client import run_scripts
    from cvipsniff.sim.imageserver.scripts import ClientOptions
    from tests.live_helpers import Peers

    peers = Peers.start()
    recorder = Recorder("reference-sessions")
    try:
        async def sessions() -> list[bool]:
            cvip = TcpRelay(recorder, peers.ports["tcp"], 7110)
            pings = UdpRelay(recorder, peers.ports["udp"], 7110)
            image = TcpRelay(recorder, peers.imageserver_port, 7563)
            for relay in (cvip, pings, image):
                await relay.start()
            config = ClientConfig(host=HOST, port=cvip.port, ping_port=cvip.port,
                                  udp_port=pings.port, timeout=3.0, event_timeout=3.0)
            ok: list[bool] = []
            for name in ("configure", "events"):
                for result in await run_client(config, name, duration=20.0):
                    ok.append(result.ok)
            ok.append(await udp_ping(pings.port) is not None)
            results = await run_scripts(HOST, image.port, ["browse", "live"],
                                        ClientOptions(live_ms=600.0))
            ok.extend(step.ok for steps in results.values() for step in steps)
            for relay in (cvip, pings, image):
                await relay.close()
            return ok

        verdicts = peers.runner.call(sessions(), timeout=90.0)
    finally:
        peers.close()
    return verdicts, recorder.write(path)


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture set of the reference peers' sessions (exported with secrets kept),
    recorded once per test session."""
    from tests.cli_helpers import run_cli

    root = tmp_path_factory.mktemp("recorded")
    steps, capture = record_reference_sessions(root / "reference.pcapng")
    assert steps and all(steps), steps
    out = run_cli("fixtures", "export", str(capture), "-o", str(root / "fixtures"),
                  "--keep-secrets")
    assert out.code == 0, out.stderr
    return root / "fixtures" / "reference"
