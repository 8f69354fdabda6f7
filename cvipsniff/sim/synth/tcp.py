"""One TCP connection laid out as segments on a timeline, with its impairments.

Steps, each a small function over plain lists so every one can be tested alone:

1. :func:`plan_writes` turns messages into the application's ``write()`` calls
   (coalesced runs, headers written separately for ``split-header``);
2. :func:`schedule` cuts writes into MSS-sized segments at realistic times, adds the
   handshake, delayed pure ACKs and the FIN/ACK teardown;
3. the impairment passes rearrange that list (it is the order the capture point sees):
   reorder, duplicate, overlapping retransmissions, capture loss, a mid-session start;
4. :func:`number` gives every segment its sequence and acknowledgement numbers by
   replaying the list as the receivers see it. Capture loss is loss *at the capture
   point*: the receiver did get the segment, so ACKs cover bytes the capture never saw,
   exactly as Wireshark's "ACKed unseen segment" situation in real traces.

Stream offsets count payload bytes of one direction from 0 (the byte after the SYN);
sequence numbers are ``ISN + 1 + offset`` modulo 2**32.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from cvipsniff.sim.synth.impairments import Impairments
from cvipsniff.sim.synth.layers import (
    TCP_FLAG_ACK,
    TCP_FLAG_FIN,
    TCP_FLAG_PSH,
    TCP_FLAG_SYN,
    tcp_syn_options,
)

SEQ_MOD = 1 << 32
WINDOW = 65535
NS_PER_BYTE = 8  # 1 Gbit/s: how long a segment occupies the wire
SEGMENT_GAP_NS = 600
WRITE_GAP_NS = 20_000  # an application needs a moment between two writes
HANDSHAKE_LEAD_NS = 3_000_000
RTT_NS = 150_000
TEARDOWN_DELAY_NS = 1_000_000
QUICK_REPLY_NS = 200_000  # a reply this soon carries the ACK; no pure ACK before it
ACK_EVERY = 2  # delayed ACK: at least every second full-sized segment (RFC 1122 4.2.3.2)
CONFLICT_XOR = 0x5A  # flips bits in every byte, so each conflicting byte differs

# Tags: what an analyser should notice at a segment (truth files turn them into findings).
TAG_DUPLICATE = "duplicate"  # same bytes again: a retransmission
TAG_RETRANSMISSION = "retransmission"  # old bytes again, with new ones after them
TAG_CONFLICT = "overlap_conflict"  # buffered bytes again, but different
TAG_AHEAD = "out_of_order"  # arrived before earlier data of its direction
TAG_LATE = "late"  # the earlier data, arriving after it (no finding of its own)
TAG_LOST = "lost"
TAG_BEFORE_CAPTURE = "before_capture"


@dataclass(slots=True, eq=False)
class Segment:
    """One TCP segment as the capture point sees it (``captured`` False: it crossed the
    network but the capture missed it). ``offset`` is the stream offset of the first
    payload byte, or for a FIN the offset the FIN occupies; ``frame`` is filled in by the
    packetizer with the frame that carried it (the last fragment if fragmented)."""

    direction: int
    t_ns: int
    flags: int
    offset: int = 0
    payload: bytes | memoryview = b""
    options: bytes = b""
    captured: bool = True
    tag: str = ""
    seq: int = 0
    ack: int = 0
    window: int = WINDOW
    acks_up_to: int | None = None  # a delayed ACK acknowledges what had arrived when due
    position: int = 0  # stream offset the sequence number stands for (-1 for a SYN)
    frame: int = 0
    frames: tuple[int, ...] = ()
    touched: bool = False

    @property
    def end(self) -> int:
        return self.offset + len(self.payload)

    @property
    def is_data(self) -> bool:
        return len(self.payload) > 0


@dataclass(slots=True)
class Event:
    """One impairment as applied: which segments it made or moved, and for overlaps the
    stream range involved. The truth file reports it with the segments' frames."""

    name: str
    direction: int
    segments: tuple[Segment, ...]
    offset: int = 0
    length: int = 0


@dataclass(slots=True)
class TcpLayout:
    segments: list[Segment]
    isn: tuple[int, int]
    events: list[Event] = field(default_factory=list)
    mid_session: bool = False


@dataclass(slots=True)
class Write:
    """One application ``write()``: ``data`` starts at stream ``offset``; ``t_ns`` is
    when the application issued it (the earliest its bytes can leave)."""

    direction: int
    t_ns: int
    offset: int
    data: memoryview


@dataclass(slots=True)
class Outgoing:
    """A message to lay out: direction, send time and bytes (from a WireMessage)."""

    direction: int
    t_ns: int
    data: bytes


# ---- 1. writes ------------------------------------------------------------------------------


def message_offsets(messages: Sequence[Outgoing]) -> list[int]:
    """Stream offset of each message within its direction."""
    sent = [0, 0]
    offsets = []
    for m in messages:
        offsets.append(sent[m.direction])
        sent[m.direction] += len(m.data)
    return offsets


def plan_writes(messages: Sequence[Outgoing], imp: Impairments,
                rng: random.Random) -> list[Write]:
    """The application's writes. Without impairments one per message.

    ``coalesce``: runs of consecutive messages of one direction (with nothing from the
    peer in between, so causality holds) go out as one write at the time of the run's
    last message, as Nagle's algorithm or a buffered writer would send them.
    ``split-header``: every message's first 1..8 bytes go out in a write of their own
    (an application writing a header, then a body, with Nagle off).
    """
    offsets = message_offsets(messages)
    writes: list[Write] = []
    i = 0
    while i < len(messages):
        j = i + 1
        if imp.coalesce:
            while (j < len(messages) and j - i < imp.coalesce
                   and messages[j].direction == messages[i].direction):
                j += 1
        run = messages[i:j]
        data = run[0].data if len(run) == 1 else b"".join(m.data for m in run)
        starts = offsets[i:j]
        write = Write(run[0].direction, run[-1].t_ns, offsets[i], memoryview(data))
        if imp.split_header:
            writes.extend(_split_headers(write, starts, [len(m.data) for m in run], rng))
        elif write.data:
            writes.append(write)
        i = j
    return writes


def _split_headers(write: Write, starts: Sequence[int], lengths: Sequence[int],
                   rng: random.Random) -> list[Write]:
    cuts = []
    for start, length in zip(starts, lengths, strict=True):
        if length >= 2:
            cuts.append(start - write.offset + rng.randint(1, min(8, length - 1)))
    pieces: list[Write] = []
    position = 0
    t_ns = write.t_ns
    for cut in [*cuts, len(write.data)]:
        if cut > position:
            pieces.append(Write(write.direction, t_ns, write.offset + position,
                                write.data[position:cut]))
            t_ns += WRITE_GAP_NS
            position = cut
    return pieces


# ---- 2. segments on a timeline ------------------------------------------------------------


def _wire_ns(length: int) -> int:
    return SEGMENT_GAP_NS + length * NS_PER_BYTE


def schedule(writes: Sequence[Write], totals: tuple[int, int], mss: int,
             rng: random.Random, start_ns: int) -> list[Segment]:
    """Handshake, data segments, delayed ACKs and teardown, sorted by time.

    Writes keep their order (it is the conversation's causal order): a write leaves no
    earlier than its own time and no earlier than the previous segment plus a short gap,
    so a response never precedes the end of its request.
    """
    first_t = writes[0].t_ns if writes else start_ns
    syn_t = first_t - HANDSHAKE_LEAD_NS
    options = tcp_syn_options(mss)
    segments = [
        Segment(0, syn_t, TCP_FLAG_SYN, offset=-1, options=options),
        Segment(1, syn_t + RTT_NS, TCP_FLAG_SYN | TCP_FLAG_ACK, offset=-1, options=options),
        Segment(0, syn_t + 2 * RTT_NS, TCP_FLAG_ACK),
    ]
    cursor = syn_t + 2 * RTT_NS
    unacked = [0, 0]  # data segments received by each side and not yet acknowledged
    for index, write in enumerate(writes):
        d = write.direction
        t = max(write.t_ns + rng.randrange(0, 150_000), cursor + WRITE_GAP_NS)
        unacked[d] = 0  # our data carries our ACK
        data = write.data
        for pos in range(0, len(data), mss):
            chunk = data[pos:pos + mss]
            last = pos + mss >= len(data)
            flags = TCP_FLAG_ACK | (TCP_FLAG_PSH if last else 0)
            segments.append(Segment(d, t, flags, offset=write.offset + pos, payload=chunk))
            unacked[1 - d] += 1
            if unacked[1 - d] >= ACK_EVERY and not last:
                segments.append(Segment(1 - d, t + _ack_delay(rng), TCP_FLAG_ACK,
                                        acks_up_to=write.offset + pos + len(chunk)))
                unacked[1 - d] = 0
            cursor = t
            t += _wire_ns(len(chunk))
        if unacked[1 - d] and not _quick_reply(writes, index, cursor):
            segments.append(Segment(1 - d, cursor + _ack_delay(rng), TCP_FLAG_ACK))
            unacked[1 - d] = 0
    end = max(s.t_ns for s in segments) + TEARDOWN_DELAY_NS
    segments += [
        Segment(0, end, TCP_FLAG_FIN | TCP_FLAG_ACK, offset=totals[0]),
        Segment(1, end + RTT_NS, TCP_FLAG_FIN | TCP_FLAG_ACK, offset=totals[1]),
        Segment(0, end + 2 * RTT_NS, TCP_FLAG_ACK),
    ]
    segments.sort(key=lambda s: s.t_ns)  # stable: equal times keep creation order
    return segments


def _ack_delay(rng: random.Random) -> int:
    return rng.randrange(30_000, 90_000)


def _quick_reply(writes: Sequence[Write], index: int, last_t: int) -> bool:
    """Whether the peer answers so soon that its data carries the ACK."""
    if index + 1 >= len(writes):
        return False
    nxt = writes[index + 1]
    return (nxt.direction != writes[index].direction
            and max(nxt.t_ns, last_t + WRITE_GAP_NS) <= last_t + QUICK_REPLY_NS)


# ---- 3. impairments ---------------------------------------------------------------------


def _candidates(segments: Sequence[Segment], min_len: int = 1) -> list[int]:
    return [i for i, s in enumerate(segments)
            if len(s.payload) >= min_len and not s.touched and s.captured]


def _split(segments: list[Segment], index: int, at: int) -> None:
    """Cut a data segment in two at payload position ``at`` (the second 1 µs later)."""
    s = segments[index]
    second = Segment(s.direction, s.t_ns + 1_000, s.flags, offset=s.offset + at,
                     payload=s.payload[at:])
    s.payload = s.payload[:at]
    s.flags &= ~TCP_FLAG_PSH
    segments.insert(index + 1, second)


def _contiguous_pair(segments: list[Segment], rng: random.Random,
                     min_second: int = 1) -> tuple[int, int] | None:
    """Indices (i, j) of a data segment and the next one of its direction, adjacent in
    the stream, with no data from the peer between them (swapping them must not let a
    reply overtake its request). Without such a pair, a segment long enough is cut in two
    to make one. None when there is nothing to work with."""
    pairs = []
    for i in _candidates(segments):
        d = segments[i].direction
        for j in range(i + 1, len(segments)):
            other = segments[j]
            if not other.is_data:
                continue
            if (other.direction == d and not other.touched and other.captured
                    and other.offset == segments[i].end and len(other.payload) >= min_second):
                pairs.append((i, j))
            break  # the next data segment decides, whichever direction it is
    if pairs:
        return rng.choice(pairs)
    splittable = _candidates(segments, 1 + min_second)
    if not splittable:
        return None
    i = rng.choice(splittable)
    _split(segments, i, len(segments[i].payload) // 2)
    return i, i + 1


def _swap(segments: list[Segment], i: int, j: int) -> tuple[Segment, Segment]:
    """Let segment j arrive in i's time slot and i in j's; returns (ahead, late)."""
    late, ahead = segments[i], segments[j]
    late.t_ns, ahead.t_ns = ahead.t_ns, late.t_ns
    segments[i], segments[j] = ahead, late
    late.touched = ahead.touched = True
    ahead.tag, late.tag = TAG_AHEAD, TAG_LATE
    return ahead, late


def reorder(segments: list[Segment], count: int, rng: random.Random) -> list[Event]:
    """Swap a data segment with the next one of its direction: the later bytes arrive
    first (an analyser flags them as out of order) and wait for the earlier ones."""
    events = []
    for _ in range(count):
        pair = _contiguous_pair(segments, rng)
        if pair is None:
            break
        ahead, late = _swap(segments, *pair)
        events.append(Event("reorder", ahead.direction, (ahead, late), late.offset,
                            ahead.end - late.offset))
    return events


def duplicate(segments: list[Segment], count: int, rng: random.Random) -> list[Event]:
    """Capture a data segment twice (same seq, same bytes), as a span port or a
    retransmission of an unacknowledged segment would show it. Segments of one byte are
    left alone: a repeated single byte just below the next sequence number is what a
    keep-alive looks like, and analysers (rightly) call it that."""
    events = []
    for _ in range(count):
        candidates = _candidates(segments, 2)
        if not candidates:
            break
        i = rng.choice(candidates)
        s = segments[i]
        copy = Segment(s.direction, s.t_ns + 1_000, s.flags, offset=s.offset,
                       payload=s.payload, tag=TAG_DUPLICATE, touched=True)
        s.touched = True
        segments.insert(i + 1, copy)
        events.append(Event("duplicate", s.direction, (s, copy), s.offset, len(s.payload)))
    return events


def retransmit(segments: list[Segment], count: int, rng: random.Random) -> list[Event]:
    """Repacketized retransmission: a segment S goes out as its first part A, then R
    re-sends the tail of A together with the rest of S, so R overlaps old bytes (the
    same ones) and carries new ones."""
    events = []
    for _ in range(count):
        candidates = _candidates(segments, 3)
        if not candidates:
            break
        i = rng.choice(candidates)
        s = segments[i]
        payload = s.payload
        head = max(2, len(payload) // 2)
        resend_from = head // 2
        again = Segment(s.direction, s.t_ns + 5_000, s.flags, offset=s.offset + resend_from,
                        payload=payload[resend_from:], tag=TAG_RETRANSMISSION, touched=True)
        s.payload = payload[:head]
        s.flags &= ~TCP_FLAG_PSH
        s.touched = True
        segments.insert(i + 1, again)
        events.append(Event("retransmit", s.direction, (s, again), s.offset + resend_from,
                            head - resend_from))
    return events


def conflict(segments: list[Segment], count: int, rng: random.Random) -> list[Event]:
    """Overlapping data that disagrees, where a receiver can notice: a data segment B
    arrives ahead of the segment A before it (so B waits in the reassembly buffer), then
    R re-sends the second half of B with every byte changed, then A fills the hole. The
    first copy (B's) is the truth; R is the conflict. (Once bytes are delivered a
    streaming reassembler no longer holds them, so a conflict after an in-order delivery
    is invisible to Wireshark and to us alike; this layout is the one both can see.)"""
    events = []
    for _ in range(count):
        pair = _contiguous_pair(segments, rng, min_second=2)
        if pair is None:
            break
        i, j = pair
        ahead, late = _swap(segments, i, j)
        keep = len(ahead.payload) // 2
        changed = bytes(b ^ CONFLICT_XOR for b in ahead.payload[keep:])
        again = Segment(ahead.direction, ahead.t_ns + 1_000, ahead.flags,
                        offset=ahead.offset + keep, payload=changed, tag=TAG_CONFLICT,
                        touched=True)
        segments.insert(i + 1, again)
        events.append(Event("conflict", ahead.direction, (ahead, again, late), again.offset,
                            len(changed)))
    return events


def lose(segments: list[Segment], count: int, rng: random.Random) -> list[Event]:
    """Data segments the capture misses (the receiver got them)."""
    events = []
    for _ in range(count):
        candidates = _candidates(segments)
        if not candidates:
            break
        s = segments[rng.choice(candidates)]
        s.captured = False
        s.touched = True
        s.tag = TAG_LOST
        events.append(Event("loss", s.direction, (s,), s.offset, len(s.payload)))
    return events


def capture_late(segments: list[Segment], count: int, rng: random.Random,
                 isn: tuple[int, int]) -> list[Event]:
    """After numbering (the receiver had every segment in time): a data segment S the
    capture shows only after the peer's first ACK covering it, with later bytes of its
    direction captured before that ACK. An analyser sees those bytes out of order, an ACK
    past the hole, then S: the bytes are in the capture and belong in the stream."""
    events = []
    for _ in range(count):
        chosen = None
        for i in _candidates(segments, 2):
            s = segments[i]
            d = s.direction
            later = [k for k in range(i + 1, len(segments))
                     if segments[k].direction == d and segments[k].is_data]
            for j in range(i + 1, len(segments)):
                p = segments[j]
                if p.direction == d or not p.flags & TCP_FLAG_ACK or p.flags & TCP_FLAG_SYN:
                    continue
                if (p.ack - isn[d] - 1) % SEQ_MOD >= s.end:
                    if later and later[0] < j and not segments[later[0]].touched:
                        chosen = (i, j, later[0])
                    break
            if chosen is not None:
                break
        if chosen is None:
            break
        i, j, k = chosen
        s, ack, ahead = segments[i], segments[j], segments[k]
        segments.insert(j + 1, s)
        del segments[i]
        s.t_ns = ack.t_ns + 1_000
        s.touched = ahead.touched = True
        s.tag, ahead.tag = TAG_LATE, TAG_AHEAD
        events.append(Event("late", s.direction, (ahead, s), s.offset, len(s.payload)))
    return events


def start_midstream(segments: list[Segment], skip: int) -> list[Event]:
    """The capture begins after the handshake and ``skip`` more packets."""
    dropped = []
    for s in segments[: 3 + skip]:
        if s.captured:
            s.captured = False
            s.tag = s.tag or TAG_BEFORE_CAPTURE
            dropped.append(s)
    return [Event("midstream", -1, tuple(dropped))]


# ---- 4. sequence numbers -----------------------------------------------------------------


class _Receiver:
    """How far one side has received the peer's stream contiguously."""

    __slots__ = ("fin_at", "frontier", "pending")

    def __init__(self) -> None:
        self.frontier = 0
        self.pending: list[tuple[int, int]] = []
        self.fin_at: int | None = None

    def receive(self, start: int, end: int) -> None:
        if start > self.frontier:
            self.pending.append((start, end))
            return
        self.frontier = max(self.frontier, end)
        progress = True
        while progress and self.pending:
            progress = False
            for item in list(self.pending):
                if item[0] <= self.frontier:
                    self.frontier = max(self.frontier, item[1])
                    self.pending.remove(item)
                    progress = True

    def acknowledged(self) -> int:
        """Bytes of sequence space acknowledged (a received FIN counts one)."""
        fin = 1 if self.fin_at is not None and self.frontier >= self.fin_at else 0
        return self.frontier + fin


def number(segments: Sequence[Segment], isn: tuple[int, int]) -> None:
    """Fill in seq and ack, replaying the list in order as each receiver sees it."""
    receivers = (_Receiver(), _Receiver())  # receivers[d]: what side d got from 1 - d
    sent = [0, 0]  # per side: stream bytes sent so far
    fin_sent = [False, False]
    syn_seen = [False, False]  # whether side d has seen the peer's SYN
    for s in segments:
        d = s.direction
        if s.flags & TCP_FLAG_SYN:
            s.position = -1
            s.seq = isn[d]
        else:
            fin_or_data = bool(s.flags & TCP_FLAG_FIN) or s.is_data
            s.position = s.offset if fin_or_data else sent[d]
            # A pure ACK after this side's FIN stands one past it in sequence space.
            past_fin = 1 if fin_sent[d] and not fin_or_data else 0
            s.seq = (isn[d] + 1 + s.position + past_fin) % SEQ_MOD
        if s.flags & TCP_FLAG_ACK:
            acknowledged = receivers[d].acknowledged() if syn_seen[d] else 0
            if s.acks_up_to is not None:
                acknowledged = min(acknowledged, s.acks_up_to)
            s.ack = (isn[1 - d] + 1 + acknowledged) % SEQ_MOD
        peer = receivers[1 - d]
        if s.flags & TCP_FLAG_SYN:
            syn_seen[1 - d] = True
        if s.is_data:
            peer.receive(s.offset, s.end)
            sent[d] = max(sent[d], s.end)
        if s.flags & TCP_FLAG_FIN:
            peer.fin_at = s.offset
            fin_sent[d] = True


def monotonic(segments: Sequence[Segment]) -> None:
    """Capture timestamps never go backwards within a connection."""
    last = None
    for s in segments:
        if last is not None and s.t_ns < last:
            s.t_ns = last
        last = s.t_ns


# ---- all together ----------------------------------------------------------------------------


def initial_sequence_numbers(totals: tuple[int, int], wrap: bool,
                             rng: random.Random) -> tuple[int, int]:
    """Random ISNs, or with ``wrap`` ISNs just below 2**32 placed so that each direction's
    stream crosses the wrap about halfway through its bytes."""
    if not wrap:
        return rng.randrange(1 << 31), rng.randrange(1 << 31)
    return tuple(SEQ_MOD - 1 - total // 2 for total in totals)  # type: ignore[return-value]


def layout(messages: Sequence[Outgoing], imp: Impairments, rng: random.Random,
           start_ns: int = 0) -> TcpLayout:
    """The whole connection: segments in capture order with numbers and tags."""
    totals = (sum(len(m.data) for m in messages if m.direction == 0),
              sum(len(m.data) for m in messages if m.direction == 1))
    isn = initial_sequence_numbers(totals, imp.wrap, rng)
    writes = plan_writes(messages, imp, rng)
    segments = schedule(writes, totals, imp.mss, rng, start_ns)
    events: list[Event] = []
    if imp.reorder:
        events += reorder(segments, imp.reorder, rng)
    if imp.duplicate:
        events += duplicate(segments, imp.duplicate, rng)
    if imp.retransmit:
        events += retransmit(segments, imp.retransmit, rng)
    if imp.conflict:
        events += conflict(segments, imp.conflict, rng)
    if imp.loss:
        events += lose(segments, imp.loss, rng)
    if imp.midstream is not None:
        events += start_midstream(segments, imp.midstream)
    monotonic(segments)
    number(segments, isn)
    if imp.late:
        events += capture_late(segments, imp.late, rng, isn)
        monotonic(segments)
    return TcpLayout(segments, isn, events, mid_session=imp.midstream is not None)
