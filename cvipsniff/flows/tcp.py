"""TCP reassembly: one :class:`TcpConnection` per connection, one :class:`HalfStream` per
direction, turning segments into the ordered byte stream the receiver's application saw.

Sans-I/O: methods take a :class:`~cvipsniff.model.Packet` (or its parts) and append flow
events to a list the caller passes in; nothing here reads, writes or prints.

Stream offsets
    Offset 0 of a direction is the byte after the sender's SYN (ISN + 1). Without a SYN
    (capture started mid-connection) it is the first sequence number seen from that
    sender. Offsets are unbounded ints; sequence numbers wrap (see :mod:`.seqnum`).

Per segment (after mapping its sequence number to an offset)
    * bytes before the next expected offset were already delivered: a *retransmission*
      (exact or partial); only the new tail is used. Delivered bytes are not kept, so
      their content is not compared (Wireshark compares only what it still reassembles).
    * bytes at the next expected offset are delivered at once (``StreamData``), then any
      buffered bytes they make contiguous.
    * bytes past the next expected offset wait in the out-of-order buffer
      (:mod:`.segments`). Overlaps there follow **first received wins**; differing bytes
      give a ``tcp.overlap_conflict`` note naming both frames.
    * bytes cut by snaplen (``Packet.missing``) keep their place and become a
      ``StreamGap(reason="snaplen")`` right after the captured part.
    * keep-alives (0 or 1 byte at next-1) and zero-window probes (1 byte at next while
      the receiver advertises a zero window) are neither data nor retransmissions. A probe
      byte is remembered: if the sender's next segment starts after it, the receiver
      evidently took it and it is delivered then.

When a hole is given up (never zero-filled: a ``StreamGap`` says where and how long)
    * ``lost``: the peer ACKed bytes past the start of the hole (it received what the
      capture missed) and the *ACK hold* below ran out; or the bytes after the hole have
      waited ``hole_timeout_ns`` of capture time (longer than any sane retransmission
      timeout); or the connection was reset, reused or went idle with the hole still open.
    * ``cap``: a memory cap was hit (see below) or the flow was evicted.
    * ``end-of-capture``: the capture ended with the hole open and no ACK past it (it
      becomes ``lost`` when the peer had ACKed past it).
    Bytes the peer ACKed with nothing captured after them are *not* reported as a gap: an
    ACK one past the last byte may just acknowledge a FIN the capture missed.

The ACK hold (capture reordering: bytes present in the capture are never dropped)
    An ACK past a hole proves the receiver had the bytes, not that the capture will never
    show them: a capture point that sees the two directions on different queues or ports
    (multi-queue NICs, SPAN sessions, merged captures) records an ACK before the data it
    acknowledges. So the ACK does not end the wait at once: the hole is *held* until the
    missing segment appears (it is then delivered in place, as if it had come in order),
    or until ``ack_hold_ns`` of capture time have passed since the ACK was seen, or the
    connection has buffered ``ack_hold_bytes``; only then is it a ``lost`` gap. While a
    direction holds, both directions' events wait in per-direction outboxes (charged to
    the caps): the peer's bytes were sent after the ACK, so they may answer the held
    bytes. When the hold ends the outboxes go out interleaved in capture order without
    reordering either stream (:func:`interleave`), so a reader of both directions sees a
    request before the answer to it. Wireshark's Follow TCP
    Stream gives up such a hole as soon as an ACK passes it with data buffered after it;
    the hold goes further and keeps bytes that arrive within the window after that ACK.
    Bytes of a hole that arrive after it was given up cannot reach the stream any more
    (the reader has moved past the gap): they are reported as ``tcp.late_data`` with the
    frame that carried them, never silently dropped as a retransmission.

Memory caps (Suricata-like: a per-flow and a global budget, and a stated policy)
    Each buffered piece costs its bytes plus a fixed overhead. When a flow's buffers
    exceed ``max_flow_buffer`` (``tcp.cap_flow``) or all flows' exceed
    ``max_total_buffer`` (``tcp.cap_total``), the direction that just grew **stops
    waiting**: each hole in its buffer becomes a ``StreamGap(reason="cap")`` and the
    buffered bytes are delivered. Nothing captured is thrown away, and memory is freed at
    once. The check runs after a segment is buffered, so a budget can be exceeded by at
    most one segment. A cap also ends an ACK hold (the peer's held bytes are delivered).

Deadlines
    Hole timeouts and ACK holds run on capture time, checked when a packet of the same
    connection arrives, by ``expire`` in live use, and at the end of the capture. Only
    the connection's own packets count: its outputs never depend on other flows' traffic
    (so a capture split by flow over processes reassembles each flow as one process does).

Control flags
    SYN: sets the ISN (a SYN carrying data delivers it from offset 0); the same ISN again
    is a retransmitted SYN. A SYN/ACK seen without its SYN also gives the client's ISN
    (its ACK number - 1). A SYN with a *different* ISN, or any SYN on a connection picked
    up mid-session, is a new connection on a reused 4-tuple: the table opens a new flow
    (``tcp.port_reuse``). FIN: marks the end of that direction's stream; bytes still
    missing before it are awaited as usual, bytes after it are reported
    (``tcp.data_after_fin``) and not delivered. The flow closes (``FlowClosed("fin")``)
    once both directions are complete up to their FINs. RST: closes the flow at once
    (``FlowClosed("rst")``). After the close, retransmissions are absorbed; new bytes on
    the same 4-tuple start a new flow.

Statistics (:class:`~cvipsniff.model.DirectionStats`)
    ``retransmissions``: segments (and SYNs) all or part of whose bytes had already been
    seen. ``out_of_order``: segments buffered because they arrived ahead of a hole.
    ``overlaps``: segments that partly overlapped buffered bytes. ``conflicts``: segments
    whose overlapping bytes differed. ``gaps``/``gap_bytes``: every ``StreamGap``.
"""

from __future__ import annotations

from cvipsniff.flows.segments import PIECE_OVERHEAD, SegmentBuffer
from cvipsniff.flows.seqnum import SEQ_MASK, seq_diff
from cvipsniff.model import (
    ACK,
    FIN,
    RST,
    SYN,
    DirectionStats,
    Flow,
    FlowClosed,
    FlowEvent,
    Packet,
    StreamData,
    StreamGap,
    TransportNote,
)

# Above every frame number.
NEVER = 1 << 62
# How many given-up holes a direction remembers to recognise bytes arriving too late.
REMEMBERED_GAPS = 8
# The buffer of every direction that never buffered anything: shared, never inserted
# into (a direction gets its own at its first out-of-order bytes), so the many flows
# that never wait for a hole cost two objects fewer each.
_NO_BUFFER = SegmentBuffer()


class Budget:
    """Buffer limits shared by every connection of a table, and the running total."""

    __slots__ = ("ack_hold_bytes", "ack_hold_ns", "hole_timeout_ns", "max_flow", "max_total",
                 "total")

    def __init__(self, max_flow: int, max_total: int, hole_timeout_ns: int,
                 ack_hold_ns: int = 0, ack_hold_bytes: int = 0) -> None:
        self.max_flow = max_flow
        self.max_total = max_total
        self.hole_timeout_ns = hole_timeout_ns
        self.ack_hold_ns = ack_hold_ns
        self.ack_hold_bytes = ack_hold_bytes
        self.total = 0


class HalfStream:
    """One direction of a connection: the sender's bytes, in order, with holes explicit.

    ``fast_seq`` is the sequence number the table's in-order fast path may accept without
    calling in here: ``next_seq`` while this direction has nothing special going on, -1
    otherwise (kept current by :meth:`TcpConnection.refresh`).
    """

    __slots__ = (
        "ack",
        "buffer",
        "charged",
        "conn",
        "direction",
        "fast_seq",
        "fin_frame",
        "fin_offset",
        "fin_ts_ns",
        "finished",
        "flow",
        "given_up",
        "held_since",
        "isn",
        "last_frame",
        "lent",
        "next_offset",
        "next_seq",
        "outbox",
        "outbox_cost",
        "peer",
        "probe",
        "started",
        "stats",
        "window_seen",
        "zero_window",
    )

    def __init__(self, conn: TcpConnection, direction: int) -> None:
        self.conn = conn
        self.flow: Flow = conn.flow
        self.direction = direction
        self.stats: DirectionStats = conn.flow.stats[direction]
        self.peer: HalfStream = self  # set by the connection once both halves exist
        self.started = False  # sequence space anchored (by a SYN or the first segment)
        self.isn: int | None = None
        self.next_seq = 0  # sequence number of the next expected byte ...
        self.next_offset = 0  # ... and its stream offset: the anchor of the mapping
        self.fast_seq = -1
        self.ack: int | None = None  # last ACK number this sender sent (peer's space)
        self.zero_window = False  # this sender's last advertised window was zero ...
        self.window_seen = False  # ... after an open one (so window-less packets never are)
        self.buffer = _NO_BUFFER
        self.charged = 0  # buffer cost already counted in the connection and budget
        self.fin_offset: int | None = None
        self.fin_frame = 0
        self.fin_ts_ns = 0
        self.finished = False  # every byte up to the FIN delivered or given up
        self.last_frame = 0  # frame of the last delivered bytes (``frame_before``)
        # The connection is lent to the compiled fast lane (see FlowTable.lend): the table
        # takes it back before it touches it.
        self.lent = False
        self.probe: tuple[int, bytes, int, int] | None = None  # zero-window probe byte
        self.held_since: int | None = None  # capture time the ACK hold of a hole began
        # Events held back while the peer holds a hole, and the recent gaps (start, end,
        # frame): empty tuples until first used (a million idle flows must not each hold
        # two empty lists).
        self.outbox: list[FlowEvent] | tuple[()] = ()
        self.outbox_cost = 0
        self.given_up: list[tuple[int, int, int]] | tuple[()] = ()

    # ---- sequence space ------------------------------------------------------------

    def start(self, seq: int) -> None:
        """Anchor the sequence space: ``seq`` is stream offset 0."""
        self.started = True
        self.next_seq = seq & SEQ_MASK
        self.next_offset = 0

    def offset_of(self, seq: int) -> int:
        return self.next_offset + seq_diff(seq, self.next_seq)

    def _advance(self, n: int) -> None:
        self.next_offset += n
        self.next_seq = (self.next_seq + n) & SEQ_MASK

    # ---- bytes in ------------------------------------------------------------------

    def data(self, offset: int, payload: bytes, missing: int, frame: int, ts_ns: int,
             events: list[FlowEvent]) -> None:
        """Take a segment's bytes: ``payload`` at ``offset``, then ``missing`` cut bytes."""
        if self.probe is not None:
            self._resolve_probe(offset, events)
        n = len(payload)
        end = offset + n + missing
        fin = self.fin_offset
        if fin is not None and end > fin:
            beyond = end - max(offset, fin)
            events.append(self._note(
                "tcp.data_after_fin", "warning",
                f"{beyond} bytes after the FIN at stream offset {fin} not delivered", frame))
            if offset >= fin:
                return
            keep = fin - offset
            if keep < n:
                payload, n, missing = payload[:keep], keep, 0
            else:
                missing = keep - n
            end = fin
        stats = self.stats
        nxt = self.next_offset
        late = offset < nxt and bool(self.given_up) and self._late(offset, min(end, nxt),
                                                                    frame, events)
        if end <= nxt:
            if not late:
                stats.retransmissions += 1
                events.append(self._note(
                    "tcp.retransmission", "info",
                    f"retransmission of {end - offset} bytes at stream offset {offset}", frame))
            return
        retransmitted = False
        if offset < nxt:
            retransmitted = True
            if not late:
                stats.retransmissions += 1
                events.append(self._note(
                    "tcp.retransmission", "info",
                    f"partial retransmission: {nxt - offset} of {end - offset} bytes at "
                    f"stream offset {offset} already delivered", frame))
            cut = nxt - offset
            if cut >= n:
                missing -= cut - n
                payload, n = b"", 0
            else:
                payload, n = payload[cut:], n - cut
            offset = nxt
        buffer = self.buffer
        if offset == nxt and not buffer:
            if n:
                self._deliver(offset, payload, frame, ts_ns, events)
            if missing:
                self._gap(missing, frame, frame, "snaplen", events)
            self._check_fin()
            return
        if offset > nxt:
            stats.out_of_order += 1
            if not buffer and not self._fin_hole():
                events.append(self._note(
                    "tcp.out_of_order", "info",
                    f"segment at stream offset {offset} arrived before {offset - nxt} "
                    f"earlier bytes", frame))
        if buffer is _NO_BUFFER:
            buffer = self.buffer = SegmentBuffer()
        insertion = buffer.insert(offset, payload, missing, frame, ts_ns)
        if insertion.overlap:
            if not insertion.added:
                if not retransmitted:
                    stats.retransmissions += 1
                    events.append(self._note(
                        "tcp.retransmission", "info",
                        f"retransmission of {end - offset} buffered bytes at stream offset "
                        f"{offset}", frame))
            else:
                stats.overlaps += 1
            if insertion.conflict_frame:
                stats.conflicts += 1
                events.append(self._note(
                    "tcp.overlap_conflict", "warning",
                    f"frame {frame} carries bytes at stream offset {offset} that differ from "
                    f"those first received in frame {insertion.conflict_frame}; the first "
                    f"kept", frame))
        self._drain(events)

    def fin(self, offset: int, frame: int, ts_ns: int, events: list[FlowEvent]) -> None:
        """The sender's FIN occupies stream offset ``offset`` (just past its last byte)."""
        if self.fin_offset is not None:
            return  # a retransmitted FIN; the first one fixed the end of the stream
        offset = max(offset, self.next_offset)  # cannot take back bytes already delivered
        self.fin_offset = offset
        self.fin_frame = frame
        self.fin_ts_ns = ts_ns
        if self.buffer and self.buffer.end > offset:
            dropped = self.buffer.discard_from(offset)
            self._account()
            events.append(self._note(
                "tcp.data_after_fin", "warning",
                f"{dropped} buffered bytes after the FIN at stream offset {offset} not "
                f"delivered", frame))
        self._check_fin()

    def take_probe(self, offset: int, payload: bytes, frame: int, ts_ns: int) -> None:
        """Remember a zero-window probe byte without delivering it."""
        self.probe = (offset, payload, frame, ts_ns)

    def _resolve_probe(self, offset: int, events: list[FlowEvent]) -> None:
        """A segment follows a probe: if it starts past the probe byte, the receiver
        accepted the probe, so that byte belongs to the stream."""
        probe_offset, byte, frame, ts_ns = self.probe  # type: ignore[misc]
        self.probe = None
        if probe_offset == self.next_offset and offset > probe_offset and not self.buffer:
            self._deliver(probe_offset, byte, frame, ts_ns, events)

    def _late(self, start: int, end: int, frame: int, events: list[FlowEvent]) -> bool:
        """Bytes ``[start, end)`` (all before the next expected offset) arrive: report
        those that fall in a hole already given up. Returns whether there were any."""
        late = 0
        for lo, hi, gap_frame in self.given_up:
            n = min(end, hi) - max(start, lo)
            if n > 0:
                late += n
                last = gap_frame
        if not late:
            return False
        events.append(self._note(
            "tcp.late_data", "warning",
            f"{late} bytes at stream offset {start} arrived after their hole had been given "
            f"up as a gap (frame {last}); too late to be delivered", frame))
        return True

    # ---- bytes out -------------------------------------------------------------------

    def _emit(self, event: StreamData | StreamGap, events: list[FlowEvent]) -> None:
        """Hand an event downstream, or keep it in the outbox while either direction holds
        a hole (in order: once something is kept, what follows is kept too)."""
        if self.outbox or self.held_since is not None or self.peer.held_since is not None:
            if not self.outbox:
                self.outbox = []
            self.outbox.append(event)  # type: ignore[union-attr]
            self.outbox_cost += PIECE_OVERHEAD + (len(event.data)
                                                  if type(event) is StreamData else 0)
            self._account()
        else:
            events.append(event)

    def take_outbox(self) -> list[FlowEvent]:
        """Empty the outbox (its cost leaves the budgets) and return what it held."""
        held, self.outbox, self.outbox_cost = self.outbox, (), 0
        self._account()
        return list(held)

    def _deliver(self, offset: int, data: bytes, frame: int, ts_ns: int,
                 events: list[FlowEvent]) -> None:
        self._emit(StreamData(self.flow, self.direction, offset, data, frame, ts_ns), events)
        self._advance(len(data))
        self.stats.delivered += len(data)
        self.last_frame = frame

    def _gap(self, length: int, frame_before: int, frame_after: int, reason: str,
             events: list[FlowEvent]) -> None:
        start = self.next_offset
        self._emit(StreamGap(self.flow, self.direction, start, length, frame_before,
                             frame_after, reason), events)
        if reason != "snaplen":  # a snaplen cut is never filled by a later frame
            self.given_up = [*self.given_up[1 - REMEMBERED_GAPS:],
                             (start, start + length, frame_after or frame_before)]
        self._advance(length)
        self.stats.gaps += 1
        self.stats.gap_bytes += length

    def _drain(self, events: list[FlowEvent]) -> None:
        """Deliver the buffered bytes that have become contiguous."""
        for piece in self.buffer.pop_contiguous(self.next_offset):
            if piece.data is None:
                self._gap(piece.end - piece.start, piece.frame, piece.frame, "snaplen", events)
            else:
                self._deliver(piece.start, piece.data, piece.frame, piece.ts_ns, events)
        self._account()
        self._check_fin()

    def _account(self) -> None:
        """Bring the connection's and the table's buffer totals up to date."""
        delta = self.buffer.cost + self.outbox_cost - self.charged
        if delta:
            self.charged += delta
            self.conn.buffered += delta
            self.conn.budget.total += delta

    def _check_fin(self) -> None:
        if self.fin_offset is not None and self.next_offset >= self.fin_offset:
            self.finished = True

    # ---- giving up on holes ----------------------------------------------------------

    def _fin_hole(self) -> bool:
        """Bytes are missing before a FIN already seen."""
        return self.fin_offset is not None and not self.finished

    def waiting(self) -> bool:
        """This direction has a hole it is still waiting to see filled."""
        return bool(self.buffer) or self._fin_hole()

    def _hole(self) -> tuple[int, int, int]:
        """(end offset, frame after, arrival time after) of the first hole."""
        if self.buffer:
            first = self.buffer.first
            return first.start, first.frame, first.ts_ns
        return self.fin_offset or self.next_offset, self.fin_frame, self.fin_ts_ns

    def give_up_hole(self, reason: str, events: list[FlowEvent], upto: int | None = None) -> bool:
        """Declare (the first ``upto`` of) the first hole missing, then deliver what it
        held back. Returns False if there was no hole."""
        if not self.waiting():
            return False
        stop, frame_after, _ = self._hole()
        if upto is not None:
            stop = min(stop, upto)
        if stop <= self.next_offset:
            return False
        self._gap(stop - self.next_offset, self.last_frame, frame_after, reason, events)
        self._drain(events)
        return True

    def acked_past(self) -> int | None:
        """The stream offset the peer has acknowledged up to, if known."""
        ack = self.peer.ack
        if ack is None or not self.started:
            return None
        return self.offset_of(ack)

    def settle(self, now_ns: int, events: list[FlowEvent]) -> None:
        """Give up holes that evidence says will not be filled (see module docstring)."""
        if self.waiting():
            budget = self.conn.budget
            acked = self.acked_past()
            if acked is not None and acked > self.next_offset:
                if self.held_since is None:
                    self.held_since = now_ns  # the ACK hold begins
                if (now_ns - self.held_since >= budget.ack_hold_ns
                        or self.conn.buffered > budget.ack_hold_bytes):
                    while acked > self.next_offset and self.give_up_hole("lost", events,
                                                                         upto=acked):
                        pass
            timeout = budget.hole_timeout_ns
            while self.waiting() and now_ns - self._hole()[2] >= timeout:
                if not self.give_up_hole("lost", events):
                    break
        if self.held_since is not None and not self._held():
            self.end_hold(events)

    def _held(self) -> bool:
        """A hole the peer has ACKed past is still open."""
        if not self.waiting():
            return False
        acked = self.acked_past()
        return acked is not None and acked > self.next_offset

    def end_hold(self, events: list[FlowEvent]) -> None:
        """Stop holding; once neither direction holds, both outboxes are handed on."""
        self.held_since = None
        self.conn.release(events)

    def flush(self, reason: str, events: list[FlowEvent], *, to_fin: bool = True) -> None:
        """Stop waiting: every hole becomes a gap and every buffered byte is delivered.

        With ``reason="end-of-capture"``, the part of a hole the peer had ACKed is ``lost``.
        """
        self.probe = None  # never accepted by the receiver as far as the capture shows
        while self.buffer or (to_fin and self._fin_hole()):
            if reason == "end-of-capture":  # what the peer ACKed was lost, the rest unseen
                acked = self.acked_past()
                if (acked is not None and acked > self.next_offset
                        and self.give_up_hole("lost", events, upto=acked)):
                    continue
            if not self.give_up_hole(reason, events):
                break
        if self.held_since is not None and not self._held():
            self.end_hold(events)

    # ---- notes -----------------------------------------------------------------------

    def _note(self, kind: str, severity: str, message: str, frame: int) -> TransportNote:
        return TransportNote(kind, severity, message, frame, self.flow, self.direction)


class TcpConnection:
    """Both directions of one TCP connection and its open/closed state."""

    __slots__ = ("budget", "buffered", "closed", "flow", "halves", "keys")

    def __init__(self, flow: Flow, budget: Budget, keys: tuple[tuple, tuple]) -> None:
        self.flow = flow
        self.budget = budget
        self.keys = keys  # (client → server key, server → client key) in the flow table
        self.closed: str | None = None
        self.buffered = 0  # both directions' buffer cost
        client, server = HalfStream(self, 0), HalfStream(self, 1)
        client.peer, server.peer = server, client
        self.halves = (client, server)

    # ---- per packet ------------------------------------------------------------------

    def receive(self, half: HalfStream, packet: Packet, events: list[FlowEvent]) -> None:
        """Everything the in-order fast path in the table does not handle."""
        flow = self.flow
        ts_ns = packet.ts_ns
        flow.last_ts_ns = ts_ns
        payload = packet.payload
        n = len(payload)
        missing = packet.missing
        flags = packet.flags
        stats = half.stats
        stats.packets += 1
        stats.bytes += n + missing
        if flags & ACK:
            half.ack = packet.ack
        if packet.window:
            half.window_seen = True
            half.zero_window = False
        elif half.window_seen and not flags & (SYN | RST):
            half.zero_window = True
        if self.closed is not None:
            self._after_close(half, packet, events)
            return
        seq = packet.seq
        if flags & SYN:
            seq = self._syn(half, packet, events)
        elif not half.started:
            half.start(seq)
        # This packet's ACK says what its sender had received before sending its bytes:
        # apply it to the peer's holes first (it may start an ACK hold or prove them lost).
        half.peer.settle(ts_ns, events)
        if n or missing:
            offset = half.offset_of(seq)
            nxt = half.next_offset
            # A keep-alive sits one sequence number before the next expected one; after
            # the FIN, which took a sequence number of its own, that is the FIN's.
            if (n <= 1 and not missing and not flags & (SYN | FIN | RST)
                    and offset == (nxt if half.finished else nxt - 1)):
                pass  # keep-alive: not data, not a retransmission
            elif (n == 1 and not missing and offset == nxt and half.peer.zero_window
                  and not flags & (SYN | FIN | RST) and not half.waiting()):
                half.take_probe(offset, payload, packet.frame, ts_ns)
            else:
                half.data(offset, payload, missing, packet.frame, ts_ns, events)
        if flags & FIN:
            half.fin(half.offset_of(seq) + n + missing, packet.frame, ts_ns, events)
        if half.peer.held_since is not None:
            half.peer.settle(ts_ns, events)  # what this packet added may end the peer's hold
        half.settle(ts_ns, events)
        self._enforce_caps(half, packet.frame, events)
        if flags & RST:
            self.close("rst", "lost", events)
        elif half.finished and half.peer.finished:
            self.closed = flow.closed = "fin"
            events.append(FlowClosed(flow, "fin"))
        self.refresh()

    def _syn(self, half: HalfStream, packet: Packet, events: list[FlowEvent]) -> int:
        """Handle the SYN bit; return the sequence number of the segment's first byte."""
        seq = packet.seq
        if half.isn is None:
            half.isn = seq
            half.start(seq + 1)
        else:  # same ISN (a different one opened a new flow in the table)
            half.stats.retransmissions += 1
            events.append(half._note("tcp.retransmission", "info", "retransmitted SYN",
                                     packet.frame))
        peer = half.peer
        if packet.flags & ACK and not peer.started:
            # SYN/ACK without the SYN in the capture: its ACK gives the client's ISN + 1.
            peer.isn = (packet.ack - 1) & SEQ_MASK
            peer.start(packet.ack)
        return (seq + 1) & SEQ_MASK

    def _after_close(self, half: HalfStream, packet: Packet, events: list[FlowEvent]) -> None:
        """Late packets of a closed connection: retransmissions are counted, nothing more
        (new bytes never get here: the table opens a new flow for them)."""
        n = len(packet.payload) + packet.missing
        if packet.flags & SYN or n:
            half.stats.retransmissions += 1
            events.append(half._note(
                "tcp.retransmission", "info",
                f"retransmission after the connection closed ({self.closed})", packet.frame))

    def has_new_bytes(self, half: HalfStream, packet: Packet) -> bool:
        """Whether a packet on this (closed) connection carries bytes it never had."""
        n = len(packet.payload) + packet.missing
        if not n:
            return False
        if not half.started:
            return True
        return half.offset_of(packet.seq) + n > half.next_offset

    def syn_is_new(self, half: HalfStream, packet: Packet) -> bool:
        """Whether a SYN from ``half``'s sender starts a new connection on this 4-tuple."""
        if half.isn is not None:
            return packet.seq != half.isn
        if half.started or self.flow.mid_session:
            return True
        return self.closed is not None

    # ---- buffers ---------------------------------------------------------------------

    def _enforce_caps(self, half: HalfStream, frame: int, events: list[FlowEvent]) -> None:
        budget = self.budget
        if self.buffered > budget.max_flow:
            events.append(half._note(
                "tcp.cap_flow", "warning",
                f"flow {self.flow.id} buffered {self.buffered} bytes out of order (cap "
                f"{budget.max_flow}); holes given up as gaps", frame))
            half.flush("cap", events, to_fin=False)
            if self.buffered > budget.max_flow or half.outbox:
                half.peer.flush("cap", events, to_fin=False)
        if budget.total > budget.max_total:
            events.append(half._note(
                "tcp.cap_total", "warning",
                f"all flows buffered {budget.total} bytes out of order (cap "
                f"{budget.max_total}); holes of flow {self.flow.id} given up as gaps", frame))
            half.flush("cap", events, to_fin=False)
            if half.outbox:  # what grew was held for the peer's hole: stop that hold
                half.peer.flush("cap", events, to_fin=False)

    def settle(self, now_ns: int, events: list[FlowEvent]) -> None:
        """Apply hole timeouts and ACK holds without a packet (live use)."""
        if self.closed is None:
            for half in self.halves:
                half.settle(now_ns, events)
            self.refresh()

    def release(self, events: list[FlowEvent]) -> None:
        """Once neither direction holds a hole, hand on both outboxes, interleaved in
        capture order without reordering either direction (see :func:`interleave`)."""
        a, b = self.halves
        if (a.outbox or b.outbox) and a.held_since is None and b.held_since is None:
            events.extend(interleave(a.take_outbox(), b.take_outbox()))

    # ---- state -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Recompute which directions the table's fast path may handle.

        Only a direction with its sequence space anchored, no FIN and no probe may, and
        only while neither direction is waiting for a hole (the other side's ACKs then
        matter) and neither advertises a zero window (segments may be probes)."""
        a, b = self.halves
        calm = (self.closed is None and not a.waiting() and not b.waiting()
                and not a.zero_window and not b.zero_window)
        a.fast_seq = a.next_seq if (calm and a.started and a.fin_offset is None
                                    and a.probe is None) else -1
        b.fast_seq = b.next_seq if (calm and b.started and b.fin_offset is None
                                    and b.probe is None) else -1

    def dispose(self) -> None:
        """The table has let go of this connection: break its reference cycles
        (connection ↔ directions, direction ↔ peer) so reference counting frees it at
        once. A dropped connection is old: left to the cycle collector it would wait for
        a full collection, and a capture ending with 100,000 open flows would hold them
        all dead until then."""
        for half in self.halves:
            half.peer = None  # type: ignore[assignment]
        self.halves = ()  # type: ignore[assignment]

    def close(self, reason: str, hole_reason: str, events: list[FlowEvent]) -> None:
        """End the connection: flush both directions, then ``FlowClosed(reason)``."""
        if self.closed is not None:
            return
        for half in self.halves:
            half.flush(hole_reason, events)
        self.release(events)
        self.closed = self.flow.closed = reason
        events.append(FlowClosed(self.flow, reason))
        self.refresh()


def _event_frame(event: FlowEvent) -> int:
    if type(event) is StreamGap:
        return event.frame_after or event.frame_before
    return event.frame  # type: ignore[union-attr]


def _suffix_minima(events: list[FlowEvent]) -> list[int]:
    """For each event, the lowest frame of it and everything after it in its direction:
    an event goes out no later than the bytes that follow it in its own stream."""
    keys = [0] * len(events)
    low = NEVER
    for i in range(len(events) - 1, -1, -1):
        low = min(low, _event_frame(events[i]))
        keys[i] = low
    return keys


def interleave(first: list[FlowEvent], second: list[FlowEvent]) -> list[FlowEvent]:
    """Merge two directions' held events into one list in capture order.

    Each direction keeps its stream order; across directions the earlier frame goes
    first, where an event's frame counts as the lowest of it and its successors (a late
    segment that fills a hole comes before the bytes after the hole, which the capture
    showed earlier, and so before the peer's bytes that answered them). Ties go to
    ``first`` (the client's direction).
    """
    if not first or not second:
        return first or second
    ka, kb = _suffix_minima(first), _suffix_minima(second)
    out: list[FlowEvent] = []
    i = j = 0
    while i < len(first) and j < len(second):
        if ka[i] <= kb[j]:
            out.append(first[i])
            i += 1
        else:
            out.append(second[j])
            j += 1
    out += first[i:]
    out += second[j:]
    return out
