"""The realistic benchmark mix: many small conformant sessions of every kind of exchange.

Where the large-image mix (bench.py) is a few hundred long flows heavy with JPEG bytes,
this one is what a site's day looks like: thousands of short connections, each one of the
reference peers' conformant sessions (CVIP discovery pings over UDP and TCP, service
discovery, configuration with requests, responses and acks, events, firmware, device, NVR
and master-server services; ImageServer browse with images, live with live packages,
multipart, PTZ and control, a refused connect), replayed from fresh client addresses and
overlapping in time. Only a few findings: the sessions are the spec's own use cases.

Deterministic for a seed; written in chunks of sessions one after the other on the
timeline, so the generator's memory stays flat whatever the size.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from cvipsniff.capture import PcapWriter
from cvipsniff.sim.synth import BASE_EPOCH_NS, Synthesizer
from cvipsniff.sim.transcript import Conversation, Scenario, WireMessage

# Sessions laid out together (overlapping in time) per synthesizer run.
CHUNK_SESSIONS = 20
# Images far larger than the rest (a 200 KB recording) belong to the other mix.
MAX_SESSION_BYTES = 180_000
# Every this many sessions, one loses its last answer (the capture ends first): the few
# findings of a realistic capture.
UNANSWERED_EVERY = 400


def _templates(seed: int) -> list[list[Conversation]]:
    """One session per reference scenario: the conversations it is made of."""
    from cvipsniff.sim.cvip.scenarios import build_scenarios as cvip_scenarios
    from cvipsniff.sim.imageserver.scenarios import build_scenarios as imageserver_scenarios

    out = []
    for scenario in (*cvip_scenarios(seed), *imageserver_scenarios(seed)):
        convs = [c for c in scenario.conversations
                 if not any(m.truth.violations for m in c.messages)]
        if convs and sum(len(m.data) for c in convs for m in c.messages) <= MAX_SESSION_BYTES:
            out.append(convs)
    return out


def _moved(msg: WireMessage, offset_ms: float, old: tuple[str, int],
           new: tuple[str, int]) -> WireMessage:
    src = new if msg.src is not None and tuple(msg.src) == tuple(old) else msg.src
    dst = new if msg.dst is not None and tuple(msg.dst) == tuple(old) else msg.dst
    return replace(msg, t_ms=msg.t_ms + offset_ms, src=src, dst=dst)


def _session(template: list[Conversation], index: int, offset_ms: float) -> list[Conversation]:
    """A replay of one session from client host 10.x.y.z (``index`` makes it unique)."""
    host = f"10.{64 + index // 62500 % 64}.{index // 250 % 250}.{index % 250 + 1}"
    out = []
    for n, conv in enumerate(template):
        client = (host, 20000 + (index * 7 + n) % 40000)
        server = conv.server if not conv.server[0].startswith("127.") \
            else ("10.200.0.1", conv.server[1])
        messages = [_moved(m, offset_ms, conv.client, client) for m in conv.messages]
        if n == 0 and index % UNANSWERED_EVERY == UNANSWERED_EVERY - 1 \
                and len(messages) > 2 and messages[-1].truth.is_response:
            messages.pop()
        out.append(Conversation(conv.transport, client, server, messages))
    return out


def generate(path: Path, size_mb: int, seed: int = 5) -> None:
    """Write about ``size_mb`` MB of sessions to ``path`` (pcap, nanosecond times)."""
    rng = random.Random(seed)
    templates = _templates(seed)
    target = size_mb * 1_000_000
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    start_ns = BASE_EPOCH_NS
    index = 0
    with tmp.open("wb") as fh:
        writer = PcapWriter(fh, 1, snaplen=262144, nanosecond=True)
        chunk = 0
        while fh.tell() < target:
            scenario = Scenario(f"sessions-{chunk}", "conformant sessions")
            for _ in range(CHUNK_SESSIONS):
                template = templates[rng.randrange(len(templates))]
                scenario.conversations.extend(
                    _session(template, index, rng.random() * 20_000.0))
                index += 1
            synth = Synthesizer(scenario, seed=seed + chunk, start_ns=start_ns)
            last = start_ns
            for frame in synth.frames():
                writer.write(frame)
                last = frame.ts_ns
            start_ns = last + 1_000_000
            chunk += 1
        writer.close()
    tmp.replace(path)
