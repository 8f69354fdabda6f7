"""The synthesizer's struct-built headers, checked against RFC 1071 and scapy's parser."""

from __future__ import annotations

import ipaddress
import struct

from hypothesis import assume, given
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether

from cvipsniff.sim.synth import layers
from cvipsniff.sim.synth.checksum import checksum, finish, partial_sum

A4 = ipaddress.ip_address("10.0.0.1").packed
B4 = ipaddress.ip_address("10.0.0.2").packed
A6 = ipaddress.ip_address("2001:db8::1").packed
B6 = ipaddress.ip_address("2001:db8::2").packed


def rfc1071(data: bytes) -> int:
    """The textbook loop: 16-bit words, end-around carry, complement."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@given(st.binary(min_size=1, max_size=3000))
def test_checksum_matches_the_rfc_1071_loop(data: bytes) -> None:
    assume(any(data))  # all-zero data: the one case finish() documents as out of scope
    assert checksum(data) == rfc1071(data)


@given(st.binary(min_size=0, max_size=200).map(lambda b: b + b"\x01"),
       st.binary(max_size=200))
def test_partial_sums_of_even_pieces_add_up(head: bytes, tail: bytes) -> None:
    if len(head) % 2:
        head += b"\x07"
    assert finish(partial_sum(head) + partial_sum(tail)) == rfc1071(head + tail)


def test_ipv4_header_has_a_valid_checksum_and_fields() -> None:
    header = layers.ipv4_header(A4, B4, layers.IPPROTO_TCP, 100, ident=0x1234, ttl=64,
                                dont_fragment=True)
    assert rfc1071(header) == 0
    parsed = IP(header + b"\0" * 100)
    assert (parsed.src, parsed.dst, parsed.len, parsed.id, parsed.ttl) == (
        "10.0.0.1", "10.0.0.2", 120, 0x1234, 64)
    assert parsed.flags == "DF"


def test_tcp_segment_checksum_verifies_over_ipv4_and_ipv6() -> None:
    payload = b"hello, camera" * 11
    for src, dst, ip_layer in ((A4, B4, IP), (A6, B6, IPv6)):
        seg = layers.tcp_segment(src, dst, 50000, 7110, 0xFFFFFFF0, 77,
                                 layers.TCP_FLAG_ACK | layers.TCP_FLAG_PSH, 65535, payload)
        if ip_layer is IP:
            wire = layers.ipv4_header(src, dst, 6, len(seg), 1) + seg
        else:
            wire = layers.ipv6_header(src, dst, 6, len(seg)) + seg
        parsed = ip_layer(wire)
        got = parsed[TCP].chksum
        del parsed[TCP].chksum
        assert ip_layer(bytes(parsed))[TCP].chksum == got
        assert parsed[TCP].seq == 0xFFFFFFF0
        assert bytes(parsed[TCP].payload) == payload


def test_syn_options_are_mss_and_sack_permitted() -> None:
    seg = layers.tcp_segment(A4, B4, 1, 2, 0, 0, layers.TCP_FLAG_SYN, 65535,
                             options=layers.tcp_syn_options(1448))
    options = dict(TCP(seg).options)
    assert options["MSS"] == 1448
    assert "SAckOK" in options


def test_udp_checksum_verifies_and_is_never_zero() -> None:
    for payload in (b"P" * 16, b"", b"\x00\x01" * 5):
        seg = layers.udp_datagram(A4, B4, 50001, 9990, payload)
        parsed = IP(layers.ipv4_header(A4, B4, 17, len(seg), 9) + seg)
        got = parsed[UDP].chksum
        assert got != 0
        del parsed[UDP].chksum
        assert IP(bytes(parsed))[UDP].chksum == got


def test_ethernet_with_stacked_vlans() -> None:
    frame = layers.ethernet(b"\x02" * 6, b"\x04" * 6, layers.ETHERTYPE_IPV4, (300, 100))
    parsed = Ether(frame + layers.ipv4_header(A4, B4, 17, 0, 1))
    assert parsed[Ether].type == layers.ETHERTYPE_QINQ
    assert parsed[Dot1AD].vlan == 300
    assert parsed[Dot1Q].vlan == 100
    assert parsed[IP].dst == "10.0.0.2"


def test_linux_cooked_headers() -> None:
    ip = layers.ipv4_header(A4, B4, 17, 0, 1)
    v1 = CookedLinux(layers.linux_sll(layers.SLL_OUTGOING, layers.mac_for(A4),
                                      layers.ETHERTYPE_IPV4) + ip)
    assert v1.pkttype == layers.SLL_OUTGOING and v1.proto == layers.ETHERTYPE_IPV4
    assert v1[IP].src == "10.0.0.1"
    v2 = CookedLinuxV2(layers.linux_sll2(layers.SLL_HOST, layers.mac_for(A4),
                                         layers.ETHERTYPE_IPV4) + ip)
    assert v2.proto == layers.ETHERTYPE_IPV4 and v2.pkttype == layers.SLL_HOST
    assert v2[IP].src == "10.0.0.1"
    assert len(layers.linux_sll(0, b"\0" * 6, 0x800)) == layers.SLL_HEADER_LEN
    assert len(layers.linux_sll2(0, b"\0" * 6, 0x800)) == layers.SLL2_HEADER_LEN


def test_fragment_sizes_are_multiples_of_eight_except_the_last() -> None:
    sizes = layers.fragment_sizes(1468, 556)
    assert sum(sizes) == 1468
    assert all(size % 8 == 0 for size in sizes[:-1])
    assert max(sizes) <= 556
    assert layers.fragment_sizes(0, 556) == [0]


def test_ipv6_fragment_header() -> None:
    header = layers.ipv6_fragment_header(6, 1232, True, 0xDEADBEEF)
    parsed = IPv6ExtHdrFragment(header)
    assert (parsed.nh, parsed.offset, parsed.m, parsed.id) == (6, 1232 // 8, 1, 0xDEADBEEF)


def test_group_addresses_map_to_group_macs() -> None:
    assert layers.mac_for(ipaddress.ip_address("255.255.255.255").packed) == b"\xff" * 6
    assert layers.mac_for(ipaddress.ip_address("239.1.2.3").packed) == bytes.fromhex(
        "01005e010203")
    assert layers.mac_for(ipaddress.ip_address("ff02::1").packed) == bytes.fromhex(
        "333300000001")
    assert layers.mac_for(A4) == b"\x02\x00" + A4
    assert layers.is_group_address(ipaddress.ip_address("239.1.2.3").packed)
    assert not layers.is_group_address(A4)


def test_ipv6_stand_ins_keep_the_ipv4_bits() -> None:
    assert layers.ipv6_for("10.0.0.5") == "2001:db8::a00:5"
    assert layers.ipv6_for("255.255.255.255") == "ff02::1"
    assert layers.ipv6_for("239.255.0.1") == "ff05::efff:1"
    assert layers.ipv6_for("2001:db8::7") == "2001:db8::7"
