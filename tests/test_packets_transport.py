"""TCP and UDP: header fields, options skipped by data offset, lengths, snaplen cuts,
malformed headers as notes."""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet as ScapyPacket

from cvipsniff.model import ACK, FIN, LINKTYPE_ETHERNET, PSH, RST, SYN, URG, Frame, Packet
from cvipsniff.packets import PacketDecoder

ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
IPV4 = IP(src="10.0.0.1", dst="10.0.0.2")


def frame(data: bytes | ScapyPacket, snaplen: int | None = None) -> Frame:
    raw = bytes(data)
    captured = raw if snaplen is None else raw[:snaplen]
    return Frame(1, 0, len(captured), len(raw), LINKTYPE_ETHERNET, captured)


def decode(data: bytes | ScapyPacket, snaplen: int | None = None, notes: int = 0
           ) -> Packet | None:
    decoder = PacketDecoder()
    packet = decoder.decode(frame(data, snaplen))
    assert len(decoder.notes) == notes, decoder.notes
    assert all(n.kind == "ip.malformed" for n in decoder.notes)
    return packet


def test_tcp_header_fields() -> None:
    packet = decode(ETH / IPV4 / TCP(sport=65535, dport=7563, seq=0xFFFFFFFF, ack=0x80000001,
                                     flags="FSRPAU", window=65535, urgptr=3) / b"data")
    assert packet is not None
    assert (packet.sport, packet.dport, packet.seq, packet.ack, packet.window) == (
        65535, 7563, 0xFFFFFFFF, 0x80000001, 65535)
    assert packet.flags == FIN | SYN | RST | PSH | ACK | URG
    assert packet.payload == b"data"


def test_tcp_ece_cwr_and_ns_flags_are_kept() -> None:
    raw = bytearray(bytes(ETH / IPV4 / TCP(flags="SEC")))
    raw[14 + 20 + 12] |= 0x01  # NS (nonce sum) bit, low bit of the data offset byte
    packet = decode(bytes(raw))
    assert packet is not None and packet.flags == SYN | 0x40 | 0x80 | 0x100


def test_tcp_options_are_skipped_by_data_offset() -> None:
    options = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 2)), ("WScale", 7)]
    packet = decode(ETH / IPV4 / TCP(options=options) / b"\x00\x00\x00\x28<?xml")
    assert packet is not None and packet.payload == b"\x00\x00\x00\x28<?xml"


def test_pure_ack_has_empty_payload() -> None:
    packet = decode(ETH / IPV4 / TCP(flags="A"))
    assert packet is not None and (packet.payload, packet.missing) == (b"", 0)


def test_tcp_data_offset_below_20_is_malformed() -> None:
    assert decode(ETH / IPV4 / TCP(dataofs=4) / (b"x" * 10), notes=1) is None


def test_tcp_data_offset_beyond_the_segment_is_malformed() -> None:
    assert decode(ETH / IPV4 / TCP(dataofs=15) / b"x", notes=1) is None


def test_tcp_segment_shorter_than_a_header_is_malformed() -> None:
    raw = bytearray(bytes(ETH / IPV4 / UDP()))  # 8 bytes of "TCP"
    raw[14 + 9] = 6
    assert decode(bytes(raw), notes=1) is None


def test_tcp_options_cut_by_snaplen() -> None:
    full = ETH / IPV4 / TCP(options=[("Timestamp", (1, 2))] * 3) / (b"p" * 100)
    packet = decode(full, snaplen=14 + 20 + 24)  # 24 of the TCP header's 56 bytes
    assert packet is not None and packet.seq == 0
    assert (packet.payload, packet.missing) == (b"", 100)


def test_tcp_header_not_captured_at_all() -> None:
    decoder = PacketDecoder()
    assert decoder.decode(frame(ETH / IPV4 / TCP() / (b"x" * 50), snaplen=14 + 20 + 10)) is None
    assert "not captured (snaplen)" in decoder.notes[0].message


def test_udp_fields_and_payload() -> None:
    packet = decode(ETH / IPV4 / UDP(sport=40001, dport=9990) / b"\x02\x01ping")
    assert packet is not None
    assert (packet.transport, packet.sport, packet.dport, packet.payload) == (
        17, 40001, 9990, b"\x02\x01ping")
    assert (packet.seq, packet.ack, packet.flags, packet.window) == (0, 0, 0, 0)


def test_udp_length_shorter_than_ip_payload_trims() -> None:
    packet = decode(ETH / IPV4 / UDP(len=8 + 4) / b"keepDROP")
    assert packet is not None and (packet.payload, packet.missing) == (b"keep", 0)


def test_udp_length_trims_even_when_snaplen_cut() -> None:
    packet = decode(ETH / IPV4 / UDP(len=8 + 300) / (b"k" * 300 + b"padding"), snaplen=100)
    assert packet is not None
    assert (len(packet.payload), packet.missing) == (100 - 42, 300 - (100 - 42))


@pytest.mark.parametrize(("length", "text"), [(8 + 100, "exceeds"), (5, "below 8")])
def test_udp_length_inconsistent_is_noted_and_ip_length_used(length: int, text: str) -> None:
    decoder = PacketDecoder()
    packet = decoder.decode(frame(ETH / IPV4 / UDP(len=length) / b"abc"))
    assert packet is not None and packet.payload == b"abc"
    assert text in decoder.notes[0].message


def test_udp_zero_length_uses_ip_length() -> None:
    packet = decode(ETH / IPV4 / UDP(len=0) / b"jumbo-ish")
    assert packet is not None and packet.payload == b"jumbo-ish"


def test_udp_header_cut_short_is_malformed() -> None:
    raw = bytearray(bytes(ETH / IPV4 / TCP()))[: 14 + 20 + 4]
    raw[14 + 9] = 17
    raw[16:18] = (24).to_bytes(2, "big")
    assert decode(bytes(raw), notes=1) is None
