"""HTTP-like header blocks: the ``ImageResponse`` head and the head of each multipart part.

Shared by the framer (which needs Content-type and Content-length to know where a message
ends) and the dissector (which shows and checks every line). Lines end with CR-LF; a bare
LF is accepted inside a block, the CR then being dropped, since the block's end (the
blank line) is what matters for framing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CRLF = b"\r\n"
BLANK_LINE = b"\r\n\r\n"
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_DIGITS = re.compile(rb"[0-9]{1,20}")


@dataclass(slots=True)
class HeaderLine:
    """One line of a header block; offsets index the message bytes."""

    name: str  # as sent
    value: str  # stripped
    offset: int  # line start
    length: int  # line length without its line end
    value_offset: int
    value_length: int
    valid: bool  # "Name: value" with a token name
    lower: str  # the name lowercased (once: every lookup compares it)


def split_lines(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """(offset, length) of each line in ``data[start:end]``, line ends excluded."""
    lines: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        nl = data.find(b"\n", pos, end)
        stop = end if nl < 0 else nl
        length = stop - pos
        if length and data[stop - 1] == 0x0D:  # CR of CR-LF
            length -= 1
        lines.append((pos, length))
        pos = end if nl < 0 else nl + 1
    return lines


def parse_line(data: bytes, offset: int, length: int) -> HeaderLine:
    """``Name: value``; a line without a colon keeps its text as the name, invalid."""
    raw = data[offset: offset + length]
    colon = raw.find(b":")
    if colon < 0:
        text = raw.decode("latin-1")
        return HeaderLine(text, "", offset, length, offset + length, 0, False, text.lower())
    name = raw[:colon].decode("latin-1")
    rest = raw[colon + 1:]
    lead = len(rest) - len(rest.lstrip(b" \t"))
    value = rest.strip(b" \t")
    stripped = name.strip()
    return HeaderLine(stripped, value.decode("latin-1"), offset, length,
                      offset + colon + 1 + lead, len(value), bool(_TOKEN.fullmatch(name)),
                      stripped.lower())


def find(lines: list[HeaderLine], name: str) -> HeaderLine | None:
    """The first line with this name (case-insensitive, as in HTTP)."""
    lowered = name.lower()
    for line in lines:
        if line.valid and line.lower == lowered:
            return line
    return None


def media_type(value: str) -> tuple[str, dict[str, str]]:
    """``type/subtype; k=v; k="v"`` → (lowercased type, parameters with lowercased keys)."""
    head, *params = value.split(";")
    out: dict[str, str] = {}
    for p in params:
        k, sep, v = p.partition("=")
        if sep:
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] == '"':
                v = v[1:-1]
            out[k.strip().lower()] = v
    return head.strip().lower(), out


def content_length(value: str) -> int | None:
    """A Content-length value as a non-negative int, or None if it is not one."""
    raw = value.strip().encode("latin-1", errors="replace")
    return int(raw) if _DIGITS.fullmatch(raw) else None


def quick_scan(block: bytes) -> tuple[str | None, int | None, str | None]:
    """What the framer needs from a header block: (media type, Content-length, multipart
    boundary). First occurrence of each header wins; the dissector reports repeats."""
    ctype: str | None = None
    clen: int | None = None
    clen_seen = False
    boundary: str | None = None
    for offset, length in split_lines(block, 0, len(block)):
        # Only two names matter here, so no HeaderLine: a name whose ASCII-lowered bytes
        # are one of them is a valid token, and its latin-1 text lowers the same way.
        raw = block[offset: offset + length]
        colon = raw.find(b":")
        if colon < 0:
            continue
        lowered = raw[:colon].lower()
        if lowered == b"content-type" and ctype is None:
            ctype, params = media_type(raw[colon + 1:].strip(b" \t").decode("latin-1"))
            boundary = params.get("boundary") or None
        elif lowered == b"content-length" and not clen_seen:
            clen_seen = True
            clen = content_length(raw[colon + 1:].strip(b" \t").decode("latin-1"))
    return ctype, clen, boundary
