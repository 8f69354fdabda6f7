"""The compiled CVIP framer against the reference (``dissectors.cvip.framer.CvipFramer``).

Both are fed the same calls (``feed``/``gap``/``close``) and must return the same events
(``Framed``/``Skipped``: offsets, bytes, problems with their texts, truncation) after
every call, and hold the same number of bytes:

* every CVIP stream direction of every bundled capture, as the pipeline fed it, then
  with its bytes re-cut at every position (short streams) or at random positions;
* hypothesis-generated streams of hostile headers (every version, type and size shape
  the framer decides on evidence: byte orders, absurd and swapped sizes, sizes pointing
  past the next header, XML ends in any case, pings, garbage, blanks and byte order
  marks) cut at random, with gaps, and under small size caps.

Skipped where the accelerator is not built: then there is one framer.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.cvip_stages import record_streams
from dissectors.accel import COMPILED
from dissectors.cvip.framer import DEFAULT_SIZE_CAP, CvipFramer, new_framer

from .conftest import CAPTURES, ROOT

pytestmark = pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built "
                                "(scripts/bootstrap.sh builds it where Rust is available)")

Call = tuple[str, object]
CAPTURE_FILES = sorted(str(p.relative_to(ROOT)) for p in CAPTURES.rglob("*.pcap*"))
EVERY_POSITION_UP_TO = 3000  # bytes of a stream re-cut at every position


def assert_same(calls: list[Call], size_cap: int = DEFAULT_SIZE_CAP,
                size_includes_header: bool = True) -> None:
    """Both framers, fed ``calls``, give equal events after every call and hold equal
    buffers."""
    reference = CvipFramer(size_cap, size_includes_header)
    compiled = new_framer(size_cap, size_includes_header)
    assert type(compiled) is not CvipFramer
    for step, (name, arg) in enumerate(calls):
        args = () if arg is None else (arg,)
        expected = getattr(reference, name)(*args)
        got = getattr(compiled, name)(*args)
        assert got == expected, f"call {step}: {name}"
        assert compiled.buffered == len(reference._buf), f"call {step}: {name}"


def recut(calls: list[Call], cuts: set[int]) -> list[Call]:
    """``calls`` with every ``feed`` split at the given positions of the fed bytes."""
    out: list[Call] = []
    at = 0
    for name, arg in calls:
        if name != "feed":
            out.append((name, arg))
            continue
        assert isinstance(arg, bytes)
        start = 0
        for cut in sorted(c - at for c in cuts if at < c < at + len(arg)):
            out.append(("feed", arg[start:cut]))
            start = cut
        out.append(("feed", arg[start:]))
        at += len(arg)
    return out


@cache
def corpus_streams() -> list[list[Call]]:
    """Every CVIP framer's calls when the pipeline reads each bundled capture."""
    streams = [calls for path in CAPTURE_FILES for calls in record_streams(str(ROOT / path))]
    assert streams
    return streams


def fed_length(calls: list[Call]) -> int:
    return sum(len(arg) for name, arg in calls if name == "feed")  # type: ignore[arg-type]


def test_every_capture_stream_as_fed() -> None:
    for calls in corpus_streams():
        assert_same(calls)


@pytest.mark.slow
def test_every_capture_stream_cut_anywhere() -> None:
    rng = random.Random(17)
    for calls in corpus_streams():
        length = fed_length(calls)
        if length <= EVERY_POSITION_UP_TO:
            positions: Iterator[int] = iter(range(1, length))
        else:
            positions = (rng.randrange(1, length) for _ in range(300))
        for position in positions:
            assert_same(recut(calls, {position}))
        # Many cuts at once, and one byte at a time for the short ones.
        assert_same(recut(calls, {rng.randrange(1, length + 1) for _ in range(length // 7)}))
        if length <= EVERY_POSITION_UP_TO:
            assert_same(recut(calls, set(range(1, length))))


# ---- hostile streams ------------------------------------------------------------------

_XML = [b"<methodCall><methodName>a.b</methodName></methodCall>",
        b"<?xml version='1.0'?>\n<methodResponse><params/></methodResponse>\r\n",
        b"<AnalyticsData>x</AnalyticsData>", b"<methodCall></ METHODcall \t>",
        b"<methodResponse></methodResponse", b"</methodCall>  ", b"\xef\xbb\xbf <x/>",
        b"   \t\r\n", b"<", b"no xml here", b"",
        # the edges of the windows: 64 blanks before the "<", a 40-byte end tag
        b" " * 63 + b"<x>", b"\t" * 64 + b"<x>", b"\r\n" * 33 + b"<x>",
        b"<methodCall></ \t methodCall" + b"\n" * 20 + b">", b"</methodResponse" + b" " * 60 + b">"]


def _size_shapes(body: int) -> list[int]:
    total = body + 9
    return [total, body, total + 7, total - 3, 0, 5, 9, 16, 37, 0x7FFFFFFF, 0xFFFFFFFF,
            struct.unpack("<I", struct.pack(">I", total))[0]]


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    version = draw(st.sampled_from([b"\x02\x01", b"\x01\x02", b"\x02\x00", b"\x01\x01",
                                    b"\x02\x02", b"\x00\x02", b"\x03\x04"])
                   | st.binary(min_size=2, max_size=2))
    kind = draw(st.sampled_from([0, 0, 0, 1, 2, 0x80]))
    if kind == 1 and draw(st.booleans()):
        body = draw(st.binary(min_size=7, max_size=7) | st.binary(min_size=28, max_size=28))
    else:
        body = draw(st.sampled_from(_XML) | st.binary(max_size=40))
        body = draw(st.sampled_from([b"", b" ", b"\r\n", b"\xef\xbb\xbf"])) + body
        if draw(st.booleans()):
            body += draw(st.sampled_from(_XML))
    size = draw(st.sampled_from(_size_shapes(len(body))) | st.integers(0, 0xFFFFFFFF))
    order = "<" if version == b"\x01\x02" and draw(st.booleans()) else ">"
    txn = draw(st.integers(0, 0xFFFF))
    header = version + struct.pack(order + "BHI", kind, txn, size)
    return header + body


@st.composite
def hostile_calls(draw: st.DrawFn) -> list[Call]:
    parts = draw(st.lists(messages() | st.binary(max_size=12)
                          | st.sampled_from([b"\x02", b"\x01", b"\x02\x01", b"  \n"]),
                          min_size=1, max_size=8))
    stream = b"".join(parts)
    calls: list[Call] = []
    at = 0
    while at < len(stream):
        step = draw(st.integers(1, max(1, len(stream) - at)))
        calls.append(("feed", stream[at:at + step]))
        at += step
        if draw(st.integers(0, 5)) == 0:
            calls.append(("gap", draw(st.integers(0, 80))))
    calls.append(("close", None))
    if draw(st.booleans()):  # a framer used after its close (the reference allows it)
        calls += [("feed", draw(messages())), ("close", None)]
    return calls


CAPS = st.sampled_from([DEFAULT_SIZE_CAP, DEFAULT_SIZE_CAP, 0, 8, 9, 10, 16, 40, 64, 100,
                        0xFFFFFFFF])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_calls(), CAPS, st.booleans())
def test_hostile_streams(calls: list[Call], size_cap: int, size_includes_header: bool) -> None:
    assert_same(calls, size_cap, size_includes_header)


def test_oversized_bodies_counted_down_alike() -> None:
    """The unbuffered count-down of a body beyond the cap, through gaps, in both."""
    header = b"\x02\x01\x00\x00\x05" + struct.pack(">I", 1000)
    calls: list[Call] = [("feed", header + b"x" * 30), ("feed", b"y" * 100), ("gap", 50),
                         ("feed", b"z" * 2000), ("close", None)]
    assert_same(calls, size_cap=100)
    compiled = new_framer(100)
    compiled.feed(header)
    compiled.feed(b"x" * 500)
    assert compiled.buffered == 0  # never buffered


def test_other_caps_and_inputs_fall_back_or_match() -> None:
    """A cap the compiled framer cannot hold keeps the reference; bytearrays and
    memoryviews are fed like bytes."""
    assert type(new_framer(-1)) is CvipFramer
    assert type(new_framer(1 << 70)) is CvipFramer
    message = b"\x02\x01\x00\x00\x05" + struct.pack(">I", 12) + b"<x>"
    reference, compiled = CvipFramer(), new_framer()
    for data in (bytearray(message), memoryview(message * 2)):
        assert compiled.feed(data) == reference.feed(data)
    assert compiled.size_cap == DEFAULT_SIZE_CAP and compiled.size_includes_header
