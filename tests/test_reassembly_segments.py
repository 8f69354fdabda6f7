"""The out-of-order buffer: first-wins insertion, conflicts, snaplen markers, draining."""

from __future__ import annotations

from cvipsniff.flows.segments import PIECE_OVERHEAD, SegmentBuffer


def spans(buffer: SegmentBuffer) -> list[tuple[int, int, bytes | None, int]]:
    return [(p.start, p.end, p.data, p.frame) for p in buffer.pieces]


def test_disjoint_pieces_stay_sorted() -> None:
    buf = SegmentBuffer()
    buf.insert(20, b"cc", 0, 3, 0)
    buf.insert(0, b"aa", 0, 1, 0)
    buf.insert(10, b"bb", 0, 2, 0)
    assert spans(buf) == [(0, 2, b"aa", 1), (10, 12, b"bb", 2), (20, 22, b"cc", 3)]
    assert buf.cost == 3 * (PIECE_OVERHEAD + 2)


def test_whole_segment_is_buffered_without_copy() -> None:
    buf = SegmentBuffer()
    data = b"x" * 100
    buf.insert(5, data, 0, 1, 0)
    assert buf.first.data is data


def test_first_received_bytes_win_and_only_new_parts_are_added() -> None:
    buf = SegmentBuffer()
    buf.insert(10, b"BBBBB", 0, 1, 0)  # [10, 15)
    result = buf.insert(5, b"aaaaaBBBBBccccc", 0, 2, 0)  # [5, 20), same bytes in the middle
    assert (result.added, result.overlap, result.conflict_frame) == (10, 5, 0)
    assert spans(buf) == [(5, 10, b"aaaaa", 2), (10, 15, b"BBBBB", 1), (15, 20, b"ccccc", 2)]


def test_conflicting_overlap_keeps_the_first_bytes_and_names_their_frame() -> None:
    buf = SegmentBuffer()
    buf.insert(10, b"BBBBB", 0, 7, 0)
    result = buf.insert(12, b"XXXXX", 0, 8, 0)  # [12, 17): 12..15 differ
    assert result.conflict_frame == 7
    assert (result.added, result.overlap) == (2, 3)
    assert spans(buf) == [(10, 15, b"BBBBB", 7), (15, 17, b"XX", 8)]


def test_exact_duplicate_adds_nothing() -> None:
    buf = SegmentBuffer()
    buf.insert(0, b"abc", 0, 1, 0)
    cost = buf.cost
    result = buf.insert(0, b"abc", 0, 2, 0)
    assert (result.added, result.overlap, result.conflict_frame) == (0, 3, 0)
    assert buf.cost == cost and len(buf) == 1


def test_segment_spanning_several_pieces_fills_every_hole_between_them() -> None:
    buf = SegmentBuffer()
    buf.insert(2, b"c", 0, 1, 0)
    buf.insert(5, b"f", 0, 2, 0)
    result = buf.insert(0, b"abcdefgh", 0, 3, 0)
    assert result.added == 6 and result.overlap == 2 and not result.conflict_frame
    assert b"".join(p.data or b"" for p in buf.pieces) == b"abcdefgh"
    assert [p.start for p in buf.pieces] == [0, 2, 3, 5, 6]


def test_snaplen_marker_holds_its_place_and_costs_only_overhead() -> None:
    buf = SegmentBuffer()
    buf.insert(0, b"head", 96, 4, 0)
    assert spans(buf) == [(0, 4, b"head", 4), (4, 100, None, 4)]
    assert buf.cost == 2 * PIECE_OVERHEAD + 4
    # Later bytes for the marked range do not replace it (first wins) nor conflict.
    result = buf.insert(50, b"z" * 60, 0, 5, 0)
    assert result.conflict_frame == 0 and result.added == 10
    assert spans(buf)[-1] == (100, 110, b"z" * 10, 5)


def test_pop_contiguous_takes_only_the_run_starting_at_the_offset() -> None:
    buf = SegmentBuffer()
    buf.insert(0, b"ab", 0, 1, 0)
    buf.insert(2, b"cd", 0, 2, 0)
    buf.insert(9, b"z", 0, 3, 0)
    assert buf.pop_contiguous(1) == []
    run = buf.pop_contiguous(0)
    assert [(p.start, p.data) for p in run] == [(0, b"ab"), (2, b"cd")]
    assert spans(buf) == [(9, 10, b"z", 3)]
    assert buf.cost == PIECE_OVERHEAD + 1


def test_discard_from_trims_a_straddling_piece_and_reports_the_bytes() -> None:
    buf = SegmentBuffer()
    buf.insert(0, b"abcdef", 0, 1, 0)
    buf.insert(10, b"xyz", 0, 2, 0)
    assert buf.discard_from(4) == 2 + 3
    assert spans(buf) == [(0, 4, b"abcd", 1)]
    assert buf.cost == PIECE_OVERHEAD + 4
    assert buf.discard_from(100) == 0


def test_many_tiny_pieces_drain_in_one_pass() -> None:
    buf = SegmentBuffer()
    for i in range(5000, 0, -1):  # worst order for a naive list
        buf.insert(i, b"x", 0, i, 0)
    buf.insert(0, b"x", 0, 0, 0)
    run = buf.pop_contiguous(0)
    assert len(run) == 5001 and not buf and buf.cost == 0
