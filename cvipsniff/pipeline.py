"""The analysis pipeline: frames in, messages and transport notes out.

``Frame → PacketDecoder → FlowTable → (per flow direction) Framer → dissect → Message``

One :class:`Pipeline` holds the state of one analysis (offline or live). It is push-style
(``feed(frame)`` returns what became complete) so the same object serves a file reader, a
live capture thread and the tests; :func:`analyse_file` wraps it into a generator.

Streaming discipline: per flow direction we keep only the framer's own buffer and a small
index of (stream offset, frame) pairs for the bytes not yet consumed by a message, so
memory follows open flows and caps, never the capture size.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cvipsniff.capture import open_capture
from cvipsniff.flows import FlowTable
from cvipsniff.model import (
    Datagram,
    Flow,
    FlowClosed,
    FlowOpened,
    Frame,
    Message,
    Packet,
    StreamData,
    StreamGap,
    TransportNote,
)
from cvipsniff.packets import PacketDecoder
from dissectors import registry
from dissectors.accel import accelerated
from dissectors.base import Framed, Problem, ProtocolSpec, Record, Skipped

# A heuristic must be at least this sure before a flow on an unmapped port is claimed.
HEURISTIC_THRESHOLD = 50
# How many bytes of an unclaimed direction are kept for heuristics before giving up.
HEURISTIC_WINDOW = 4096

PipelineOutput = Message | TransportNote | FlowClosed


@dataclass(slots=True)
class PipelineConfig:
    """What the user can change about how traffic is classified and dissected.

    ``decode_as`` maps ``("tcp"|"udp", port)`` to a protocol name, overriding and extending
    the protocols' default ports (``--decode-as tcp.port==8000,cvip``). ``heuristics``
    lets flows on unmapped ports be claimed by content. ``keep_data`` stores each message's
    bytes on the Message (the TUI's hex pane needs them; batch reports don't).
    """

    decode_as: dict[tuple[str, int], str] = field(default_factory=dict)
    heuristics: bool = True
    keep_data: bool = True
    # False: dissectors may skip building the Field tree (batch reports need only the
    # record's scalars and problems; the TUI re-dissects a message when it is opened).
    tree: bool = True
    # False: the dissectors that can (ProtocolSpec.optional_attrs) leave Record.attrs
    # empty: a batch report's analysis reads only the few ImageServer ones
    # (analysis.engine.ANALYSIS_ATTRS), which its dissector always makes.
    attrs: bool = True
    dissector_options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    max_flow_buffer: int | None = None
    max_total_buffer: int | None = None


class OffsetIndex:
    """Which frame carried which stream bytes of one flow direction, for the bytes not
    yet consumed by a message. ``offsets``/``frames``/``times`` are parallel: the bytes
    from ``offsets[i]`` up to ``offsets[i+1]`` came in ``frames[i]`` at ``times[i]``.

    The reference of the compiled ``OffsetIndex`` (``accel/src/pylane.rs``), which the
    record walk's fast lane notes into as this pipeline would."""

    __slots__ = ("frames", "head", "offsets", "times")

    def __init__(self) -> None:
        # Offsets and frame numbers as machine integers, not lists of int objects: per open
        # flow this index is most of what the pipeline keeps (100,000 flows each holding a
        # partial message). Times stay Python ints: a damaged capture's can pass 2**63.
        self.offsets = array("q")
        self.frames = array("q")
        self.times: list[int] = []
        self.head = 0  # entries before head are consumed; compacted lazily

    def __len__(self) -> int:
        return len(self.offsets)

    def note_bytes(self, offset: int, frame: int, ts_ns: int) -> None:
        self.offsets.append(offset)
        self.frames.append(frame)
        self.times.append(ts_ns)

    def last_time(self) -> int:
        """The time of the last entry noted, 0 if none was."""
        return self.times[-1] if self.times else 0

    def frames_for(self, start: int, end: int) -> tuple[list[int], int, int]:
        """Frames carrying stream bytes ``[start, end)`` (in stream order), with the time
        of the first byte and the time of the frame that completed them (the latest).

        Entries wholly before ``start`` are released, keeping the index small.
        """
        offsets = self.offsets
        lo = bisect.bisect_right(offsets, start, self.head) - 1
        lo = max(lo, self.head)
        hi = bisect.bisect_left(offsets, max(end, start + 1), lo)
        frames: list[int] = []
        last_ts = 0
        for i in range(lo, hi):
            f = self.frames[i]
            if not frames or frames[-1] != f:
                frames.append(f)
            if self.times[i] > last_ts:
                last_ts = self.times[i]
        first_ts = self.times[lo] if lo < len(self.times) else 0
        if not last_ts:
            last_ts = first_ts
        # The entry at hi-1 may still hold bytes past `end`; keep it as the new head.
        self.head = max(self.head, hi - 1 if hi - 1 >= lo else lo)
        if self.head > 1024 and self.head * 2 > len(offsets):
            del offsets[: self.head], self.frames[: self.head], self.times[: self.head]
            self.head = 0
        return frames, first_ts, last_ts


_new_index = accelerated("OffsetIndex", OffsetIndex)
# The compiled fast lane (accel/src/pylane.rs), where there is one.
_FastLane = accelerated("FastLane", None)  # type: ignore[arg-type]
# Whether the readers use the fast lane where it can (tests compare it on and off).
FAST_LANE = True


def new_lane() -> Any:
    """A fast lane for one capture read, None where there is none (the pure-Python path)
    or it is turned off."""
    return _FastLane() if FAST_LANE and _FastLane is not None else None


class _Direction:
    """Per flow-direction state: the framer and the offset → frame index of its
    unconsumed bytes."""

    __slots__ = ("framer", "index", "pending", "pending_start")

    def __init__(self, framer) -> None:
        self.framer = framer
        self.index = _new_index()
        # Only while the flow's protocol is undecided (a bytearray from the first bytes).
        self.pending: bytearray | bytes = b""
        self.pending_start = 0  # stream offset of pending[0]


_NO_DIRECTIONS: tuple[None, None] = (None, None)


class _FlowState:
    __slots__ = ("directions", "flow", "protocol")

    def __init__(self, flow: Flow, protocol: ProtocolSpec | None) -> None:
        self.flow = flow
        self.protocol = protocol
        # A shared (None, None) until a direction carries bytes (no list per flow).
        self.directions: tuple[_Direction | None, _Direction | None] = _NO_DIRECTIONS


class Pipeline:
    """Push frames, get :class:`Message` and :class:`TransportNote` objects back."""

    def __init__(self, config: PipelineConfig | None = None, *,
                 packet_filter: Callable[[Packet], bool] | None = None,
                 lane: Any = None) -> None:
        """``packet_filter``: follow only the packets it accepts (a worker's share of the
        flows when one capture is split over processes, :mod:`cvipsniff.split`).
        ``lane``: the compiled ``FastLane`` the reader's record walk shares (see
        :func:`iter_capture`)."""
        self.config = config or PipelineConfig()
        self._accept = packet_filter
        self.protocols = registry()
        self._notes: list[TransportNote] = []
        self.decoder = PacketDecoder(on_note=self._notes.append)
        server_ports = {port for spec in self.protocols.values() for port in spec.tcp_ports}
        server_ports |= {port for spec in self.protocols.values() for port in spec.udp_ports}
        server_ports |= {port for (_, port) in self.config.decode_as}
        # The pipeline follows open flows only; `cvipsniff flows` keeps every Flow itself.
        table_kwargs: dict[str, int | bool] = {"remember_flows": False}
        if self.config.max_flow_buffer is not None:
            table_kwargs["max_flow_buffer"] = self.config.max_flow_buffer
        if self.config.max_total_buffer is not None:
            table_kwargs["max_total_buffer"] = self.config.max_total_buffer
        self._lane = lane
        self.flow_table = FlowTable(server_ports=frozenset(server_ports), lane=self._lane,
                                    **table_kwargs)
        self._port_map = self._build_port_map()
        self._flows: dict[int, _FlowState] = {}
        self._options = self._dissector_options()
        # Per protocol, its compiled lean dissection for these options (or none).
        self._lean = {name: lean for name, spec in self.protocols.items()
                      if spec.lean_for is not None
                      and (lean := spec.lean_for(self._options.get(name))) is not None}
        self.message_count = 0
        self.frame_count = 0
        self.first_ts_ns: int | None = None

    # ---- configuration ---------------------------------------------------------------

    def _build_port_map(self) -> dict[tuple[str, int], ProtocolSpec]:
        port_map: dict[tuple[str, int], ProtocolSpec] = {}
        for spec in self.protocols.values():
            for port in spec.tcp_ports:
                port_map[("tcp", port)] = spec
            for port in spec.udp_ports:
                port_map[("udp", port)] = spec
        for key, name in self.config.decode_as.items():
            port_map[key] = self.protocols[name]
        return port_map

    def _dissector_options(self) -> dict[str, object]:
        """Per protocol, the options its dissector is called with (None: defaults): read
        once into the dissector's own options object where it offers to
        (``ProtocolSpec.read_options``), else the mapping itself. A mapping it cannot
        read stays a mapping, so each message says why (a ``dissector_error``), as
        before: the engine checks the user's settings before any capture is read."""
        out: dict[str, object] = {}
        for name, spec in self.protocols.items():
            options = dict(self.config.dissector_options.get(name) or {})
            if not self.config.tree:
                options["tree"] = False
            if not self.config.attrs and spec.optional_attrs:
                options["attrs"] = False
            read: object = options or None
            if options and spec.read_options is not None:
                try:
                    read = spec.read_options(options)
                except Exception:  # reported per message by the dissector
                    read = options
            out[name] = read
        return out

    def _protocol_by_port(self, flow: Flow) -> ProtocolSpec | None:
        by_server = self._port_map.get((flow.transport, flow.server[1]))
        if by_server is not None:
            return by_server
        return self._port_map.get((flow.transport, flow.client[1]))

    # ---- feeding -----------------------------------------------------------------------

    def feed(self, frame: Frame) -> list[PipelineOutput]:
        """Process one captured frame."""
        self.frame_count += 1
        if self.first_ts_ns is None:
            self.first_ts_ns = frame.ts_ns
        return self._decoded(self.decoder.decode(frame))

    def feed_packet(self, packet: Packet) -> list[PipelineOutput]:
        """Process one captured frame the reader already decoded on the decoder's fast
        path (``open_capture(..., packet_type=Packet)``): as :meth:`feed` its Frame."""
        self.frame_count += 1
        if self.first_ts_ns is None:
            self.first_ts_ns = packet.ts_ns
        return self._decoded(packet)

    def _decoded(self, packet: Packet | None) -> list[PipelineOutput]:
        out: list[PipelineOutput] = []
        if self._notes:
            out.extend(self._notes)
            self._notes.clear()
        if packet is None or (self._accept is not None and not self._accept(packet)):
            return out
        for event in self.flow_table.feed(packet):
            self._handle(event, out)
        if self._lane is not None and packet.transport == 6:
            self.flow_table.lend((packet.src, packet.sport, packet.dst, packet.dport),
                                 self._lane_target)
        return out

    def _lane_target(self, flow_id: int) -> tuple[_FlowState | None, tuple]:
        """Where the fast lane hands what its framers finish for flow ``flow_id``: the
        flow's state and its per-direction states (None where there is none yet)."""
        state = self._flows.get(flow_id)
        return (None, _NO_DIRECTIONS) if state is None else (state, state.directions)

    def feed_item(self, item: Frame | Packet | tuple) -> list[PipelineOutput]:
        """Process one item of a reader opened with ``packet_type=Packet`` and a fast
        lane: a Packet, what the lane's framer finished (a tuple), or a Frame."""
        kind = type(item)
        if kind is Packet:
            return self.feed_packet(item)  # type: ignore[arg-type]
        if kind is tuple:
            # What the fast lane's framer finished, (state, d, direction, events, frame):
            # the messages, as feed would have made them of that frame (most items of a
            # large capture, so here rather than one call further).
            out: list[PipelineOutput] = []
            self._framed(item[0], item[1], item[2], item[3], out)
            return out
        return self.feed(item)  # type: ignore[arg-type]

    def detach_lane(self, consumed: int) -> None:
        """The reader is done with the fast lane, which took ``consumed`` packets."""
        self.flow_table.detach_lane()
        self._lane = None
        self.frame_count += consumed

    def note(self, note: TransportNote) -> list[PipelineOutput]:
        """Pass a source-level note (e.g. a truncated capture record) downstream."""
        return [note]

    def finish(self) -> list[PipelineOutput]:
        """End of capture: flush fragments, flows and framers so nothing is lost."""
        return list(self.iter_finish())

    def iter_finish(self) -> Iterator[PipelineOutput]:
        """:meth:`finish` flow by flow: the last messages of 100,000 open flows are made
        and handed on one flow at a time, never all held at once."""
        out: list[PipelineOutput] = []
        self.decoder.flush()
        yield from self._notes
        self._notes.clear()
        for event in self.flow_table.iter_close():
            self._handle(event, out)
            if out:
                yield from out
                out.clear()
        for flow_id in list(self._flows):
            self._close_flow(self._flows.pop(flow_id), out)
            yield from out
            out.clear()

    def expire(self, now_ns: int, idle_ns: int) -> list[PipelineOutput]:
        """Live use: close flows idle for ``idle_ns``."""
        out: list[PipelineOutput] = []
        for event in self.flow_table.expire(now_ns, idle_ns):
            self._handle(event, out)
        return out

    # ---- flow events -------------------------------------------------------------------

    def _handle(self, event, out: list[PipelineOutput]) -> None:
        if type(event) is StreamData:
            state = self._flows.get(event.flow.id)
            if state is None:
                state = self._open(event.flow)
            self._on_data(state, event, out)
        elif type(event) is Datagram:
            self._on_datagram(event, out)
        elif type(event) is StreamGap:
            state = self._flows.get(event.flow.id)
            if state is None:
                state = self._open(event.flow)
            self._on_gap(state, event, out)
        elif type(event) is FlowOpened:
            self._open(event.flow)
        elif type(event) is FlowClosed:
            state = self._flows.pop(event.flow.id, None)
            if state is not None:
                self._close_flow(state, out)
            out.append(event)  # pairing settles the flow's open requests
        elif type(event) is TransportNote:
            out.append(event)

    def _open(self, flow: Flow) -> _FlowState:
        state = self._flows.get(flow.id)
        if state is None:
            state = _FlowState(flow, self._protocol_by_port(flow))
            self._flows[flow.id] = state
        return state

    def _direction(self, state: _FlowState, direction: int) -> _Direction:
        d = state.directions[direction]
        if d is None:
            framer = state.protocol.new_framer() if state.protocol is not None else None
            d = _Direction(framer)
            client, server = state.directions
            state.directions = (d, server) if direction == 0 else (client, d)
        return d

    def _on_data(self, state: _FlowState, event: StreamData, out: list[PipelineOutput]) -> None:
        d = self._direction(state, event.direction)
        d.index.note_bytes(event.offset, event.frame, event.ts_ns)
        if d.framer is not None:  # the fast path: a known protocol
            self._framed(state, d, event.direction, d.framer.feed(event.data), out)
            return
        if not d.pending:
            d.pending_start = event.offset
            d.pending = bytearray()
        d.pending += event.data
        if state.protocol is None:
            self._classify(state, d)
        if state.protocol is not None:
            self._start_framer(state, d, event.direction, out)
        elif len(d.pending) > HEURISTIC_WINDOW:
            # Not recognisably ours yet: keep only a window for later decisions.
            cut = len(d.pending) - HEURISTIC_WINDOW
            del d.pending[:cut]
            d.pending_start += cut

    def _start_framer(self, state: _FlowState, d: _Direction, direction: int,
                      out: list[PipelineOutput]) -> None:
        """Give a direction its framer and the bytes it buffered while undecided."""
        assert state.protocol is not None
        d.framer = state.protocol.new_framer()
        pending, d.pending = bytes(d.pending), b""
        if d.pending_start:
            # Framer offsets count from the stream start: account for what was not kept.
            self._framed(state, d, direction, d.framer.gap(d.pending_start), out)
        if pending:
            self._framed(state, d, direction, d.framer.feed(pending), out)

    def _classify(self, state: _FlowState, d: _Direction) -> None:
        """Heuristic protocol choice for a flow on unmapped ports, from its first bytes."""
        if not self.config.heuristics:
            return
        sample = bytes(d.pending[:HEURISTIC_WINDOW])
        flow = state.flow
        best, best_score = None, 0
        for spec in self.protocols.values():
            try:
                score = spec.detect(sample, flow.transport, flow.client[1], flow.server[1])
            except Exception:  # a heuristic must never stop the analysis
                score = 0
            if score > best_score:
                best, best_score = spec, score
        if best is not None and best_score >= HEURISTIC_THRESHOLD:
            state.protocol = best

    def _on_gap(self, state: _FlowState, event: StreamGap, out: list[PipelineOutput]) -> None:
        flow = state.flow
        out.append(
            TransportNote(
                kind="tcp.gap",
                severity="warning",
                message=(
                    f"{event.length} bytes missing from flow {flow.id} direction "
                    f"{event.direction} at stream offset {event.offset} ({event.reason})"
                ),
                frame=event.frame_after or event.frame_before,
                flow=flow,
                direction=event.direction,
            )
        )
        d = self._direction(state, event.direction)
        d.index.note_bytes(event.offset, event.frame_after or event.frame_before,
                           d.index.last_time())
        if d.framer is None:
            # Undecided direction: what was buffered before the hole is kept for the
            # heuristics, but the framer would need contiguous bytes; restart after it.
            d.pending = bytearray()
            d.pending_start = event.offset + event.length
            return
        self._framed(state, d, event.direction, d.framer.gap(event.length), out)

    def _close_flow(self, state: _FlowState, out: list[PipelineOutput]) -> None:
        for direction, d in enumerate(state.directions):
            if d is None:
                continue
            if d.framer is None:
                if state.protocol is None or not d.pending:
                    continue
                self._start_framer(state, d, direction, out)
            assert d.framer is not None
            self._framed(state, d, direction, d.framer.close(), out)
            d.framer = None

    def _on_datagram(self, event: Datagram, out: list[PipelineOutput]) -> None:
        flow = event.flow
        spec = self._port_map.get(("udp", flow.server[1])) or self._port_map.get(
            ("udp", flow.client[1])
        )
        if spec is None and self.config.heuristics:
            for candidate in self.protocols.values():
                try:
                    score = candidate.detect(event.data, "udp", flow.client[1], flow.server[1])
                except Exception:
                    score = 0
                if score >= HEURISTIC_THRESHOLD:
                    spec = candidate
                    break
        if spec is None:
            return
        record = self._dissect(spec, event.data, "udp", [])
        src, dst = flow.endpoint(event.direction)
        self.message_count += 1
        out.append(
            Message(
                number=self.message_count,
                flow=flow.id,
                direction=event.direction,
                transport="udp",
                src=src,
                dst=dst,
                frames=[event.frame],
                ts_ns=event.ts_ns,
                first_ts_ns=event.ts_ns,
                offset=0,
                length=len(event.data),
                record=record,
                data=event.data if self.config.keep_data else None,
            )
        )

    # ---- framer output -----------------------------------------------------------------

    def _framed(self, state: _FlowState, d: _Direction, direction: int, events,
                out: list[PipelineOutput]) -> None:
        flow = state.flow
        spec = state.protocol
        assert spec is not None
        # What every message of this call shares, looked up once.
        transport = flow.transport
        src, dst = flow.endpoint(direction)
        keep_data = self.config.keep_data
        frames_for = d.index.frames_for
        for ev in events:
            if type(ev) is Framed:
                data = ev.data
                start = ev.start
                frames, first_ts, last_ts = frames_for(start, start + len(data))
                record = self._dissect(spec, data, transport, ev.problems, ev.truncated)
                self.message_count += 1
                # Positional, in Message's field order (number, flow, direction, transport,
                # src, dst, frames, ts_ns, first_ts_ns, offset, length, record, data,
                # mid_session): a third of the keyword call's cost, on every message.
                out.append(Message(
                    self.message_count, flow.id, direction, transport, src, dst, frames,
                    last_ts, first_ts, start, len(data), record,
                    data if keep_data else None, flow.mid_session))
            elif type(ev) is Skipped:
                frames, _, _ = d.index.frames_for(ev.start, ev.start + ev.length)
                out.append(
                    TransportNote(
                        kind=ev.rule,
                        severity="warning",
                        message=f"{ev.length} bytes skipped at stream offset {ev.start}: "
                        f"{ev.reason}",
                        frame=frames[0] if frames else 0,
                        flow=flow,
                        direction=direction,
                    )
                )

    def _dissect(self, spec: ProtocolSpec, data: bytes, transport: str,
                 framing_problems: list[Problem], cut: bool = False) -> Record:
        """Dissect one message. ``cut``: the framer handed it over truncated; only the
        problems the protocol keeps for cut messages (its header's) survive, the framer's
        own say what cut it (``ProtocolSpec.kept_when_cut``)."""
        lean = self._lean.get(spec.name)
        if lean is not None and type(data) is bytes:
            # The record dissect would give, without its per-call checks; None (or, as
            # dissect would answer it, an exception) leaves the message to dissect.
            try:
                record = lean(data, transport == "udp")
            except Exception:
                record = None
            if record is not None:
                if framing_problems:
                    record.problems[:0] = framing_problems
                return record
        options = self._options.get(spec.name)
        try:
            if options:
                record = spec.dissect(data, transport, options=options)
            else:
                record = spec.dissect(data, transport)
        except Exception as exc:  # Wireshark-style: a dissector bug is a finding, not a crash
            record = Record(
                protocol=spec.name,
                kind="unknown",
                info=f"[dissector error: {type(exc).__name__}]",
                problems=[
                    Problem(
                        rule="dissector_error",
                        severity="error",
                        message=f"{spec.name} dissector raised {type(exc).__name__}: {exc}",
                    )
                ],
            )
        if cut and record.problems:
            keep = spec.kept_when_cut
            record.problems = [p for p in record.problems
                               if p.rule in keep or p.rule == "dissector_error"]
        if framing_problems:
            record.problems[:0] = framing_problems
        return record


def iter_capture(path: str, config: PipelineConfig | None = None,
                 on_progress: Callable[[int, int | None], None] | None = None,
                 on_start: Callable[[int], None] | None = None,
                 ) -> Iterator[PipelineOutput]:
    """Analyse a capture file front to back, yielding messages and notes as they complete.

    Order: outputs come in the order the capture completes them. A message is yielded
    while the frame whose arrival made it complete is processed (the frame that
    supplied its last byte, or for a message whose end only later bytes could show (a
    length that lied, a gap, a hole held after an ACK) the frame that showed it), and
    messages completed by the same frame in stream order. ``read``, the TUI, JSON and the
    reports all list messages in this one order, which :mod:`cvipsniff.split` keeps too.

    ``on_start`` is called with the capture time of the first frame of the capture,
    before anything is yielded: ``frame.time_relative`` and the relative time column
    count from it, as tshark's do (not from the first message).

    Raises :class:`cvipsniff.capture.CaptureError` only for a file that cannot be read at
    all; problems inside the file are yielded as notes.
    """
    notes: list[TransportNote] = []
    # The compiled fast lane takes calm connections' in-order segments in the record walk
    # (accel/src/pylane.rs); what it finishes comes as (state, d, direction, events, frame).
    lane = new_lane()
    pipeline = Pipeline(config, lane=lane)
    feed_item = pipeline.feed_item
    # Frames the decoder's fast path reads come decoded (compiled path only).
    with open_capture(path, on_note=notes.append, packet_type=Packet, lane=lane) as reader:
        for i, item in enumerate(reader):
            if not i and on_start is not None:
                on_start(item.ts_ns)
            out = feed_item(item)
            if out:
                yield from out
            if notes:
                yield from notes
                notes.clear()
            if on_progress is not None and not i & 0x3FF:
                on_progress(reader.bytes_read, reader.size)
        if notes:
            yield from notes
            notes.clear()
        if on_progress is not None:
            on_progress(reader.bytes_read, reader.size)
    if lane is not None:
        pipeline.detach_lane(lane.consumed)
    yield from pipeline.iter_finish()


def default_server_ports() -> frozenset[int]:
    """The protocols' well-known ports: they tell the server side of mid-session flows."""
    ports: set[int] = set()
    for spec in registry().values():
        ports.update(spec.tcp_ports)
        ports.update(spec.udp_ports)
    return frozenset(ports)


def iter_flow_events(path: str, *, server_ports: frozenset[int] | None = None,
                     flow_table: FlowTable | None = None):
    """Reader → packet decoder → flow table, without any protocol dissection.

    Yields every flow event (and source/packet notes as TransportNote). Used by
    ``cvipsniff flows`` and ``follow`` and by the reassembly cross-checks. Pass your own
    ``flow_table`` to read its per-flow statistics afterwards.
    """
    notes: list[TransportNote] = []
    decoder = PacketDecoder(on_note=notes.append)
    table = flow_table or FlowTable(
        server_ports=default_server_ports() if server_ports is None else server_ports)
    with open_capture(path, on_note=notes.append) as reader:
        for frame in reader:
            packet = decoder.decode(frame)
            if notes:
                yield from notes
                notes.clear()
            if packet is not None:
                yield from table.feed(packet)
    decoder.flush()
    yield from notes
    yield from table.close()
