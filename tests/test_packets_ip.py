"""IPv4 and IPv6: options, padding, lengths cut by snaplen, extension headers, malformed
headers as notes, and address formatting."""

from __future__ import annotations

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_RR
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.ipsec import AH, ESP
from scapy.layers.l2 import Ether
from scapy.packet import Packet as ScapyPacket

from cvipsniff.model import LINKTYPE_ETHERNET, LINKTYPE_RAW, Frame, Packet
from cvipsniff.packets import PacketDecoder, format_address


def eth(**fields: object) -> ScapyPacket:
    """Ethernet with explicit MACs: scapy would otherwise resolve them (ARP, slow)."""
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", **fields)


V6_SRC, V6_DST = "2001:db8::10", "2001:db8:0:1::20"


def frame(data: bytes | ScapyPacket, *, linktype: int = LINKTYPE_ETHERNET,
          snaplen: int | None = None, number: int = 1) -> Frame:
    raw = bytes(data)
    captured = raw if snaplen is None else raw[:snaplen]
    return Frame(number, 0, len(captured), len(raw), linktype, captured)


def decode_clean(data: bytes | ScapyPacket, **kwargs) -> Packet | None:
    decoder = PacketDecoder()
    packet = decoder.decode(frame(data, **kwargs))
    assert decoder.notes == []
    return packet


def decode_noted(data: bytes | ScapyPacket, *fragments: str, **kwargs) -> Packet | None:
    """Decode and check the one note says ip.malformed and mentions ``fragments``."""
    decoder = PacketDecoder()
    packet = decoder.decode(frame(data, **kwargs))
    assert [n.kind for n in decoder.notes] == ["ip.malformed"], decoder.notes
    for text in fragments:
        assert text in decoder.notes[0].message
    return packet


# ---- IPv4 ---------------------------------------------------------------------------


def test_ipv4_options_are_skipped() -> None:
    packet = decode_clean(eth() / IP(options=[IPOption_RR(routers=["10.0.0.1"] * 3)])
                          / UDP(sport=1, dport=2) / b"after options")
    assert packet is not None and packet.payload == b"after options"


def test_ethernet_padding_is_trimmed_by_total_length() -> None:
    raw = bytes(eth() / IP() / UDP(sport=9990, dport=9990) / b"tiny") + b"\xee" * 14
    packet = decode_clean(raw)
    assert packet is not None and (packet.payload, packet.missing) == (b"tiny", 0)


def test_tcp_payload_cut_by_snaplen_counts_missing() -> None:
    full = eth() / IP() / TCP() / (b"A" * 1000)
    packet = decode_clean(full, snaplen=100)
    assert packet is not None
    assert packet.payload == b"A" * (100 - 54)
    assert packet.missing == 1000 - (100 - 54)
    assert len(packet.payload) + packet.missing == 1000


def test_udp_payload_cut_by_snaplen_counts_missing() -> None:
    packet = decode_clean(eth() / IP() / UDP() / (b"B" * 300), snaplen=64)
    assert packet is not None and (len(packet.payload), packet.missing) == (22, 278)


def test_total_length_zero_means_segmentation_offload() -> None:
    raw = bytearray(bytes(eth() / IP() / TCP() / b"offloaded segment"))
    raw[16:18] = b"\x00\x00"
    packet = decode_clean(bytes(raw))
    assert packet is not None and packet.payload == b"offloaded segment"


def test_total_length_beyond_an_uncut_frame_is_noted_and_counted_missing() -> None:
    raw = bytearray(bytes(eth() / IP() / TCP() / b"short"))
    raw[16:18] = (len(raw) - 14 + 50).to_bytes(2, "big")
    packet = decode_noted(bytes(raw), "announces 50 more bytes")
    assert packet is not None and (packet.payload, packet.missing) == (b"short", 50)


@pytest.mark.parametrize(
    ("offset", "value", "text"),
    [(14, 0x44, "header length 16"), (14, 0x65, "IP version 6"),
     (16, 0x0000_0013 >> 0, "total length 19")],
)
def test_malformed_ipv4_headers(offset: int, value: int, text: str) -> None:
    raw = bytearray(bytes(eth() / IP() / UDP() / b"x"))
    if offset == 16:
        raw[16:18] = value.to_bytes(2, "big")
    else:
        raw[offset] = value
    assert decode_noted(bytes(raw), text) is None


def test_ipv4_header_cut_short() -> None:
    assert decode_noted(bytes(eth() / IP())[:30], "IPv4 header cut short") is None


def test_ipv4_options_cut_short() -> None:
    raw = bytes(eth() / IP(options=[IPOption_RR()]) / UDP())
    assert decode_noted(raw[:36], "options cut short") is None


def test_other_ip_protocols_are_ignored_silently() -> None:
    assert decode_clean(eth() / IP() / ICMP() / b"echo") is None
    assert decode_clean(eth() / IP(proto=47) / b"gre...") is None


# ---- IPv6 ---------------------------------------------------------------------------


def v6(*layers: ScapyPacket) -> ScapyPacket:
    packet = eth() / IPv6(src=V6_SRC, dst=V6_DST)
    for layer in layers:
        packet = packet / layer
    return packet


def test_ipv6_extension_header_chain() -> None:
    packet = decode_clean(v6(IPv6ExtHdrHopByHop(), IPv6ExtHdrRouting(addresses=["2001:db8::99"]),
                             IPv6ExtHdrDestOpt(), TCP(sport=1, dport=7563), b"through"))
    assert packet is not None
    assert (packet.transport, packet.dport, packet.payload) == (6, 7563, b"through")
    assert packet.src == bytes.fromhex("20010db8000000000000000000000010")


def test_ipv6_authentication_header() -> None:
    # scapy leaves the AH length at 0: 4 means (4 + 2) * 4 = 24 bytes with a 12-byte ICV.
    authentication = AH(spi=1, icv=b"\x00" * 12, nh=17, payloadlen=4)
    packet = decode_clean(v6(authentication, UDP(dport=9990), b"signed"))
    assert packet is not None and (packet.transport, packet.payload) == (17, b"signed")


def test_ipv6_atomic_fragment_is_not_reassembled() -> None:
    packet = decode_clean(v6(IPv6ExtHdrFragment(offset=0, m=0, id=5), UDP(), b"atomic"))
    assert packet is not None and packet.payload == b"atomic" and packet.frames == ()


@pytest.mark.parametrize("tail", [ESP(spi=7) / b"encrypted", ICMPv6EchoRequest()],
                         ids=["esp", "icmpv6"])
def test_ipv6_without_tcp_or_udp_is_ignored(tail: ScapyPacket) -> None:
    assert decode_clean(v6(IPv6ExtHdrDestOpt(), tail)) is None


def test_ipv6_no_next_header_is_ignored() -> None:
    assert decode_clean(v6(IPv6ExtHdrDestOpt(nh=59), b"")) is None


def test_ipv6_payload_cut_by_snaplen() -> None:
    packet = decode_clean(v6(UDP(), b"C" * 500), snaplen=14 + 40 + 8 + 100)
    assert packet is not None and (len(packet.payload), packet.missing) == (100, 400)


def test_ipv6_extension_header_running_past_the_packet() -> None:
    raw = bytearray(bytes(v6(IPv6ExtHdrDestOpt(), UDP(), b"x")))
    raw[14 + 41] = 200  # header extension length: 1608 bytes
    assert decode_noted(bytes(raw), "runs past the end") is None


def test_ipv6_header_cut_short_and_wrong_version() -> None:
    assert decode_noted(bytes(v6(UDP()))[:40], "IPv6 header cut short") is None
    raw = bytearray(bytes(v6(UDP())))
    raw[14] = 0x40
    assert decode_noted(bytes(raw), "IP version 4 in an IPv6") is None


def test_ipv6_raw_linktype() -> None:
    packet = decode_clean(IPv6(src=V6_SRC, dst=V6_DST) / UDP(dport=9990) / b"raw",
                          linktype=LINKTYPE_RAW)
    assert packet is not None and packet.payload == b"raw"


# ---- addresses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (bytes([192, 168, 0, 255]), "192.168.0.255"),
        (bytes.fromhex("20010db8000000000000000000000001"), "2001:db8::1"),
        (bytes.fromhex("20010db8000000010000000000000000"), "2001:db8:0:1::"),
        (bytes(16), "::"),
        (bytes.fromhex("00000000000000000000ffff0a000001"), "::ffff:10.0.0.1"),
        (bytes.fromhex("fe800000000000000000000000000001"), "fe80::1"),
    ],
)
def test_format_address(raw: bytes, text: str) -> None:
    assert format_address(raw) == text


def test_format_address_rejects_other_lengths() -> None:
    with pytest.raises(ValueError, match="5 bytes"):
        format_address(b"12345")
