"""Types shared by every dissector: the sans-I/O contract between framers, dissectors and
the engine in :mod:`cvipsniff`.

A protocol package in :mod:`dissectors` provides

* a **framer** (:class:`Framer`): an incremental state machine fed the reassembled bytes of
  one direction of one flow; it returns :class:`Framed` messages and :class:`Skipped`
  stretches of bytes it could not attribute to a message. Offsets are *stream* offsets (the
  position of the byte in that direction's byte stream), so the engine can map every
  message back to the capture frames that carried it;
* a **dissector** function ``dissect(data, transport) -> Record`` that turns the bytes of one
  complete message (or one UDP datagram) into a :class:`Record`;
* **detection** (``detect(data, transport, sport, dport) -> int``) scoring how likely the
  first bytes of a stream are this protocol, for heuristic use on non-standard ports;
* its **spec tables** as data, each entry citing the spec section it came from.

Nothing here does I/O, prints, or raises on bad bytes: malformed input becomes
:class:`Problem` entries on the record, so a hostile capture can never stop the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Severity = Literal["error", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 1, "warning": 2, "error": 3}


@dataclass(slots=True)
class Field:
    """One node of a message's dissection tree, like a Wireshark proto-tree item.

    ``key`` is the display-filter name (``cvip.txn``, ``imageserver.requestid``); several
    nodes may share a key (repeated members). ``offset``/``length`` locate the field's bytes
    inside the message's own bytes (``-1`` when the field is synthesised, e.g. a decoded
    enum name), so the hex pane can highlight exactly what a field was read from.
    """

    key: str
    label: str
    value: Any
    display: str | None = None
    offset: int = -1
    length: int = 0
    children: list[Field] = field(default_factory=list)

    def text(self) -> str:
        """What a person reads for this field."""
        return self.display if self.display is not None else str(self.value)

    def walk(self):
        """Yield this field and all its descendants, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(slots=True)
class Problem:
    """Something wrong that a dissector or framer noticed in the bytes.

    ``rule`` is a stable snake_case id (``cvip.header.size_mismatch``) that the conformance
    engine turns into a finding with the configured severity; ``spec`` cites the section.
    ``notes`` explain the problem without being problems of their own (how a malformed
    body was repaired): they travel with it into its finding, so one violation counts once.
    """

    rule: str
    severity: Severity
    message: str
    spec: str = ""
    offset: int = -1
    length: int = 0
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class Record:
    """The structured result of dissecting one message.

    The scalar attributes are the handful that pairing, filtering and summary lines need
    without walking the tree; everything a person may want to see is in ``fields``.

    * ``protocol``: ``"cvip"``, ``"cvip-ping"`` or ``"imageserver"``.
    * ``kind``: ``request``, ``response``, ``ack``, ``event``, ``fault``,
      ``ping-request``, ``ping-response``, ``imageresponse``, ``livepackage`` or
      ``unknown``.
    * ``txn``: the pairing id (CVIP transaction number, ImageServer requestid) or ``None``.
    * ``is_response``: whether this message answers a request.
    * ``method``: full method name (``cviVideo.01.1.getProperties``, ``goto``) if any.
    """

    protocol: str
    kind: str
    info: str
    fields: list[Field] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    txn: int | str | None = None
    is_response: bool = False
    method: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def walk(self):
        """Every field of the tree, depth first."""
        for top in self.fields:
            yield from top.walk()

    def find(self, key: str) -> Field | None:
        """The first field with this filter key, or None."""
        for f in self.walk():
            if f.key == key:
                return f
        return None


@dataclass(slots=True)
class Framed:
    """A complete message cut from a byte stream, starting at stream offset ``start``.

    ``problems`` carries what the framer itself saw (a declared size beyond the cap, a
    Content-length that lied, a message truncated by the end of the stream or a gap); the
    engine adds them to the record's problems.
    """

    start: int
    data: bytes
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False

    @property
    def end(self) -> int:
        return self.start + len(self.data)


@dataclass(slots=True)
class Skipped:
    """Bytes ``[start, start + length)`` of the stream that belong to no message: garbage
    before a resync point, the rest of a message cut by a gap, or an oversized body that
    was not buffered. ``rule`` and ``reason`` say why; nothing is dropped silently."""

    start: int
    length: int
    rule: str
    reason: str


FramerEvent = Framed | Skipped


class Framer(Protocol):
    """Incremental framer for one direction of one flow (sans-I/O)."""

    def feed(self, data: bytes) -> list[FramerEvent]:
        """Append the next bytes of the stream; return what became complete."""
        ...

    def gap(self, length: int) -> list[FramerEvent]:
        """``length`` bytes at the current offset were lost. Whatever message was in
        progress is given up (as ``Skipped`` or a truncated ``Framed``) and the framer
        resynchronises on the bytes that follow."""
        ...

    def close(self) -> list[FramerEvent]:
        """End of stream: flush whatever is buffered (a message without its terminator,
        a truncated one) so nothing is lost."""
        ...


@dataclass(slots=True, frozen=True)
class FieldInfo:
    """A filterable field, listed by ``cvipsniff fields`` (like ``tshark -G fields``)."""

    key: str
    label: str
    type: str
    description: str = ""


@dataclass(slots=True, frozen=True)
class ProtocolSpec:
    """What a protocol package tells the engine about itself (``dissectors.<proto>.PROTOCOL``).

    * ``detect(data, transport, sport, dport) -> int``: 0 (not this protocol) to 100
      (certain), from the first bytes a direction of a flow carried; used on ports not
      mapped to any protocol, like Wireshark's heuristic dissectors.
    * ``new_framer()``: a fresh :class:`Framer` for one direction of a TCP flow.
    * ``dissect(data, transport) -> Record``: one message (TCP) or one datagram (UDP).
      ``transport`` is ``"tcp"`` or ``"udp"``. Must not raise on any input; the engine
      still guards it and turns an exception into a ``dissector_error`` finding.
    * ``kept_when_cut``: the dissector's rules that still hold on a message its framer
      handed over cut (``Framed.truncated``: a gap, snaplen, the end of the capture, a
      cap). They judge only bytes a cut message still has whole (its header); every
      other problem the dissector finds in a cut message is about what the capture never
      held, so the engine drops it: capture artefacts are not protocol violations.
    * ``check_options(mapping)``: raises :class:`dissectors.options.OptionError` (one line)
      for a setting ``dissect`` does not know or a value it cannot take; the engine calls
      it once on the user's ``[<name>]`` config table before reading any capture.
    * ``optional_attrs``: ``dissect`` takes ``attrs=False`` and then leaves
      ``Record.attrs`` empty (the engine asks for it where nobody reads them).
    * ``read_options(mapping)``: the options object ``dissect`` also takes in place of
      the mapping; the engine reads its mapping once and passes the object with every
      message (reading it per message was about 1% of a report).
    * ``lean_for(options)``: given the options object ``read_options`` made, the
      protocol's compiled lean dissection ``(data: bytes, udp: bool) -> Record | None``
      where those options are the ones it answers for and the accelerator is built, else
      None. The function gives the record ``dissect`` would give, or None for anything it
      leaves to ``dissect``; the engine asks once and tries it first for each message,
      skipping ``dissect``'s own per-call checks (a tenth of a message's cost in a batch
      report).
    """

    name: str
    tcp_ports: tuple[int, ...]
    udp_ports: tuple[int, ...]
    detect: Any
    new_framer: Any
    dissect: Any
    fields: tuple[FieldInfo, ...] = ()
    kept_when_cut: frozenset[str] = frozenset()
    check_options: Any = None
    optional_attrs: bool = False
    read_options: Any = None
    lean_for: Any = None
