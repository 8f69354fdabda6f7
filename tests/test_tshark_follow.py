"""Cross-check against another implementation: for every TCP flow of crafted captures,
both directions' reassembled bytes equal tshark's ``-z follow,tcp,raw,N``, byte for byte.

The captures (written with scapy) hold the gap-free reassembly cases: split and coalesced
segments, out-of-order delivery, exact duplicates, consistent overlaps, sequence wrap,
a mid-session start, IPv6 and 802.1Q, a 4-tuple reused after FIN, plus a bulk flow with
local reordering and duplicates — and UDP datagrams in between, because tshark numbers
TCP streams alone while our flow ids count UDP conversations too.
"""

from __future__ import annotations

import functools
import random
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet as ScapyPacket
from scapy.packet import Raw
from scapy.utils import wrpcap

from cvipsniff.flows import FlowTable
from cvipsniff.model import Flow, StreamData, StreamGap, TransportNote
from cvipsniff.pipeline import iter_flow_events

pytestmark = pytest.mark.tshark

MASK = 0xFFFFFFFF
# Explicit MACs: without them scapy resolves each destination (slow, and not our concern).
MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}


@dataclass
class Conversation:
    """A crafted TCP connection: segments given by (direction, stream offset, bytes)."""

    client: tuple[str, int]
    server: tuple[str, int]
    segments: list[tuple[int, int, bytes]]
    isn: tuple[int, int] = (1000, 900000)
    handshake: bool = True
    fin: bool = False
    vlan: int | None = None
    sent: list[list[tuple[int, int]]] = field(default_factory=lambda: [[], []])

    def _acked(self, d: int) -> int:
        """The contiguous prefix of direction ``d`` sent so far (what a peer can ACK)."""
        end = 0
        for start, stop in sorted(self.sent[d]):
            if start > end:
                break
            end = max(end, stop)
        return end

    def _packet(self, d: int, flags: str, seq: int, payload: bytes = b"") -> ScapyPacket:
        src, dst = (self.client, self.server) if d == 0 else (self.server, self.client)
        ip_layer = IPv6 if ":" in src[0] else IP
        ack = (self.isn[1 - d] + 1 + self._acked(1 - d)) & MASK
        segment = TCP(sport=src[1], dport=dst[1], flags=flags, seq=seq & MASK,
                      ack=ack if "A" in flags else 0, window=65535)
        link = Ether(**MACS)
        if self.vlan is not None:
            link = link / Dot1Q(vlan=self.vlan)
        packet = link / ip_layer(src=src[0], dst=dst[0]) / segment
        return packet / Raw(payload) if payload else packet

    def packets(self) -> list[ScapyPacket]:
        out = []
        if self.handshake:
            out.append(self._packet(0, "S", self.isn[0]))
            out.append(self._packet(1, "SA", self.isn[1]))
            out.append(self._packet(0, "A", self.isn[0] + 1))
        for d, offset, data in self.segments:
            self.sent[d].append((offset, offset + len(data)))
            out.append(self._packet(d, "PA", self.isn[d] + 1 + offset, data))
            out.append(self._packet(1 - d, "A", self.isn[1 - d] + 1 + self._acked(1 - d)))
        if self.fin:
            ends = [self._acked(0), self._acked(1)]
            for d in (0, 1):
                out.append(self._packet(d, "FA", self.isn[d] + 1 + ends[d]))
                self.sent[d].append((ends[d], ends[d] + 1))  # the FIN's sequence number
            out.append(self._packet(0, "A", self.isn[0] + 2 + ends[0]))
        return out


def split(d: int, data: bytes, sizes: list[int], start: int = 0) -> list[tuple[int, int, bytes]]:
    """In-order segments of ``data`` with the given sizes (the last one takes the rest)."""
    out, offset = [], 0
    for size in [*sizes, len(data)]:
        if offset >= len(data):
            break
        piece = data[offset : offset + size]
        out.append((d, start + offset, piece))
        offset += len(piece)
    return out


def bulk(rng: random.Random) -> list[tuple[int, int, bytes]]:
    """~300 KB each way in 1448-byte segments, locally reordered and sometimes doubled."""
    segments: list[tuple[int, int, bytes]] = []
    for d in (0, 1):
        data = rng.randbytes(300_000)
        pieces = split(d, data, [1448] * 300)
        for i in range(0, len(pieces) - 3, 7):  # swap neighbours now and then
            pieces[i], pieces[i + 2] = pieces[i + 2], pieces[i]
        for i in range(5, len(pieces), 11):  # and send some twice
            pieces.insert(i, pieces[i - 3])
        segments += pieces
    return segments


def conversations() -> list[Conversation]:
    request = b"<methodcall><requestid>1</requestid><methodname>connect</methodname>" * 3
    reply = b"ImageResponse\r\nRequestId: 1\r\nContent-length: 10\r\n\r\n0123456789\r\n\r\n"
    srv = ("10.0.0.2", 7563)
    cvip = ("10.0.0.2", 7110)
    return [
        Conversation(("10.0.0.1", 40001), srv,  # split segments
                     split(0, request, [10, 7, 50]) + split(1, reply, [3, 3, 3, 3])),
        Conversation(("10.0.0.1", 40002), srv,  # coalesced: two messages, one segment
                     [(0, 0, request + request), (1, 0, reply + reply)]),
        Conversation(("10.0.0.1", 40003), cvip,  # out of order
                     [(0, 20, request[20:40]), (0, 40, request[40:]), (0, 0, request[:20]),
                      (1, 30, reply[30:]), (1, 0, reply[:30])]),
        Conversation(("10.0.0.1", 40004), cvip,  # exact duplicates
                     [(0, 0, request[:50]), (0, 0, request[:50]), (0, 50, request[50:]),
                      (1, 0, reply), (1, 0, reply)]),
        Conversation(("10.0.0.1", 40005), cvip,  # consistent overlaps
                     [(0, 0, request[:60]), (0, 40, request[40:120]), (0, 100, request[100:]),
                      (1, 10, reply[10:40]), (1, 0, reply[:20]), (1, 30, reply[30:])]),
        Conversation(("10.0.0.1", 40006), srv,  # sequence numbers wrap in both directions
                     split(0, request, [40] * 6) + split(1, reply, [7] * 12),
                     isn=(MASK - 100, MASK - 20)),
        Conversation(("10.0.0.1", 40007), srv,  # mid-session: no handshake captured
                     split(0, request, [64, 64]) + split(1, reply, [20]),
                     isn=(77777, 123456), handshake=False),
        Conversation(("2001:db8::1", 40008), ("2001:db8::2", 7563),  # IPv6
                     split(0, request, [100]) + split(1, reply, [30])),
        Conversation(("10.0.0.1", 40009), srv,  # 802.1Q
                     split(0, request, [33]) + split(1, reply, [33]), vlan=42),
        Conversation(("10.0.0.3", 40010), cvip, bulk(random.Random(7))),
        Conversation(("10.0.0.1", 40011), cvip,  # closed, then the 4-tuple is reused
                     split(0, request, [90]) + split(1, reply, [9]), fin=True),
        Conversation(("10.0.0.1", 40011), cvip, split(0, reply, [5]) + split(1, request, [50]),
                     isn=(3_000_000_000, 12345)),
    ]


def write_capture(path: Path) -> None:
    packets: list[ScapyPacket] = []
    for i, conv in enumerate(conversations()):
        packets += conv.packets()
        packets.append(Ether(**MACS) / IP(src="10.0.0.9", dst="10.0.0.255")
                       / UDP(sport=9990 + i, dport=9990) / Raw(b"ping %d" % i))
    for i, packet in enumerate(packets):
        packet.time = 1_700_000_000 + i / 1000
    wrpcap(str(path), packets)


def tshark_follow(tshark: str, path: Path, streams: int) -> dict[int, dict]:
    """stream → {"nodes": [(addr, port), (addr, port)], "data": [bytes, bytes]}."""
    args = [tshark, "-r", str(path), "-q"]
    for n in range(streams):
        args += ["-z", f"follow,tcp,raw,{n}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout
    result: dict[int, dict] = {}
    for block in out.split("=" * 67):
        match = re.search(r"Filter: tcp\.stream eq (\d+)", block)
        if not match:
            continue
        nodes, data = [], [bytearray(), bytearray()]
        for line in block.splitlines():
            node = re.match(r"Node (\d): (.*):(\d+)$", line)
            if node:
                nodes.append((node.group(2).strip("[]"), int(node.group(3))))
            elif re.fullmatch(r"\t?[0-9a-f]+", line):
                data[1 if line.startswith("\t") else 0] += bytes.fromhex(line.strip())
        result[int(match.group(1))] = {"nodes": nodes, "data": [bytes(d) for d in data]}
    return result


def our_streams(path: Path) -> tuple[list[Flow], dict[int, list[bytearray]], list]:
    table = FlowTable(server_ports=frozenset({7110, 7563, 9990}))
    data: dict[int, list[bytearray]] = {}
    trouble: list = []
    for event in iter_flow_events(str(path), flow_table=table):
        if isinstance(event, StreamData):
            data.setdefault(event.flow.id, [bytearray(), bytearray()])[event.direction] += (
                event.data)
        elif isinstance(event, StreamGap) or (
                isinstance(event, TransportNote) and event.severity != "info"):
            trouble.append(event)
    return list(table.flows), data, trouble


def test_every_tcp_stream_matches_tshark_follow(tmp_path: Path, tshark: str) -> None:
    path = tmp_path / "reassembly.pcap"
    write_capture(path)
    flows, data, trouble = our_streams(path)
    assert trouble == []
    tcp_flows = [f for f in flows if f.transport == "tcp"]
    assert len(tcp_flows) == len(conversations())
    assert [f.transport for f in flows[:2]] == ["tcp", "udp"]  # numbering differs from tshark
    assert [f.closed for f in tcp_flows if f.client[1] == 40011] == ["fin", "end-of-capture"]
    theirs = tshark_follow(tshark, path, len(tcp_flows))
    assert sorted(theirs) == list(range(len(tcp_flows)))
    for stream, flow in enumerate(tcp_flows):  # tshark's tcp.stream counts TCP only
        follow = theirs[stream]
        assert follow["nodes"][0] in (flow.client, flow.server), (stream, follow["nodes"])
        ours = data.get(flow.id, [bytearray(), bytearray()])
        node0 = 0 if follow["nodes"][0] == flow.client else 1
        assert bytes(ours[node0]) == follow["data"][0], f"stream {stream}, node 0"
        assert bytes(ours[1 - node0]) == follow["data"][1], f"stream {stream}, node 1"
        assert follow["data"][0] and follow["data"][1]
    (bulk_flow,) = [f for f in tcp_flows if f.client[1] == 40010]
    a, b = bulk_flow.stats
    assert a.out_of_order and a.retransmissions and b.out_of_order and b.retransmissions


# ---- a hole the peer ACKs before the capture shows its segment ---------------------------


def _segment(client: tuple[str, int], server: tuple[str, int], d: int, flags: str, seq: int,
             ack: int, payload: bytes = b"") -> ScapyPacket:
    src, dst = (client, server) if d == 0 else (server, client)
    packet = Ether(**MACS) / IP(src=src[0], dst=dst[0]) / TCP(
        sport=src[1], dport=dst[1], flags=flags, seq=seq & MASK, ack=ack & MASK, window=65535)
    return packet / Raw(payload) if payload else packet


def late_segment_packets(data: bytes, reply: bytes) -> tuple[list[ScapyPacket], bytes]:
    """Two connections whose client segment [20, 40) shows up in the capture after the
    server's ACK for it, as captures that see each direction on its own queue record it.

    Port 40021: the ACK comes before the bytes past the hole, so tshark's follow still
    places the late segment. Port 40022: the ACK comes after them, so tshark gives the hole
    up as "[20 bytes missing in capture file]" at once; the reassembler's ACK hold keeps
    waiting and places the bytes. Returns the packets and the late bytes.
    """
    server = ("10.0.0.2", 7110)
    c, s = 1000, 5000
    packets: list[ScapyPacket] = []
    for port, ack_first in ((40021, True), (40022, False)):
        client = ("10.0.0.1", port)
        seg = functools.partial(_segment, client, server)
        packets += [seg(0, "S", c, 0), seg(1, "SA", s, c + 1), seg(0, "A", c + 1, s + 1),
                    seg(0, "PA", c + 1, s + 1, data[:20])]
        ack = seg(1, "A", s + 1, c + 61)
        past = seg(0, "PA", c + 41, s + 1, data[40:])
        packets += [ack, past] if ack_first else [past, ack]
        packets += [seg(0, "PA", c + 21, s + 1, data[20:40]),  # the late segment
                    seg(1, "PA", s + 1, c + 61, reply), seg(0, "A", c + 61, s + 1 + len(reply))]
    return packets, data[20:40]


def test_late_segment_after_an_ack_past_its_hole_is_kept(tmp_path: Path, tshark: str) -> None:
    data = bytes(range(65, 125))
    reply = b"<methodResponse/>"
    packets, late = late_segment_packets(data, reply)
    for i, packet in enumerate(packets):
        packet.time = 1_700_000_000 + i / 1000
    path = tmp_path / "late.pcap"
    wrpcap(str(path), packets)
    flows, ours, trouble = our_streams(path)
    assert trouble == []  # no gap: every captured byte reached the stream
    theirs = tshark_follow(tshark, path, 2)
    marker = b"[20 bytes missing in capture file]\x00"
    for stream, flow in enumerate(flows):
        node0 = 0 if theirs[stream]["nodes"][0] == flow.client else 1
        assert bytes(ours[flow.id][1 - node0]) == theirs[stream]["data"][1] == reply
        client_theirs = theirs[stream]["data"][node0]
        if flow.client[1] == 40021:  # tshark places the late bytes too: equal
            assert bytes(ours[flow.id][0]) == client_theirs == data
        else:  # tshark marks them missing; ours has what its marker stands for
            assert marker in client_theirs
            assert bytes(ours[flow.id][0]) == client_theirs.replace(marker, late) == data
