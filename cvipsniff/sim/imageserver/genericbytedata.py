"""Milestone "generic byte data" video packets, the raw (non-transcoded) body format.

The ImageServer document only names the content type
(``application/x-genericbytedata-octet-stream``) and says no decoder library is provided.
The layout used here is the *video stream packet* header of Milestone's public
GenericByteData documentation as we understand it, 32 bytes, big-endian:

====== ==== ======================================================
offset size field
====== ==== ======================================================
0      2    data type (0x0010: video stream packet)
2      4    total length, header included
6      2    codec (0x0001 JPEG …)
8      2    sequence number
10     2    flags (0x0001: sync picture, i.e. a key frame)
12     8    time stamp of the sync picture, ms since the epoch
20     8    time stamp of this picture, ms since the epoch
28     4    reserved (0)
====== ==== ======================================================

It was not checked against a real recording server, so treat it as a plausible stand-in:
what matters for the analyser is that raw parts are opaque binary bodies with a declared
length. Our peers wrap a JPEG picture in it, so the payload stays a real image.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Fixed layout, packed and unpacked with one struct call each way.
_HEADER = struct.Struct(">HIHHHQQI")
HEADER_SIZE = _HEADER.size  # 32

DATA_TYPE_VIDEO_PACKET = 0x0010
CODEC_JPEG = 0x0001
FLAG_SYNC = 0x0001


@dataclass(frozen=True, slots=True)
class VideoPacketHeader:
    data_type: int
    length: int
    codec: int
    sequence: int
    flags: int
    sync_time_ms: int
    picture_time_ms: int

    @property
    def key_frame(self) -> bool:
        return bool(self.flags & FLAG_SYNC)


def video_packet(payload: bytes, *, sequence: int, picture_time_ms: int,
                 sync_time_ms: int | None = None, key_frame: bool = True,
                 codec: int = CODEC_JPEG) -> bytes:
    """Header plus payload; the sync time defaults to the picture time (a key frame)."""
    sync = picture_time_ms if sync_time_ms is None else sync_time_ms
    header = _HEADER.pack(DATA_TYPE_VIDEO_PACKET, HEADER_SIZE + len(payload), codec,
                          sequence & 0xFFFF, FLAG_SYNC if key_frame else 0, sync,
                          picture_time_ms, 0)
    return header + payload


def read_video_packet(data: bytes) -> tuple[VideoPacketHeader, bytes] | None:
    """Header and payload, or None when ``data`` is not a consistent video packet."""
    if len(data) < HEADER_SIZE:
        return None
    fields = _HEADER.unpack_from(data)
    header = VideoPacketHeader(*fields[:7])
    if header.data_type != DATA_TYPE_VIDEO_PACKET or header.length != len(data):
        return None
    return header, data[HEADER_SIZE:]
