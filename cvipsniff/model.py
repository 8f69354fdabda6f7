"""The record model shared by every stage of the data flow.

``source → Frame → Packet → flow events → Message → Transaction → Finding → sinks``

Kept deliberately small and flat: the hot per-packet path creates one :class:`Frame` and
at most one :class:`Packet` per captured frame, and flow events only when bytes move.
JSON output is a direct rendering of these classes (see :mod:`cvipsniff.render`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar

from dissectors.base import Record

_T = TypeVar("_T")


def pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Pickle (and copy) a slotted dataclass as its class called with its fields.

    Why: CPython 3.11 pickles a ``slots=True`` dataclass through its generated
    ``__getstate__``/``__setstate__``, a Python loop over ``dataclasses.fields`` on
    each side. The ~10,000 flows, flow ends and notes one worker of a split sends the
    parent on the sessions bench mix (:mod:`cvipsniff.split`) took 0.06 s to unpickle
    that way, half as much as its 146,000 messages; this way 0.04 s less to pickle and
    unpickle. Shallow as before: the fields themselves are pickled (or, for
    :func:`copy.copy`, shared) as they are."""
    get = attrgetter(*(f.name for f in fields(cls)))  # type: ignore[arg-type]
    if len(fields(cls)) == 1:  # type: ignore[arg-type]
        def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
            return cls, (get(self),)
    else:
        def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
            return cls, get(self)
    cls.__reduce__ = __reduce__  # type: ignore[method-assign,assignment]
    return cls


# Link-layer types (LINKTYPE_* from the pcap spec) that the packet decoder understands.
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276


class Frame(NamedTuple):
    """One captured frame, numbered from 1 in file order as Wireshark numbers them."""

    number: int
    ts_ns: int  # capture time, nanoseconds since the UNIX epoch
    caplen: int  # bytes captured (len(data))
    origlen: int  # bytes on the wire; > caplen when cut by snaplen
    linktype: int
    data: bytes
    interface: int = 0


@dataclass(slots=True)
class Packet:
    """A frame decoded down to its transport payload.

    Addresses are raw (4 or 16 bytes) on the hot path; flows format them once per flow.
    ``missing`` counts transport payload bytes that were on the wire but not captured
    (snaplen): the reassembler treats them as a gap. For an IP datagram rebuilt from
    fragments, ``frame`` is the last fragment's frame and ``frames`` lists them all.
    """

    frame: int
    ts_ns: int
    ip_version: int
    src: bytes
    dst: bytes
    transport: int  # 6 TCP, 17 UDP
    sport: int
    dport: int
    payload: bytes
    missing: int = 0
    seq: int = 0
    ack: int = 0
    flags: int = 0
    window: int = 0
    frames: tuple[int, ...] = ()
    vlans: tuple[int, ...] = ()


# TCP flag bits.
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

TCP = "tcp"
UDP = "udp"


@pickled_by_fields
@dataclass(slots=True)
class DirectionStats:
    packets: int = 0
    bytes: int = 0  # payload bytes seen on the wire (including retransmissions)
    delivered: int = 0  # bytes handed on in stream order
    retransmissions: int = 0
    out_of_order: int = 0
    gaps: int = 0
    gap_bytes: int = 0
    overlaps: int = 0
    conflicts: int = 0


@pickled_by_fields
@dataclass(slots=True)
class Flow:
    """A TCP connection or UDP conversation, numbered from 0 in order of first appearance
    (like Wireshark's ``tcp.stream``; TCP and UDP share one numbering here).

    Direction 0 is client → server: the SYN sender, or for a capture that starts
    mid-connection the sender of the first packet seen (``mid_session`` is then True).
    """

    id: int
    transport: str
    client: tuple[str, int]
    server: tuple[str, int]
    first_frame: int
    first_ts_ns: int
    last_ts_ns: int = 0
    mid_session: bool = False
    closed: str | None = None  # "fin", "rst", "reused", "end-of-capture", "evicted"
    stats: tuple[DirectionStats, DirectionStats] = field(
        default_factory=lambda: (DirectionStats(), DirectionStats())
    )

    def endpoint(self, direction: int) -> tuple[tuple[str, int], tuple[str, int]]:
        """(source, destination) of a direction."""
        return (self.client, self.server) if direction == 0 else (self.server, self.client)


# ---- flow events: what the reassembler hands downstream --------------------------------


@pickled_by_fields
@dataclass(slots=True)
class FlowOpened:
    flow: Flow


@dataclass(slots=True)
class StreamData:
    """New in-order bytes of one direction, starting at stream ``offset``."""

    flow: Flow
    direction: int
    offset: int
    data: bytes
    frame: int
    ts_ns: int


@dataclass(slots=True)
class StreamGap:
    """``length`` bytes at stream ``offset`` were never captured. The stream continues at
    ``offset + length``. ``frame_before``/``frame_after`` bracket the hole (0 if none)."""

    flow: Flow
    direction: int
    offset: int
    length: int
    frame_before: int
    frame_after: int
    reason: str  # "lost", "snaplen", "cap", "end-of-capture"


@dataclass(slots=True)
class Datagram:
    """One UDP payload."""

    flow: Flow
    direction: int
    data: bytes
    frame: int
    ts_ns: int


@pickled_by_fields
@dataclass(slots=True)
class TransportNote:
    """A transport-level observation: ``kind`` is a stable id such as
    ``tcp.retransmission``, ``tcp.out_of_order``, ``tcp.overlap_conflict``,
    ``tcp.cap_flow``, ``tcp.cap_total``, ``tcp.port_reuse``, ``ip.fragment_incomplete``,
    ``capture.truncated``. ``severity`` is the default the conformance engine starts from."""

    kind: str
    severity: str
    message: str
    frame: int
    flow: Flow | None = None
    direction: int = -1


@pickled_by_fields
@dataclass(slots=True)
class FlowClosed:
    flow: Flow
    reason: str


FlowEvent = FlowOpened | StreamData | StreamGap | Datagram | TransportNote | FlowClosed


# ---- messages ------------------------------------------------------------------------


@dataclass(slots=True)
class Message:
    """One protocol message located in the capture.

    ``frames`` are all frames that carried its bytes (1-based, in the order of the bytes
    they carried, as Wireshark lists reassembled segments); ``ts_ns`` is the time of the
    frame that completed it (the latest captured of them, where Wireshark shows a
    reassembled PDU), and ``first_ts_ns`` the time of its first byte. ``offset`` is its
    stream offset in its flow direction, so any field's bytes can be traced back to hex.
    """

    number: int
    flow: int
    direction: int
    transport: str
    src: tuple[str, int]
    dst: tuple[str, int]
    frames: list[int]
    ts_ns: int
    first_ts_ns: int
    offset: int
    length: int
    record: Record
    data: bytes | None = None
    # The flow was picked up mid-connection: what came before the capture is unknown
    # (pairing tells an answer to an uncaptured request from an orphan by it).
    mid_session: bool = False

    @property
    def frame(self) -> int:
        """The frame that completed the message (where Wireshark would show it): the
        latest captured of its frames, which after reordering need not carry its last
        bytes."""
        return max(self.frames) if self.frames else 0
