"""A structure-aware mutator for pcap and pcapng captures (issue 14's fuzzing harness).

Random bytes rarely get past a capture's magic number; this mutator knows where a file's
records or blocks, lengths, timestamps and packet payloads are, and damages exactly those,
the way a corrupted disk, a buggy writer or a hostile peer would:

* ``flip``: flip one bit anywhere;
* ``truncate``: cut the file;
* ``length``: overwrite a record's captured/original length (pcap) or a block's leading or
  trailing total length (pcapng);
* ``time``: overwrite a record's timestamp, or an interface's ``if_tsresol`` or
  ``if_tsoffset`` (pcapng);
* ``payload``: overwrite bytes of a packet's payload (past the usual headers) with a token
  a dissector must survive (``<``, ``&#xD800;``, a 4 GB length, a CVIP header...);
* ``duplicate`` / ``drop``: repeat or remove a record (retransmission, loss).

A mutation is a small tuple of numbers (drawn by hypothesis); positions are taken modulo
what exists, so every draw is valid and shrinks well.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

KINDS = ("flip", "truncate", "length", "time", "payload", "duplicate", "drop")

TOKENS = (
    b"<", b">", b"&", b"&#xD800;", b"&a;", b"\x00", b"\xff\xff\xff\xff", b"\xff\xd8",
    b"\xff\xd9", b"\r\n\r\n", b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"]]>", b"<![CDATA[",
    b'<?xml version="1.0" encoding="hex"?>', b"\xef\xbb\xbf", b"\xfe\xff",
    b"Content-length: 4294967296\r\n", b"--boundary\r\n", b"\x43\x56\x02\x00\xff\xff\xff\xff",
    b"</methodName>", b"<value><array><data>", b"<password>x</user>", b"connectiontoken=",
)


@dataclass(frozen=True, slots=True)
class Mutation:
    kind: str
    where: int  # which record/block/byte (modulo what exists)
    value: int  # the new value, bit, token index or length (interpreted per kind)


@dataclass(slots=True)
class _Unit:
    """One record (pcap) or block (pcapng): where it starts and ends in the file."""

    start: int
    end: int
    block_type: int  # pcapng block type; 0 for a pcap record


def _pcap_units(data: bytes) -> tuple[str, int, list[_Unit]]:
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    units = []
    pos = 24
    while pos + 16 <= len(data):
        caplen = struct.unpack_from(order + "I", data, pos + 8)[0]
        end = pos + 16 + caplen
        if end > len(data):
            break
        units.append(_Unit(pos, end, 0))
        pos = end
    return order, 24, units


def _pcapng_units(data: bytes) -> tuple[str, int, list[_Unit]]:
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    units = []
    pos = 0
    while pos + 12 <= len(data):
        btype, length = struct.unpack_from(order + "II", data, pos)
        if length < 12 or length % 4 or pos + length > len(data):
            break
        units.append(_Unit(pos, pos + length, btype))
        pos += length
    return order, 0, units


def units_of(data: bytes) -> tuple[str, str, list[_Unit]]:
    """(format, byte order, records or blocks) of a capture's bytes."""
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        order, _, units = _pcapng_units(data)
        return "pcapng", order, units
    order, _, units = _pcap_units(data)
    return "pcap", order, units


def mutate(data: bytes, mutations: list[Mutation]) -> bytes:
    """``data`` with each mutation applied in turn (each on the previous result)."""
    out = bytes(data)
    for m in mutations:
        out = _apply(out, m)
    return out


def _apply(data: bytes, m: Mutation) -> bytes:
    if not data:
        return data
    if m.kind == "flip":
        pos = m.where % len(data)
        buf = bytearray(data)
        buf[pos] ^= 1 << (m.value % 8)
        return bytes(buf)
    if m.kind == "truncate":
        return data[: m.where % len(data)]
    fmt, order, units = units_of(data)
    if not units:
        return data
    unit = units[m.where % len(units)]
    buf = bytearray(data)
    if m.kind == "length":
        value = m.value & 0xFFFFFFFF
        if fmt == "pcap":
            field = unit.start + (8 if m.value % 2 else 12)
        else:
            field = unit.start + 4 if m.value % 2 else unit.end - 4
        struct.pack_into(order + "I", buf, field, value)
        return bytes(buf)
    if m.kind == "time":
        return _time(buf, fmt, order, unit, m.value)
    if m.kind == "payload":
        start, end = _payload_range(fmt, unit)
        if end <= start:
            return data
        token = TOKENS[m.value % len(TOKENS)]
        pos = start + (m.value // len(TOKENS)) % (end - start)
        token = token[: end - pos]
        buf[pos:pos + len(token)] = token
        return bytes(buf)
    if m.kind == "duplicate":
        return bytes(buf[: unit.end] + buf[unit.start: unit.end] + buf[unit.end:])
    if m.kind == "drop":
        if unit.start == 0:  # the section header: dropping it only makes the file unknown
            return data
        return bytes(buf[: unit.start] + buf[unit.end:])
    raise ValueError(m.kind)


def _payload_range(fmt: str, unit: _Unit) -> tuple[int, int]:
    """Bytes of a packet past Ethernet + IPv4 + TCP headers (54 bytes), where protocol
    payload usually sits."""
    if fmt == "pcap":
        return unit.start + 16 + 54, unit.end
    if unit.block_type == 6:  # EPB: 28 bytes of block header before the packet
        return unit.start + 28 + 54, unit.end - 4
    return unit.end, unit.end


def _time(buf: bytearray, fmt: str, order: str, unit: _Unit, value: int) -> bytes:
    if fmt == "pcap":
        struct.pack_into(order + "I", buf, unit.start + (value % 2) * 4,
                         (value >> 1) & 0xFFFFFFFF)
        return bytes(buf)
    if unit.block_type == 6 and unit.end - unit.start >= 32:
        struct.pack_into(order + "I", buf, unit.start + 12 + (value % 2) * 4,
                         (value >> 1) & 0xFFFFFFFF)
        return bytes(buf)
    if unit.block_type == 1:  # IDB: rewrite (or add) if_tsresol / if_tsoffset
        option = 9 if value % 2 else 14
        payload = bytes([(value >> 1) & 0xFF]) if option == 9 else struct.pack(
            order + "q", ((value >> 1) & 0xFFFFFFFFFFFFFFFF) - (1 << 63))
        opt = struct.pack(order + "HH", option, len(payload)) + payload
        opt += b"\0" * (-len(opt) % 4) + struct.pack(order + "HH", 0, 0)
        body = bytes(buf[unit.start + 8: unit.start + 16]) + opt
        total = 12 + len(body)
        block = struct.pack(order + "II", 1, total) + body + struct.pack(order + "I", total)
        return bytes(buf[: unit.start] + block + buf[unit.end:])
    return bytes(buf)
