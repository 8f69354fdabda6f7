"""IP fragment reassembly through the decoder: order, keys, overlaps, incomplete
datagrams (flush, timeout), caps, and fragments cut by snaplen."""

from __future__ import annotations

import itertools

from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Ether
from scapy.packet import Packet as ScapyPacket

from cvipsniff.model import LINKTYPE_ETHERNET, LINKTYPE_RAW, Frame, Packet
from cvipsniff.packets import PacketDecoder

SECOND = 1_000_000_000
BIG = bytes(range(256)) * 12  # 3072 bytes: three fragments at 1480
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def v4_fragments(payload: bytes = BIG, *, ident: int = 0x1C46, src: str = "10.0.0.1",
                 size: int = 1480, transport: ScapyPacket | None = None) -> list[bytes]:
    datagram = IP(src=src, dst="10.0.0.2", id=ident) / (transport or UDP(sport=7, dport=9990))
    return [bytes(ETH / part) for part in fragment(datagram / payload, fragsize=size)]


def v6_fragments(payload: bytes = BIG, *, ident: int = 99, extra: ScapyPacket | None = None
                 ) -> list[bytes]:
    head = IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(id=ident)
    if extra is not None:
        head = head / extra
    return [bytes(ETH / part) for part in fragment6(head / UDP(dport=9990) / payload, 1280)]


def frames_of(raws: list[bytes], start: int = 1, step_ns: int = 1000) -> list[Frame]:
    return [Frame(start + i, (start + i) * step_ns, len(raw), len(raw), LINKTYPE_ETHERNET, raw)
            for i, raw in enumerate(raws)]


def decode_all(decoder: PacketDecoder, frames: list[Frame]) -> list[Packet]:
    return [p for p in map(decoder.decode, frames) if p is not None]


def test_ipv4_in_order() -> None:
    decoder = PacketDecoder()
    frames = frames_of(v4_fragments())
    assert len(frames) == 3
    results = [decoder.decode(f) for f in frames]
    assert results[:2] == [None, None]
    packet = results[2]
    assert packet is not None
    assert (packet.payload, packet.missing, packet.dport) == (BIG, 0, 9990)
    assert (packet.frame, packet.ts_ns, packet.frames) == (3, 3000, (1, 2, 3))
    assert decoder.notes == [] and decoder.pending_fragments == 0


def test_ipv4_every_order_gives_the_same_datagram() -> None:
    raws = v4_fragments()
    for order in itertools.permutations(range(3)):
        decoder = PacketDecoder()
        frames = frames_of([raws[i] for i in order], start=10)
        (packet,) = decode_all(decoder, frames)
        assert packet.payload == BIG
        assert packet.frame == 12 and packet.frames == (10, 11, 12)
        assert decoder.notes == []


def test_ipv4_tcp_over_fragments() -> None:
    raws = v4_fragments(transport=TCP(sport=40000, dport=7110, seq=77, flags="PA"))
    (packet,) = decode_all(PacketDecoder(), frames_of(raws[::-1]))
    assert (packet.transport, packet.seq, packet.flags, packet.payload) == (6, 77, 0x18, BIG)


def test_ipv6_in_and_out_of_order() -> None:
    raws = v6_fragments()
    assert len(raws) == 3
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        decoder = PacketDecoder()
        (packet,) = decode_all(decoder, frames_of([raws[i] for i in order]))
        assert (packet.ip_version, packet.payload, packet.frames) == (6, BIG, (1, 2, 3))
        assert decoder.notes == []


def test_ipv6_extension_header_inside_the_fragmentable_part() -> None:
    raws = v6_fragments(extra=IPv6ExtHdrDestOpt())
    (packet,) = decode_all(PacketDecoder(), frames_of(raws))
    assert packet.payload == BIG and packet.dport == 9990


def test_keys_keep_datagrams_apart() -> None:
    first = v4_fragments(BIG, ident=1, src="10.0.0.1")
    other_source = v4_fragments(BIG[::-1], ident=1, src="10.0.0.9")
    interleaved = [first[0], other_source[0], first[1], other_source[1], other_source[2],
                   first[2]]
    packets = decode_all(PacketDecoder(), frames_of(interleaved))
    assert [(p.payload, p.frames) for p in packets] == [
        (BIG[::-1], (2, 4, 5)), (BIG, (1, 3, 6))]


def test_ipv4_and_ipv6_with_the_same_id_do_not_mix() -> None:
    raws = v4_fragments(ident=5)[:2] + v6_fragments(ident=5)
    decoder = PacketDecoder()
    packets = decode_all(decoder, frames_of(raws))
    assert [p.ip_version for p in packets] == [6]
    assert decoder.pending_fragments == 1


def test_duplicate_fragment_is_harmless() -> None:
    raws = v4_fragments()
    decoder = PacketDecoder()
    (packet,) = decode_all(decoder, frames_of([raws[0], raws[0], raws[1], raws[2]]))
    assert packet.payload == BIG and packet.frames == (1, 2, 3, 4)
    assert decoder.notes == []


def overlapping(payload: bytes, second_part: bytes) -> list[bytes]:
    """Two fragments: [0, 16) then [8, 8 + len(second_part)) as the last."""
    head = IP(src="10.0.0.1", dst="10.0.0.2", id=7, proto=17, flags="MF") / payload[:16]
    tail = IP(src="10.0.0.1", dst="10.0.0.2", id=7, proto=17, frag=1) / second_part
    return [bytes(ETH / head), bytes(ETH / tail)]


def test_identical_overlap_is_quiet_and_conflicting_overlap_keeps_first_bytes() -> None:
    udp = bytes(UDP(sport=1, dport=2, len=8 + 24, chksum=0))
    data = udp + b"ABCDEFGHIJKLMNOP"
    decoder = PacketDecoder()
    (packet,) = decode_all(decoder, frames_of(overlapping(data, data[8:] + b"QRSTUVWX")))
    assert packet.payload == b"ABCDEFGHIJKLMNOPQRSTUVWX" and decoder.notes == []

    data = bytes(UDP(sport=1, dport=2, len=8 + 16, chksum=0)) + b"ABCDEFGH"
    decoder = PacketDecoder()
    (packet,) = decode_all(decoder, frames_of(overlapping(data, b"abcdefghQRSTUVWX")))
    assert packet.payload == b"ABCDEFGHQRSTUVWX"  # received first wins
    assert [(n.kind, n.frame) for n in decoder.notes] == [("ip.fragment_overlap", 2)]


def test_incomplete_datagram_reported_at_flush() -> None:
    raws = v4_fragments()
    decoder = PacketDecoder()
    assert decode_all(decoder, frames_of([raws[0], raws[2]])) == []
    assert decoder.pending_fragments == 1 and decoder.notes == []
    decoder.flush()
    assert decoder.pending_fragments == 0
    (note,) = decoder.notes
    assert (note.kind, note.frame) == ("ip.fragment_incomplete", 2)
    assert "10.0.0.1 → 10.0.0.2" in note.message and "frames 1, 2" in note.message
    assert "end of the capture" in note.message


def test_timeout_by_capture_time() -> None:
    old, new = v4_fragments(ident=1), v4_fragments(ident=2)
    decoder = PacketDecoder(fragment_timeout_ns=30 * SECOND)
    frames = frames_of([old[0], new[0]], step_ns=0)
    frames[0] = frames[0]._replace(ts_ns=0)
    frames[1] = frames[1]._replace(ts_ns=31 * SECOND)
    decode_all(decoder, frames)
    assert [(n.kind, n.frame) for n in decoder.notes] == [("ip.fragment_incomplete", 1)]
    assert "within 30 s" in decoder.notes[0].message
    assert decoder.pending_fragments == 1


def test_flush_with_a_time_expires_only_old_datagrams() -> None:
    decoder = PacketDecoder(fragment_timeout_ns=10 * SECOND)
    frames = frames_of([v4_fragments(ident=1)[0], v4_fragments(ident=2)[0]])
    frames[1] = frames[1]._replace(ts_ns=8 * SECOND)
    decode_all(decoder, frames)
    decoder.flush(now_ns=15 * SECOND)
    assert [n.frame for n in decoder.notes] == [1] and decoder.pending_fragments == 1


def test_cap_on_pending_datagrams_gives_up_the_oldest() -> None:
    decoder = PacketDecoder(max_fragment_datagrams=2)
    firsts = [v4_fragments(ident=i)[0] for i in range(3)]
    decode_all(decoder, frames_of(firsts))
    assert decoder.pending_fragments == 2
    assert [(n.kind, n.frame) for n in decoder.notes] == [("ip.fragment_incomplete", 3)]
    assert "id 0x0" in decoder.notes[0].message and "caps" in decoder.notes[0].message


def test_cap_on_buffered_bytes() -> None:
    decoder = PacketDecoder(max_fragment_bytes=2000)
    decode_all(decoder, frames_of([v4_fragments(ident=1)[0], v4_fragments(ident=2)[0]]))
    assert decoder.pending_fragments == 1
    assert [n.kind for n in decoder.notes] == ["ip.fragment_incomplete"]


def test_fragments_disagreeing_on_the_end_drop_the_datagram() -> None:
    def last_fragment(offset_units: int, size: int) -> bytes:  # no MF: each claims the end
        return bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2", id=3, proto=17,
                              frag=offset_units) / bytes(size))

    decoder = PacketDecoder()
    assert decode_all(decoder, frames_of([last_fragment(1, 16), last_fragment(4, 8)])) == []
    assert [n.kind for n in decoder.notes] == ["ip.malformed"]
    assert "end at 24 and 40" in decoder.notes[0].message
    assert decoder.pending_fragments == 0


def test_fragment_beyond_65535_bytes_is_malformed() -> None:
    raw = bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2", id=9, proto=17, frag=8190)
                / bytes(200))
    decoder = PacketDecoder()
    assert decoder.decode(frames_of([raw])[0]) is None
    assert [n.kind for n in decoder.notes] == ["ip.malformed"]
    assert "65535" in decoder.notes[0].message and decoder.pending_fragments == 0


def test_fragments_cut_by_snaplen_give_the_captured_prefix_and_missing() -> None:
    raws = v4_fragments()
    frames = [Frame(i + 1, i, 200, len(raw), LINKTYPE_ETHERNET, raw[:200])
              for i, raw in enumerate(raws)]
    decoder = PacketDecoder()
    (packet,) = decode_all(decoder, frames)
    # Only the first fragment's captured bytes are contiguous from the start.
    assert packet.payload == BIG[: 200 - 14 - 20 - 8]
    assert len(packet.payload) + packet.missing == len(BIG)
    assert decoder.notes == []


def test_non_tcp_udp_fragments_are_not_buffered() -> None:
    datagram = IP(src="10.0.0.1", dst="10.0.0.2", proto=1, id=4) / bytes(3000)
    raws = [bytes(ETH / part) for part in fragment(datagram, fragsize=1480)]
    decoder = PacketDecoder()
    assert decode_all(decoder, frames_of(raws)) == []
    assert decoder.pending_fragments == 0 and decoder.notes == []


def test_raw_ip_fragments() -> None:
    raws = [raw[14:] for raw in v4_fragments()]
    frames = [Frame(i + 1, 0, len(r), len(r), LINKTYPE_RAW, r) for i, r in enumerate(raws)]
    (packet,) = decode_all(PacketDecoder(), frames)
    assert packet.payload == BIG
