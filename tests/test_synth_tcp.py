"""One TCP connection laid out: writes, segments, sequence numbers and impairments."""

from __future__ import annotations

import itertools
import random

from cvipsniff.sim.synth import tcp
from cvipsniff.sim.synth.impairments import Impairments
from cvipsniff.sim.synth.layers import TCP_FLAG_ACK, TCP_FLAG_FIN, TCP_FLAG_PSH, TCP_FLAG_SYN

MS = 1_000_000


def exchange(n: int = 4, response_size: int = 5000) -> list[tcp.Outgoing]:
    """Requests of 40 bytes answered by ``response_size``-byte responses, then two
    back-to-back events from the server (a same-direction run)."""
    out = []
    for i in range(n):
        out.append(tcp.Outgoing(0, i * 10 * MS, bytes([65 + i]) * 40))
        out.append(tcp.Outgoing(1, i * 10 * MS + 2 * MS, bytes([97 + i]) * response_size))
    out.append(tcp.Outgoing(1, n * 10 * MS, b"E" * 30))
    out.append(tcp.Outgoing(1, n * 10 * MS + 100_000, b"F" * 30))
    return out


def lay(imp: str = "", messages: list[tcp.Outgoing] | None = None,
        seed: str = "t") -> tcp.TcpLayout:
    return tcp.layout(messages or exchange(), Impairments.parse(imp), random.Random(seed))


def stream(segments: list[tcp.Segment], direction: int, captured_only: bool = True) -> bytes:
    """First-seen bytes of one direction, by stream offset (what a receiver keeps)."""
    got: dict[int, int] = {}
    for s in segments:
        if s.direction != direction or (captured_only and not s.captured):
            continue
        for i, b in enumerate(bytes(s.payload)):
            got.setdefault(s.offset + i, b)
    return bytes(got[i] for i in range(len(got)))


def sent(messages: list[tcp.Outgoing], direction: int) -> bytes:
    return b"".join(m.data for m in messages if m.direction == direction)


def test_handshake_data_and_teardown() -> None:
    messages = exchange()
    layout = lay(messages=messages)
    segs = layout.segments
    assert [s.flags for s in segs[:3]] == [TCP_FLAG_SYN, TCP_FLAG_SYN | TCP_FLAG_ACK,
                                          TCP_FLAG_ACK]
    assert segs[0].seq == layout.isn[0] and segs[1].seq == layout.isn[1]
    assert segs[1].ack == (layout.isn[0] + 1) % tcp.SEQ_MOD
    fins = [s for s in segs if s.flags & TCP_FLAG_FIN]
    assert [s.direction for s in fins] == [0, 1]
    assert segs[-1].flags == TCP_FLAG_ACK and segs[-1].ack == (fins[1].seq + 1) % tcp.SEQ_MOD
    for d in (0, 1):
        assert stream(segs, d) == sent(messages, d)
    times = [s.t_ns for s in segs]
    assert times == sorted(times)


def test_segments_respect_the_mss_and_push_ends_each_write() -> None:
    layout = lay("mss=536", messages=[tcp.Outgoing(0, 0, b"x" * 2000)])
    data = [s for s in layout.segments if s.is_data]
    assert [len(s.payload) for s in data] == [536, 536, 536, 392]
    assert [bool(s.flags & TCP_FLAG_PSH) for s in data] == [False, False, False, True]
    # the SYN announces the MSS
    assert layout.segments[0].options[2:4] == (536).to_bytes(2, "big")


def test_sequence_and_ack_numbers_are_consistent() -> None:
    layout = lay()
    isn = layout.isn
    for s in layout.segments:
        if s.is_data:
            assert s.seq == (isn[s.direction] + 1 + s.offset) % tcp.SEQ_MOD
    # every ACK acknowledges no more than the peer has sent before it
    sent_so_far = [0, 0]
    for s in layout.segments:
        if s.flags & TCP_FLAG_ACK and not s.flags & TCP_FLAG_SYN:
            acked = (s.ack - isn[1 - s.direction] - 1) % tcp.SEQ_MOD
            assert acked <= sent_so_far[1 - s.direction] + 1
        if s.is_data:
            sent_so_far[s.direction] = max(sent_so_far[s.direction], s.end)


def test_delayed_acks_never_duplicate() -> None:
    layout = lay(messages=exchange(3, 20_000))
    pure = [(s.direction, s.ack) for s in layout.segments
            if s.flags == TCP_FLAG_ACK and not s.is_data]
    assert len(pure) == len(set(pure))


def test_same_seed_same_layout_other_seed_other_isns() -> None:
    a, b, c = lay(seed="x"), lay(seed="x"), lay(seed="y")
    assert [(s.seq, s.ack, s.t_ns, bytes(s.payload)) for s in a.segments] == \
        [(s.seq, s.ack, s.t_ns, bytes(s.payload)) for s in b.segments]
    assert a.isn != c.isn


def test_coalesce_puts_a_run_of_messages_in_one_segment() -> None:
    messages = exchange()
    layout = lay("coalesce", messages=messages)
    events_start = len(sent(messages, 1)) - 60
    carrying = [s for s in layout.segments if s.direction == 1 and s.offset <= events_start
                and s.end >= events_start + 60]
    assert len(carrying) == 1  # both 30-byte events in one segment
    assert stream(layout.segments, 1) == sent(messages, 1)


def test_coalesce_never_joins_across_the_peer() -> None:
    writes = tcp.plan_writes(exchange(), Impairments.parse("coalesce=10"), random.Random(1))
    # the last response and the two events behind it form one run; nothing else joins
    assert [w.direction for w in writes] == [0, 1] * 4
    assert len(writes[-1].data) == 5000 + 60


def test_split_header_cuts_inside_the_first_nine_bytes() -> None:
    messages = exchange()
    layout = lay("split-header", messages=messages)
    for d in (0, 1):
        starts = set(tcp.message_offsets(messages)[i] for i, m in enumerate(messages)
                     if m.direction == d)
        for s in layout.segments:
            if s.direction == d and s.offset in starts and s.is_data:
                assert 1 <= len(s.payload) <= 8
        assert stream(layout.segments, d) == sent(messages, d)


def test_reorder_swaps_contiguous_segments_of_one_direction() -> None:
    layout = lay("reorder=2")
    events = [e for e in layout.events if e.name == "reorder"]
    assert len(events) == 2
    for ev in events:
        ahead, late = ev.segments
        assert ahead.offset == late.end  # later data arrived first
        assert layout.segments.index(ahead) < layout.segments.index(late)
        assert (ahead.tag, late.tag) == (tcp.TAG_AHEAD, tcp.TAG_LATE)
    for d in (0, 1):
        assert stream(layout.segments, d) == sent(exchange(), d)


def test_reorder_splits_a_segment_when_no_pair_exists() -> None:
    messages = [tcp.Outgoing(0, 0, b"q" * 100), tcp.Outgoing(1, MS, b"r" * 100)]
    layout = lay("reorder", messages=messages)
    (event,) = layout.events
    ahead, late = event.segments
    assert late.offset == 0 and ahead.offset == len(late.payload) == 50
    assert stream(layout.segments, event.direction) == sent(messages, event.direction)


def test_duplicate_repeats_a_segment_right_after_it() -> None:
    layout = lay("duplicate")
    (event,) = layout.events
    original, copy = event.segments
    i = layout.segments.index(original)
    assert layout.segments[i + 1] is copy
    assert (copy.seq, bytes(copy.payload)) == (original.seq, bytes(original.payload))


def test_duplicate_leaves_single_bytes_alone() -> None:
    """A repeated single byte below the next seq is a keep-alive, not a duplicate."""
    layout = lay("duplicate=50,split-header")
    for ev in layout.events:
        assert len(ev.segments[0].payload) >= 2


def test_overlapping_retransmission_resends_old_bytes_with_new_ones() -> None:
    messages = exchange()
    layout = lay("retransmit", messages=messages)
    (event,) = layout.events
    first, again = event.segments
    assert first.offset < again.offset < first.end < again.end  # old and new bytes
    old = bytes(first.payload[again.offset - first.offset:])
    assert bytes(again.payload[: len(old)]) == old and len(old) == event.length > 0
    assert layout.segments.index(again) == layout.segments.index(first) + 1
    d = event.direction
    assert stream(layout.segments, d) == sent(messages, d)


def test_conflict_overlaps_buffered_bytes_with_different_ones() -> None:
    messages = exchange()
    layout = lay("conflict", messages=messages)
    (event,) = layout.events
    ahead, again, late = event.segments
    order = [layout.segments.index(s) for s in (ahead, again, late)]
    assert order == sorted(order)  # B (ahead of the hole), R, then A fills the hole
    assert late.end == ahead.offset
    assert ahead.offset < again.offset < again.end == ahead.end
    original = bytes(ahead.payload[again.offset - ahead.offset:])
    assert all(a != b for a, b in zip(original, bytes(again.payload), strict=True))
    assert again.tag == tcp.TAG_CONFLICT and ahead.tag == tcp.TAG_AHEAD
    d = event.direction
    assert stream(layout.segments, d) == sent(messages, d)  # first copy wins


def test_loss_is_loss_at_the_capture_point() -> None:
    messages = exchange()
    layout = lay("loss", messages=messages)
    (event,) = layout.events
    (lost,) = event.segments
    assert not lost.captured
    full = sent(messages, lost.direction)
    assert stream(layout.segments, lost.direction, captured_only=False) == full
    # the receiver still acknowledges it: some captured ACK covers the lost bytes
    isn = layout.isn[lost.direction]
    assert any((s.ack - isn - 1) % tcp.SEQ_MOD >= lost.end for s in layout.segments
               if s.direction != lost.direction and s.captured)


def test_midstream_drops_the_handshake_and_n_packets() -> None:
    layout = lay("midstream=2")
    captured = [s for s in layout.segments if s.captured]
    assert len(captured) == len(layout.segments) - 5
    assert not any(s.flags & TCP_FLAG_SYN for s in captured)
    assert layout.mid_session


def test_wrap_crosses_two_to_the_32_in_both_directions() -> None:
    layout = lay("wrap")
    for d in (0, 1):
        seqs = [s.seq for s in layout.segments if s.direction == d and s.is_data]
        assert any(b < a for a, b in itertools.pairwise(seqs)), d
        assert layout.isn[d] > (1 << 32) - 50_000


def test_counts_beyond_what_exists_stop_quietly() -> None:
    layout = lay("loss=1000", messages=[tcp.Outgoing(0, 0, b"tiny")])
    assert len(layout.events) == 1
