"""Which character encodings an XML body may be read in, shared by both XML dissectors.

Both protocols' specs say UTF-8, and both dissectors find markup (``<``, ``<!DOCTYPE``,
tags) by searching *bytes*. That is only sound when the encoding the XML parser will use
maps ASCII bytes to the same ASCII characters. Two ways to break it, both seen in fuzzing:

* a declaration naming a codec that is no text encoding at all (``hex``, ``base64``,
  ``rot13``, ``zlib``) or one that mangles ASCII (``idna``, ``punycode``, ``utf-7``,
  EBCDIC ``cp037``): Python refuses or garbles the bytes and libxml2 may read markup the
  byte search never saw. :func:`neutralise_declared_encoding` blanks such a declaration's
  ``encoding="..."`` (same length, offsets kept) so every reader takes the body as UTF-8,
  and says so;
* a body in UTF-16 or UTF-32 (a byte-order mark, or libxml2's autodetection of ``<?``
  written in two or four bytes): a ``<!DOCTYPE`` there is invisible to a byte search.
  :func:`wide_layout` recognises these layouts and :func:`narrow_view` projects such a
  body onto one byte per code unit (ASCII stays, everything else becomes ``0xFF``), so a
  byte search finds the same markup at ``offset // unit`` and the caller can blank it in
  place.

Nothing here raises on any input.
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass

# The encoding pseudo-attribute of an XML declaration at the start of a body.
_DECLARED = re.compile(
    rb"""<\?xml[^>]*?\b(encoding\s*=\s*["']([^"'<>]{0,64})["'])""")
# A sample of markup every acceptable encoding must read as itself.
_ASCII_PROBE = bytes(range(0x20, 0x7F)) + b"\t\r\n"
_EVERY_BYTE = bytes(range(256))
_ASCII_ONLY = bytes(range(128)) + b"\xff" * 128
_NON_ZERO = re.compile(rb"[^\x00]")


@functools.lru_cache(maxsize=64)
def text_codec(name: str) -> str | None:
    """Python's name for an encoding an XML body may be read in, or None.

    Accepted: a registered *text* codec that decodes every byte string without raising
    (``errors="replace"``) and reads printable ASCII as itself. That admits UTF-8, ASCII,
    the ISO-8859 and Windows code pages, Shift-JIS, EUC and the like; it refuses
    bytes-to-bytes codecs, ``idna``/``punycode``, UTF-7, UTF-16/32 and EBCDIC."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None
    try:
        if _ASCII_PROBE.decode(info.name, errors="replace") != _ASCII_PROBE.decode("ascii"):
            return None
        _EVERY_BYTE.decode(info.name, errors="replace")
    except Exception:  # a codec that fails even with errors="replace" (idna): refused
        return None
    return info.name


@dataclass(frozen=True, slots=True)
class BadEncoding:
    """A declared encoding that was refused: its name and where ``encoding="..."`` was."""

    name: str
    offset: int
    length: int


def neutralise_declared_encoding(body: bytes, start: int = 0) -> tuple[bytes, BadEncoding | None]:
    """``body`` with a refused ``encoding="..."`` of the XML declaration at ``start``
    blanked (so it reads as the spec's UTF-8), and what was refused; ``body`` itself when
    the declaration is absent or names an acceptable encoding."""
    if not body.startswith(b"<?xml", start):
        return body, None
    m = _DECLARED.match(body, start)
    if m is None:
        return body, None
    name = m.group(2).decode("ascii", errors="replace")
    if text_codec(name) is not None:
        return body, None
    s, e = m.span(1)
    return body[:s] + b" " * (e - s) + body[e:], BadEncoding(name, s, e - s)


@dataclass(frozen=True, slots=True)
class WideLayout:
    """A body in UTF-16 or UTF-32: bytes per code unit, byte order, where units start."""

    unit: int
    byteorder: str  # "little" or "big"
    start: int  # after the byte-order mark, if any


def wide_layout(body: bytes) -> WideLayout | None:
    """The UTF-16/32 layout libxml2 would detect in ``body`` (by BOM or by ``<`` written
    in two or four bytes), or None for a byte-oriented body."""
    head = body[:4]
    if head.startswith(b"\xff\xfe\x00\x00"):
        return WideLayout(4, "little", 4)
    if head.startswith(b"\x00\x00\xfe\xff"):
        return WideLayout(4, "big", 4)
    if head.startswith(b"\xff\xfe"):
        return WideLayout(2, "little", 2)
    if head.startswith(b"\xfe\xff"):
        return WideLayout(2, "big", 2)
    if head == b"<\x00\x00\x00":
        return WideLayout(4, "little", 0)
    if head == b"\x00\x00\x00<":
        return WideLayout(4, "big", 0)
    if head[:2] == b"<\x00":
        return WideLayout(2, "little", 0)
    if head[:2] == b"\x00<":
        return WideLayout(2, "big", 0)
    return None


def narrow_view(body: bytes, layout: WideLayout) -> bytes:
    """One byte per code unit of ``body[layout.start:]``: the ASCII character when the unit
    is one, else ``0xFF``. Unit ``i`` of the view is at byte ``layout.start + i * unit``."""
    unit = layout.unit
    data = body[layout.start:]
    usable = len(data) - len(data) % unit
    units = memoryview(data[:usable]).cast("B")
    low_index = 0 if layout.byteorder == "little" else unit - 1
    out = bytearray(bytes(units[low_index::unit]).translate(_ASCII_ONLY))
    for k in range(unit):
        if k != low_index:  # a non-zero high byte makes the unit non-ASCII
            for m in _NON_ZERO.finditer(bytes(units[k::unit])):
                out[m.start()] = 0xFF
    return bytes(out)


def wide_blank(layout: WideLayout) -> bytes:
    """A blank (U+0020) code unit in ``layout``."""
    return (0x20).to_bytes(layout.unit, layout.byteorder)
