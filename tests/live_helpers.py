"""Test doubles and real peers shared by the live-capture tests (sniff, LiveSession,
the live TUI): a scripted frame source, and the reference CVIP and ImageServer peers
running on 127.0.0.1 in an event loop of their own."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from cvipsniff.live import SourceOptions, SourceStats
from cvipsniff.live.errors import capture_failed
from cvipsniff.model import Frame, TransportNote
from cvipsniff.sim.cvip.client import ClientConfig, run_client
from cvipsniff.sim.cvip.server import CvipServer, ServerConfig
from cvipsniff.sim.imageserver.client import run_scripts
from cvipsniff.sim.imageserver.scripts import ClientOptions
from cvipsniff.sim.imageserver.server import ReferenceServer

HOST = "127.0.0.1"


class ScriptedSource:
    """A FrameSource the test feeds: ``push`` frames, optionally end by itself when it
    has handed everything over (like a capture of a finite exchange)."""

    backend = "scripted"
    latency_ns = 0

    def __init__(self, frames: list[Frame] = (), *, end_when_empty: bool = False,
                 batch: int = 64, fail_after: int | None = None,
                 refuse: Exception | None = None) -> None:
        self.interface = "test0"
        self.capture_filter = "tcp"
        self.error: Exception | None = None
        self.frames: queue.Queue[Frame] = queue.Queue()
        for f in frames:
            self.frames.put(f)
        self.end_when_empty = end_when_empty
        self.batch = batch
        self.fail_after = fail_after
        self.refuse = refuse
        self.delivered = 0
        self.last_ts = 0
        self.stopped = False
        self.closed = False
        self._ended = False

    def __call__(self, interface: str, capture_filter: str, options: SourceOptions
                 ) -> ScriptedSource:
        return self  # the session's factory

    def push(self, frame: Frame) -> None:
        self.frames.put(frame)

    def open(self) -> None:
        if self.refuse is not None:
            raise self.refuse

    def read(self, timeout_s: float) -> list[Frame]:
        out: list[Frame] = []
        try:
            out.append(self.frames.get(timeout=min(timeout_s, 0.05) if timeout_s else 0))
            while len(out) < self.batch:
                out.append(self.frames.get_nowait())
        except queue.Empty:
            pass
        for f in out:
            self.delivered += 1
            self.last_ts = f.ts_ns
            if self.fail_after is not None and self.delivered >= self.fail_after:
                self.error = capture_failed(self.interface, "capture stopped: Network is down")
        if self.stopped or (self.end_when_empty and self.frames.empty()):
            self._ended = True
        return out

    def stop(self) -> None:
        self.stopped = True

    @property
    def ended(self) -> bool:
        return self._ended

    def stats(self) -> SourceStats:
        return SourceStats(dropped=3, final=True)

    def take_notes(self) -> list[TransportNote]:
        return []

    def close(self) -> None:
        self.closed = True
        self._ended = True


class EventLoopThread:
    """An asyncio loop in a daemon thread: servers live there while the test drives."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass(frozen=True, slots=True)
class Verdict:
    """One client step's verdict; true when the peer answered as the spec says."""

    scenario: str
    step: str
    ok: bool
    detail: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return f"{self.scenario}/{self.step}: {self.detail}"


def failures(verdicts: list[Verdict]) -> str:
    """What failed, for an assertion message (empty when nothing did)."""
    return "; ".join(str(v) for v in verdicts if not v)


@dataclass
class Peers:
    """The CVIP reference device and the ImageServer reference server."""

    runner: EventLoopThread
    cvip: CvipServer
    imageserver: ReferenceServer
    imageserver_port: int
    ports: dict[str, int] = field(default_factory=dict)

    @classmethod
    def start(cls) -> Peers:
        runner = EventLoopThread()

        async def up() -> tuple[CvipServer, ReferenceServer, int]:
            cvip = CvipServer(ServerConfig(host=HOST, port=0, ping_port=0, role="device",
                                           event_interval=0.2))
            await cvip.start()
            imageserver = ReferenceServer()
            _, port = await imageserver.start(HOST, 0)
            return cvip, imageserver, port

        cvip, imageserver, port = runner.call(up())
        return cls(runner, cvip, imageserver, port, dict(cvip.ports))

    def decode_as(self) -> list[str]:
        """``-d`` rules that map the ephemeral ports to their protocols."""
        p = self.ports
        rules = []
        for port in sorted({p["tcp"], p["tcp_common"]}):
            rules += ["-d", f"tcp.port=={port},cvip"]
        for port in sorted({p["udp"], p["udp_common"]}):
            rules += ["-d", f"udp.port=={port},cvip"]
        rules += ["-d", f"tcp.port=={self.imageserver_port},imageserver"]
        return rules

    def capture_filter(self) -> str:
        """The peers' own traffic and nothing else: each port with its protocol (the
        ImageServer's number may be another test's UDP port at the same moment)."""
        p = self.ports
        tcp = sorted({p["tcp"], p["tcp_common"], self.imageserver_port})
        udp = sorted({p[key] for key in ("udp", "udp_common") if key in p})
        terms = [f"tcp port {port}" for port in tcp] + [f"udp port {port}" for port in udp]
        return f"host {HOST} and (" + " or ".join(terms) + ")"

    def _client_config(self) -> ClientConfig:
        p = self.ports
        return ClientConfig(host=HOST, port=p["tcp"], ping_port=p["tcp_common"],
                            udp_port=p["udp"], udp_ping_port=p["udp_common"], role="device",
                            timeout=3.0, event_timeout=3.0)

    def run_cvip_clients(self) -> list[Verdict]:
        """The CVIP half of :meth:`run_clients`: each step's verdict."""
        config = self._client_config()

        async def clients() -> list[Verdict]:
            verdicts: list[Verdict] = []
            for name in ("discovery", "configure", "events", "device-services"):
                for result in await run_client(config, name, duration=15.0):
                    if result.error is not None:
                        verdicts.append(Verdict(result.name, "(scenario)", False, result.error))
                    verdicts.extend(Verdict(result.name, step.name, step.ok, step.detail)
                                    for step in result.steps)
            return verdicts

        return self.runner.call(clients(), timeout=60.0)

    def run_imageserver_clients(self) -> list[Verdict]:
        """The ImageServer half of :meth:`run_clients`: each step's verdict."""

        async def clients() -> list[Verdict]:
            results = await run_scripts(HOST, self.imageserver_port,
                                        ["browse", "live", "control"],
                                        ClientOptions(live_ms=400.0))
            return [Verdict(script, step.name, step.ok, step.detail)
                    for script, steps in results.items() for step in steps]

        return self.runner.call(clients(), timeout=60.0)

    def run_clients(self) -> list[Verdict]:
        """A bounded set of scripted scenarios of both protocols; each step's verdict."""
        return self.run_cvip_clients() + self.run_imageserver_clients()

    def close(self) -> None:
        async def down() -> None:
            await self.imageserver.close()
            await self.cvip.close()

        try:
            self.runner.call(down(), timeout=10.0)
        finally:
            self.runner.close()
