"""Link layers: every link type the decoder knows gets to the same TCP/UDP packet;
VLAN stacks are recorded; unknown link types give one note per interface/link type."""

from __future__ import annotations

import struct

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, LLC, SNAP, CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Dot3, Ether
from scapy.packet import Packet as ScapyPacket

from cvipsniff.model import (
    LINKTYPE_ETHERNET,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    LINKTYPE_LOOP,
    LINKTYPE_NULL,
    LINKTYPE_RAW,
    Frame,
    Packet,
)
from cvipsniff.packets import SUPPORTED_LINKTYPES, PacketDecoder


def eth(**fields: object) -> ScapyPacket:
    """Ethernet with explicit MACs: scapy would otherwise resolve them (ARP, slow)."""
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", **fields)


def dot3(**fields: object) -> ScapyPacket:
    return Dot3(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", **fields)


V4 = IP(src="192.0.2.1", dst="198.51.100.7") / TCP(sport=40000, dport=7110, seq=1000,
                                                    ack=2000, flags="PA", window=512)
V6 = IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=5000, dport=9990)
PAYLOAD = b"\x02\x01 payload"


def frame(data: bytes | ScapyPacket, linktype: int = LINKTYPE_ETHERNET, number: int = 1,
          interface: int = 0) -> Frame:
    raw = bytes(data)
    return Frame(number, 1_000_000 * number, len(raw), len(raw), linktype, raw, interface)


def decode(data: bytes | ScapyPacket, linktype: int = LINKTYPE_ETHERNET) -> Packet | None:
    decoder = PacketDecoder()
    packet = decoder.decode(frame(data, linktype))
    assert decoder.notes == []
    return packet


def assert_v4(packet: Packet | None, vlans: tuple[int, ...] = ()) -> None:
    assert packet is not None
    assert (packet.ip_version, packet.src, packet.dst) == (
        4, bytes([192, 0, 2, 1]), bytes([198, 51, 100, 7]))
    assert (packet.transport, packet.sport, packet.dport, packet.seq, packet.ack) == (
        6, 40000, 7110, 1000, 2000)
    assert (packet.flags, packet.window, packet.payload, packet.missing) == (
        0x18, 512, PAYLOAD, 0)
    assert packet.vlans == vlans and packet.frames == ()


def assert_v6(packet: Packet | None, vlans: tuple[int, ...] = ()) -> None:
    assert packet is not None
    assert packet.ip_version == 6
    assert packet.src == bytes.fromhex("20010db8000000000000000000000001")
    assert packet.dst == bytes.fromhex("20010db8000000000000000000000002")
    assert (packet.transport, packet.sport, packet.dport, packet.payload) == (
        17, 5000, 9990, PAYLOAD)
    assert packet.vlans == vlans


def test_supported_linktypes() -> None:
    assert {LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_NULL,
            LINKTYPE_LOOP, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2} == SUPPORTED_LINKTYPES


def test_ethernet_ipv4_and_ipv6() -> None:
    assert_v4(decode(eth() / V4 / PAYLOAD))
    assert_v6(decode(eth() / V6 / PAYLOAD))


def test_frame_number_and_time_come_from_the_frame() -> None:
    packet = PacketDecoder().decode(frame(eth() / V4 / PAYLOAD, number=42))
    assert packet is not None and (packet.frame, packet.ts_ns) == (42, 42_000_000)


def test_single_vlan_tag() -> None:
    assert_v4(decode(eth() / Dot1Q(vlan=10) / V4 / PAYLOAD), vlans=(10,))


def test_qinq_and_deeper_stacks_outermost_first() -> None:
    assert_v4(decode(eth() / Dot1AD(vlan=100) / Dot1Q(vlan=200) / V4 / PAYLOAD), (100, 200))
    assert_v6(decode(eth() / Dot1Q(vlan=1, prio=5) / Dot1Q(vlan=4094) / Dot1Q(vlan=3)
                     / V6 / PAYLOAD), (1, 4094, 3))
    raw = bytes(eth(type=0x9100) / Dot1Q(vlan=7) / V4 / PAYLOAD)  # pre-standard QinQ TPID
    assert_v4(decode(raw), (7,))


def test_too_many_vlan_tags_is_malformed() -> None:
    layers = eth()
    for vid in range(9):
        layers = layers / Dot1Q(vlan=vid)
    decoder = PacketDecoder()
    assert decoder.decode(frame(layers / V4 / PAYLOAD)) is None
    assert [n.kind for n in decoder.notes] == ["ip.malformed"]


def test_8023_llc_snap() -> None:
    assert_v4(decode(dot3() / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(code=0x0800) / V4
                     / PAYLOAD))


def test_non_ip_ethernet_is_ignored_silently() -> None:
    assert decode(eth() / ARP()) is None
    assert decode(dot3() / LLC(dsap=0x42, ssap=0x42) / b"spanning tree") is None


def test_linux_cooked_v1_and_v2() -> None:
    assert_v4(decode(CookedLinux(proto=0x0800) / V4 / PAYLOAD, LINKTYPE_LINUX_SLL))
    assert_v6(decode(CookedLinux(proto=0x86DD) / V6 / PAYLOAD, LINKTYPE_LINUX_SLL))
    assert_v4(decode(CookedLinuxV2(proto=0x0800) / V4 / PAYLOAD, LINKTYPE_LINUX_SLL2))
    assert_v6(decode(CookedLinuxV2(proto=0x86DD) / V6 / PAYLOAD, LINKTYPE_LINUX_SLL2))


def test_linux_cooked_with_reinserted_vlan_tag() -> None:
    raw = bytes(CookedLinux(proto=0x8100)) + struct.pack("!HH", 33, 0x0800) + bytes(V4 / PAYLOAD)
    assert_v4(decode(raw, LINKTYPE_LINUX_SLL), (33,))


@pytest.mark.parametrize("linktype", [LINKTYPE_NULL, LINKTYPE_LOOP])
@pytest.mark.parametrize("order", ["<", ">"])
def test_bsd_loopback_both_byte_orders(linktype: int, order: str) -> None:
    assert_v4(decode(struct.pack(order + "I", 2) + bytes(V4 / PAYLOAD), linktype))
    for family in (24, 28, 30):
        assert_v6(decode(struct.pack(order + "I", family) + bytes(V6 / PAYLOAD), linktype))


def test_bsd_loopback_other_family_is_ignored() -> None:
    assert decode(struct.pack("<I", 7) + b"appletalk?", LINKTYPE_NULL) is None


def test_raw_ip_linktypes() -> None:
    assert_v4(decode(V4 / PAYLOAD, LINKTYPE_RAW))
    assert_v6(decode(V6 / PAYLOAD, LINKTYPE_RAW))
    assert_v4(decode(V4 / PAYLOAD, LINKTYPE_IPV4))
    assert_v6(decode(V6 / PAYLOAD, LINKTYPE_IPV6))


def test_raw_ip_with_a_bad_version_is_malformed() -> None:
    decoder = PacketDecoder()
    assert decoder.decode(frame(b"\x50" + bytes(39), LINKTYPE_RAW)) is None
    assert decoder.decode(frame(bytes(V6 / PAYLOAD), LINKTYPE_IPV4)) is None
    assert [n.kind for n in decoder.notes] == ["ip.malformed", "ip.malformed"]
    assert "version 5" in decoder.notes[0].message


@pytest.mark.parametrize(
    ("linktype", "size"),
    [(LINKTYPE_ETHERNET, 13), (LINKTYPE_LINUX_SLL, 15), (LINKTYPE_LINUX_SLL2, 19),
     (LINKTYPE_NULL, 3), (LINKTYPE_RAW, 0)],
)
def test_frames_shorter_than_their_link_header(linktype: int, size: int) -> None:
    decoder = PacketDecoder()
    assert decoder.decode(frame(b"\x08" * size, linktype)) is None
    assert [(n.kind, n.frame) for n in decoder.notes] == [("ip.malformed", 1)]


def test_vlan_tag_cut_short_is_malformed() -> None:
    decoder = PacketDecoder()
    assert decoder.decode(frame(bytes(eth(type=0x8100)) + b"\x00")) is None
    assert "VLAN" in decoder.notes[0].message


def test_unknown_linktype_noted_once_per_interface_and_linktype() -> None:
    decoder = PacketDecoder()
    frames = [frame(b"x" * 30, 147, 1), frame(b"y" * 30, 147, 2),
              frame(b"z" * 30, 147, 3, interface=1), frame(b"w" * 30, 195, 4),
              frame(b"v" * 30, 147, 5)]
    assert [decoder.decode(f) for f in frames] == [None] * 5
    assert [(n.kind, n.frame) for n in decoder.notes] == [
        ("capture.unknown_linktype", 1), ("capture.unknown_linktype", 3),
        ("capture.unknown_linktype", 4)]
    assert "link type 147" in decoder.notes[0].message


def test_notes_go_to_the_callback_when_given() -> None:
    seen = []
    decoder = PacketDecoder(on_note=seen.append)
    decoder.decode(frame(b"", 999))
    assert [n.kind for n in seen] == ["capture.unknown_linktype"] and decoder.notes == []
