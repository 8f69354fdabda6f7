"""Wire layouts of the layers the synthesizer writes, built with :mod:`struct`.

One small function per header, dpkt style: the layout is a precompiled ``struct.Struct``
and the function only fills it in. Nothing here decides *what* to send (that is
:mod:`.tcp`, :mod:`.udp` and :mod:`.packetizer`); these are the bytes of a decision.

``struct`` rather than scapy because this is the hot path: the benchmark synthesizes a
capture of hundreds of megabytes through these functions, and scapy's per-field objects
cost two orders of magnitude more per packet. The tests cross-check the output against
scapy and tshark.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence

from cvipsniff.sim.synth.checksum import finish, partial_sum

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_VLAN = 0x8100  # 802.1Q customer tag
ETHERTYPE_QINQ = 0x88A8  # 802.1ad service tag, the outer tag of a stacked pair

IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6_FRAGMENT = 44

# Linux cooked capture packet types (the sll_pkttype of packet(7)).
SLL_HOST = 0  # addressed to the capturing host
SLL_BROADCAST = 1
SLL_MULTICAST = 2
SLL_OUTGOING = 4  # sent by the capturing host
ARPHRD_ETHER = 1

TCP_FLAG_FIN = 0x01
TCP_FLAG_SYN = 0x02
TCP_FLAG_RST = 0x04
TCP_FLAG_PSH = 0x08
TCP_FLAG_ACK = 0x10

_ETHERNET = struct.Struct("!6s6s")
_TYPE = struct.Struct("!H")
_TAG = struct.Struct("!HH")  # TCI, then the type of what follows the tag
_SLL = struct.Struct("!HHH8sH")  # packet type, ARPHRD, address length, address, protocol
_SLL2 = struct.Struct("!HHIHBB8s")  # protocol, reserved, ifindex, ARPHRD, pkttype, alen, addr
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")
_IPV6_FRAGMENT = struct.Struct("!BBHI")
_TCP = struct.Struct("!HHIIBBHHH")
_UDP = struct.Struct("!HHHH")

IPV4_HEADER_LEN = _IPV4.size
IPV6_HEADER_LEN = _IPV6.size
IPV6_FRAGMENT_HEADER_LEN = _IPV6_FRAGMENT.size
TCP_HEADER_LEN = _TCP.size
UDP_HEADER_LEN = _UDP.size
ETHERNET_HEADER_LEN = _ETHERNET.size + _TYPE.size
SLL_HEADER_LEN = _SLL.size
SLL2_HEADER_LEN = _SLL2.size

BROADCAST_MAC = b"\xff" * 6


# ---- addresses --------------------------------------------------------------------------


def mac_for(address: bytes) -> bytes:
    """A stable, locally administered unicast MAC for a host address (02:xx:...), or the
    broadcast/multicast MAC that IPv4 (RFC 1112) and IPv6 (RFC 2464) map group addresses
    to, so tshark shows consistent hosts and sensible multicast frames."""
    if len(address) == 4:
        if address == b"\xff\xff\xff\xff" or address[3] == 0xFF:
            return BROADCAST_MAC
        if 224 <= address[0] <= 239:
            return b"\x01\x00\x5e" + bytes([address[1] & 0x7F]) + address[2:4]
        return b"\x02\x00" + address
    if address[0] == 0xFF:
        return b"\x33\x33" + address[12:16]
    return b"\x02\x06" + address[12:16]


def is_group_address(address: bytes) -> bool:
    """Broadcast or multicast: frames to it are not addressed to one host."""
    return mac_for(address)[0] & 0x01 == 1


def ipv6_for(address: str) -> str:
    """The IPv6 stand-in for an IPv4 address when a conversation is moved to IPv6.

    Unicast goes to the documentation prefix 2001:db8::/32 keeping the IPv4 bits (so
    10.0.0.5 becomes 2001:db8::a00:5 and stays recognisable); broadcast becomes the
    all-nodes group ff02::1 (IPv6 has no broadcast); IPv4 multicast keeps its group bits
    under ff05:: (site-local scope). IPv6 addresses are returned unchanged.
    """
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        return str(ip)
    packed = ip.packed
    if packed == b"\xff\xff\xff\xff" or packed[3] == 0xFF:
        return "ff02::1"
    if ip.is_multicast:
        return str(ipaddress.IPv6Address(b"\xff\x05" + b"\x00" * 10 + packed))
    return str(ipaddress.IPv6Address(b"\x20\x01\x0d\xb8" + b"\x00" * 8 + packed))


# ---- link layers ------------------------------------------------------------------------


def _tag_chain(vlans: Sequence[int], ethertype: int) -> tuple[int, bytes]:
    """(type of the first tag or of the payload, bytes of the tags): the outer tag of a
    stacked pair is an 802.1ad S-tag, inner ones 802.1Q C-tags."""
    if not vlans:
        return ethertype, b""
    tpids = [ETHERTYPE_QINQ if len(vlans) > 1 and i == 0 else ETHERTYPE_VLAN
             for i in range(len(vlans))]
    next_types = [*tpids[1:], ethertype]
    tags = b"".join(_TAG.pack(vid & 0x0FFF, nxt) for vid, nxt in zip(vlans, next_types,
                                                                       strict=True))
    return tpids[0], tags


def ethernet(dst: bytes, src: bytes, ethertype: int, vlans: Sequence[int] = ()) -> bytes:
    """Ethernet II header, with 802.1Q tags (outermost first) when ``vlans`` is given."""
    first, tags = _tag_chain(vlans, ethertype)
    return _ETHERNET.pack(dst, src) + _TYPE.pack(first) + tags


def linux_sll(packet_type: int, src_mac: bytes, ethertype: int,
              vlans: Sequence[int] = ()) -> bytes:
    """Linux cooked capture v1 header (LINKTYPE_LINUX_SLL, 16 bytes)."""
    first, tags = _tag_chain(vlans, ethertype)
    return _SLL.pack(packet_type, ARPHRD_ETHER, 6, src_mac + b"\0\0", first) + tags


def linux_sll2(packet_type: int, src_mac: bytes, ethertype: int, ifindex: int = 1,
               vlans: Sequence[int] = ()) -> bytes:
    """Linux cooked capture v2 header (LINKTYPE_LINUX_SLL2, 20 bytes)."""
    first, tags = _tag_chain(vlans, ethertype)
    return _SLL2.pack(first, 0, ifindex, ARPHRD_ETHER, packet_type, 6,
                      src_mac + b"\0\0") + tags


# ---- IP -----------------------------------------------------------------------------------


def ipv4_header(src: bytes, dst: bytes, protocol: int, payload_len: int, ident: int,
                ttl: int = 64, dont_fragment: bool = False, fragment_offset: int = 0,
                more_fragments: bool = False) -> bytes:
    """IPv4 header without options, checksum filled in. ``fragment_offset`` in bytes
    (a multiple of 8)."""
    flags = (0x4000 if dont_fragment else 0) | (0x2000 if more_fragments else 0)
    total_len = IPV4_HEADER_LEN + payload_len
    ident &= 0xFFFF
    flags_offset = flags | (fragment_offset >> 3)
    # The checksum from the header's words directly: no second pack on the hot path.
    words = (0x4500 + total_len + ident + flags_offset + (ttl << 8 | protocol)
             + partial_sum(src) + partial_sum(dst))
    return _IPV4.pack(0x45, 0, total_len, ident, flags_offset, ttl, protocol, finish(words),
                      src, dst)


def ipv6_header(src: bytes, dst: bytes, next_header: int, payload_len: int,
                hop_limit: int = 64, flow_label: int = 0) -> bytes:
    """IPv6 fixed header."""
    return _IPV6.pack((6 << 28) | (flow_label & 0xFFFFF), payload_len, next_header,
                      hop_limit, src, dst)


def ipv6_fragment_header(next_header: int, fragment_offset: int, more_fragments: bool,
                         ident: int) -> bytes:
    """IPv6 Fragment extension header (RFC 8200 4.5); offset in bytes, a multiple of 8."""
    return _IPV6_FRAGMENT.pack(next_header, 0,
                               (fragment_offset & 0xFFF8) | (1 if more_fragments else 0),
                               ident & 0xFFFFFFFF)


def fragment_sizes(total: int, max_fragment: int) -> list[int]:
    """Lengths of the pieces a payload of ``total`` bytes is cut into when each fragment
    may carry at most ``max_fragment`` bytes: all but the last a multiple of 8."""
    step = max(8, max_fragment - max_fragment % 8)
    sizes = [step] * (total // step)
    if total % step:
        sizes.append(total % step)
    return sizes or [0]


# ---- transport ------------------------------------------------------------------------------


def pseudo_header_sum(src: bytes, dst: bytes, protocol: int, length: int) -> int:
    """Partial checksum of the TCP/UDP pseudo-header (RFC 793 / RFC 8200 8.1). The
    length and protocol words add the same way for IPv4 and IPv6."""
    return partial_sum(src + dst) + protocol + (length >> 16) + (length & 0xFFFF)


def tcp_segment(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int,
                flags: int, window: int, payload: bytes | memoryview = b"",
                options: bytes = b"", addresses_sum: int | None = None) -> bytes:
    """A TCP header (with ``options``, padded to 32 bits) plus payload, checksum filled.

    ``addresses_sum`` is ``partial_sum(src + dst)`` when the caller keeps it per flow
    (it is the same for every segment of a direction).
    """
    if len(options) % 4:
        options += b"\x01" * (4 - len(options) % 4)  # NOP padding
    header_len = TCP_HEADER_LEN + len(options)
    seq &= 0xFFFFFFFF
    ack &= 0xFFFFFFFF
    offset_flags = (header_len // 4) << 12 | flags
    length = header_len + len(payload)
    if addresses_sum is None:
        addresses_sum = partial_sum(src + dst)
    # Header words summed arithmetically, the payload through partial_sum: the header is
    # packed once, with its checksum, and joined with the payload in one copy.
    total = (addresses_sum + IPPROTO_TCP + length + sport + dport + (seq >> 16)
             + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF) + offset_flags + window
             + partial_sum(options) + partial_sum(payload))
    header = _TCP.pack(sport, dport, seq, ack, offset_flags >> 8, flags, window,
                       finish(total), 0)
    return b"".join((header, options, payload))


def udp_datagram(src: bytes, dst: bytes, sport: int, dport: int,
                 payload: bytes | memoryview) -> bytes:
    """A UDP header plus payload with the checksum filled in (mandatory over IPv6, and
    computed over IPv4 too so tshark's checksum validation stays quiet)."""
    length = UDP_HEADER_LEN + len(payload)
    datagram = bytearray(_UDP.pack(sport, dport, length, 0))
    datagram += payload
    total = pseudo_header_sum(src, dst, IPPROTO_UDP, length) + partial_sum(datagram)
    value = finish(total) or 0xFFFF  # 0 means "no checksum" in UDP: send all ones
    datagram[6:8] = value.to_bytes(2, "big")
    return bytes(datagram)


def tcp_syn_options(mss: int) -> bytes:
    """Options of a SYN: MSS and SACK-permitted, as a plain Linux stack would (without
    timestamps and window scaling, which would only add noise to every segment)."""
    return struct.pack("!BBH", 2, 4, mss) + b"\x01\x01\x04\x02"
