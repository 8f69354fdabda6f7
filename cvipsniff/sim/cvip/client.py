"""asyncio CVIP client: drives the scripted scenarios of :mod:`cvipsniff.sim.cvip.script`
over real sockets (TCP for methods and pings, UDP for pings, unicast or broadcast).

The control connection has one reader task: answers go to the request waiting on their
transaction number, notifications to an event list. An event counts as "after" a step
when it arrived after that step's answer in the stream, so the script's view is the
same as in-process, whatever the timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from cvipsniff.sim.cvip.clientproto import (
    Answer,
    ClientConnection,
    Notification,
    PingAnswer,
    Unexpected,
)
from cvipsniff.sim.cvip.constants import COMMON_PORT, DEFAULT_PORT
from cvipsniff.sim.cvip.decode import parse_ping_response
from cvipsniff.sim.cvip.encode import ping_request
from cvipsniff.sim.cvip.script import (
    Action,
    AwaitEvents,
    CallAction,
    CallOutcome,
    EventIn,
    PingAction,
    PingOutcome,
    PingReply,
    ScenarioResult,
    ScriptContext,
    ScriptInfo,
    ScriptOptions,
    scripts_for,
)

MAX_EVENTS = 4096  # notifications kept per connection


@dataclass(slots=True)
class ClientConfig:
    """Where the unit is. UDP ports default to the TCP ones; ``broadcast`` allows the
    broadcast ping (sent to ``broadcast_address``)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    ping_port: int = COMMON_PORT
    udp_port: int | None = None
    udp_ping_port: int | None = None
    role: str = "device"
    timeout: float = 5.0
    event_timeout: float = 10.0
    broadcast: bool = False
    broadcast_address: str = "255.255.255.255"
    broadcast_window: float = 0.5


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: list[tuple[tuple[str, int], bytes]] = []
        self.arrived = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.replies.append(((str(addr[0]), int(addr[1])), data))
        self.arrived.set()


class AsyncDriver:
    """Performs script actions against a live server."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.conn = ClientConnection()
        self.ping_conn = ClientConnection()
        self.local_ip = "127.0.0.1"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Answer]] = {}
        self._events: list[EventIn] = []
        self._dropped_events = 0
        self._event_signal = asyncio.Event()
        self._watermark = 0
        self.unexpected: list[Unexpected] = []

    async def execute(self, action: Action) -> Any:
        if isinstance(action, CallAction):
            return await self._call(action)
        if isinstance(action, PingAction):
            return await self._ping(action)
        if isinstance(action, AwaitEvents):
            return await self._await(action)
        raise TypeError(f"unknown action {action!r}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        for future in self._pending.values():
            future.cancel()

    # --- control connection ---------------------------------------------------------

    async def _connect(self) -> None:
        if self._writer is not None:
            return
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.config.host, self.config.port), self.config.timeout)
        self.local_ip = self._writer.get_extra_info("sockname")[0]
        self._task = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                for incoming in self.conn.receive(data):
                    self._dispatch(incoming)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection closed"))
            self._event_signal.set()

    def _dispatch(self, incoming: Any) -> None:
        if isinstance(incoming, Answer):
            future = self._pending.pop(incoming.header.txn, None)
            if future is not None and not future.done():
                self._watermark = len(self._events)
                future.set_result(incoming)
            else:
                self.unexpected.append(Unexpected(incoming.data, "answer to no request"))
        elif isinstance(incoming, Notification):
            if len(self._events) < MAX_EVENTS:
                self._events.append(EventIn(incoming.header.response, incoming.call))
            else:
                self._dropped_events += 1
            self._event_signal.set()
        elif isinstance(incoming, PingAnswer):
            self.unexpected.append(Unexpected(incoming.data, "ping answer on the control link"))
        else:
            self.unexpected.append(incoming)

    async def _call(self, action: CallAction) -> CallOutcome:
        try:
            await self._connect()
        except (OSError, TimeoutError) as exc:
            return CallOutcome(action.method, 0, None, error=f"cannot connect: {exc}")
        assert self._writer is not None
        txn, data = self.conn.call(action.method, *action.params)
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[txn] = future
        started = time.perf_counter()
        try:
            self._writer.write(data)
            await self._writer.drain()
            answer = await asyncio.wait_for(future, self.config.timeout)
        except (TimeoutError, ConnectionError, OSError) as exc:
            self._pending.pop(txn, None)
            return CallOutcome(action.method, txn, None, error=f"no answer: {exc or 'timeout'}")
        latency = round((time.perf_counter() - started) * 1000.0, 3)
        return CallOutcome(action.method, txn, answer.response, answer.header.response,
                           latency, answer.error)

    async def _await(self, action: AwaitEvents) -> list[EventIn]:
        try:
            await self._connect()
        except (OSError, TimeoutError):
            return []
        deadline = time.monotonic() + action.timeout_s
        while len(self._events) - self._watermark < action.count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._task is None or self._task.done():
                break
            self._event_signal.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event_signal.wait(), remaining)
        got = self._events[self._watermark : self._watermark + action.count]
        self._watermark += len(got)
        return got

    # --- pings ------------------------------------------------------------------------

    async def _ping(self, action: PingAction) -> PingOutcome:
        cfg = self.config
        if action.transport == "tcp":
            return await self._ping_tcp(action, cfg.port if action.port == "cvip"
                                        else cfg.ping_port)
        tcp_port = cfg.port if action.port == "cvip" else cfg.ping_port
        port = (cfg.udp_port if action.port == "cvip" else cfg.udp_ping_port) or tcp_port
        return await self._ping_udp(action, port)

    async def _ping_tcp(self, action: PingAction, port: int) -> PingOutcome:
        cfg = self.config
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(cfg.host, port), cfg.timeout)
        except (OSError, TimeoutError) as exc:
            return PingOutcome(0, action.connection_type, error=f"cannot connect: {exc}")
        ip, local_port = writer.get_extra_info("sockname")[:2]
        txn = self.ping_conn.next_txn()
        outcome = PingOutcome(txn, action.connection_type)
        conn = ClientConnection()
        try:
            writer.write(ping_request(txn, ip, local_port, action.connection_type))
            await writer.drain()
            deadline = time.monotonic() + cfg.timeout
            while not outcome.replies and time.monotonic() < deadline:
                data = await asyncio.wait_for(reader.read(4096), deadline - time.monotonic())
                if not data:
                    break
                for incoming in conn.receive(data):
                    if isinstance(incoming, PingAnswer):
                        outcome.replies.append(
                            PingReply((cfg.host, port), len(incoming.data), incoming.ping))
        except (OSError, TimeoutError, ConnectionError) as exc:
            outcome.error = None if outcome.replies else f"no answer: {exc or 'timeout'}"
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        return outcome

    async def _ping_udp(self, action: PingAction, port: int) -> PingOutcome:
        cfg = self.config
        loop = asyncio.get_running_loop()
        collector = _Collector()
        try:
            if action.broadcast:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: collector, local_addr=("0.0.0.0", 0), allow_broadcast=True)
                target: tuple[str, int] | None = (cfg.broadcast_address, port)
            else:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: collector, remote_addr=(cfg.host, port))
                target = None
        except OSError as exc:
            return PingOutcome(0, action.connection_type, error=f"cannot open UDP: {exc}")
        try:
            ip, local_port = transport.get_extra_info("sockname")[:2]
            if ip in ("0.0.0.0", ""):
                ip = self.local_ip
            txn = self.ping_conn.next_txn()
            outcome = PingOutcome(txn, action.connection_type)
            transport.sendto(ping_request(txn, ip, local_port, action.connection_type), target)
            window = cfg.broadcast_window if action.broadcast else cfg.timeout
            with contextlib.suppress(TimeoutError):
                if action.broadcast:
                    await asyncio.sleep(window)
                else:
                    await asyncio.wait_for(collector.arrived.wait(), window)
            for source, data in collector.replies:
                ping = parse_ping_response(data)
                if ping is not None:
                    outcome.replies.append(PingReply(source, len(data), ping))
            if not outcome.replies:
                outcome.error = "no answer"
            return outcome
        finally:
            transport.close()


async def arun_script(info: ScriptInfo, options: ScriptOptions, driver: AsyncDriver
                      ) -> ScenarioResult:
    """Drive a script with an asynchronous driver (see script.run_script)."""
    ctx = ScriptContext(info.name, options)
    steps = info.script(ctx)
    outcome: Any = None
    try:
        while True:
            outcome = await driver.execute(steps.send(outcome))
    except StopIteration:
        pass
    except Exception as exc:
        ctx.result.error = f"{type(exc).__name__}: {exc}"
    return ctx.result


async def run_client(config: ClientConfig, scenario: str = "all",
                     duration: float | None = None) -> list[ScenarioResult]:
    """Run the selected scenarios one after another, each on a fresh connection.
    ``duration`` bounds the whole run; scenarios it cuts short are reported as errors."""
    infos = scripts_for(config.role, scenario)
    results: list[ScenarioResult] = []
    deadline = None if duration is None else time.monotonic() + duration
    for info in infos:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            results.append(ScenarioResult(info.name, config.role, error="time budget spent"))
            continue
        driver = AsyncDriver(config)
        options = ScriptOptions(
            role=config.role, client_ip=driver.local_ip, cvip_port=config.port,
            broadcast=config.broadcast, event_timeout_s=config.event_timeout,
        )
        try:
            result = await asyncio.wait_for(arun_script(info, options, driver), remaining)
        except TimeoutError:
            result = ScenarioResult(info.name, config.role, error="time budget spent")
        finally:
            await driver.close()
        results.append(result)
    return results
