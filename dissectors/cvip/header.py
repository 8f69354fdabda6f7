"""The 9-byte CVIPv2 message header (§Command details 2. CVIPv2 Message Header).

::

    0      2      3             5                 9
    +------+------+-------------+-----------------+
    | ver  | type | R|  txn(15) |  packet size    |
    +------+------+-------------+-----------------+

The document never states the byte order. Its examples (version ``0x0201``, size
``0x28``) read naturally as network order, so big-endian is the decision; a peer that
writes the version as ``01 02`` is taken to be little-endian throughout (version, txn and
size), decoded anyway and reported (``cvip.header.byte_order``). Any other version bytes
are decoded big-endian and reported as a wrong version.

The version bytes are one piece of evidence, the Packet Size another: when the size read
in the byte order the version suggests is absurd (below the header's 9 bytes or beyond
the size cap) and the other reading is sane, the other byte order is the peer's (a
``01 02`` header with a big-endian size is a peer that wrote its version constant
backwards), decoded so and reported (``cvip.header.byte_order``, ``order_from_size``).

Parsing uses ``struct`` on the hot path: every message and every framer resync candidate
goes through :func:`parse_header`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

from dissectors.base import Field, Problem
from dissectors.cvip.tables.model import SPEC

HEADER_SIZE = 9
VERSION = 0x0201
VERSION_BE = b"\x02\x01"
VERSION_LE = b"\x01\x02"
# What may precede the "<" of an XML body: blanks and a UTF-8 byte order mark. Used by
# the heuristics (framer resync, detection, ping-or-XML) only.
XML_LEAD = b" \t\r\n\xef\xbb\xbf"
RESPONSE_FLAG = 0x8000
TXN_MASK = 0x7FFF
SECTION = SPEC + "Command details 2. CVIPv2 Message Header"

ByteOrder = Literal["big", "little"]

_BE = struct.Struct(">HBHI")
_LE = struct.Struct("<HBHI")
# Packet Sizes beyond this are absurd (the framer's default cap; it may be given another).
SIZE_CAP = 16 * 1024 * 1024

# (attribute, offset, length, filter key, label): the layout as data, dpkt-style.
LAYOUT: tuple[tuple[str, int, int, str, str], ...] = (
    ("version", 0, 2, "cvip.version", "Protocol Version"),
    ("msg_type", 2, 1, "cvip.type", "Message Type"),
    ("txn", 3, 2, "cvip.txn", "Transaction Number"),
    ("size", 5, 4, "cvip.size", "Packet Size"),
)


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    msg_type: int
    txn: int
    response: bool
    size: int
    byte_order: ByteOrder
    known_version: bool  # the version bytes were 02 01 or 01 02
    order_from_size: bool = False  # the byte order is the size's, not the version's

    @property
    def raw_txn(self) -> int:
        return self.txn | (RESPONSE_FLAG if self.response else 0)


def byte_order_of(first_two: bytes | bytearray | memoryview) -> ByteOrder | None:
    """``big`` for ``02 01``, ``little`` for ``01 02``, None for anything else."""
    if first_two == VERSION_BE:
        return "big"
    if first_two == VERSION_LE:
        return "little"
    return None


def sane_size(size: int, size_cap: int = SIZE_CAP) -> bool:
    """A Packet Size a header could mean: at least the header, at most the cap."""
    return HEADER_SIZE <= size <= size_cap


def parse_header(data: bytes | bytearray | memoryview, offset: int = 0,
                 size_cap: int = SIZE_CAP) -> Header | None:
    """The header at ``offset``, or None if fewer than 9 bytes are there. The byte order
    is the version's, unless only the other order gives a sane Packet Size."""
    if len(data) - offset < HEADER_SIZE:
        return None
    order = byte_order_of(data[offset:offset + 2])
    layout = _LE if order == "little" else _BE
    version, msg_type, raw_txn, size = layout.unpack_from(data, offset)
    chosen: ByteOrder = order or "big"
    flipped = False
    if not sane_size(size, size_cap):
        other = _BE if layout is _LE else _LE
        o_version, o_type, o_txn, o_size = other.unpack_from(data, offset)
        if sane_size(o_size, size_cap):
            version, msg_type, raw_txn, size = o_version, o_type, o_txn, o_size
            chosen = "big" if other is _BE else "little"
            flipped = True
    return Header(version, msg_type, raw_txn & TXN_MASK, bool(raw_txn & RESPONSE_FLAG), size,
                  chosen, order is not None, flipped)


def encode_header(size: int, txn: int, response: bool = False, msg_type: int = 0,
                  byte_order: ByteOrder = "big", version: int = VERSION) -> bytes:
    """Header bytes (for tests, the simulator and reference peers). ``size`` counts the
    header itself, as the document says."""
    layout = _LE if byte_order == "little" else _BE
    raw_txn = (txn & TXN_MASK) | (RESPONSE_FLAG if response else 0)
    return layout.pack(version, msg_type, raw_txn, size)


def header_problems(header: Header) -> list[Problem]:
    """What is wrong with the header on its own (version, byte order)."""
    problems: list[Problem] = []
    if header.order_from_size:
        problems.append(Problem(
            "cvip.header.byte_order", "warning",
            f"Packet Size is sane only read {header.byte_order}-endian ({header.size} "
            f"bytes), whatever the version bytes suggest; header decoded "
            f"{header.byte_order}-endian", SECTION, 5, 4))
    if not header.known_version:
        problems.append(Problem(
            "cvip.header.version", "error",
            f"protocol version 0x{header.version:04x}, expected 0x0201", SECTION, 0, 2))
        return problems
    if problems:
        return problems
    if header.byte_order == "little":
        return [Problem("cvip.header.byte_order", "warning",
                        "header in little-endian byte order (version bytes 01 02); decoded "
                        "little-endian", SECTION, 0, 2)]
    return []


def header_field(header: Header) -> Field:
    """The header subtree; every child points at the bytes it was read from."""
    children: list[Field] = []
    for attr, offset, length, key, label in LAYOUT:
        value = getattr(header, attr)
        if attr == "version":
            display = f"0x{value:04x}"
        elif attr == "msg_type":
            display = f"0x{value:02x}" + (" (Discovery Ping)" if value == 1 else "")
        elif attr == "txn":
            display = f"{value} (0x{header.raw_txn:04x})"
        else:
            display = f"{value} bytes"
        children.append(Field(key, label, value, display, offset, length))
    # The response flag is the most significant bit of the transaction number.
    flag_byte = 3 if header.byte_order == "big" else 4
    children.insert(3, Field("cvip.response", "Response flag", header.response,
                             "response (1)" if header.response else "request (0)",
                             flag_byte, 1))
    children.insert(1, Field("cvip.byte_order", "Byte order", header.byte_order,
                             f"{header.byte_order}-endian", 0, 2))
    return Field("cvip.header", "CVIP Header 2.0", None,
                 f"CVIP Header 2.0, txn {header.txn}, size {header.size}", 0, HEADER_SIZE,
                 children)
