"""Scenario transcripts: the contract between the reference peers and the capture synthesizer.

A peer (or a scripted client/server pair run in-process) produces a :class:`Scenario`: the
exact bytes each side sent, when, and what each message *is* (the truth). The synthesizer
lays a scenario out as packets (TCP handshake, segmentation, impairments) and writes the
capture plus a truth file in which every message and every injected violation carries the
frame numbers it ended up in. Nothing here knows how to encode either protocol.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(slots=True)
class MessageTruth:
    """What a message is, as the party that produced it knows it.

    ``protocol`` is ``cvip``, ``cvip-ping`` or ``imageserver``; ``kind`` uses the same
    vocabulary as :class:`dissectors.base.Record` (``request``, ``response``, ``ack``,
    ``event``, ``fault``, ``ping-request``, ``ping-response``, ``imageresponse``,
    ``livepackage``). ``txn`` is the CVIP transaction number or ImageServer requestid.
    ``violations`` lists the rule ids (docs/RULES.md) deliberately broken in this message
    (or, for the field-shape captures, the rules an analyser reports on it).
    """

    protocol: str
    kind: str
    txn: int | str | None = None
    method: str | None = None
    is_response: bool = False
    violations: list[str] = field(default_factory=list)
    # An answer that carries no id (``txn`` None) still answers a request its producer
    # knows: that request's ``txn``, so the truth can pair it.
    answers: int | str | None = None


@dataclass(slots=True)
class WireMessage:
    """One application message as sent: ``direction`` 0 is client → server.

    ``t_ms`` is the send time in milliseconds from the scenario start (scenarios
    interleave conversations on one timeline). For UDP, ``src``/``dst`` may override the
    conversation's endpoints (a broadcast ping answered by several devices).
    """

    direction: int
    data: bytes
    t_ms: float
    truth: MessageTruth
    src: tuple[str, int] | None = None
    dst: tuple[str, int] | None = None


@dataclass(slots=True)
class Conversation:
    """A TCP connection or a UDP exchange between a client and a server endpoint."""

    transport: Literal["tcp", "udp"]
    client: tuple[str, int]
    server: tuple[str, int]
    messages: list[WireMessage] = field(default_factory=list)


@dataclass(slots=True)
class Scenario:
    """A named set of conversations on one timeline, with a sentence saying what it shows."""

    name: str
    description: str
    conversations: list[Conversation] = field(default_factory=list)
    # Expected transactions beyond simple request/response pairs (e.g. a live stream),
    # filled in by the producer when it knows better than the synthesizer.
    notes: dict[str, Any] = field(default_factory=dict)

    def to_jsonable(self) -> dict[str, Any]:
        """Plain data (bytes as latin-1 strings are avoided: data is omitted here)."""
        out = asdict(self)
        for conv in out["conversations"]:
            for msg in conv["messages"]:
                msg["data"] = len(msg["data"])
        return out
