"""Running client scripts against in-process peers and recording what went over the "wire".

No sockets: the client's bytes are fed to a :class:`~cvipsniff.sim.cvip.device.Session`
and the answers come straight back. A :class:`Recorder` writes each message into a
:class:`~cvipsniff.sim.transcript.Scenario` with its direction, a send time on a seeded
timeline (small device latencies, client think times, event spacing) and its truth.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

from cvipsniff.sim.cvip.clientproto import Answer, ClientConnection, Notification, classify
from cvipsniff.sim.cvip.constants import COMMON_PORT, DEFAULT_PORT, HEADER_SIZE, TXN_MASK
from cvipsniff.sim.cvip.decode import (
    DecodeError,
    Response,
    parse_body,
    parse_header,
    parse_ping_response,
)
from cvipsniff.sim.cvip.device import Peer, Session
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
)
from cvipsniff.sim.transcript import Conversation, MessageTruth, Scenario, WireMessage

Endpoint = tuple[str, int]
# Scenario time zero: the date of the spec's last revision, a plausible "now" for units.
EPOCH = datetime(2015, 9, 9, 10, 0, 0)
BROADCAST = "255.255.255.255"


class Recorder:
    """A scenario under construction: conversations, a clock, and truth for each message.

    Time only moves forward; ``now`` is in milliseconds from the scenario start."""

    def __init__(self, name: str, description: str, seed: int) -> None:
        self.scenario = Scenario(name, description)
        self.rng = random.Random(f"cvip-scenario:{seed}:{name}")
        self.now = 0.0
        # Methods asked and not yet answered, per conversation and transaction (FIFO, so
        # a duplicate transaction number still pairs in order).
        self._pending: dict[int, dict[int, list[str]]] = {}

    # clock
    def clock(self) -> datetime:
        return EPOCH + timedelta(milliseconds=self.now)

    def latency(self) -> float:
        """Time for a unit to answer over a LAN: a fraction of a millisecond to a few."""
        return round(self.rng.uniform(0.35, 3.2), 3)

    def think(self) -> float:
        """Time a client takes between an answer and its next request."""
        return round(self.rng.uniform(1.5, 18.0), 3)

    def advance(self, low: float, high: float) -> float:
        self.now = round(self.now + self.rng.uniform(low, high), 3)
        return self.now

    def ephemeral_port(self) -> int:
        return self.rng.randint(49152, 65535)

    def first_txn(self) -> int:
        return self.rng.randint(1, 0x0400)

    # conversations
    def conversation(self, transport: Literal["tcp", "udp"], client: Endpoint,
                     server: Endpoint) -> Conversation:
        conv = Conversation(transport, client, server)
        self.scenario.conversations.append(conv)
        self._pending[id(conv)] = {}
        return conv

    def record(
        self,
        conv: Conversation,
        direction: int,
        data: bytes,
        *,
        t_ms: float | None = None,
        violations: Iterable[str] = (),
        kind: str | None = None,
        method: str | None = None,
        is_response: bool | None = None,
        src: Endpoint | None = None,
        dst: Endpoint | None = None,
    ) -> WireMessage:
        """Add a message; its truth comes from the bytes unless overridden (a deliberately
        broken message whose bytes no longer say what it is)."""
        truth = truth_of(data)
        if kind is not None:
            truth.kind = kind
        if is_response is not None:
            truth.is_response = is_response
        if method is not None:
            truth.method = method
        pending = self._pending.setdefault(id(conv), {})
        if truth.protocol == "cvip" and isinstance(truth.txn, int):
            if truth.kind == "request" and truth.method:
                pending.setdefault(truth.txn, []).append(truth.method)
            elif truth.is_response and pending.get(truth.txn):
                asked = pending[truth.txn].pop(0)
                if truth.method is None:
                    truth.method = asked
        truth.violations = list(violations)
        message = WireMessage(direction, data, self.now if t_ms is None else t_ms, truth, src, dst)
        conv.messages.append(message)
        return message

    def finish(self) -> Scenario:
        """Messages of each conversation in time order (stable for equal times)."""
        for conv in self.scenario.conversations:
            conv.messages.sort(key=lambda m: m.t_ms)
        self.scenario.conversations = [c for c in self.scenario.conversations if c.messages]
        return self.scenario


def truth_of(data: bytes) -> MessageTruth:
    """What a CVIP message is, read from its bytes by the peers' own decoder."""
    header = parse_header(data)
    if header is None:
        return MessageTruth("cvip", "unknown")
    if header.msg_type == 0x01:
        kind = "ping-response" if header.response else "ping-request"
        return MessageTruth("cvip-ping", kind, header.txn, None, header.response)
    try:
        document = parse_body(data[HEADER_SIZE:])
    except DecodeError:
        return MessageTruth("cvip", "unknown", header.txn, None, header.response)
    if isinstance(document, Response):
        if document.fault is not None:
            kind = "fault"
        elif document.error_code is not None:
            kind = "ack"
        else:
            kind = "response"
        return MessageTruth("cvip", kind, header.txn, document.method, True)
    kind = "event" if document.method == "cviEvent.notify" else "request"
    return MessageTruth("cvip", kind, header.txn, document.method, False)


class TcpChannel:
    """A client TCP connection to an in-process peer, recorded as one conversation."""

    def __init__(self, recorder: Recorder, peer: Peer, client: Endpoint, server: Endpoint,
                 *, common_port: bool = False) -> None:
        self.recorder = recorder
        self.peer = peer
        self.conv = recorder.conversation("tcp", client, server)
        self.session: Session = peer.open_session(common_port=common_port)
        self.conn = ClientConnection(recorder.first_txn())

    def send(self, data: bytes, **truth: Any) -> list[bytes]:
        """Record the client's message now and return the peer's answers (unrecorded)."""
        self.recorder.record(self.conv, 0, data, **truth)
        return self.session.feed(data)

    def answer(self, data: bytes, *, after: float | None = None, **truth: Any) -> float:
        """Record an answer from the unit ``after`` ms (a fresh latency by default)."""
        t = round(self.recorder.now + (self.recorder.latency() if after is None else after), 3)
        self.recorder.record(self.conv, 1, data, t_ms=t, **truth)
        return t

    def exchange(self, data: bytes, **truth: Any) -> list[bytes]:
        """Send, record the answers at realistic times, move the clock past them."""
        answers = self.send(data, **truth)
        t = self.recorder.now
        for answer in answers:
            t = self.answer(answer)
            self.recorder.now = t
        self.recorder.now = round(t + self.recorder.think(), 3)
        return answers

    def close(self) -> None:
        self.peer.close_session(self.session)


class InProcessDriver:
    """Performs script actions against in-process peers while recording them."""

    def __init__(
        self,
        recorder: Recorder,
        peer: Peer,
        *,
        client_ip: str,
        server_ip: str,
        responders: Iterable[tuple[str, Peer]] = (),
        port: int = DEFAULT_PORT,
        common_port: int = COMMON_PORT,
    ) -> None:
        self.recorder = recorder
        self.peer = peer
        self.client_ip = client_ip
        self.server_ip = server_ip
        self.responders = list(responders) or [(server_ip, peer)]
        self.port = port
        self.common_port = common_port
        self.main: TcpChannel | None = None
        self._ping_txn = recorder.first_txn() - 1

    def execute(self, action: Action) -> Any:
        if isinstance(action, CallAction):
            return self._call(action)
        if isinstance(action, PingAction):
            return self._ping(action)
        if isinstance(action, AwaitEvents):
            return self._await(action)
        raise TypeError(f"unknown action {action!r}")

    def close(self) -> None:
        if self.main is not None:
            self.main.close()

    def _channel(self) -> TcpChannel:
        if self.main is None:
            client = (self.client_ip, self.recorder.ephemeral_port())
            self.main = TcpChannel(self.recorder, self.peer, client, (self.server_ip, self.port))
        return self.main

    def _call(self, action: CallAction) -> CallOutcome:
        channel = self._channel()
        txn, data = channel.conn.call(action.method, *action.params)
        sent_at = self.recorder.now
        answers = channel.exchange(data)
        outcome = CallOutcome(action.method, txn, None, error="no answer")
        for raw in answers:
            incoming = classify(raw)
            if isinstance(incoming, Answer) and incoming.header.txn == txn:
                outcome = CallOutcome(
                    action.method, txn, incoming.response, incoming.header.response,
                    latency_ms=None, error=incoming.error,
                )
        last = channel.conv.messages[-1].t_ms if answers else sent_at
        outcome.latency_ms = round(last - sent_at, 3) if answers else None
        return outcome

    def _next_ping_txn(self) -> int:
        self._ping_txn = self._ping_txn % TXN_MASK + 1
        return self._ping_txn

    def _ping(self, action: PingAction) -> PingOutcome:
        rec = self.recorder
        port = self.port if action.port == "cvip" else self.common_port
        common = action.port == "common"
        client = (self.client_ip, rec.ephemeral_port())
        txn = self._next_ping_txn()
        request = ping_request(txn, self.client_ip, client[1], action.connection_type)
        outcome = PingOutcome(txn, action.connection_type)
        if action.transport == "tcp":
            channel = TcpChannel(rec, self.peer, client, (self.server_ip, port),
                                 common_port=common)
            for answer in channel.exchange(request):
                ping = parse_ping_response(answer)
                if ping is not None:
                    outcome.replies.append(PingReply((self.server_ip, port), len(answer), ping))
            channel.close()
            return outcome
        target = BROADCAST if action.broadcast else self.server_ip
        conv = rec.conversation("udp", client, (target, port))
        dst = (target, port) if action.broadcast else None
        rec.record(conv, 0, request, dst=dst)
        units = self.responders if action.broadcast else [(self.server_ip, self.peer)]
        answered = []
        for ip, unit in units:
            for answer in unit.handle_datagram(request, common_port=common):
                answered.append((rec.latency() + (1.5 if action.broadcast else 0.0), ip, answer))
        end = rec.now
        for delay, ip, answer in sorted(answered, key=lambda a: a[0]):
            t = round(rec.now + delay, 3)
            src = (ip, port) if action.broadcast else None
            rec.record(conv, 1, answer, t_ms=t, src=src, dst=client if src else None)
            end = max(end, t)
            ping = parse_ping_response(answer)
            if ping is not None:
                outcome.replies.append(PingReply((ip, port), len(answer), ping))
        rec.now = round(end + rec.think(), 3)
        return outcome

    def _await(self, action: AwaitEvents) -> list[EventIn]:
        channel = self._channel()
        got: list[EventIn] = []
        for _ in range(64):  # the simulated detector cycles all types well within this
            if len(got) >= action.count:
                break
            self.recorder.advance(120.0, 900.0)
            for session, data in self.peer.tick():
                if session is not channel.session:
                    continue
                self.recorder.record(channel.conv, 1, data)
                incoming = classify(data)
                if isinstance(incoming, Notification):
                    got.append(EventIn(incoming.header.response, incoming.call))
        self.recorder.now = round(self.recorder.now + self.recorder.think(), 3)
        return got
