"""Milestone "generic byte data": the raw camera data ImageServer sends without JPEG
transcoding (section "connect – More options": "we do not provide any library with which
you can decode it").

The ImageServer document does not give the layout. The one decoded here is Milestone's
public MIP SDK description: a 32-byte big-endian header (data type, total length, codec,
sequence number, flags with bit 0 = sync/key frame, sync-frame and picture timestamps in
ms, 4 reserved bytes) before the codec payload. It is applied only when the header is
self-consistent, and every field produced says where the layout came from, so a user can
tell a decoded fact from the document's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Read in place with struct: bodies can be large and this runs per image.
HEADER = struct.Struct(">HIHHHQQI")
HEADER_SIZE = HEADER.size  # 32
SOURCE = "MIP SDK generic byte data layout (not in the ImageServer document)"

DATA_TYPES: dict[int, str] = {0x0010: "video", 0x0020: "audio", 0x0030: "metadata"}
CODECS: dict[int, str] = {0x0001: "JPEG", 0x000A: "H.264", 0x000E: "H.265"}
FLAG_SYNC = 0x0001


@dataclass(slots=True)
class GenericByteData:
    datatype: int
    length: int
    codec: int
    seqno: int
    flags: int
    sync_ms: int
    picture_ms: int
    offset: int  # of the header in the message bytes

    @property
    def keyframe(self) -> bool:
        return bool(self.flags & FLAG_SYNC)

    @property
    def codec_name(self) -> str:
        return CODECS.get(self.codec, f"codec 0x{self.codec:04X}")

    @property
    def datatype_name(self) -> str:
        return DATA_TYPES.get(self.datatype, f"type 0x{self.datatype:04X}")


def inspect(data: bytes, start: int, end: int) -> tuple[GenericByteData | None, str]:
    """The header at ``data[start:end]`` if it is self-consistent, else (None, why not)."""
    size = end - start
    if size < HEADER_SIZE:
        return None, f"{size} bytes: shorter than the {HEADER_SIZE}-byte header"
    datatype, length, codec, seqno, flags, sync_ms, picture_ms, _ = HEADER.unpack_from(
        data, start)
    if datatype not in DATA_TYPES:
        return None, f"data type 0x{datatype:04X} is not one the layout names"
    if length != size:
        return None, f"header length {length} differs from the {size} bytes carried"
    return GenericByteData(datatype, length, codec, seqno, flags, sync_ms, picture_ms,
                           start), ""
