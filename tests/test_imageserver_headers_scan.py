"""The framer's ``quick_scan`` (bytes compared directly, no HeaderLine per line) gives
what reading every line with ``parse_line`` gives, on any header block."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dissectors.imageserver.headers import (
    content_length,
    media_type,
    parse_line,
    quick_scan,
    split_lines,
)


def reference_scan(block: bytes) -> tuple[str | None, int | None, str | None]:
    """The header block read line by line as the dissector reads it."""
    ctype: str | None = None
    clen: int | None = None
    clen_seen = False
    boundary: str | None = None
    for offset, length in split_lines(block, 0, len(block)):
        line = parse_line(block, offset, length)
        if not line.valid:
            continue
        if line.lower == "content-type" and ctype is None:
            ctype, params = media_type(line.value)
            boundary = params.get("boundary") or None
        elif line.lower == "content-length" and not clen_seen:
            clen_seen = True
            clen = content_length(line.value)
    return ctype, clen, boundary


NAMES = [b"Content-type", b"content-TYPE", b"Content-length", b"CONTENT-LENGTH",
         b" Content-length", b"Content-length ", b"Content\xc4-length", b"Content_type",
         b"Content-type\t", b"RequestId", b"X", b""]
VALUES = [b"image/jpeg", b"multipart/mixed; boundary=abc", b'multipart/mixed; boundary="q"',
          b"12", b" 12 ", b"-1", b"1e3", b"", b"\t7", b"99999999999999999999999", b"\xff"]


@st.composite
def blocks(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.binary(max_size=30)))
        else:
            sep = draw(st.sampled_from([b": ", b":", b" : ", b":\t"]))
            lines.append(draw(st.sampled_from(NAMES)) + sep + draw(st.sampled_from(VALUES)))
    ends = draw(st.lists(st.sampled_from([b"\r\n", b"\n"]), min_size=len(lines),
                         max_size=len(lines)))
    return b"".join(line + end for line, end in zip(lines, ends, strict=True))


@settings(max_examples=600, deadline=None)
@given(blocks() | st.binary(max_size=200))
@example(b"ImageResponse\r\nContent-type: image/jpeg\r\nContent-length: 5")
@example(b"Content-length: 1\r\nContent-length: 2\r\ncontent-type: x\r\n")
@example(b"Content-length : 3\r\n Content-type: a/b\r\n")
def test_quick_scan_equals_reading_every_line(block: bytes) -> None:
    assert quick_scan(block) == reference_scan(block)
