"""Running the reference client against the reference server in one process, no sockets.

A small discrete-event loop on a simulated clock: requests and answers travel with a short,
seeded loopback latency, the server spends a little seeded time per answer (more for big
pictures), and live frames fall due on the server's own schedule. Every message either side
sends is recorded as a :class:`~cvipsniff.sim.transcript.WireMessage` with its send time, so
the result is a transcript the capture synthesizer can lay out as packets.

*Faults* model a broken server: each is a function given every :class:`Send` before it
goes on the wire, returning it (possibly changed, with its truth naming the rule it now
breaks) or ``None`` to drop it. The client sees exactly the bytes recorded.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cvipsniff.sim.imageserver.client_logic import (
    ClientContext,
    Request,
    ScenarioClient,
    Step,
    StepResult,
)
from cvipsniff.sim.imageserver.server_logic import Notice, RecordingServer, Send, ServerOutput
from cvipsniff.sim.transcript import Conversation, MessageTruth, WireMessage

Fault = Callable[[Send], Send | None]

SERVER_PORT = 7563
SIM_TIME_CAP_MS = 10 * 60 * 1000.0  # a runaway script ends here
EVENT_CAP = 200_000


@dataclass(slots=True)
class ConversationRun:
    """One connection's transcript and what the client made of it."""

    conversation: Conversation
    results: list[StepResult]
    notices: list[str] = field(default_factory=list)
    end_ms: float = 0.0


def run_conversation(steps: Sequence[Step], context: ClientContext, server: RecordingServer,
                     *, rng: random.Random, start_ms: float = 0.0,
                     client: tuple[str, int] | None = None,
                     server_addr: tuple[str, int] = ("127.0.0.1", SERVER_PORT),
                     faults: Sequence[Fault] = ()) -> ConversationRun:
    """Run ``steps`` against ``server`` from ``start_ms`` until the client is done."""
    client_addr = client or ("127.0.0.1", 40000 + rng.randrange(20000))
    conv = Conversation("tcp", client_addr, server_addr)
    run = ConversationRun(conv, [])
    peer = ScenarioClient(list(steps), context, start_ms=start_ms)
    events: list[tuple[float, int, int, bytes]] = []  # (time, seq, direction, data)
    seq = 0
    last_sent = [start_ms, start_ms]  # per direction: TCP keeps each direction in order

    def one_way(size: int) -> float:
        # loopback: tens to hundreds of microseconds, plus ~1 GB/s of copying
        return rng.uniform(0.04, 0.25) + size / 1_000_000.0

    def transmit(direction: int, data: bytes, at: float, truth: MessageTruth) -> None:
        nonlocal seq
        at = max(at, last_sent[direction])
        last_sent[direction] = at
        conv.messages.append(WireMessage(direction, data, round(at, 3), truth))
        seq += 1
        heapq.heappush(events, (at + one_way(len(data)), seq, direction, data))

    def from_client(requests: list[Request]) -> None:
        for req in requests:
            transmit(0, req.data, req.at_ms, req.truth)

    def from_server(outputs: list[ServerOutput], now: float) -> None:
        for out in outputs:
            if isinstance(out, Notice):
                run.notices.append(out.text)
                continue
            item: Send | None = out
            for fault in faults:
                if item is None:
                    break
                item = fault(item)
            if item is None:
                continue
            # Work before the answer leaves: ~0.2–1 ms, plus ~20 MB/s of picture handling.
            cost = rng.uniform(0.2, 1.0) + len(item.data) / 20_000.0
            transmit(1, item.data, max(item.at_ms, now) + cost, item.truth)

    now = start_ms
    for _ in range(EVENT_CAP):
        candidates = []
        if events:
            candidates.append(events[0][0])
        if not peer.done:
            for deadline in (peer.next_deadline(), server.next_deadline()):
                if deadline is not None:
                    candidates.append(max(deadline, now))
        if not candidates:
            break
        now = min(candidates)
        if now > start_ms + SIM_TIME_CAP_MS:
            run.notices.append("simulated time cap reached; conversation cut short")
            break
        if events and events[0][0] <= now:
            _, _, direction, data = heapq.heappop(events)
            if direction == 0:
                from_server(server.receive(data, now), now)
            else:
                peer.receive(data, now)
        elif not peer.done and (d := server.next_deadline()) is not None and d <= now:
            from_server(server.poll(now), now)
        from_client(peer.poll(now))
    server.connection_lost()
    if not peer.done:
        peer.connection_closed(now)
    run.results = peer.results
    run.end_ms = max(now, *last_sent)
    conv.messages.sort(key=lambda m: m.t_ms)  # stable: each direction already in order
    return run
