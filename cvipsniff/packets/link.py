"""Link layers: find where the IP header starts in a frame.

Each parser takes the frame bytes and returns ``(ethertype, offset, vlans)``: the
EtherType of what follows the link header (``ETHERTYPE_IPV4``, ``ETHERTYPE_IPV6`` or any
other value, which the decoder ignores), the offset of the network header, and the VLAN
ids met on the way, outermost first. Link layers without an EtherType (BSD null/loopback,
raw IP) report the EtherType of the IP version they carry, so the decoder has one thing
to switch on. A frame too short for its link header raises :class:`MalformedPacket`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from cvipsniff.model import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
)
from cvipsniff.packets.errors import MalformedPacket

__all__ = [
    "ETHERTYPE_IPV4",
    "ETHERTYPE_IPV6",
    "LINK_LAYERS",
    "LinkParser",
    "bsd_null",
    "ethernet",
    "linux_sll",
    "linux_sll2",
    "raw_ip",
]

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
NOT_IP = -1  # reported for link payloads that are not IP at all

# 802.1Q, 802.1ad (QinQ) and the pre-standard QinQ TPIDs still seen on switches.
VLAN_TPIDS = frozenset({0x8100, 0x88A8, 0x9100, 0x9200, 0x9300})
MAX_VLAN_TAGS = 8  # deeper stacks are not real traffic; stop rather than loop on garbage
MAX_8023_LENGTH = 1500  # EtherType values up to this are 802.3 lengths (LLC follows)
_SNAP_HEADER = b"\xaa\xaa\x03\x00\x00\x00"  # LLC SNAP with the EtherType OUI

# BSD address families as written by the capturing host. AF_INET6 differs per OS:
# 24 NetBSD/OpenBSD, 28 FreeBSD/DragonFly, 30 macOS; 10 is Linux.
AF_INET = 2
AF_INET6_VALUES = frozenset({24, 28, 30, 10})

_U16 = struct.Struct("!H").unpack_from

LinkParser = Callable[[bytes], tuple[int, int, tuple[int, ...]]]


def _after_tags(data: bytes, ethertype: int, offset: int) -> tuple[int, int, tuple[int, ...]]:
    """Walk VLAN tags (TPID already read as ``ethertype``; TCI at ``offset``) and LLC/SNAP.
    Returns (inner EtherType, payload offset, VLAN ids outermost first)."""
    vlans: list[int] = []
    while ethertype in VLAN_TPIDS:
        if len(vlans) == MAX_VLAN_TAGS:
            raise MalformedPacket(f"more than {MAX_VLAN_TAGS} stacked VLAN tags")
        if len(data) < offset + 4:
            raise MalformedPacket("frame ends inside a VLAN tag")
        tci, ethertype = struct.unpack_from("!HH", data, offset)
        vlans.append(tci & 0x0FFF)
        offset += 4
    if ethertype <= MAX_8023_LENGTH:
        if data[offset : offset + 6] != _SNAP_HEADER or len(data) < offset + 8:
            return NOT_IP, offset, tuple(vlans)
        ethertype = _U16(data, offset + 6)[0]
        offset += 8
    return ethertype, offset, tuple(vlans)


def ethernet(data: bytes) -> tuple[int, int, tuple[int, ...]]:
    """Ethernet II (and 802.3 with SNAP), with any stack of 802.1Q/802.1ad tags."""
    if len(data) < 14:
        raise MalformedPacket(f"frame of {len(data)} bytes is shorter than an Ethernet header")
    ethertype = _U16(data, 12)[0]
    if ethertype in (ETHERTYPE_IPV4, ETHERTYPE_IPV6):  # the common case first
        return ethertype, 14, ()
    return _after_tags(data, ethertype, 14)


def linux_sll(data: bytes) -> tuple[int, int, tuple[int, ...]]:
    """Linux cooked capture v1 (``-i any``): 16-byte header, protocol at offset 14.
    libpcap re-inserts VLAN tags after the header, so they are walked like Ethernet's."""
    if len(data) < 16:
        raise MalformedPacket(f"frame of {len(data)} bytes is shorter than a Linux SLL header")
    return _after_tags(data, _U16(data, 14)[0], 16)


def linux_sll2(data: bytes) -> tuple[int, int, tuple[int, ...]]:
    """Linux cooked capture v2: 20-byte header, protocol first."""
    if len(data) < 20:
        raise MalformedPacket(f"frame of {len(data)} bytes is shorter than a Linux SLL2 header")
    return _after_tags(data, _U16(data, 0)[0], 20)


def bsd_null(data: bytes) -> tuple[int, int, tuple[int, ...]]:
    """BSD null/loopback: a 4-byte address family. NULL writes it in the capturing
    host's byte order and LOOP in network order, so both orders are accepted: the family
    is a small number, so whichever end holds the non-zero byte tells the order."""
    if len(data) < 4:
        raise MalformedPacket(f"frame of {len(data)} bytes is shorter than a loopback header")
    family = data[0] | data[1] << 8 if data[2] == 0 and data[3] == 0 else data[3] | data[2] << 8
    if family == AF_INET:
        return ETHERTYPE_IPV4, 4, ()
    if family in AF_INET6_VALUES:
        return ETHERTYPE_IPV6, 4, ()
    return NOT_IP, 4, ()


def raw_ip(data: bytes) -> tuple[int, int, tuple[int, ...]]:
    """Raw IP: no link header; the version nibble says which IP."""
    if not data:
        raise MalformedPacket("empty raw IP frame")
    version = data[0] >> 4
    if version == 4:
        return ETHERTYPE_IPV4, 0, ()
    if version == 6:
        return ETHERTYPE_IPV6, 0, ()
    raise MalformedPacket(f"raw IP frame with IP version {version}")


def raw_ipv4(data: bytes) -> tuple[int, int, tuple[int, ...]]:
    """LINKTYPE_IPV4: IPv4 only (a wrong version is caught by the IPv4 parser)."""
    return ETHERTYPE_IPV4, 0, ()


def raw_ipv6(data: bytes) -> tuple[int, int, tuple[int, ...]]:
    """LINKTYPE_IPV6: IPv6 only."""
    return ETHERTYPE_IPV6, 0, ()


LINK_LAYERS: dict[int, LinkParser] = {
    LINKTYPE_ETHERNET: ethernet,
    LINKTYPE_LINUX_SLL: linux_sll,
    LINKTYPE_LINUX_SLL2: linux_sll2,
    LINKTYPE_NULL: bsd_null,
    LINKTYPE_LOOP: bsd_null,
    LINKTYPE_RAW: raw_ip,
    LINKTYPE_IPV4: raw_ipv4,
    LINKTYPE_IPV6: raw_ipv6,
}
