"""ImageServerFramer: message boundaries, chunking independence, gaps, caps and recovery."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissectors.accel import COMPILED
from dissectors.base import Framed, Skipped
from dissectors.imageserver import PROTOCOL, dissect
from dissectors.imageserver import rules as R
from dissectors.imageserver.framer import ImageServerFramer

# ---- building messages -----------------------------------------------------------------------


def jpeg(width: int, height: int, size: int, seed: int = 1) -> bytes:
    """A structurally valid baseline JPEG of ``size`` bytes: SOI, APP0, SOF0 with the given
    dimensions, SOS, entropy-coded filler without marker bytes, EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes(
        [1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
    sos = b"\xff\xda" + struct.pack(">HB", 12, 3) + bytes([1, 0, 2, 0x11, 3, 0x11, 0, 63, 0])
    head = b"\xff\xd8" + app0 + sof0 + sos
    fill = size - len(head) - 2
    rng = random.Random(seed)
    scan = bytes(rng.randrange(0, 0xFF) for _ in range(min(fill, 4096)))
    scan = (scan * (fill // max(len(scan), 1) + 1))[:fill]
    return head + scan + b"\xff\xd9"


def image(request_id: int, body: bytes, content_type: str = "image/jpeg",
          length: int | None = None) -> bytes:
    declared = len(body) if length is None else length
    head = (f"ImageResponse\r\nRequestId: {request_id}\r\nRestriction: none\r\n"
            f"Prev: 1700000000000\r\nCurrent: 1700000000040\r\nNext: 1700000000080\r\n"
            f"Content-length: {declared}\r\nContent-type: {content_type}\r\n\r\n")
    return head.encode() + body + b"\r\n\r\n"


def multipart(request_id: int, parts: list[bytes], close: bool = True) -> bytes:
    out = [(f"ImageResponse\r\nRequestId: {request_id}\r\nRestriction: none\r\n"
            "Prev: 1700000000000\r\nCurrent: 1700000000040\r\nNext: 1700000000080\r\n"
            "Content-type: multipart/related; boundary=frontier\r\n\r\n").encode()]
    for part in parts:
        out.append(b"--frontier\r\nContent-length: %d\r\n"
                   b"Content-type: application/x-genericbytedata-octet-stream\r\n\r\n"
                   % len(part) + part + b"\r\n")
    out.append(b"--frontier--\r\n\r\n" if close else b"")
    return b"".join(out)


def request(method: str, request_id: int, inner: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\r\n<methodcall>\r\n'
            f"  <requestid>{request_id}</requestid>\r\n  <methodname>{method}</methodname>\r\n"
            f"{inner}</methodcall>\r\n\r\n").encode()


def response(method: str, request_id: int) -> bytes:
    return (f"<methodresponse><requestid>{request_id}</requestid>"
            f"<methodname>{method}</methodname></methodresponse>\r\n\r\n").encode()


def livepackage(ms: int) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\r\n<livepackage><status>'
            f'<statustime>{ms}</statustime><statusitem id="1" value="1"/></status>'
            "</livepackage>\r\n\r\n").encode()


# ---- running the framer ----------------------------------------------------------------------


def run(chunks, framer: ImageServerFramer | None = None, gaps: dict[int, int] | None = None):
    """Feed chunks (a gap of ``gaps[i]`` bytes before chunk i) and close."""
    framer = framer or ImageServerFramer()
    events = []
    for i, chunk in enumerate(chunks):
        if gaps and i in gaps:
            events += framer.gap(gaps[i])
        events += framer.feed(chunk)
    events += framer.close()
    return events


def messages(events) -> list[bytes]:
    return [e.data for e in events if isinstance(e, Framed)]


def assert_tiles(events, total: int, holes: list[tuple[int, int]] = ()) -> None:
    """Framed and Skipped cover [0, total) exactly once, except the lost ``holes``."""
    spans = sorted([(e.start, e.end) for e in events if isinstance(e, Framed)]
                   + [(e.start, e.start + e.length) for e in events if isinstance(e, Skipped)]
                   + list(holes))
    pos = 0
    for start, end in spans:
        assert start == pos, (start, pos, spans)
        assert end > start
        pos = end
    assert pos == total


STREAM = b"".join([
    request("connect", 1, "  <username>u</username>\r\n"),
    response("connect", 1),
    request("goto", 2, "  <time>1700000000000</time>\r\n"),
    image(2, jpeg(64, 48, 700)),
    request("live", 3),
    livepackage(1700000000123),
    multipart(3, [b"abc", b"\x00\x01\r\n\r\n\x02", b"xyz" * 20]),
    image(3, b"\x00" * 40, "application/x-genericbytedata-octet-stream"),
    livepackage(1700000001123),
])
EXPECTED_COUNT = 9


def test_stream_is_cut_into_its_messages() -> None:
    events = run([STREAM])
    assert len(messages(events)) == EXPECTED_COUNT
    assert all(isinstance(e, Framed) and not e.problems and not e.truncated for e in events)
    assert b"".join(messages(events)) == STREAM
    kinds = [dissect(m).kind for m in messages(events)]
    assert kinds == ["request", "response", "request", "imageresponse", "request",
                     "livepackage", "imageresponse", "imageresponse", "livepackage"]


def test_one_byte_at_a_time_gives_the_same_messages() -> None:
    whole = run([STREAM])
    assert run([STREAM[i:i + 1] for i in range(len(STREAM))]) == whole


def test_every_split_position_gives_the_same_messages() -> None:
    whole = run([STREAM])
    for cut in range(1, len(STREAM)):
        assert run([STREAM[:cut], STREAM[cut:]]) == whole, cut


def test_messages_are_emitted_as_soon_as_complete() -> None:
    framer = ImageServerFramer()
    first = request("stop", 5)
    assert messages(framer.feed(first[:-1])) == []
    assert messages(framer.feed(first[-1:])) == [first]
    reply = image(5, jpeg(16, 16, 300))
    assert messages(framer.feed(reply)) == [reply]


def test_large_jpeg_body_is_one_message() -> None:
    body = jpeg(1280, 720, 200_000)
    data = image(9, body)
    chunks = [data[i:i + 1460] for i in range(0, len(data), 1460)]
    events = run(chunks)
    assert messages(events) == [data]
    record = dissect(data)
    assert record.attrs["width"] == 1280 and record.attrs["height"] == 720
    assert record.info == "ImageResponse id=9 image/jpeg 1280x720 200000 B"


# ---- tolerated variations --------------------------------------------------------------------


def test_bom_whitespace_and_no_declaration() -> None:
    variants = [
        b"\xef\xbb\xbf" + request("stop", 1),
        b"\r\n  " + request("stop", 2),
        response("stop", 3),
    ]
    events = run([b"".join(variants)])
    assert messages(events) == variants
    assert [dissect(m).txn for m in messages(events)] == [1, 2, 3]
    assert all(not e.problems for e in events)


def test_missing_terminator_at_end_of_stream() -> None:
    last = request("stop", 4)[:-4]
    events = run([response("stop", 3) + last])
    assert messages(events) == [response("stop", 3), last]
    assert [p.rule for p in events[1].problems] == [R.TERMINATOR]
    assert not events[1].truncated


def test_truncated_xml_at_end_of_stream() -> None:
    cut = request("stop", 4)[:30]
    (event,) = run([cut])
    assert event.data == cut and event.truncated
    assert [p.rule for p in event.problems] == [R.TRUNCATED]


def test_missing_terminator_between_messages() -> None:
    a = request("stop", 1)[:-4]
    b = request("stop", 2)
    c = b"<methodresponse><requestid>2</requestid><methodname>stop</methodname>" \
        b"</methodresponse>\r\n"
    d = image(2, jpeg(8, 8, 200))
    events = run([a + b + c + d])
    assert messages(events) == [a, b, c, d]
    assert [[p.rule for p in e.problems] for e in events] == [[R.TERMINATOR], [],
                                                              [R.TERMINATOR], []]


def test_image_without_trailer_before_next_message() -> None:
    a = image(1, jpeg(8, 8, 200))[:-4]
    b = image(2, jpeg(8, 8, 200))
    events = run([a + b])
    assert messages(events) == [a, b]
    assert [p.rule for p in events[0].problems] == [R.TERMINATOR]
    assert dissect(a).problems == []


# ---- garbage and resynchronisation -----------------------------------------------------------


def test_garbage_before_a_message_is_skipped_and_reported() -> None:
    garbage = b"\x00\x17random noise <not a message> ImageRespons"
    events = run([garbage + request("stop", 1)])
    assert events[0] == Skipped(0, len(garbage), R.SKIPPED,
                                "bytes that start no ImageServer message")
    assert messages(events) == [request("stop", 1)]
    assert_tiles(events, len(garbage) + len(request("stop", 1)))


def test_huge_garbage_uses_bounded_memory() -> None:
    framer = ImageServerFramer()
    for _ in range(200):
        assert framer.feed(b"\x00" * 10_000) == []
        assert len(framer._buf) < 64
    events = framer.feed(request("stop", 1)) + framer.close()
    assert isinstance(events[0], Skipped) and events[0].length == 2_000_000
    assert messages(events) == [request("stop", 1)]


# ---- gaps ------------------------------------------------------------------------------------


def test_gap_inside_a_jpeg_body_skips_exactly_the_rest() -> None:
    first = image(1, jpeg(320, 240, 5000))
    after = request("next", 2) + image(2, jpeg(320, 240, 3000))
    lost = 1000
    head, tail = first[:2000], first[2000 + lost:]
    events = run([head, tail + after], gaps={1: lost})
    framed = [e for e in events if isinstance(e, Framed)]
    assert framed[0].data == head and framed[0].truncated
    assert [p.rule for p in framed[0].problems] == [R.TRUNCATED]
    skipped = [e for e in events if isinstance(e, Skipped)]
    assert skipped == [Skipped(2000 + lost, len(tail), R.TRUNCATED,
                               "rest of an ImageResponse body cut by a gap of 1000 bytes")]
    assert messages(events)[1:] == [request("next", 2), image(2, jpeg(320, 240, 3000))]
    assert_tiles(events, len(first) + len(after), holes=[(2000, 2000 + lost)])
    # The truncated part still shows what it can, and no length lie is claimed.
    record = dissect(head)
    assert record.attrs["width"] == 320
    assert R.IMAGE_CONTENT_LENGTH not in {p.rule for p in record.problems}


def test_gap_beyond_the_body_resynchronises_on_the_next_message() -> None:
    first = image(1, jpeg(32, 32, 600))
    second = request("next", 2)
    third = response("stop", 9)
    # The gap swallows the end of the image and the start of the request, up to and
    # including its <methodcall>: what remains of it is no message start.
    lost_head = second.index(b"<methodcall>") + len(b"<methodcall>") + 2
    events = run([first[:300], second[lost_head:] + third],
                 gaps={1: len(first) - 300 + lost_head})
    assert messages(events) == [first[:300], third]
    skipped = [e for e in events if isinstance(e, Skipped)]
    assert len(skipped) == 1 and skipped[0].rule == R.SKIPPED
    assert_tiles(events, len(first) + len(second) + len(third),
                 holes=[(300, len(first) + lost_head)])


def test_gap_inside_xml_gives_a_truncated_message() -> None:
    a = request("goto", 1, "  <time>1700000000000</time>\r\n")
    b = request("stop", 2)
    events = run([a[:40], a[60:] + b], gaps={1: 20})
    assert events[0].data == a[:40] and events[0].truncated
    assert messages(events) == [a[:40], b]
    assert_tiles(events, len(a) + len(b), holes=[(40, 60)])


def test_gap_between_messages() -> None:
    a, b = request("stop", 1), request("stop", 2)
    events = run([a, b], gaps={1: 7})
    assert messages(events) == [a, b]
    assert all(not e.problems for e in events)


# ---- caps and lying lengths ------------------------------------------------------------------


def test_content_length_of_4_gb_is_counted_down_not_buffered() -> None:
    head = image(1, b"", length=4 * 1024**3)[:-4]
    framer = ImageServerFramer()
    events = framer.feed(head)
    assert messages(events) == [head]
    assert [p.rule for p in events[0].problems] == [R.LENGTH_CAP]
    record = dissect(head)
    assert record.attrs["content_length"] == 4 * 1024**3
    sent = 0
    chunk = bytes(range(256)) * 256  # 64 KiB without a message start in it
    for _ in range(300):
        assert framer.feed(chunk) == []
        sent += len(chunk)
        assert len(framer._buf) < 64
    (skipped,) = framer.close()
    assert skipped.start == len(head) and skipped.length == sent
    assert skipped.rule == R.LENGTH_CAP
    assert "ended" in skipped.reason


def test_lying_huge_content_length_does_not_swallow_the_next_message() -> None:
    head = image(1, b"", length=4 * 1024**3)[:-4]
    body = b"\x01" * 5000
    nxt = request("stop", 2)
    events = run([head, body + b"\r\n\r\n" + nxt])
    assert messages(events) == [head, nxt]
    (skipped,) = [e for e in events if isinstance(e, Skipped)]
    assert skipped.rule == R.IMAGE_CONTENT_LENGTH and skipped.length == len(body) + 4


def test_next_message_inside_declared_body() -> None:
    """Content-length says 5000; the body is 1000 and the next message follows."""
    body = jpeg(64, 64, 1000)
    liar = image(1, body, length=5000)
    nxt = image(2, jpeg(64, 64, 9000))
    events = run([liar + nxt])
    assert messages(events) == [liar, nxt]
    record = dissect(liar)
    assert [p.rule for p in record.problems] == [R.IMAGE_CONTENT_LENGTH]
    assert record.attrs["body_size"] == 1000 and record.attrs["width"] == 64
    assert run([liar[i:i + 1] for i in range(len(liar))] + [nxt]) == events


def test_body_longer_than_declared() -> None:
    body = jpeg(64, 64, 1000)
    liar = image(1, body, length=900)
    nxt = request("stop", 2)
    events = run([liar + nxt])
    assert messages(events) == [liar, nxt]
    assert events[0].problems == []
    record = dissect(liar)
    assert [p.rule for p in record.problems] == [R.IMAGE_CONTENT_LENGTH]
    assert "1000 bytes" in record.problems[0].message


def test_next_message_right_after_the_header_block() -> None:
    liar = image(1, b"", length=50)[:-4]
    nxt = request("stop", 2)
    events = run([liar + nxt])
    assert messages(events) == [liar, nxt]
    assert [p.rule for p in events[0].problems] == [R.IMAGE_CONTENT_LENGTH]


def test_endless_header_lines_hit_the_cap() -> None:
    framer = ImageServerFramer(max_header_bytes=4096)
    events = framer.feed(b"ImageResponse\r\n")
    for _ in range(2000):
        events += framer.feed(b"X-Padding: yes\r\n")
        assert len(framer._buf) < 4096 + 64
    events += framer.feed(request("stop", 1)) + framer.close()
    framed = [e for e in events if isinstance(e, Framed)]
    assert len(framed[0].data) == 4096 and framed[0].truncated
    assert [p.rule for p in framed[0].problems] == [R.HEADER_CAP]
    skipped = [e for e in events if isinstance(e, Skipped)]
    assert [s.rule for s in skipped] == [R.HEADER_CAP]
    assert framed[1].data == request("stop", 1)
    assert_tiles(events, 15 + 2000 * 16 + len(request("stop", 1)))


def test_xml_without_terminator_hits_the_cap() -> None:
    framer = ImageServerFramer(max_xml_bytes=10_000)
    flood = b"<methodcall>" + b"<a>x</a>" * 5000
    events = framer.feed(flood) + framer.feed(request("stop", 1)) + framer.close()
    assert len(events[0].data) == 10_000 and events[0].truncated
    assert [p.rule for p in events[0].problems] == [R.HEADER_CAP]
    assert messages(events)[-1] == request("stop", 1)


def test_multipart_without_closing_boundary_before_next_message() -> None:
    open_multipart = multipart(1, [b"abc", b"defg"], close=False) + b"\r\n"
    nxt = image(2, jpeg(16, 16, 300))
    events = run([open_multipart + nxt])
    assert messages(events) == [open_multipart, nxt]
    record = dissect(open_multipart)
    assert record.attrs["parts"] == 2
    assert R.MULTIPART_STRUCTURE in {p.rule for p in record.problems}


def test_multipart_without_closing_boundary_at_end_of_stream() -> None:
    data = multipart(1, [b"abc", b"defg"], close=False)
    (event,) = run([data])
    assert event.truncated and [p.rule for p in event.problems] == [R.TRUNCATED]
    record = dissect(data)
    assert record.attrs["parts"] == 2
    assert R.MULTIPART_STRUCTURE not in {p.rule for p in record.problems}


def test_multipart_body_cap() -> None:
    framer = ImageServerFramer(max_body=50_000)
    data = multipart(1, [b"\x00" * 30_000, b"\x00" * 30_000])
    events = framer.feed(data) + framer.close()
    assert events[0].truncated and [p.rule for p in events[0].problems] == [R.LENGTH_CAP]
    assert_tiles(events, len(data))


# ---- linear time -----------------------------------------------------------------------------


class CountingBuffer(bytearray):
    """A bytearray that counts the bytes its searches look at."""

    scanned = 0

    def find(self, sub, start=0, end=None):  # type: ignore[override]
        stop = len(self) if end is None else min(end, len(self))
        CountingBuffer.scanned += max(stop - max(start, 0), 0)
        return super().find(sub, start, end)


def _scanned_byte_by_byte(data: bytes) -> int:
    framer = ImageServerFramer()
    framer._buf = CountingBuffer()
    CountingBuffer.scanned = 0
    events = []
    for i in range(len(data)):
        events += framer.feed(data[i:i + 1])
    assert messages(events) == [data]
    return CountingBuffer.scanned


LINEAR_CASES = {
    "header": lambda n: b"ImageResponse\r\n" + b"X-Header: value\r\n" * (n // 17)
    + b"Content-length: 0\r\n\r\n\r\n\r\n",
    "xml": lambda n: request("goto", 1, "  <pad>" + "x" * n + "</pad>\r\n"),
    "body": lambda n: image(1, jpeg(8, 8, n)),
    "multipart": lambda n: multipart(1, [b"\x00" * (n // 2), b"\x01" * (n // 2)]),
}


@pytest.mark.parametrize("case", sorted(LINEAR_CASES))
def test_byte_by_byte_scanning_is_linear(case: str) -> None:
    """Fed one byte at a time, every search resumes where it stopped: the bytes looked at
    grow with the message (a few times its size, for the overlap each search keeps), not
    with its square."""
    small_data, large_data = LINEAR_CASES[case](8_000), LINEAR_CASES[case](16_000)
    small, large = _scanned_byte_by_byte(small_data), _scanned_byte_by_byte(large_data)
    assert large < 2.2 * small
    assert large < 64 * len(large_data)


# ---- properties ------------------------------------------------------------------------------

PIECES = [
    request("connect", 1), response("connect", 1), image(2, jpeg(16, 16, 300)),
    livepackage(1700000000000), multipart(3, [b"ab", b"cd\r\n\r\n"]),
    image(4, b"\x00" * 100, length=60), image(5, b"\x07" * 30, length=90),
    b"garbage\x00\xff", request("stop", 6)[:-4], b"\r\n",
    image(7, b"", length=4 * 1024**3)[:-4] + b"\x00" * 50 + b"\r\n\r\n",
    multipart(8, [b"xyz"], close=False),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(range(len(PIECES))), min_size=1, max_size=8),
       st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=40))
def test_chunking_never_changes_the_result(order: list[int], sizes: list[int]) -> None:
    stream = b"".join(PIECES[i] for i in order)
    chunks, pos, k = [], 0, 0
    while pos < len(stream):
        size = sizes[k % len(sizes)]
        chunks.append(stream[pos:pos + size])
        pos, k = pos + size, k + 1
    whole = run([stream])
    assert run(chunks) == whole
    assert_tiles(whole, len(stream))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=0, max_value=600),
       st.integers(min_value=1, max_value=300))
def test_arbitrary_bytes_and_gaps_never_break_the_framer(data: bytes, cut: int,
                                                         lost: int) -> None:
    cut = min(cut, len(data))
    stream = STREAM[:500] + data
    events = run([stream[:cut], stream[cut:]], gaps={1: lost})
    assert_tiles(events, len(stream) + lost, holes=[(cut, cut + lost)])
    for message in messages(events):
        assert dissect(message).protocol == "imageserver"


# ---- an honest Content-length (issue 12 item 2) --------------------------------------------


def every_split(stream: bytes) -> list:
    """The events of ``stream`` fed whole, and split in two at every position: the same."""
    whole = run([stream])
    for i in range(1, len(stream)):
        assert run([stream[:i], stream[i:]]) == whole, f"split at {i}"
    return whole


TRAP = b"\r\n\r\nImageResponse\r\nRequestId: 9\r\n\r\n<methodresponse>--frontier\r\n\r\n"


def test_a_jpeg_holding_the_trailer_and_imageresponse_is_one_message() -> None:
    picture = jpeg(16, 16, 400)
    body = picture[:200] + TRAP + picture[200:]  # inside the entropy-coded data
    honest = image(4, body)
    stop = response("stop", 5)
    events = every_split(honest + stop)
    assert messages(events) == [honest, stop]
    assert all(not e.problems for e in events if isinstance(e, Framed))
    record = dissect(honest)
    assert record.attrs["body_size"] == len(body)
    assert R.IMAGE_CONTENT_LENGTH not in {p.rule for p in record.problems}
    # At the end of the stream too, and before another ImageResponse.
    assert messages(every_split(honest)) == [honest]
    nxt = image(6, jpeg(8, 8, 300))
    assert messages(run([honest + nxt])) == [honest, nxt]


def test_a_length_not_ending_at_a_boundary_is_a_lie_resumed_at_the_embedded_start() -> None:
    body = jpeg(16, 16, 400)
    liar = image(4, body, length=len(body) + 60)  # the next message starts inside
    nxt = image(5, jpeg(8, 8, 300))
    events = every_split(liar + nxt)
    assert messages(events) == [liar, nxt]
    assert R.IMAGE_CONTENT_LENGTH in {p.rule for p in dissect(liar).problems}


def test_a_multipart_without_closing_boundary_ends_by_its_parts_lengths() -> None:
    tricky = b"\x00" + TRAP + b"\r\n--frontier--\r\n\r\n\x01"  # every trap inside a part
    open_multipart = multipart(7, [b"abc", tricky], close=False) + b"\r\n"
    answer = response("stop", 8)
    events = every_split(open_multipart + answer)
    assert messages(events) == [open_multipart, answer]
    record = dissect(open_multipart)
    assert record.attrs["parts"] == 2
    assert R.MULTIPART_STRUCTURE in {p.rule for p in record.problems}  # its boundary is missing
    closed = multipart(7, [b"abc", tricky])
    assert messages(every_split(closed + answer)) == [closed, answer]


def test_the_protocol_makes_the_compiled_twin_where_it_is_built() -> None:
    """``PROTOCOL.new_framer`` makes the reference on the pure-Python path and its compiled
    twin otherwise (proven equal in ``test_imageserver_framer_equivalence.py``)."""
    assert isinstance(PROTOCOL.new_framer(), ImageServerFramer) is not COMPILED


@pytest.mark.parametrize("caps", [{"max_header_bytes": 0}, {"max_xml_bytes": 0},
                                  {"max_body": -1}])
def test_caps_that_leave_no_room_for_a_message_are_refused(caps: dict[str, int]) -> None:
    """A header or XML cap of 0 cut every message before its first byte and sought it
    again at the same place, forever: refused when the framer is made instead."""
    with pytest.raises(ValueError, match="must be at least"):
        ImageServerFramer(**caps)
