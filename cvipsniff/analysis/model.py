"""Transactions and findings: what the analysis adds on top of messages.

Both are small and hold *references* to messages (number, frames, time), never the
messages' bytes, so a report over a large capture keeps memory flat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from sys import intern
from typing import NamedTuple

from cvipsniff.model import Message

_new_tuple = tuple.__new__  # a named tuple made without its generated __new__

# Transaction states.
ANSWERED = "answered"
UNANSWERED = "unanswered"
ORPHAN = "orphan"  # a response no outstanding request explains
DUPLICATE = "duplicate"  # superseded by a request reusing its id while outstanding
EVENT = "event"  # an asynchronous notification (CVIP cviEvent.notify)
ONEWAY = "oneway"  # a request the spec says gets no answer (ImageServer adaptive `live`)
# Capture limits, not the peers' doing (reported as info):
ANSWER_LOST = "answer_lost"  # no answer seen, but bytes of the answering side were lost after it
REQUEST_BEFORE_CAPTURE = "request_before_capture"  # an answer on a flow picked up mid-session
# before any request of it was captured: its request predates the capture
STATES = (ANSWERED, UNANSWERED, ORPHAN, DUPLICATE, EVENT, ONEWAY, ANSWER_LOST,
          REQUEST_BEFORE_CAPTURE)


class MessageRef(NamedTuple):
    """Where a message is, without its bytes. Immutable; a named tuple rather than a
    frozen dataclass because one is made for every message of an analysis, and a frozen
    dataclass's ``__init__`` (an ``object.__setattr__`` call per field) cost three times
    as much. Its fields are also what the transaction log keeps (``tuple(ref)``)."""

    number: int
    frames: tuple[int, ...]
    ts_ns: int
    kind: str
    method: str | None

    @classmethod
    def of(cls, msg: Message) -> MessageRef:
        """The reference kept for a whole report: kind and method names are shared (one
        string per distinct name, not one per message: 7% of a report's memory)."""
        kind, method = msg.record.kind, msg.record.method
        return _new_tuple(cls, (msg.number, tuple(msg.frames), msg.ts_ns,
                                intern(kind) if type(kind) is str else kind,
                                intern(method) if type(method) is str else method))


def latency_ms_of(request: MessageRef | None, responses: Sequence[MessageRef]) -> float | None:
    """Request to first answer in milliseconds, as Wireshark's SRT measures it; None
    without a request or an answer. (The report's row writer and the analysis's
    response-time table compute the same inline, on their hot paths.)"""
    if request is None or not responses:
        return None
    return (responses[0].ts_ns - request.ts_ns) / 1e6


@dataclass(slots=True)
class Transaction:
    """A request and what answered it (or an orphan response, or an event).

    ``number`` is the transaction's own 1-based index in the analysis (findings refer to
    it); ``id`` is the protocol's id (CVIP transaction number, ImageServer requestid).
    """

    number: int
    protocol: str
    id: int | str | None
    flow: int
    method: str | None
    state: str
    request: MessageRef | None = None
    responses: list[MessageRef] = field(default_factory=list)
    expects: str = "one"  # "one", "many" (live stream, broadcast ping), "none"

    @property
    def latency_ms(self) -> float | None:
        """Request to first answer, as Wireshark's SRT measures it."""
        return latency_ms_of(self.request, self.responses)

    @property
    def frames(self) -> list[int]:
        out: list[int] = list(self.request.frames) if self.request else []
        for r in self.responses:
            out.extend(r.frames)
        return out


@dataclass(slots=True)
class Finding:
    """One departure from the spec (or a transport problem), located in the capture."""

    rule: str
    severity: str
    message: str
    spec: str
    frames: list[int]
    transaction: int | None = None
    message_number: int | None = None
    flow: int | None = None
    protocol: str | None = None
    # What explains the finding without being a finding (how a malformed body was read).
    notes: tuple[str, ...] = ()
