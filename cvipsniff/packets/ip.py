"""IPv4 and IPv6 header layouts and the IPv6 extension header walk.

The fixed headers are unpacked by the decoder straight from the frame bytes with the
precompiled structs below (one C call per header on the hot path). What needs a loop —
the IPv6 extension header chain — is here as a pure function over bytes.
"""

from __future__ import annotations

import struct

from cvipsniff.packets.errors import MalformedPacket

__all__ = [
    "IPPROTO_TCP",
    "IPPROTO_UDP",
    "IPV4_HEADER",
    "IPV6_EXTENSIONS",
    "IPV6_HEADER",
    "ipv6_extensions",
]

IPPROTO_HOPOPTS = 0
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_ESP = 50
IPPROTO_AH = 51
IPPROTO_NONE = 59
IPPROTO_DSTOPTS = 60

# Extension headers with the generic (next header, length in 8-octet units - 1) layout.
_GENERIC_EXTENSIONS = frozenset({IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS})
IPV6_EXTENSIONS = _GENERIC_EXTENSIONS | {IPPROTO_FRAGMENT, IPPROTO_AH}
MAX_EXTENSION_HEADERS = 32  # far beyond any real chain; bounds work on hostile packets

# version/IHL, TOS, total length, identification, flags/fragment offset, TTL, protocol,
# checksum (not verified: offloading makes it wrong in most captures), source, destination.
IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s")
# version/traffic class/flow label, payload length, next header, hop limit, source, dest.
IPV6_HEADER = struct.Struct("!IHBB16s16s")
_FRAGMENT_HEADER = struct.Struct("!BxHI")  # next header, offset|M, identification


def ipv6_extensions(data: bytes, offset: int, end: int, next_header: int
                    ) -> tuple[int, int, int, bool, int]:
    """Walk the extension headers starting at ``offset`` (the first one's type is
    ``next_header``) up to the upper-layer header.

    Returns ``(protocol, offset, fragment_offset, more_fragments, identification)``:
    ``fragment_offset`` is -1 unless a Fragment header was met, in which case the walk
    stops right after it (what follows is the fragmentable part, to be reassembled first).
    An atomic fragment (offset 0, no more fragments; RFC 6946) is walked through.
    ESP and No Next Header end the walk with that protocol number.
    """
    for _ in range(MAX_EXTENSION_HEADERS):
        if next_header in _GENERIC_EXTENSIONS:
            if offset + 2 > end:
                raise MalformedPacket(f"IPv6 extension header {next_header} cut short")
            length = (data[offset + 1] + 1) << 3
            next_header = data[offset]
        elif next_header == IPPROTO_FRAGMENT:
            if offset + 8 > end:
                raise MalformedPacket("IPv6 fragment header cut short")
            inner, offset_flags, identification = _FRAGMENT_HEADER.unpack_from(data, offset)
            fragment_offset = offset_flags & 0xFFF8
            more = bool(offset_flags & 1)
            if fragment_offset or more:
                return inner, offset + 8, fragment_offset, more, identification
            next_header = inner
            length = 8
        elif next_header == IPPROTO_AH:
            if offset + 2 > end:
                raise MalformedPacket("IPv6 authentication header cut short")
            length = (data[offset + 1] + 2) << 2
            next_header = data[offset]
        else:
            return next_header, offset, -1, False, 0
        offset += length
        if offset > end:
            raise MalformedPacket("IPv6 extension header runs past the end of the packet")
    raise MalformedPacket(f"more than {MAX_EXTENSION_HEADERS} IPv6 extension headers")
