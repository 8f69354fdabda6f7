"""``cvipsniff serve``: the recorded server answers the reference client scenarios (which
then pass), reports a request it has no fixture for, and recorded requests never sent."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path

from cvipsniff.fixtures import read_set
from cvipsniff.fixtures.serve import ServeOptions, serve
from cvipsniff.sim.cvip.client import ClientConfig, run_client
from cvipsniff.sim.cvip.encode import frame, method_call
from cvipsniff.sim.imageserver.client import run_scripts
from cvipsniff.sim.imageserver.scripts import ClientOptions
from dissectors.cvip import dissect
from tests import fixture_helpers
from tests.cli_helpers import ROOT
from tests.fixture_helpers import HOST, udp_ping
from tests.live_helpers import EventLoopThread

recorded = fixture_helpers.recorded  # the session-scoped recording, shared


def _serve_while(fixtures: Path, protocol: str, client) -> tuple[object, list]:
    """Serve ``fixtures`` on an ephemeral port while ``client(port)`` runs."""
    runner = EventLoopThread()
    address: dict[str, tuple[str, int]] = {}
    listening = threading.Event()

    def ready(addr: tuple[str, int]) -> None:
        address["at"] = addr
        listening.set()

    try:
        done = asyncio.run_coroutine_threadsafe(
            serve([read_set(fixtures)], ServeOptions(HOST, 0, protocol, 60.0, 0.5), ready),
            runner.loop)
        assert listening.wait(10)
        outcome = runner.call(client(address["at"][1]), timeout=60.0)
        verdicts, _ = done.result(60.0)
    finally:
        runner.close()
    return outcome, verdicts


def test_serve_answers_the_reference_cvip_client(recorded: Path) -> None:
    async def client(port: int) -> list[bool]:
        config = ClientConfig(host=HOST, port=port, ping_port=port, udp_port=port,
                              timeout=3.0, event_timeout=3.0)
        ok = [r.ok for name in ("configure", "events")
              for r in await run_client(config, name, duration=20.0)]
        ok.append(await udp_ping(port, txn=900) is not None)
        return ok

    ok, verdicts = _serve_while(recorded, "cvip", client)
    assert ok and all(ok), ok
    assert verdicts and {v.verdict for v in verdicts} == {"pass"}, \
        [(v.method, v.verdict, v.details) for v in verdicts if v.verdict != "pass"]
    assert any(v.protocol == "cvip-ping" and v.id == 900 for v in verdicts)


def test_serve_answers_the_reference_imageserver_client(recorded: Path) -> None:
    async def client(port: int) -> list[bool]:
        results = await run_scripts(HOST, port, ["browse", "live"],
                                    ClientOptions(live_ms=600.0))
        return [step.ok for steps in results.values() for step in steps]

    ok, verdicts = _serve_while(recorded, "imageserver", client)
    assert ok and all(ok), ok
    assert verdicts and {v.verdict for v in verdicts} == {"pass"}, \
        [(v.method, v.verdict, v.details) for v in verdicts if v.verdict != "pass"]


def test_serve_reports_unknown_and_unsent_requests(recorded: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cvipsniff", "serve", str(recorded), "--listen", f"{HOST}:0",
         "--protocol", "cvip", "--linger", "0.3", "--duration", "60", "--format", "json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "serving" in line, line
        port = int(line.rsplit(":", 1)[1])
        unknown = frame(method_call("cviUnit.reformatDisk", {}), 4321)

        async def ask() -> bytes:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(unknown)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(65536), 10)
            writer.close()
            return answer

        answer = asyncio.run(ask())
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    record = dissect(answer)
    assert record.kind == "ack" and record.txn == 4321
    assert record.attrs["ack_code"] == 0x01000004
    assert proc.returncode == 1, err
    report = json.loads(out)
    assert report["summary"]["no-fixture"] == 1
    assert report["summary"]["not-sent"] > 10 and report["summary"]["pass"] == 0
    unknown_verdict = next(t for t in report["transactions"] if t["verdict"] == "no-fixture")
    assert unknown_verdict["method"] == "cviUnit.reformatDisk"
    assert "error shape" in unknown_verdict["details"][0]
