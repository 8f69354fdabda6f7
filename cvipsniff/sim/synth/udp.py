"""A UDP exchange laid out as datagrams on a timeline, with the impairments that make
sense without a byte stream: loss, duplication, reordering and a late capture start.

Each message is one datagram. Its endpoints are the conversation's, or the message's own
``src``/``dst`` when a producer overrides them (a broadcast ping answered by several
devices is one conversation but several address pairs, hence several flows).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cvipsniff.sim.synth.impairments import Impairments
from cvipsniff.sim.synth.tcp import TAG_BEFORE_CAPTURE, TAG_DUPLICATE, TAG_LOST

Endpoint = tuple[str, int]


@dataclass(slots=True, eq=False)
class Datagram:
    """One UDP datagram as the capture point sees it; ``message`` indexes the
    conversation's messages. ``frame`` is filled in by the packetizer."""

    message: int
    direction: int
    t_ns: int
    src: Endpoint
    dst: Endpoint
    payload: bytes
    captured: bool = True
    tag: str = ""
    frame: int = 0
    frames: tuple[int, ...] = ()
    touched: bool = False


@dataclass(slots=True)
class UdpEvent:
    name: str
    datagrams: tuple[Datagram, ...]


@dataclass(slots=True)
class UdpLayout:
    datagrams: list[Datagram]
    events: list[UdpEvent] = field(default_factory=list)
    mid_session: bool = False


def layout(datagrams: list[Datagram], imp: Impairments, rng: random.Random) -> UdpLayout:
    """Apply the datagram impairments; the list is in send order with times set."""
    events: list[UdpEvent] = []
    for _ in range(imp.reorder):
        # Swap two consecutive datagrams of one direction: never a reply before its
        # request. Without such a pair there is nothing to reorder.
        pairs = [i for i in range(len(datagrams) - 1)
                 if datagrams[i].direction == datagrams[i + 1].direction
                 and not datagrams[i].touched and not datagrams[i + 1].touched]
        if not pairs:
            break
        i = rng.choice(pairs)
        a, b = datagrams[i], datagrams[i + 1]
        a.t_ns, b.t_ns = b.t_ns, a.t_ns
        datagrams[i], datagrams[i + 1] = b, a
        a.touched = b.touched = True
        events.append(UdpEvent("reorder", (b, a)))
    for _ in range(imp.duplicate):
        candidates = [i for i, d in enumerate(datagrams) if not d.touched]
        if not candidates:
            break
        i = rng.choice(candidates)
        original = datagrams[i]
        copy = Datagram(original.message, original.direction, original.t_ns + 1_000,
                        original.src, original.dst, original.payload, tag=TAG_DUPLICATE,
                        touched=True)
        original.touched = True
        datagrams.insert(i + 1, copy)
        events.append(UdpEvent("duplicate", (original, copy)))
    for _ in range(imp.loss):
        candidates = [i for i, d in enumerate(datagrams) if not d.touched]
        if not candidates:
            break
        lost = datagrams[rng.choice(candidates)]
        lost.captured = False
        lost.touched = True
        lost.tag = TAG_LOST
        events.append(UdpEvent("loss", (lost,)))
    if imp.midstream is not None:
        dropped = []
        for d in datagrams[: imp.midstream]:
            if d.captured:
                d.captured = False
                d.tag = d.tag or TAG_BEFORE_CAPTURE
                dropped.append(d)
        events.append(UdpEvent("midstream", tuple(dropped)))
    last = None
    for d in datagrams:
        if last is not None and d.t_ns < last:
            d.t_ns = last
        last = d.t_ns
    return UdpLayout(datagrams, events, mid_session=imp.midstream is not None)
