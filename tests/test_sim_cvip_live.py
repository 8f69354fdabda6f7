"""The asyncio server and scripted client over real loopback sockets (bounded in time):
every scenario step gets the spec's answer, and the server survives hostile bytes on TCP
and UDP and keeps answering."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
from collections.abc import Awaitable, Callable

import pytest

from cvipsniff.sim.cvip import cli
from cvipsniff.sim.cvip.client import ClientConfig, run_client
from cvipsniff.sim.cvip.decode import parse_body, parse_header, parse_ping_response
from cvipsniff.sim.cvip.encode import encode_header, frame, method_call, ping_request
from cvipsniff.sim.cvip.server import CvipServer, ServerConfig

TIMEOUT = 20.0


def serve(role: str, body: Callable[[CvipServer], Awaitable[None]]) -> CvipServer:
    """Run ``body`` against a fresh server on ephemeral loopback ports."""

    async def main() -> CvipServer:
        config = ServerConfig(host="127.0.0.1", port=0, ping_port=0, role=role,
                              event_interval=0.05)
        async with CvipServer(config) as server:
            await asyncio.wait_for(body(server), TIMEOUT)
        return server

    return asyncio.run(main())


def client_config(server: CvipServer, role: str) -> ClientConfig:
    ports = server.ports
    return ClientConfig(host="127.0.0.1", port=ports["tcp"], ping_port=ports["tcp_common"],
                        udp_port=ports["udp"], udp_ping_port=ports["udp_common"], role=role,
                        timeout=3.0, event_timeout=3.0)


@pytest.mark.parametrize("role", ["device", "nvr", "master"])
def test_every_scenario_of_a_role_passes_over_sockets(role):
    results = []

    async def body(server: CvipServer) -> None:
        results.extend(await run_client(client_config(server, role), "all", duration=15.0))

    server = serve(role, body)
    names = {r.name for r in results}
    assert {"discovery", "discover-services", "configure", "events", "firmware"} <= names
    assert f"{role}-services" in names
    for result in results:
        assert result.ok, (result.name, result.error, [(s.name, s.detail)
                                                        for s in result.failures()])
        assert all(s.latency_ms is None or s.latency_ms < 3000 for s in result.steps)
    steps = {s.name for r in results for s in r.steps}
    custom = {"device": "get a key frame", "nvr": "custom function queryClip"}
    assert role not in custom or custom[role] in steps
    assert server.peer is not None and server.peer.stats.internal_errors == 0


def test_a_scenario_for_another_role_fails_its_steps():
    results = []

    async def body(server: CvipServer) -> None:
        config = client_config(server, "device")
        results.extend(await run_client(config, "nvr-services", duration=10.0))

    serve("device", body)
    assert len(results) == 1 and not results[0].ok
    assert "0x01000004" in results[0].failures()[0].detail  # Invalid: unknown service


async def _exchange(port: int, data: bytes, *, expect: int, wait: float = 10.0) -> list[bytes]:
    """Send ``data`` on a new connection; read ``expect`` framed answers (or until EOF).
    ``wait``: the deadline for each read (generous: a busy machine answers late)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answers = []
    try:
        while len(answers) < expect:
            header = await asyncio.wait_for(reader.readexactly(9), wait)
            size = parse_header(header).size
            answers.append(header + await asyncio.wait_for(reader.readexactly(size - 9), wait))
    finally:
        writer.close()
    return answers


async def _eof_after(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    received = await asyncio.wait_for(reader.read(), 2.0)  # until the server closes
    writer.close()
    return received


# The transaction number of the ping that closes a UDP exchange (none of the tests' own).
_CLOSING_TXN = 0x5EED


async def _udp(port: int, datagrams: list[bytes], timeout: float = 10.0) -> list[bytes]:
    """What the server answers to ``datagrams``: a ping of its own follows them, and
    what came back before that ping's answer is theirs (the server handles a socket's
    datagrams in order). A wait on that answer, not a fixed time: no answer missed on a
    busy machine, and "no answer at all" is known as soon as the closing one comes."""
    loop = asyncio.get_running_loop()
    received: list[bytes] = []
    closed = asyncio.Event()

    class Collect(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            answer = parse_ping_response(data)
            if answer is not None and answer.header.txn == _CLOSING_TXN:
                closed.set()
            else:
                received.append(data)

    transport, _ = await loop.create_datagram_endpoint(Collect,
                                                       remote_addr=("127.0.0.1", port))
    try:
        for datagram in datagrams:
            transport.sendto(datagram)
        transport.sendto(ping_request(_CLOSING_TXN, "127.0.0.1", 1, 0x0C))
        await asyncio.wait_for(closed.wait(), timeout)
    finally:
        transport.close()
    return received


def test_server_survives_hostile_bytes_and_keeps_answering():
    async def body(server: CvipServer) -> None:
        tcp, common = server.ports["tcp"], server.ports["tcp_common"]
        ping = ping_request(7, "127.0.0.1", 1, 0x0C)
        # Malformed XML gets Invalid; garbage is dropped; the ping after it is answered.
        answers = await _exchange(tcp, frame(b"<methodCall><methodName>x", 3)
                                  + b"hello world" + ping, expect=2)
        assert parse_body(answers[0][9:]).error_code == 0x01000004
        assert parse_ping_response(answers[1]).header.txn == 7
        # Truncated header, then the peer hangs up: nothing to answer, nothing breaks.
        assert await _exchange(tcp, b"\x02\x01\x00\x00", expect=0) == []
        # An absurd declared size: Invalid acknowledgement, then the server closes.
        closed = await _eof_after(tcp, encode_header(5, 0xFFFFFFF0) + b"x" * 64)
        assert parse_body(closed[9:]).error_code == 0x01000004
        # Random bytes on every port, TCP and UDP.
        noise = bytes(range(256)) * 3
        for port in (tcp, common):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(noise)
            await writer.drain()
            writer.close()
        assert await _udp(server.ports["udp"], [noise[:100], b"", b"\x02\x01"]) == []
        assert await _udp(server.ports["udp_common"], [noise[:37]]) == []
        # Still alive on all four ports.
        for port in (tcp, common):
            answers = await _exchange(port, ping, expect=1)
            assert parse_ping_response(answers[0]) is not None
        for port in (server.ports["udp"], server.ports["udp_common"]):
            answers = await _udp(port, [ping])
            assert len(answers) == 1 and parse_ping_response(answers[0]) is not None

    server = serve("device", body)
    assert server.peer.stats.internal_errors == 0
    assert server.peer.stats.garbage_bytes > 0


def test_common_port_ignores_everything_but_ping():
    async def body(server: CvipServer) -> None:
        port = server.ports["tcp_common"]
        with pytest.raises(TimeoutError):
            await _exchange(port, frame(method_call("system.describe"), 1), expect=1, wait=0.3)
        answers = await _exchange(port, frame(method_call("system.describe"), 1)
                                  + ping_request(2, "127.0.0.1", 1, 0x0C), expect=1)
        assert parse_ping_response(answers[0]).header.txn == 2

    serve("nvr", body)


# --- command line ---------------------------------------------------------------------


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cvipsniff sim")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


class _ThreadServer:
    """A server in a thread with its own loop, for the CLI client to talk to."""

    def __init__(self, role: str) -> None:
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: CvipServer | None = None
        self.thread = threading.Thread(target=asyncio.run, args=(self._main(role),),
                                       daemon=True)

    async def _main(self, role: str) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop = asyncio.Event()
        async with CvipServer(ServerConfig(port=0, ping_port=0, role=role,
                                           event_interval=0.05)) as server:
            self.server = server
            self.ready.set()
            await asyncio.wait_for(self.stop.wait(), 60)

    def __enter__(self) -> CvipServer:
        self.thread.start()
        assert self.ready.wait(10)
        assert self.server is not None
        return self.server

    def __exit__(self, *exc: object) -> None:
        assert self.loop is not None and self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


def test_cli_client_runs_a_scenario_and_reports_json(capsys):
    with _ThreadServer("device") as server:
        args = _parse(["cvip-client", "--port", str(server.ports["tcp"]), "--ping-port",
                       str(server.ports["tcp_common"]), "--scenario", "discovery",
                       "-T", "json", "--timeout", "3"])
        status = cli.run(args)
    out = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [r["name"] for r in out] == ["discovery"] and out[0]["ok"]


def test_cli_client_exit_status_1_on_failed_steps(capsys):
    with _ThreadServer("master") as server:
        args = _parse(["cvip-client", "--port", str(server.ports["tcp"]), "--ping-port",
                       str(server.ports["tcp_common"]), "--role", "master",
                       "--scenario", "device-services", "--timeout", "3"])
        status = cli.run(args)
    text = capsys.readouterr().out
    assert status == 1 and text.startswith("FAIL device-services")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_cli_client_cannot_connect_is_a_one_line_error(capsys):
    status = cli.run(_parse(["cvip-client", "--port", str(_free_port()), "--timeout", "1"]))
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith("cvipsniff:")


def test_cli_server_port_in_use_is_a_one_line_error(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = cli.run(_parse(["cvip-server", "--port", str(port), "--ping-port", "0",
                                 "--duration", "0.1"]))
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith("cvipsniff:")


def test_cli_server_runs_for_its_duration():
    status = cli.run(_parse(["cvip-server", "--port", "0", "--ping-port", "0",
                             "--duration", "0.2", "--role", "nvr"]))
    assert status == 0
