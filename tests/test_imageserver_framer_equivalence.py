"""The compiled ImageServer framer against the reference
(``dissectors.imageserver.framer.ImageServerFramer``).

Both are fed the same calls (``feed``/``gap``/``close``) and must return the same events
(``Framed``/``Skipped``: offsets, bytes, every problem's rule, severity, message, section,
offset and length, truncation) after every call, and hold the same number of bytes:

* every ImageServer stream direction of every bundled capture, as the pipeline fed it;
  then fed whole, byte by byte (or in pieces of a few bytes for the longest), and in
  random pieces with gaps; then damaged (bytes flipped, ranges cut out, junk and message
  starts inserted); and under small caps of every kind;
* hypothesis-generated streams of ImageServer-like fragments (XML messages with and
  without their terminator, ``ImageResponse`` heads with honest, lying, huge and broken
  Content-lengths, multipart bodies walked by their parts' lengths or not, message starts
  inside bodies, blank lines, CR-LFs, byte order marks, junk) cut at random, with gaps,
  under any caps the compiled framer takes.

Skipped where the accelerator is not built: then there is one framer.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.imageserver_framing import record_streams
from dissectors.accel import COMPILED
from dissectors.imageserver import PROTOCOL
from dissectors.imageserver.framer import MESSAGE_STARTS, ImageServerFramer, new_framer

from .conftest import CAPTURES, ROOT

pytestmark = pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built "
                                "(scripts/bootstrap.sh builds it where Rust is available)")

Call = tuple[str, object]
CAPTURE_FILES = sorted(str(p.relative_to(ROOT)) for p in CAPTURES.rglob("*.pcap*"))
BYTE_BY_BYTE_UP_TO = 40_000  # longer streams are fed in pieces of 1 to 7 bytes
# Small caps of every kind: at, just around and far below the sizes the corpus holds.
SMALL_CAPS: tuple[dict[str, int], ...] = (
    {"max_header_bytes": 1}, {"max_header_bytes": 16}, {"max_header_bytes": 60},
    {"max_header_bytes": 200}, {"max_xml_bytes": 1}, {"max_xml_bytes": 20},
    {"max_xml_bytes": 300}, {"max_body": 0}, {"max_body": 1}, {"max_body": 500},
    {"max_body": 20_000}, {"max_header_bytes": 40, "max_xml_bytes": 100, "max_body": 100},
)


def assert_same(calls: list[Call], **caps: int) -> None:
    """Both framers, fed ``calls``, give equal events after every call and hold equal
    buffers."""
    reference = ImageServerFramer(**caps)
    compiled = new_framer(**caps)
    assert type(compiled) is not ImageServerFramer
    for step, (name, arg) in enumerate(calls):
        args = () if arg is None else (arg,)
        expected = getattr(reference, name)(*args)
        got = getattr(compiled, name)(*args)
        assert got == expected, f"call {step}: {name} {caps}"
        assert compiled.buffered == len(reference._buf), f"call {step}: {name} {caps}"


@cache
def corpus_streams() -> tuple[tuple[Call, ...], ...]:
    """Every distinct ImageServer framer's calls when the pipeline reads each bundled
    capture (many impairment captures carry the same stream)."""
    streams = {tuple(calls): None for path in CAPTURE_FILES
               for calls in record_streams(str(ROOT / path))}
    assert len(streams) > 20
    return tuple(streams)


def whole(calls: tuple[Call, ...]) -> list[Call]:
    """``calls`` with each run of feeds between gaps fed at once."""
    out: list[Call] = []
    for name, arg in calls:
        if name == "feed" and out and out[-1][0] == "feed":
            out[-1] = ("feed", out[-1][1] + arg)  # type: ignore[operator]
        else:
            out.append((name, arg))
    return out


def recut(calls: list[Call], pieces: Iterator[int]) -> list[Call]:
    """``calls`` with every feed cut into pieces of the lengths ``pieces`` gives."""
    out: list[Call] = []
    for name, arg in calls:
        if name != "feed":
            out.append((name, arg))
            continue
        assert isinstance(arg, bytes)
        at = 0
        while at < len(arg):
            step = next(pieces)
            out.append(("feed", arg[at:at + step]))
            at += step
    return out


def chunked(stream: bytes, rng: random.Random, gaps: bool) -> list[Call]:
    """``stream`` in random pieces, with now and then a gap (that loses the bytes it
    stands for, or only announces them), and the close."""
    calls: list[Call] = []
    at = 0
    while at < len(stream):
        step = rng.choice((1, 2, 3, 5, 15, 16, 100, 1448, 5000))
        calls.append(("feed", stream[at:at + step]))
        at += step
        if gaps and rng.random() < 0.1:
            length = rng.choice((1, 3, 4, 17, 100, 1448, 10_000))
            calls.append(("gap", length))
            if rng.random() < 0.7:
                at += length
    calls.append(("close", None))
    return calls


def fed(calls: tuple[Call, ...] | list[Call]) -> bytes:
    return b"".join(arg for name, arg in calls if name == "feed")  # type: ignore[misc]


def test_every_capture_stream_as_fed() -> None:
    for calls in corpus_streams():
        assert_same(list(calls))


def test_every_capture_stream_whole() -> None:
    for calls in corpus_streams():
        assert_same(whole(calls))


@pytest.mark.slow
def test_every_capture_stream_byte_by_byte() -> None:
    rng = random.Random(10)
    for calls in corpus_streams():
        if len(fed(calls)) <= BYTE_BY_BYTE_UP_TO:
            pieces: Iterator[int] = iter(lambda: 1, 0)
        else:
            pieces = iter(lambda: rng.randrange(1, 8), 0)
        assert_same(recut(list(calls), pieces))


@pytest.mark.slow
def test_every_capture_stream_cut_at_random_with_gaps() -> None:
    rng = random.Random(17)
    for calls in corpus_streams():
        stream = fed(calls)
        for _ in range(6):
            assert_same(chunked(stream, rng, gaps=True))


_JUNK = (*MESSAGE_STARTS, b"\r\n\r\n", b"\r\n", b"\r", b"\n", b"\x00\xff", b"--", b"Image",
         b"<?x", b"\xef\xbb", b"</methodcall>", b"Content-length: 5\r\n", b"  \t",
         b"\r\n\r\nImageResponse\r\n", b"\r\n\r\n<methodcall>")


def damaged(stream: bytes, rng: random.Random) -> bytes:
    """``stream`` with a few bytes flipped, ranges cut out and junk inserted."""
    data = bytearray(stream)
    for _ in range(rng.randrange(1, 6)):
        if not data:
            break
        at = rng.randrange(len(data))
        kind = rng.randrange(3)
        if kind == 0:
            data[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del data[at:at + rng.choice((1, 2, 4, 30, 1000))]
        else:
            junk = rng.choice(_JUNK) if rng.random() < 0.7 else rng.randbytes(rng.randrange(40))
            data[at:at] = junk
    return bytes(data)


@pytest.mark.slow
def test_damaged_capture_streams() -> None:
    rng = random.Random(23)
    for calls in corpus_streams():
        stream = fed(calls)
        for _ in range(8):
            assert_same(chunked(damaged(stream, rng), rng, gaps=rng.random() < 0.5))


@pytest.mark.slow
def test_capture_streams_under_small_caps() -> None:
    rng = random.Random(29)
    for calls in corpus_streams():
        for caps in SMALL_CAPS:
            assert_same(list(calls), **caps)
            assert_same(chunked(damaged(fed(calls), rng), rng, gaps=True), **caps)


# ---- streams of ImageServer-like fragments --------------------------------------------------

_XML_BODIES = (
    b"<methodcall><requestid>1</requestid><methodname>goto</methodname></methodcall>",
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodresponse><requestid>2</requestid>"
    b"</methodresponse>",
    b"\xef\xbb\xbf<?xml version=\"1.0\"?>\r\n<livepackage><status>1</status></livepackage>",
    b"<methodcall a=\"1\"/>", b"<Methodcall>x</Methodcall>", b"<m:x-1.y>z</m:x-1.y>",
    b"<livepackage>", b"</methodcall>", b"<methodresponse>ImageResponse\r\n</methodresponse>",
    b"<methodcall><?xml?></methodcall>", b"<" + b"n" * 254 + b">t</" + b"n" * 254 + b">",
    b"<" + b"n" * 255 + b">t", b"<" + b"n" * 256 + b">t", b"<1bad>", b"<_ok\t/>", b"<a\x0b>", b"<",
)
_TERMINATORS = (b"\r\n\r\n", b"\r\n\r\n", b"\r\n", b"", b"  \r\n \r\n\r\n", b"\n\n",
                b" junk", b"\r\n\r")


@st.composite
def xml_message(draw: st.DrawFn) -> bytes:
    lead = draw(st.sampled_from([b"", b"", b" \r\n", b"\xef\xbb\xbf", b"\t"]))
    body = draw(st.sampled_from(_XML_BODIES))
    return lead + body + draw(st.sampled_from(_TERMINATORS))


_LENGTH_SHAPES = ("right", "right", "short", "long", "huge", "digits20", "digits21", "bad",
                  "padded", "none")


def _content_length(draw: st.DrawFn, size: int) -> bytes:
    shape = draw(st.sampled_from(_LENGTH_SHAPES))
    value = {
        "right": str(size), "short": str(max(0, size - draw(st.integers(1, 20)))),
        "long": str(size + draw(st.integers(1, 40))), "huge": str(draw(st.integers(0, 1 << 40))),
        "digits20": "9" * 20, "digits21": "1" * 21, "bad": draw(st.sampled_from(["", "x", "-1",
                                                                                  "1 2", "+3"])),
        "padded": f" \x0b{size}\xa0\x85\x1c", "none": None,
    }[shape]
    if value is None:
        return b""
    name = draw(st.sampled_from([b"Content-length", b"Content-Length", b"CONTENT-LENGTH",
                                 b"Content-length ", b"X-Content-length"]))
    return name + b": " + value.encode("latin-1") + draw(st.sampled_from([b"\r\n", b"\n",
                                                                           b"\r\r\n"]))


def _body(draw: st.DrawFn) -> bytes:
    pieces = draw(st.lists(st.sampled_from([b"\xff\xd8", b"\r\n\r\n", b"\r\n", b"data",
                                            b"\r\n\r\n<methodcall>", b"ImageResponse\r\n",
                                            b"\r\n--B", b"\r\n--B--", b"<?xml"])
                           | st.binary(max_size=30), max_size=5))
    return b"".join(pieces)


@st.composite
def image_response(draw: st.DrawFn) -> bytes:
    body = _body(draw)
    lines = [draw(st.sampled_from([b"RequestId: 7\r\n", b"Content-type: image/jpeg\r\n",
                                   b"Current: 1\r\n", b"bad line\r\n", b""]))]
    lines.append(_content_length(draw, len(body)))
    if draw(st.booleans()):
        lines.append(_content_length(draw, len(body)))  # a second one: the first wins
    head = b"ImageResponse\r\n" + b"".join(draw(st.permutations(lines)))
    head += draw(st.sampled_from([b"\r\n", b"\r\n", b"", b"\n"]))
    return head + body + draw(st.sampled_from(_TERMINATORS))


@st.composite
def multipart_response(draw: st.DrawFn) -> bytes:
    boundary = draw(st.sampled_from([b"B", b"B", b"xyz-123", b"\"B\"", b""]))
    ctype = draw(st.sampled_from([b"multipart/related", b"Multipart/Mixed", b" multipart/x",
                                  b"image/jpeg", b"\xa0multipart/related"]))
    param = draw(st.sampled_from([b"; boundary=", b";Boundary = ", b"; charset=x; boundary=",
                                  b"; boundary=\"\"; boundary=", b"; nope="]))
    head = b"ImageResponse\r\nContent-type: " + ctype + param + boundary + b"\r\n\r\n"
    name = boundary.strip(b"\"") or b"B"
    parts = b""
    for _ in range(draw(st.integers(0, 3))):
        data = _body(draw)
        parts += (b"--" + name + b"\r\n" + draw(st.sampled_from([b"Content-type: image/jpeg\r\n",
                                                                 b""]))
                  + _content_length(draw, len(data)) + draw(st.sampled_from([b"\r\n", b""]))
                  + data + draw(st.sampled_from([b"\r\n", b"\r\n", b"", b"\r\n\r\n"])))
    closing = draw(st.sampled_from([b"--" + name + b"--", b"--" + name + b"--", b"",
                                    b"--" + name]))
    return head + parts + closing + draw(st.sampled_from(_TERMINATORS))


_JUNK_FRAGMENTS = st.sampled_from(_JUNK) | st.binary(max_size=20)
FRAGMENTS = (xml_message() | image_response() | multipart_response() | _JUNK_FRAGMENTS)


@st.composite
def fragment_calls(draw: st.DrawFn) -> list[Call]:
    stream = b"".join(draw(st.lists(FRAGMENTS, min_size=1, max_size=7)))
    calls: list[Call] = []
    at = 0
    while at < len(stream):
        step = draw(st.integers(1, max(1, len(stream) - at)))
        calls.append(("feed", stream[at:at + step]))
        at += step
        if draw(st.integers(0, 5)) == 0:
            length = draw(st.integers(-1, 300))
            calls.append(("gap", length))
            if length > 0 and draw(st.booleans()):
                at += length  # the bytes the gap stands for are lost
    calls.append(("close", None))
    if draw(st.booleans()):  # a framer used after its close (the reference allows it)
        calls += [("feed", draw(FRAGMENTS)), ("close", None)]
    return calls


CAPS = st.fixed_dictionaries({}, optional={
    "max_header_bytes": st.integers(1, 300) | st.just(64 * 1024),
    "max_xml_bytes": st.integers(1, 600) | st.just(1 << 20),
    "max_body": st.integers(0, 300) | st.just((1 << 63) - 1),
})


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragment_calls(), CAPS)
def test_fragment_streams(calls: list[Call], caps: dict[str, int]) -> None:
    assert_same(calls, **caps)


# ---- rare branches, deterministically --------------------------------------------------------

_CALL = b"<methodcall><requestid>1</requestid></methodcall>"
_MULTI = b"ImageResponse\r\nContent-type: multipart/related; boundary=B\r\n\r\n"
EDGE_STREAMS: tuple[tuple[bytes, dict[str, int]], ...] = (
    # a body followed by a lone CR-LF and the next message (no trailer)
    (b"ImageResponse\r\nContent-length: 3\r\n\r\nabc\r\n" + _CALL + b"\r\n\r\n", {}),
    # a body followed at once by the next message
    (b"ImageResponse\r\nContent-length: 3\r\n\r\nabcImageResponse\r\n\r\n", {}),
    # multipart without its closing boundary: the parts' lengths end it
    (_MULTI + b"--B\r\nContent-length: 3\r\n\r\nabc\r\n--B\r\nContent-length: 2\r\n\r\nde"
     b"\r\n\r\n" + _CALL + b"\r\n\r\n", {}),
    # multipart closed, then a lone CR-LF before the next message; then junk
    (_MULTI + b"--B\r\nContent-length: 1\r\n\r\nx\r\n--B--\r\n" + _CALL + b"\r\n\r\n", {}),
    (_MULTI + b"--B\r\nContent-length: 1\r\n\r\nx\r\n--B--zz" + _CALL, {}),
    # a part's header and data beyond the caps
    (_MULTI + b"--B\r\nContent-length: 30\r\n\r\n" + b"y" * 30 + b"\r\n--B--\r\n\r\n",
     {"max_body": 40}),
    (_MULTI + b"--B\r\nX: " + b"h" * 40 + b"\r\n\r\n--B--\r\n\r\n", {"max_header_bytes": 30}),
    # a body beyond the cap counted down, its trailer, then a body lying about its length
    (b"ImageResponse\r\nContent-length: 20\r\n\r\n" + b"z" * 20 + b"\r\n\r\n"
     b"ImageResponse\r\nContent-length: 50\r\n\r\nab\r\n\r\n" + _CALL + b"\r\n\r\n",
     {"max_body": 10}),
    # a body whose declared end holds the trailer, with a message start inside it
    (b"ImageResponse\r\nContent-length: 22\r\n\r\n\r\n\r\n<livepackage>zzzzz\r\n\r\n"
     + _CALL + b"\r\n\r\n", {}),
    # ... and one whose trailer is followed by no message start: the length lied
    (b"ImageResponse\r\nContent-length: 19\r\n\r\nab\r\n\r\n<methodcall>x\r\n\r\njunk", {}),
    # a message start inside a declared body whose end holds no trailer: the length lied
    (b"ImageResponse\r\nContent-length: 30\r\n\r\nab\r\n\r\n" + _CALL + b"\r\n\r\n", {}),
    # XML ended by its root's end tag and the next message, by an interruption, by a cap
    (_CALL + b"  \r\n" + _CALL + b"\r\n\r\n", {}),
    (b"\xef\xbb\xbf<methodcall><?xml ImageResponse\r\n\r\n", {}),
    (b" \r\n<livepackage>" + b"s" * 40 + b"\r\n\r\n", {"max_xml_bytes": 30}),
    # garbage, then a strict start after it
    (b"zz<q>\r\n\r\n<methodresponse></methodresponse>\r\n\r\n", {}),
)


@pytest.mark.parametrize(("stream", "caps"), EDGE_STREAMS)
def test_edge_streams_cut_and_gapped_anywhere(stream: bytes, caps: dict[str, int]) -> None:
    """Each stream whole, byte by byte, cut in two at every position, and with a gap (of
    lost bytes, or of bytes only announced) at every position."""
    assert_same([("feed", stream), ("close", None)], **caps)
    assert_same([("feed", stream[i:i + 1]) for i in range(len(stream))] + [("close", None)],
                **caps)
    for i in range(1, len(stream)):
        assert_same([("feed", stream[:i]), ("feed", stream[i:]), ("close", None)], **caps)
        for length, lost in ((1, True), (5, True), (3, False)):
            rest = stream[i + length:] if lost else stream[i:]
            assert_same([("feed", stream[:i]), ("gap", length), ("feed", rest),
                         ("close", None)], **caps)


# ---- selection ---------------------------------------------------------------------------


def test_protocol_makes_the_twin_for_the_caps_it_takes() -> None:
    """The engine's framers are compiled; caps the twin does not take keep the reference,
    and caps that leave no room for a message are refused by both (a header or XML cap of
    0 made the reference cut empty messages forever); bytearrays and memoryviews are fed
    like bytes."""
    assert type(PROTOCOL.new_framer()) is not ImageServerFramer
    for caps in ({"max_body": 1 << 63}, {"max_xml_bytes": 1 << 70}, {"max_header_bytes": True},
                 {"max_body": 10.0}):
        assert type(new_framer(**caps)) is ImageServerFramer, caps
    for caps in ({"max_header_bytes": 0}, {"max_xml_bytes": 0}, {"max_body": -1}):
        with pytest.raises(ValueError, match="must be at least"):
            new_framer(**caps)
    compiled = new_framer(max_header_bytes=5, max_xml_bytes=6, max_body=7)
    assert (compiled.max_header_bytes, compiled.max_xml_bytes, compiled.max_body) == (5, 6, 7)
    message = b"<methodcall></methodcall>\r\n\r\n"
    reference, compiled = ImageServerFramer(), new_framer()
    for data in (bytearray(message), memoryview(message * 2), message[:7]):
        assert compiled.feed(data) == reference.feed(data)
    assert compiled.buffered == len(reference._buf) == 7
