"""Milestone "generic byte data": the raw camera data ImageServer sends without JPEG
transcoding (section "connect – More options": "we do not provide any library with which
you can decode it").

The ImageServer document defines none of these bytes. The layouts read here are those of
Milestone's MIP documentation of the GenericByteData format and what public clients that
talk to real recording servers read (sources and what each one settles:
``DECISIONS.md`` item 23). Every packet in a body is walked; each field carries its own
byte range and every packet says which layout it was read with, so a user can tell a
decoded fact from the document's. Nothing here is a finding: bytes that do not fit a
layout are shown as not decoded, never judged.

Layouts (all big-endian), told apart by the first u16 of a packet:

* ``0x0010`` video stream packet, ``0x0020`` audio packet, ``0x0030`` metadata packet:
  data type (2), total length incl. header (4); a video stream packet goes on with codec
  (2), sequence number (2), flags (2, bit 0 = sync picture, i.e. key frame), sync picture
  time (8), picture time (8) and 4 reserved bytes: a 32-byte header.
* ``0xFEF0`` multi packet: a 16-byte header (data type, total length incl. every
  contained packet, 10 bytes not decoded) wrapping one or more single packets (video
  stream or audio, at most one of each).
* ``0x0001``–``0x000F`` video block: a block of coded pictures that decodes on its own,
  whose header starts with the codec. 36 bytes: codec (2), header length (2; more than
  36 means a header extension follows), flags (2), sequence number (2), data length (4),
  first picture time (8), last picture time (8), picture count (4), reserved (4).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

SOURCE = "Milestone MIP GenericByteData layout (not in the ImageServer document)"

VIDEO = 0x0010
AUDIO = 0x0020
METADATA = 0x0030
MULTI = 0xFEF0
DATA_TYPES: dict[int, str] = {VIDEO: "video stream packet", AUDIO: "audio packet",
                              METADATA: "metadata packet", MULTI: "multi packet"}
#: A first u16 in this range is the codec of a video block, not a data type.
VIDEO_BLOCK_CODECS = range(0x0001, 0x0010)
CODECS: dict[int, str] = {0x0001: "JPEG", 0x0004: "MPEG-4", 0x0005: "MPEG-4",
                          0x0006: "MPEG-4", 0x0007: "H.263", 0x0009: "H.263",
                          0x000A: "H.264", 0x000B: "MPEG-4", 0x000C: "VC-1",
                          0x000E: "H.265", 0x000F: "AV1", 0x0080: "MxPEG"}
FLAG_SYNC = 0x0001

PACKET_HEAD = struct.Struct(">HI")  # data type, total length: common to single packets
HEAD_SIZE = PACKET_HEAD.size  # 6
VIDEO_PACKET = struct.Struct(">HIHHHQQI")
HEADER_SIZE = VIDEO_PACKET.size  # 32: the video stream packet header
MULTI_HEADER_SIZE = 16
VIDEO_BLOCK = struct.Struct(">HHHHIQQII")
VIDEO_BLOCK_SIZE = VIDEO_BLOCK.size  # 36 before any header extension
MAX_PACKETS = 256  # per body; a body of thousands of tiny packets is not walked further


def codec_name(codec: int) -> str:
    return CODECS.get(codec, f"codec 0x{codec:04X}")


@dataclass(slots=True)
class Item:
    """One header field: ``name`` is the filter key's last part (``imageserver.gbd.NAME``);
    ``offset``/``length`` index the message bytes."""

    name: str
    label: str
    value: int | bool | None
    offset: int
    length: int
    display: str | None = None
    time: bool = False  # milliseconds since the epoch, shown as a date too


@dataclass(slots=True)
class Packet:
    """One packet of a body: where it is, which layout read it, what it says.

    ``payload_offset``/``payload_length`` locate the coded data after the header (for an
    export or a decoder); ``-1``/0 when the layout does not say where the data starts."""

    layout: str
    offset: int
    length: int
    items: list[Item] = field(default_factory=list)
    codec: int | None = None
    keyframe: bool | None = None
    payload_offset: int = -1
    payload_length: int = 0
    children: list[Packet] = field(default_factory=list)
    note: str = ""  # why the rest is not decoded, if it is not

    @property
    def codec_name(self) -> str | None:
        return codec_name(self.codec) if self.codec is not None else None

    def walk(self) -> Iterator[Packet]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(slots=True)
class Body:
    """What a generic byte data body holds: its packets in order, and a note on the bytes
    no layout explains (``rest_offset`` to the body's end) if any."""

    packets: list[Packet]
    rest_offset: int = -1
    note: str = ""

    def media(self) -> list[Packet]:
        """The packets that carry coded data (video or audio), multi packets unwrapped."""
        return [p for top in self.packets for p in top.walk() if p.payload_offset >= 0]


def walk(data: bytes, start: int, end: int, max_packets: int = MAX_PACKETS) -> Body:
    """Every packet in ``data[start:end]``, in order; never raises."""
    packets: list[Packet] = []
    pos = start
    while pos < end:
        if len(packets) >= max_packets:
            return Body(packets, pos, f"more than {max_packets} packets; the rest not walked")
        packet, why = _packet(data, pos, end, top=True)
        if packet is None:
            return Body(packets, pos, why)
        packets.append(packet)
        if packet.length <= 0:  # cannot advance: the rest is not walked
            return Body(packets, pos + max(packet.length, 0), "packet of length 0")
        pos += packet.length
    return Body(packets)


def _packet(data: bytes, pos: int, end: int, *, top: bool) -> tuple[Packet | None, str]:
    size = end - pos
    if size < 2:
        return None, f"{size} byte(s) left: shorter than a data type"
    kind = int.from_bytes(data[pos:pos + 2], "big")
    if kind in VIDEO_BLOCK_CODECS:
        if not top:
            return None, "a video block cannot be wrapped in a multi packet"
        return _video_block(data, pos, end), ""
    if kind not in DATA_TYPES:
        return None, f"data type 0x{kind:04X} is not one the layouts name"
    if size < HEAD_SIZE:
        return None, f"{size} bytes left: shorter than a packet header"
    _, length = PACKET_HEAD.unpack_from(data, pos)
    if length > size:
        return None, f"{DATA_TYPES[kind]} of {length} bytes runs past the {size} left"
    common = [Item("datatype", f"data type ({SOURCE})", kind, pos, 2, DATA_TYPES[kind]),
              Item("length", "total length", length, pos + 2, 4, f"{length} B")]
    if kind == MULTI:
        return _multi(data, pos, length, common)
    if kind == VIDEO:
        return _video_packet(data, pos, length, common)
    return Packet(DATA_TYPES[kind], pos, length, common,
                  note="rest of the packet not decoded (layout not published)"), ""


def _video_packet(data: bytes, pos: int, length: int, common: list[Item],
                  ) -> tuple[Packet | None, str]:
    if length < HEADER_SIZE:
        return None, f"video stream packet of {length} bytes: shorter than its 32-byte header"
    _, _, codec, seqno, flags, sync_ms, picture_ms, _ = VIDEO_PACKET.unpack_from(data, pos)
    keyframe = bool(flags & FLAG_SYNC)
    items = [*common,
             Item("codec", "codec", codec, pos + 6, 2, codec_name(codec)),
             Item("seqno", "sequence number", seqno, pos + 8, 2),
             Item("flags", "flags", flags, pos + 10, 2, f"0x{flags:04X}"),
             Item("keyframe", "key frame", keyframe, pos + 10, 2, "flags bit 0 (sync picture)"
                  if keyframe else None),
             Item("synctime", "sync picture time", sync_ms, pos + 12, 8, time=True),
             Item("picturetime", "picture time", picture_ms, pos + 20, 8, time=True),
             Item("reserved", "reserved", int.from_bytes(data[pos + 28:pos + 32], "big"),
                  pos + 28, 4)]
    return Packet(DATA_TYPES[VIDEO], pos, length, items, codec, keyframe, pos + HEADER_SIZE,
                  length - HEADER_SIZE), ""


def _multi(data: bytes, pos: int, length: int, common: list[Item],
           ) -> tuple[Packet | None, str]:
    if length < MULTI_HEADER_SIZE:
        return None, f"multi packet of {length} bytes: shorter than its 16-byte header"
    items = [*common, Item("multi.rest", "rest of the multi packet header (not decoded)",
                           None, pos + 6, MULTI_HEADER_SIZE - 6,
                           data[pos + 6:pos + MULTI_HEADER_SIZE].hex())]
    packet = Packet(DATA_TYPES[MULTI], pos, length, items)
    inner, end = pos + MULTI_HEADER_SIZE, pos + length
    seen: set[int] = set()
    notes: list[str] = []
    while inner < end:
        child, why = _packet(data, inner, end, top=False)
        if child is None or child.length <= 0:
            notes.append(why or "packet of length 0")
            break
        kind = int.from_bytes(data[inner:inner + 2], "big")
        if kind == MULTI:
            notes.append("a multi packet inside a multi packet")
        elif kind in seen:
            notes.append(f"a second {DATA_TYPES[kind]} (the layout allows one of each)")
        seen.add(kind)
        packet.children.append(child)
        inner += child.length
    if not packet.children and not notes:
        notes.append("no packet inside (the layout requires at least one)")
    packet.note = "; ".join(notes)
    return packet, ""


def _video_block(data: bytes, pos: int, end: int) -> Packet:
    """A video block is the whole rest of the body; its header is decoded when it fits
    the 36-byte layout (header length and data length adding up to the bytes carried),
    else only the codec, with why the rest is not."""
    size = end - pos
    codec = int.from_bytes(data[pos:pos + 2], "big")
    codec_item = Item("codec", f"codec ({SOURCE}, video block)", codec, pos, 2,
                      codec_name(codec))
    # A video block decodes on its own, so it starts with a sync picture (a key frame).
    packet = Packet("video block", pos, size, [codec_item], codec, True)
    if size < VIDEO_BLOCK_SIZE:
        packet.note = f"{size} bytes: shorter than the 36-byte video block header"
        return packet
    (_, header_len, flags, seqno, data_len, first_ms, last_ms, pictures,
     reserved) = VIDEO_BLOCK.unpack_from(data, pos)
    if header_len < VIDEO_BLOCK_SIZE or header_len + data_len != size:
        packet.note = (f"header length {header_len} and data length {data_len} do not "
                       f"account for the {size} bytes carried: rest not decoded")
        return packet
    extension = header_len - VIDEO_BLOCK_SIZE
    packet.items += [
        Item("headerlength", "header length", header_len, pos + 2, 2,
             f"{header_len} B" + (f" ({extension} B header extension)" if extension else "")),
        Item("flags", "flags", flags, pos + 4, 2, f"0x{flags:04X}"),
        Item("seqno", "sequence number", seqno, pos + 6, 2),
        Item("datalength", "data length", data_len, pos + 8, 4, f"{data_len} B"),
        Item("keyframe", "key frame", True, pos, VIDEO_BLOCK_SIZE,
             "a video block decodes on its own: it starts with a sync picture"),
        Item("synctime", "first picture time", first_ms, pos + 12, 8, time=True),
        Item("picturetime", "last picture time", last_ms, pos + 20, 8, time=True),
        Item("pictures", "pictures", pictures, pos + 28, 4),
        Item("reserved", "reserved", reserved, pos + 32, 4),
    ]
    if extension:
        packet.items.append(Item("extension", "header extension (not decoded)", extension,
                                 pos + VIDEO_BLOCK_SIZE, extension, f"{extension} B"))
    packet.payload_offset, packet.payload_length = pos + header_len, data_len
    return packet
