"""Properties of the decoder over generated input: the fast path agrees with the general
path on every frame (valid, mutated or cut), and no bytes make it raise."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvipsniff.model import LINKTYPE_ETHERNET, Frame
from cvipsniff.packets import SUPPORTED_LINKTYPES, PacketDecoder

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def ethernet_ipv4(draw: st.DrawFn) -> bytes:
    """Ethernet + IPv4 (maybe with options, maybe a fragment) + TCP or UDP + payload +
    maybe padding — lengths consistent, so the mutations below decide what breaks."""
    payload = draw(st.binary(min_size=draw(st.sampled_from([0, 16])), max_size=64))
    protocol = draw(st.sampled_from([6, 17, 1]))
    if protocol == 6:
        option_words = draw(st.integers(0, 10))
        transport = struct.pack(
            "!HHIIBBHHH", draw(st.integers(0, 65535)), draw(st.integers(0, 65535)),
            draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1)),
            (5 + option_words) << 4 | draw(st.integers(0, 1)), draw(st.integers(0, 255)),
            draw(st.integers(0, 65535)), 0, 0) + b"\x01" * (4 * option_words)
    else:
        transport = struct.pack("!HHHH", draw(st.integers(0, 65535)),
                                draw(st.integers(0, 65535)), 8 + len(payload), 0)
    options = b"\x01" * (4 * draw(st.sampled_from([0, 0, 0, 1, 3])))
    fragment = draw(st.sampled_from([0, 0, 0x4000, 0x2000, 0x0001, 0x2003]))
    total = 20 + len(options) + len(transport) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | (5 + len(options) // 4), 0, total,
                     draw(st.integers(0, 65535)), fragment, 64, protocol, 0,
                     draw(st.binary(min_size=4, max_size=4)),
                     draw(st.binary(min_size=4, max_size=4)))
    ethertype = draw(st.sampled_from([0x0800, 0x0800, 0x0800, 0x0800, 0x86DD, 0x8100]))
    padding = b"\0" * draw(st.sampled_from([0, 0, 6, 20]))
    return bytes(12) + struct.pack("!H", ethertype) + ip + options + transport + payload + padding


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, int]:
    """A frame and its original length: intact, a byte changed, or cut (snaplen)."""
    data = draw(ethernet_ipv4())
    origlen = len(data)
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if draw(st.sampled_from([False, False, True])):
        data = data[: draw(st.integers(0, len(data)))]
        if draw(st.booleans()):
            origlen = len(data)  # a frame that is short on the wire, not cut
    return data, origlen


def tcp_frame(payload: bytes, padding: bytes = b"", ns: int = 0, options: int = 0) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", 40000, 7110, 0xFEDCBA98, 0x01234567,
                      (5 + options) << 4 | ns, 0x18, 4096, 0, 0) + b"\x01" * (4 * options)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0x4000, 64,
                     6, 0, b"\x0a\0\0\x01", b"\x0a\0\0\x02")
    return bytes(12) + b"\x08\x00" + ip + tcp + payload + padding


def udp_frame(payload: bytes, padding: bytes = b"") -> bytes:
    udp = struct.pack("!HHHH", 9990, 9990, 8 + len(payload), 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), 1, 0, 64, 17, 0,
                     b"\x0a\0\0\x01", b"\xff\xff\xff\xff")
    return bytes(12) + b"\x08\x00" + ip + udp + payload + padding


@pytest.mark.parametrize("data", [
    tcp_frame(b""), tcp_frame(b"", padding=bytes(6)), tcp_frame(b"x" * 1448, ns=1),
    tcp_frame(b"opts", options=3), udp_frame(b"p" * 16), udp_frame(b"p" * 12, bytes(6)),
    udp_frame(b"q" * 1472),
], ids=["ack", "ack-padded", "full-ns", "options", "udp", "udp-padded", "udp-full"])
def test_common_frames_take_the_fast_path_with_the_general_result(
        data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = Frame(3, 99, len(data), len(data), LINKTYPE_ETHERNET, data)
    expected = PacketDecoder().decode_general(frame)
    assert expected is not None
    fast = PacketDecoder()

    def not_expected(_frame: Frame) -> None:
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(fast, "decode_general", not_expected)
    assert fast.decode(frame) == expected


@SETTINGS
@given(mutated())
def test_fast_path_agrees_with_the_general_path(case: tuple[bytes, int]) -> None:
    data, origlen = case
    frame = Frame(7, 123, len(data), origlen, LINKTYPE_ETHERNET, data)
    fast, general = PacketDecoder(), PacketDecoder()
    assert fast.decode(frame) == general.decode_general(frame)
    assert fast.notes == general.notes
    assert all(n.severity != "error" for n in fast.notes), fast.notes


@SETTINGS
@given(st.sampled_from(sorted(SUPPORTED_LINKTYPES)), st.binary(max_size=120),
       st.integers(0, 2000))
def test_random_bytes_never_raise(linktype: int, data: bytes, extra: int) -> None:
    decoder = PacketDecoder()
    frame = Frame(1, 0, len(data), len(data) + extra, linktype, data)
    packet = decoder.decode(frame)
    decoder.flush()
    if packet is not None:
        assert packet.transport in (6, 17) and packet.frame == 1
        assert len(packet.src) == len(packet.dst) == (4 if packet.ip_version == 4 else 16)
    # Decoder bugs would show up as error-severity notes ("packet decoder error").
    assert all(n.severity != "error" for n in decoder.notes), decoder.notes


@SETTINGS
@given(st.lists(mutated(), min_size=1, max_size=12))
def test_streams_of_mutated_fragments_never_raise(cases: list[tuple[bytes, int]]) -> None:
    decoder = PacketDecoder(max_fragment_datagrams=4, max_fragment_bytes=4096)
    for number, (data, origlen) in enumerate(cases, 1):
        decoder.decode(Frame(number, number, len(data), origlen, LINKTYPE_ETHERNET, data))
    decoder.flush()
    assert decoder.pending_fragments == 0
    assert all(n.severity != "error" for n in decoder.notes), decoder.notes
