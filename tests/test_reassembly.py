"""TCP reassembly per direction, driven through the flow table with hand-built packets."""

from __future__ import annotations

import ipaddress

import pytest

from cvipsniff.flows import FlowTable
from cvipsniff.flows.segments import PIECE_OVERHEAD
from cvipsniff.model import (
    ACK,
    FIN,
    PSH,
    RST,
    SYN,
    Flow,
    FlowClosed,
    FlowEvent,
    FlowOpened,
    Packet,
    StreamData,
    StreamGap,
    TransportNote,
)

C, S = 0, 1  # directions: client → server, server → client
MASK = 0xFFFFFFFF


class Talk:
    """A scripted TCP connection: packets are described by stream offset, fed to a
    :class:`FlowTable`, and every event is recorded."""

    def __init__(self, table: FlowTable | None = None, *, isn: tuple[int, int] = (1000, 5000),
                 client: tuple[str, int] = ("10.0.0.1", 40000),
                 server: tuple[str, int] = ("10.0.0.2", 7110)) -> None:
        self.table = table or FlowTable()
        self.isn = isn
        self.ends = [(ipaddress.ip_address(h).packed, p) for h, p in (client, server)]
        self.frame = 0
        self.ts_ns = 1_000_000_000
        self.events: list[FlowEvent] = []

    def seq(self, d: int, offset: int) -> int:
        return (self.isn[d] + 1 + offset) & MASK

    def send(self, d: int, offset: int = 0, data: bytes = b"", *, flags: int = ACK,
             ack: int = 0, window: int = 65535, missing: int = 0, seq: int | None = None,
             dt_ns: int = 1000) -> list[FlowEvent]:
        """One segment from direction ``d`` whose first byte is at stream ``offset``;
        ``ack`` is a stream offset of the other direction."""
        self.frame += 1
        self.ts_ns += dt_ns
        (src, sport), (dst, dport) = self.ends[d], self.ends[1 - d]
        packet = Packet(
            frame=self.frame, ts_ns=self.ts_ns, ip_version=len(src) // 4 + 3, src=src,
            dst=dst, transport=6, sport=sport, dport=dport, payload=data, missing=missing,
            seq=self.seq(d, offset) if seq is None else seq,
            ack=self.seq(1 - d, ack) if flags & ACK else 0, flags=flags, window=window)
        events = self.table.feed(packet)
        self.events += events
        return events

    def handshake(self) -> None:
        self.send(C, seq=self.isn[0], flags=SYN)
        self.send(S, seq=self.isn[1], flags=SYN | ACK)
        self.send(C, 0)

    def close(self) -> list[FlowEvent]:
        events = self.table.close()
        self.events += events
        return events

    # ---- reading the record ----------------------------------------------------------

    @property
    def flow(self) -> Flow:
        return next(e.flow for e in self.events if isinstance(e, FlowOpened))

    def data(self, d: int) -> bytes:
        """The direction's delivered bytes, checking offsets run on without overlap."""
        position = 0
        out = []
        for e in self.events:
            if isinstance(e, StreamData | StreamGap) and e.direction == d:
                assert e.offset == position, (e, position)
                if isinstance(e, StreamData):
                    out.append(e.data)
                    position += len(e.data)
                else:
                    position += e.length
        return b"".join(out)

    def gaps(self, d: int | None = None) -> list[StreamGap]:
        return [e for e in self.events
                if isinstance(e, StreamGap) and (d is None or e.direction == d)]

    def notes(self, kind: str) -> list[TransportNote]:
        return [e for e in self.events if isinstance(e, TransportNote) and e.kind == kind]

    def closed(self) -> list[str]:
        return [e.reason for e in self.events if isinstance(e, FlowClosed)]


def stream_events(events: list[FlowEvent]) -> list[tuple]:
    """Data and gap events in a compact comparable form."""
    out: list[tuple] = []
    for e in events:
        if isinstance(e, StreamData):
            out.append(("data", e.direction, e.offset, e.data, e.frame))
        elif isinstance(e, StreamGap):
            out.append(("gap", e.direction, e.offset, e.length, e.frame_before, e.frame_after,
                        e.reason))
    return out


# ---- in-order data ---------------------------------------------------------------------


def test_split_segments_reassemble_in_order_with_their_frames() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"hel")
    t.send(C, 3, b"lo ")
    t.send(C, 6, b"world", flags=ACK | PSH)
    assert t.data(C) == b"hello world"
    assert [e.frame for e in t.events if isinstance(e, StreamData)] == [4, 5, 6]
    stats = t.flow.stats[C]
    assert (stats.packets, stats.bytes, stats.delivered) == (5, 11, 11)
    assert not t.notes("tcp.retransmission") and not t.gaps()


def test_first_event_is_flow_opened_then_data_of_a_syn_carrying_payload() -> None:
    t = Talk()
    events = t.send(C, seq=t.isn[0], flags=SYN, data=b"fastopen")
    assert isinstance(events[0], FlowOpened)
    assert stream_events(events) == [("data", C, 0, b"fastopen", 1)]
    t.send(S, seq=t.isn[1], flags=SYN | ACK, ack=8)
    t.send(C, 8, b"!", ack=0)
    assert t.data(C) == b"fastopen!"


def test_coalesced_messages_arrive_as_one_event_holding_the_payload_object() -> None:
    t = Talk()
    t.handshake()
    payload = b"first message|second message|"
    events = t.send(C, 0, payload)
    assert len(events) == 1 and events[0].data is payload  # no copy on the fast path


def test_both_directions_are_independent_streams() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"request", ack=0)
    t.send(S, 0, b"response part 1,", ack=7)
    t.send(S, 16, b" part 2", ack=7)
    t.send(C, 7, b"next", ack=23)
    assert t.data(C) == b"requestnext"
    assert t.data(S) == b"response part 1, part 2"


# ---- out of order, retransmissions, overlaps ------------------------------------------


def test_out_of_order_segments_wait_for_the_hole_then_flow_with_their_own_frames() -> None:
    t = Talk()
    t.handshake()
    assert stream_events(t.send(C, 4, b"4567")) == []
    assert stream_events(t.send(C, 8, b"89")) == []
    assert len(t.notes("tcp.out_of_order")) == 1  # one note per hole, not per segment
    events = t.send(C, 0, b"0123")
    assert stream_events(events) == [
        ("data", C, 0, b"0123", 6), ("data", C, 4, b"4567", 4), ("data", C, 8, b"89", 5)]
    assert t.flow.stats[C].out_of_order == 2
    assert t.table.buffered == 0
    t.send(C, 10, b"ab")  # and the fast path resumes at the right place
    assert t.data(C) == b"0123456789ab"


def test_exact_retransmission_of_delivered_bytes_is_counted_not_delivered() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"abcdef")
    assert stream_events(t.send(C, 0, b"abcdef")) == []
    stats = t.flow.stats[C]
    assert (stats.retransmissions, stats.delivered, stats.bytes) == (1, 6, 12)
    assert len(t.notes("tcp.retransmission")) == 1
    t.send(C, 6, b"g")
    assert t.data(C) == b"abcdefg"


def test_partial_retransmission_delivers_only_the_new_tail() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"0123456789")
    events = t.send(C, 5, b"56789ABCDE")
    assert stream_events(events) == [("data", C, 10, b"ABCDE", 5)]
    assert t.flow.stats[C].retransmissions == 1
    assert t.data(C) == b"0123456789ABCDE"


def test_duplicate_of_buffered_segment_counts_as_retransmission() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 5, b"fghij")
    t.send(C, 5, b"fghij")
    t.send(C, 0, b"abcde")
    stats = t.flow.stats[C]
    assert t.data(C) == b"abcdefghij"
    assert (stats.retransmissions, stats.overlaps, stats.conflicts) == (1, 0, 0)


def test_overlap_with_identical_bytes_is_counted_without_conflict() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 10, b"KLMNOPQRST")
    t.send(C, 5, b"FGHIJKLMNO")  # overlaps [10, 15) of the buffered segment
    t.send(C, 0, b"ABCDE")
    assert t.data(C) == b"ABCDEFGHIJKLMNOPQRST"
    stats = t.flow.stats[C]
    assert (stats.overlaps, stats.conflicts) == (1, 0)
    assert not t.notes("tcp.overlap_conflict")


def test_conflicting_overlap_keeps_first_bytes_and_names_both_frames() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 10, b"first-seen")  # frame 4
    t.send(C, 0, b"0123456789EVIL!")  # frame 5: [10, 15) differs
    assert t.data(C) == b"0123456789first-seen"
    (note,) = t.notes("tcp.overlap_conflict")
    assert note.frame == 5 and "frame 4" in note.message and note.severity == "warning"
    assert note.flow is t.flow and note.direction == C
    assert t.flow.stats[C].conflicts == 1


def test_sequence_numbers_wrap_past_2_32_with_offsets_growing_on() -> None:
    t = Talk(isn=(MASK - 4, 5000))
    t.handshake()
    t.send(C, 0, b"abcd")  # seq 2**32-4 .. 2**32-1
    t.send(C, 8, b"ijkl")  # seq 4 ..: after the wrap, out of order
    t.send(C, 4, b"efgh")  # fills the hole: sequence number 0
    t.send(C, 12, b"mnop")
    assert t.seq(C, 4) == 0
    assert t.data(C) == b"abcdefghijklmnop"
    assert [e.offset for e in t.events if isinstance(e, StreamData)] == [0, 4, 8, 12]


def test_offsets_keep_growing_over_several_wraps() -> None:
    # 9 GiB of sequence space in 1 GiB strides (a hole before each byte, which the peer
    # ACKs as received, holding nothing): the stream offsets never fold back.
    t = Talk(FlowTable(ack_hold_ns=0), isn=(MASK - 100, 5000))
    t.handshake()
    stride = 1 << 30
    for i in range(9):
        t.send(C, i * stride, b"x")
        if i:
            t.send(S, 0, ack=i * stride + 1)
    gaps = t.gaps(C)
    assert len(gaps) == 8 and all(g.length == stride - 1 and g.reason == "lost" for g in gaps)
    assert [e.offset for e in t.events if isinstance(e, StreamData)] == [
        i * stride for i in range(9)]
    assert t.data(C) == b"x" * 9


# ---- lost segments ---------------------------------------------------------------------


HOLD_NS = 500_000_000  # the flow table's default ACK hold


def test_lost_segment_becomes_a_gap_when_the_ack_hold_runs_out() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"aaaa")  # frame 4
    # [4, 8) is never captured
    t.send(C, 8, b"cccc")  # frame 5
    assert t.send(S, 0, ack=12) == []  # frame 6: the server got everything; the hold begins
    assert t.send(S, 0, b"ok", ack=12) == []  # frame 7: held behind the client's hole
    events = t.send(S, 2, b"!", ack=12, dt_ns=HOLD_NS)  # frame 8: the hold has run out
    assert stream_events(events) == [
        ("gap", C, 4, 4, 4, 5, "lost"), ("data", C, 8, b"cccc", 5),
        ("data", S, 0, b"ok", 7), ("data", S, 2, b"!", 8)]
    t.send(C, 12, b"dddd")  # the stream continues after the gap
    assert t.data(C) == b"aaaacccc" + b"dddd"
    stats = t.flow.stats[C]
    assert (stats.gaps, stats.gap_bytes, stats.delivered) == (1, 4, 12)


def test_late_segment_after_an_ack_past_its_hole_is_delivered_in_place() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"aaaa")
    t.send(C, 8, b"cccc")  # frame 5
    t.send(S, 0, ack=12)  # the ACK passes the hole before the capture shows [4, 8)
    t.send(S, 0, b"reply", ack=12)  # frame 7: sent after the ACK, so held behind the hole
    events = t.send(C, 4, b"bbbb", ack=5)  # frame 8: the missing segment, late
    assert stream_events(events) == [
        ("data", C, 4, b"bbbb", 8), ("data", C, 8, b"cccc", 5), ("data", S, 0, b"reply", 7)]
    assert t.gaps() == [] and t.data(C) == b"aaaabbbbcccc" and t.data(S) == b"reply"
    assert t.flow.stats[C].retransmissions == 0 and not t.notes("tcp.late_data")
    assert t.table.buffered == 0


def test_held_directions_are_released_in_capture_order_keeping_each_stream_in_order() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"req1", ack=0)  # frame 4
    t.send(S, 0, b"re", ack=4)  # frame 5; [2, 6) of the answer never captured
    t.send(S, 6, b"1!", ack=4)  # frame 6
    t.send(C, 4, b"req2", ack=8)  # frame 7: the client had the whole answer; hold begins
    t.send(S, 8, b"resp2", ack=8)  # frame 8: answers req2, past the server's hole
    events = t.send(C, 8, b"req3", ack=13, dt_ns=HOLD_NS)  # frame 9: the hold runs out
    assert stream_events(events) == [
        ("gap", S, 2, 4, 5, 6, "lost"), ("data", S, 6, b"1!", 6),
        ("data", C, 4, b"req2", 7), ("data", S, 8, b"resp2", 8), ("data", C, 8, b"req3", 9)]


def test_ack_seen_before_the_data_past_the_hole_holds_from_that_data_on() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"aaaa")
    t.send(S, 0, ack=8)  # acknowledges [4, 8), which the capture has not shown yet
    assert stream_events(t.send(C, 8, b"cccc")) == []  # frame 6: waits behind the hole
    assert stream_events(t.send(C, 4, b"bbbb")) == [
        ("data", C, 4, b"bbbb", 7), ("data", C, 8, b"cccc", 6)]
    t2 = Talk()
    t2.handshake()
    t2.send(C, 0, b"aaaa")
    t2.send(S, 0, ack=8)
    t2.send(C, 8, b"cccc")  # frame 6
    events = t2.send(C, 12, b"dddd", dt_ns=HOLD_NS)  # frame 7, when the hold runs out
    assert stream_events(events) == [
        ("gap", C, 4, 4, 4, 6, "lost"), ("data", C, 8, b"cccc", 6),
        ("data", C, 12, b"dddd", 7)]


def test_ack_past_part_of_a_hole_gives_up_only_that_part() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"aa")
    t.send(C, 10, b"kk")
    assert t.send(S, 0, ack=6) == []
    assert stream_events(t.send(S, 0, ack=6, dt_ns=HOLD_NS)) == [
        ("gap", C, 2, 4, 4, 5, "lost")]
    t.send(C, 6, b"ghij")  # the rest of the hole still arrives
    assert t.data(C) == b"aaghijkk"


def test_bytes_of_a_hole_arriving_after_it_was_given_up_are_reported_late() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"aa")
    t.send(C, 4, b"ee")  # frame 5
    t.send(S, 0, ack=6)
    t.send(S, 0, ack=6, dt_ns=HOLD_NS)  # hold over: [2, 4) is a gap
    t.send(C, 1, b"abc")  # frame 8: [1, 2) was delivered, [2, 4) was given up
    (note,) = t.notes("tcp.late_data")
    assert note.severity == "warning" and note.frame == 8 and "frame 5" in note.message
    assert note.message.startswith("2 bytes at stream offset 1 ")  # only the gap's bytes
    assert t.flow.stats[C].retransmissions == 0
    t.send(C, 0, b"aa")  # an ordinary retransmission is still one
    assert t.flow.stats[C].retransmissions == 1 and len(t.notes("tcp.late_data")) == 1
    assert t.data(C) == b"aaee"


def test_the_ack_hold_ends_at_the_connections_next_packet_or_live_tick_after_it() -> None:
    table = FlowTable()
    quiet = Talk(table)
    other = Talk(table, client=("10.0.0.3", 40001))
    quiet.handshake()
    quiet.send(C, 0, b"aa")
    quiet.send(C, 4, b"ee")
    quiet.send(S, 0, ack=6)  # the hold begins
    other.ts_ns = quiet.ts_ns
    other.handshake()
    other.send(C, 0, b"x", dt_ns=HOLD_NS)  # other flows' traffic leaves this one alone
    assert quiet.gaps() == [] and other.gaps() == []
    events = table.expire(other.ts_ns, idle_ns=60_000_000_000)  # a live tick
    assert stream_events(events) == [("gap", C, 2, 2, 4, 5, "lost"), ("data", C, 4, b"ee", 5)]


def test_the_ack_hold_ends_when_the_held_bytes_reach_their_bound() -> None:
    t = Talk(FlowTable(ack_hold_bytes=3000))
    t.handshake()
    t.send(C, 0, b"a")
    t.send(C, 2, b"x" * 1000)
    t.send(S, 0, ack=1002)
    t.send(S, 0, b"y" * 1000, ack=1002)
    assert t.gaps() == []
    t.send(S, 1000, b"z" * 1000, ack=1002)  # held bytes + overhead now exceed 3000
    assert [(g.offset, g.length, g.reason) for g in t.gaps()] == [(1, 1, "lost")]
    assert t.data(S) == b"y" * 1000 + b"z" * 1000 and t.table.buffered == 0


def test_a_cap_ends_the_ack_hold_and_delivers_the_held_bytes() -> None:
    t = Talk(FlowTable(max_flow_buffer=2500, ack_hold_bytes=10**9))
    t.handshake()
    t.send(C, 0, b"a")
    t.send(C, 2, b"x" * 1000)
    t.send(S, 0, ack=1002)
    t.send(S, 0, b"y" * 1000, ack=1002)
    t.send(S, 1000, b"z" * 1000, ack=1002)  # the held reply grows past the flow cap
    assert t.notes("tcp.cap_flow")
    assert [(g.offset, g.length, g.reason) for g in t.gaps()] == [(1, 1, "cap")]
    assert t.data(C) == b"a" + b"x" * 1000 and t.data(S) == b"y" * 1000 + b"z" * 1000
    assert t.table.buffered == 0


def test_end_of_capture_releases_held_bytes_after_the_gap() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"aa")
    t.send(C, 4, b"ee")  # frame 5
    t.send(S, 0, ack=6)
    t.send(S, 0, b"ok", ack=6)  # frame 7
    events = t.close()
    assert stream_events(events) == [
        ("gap", C, 2, 2, 4, 5, "lost"), ("data", C, 4, b"ee", 5), ("data", S, 0, b"ok", 7)]
    assert isinstance(events[-1], FlowClosed)


def test_rst_releases_the_peers_held_bytes_before_closing() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"aa")
    t.send(C, 4, b"ee")
    t.send(S, 0, ack=6)
    t.send(S, 0, b"ok", ack=6)  # frame 7, held
    events = t.send(S, 2, flags=RST | ACK, ack=6)
    assert stream_events(events) == [
        ("gap", C, 2, 2, 4, 5, "lost"), ("data", C, 4, b"ee", 5), ("data", S, 0, b"ok", 7)]
    assert t.closed() == ["rst"]


def test_hole_is_given_up_after_the_timeout_without_acks() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"aa")
    t.send(C, 4, b"ee")
    t.send(C, 6, b"ff", dt_ns=4_000_000_000)
    assert t.gaps() == []
    t.send(C, 8, b"gg", dt_ns=1_000_000_000)  # 5 s after the first bytes past the hole
    assert [(g.offset, g.length, g.reason) for g in t.gaps()] == [(2, 2, "lost")]
    assert t.data(C) == b"aaeeffgg"


def test_expire_applies_the_hole_timeout_without_traffic() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"aa")
    t.send(C, 4, b"ee")
    assert t.table.expire(t.ts_ns + 1_000_000_000, idle_ns=60_000_000_000) == []
    events = t.table.expire(t.ts_ns + 6_000_000_000, idle_ns=60_000_000_000)
    assert stream_events(events) == [("gap", C, 2, 2, 4, 5, "lost"), ("data", C, 4, b"ee", 5)]


def test_end_of_capture_flushes_buffered_data_after_a_gap() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"aa")
    t.send(C, 4, b"ee")
    t.send(C, 9, b"j")
    events = t.close()
    assert stream_events(events) == [
        ("gap", C, 2, 2, 4, 5, "end-of-capture"), ("data", C, 4, b"ee", 5),
        ("gap", C, 6, 3, 5, 6, "end-of-capture"), ("data", C, 9, b"j", 6)]
    assert isinstance(events[-1], FlowClosed) and events[-1].reason == "end-of-capture"
    assert t.flow.closed == "end-of-capture"


def test_end_of_capture_gap_is_lost_when_the_peer_had_acked_past_it() -> None:
    t = Talk(FlowTable(hole_timeout_ns=10**18, ack_hold_ns=10**18))
    t.handshake()
    t.send(C, 0, b"aa")
    t.send(S, 0, ack=4, flags=ACK, window=65535)  # ACK past the hole before data after it
    t.send(C, 6, b"gg", flags=ACK | PSH)  # hole [2, 6): [2, 4) was received, held
    assert t.gaps() == []
    t.close()
    assert [(g.offset, g.length, g.reason) for g in t.gaps()] == [
        (2, 2, "lost"), (4, 2, "end-of-capture")]


def test_bytes_acked_but_never_captured_at_the_end_are_not_invented() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"aa")
    t.send(S, 0, ack=3)  # may be the ACK of a FIN the capture missed
    t.close()
    assert t.gaps() == [] and t.data(C) == b"aa"


def test_hostile_sequence_jump_is_a_gap_not_an_allocation() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"a")
    t.send(C, (1 << 31) - 2, b"z")  # the furthest a sequence number can point ahead
    assert t.table.buffered < 1000
    t.close()
    (gap,) = t.gaps()
    assert (gap.offset, gap.length) == (1, (1 << 31) - 3)
    assert t.data(C) == b"az"


# ---- snaplen ---------------------------------------------------------------------------


def test_snaplen_cut_segment_delivers_its_head_then_a_gap() -> None:
    t = Talk()
    t.handshake()
    events = t.send(C, 0, b"head", missing=96)
    assert stream_events(events) == [
        ("data", C, 0, b"head", 4), ("gap", C, 4, 96, 4, 4, "snaplen")]
    t.send(C, 100, b"next")
    assert t.data(C) == b"headnext"
    stats = t.flow.stats[C]
    assert (stats.bytes, stats.delivered, stats.gap_bytes) == (104, 8, 96)


def test_snaplen_cut_segment_out_of_order_keeps_its_place() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 10, b"hh", missing=8)  # [10, 12) captured, [12, 20) cut
    t.send(C, 20, b"tail")
    events = t.send(C, 0, b"0123456789")
    assert stream_events(events) == [
        ("data", C, 0, b"0123456789", 6), ("data", C, 10, b"hh", 4),
        ("gap", C, 12, 8, 4, 4, "snaplen"), ("data", C, 20, b"tail", 5)]


def test_segment_with_nothing_captured_is_a_pure_gap() -> None:
    t = Talk()
    t.handshake()
    events = t.send(C, 0, b"", missing=1448)
    assert stream_events(events) == [("gap", C, 0, 1448, 4, 4, "snaplen")]


# ---- FIN, RST --------------------------------------------------------------------------


def test_fin_from_both_sides_closes_the_flow_and_late_acks_are_absorbed() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"bye", flags=ACK | FIN)
    assert t.closed() == []
    t.send(S, 0, b"ok", flags=ACK | FIN, ack=4)
    assert t.closed() == ["fin"]
    late = t.send(C, 4, ack=3)
    assert late == [] and t.flow.stats[C].packets == 4  # SYN, ACK, FIN, last ACK
    assert t.data(C) == b"bye" and t.data(S) == b"ok" and t.flow.closed == "fin"
    assert t.close() == []  # already closed: nothing more at the end


def test_fin_before_the_last_data_waits_for_it() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"ab")
    t.send(C, 4, flags=ACK | FIN)  # FIN at offset 4 arrives before [2, 4)
    t.send(S, 0, flags=ACK | FIN, ack=2)
    assert t.closed() == []
    t.send(C, 2, b"cd")
    assert t.data(C) == b"abcd" and t.closed() == ["fin"]


def test_missing_bytes_before_a_fin_are_lost_once_acked() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"ab")
    t.send(C, 4, flags=ACK | FIN)
    assert t.send(S, 0, flags=ACK | FIN, ack=5) == []  # ACKs the FIN: [2, 4) was received
    events = t.send(S, 1, ack=5, dt_ns=HOLD_NS)  # the hold runs out
    assert stream_events(events) == [("gap", C, 2, 2, 4, 5, "lost")]
    assert t.closed() == ["fin"]


def test_data_after_fin_is_reported_and_not_delivered() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"ab", flags=ACK | FIN)
    events = t.send(C, 3, b"zz")  # FIN took sequence number 2; offset 3 is past it
    assert stream_events(events) == []
    (note,) = t.notes("tcp.data_after_fin")
    assert "2 bytes" in note.message
    assert t.data(C) == b"ab"


def test_fin_discards_buffered_bytes_beyond_it_with_a_note() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 6, b"late")
    t.send(C, 0, b"ab", flags=ACK | FIN)
    assert "4 buffered bytes" in t.notes("tcp.data_after_fin")[0].message
    assert t.table.buffered == 0 and t.data(C) == b"ab"


def test_rst_closes_and_flushes_holes_as_lost() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"ab")
    t.send(C, 4, b"ef")
    events = t.send(S, 0, flags=RST | ACK, ack=2)
    assert stream_events(events) == [("gap", C, 2, 2, 4, 5, "lost"), ("data", C, 4, b"ef", 5)]
    assert isinstance(events[-1], FlowClosed) and events[-1].reason == "rst"
    assert t.flow.closed == "rst" and t.table.buffered == 0


def test_retransmission_after_close_is_absorbed() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"ab")
    t.send(S, 0, flags=RST | ACK, ack=2)
    assert stream_events(t.send(C, 0, b"ab")) == []
    assert t.flow.stats[C].retransmissions == 1 and t.closed() == ["rst"]


def test_connection_refused_by_rst_right_after_syn() -> None:
    t = Talk()
    t.send(C, seq=t.isn[0], flags=SYN)
    t.send(S, seq=0, flags=RST | ACK)
    assert t.closed() == ["rst"] and t.gaps() == []


# ---- control segments that are not data -----------------------------------------------


@pytest.mark.parametrize("probe", [b"", b"\x00"])
def test_keep_alive_is_neither_data_nor_retransmission(probe: bytes) -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"abc")
    assert stream_events(t.send(C, 2, probe)) == []  # seq = next - 1
    stats = t.flow.stats[C]
    assert (stats.retransmissions, stats.delivered) == (0, 3)
    assert not t.notes("tcp.retransmission")
    t.send(C, 3, b"d")
    assert t.data(C) == b"abcd"


def test_zero_window_probe_is_not_data_and_its_resend_is_not_a_retransmission() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"abc")
    t.send(S, 0, ack=3, window=0)  # receiver full
    assert stream_events(t.send(C, 3, b"d")) == []  # probe
    assert stream_events(t.send(C, 3, b"d")) == []  # probe again
    t.send(S, 0, ack=3, window=8192)  # window opens; probe byte was not taken
    events = t.send(C, 3, b"defg")
    assert stream_events(events) == [("data", C, 3, b"defg", 9)]
    stats = t.flow.stats[C]
    assert stats.retransmissions == 0 and t.data(C) == b"abcdefg"


def test_zero_window_probe_byte_is_delivered_when_the_receiver_took_it() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"abc")
    t.send(S, 0, ack=3, window=0)
    t.send(C, 3, b"d")  # probe, frame 6
    t.send(S, 0, ack=4, window=8192)  # the receiver accepted it
    events = t.send(C, 4, b"efg")
    assert stream_events(events) == [("data", C, 3, b"d", 6), ("data", C, 4, b"efg", 8)]


def test_keep_alive_after_fin_is_not_data_after_fin() -> None:
    t = Talk()
    t.handshake()
    t.send(C, 0, b"ab", flags=ACK | FIN)
    t.send(C, 2, b"\x00")  # seq = the FIN's own sequence number
    assert not t.notes("tcp.data_after_fin") and t.data(C) == b"ab"


def test_packets_without_a_window_never_look_like_zero_window_probes() -> None:
    t = Talk()
    t.handshake()  # (these carry a window)
    t2 = Talk(client=("10.0.0.5", 1))
    for d, offset, data in [(C, 0, b"a"), (S, 0, b"b"), (C, 1, b"c"), (S, 1, b"d")]:
        t2.send(d, offset, data, window=0)  # hand-built packets, window left at zero
    assert t2.data(C) == b"ac" and t2.data(S) == b"bd"


def test_retransmitted_syn_is_counted_once_and_changes_nothing() -> None:
    t = Talk()
    t.send(C, seq=t.isn[0], flags=SYN)
    t.send(C, seq=t.isn[0], flags=SYN)
    t.send(S, seq=t.isn[1], flags=SYN | ACK)
    t.send(C, 0, b"x")
    assert t.flow.stats[C].retransmissions == 1 and t.data(C) == b"x"
    assert len([e for e in t.events if isinstance(e, FlowOpened)]) == 1


# ---- memory caps -----------------------------------------------------------------------


def test_flow_cap_gives_up_holes_as_cap_gaps_and_frees_the_buffer() -> None:
    t = Talk(FlowTable(max_flow_buffer=4000))
    t.handshake()
    t.send(C, 0, b"a")
    for i in range(3):
        t.send(C, 2 + 1000 * i, b"x" * 1000)
    assert t.table.buffered == 3 * (1000 + PIECE_OVERHEAD) and not t.notes("tcp.cap_flow")
    t.send(C, 3002, b"y" * 1000)  # beyond 4000 (bytes + overhead)
    (note,) = t.notes("tcp.cap_flow")
    assert note.severity == "warning" and note.flow is t.flow
    assert [(g.offset, g.length, g.reason) for g in t.gaps()] == [(1, 1, "cap")]
    assert t.data(C) == b"a" + b"x" * 3000 + b"y" * 1000
    assert t.table.buffered == 0


def test_total_cap_across_flows() -> None:
    table = FlowTable(max_total_buffer=3000)
    first = Talk(table)
    second = Talk(table, client=("10.0.0.3", 40001))
    for t in (first, second):
        t.handshake()
        t.send(C, 1, b"b" * 1000)
    assert table.buffered > 2000 and not first.notes("tcp.cap_total")
    second.send(C, 2000, b"c" * 1000)
    (note,) = second.notes("tcp.cap_total")
    assert note.flow is second.flow
    assert [(g.offset, g.length, g.reason) for g in second.gaps()] == [
        (0, 1, "cap"), (1001, 999, "cap")]
    assert first.gaps() == []  # the flow that grew pays, the others keep waiting
    assert table.buffered < 1200


def test_many_tiny_out_of_order_segments_are_charged_their_overhead() -> None:
    t = Talk(FlowTable(max_flow_buffer=64 * 1024))
    t.handshake()
    for i in range(2000):
        t.send(C, 2 * i + 1, b"x")  # 2000 one-byte pieces, each after its own hole
    assert t.notes("tcp.cap_flow"), "a byte count alone would have let them all in"
    assert t.table.buffered <= 64 * 1024


# ---- mid-session -----------------------------------------------------------------------


def test_mid_session_start_uses_first_seen_sequence_numbers() -> None:
    t = Talk()
    t.send(C, 100, b"tail of request")  # no SYN seen: offset 0 is here
    t.send(S, 700, b"response", ack=115)
    t.send(C, 115, b" more", ack=708)
    flow = t.flow
    assert flow.mid_session is True
    assert t.data(C) == b"tail of request more" and t.data(S) == b"response"
    assert [e.offset for e in t.events if isinstance(e, StreamData)] == [0, 0, 15]


def test_mid_session_bytes_before_the_first_seen_are_old_data() -> None:
    t = Talk()
    t.send(C, 100, b"later")
    t.send(C, 90, b"0123456789")  # before offset 0: sent before the capture began
    assert t.data(C) == b"later"
    assert t.flow.stats[C].retransmissions == 1
