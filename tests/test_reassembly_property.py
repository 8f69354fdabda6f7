"""Property tests: whatever the order, duplication and overlap of consistent segments, the
reassembled stream is the original; with segments missing, every byte delivered is at its
true offset and every missing byte is inside a gap."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from cvipsniff.flows import FlowTable
from cvipsniff.model import ACK, SYN, Packet, StreamData, StreamGap

CLIENT, SERVER = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"


@st.composite
def segmented(draw: st.DrawFn) -> tuple[bytes, int, list[tuple[int, int]]]:
    """(stream, ISN, segments as [start, end) ranges covering the stream, with extra
    duplicated/overlapping ranges)."""
    data = draw(st.binary(min_size=1, max_size=600))
    isn = draw(st.integers(0, 0xFFFFFFFF))
    cuts = sorted(draw(st.sets(st.integers(1, len(data) - 1), max_size=30))
                  if len(data) > 1 else set())
    bounds = [0, *cuts, len(data)]
    ranges = list(itertools.pairwise(bounds))
    extra = draw(st.lists(
        st.tuples(st.integers(0, len(data) - 1), st.integers(1, 200)), max_size=15))
    ranges += [(start, min(len(data), start + size)) for start, size in extra]
    order = draw(st.permutations(ranges))
    return data, isn, list(order)


def run(data: bytes, isn: int, ranges: list[tuple[int, int]],
        table: FlowTable) -> tuple[list, list]:
    """Feed SYN + the segments + end of capture; return the direction-0 data/gap events."""
    events = table.feed(Packet(1, 0, 4, CLIENT, SERVER, 6, 40000, 7110, b"", seq=isn,
                               flags=SYN, window=512))
    for frame, (start, end) in enumerate(ranges, start=2):
        events += table.feed(Packet(frame, frame * 1000, 4, CLIENT, SERVER, 6, 40000, 7110,
                                    data[start:end], seq=(isn + 1 + start) & 0xFFFFFFFF,
                                    ack=1, flags=ACK, window=512))
    events += table.close()
    stream = [e for e in events if isinstance(e, StreamData | StreamGap)]
    position = 0
    for e in stream:  # offsets run on: no overlap, no silent skip
        assert e.offset == position
        position += len(e.data) if isinstance(e, StreamData) else e.length
    return ([e for e in stream if isinstance(e, StreamData)],
            [e for e in stream if isinstance(e, StreamGap)])


@settings(max_examples=300, deadline=None)
@given(segmented())
def test_any_order_duplication_and_overlap_reassembles_the_original(case) -> None:
    data, isn, ranges = case
    table = FlowTable()
    delivered, gaps = run(data, isn, ranges, table)
    assert b"".join(e.data for e in delivered) == data
    assert gaps == []
    stats = next(table.flows).stats[0]
    assert stats.delivered == len(data) and stats.conflicts == 0
    assert table.buffered == 0


@settings(max_examples=300, deadline=None)
@given(segmented(), st.data())
def test_missing_segments_become_gaps_and_nothing_else_moves(case, draw) -> None:
    data, isn, ranges = case
    kept = [r for r in ranges if draw.draw(st.booleans())]
    delivered, gaps = run(data, isn, kept, FlowTable())
    covered = set()
    for start, end in kept:
        covered.update(range(start, end))
    for e in delivered:
        assert e.data == data[e.offset : e.offset + len(e.data)]
    delivered_offsets = {i for e in delivered for i in range(e.offset, e.offset + len(e.data))}
    assert delivered_offsets == covered
    gap_offsets = {i for g in gaps for i in range(g.offset, g.offset + g.length)}
    assert gap_offsets == set(range(max(covered, default=-1) + 1)) - covered
    assert all(g.reason == "end-of-capture" for g in gaps)
