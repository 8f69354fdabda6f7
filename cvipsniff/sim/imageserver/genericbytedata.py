"""Milestone "generic byte data": video stream packets, video blocks and multi packets,
the raw (non-transcoded) body formats.

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

Two more layouts real recording servers send (Milestone's MIP GenericByteData
documentation; see ``dissectors/imageserver/DECISIONS.md`` item 23 for the sources): the
*video block* (:func:`video_block`, a 36-byte header starting with the codec, optionally
extended, before a self-contained run of coded pictures) and the *multi packet*
(:func:`multi_packet`, data type 0xFEF0, a 16-byte header wrapping single packets).

It was not checked against a real recording server, so treat it as a plausible stand-in:
what matters for the analyser is that raw parts are opaque binary bodies with a declared
length. Our peers wrap a JPEG picture in it, so the payload stays a real image.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Fixed layout, packed and unpacked with one struct call each way.
_HEADER = struct.Struct(">HIHHHQQI")
_PACKET_HEAD = struct.Struct(">HI")
_VIDEO_BLOCK = struct.Struct(">HHHHIQQII")
VIDEO_BLOCK_SIZE = _VIDEO_BLOCK.size  # 36
MULTI_HEADER_SIZE = 16
HEADER_SIZE = _HEADER.size  # 32

DATA_TYPE_VIDEO_PACKET = 0x0010
DATA_TYPE_AUDIO_PACKET = 0x0020
DATA_TYPE_MULTI_PACKET = 0xFEF0
CODEC_H264 = 0x000A
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


def audio_packet(payload: bytes) -> bytes:
    """An audio packet: data type and total length, then bytes this project does not
    lay out further (the header beyond those six bytes is not published)."""
    return _PACKET_HEAD.pack(DATA_TYPE_AUDIO_PACKET, _PACKET_HEAD.size + len(payload)) \
        + payload


def multi_packet(*packets: bytes) -> bytes:
    """A multi packet wrapping ``packets`` (each a whole single packet): data type
    0xFEF0, total length including every packet, 10 bytes of zeros."""
    body = b"".join(packets)
    return _PACKET_HEAD.pack(DATA_TYPE_MULTI_PACKET, MULTI_HEADER_SIZE + len(body)) \
        + bytes(MULTI_HEADER_SIZE - _PACKET_HEAD.size) + body


def video_block(payload: bytes, *, codec: int = CODEC_H264, first_time_ms: int,
                last_time_ms: int, pictures: int, sequence: int = 0,
                extension: bytes = b"") -> bytes:
    """A video block: the 36-byte header (codec first; header length 36 plus the
    extension), the header extension, then the block's coded pictures."""
    if not 0x0001 <= codec <= 0x000F:
        raise ValueError(f"a video block's codec is 1..15, not {codec}")
    header = _VIDEO_BLOCK.pack(codec, VIDEO_BLOCK_SIZE + len(extension), 0, sequence & 0xFFFF,
                               len(payload), first_time_ms, last_time_ms, pictures, 0)
    return header + extension + payload


def read_picture(data: bytes) -> tuple[int, bytes] | None:
    """(picture time, coded picture) from any layout :class:`~.server_logic` sends: a video
    stream packet, a multi packet's video packet, or a one-picture video block (its last
    picture's time); None when ``data`` fits none of them."""
    if len(data) >= _PACKET_HEAD.size:
        kind, length = _PACKET_HEAD.unpack_from(data)
        if kind == DATA_TYPE_MULTI_PACKET and length == len(data):
            pos = MULTI_HEADER_SIZE
            while pos + _PACKET_HEAD.size <= len(data):
                inner, size = _PACKET_HEAD.unpack_from(data, pos)
                if size < _PACKET_HEAD.size or pos + size > len(data):
                    return None
                if inner == DATA_TYPE_VIDEO_PACKET:
                    return read_picture(data[pos:pos + size])
                pos += size
            return None
    if len(data) >= VIDEO_BLOCK_SIZE and 0x0001 <= int.from_bytes(data[:2], "big") <= 0x000F:
        fields = _VIDEO_BLOCK.unpack_from(data)
        header_len, data_len, last_ms = fields[1], fields[4], fields[6]
        if header_len >= VIDEO_BLOCK_SIZE and header_len + data_len == len(data):
            return last_ms, data[header_len:]
        return None
    packet = read_video_packet(data)
    return None if packet is None else (packet[0].picture_time_ms, packet[1])
