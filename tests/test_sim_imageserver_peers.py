"""The asyncio reference peers over real loopback sockets, and their command line.

Every test is bounded in time; all traffic stays on 127.0.0.1 (ephemeral ports).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from cvipsniff.sim.imageserver import cli
from cvipsniff.sim.imageserver import encode as E
from cvipsniff.sim.imageserver.client import run_script, run_scripts
from cvipsniff.sim.imageserver.reader import ServerStreamReader, XmlAnswer
from cvipsniff.sim.imageserver.scripts import SCRIPTS, ClientOptions
from cvipsniff.sim.imageserver.server import ReferenceServer
from cvipsniff.sim.imageserver.server_logic import DEFAULT_CAMERA_ID, ServerConfig

LIMIT_S = 60.0


async def _with_server(body, config: ServerConfig | None = None, logs: list[str] | None = None):
    server = ReferenceServer(config, (logs.append if logs is not None else None))
    host, port = await server.start("127.0.0.1", 0)
    try:
        return await asyncio.wait_for(body(host, port), LIMIT_S)
    finally:
        await server.close()


def test_every_script_gets_the_specified_answers_over_loopback() -> None:
    logs: list[str] = []

    async def body(host: str, port: int):
        return await run_scripts(host, port, list(SCRIPTS), ClientOptions(live_ms=1000.0))

    results = asyncio.run(_with_server(body, logs=logs))
    assert set(results) == set(SCRIPTS)
    failures = [r.line() for steps in results.values() for r in steps if not r.ok]
    assert failures == []
    assert sum(len(s) for s in results.values()) >= 40
    methods = {r.method for steps in results.values() for r in steps}
    assert methods == {"connect", "connectupdate", "goto", "next", "previous", "nextsequence",
                       "previoussequence", "begin", "end", "alarms", "live",
                       "changelivecompressionrate", "stop", "ptz", "ptzcenter",
                       "ptzrectangle", "preset", "output", "aviinformation"}
    assert not any("internal error" in line for line in logs)


def _raw_exchange(host: str, port: int, payload: bytes, want: int, timeout: float = 5.0
                  ) -> list:
    """Send bytes on a plain socket, read until ``want`` messages came (or timeout)."""
    reader = ServerStreamReader()
    messages: list = []
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(payload)
        while len(messages) < want:
            data = sock.recv(65536)
            if not data:
                break
            messages += reader.feed(data)
    return messages


def test_bad_token_gets_connected_no_with_an_errorreason() -> None:
    async def body(host: str, port: int):
        request = E.connect_request(1, username="dummy", password="dummy",
                                    cameraid=DEFAULT_CAMERA_ID,
                                    connectparam=E.connect_param(DEFAULT_CAMERA_ID, "forged"))
        raw = await asyncio.to_thread(_raw_exchange, host, port, request, 1)
        via_client = await run_script(host, port, "browse",
                                      ClientOptions(token="forged", live_ms=500.0))
        return raw, via_client

    raw, results = asyncio.run(_with_server(body))
    assert len(raw) == 1 and isinstance(raw[0], XmlAnswer)
    doc = raw[0].message
    assert (doc.requestid, doc.methodname, doc.text("connected")) == ("1", "connect", "no")
    assert doc.text("errorreason")
    assert not results[0].ok and "connected is 'no'" in results[0].detail
    assert all(r.detail == "not run: connect failed" for r in results[1:])


def test_garbage_and_hostile_input_never_take_the_server_down() -> None:
    logs: list[str] = []
    hostile = [
        bytes(range(256)) * 40 + b"\r\n\r\n",
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<methodcall><requestid>&b;</requestid><methodname>connect</methodname>"
        b"</methodcall>\r\n\r\n",
        b"<methodcall>" + b"<x>" * 20_000 + b"\r\n\r\n",
        b"ImageResponse\r\nContent-length: 4000000000\r\n\r\n",
        b"Z" * 300_000,  # no terminator at all: beyond the request cap
        E.connect_request(1, username="u", password="p", cameraid="x", connectparam="y")[:-9],
    ]

    def attack(host: str, port: int) -> None:
        for payload in hostile:
            with socket.create_connection((host, port), timeout=5) as sock:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(5)
                while sock.recv(65536):
                    pass

    async def body(host: str, port: int):
        await asyncio.to_thread(attack, host, port)
        return await run_script(host, port, "control", ClientOptions())

    results = asyncio.run(_with_server(body, logs=logs))
    assert [r.ok for r in results] == [True] * len(results)
    assert any("DTD" in line for line in logs)
    assert any("terminator" in line for line in logs)
    assert not any("internal error" in line for line in logs)


def test_client_gives_up_on_a_silent_server_within_its_limits() -> None:
    async def body():
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1 << 20)  # read, never answer
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await run_script("127.0.0.1", port, "control", ClientOptions(),
                                    limit_s=3.0)
        finally:
            server.close()
            await server.wait_closed()

    results = asyncio.run(asyncio.wait_for(body(), LIMIT_S))
    assert not results[0].ok
    assert all(not r.ok for r in results)


# ------------------------------------------------------------------------ command line


def _parser() -> argparse.ArgumentParser:
    """Mount the sub-commands the way ``cvipsniff sim`` does."""
    parser = argparse.ArgumentParser(prog="cvipsniff sim")
    cli.register(parser.add_subparsers(dest="sim_command"))
    return parser


@pytest.fixture
def background_server() -> Iterator[int]:
    """A reference server on an ephemeral port in a thread of its own."""
    ready = threading.Event()
    box: dict[str, object] = {}

    def run() -> None:
        async def main() -> None:
            server = ReferenceServer()
            box["port"] = (await server.start("127.0.0.1", 0))[1]
            box["stop"] = asyncio.Event()
            ready.set()
            await asyncio.wait_for(box["stop"].wait(), LIMIT_S)  # type: ignore[union-attr]
            await server.close()

        loop = asyncio.new_event_loop()
        box["loop"] = loop
        try:
            loop.run_until_complete(main())
        except TimeoutError:
            pass
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield int(box["port"])  # type: ignore[call-overload]
    loop: asyncio.AbstractEventLoop = box["loop"]  # type: ignore[assignment]
    loop.call_soon_threadsafe(box["stop"].set)  # type: ignore[union-attr]
    thread.join(10)


def test_cli_client_reports_every_step(background_server: int,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["imageserver-client", "--port", str(background_server),
                                 "--scenario", "control"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "ok   ptzrectangle" in out
    assert out.rstrip().endswith("11/11 steps as specified")


def test_cli_client_exit_status_on_failure_and_usage(background_server: int,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    parser = _parser()
    args = parser.parse_args(["imageserver-client", "--port", str(background_server),
                              "--scenario", "control", "--token", "wrong"])
    assert args.run(args) == 1
    assert "FAIL connect" in capsys.readouterr().out
    args = parser.parse_args(["imageserver-client", "--port", str(background_server),
                              "--duration", "0"])
    assert args.run(args) == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["imageserver-client", "--scenario", "nonsense"])


def test_cli_client_cannot_connect(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        args = _parser().parse_args(["imageserver-client", "--port", str(port)])
        assert args.run(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("cvipsniff: cannot connect to 127.0.0.1:") and err.count("\n") == 1


def test_cli_server_runs_for_its_duration(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["imageserver-server", "--port", "0", "--duration", "0.3",
                                 "--scenario", "live-metadata"])
    assert args.run(args) == 0
    assert "listening on 127.0.0.1:" in capsys.readouterr().err


def test_cli_server_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = _parser().parse_args(["imageserver-server", "--port", str(port),
                                     "--duration", "0.2"])
        assert args.run(args) == 2
    assert capsys.readouterr().err.startswith(f"cvipsniff: cannot listen on 127.0.0.1:{port}")
