"""Scenario → frames → truth, checked against an independent decode of the frames.

The frames are decoded with scapy (not with the project's decoder, which is what the
captures exist to test), each TCP direction is reassembled first-seen-wins, and every
message's bytes and frame list in the truth document must match what that decode finds.
"""

from __future__ import annotations

import gzip
import itertools
import json
import struct
from collections import defaultdict
from dataclasses import dataclass

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether
from scapy.utils import rdpcap

from cvipsniff.model import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, Frame
from cvipsniff.sim.synth import ScenarioError, synthesize, truth_path_for, write_capture
from cvipsniff.sim.synth.packetizer import BASE_EPOCH_NS
from cvipsniff.sim.transcript import Conversation, MessageTruth, Scenario, WireMessage

SEQ = 1 << 32


# ---- a hand-made scenario (raw bytes: the synthesizer must not care what they mean) ----


def cvip_like(txn: int, body: bytes, response: bool = False) -> bytes:
    return struct.pack("!HHBI", 0x0201, txn | (0x8000 if response else 0), 0,
                       9 + len(body)) + body


def scenario() -> Scenario:
    session = []
    t = 0.0
    for txn in range(1, 5):
        body = b"<methodCall>" + bytes([64 + txn]) * (60 * txn) + b"</methodCall>"
        session.append(WireMessage(0, cvip_like(txn, body), t,
                                   MessageTruth("cvip", "request", txn, "svc.get")))
        reply = b"<methodResponse>" + bytes([96 + txn]) * (1700 * txn) + b"</methodResponse>"
        session.append(WireMessage(1, cvip_like(txn, reply, True), t + 2,
                                   MessageTruth("cvip", "response", txn, "svc.get", True)))
        t += 6
    session.append(WireMessage(1, cvip_like(40, b"<event a='1'/>"), t,
                               MessageTruth("cvip", "event", 40, "cviEvent.notify")))
    session.append(WireMessage(1, cvip_like(41, b"<event a='2'/>"), t + 0.05,
                               MessageTruth("cvip", "event", 41, "cviEvent.notify",
                                            violations=["cvip.header.version"])))
    session.append(WireMessage(0, cvip_like(40, b"<ack/>", True), t + 1,
                               MessageTruth("cvip", "ack", 40, "cviEvent.notify", True)))
    images = [
        WireMessage(0, b"<methodcall><requestid>1</requestid></methodcall>\r\n\r\n", 1.0,
                    MessageTruth("imageserver", "request", 1, "live")),
        *[WireMessage(1, b"ImageResponse\r\nContent-length: 9000\r\n\r\n" + bytes([i]) * 9000
                      + b"\r\n\r\n", 3.0 + i * 4,
                      MessageTruth("imageserver", "imageresponse", 1, "live", True))
          for i in range(4)],
        WireMessage(0, b"<methodcall><requestid>2</requestid></methodcall>\r\n\r\n", 40.0,
                    MessageTruth("imageserver", "request", 2, "stop")),
    ]
    pings = [
        WireMessage(0, b"P" * 16, 0.5, MessageTruth("cvip-ping", "ping-request", 7)),
        WireMessage(1, b"R" * 37, 0.9, MessageTruth("cvip-ping", "ping-response", 7,
                                                    is_response=True),
                    src=("10.0.0.7", 9990), dst=("10.0.0.1", 50001)),
        WireMessage(1, b"S" * 37, 1.1, MessageTruth("cvip-ping", "ping-response", 7,
                                                    is_response=True),
                    src=("10.0.0.8", 9990), dst=("10.0.0.1", 50001)),
    ]
    return Scenario("handmade", "three conversations of raw bytes", [
        Conversation("tcp", ("10.0.0.1", 50000), ("10.0.0.2", 7110), session),
        Conversation("tcp", ("10.0.0.1", 50010), ("10.0.0.3", 7563), images),
        Conversation("udp", ("10.0.0.1", 50001), ("255.255.255.255", 9990), pings),
    ])


def message_data(sc: Scenario) -> list[bytes]:
    return [m.data for c in sc.conversations for m in c.messages]


# ---- an independent decode ---------------------------------------------------------------


def decode(frame: Frame):
    cls = {LINKTYPE_ETHERNET: Ether, LINKTYPE_LINUX_SLL: CookedLinux,
           LINKTYPE_LINUX_SLL2: CookedLinuxV2}[frame.linktype]
    return cls(frame.data)


@dataclass
class Direction:
    """Bytes of one TCP direction, first seen wins, with the frame of each byte."""

    base: int | None = None
    data: dict[int, tuple[int, int]] | None = None  # offset → (byte, frame)

    def add(self, seq: int, payload: bytes, frame: int, syn: bool) -> None:
        if self.data is None:
            self.data = {}
        if self.base is None:
            self.base = (seq + 1) % SEQ if syn else seq
        start = (seq - self.base) % SEQ
        for i, b in enumerate(payload):
            self.data.setdefault(start + i, (b, frame))


def reassemble(frames: list[Frame]) -> dict[tuple[str, int, str, int], Direction]:
    streams: dict[tuple[str, int, str, int], Direction] = defaultdict(Direction)
    for frame in frames:
        pkt = decode(frame)
        if TCP not in pkt:
            continue
        ip = pkt[IP] if IP in pkt else pkt[IPv6]
        tcp = pkt[TCP]
        key = (ip.src, tcp.sport, ip.dst, tcp.dport)
        streams[key].add(tcp.seq, bytes(tcp.payload), frame.number, bool(tcp.flags.S))
    return streams


def check_against_decode(frames: list[Frame], truth: dict, data: list[bytes]) -> None:
    """Every TCP message's frames and bytes as the independent decode sees them, and
    ``lost`` exactly when some byte is not in the capture."""
    streams = reassemble(frames)
    for msg in truth["messages"]:
        if msg.get("flow") is None or truth["flows"][msg["flow"]]["transport"] != "tcp":
            continue
        direction = streams[(*msg["src"], *msg["dst"])]
        got = [direction.data.get(msg["offset"] + i) if direction.data else None
               for i in range(msg["length"])]
        present = [g for g in got if g is not None]
        assert msg["lost"] == (len(present) < msg["length"]), msg
        # frames in the order of the bytes they first carried, each once
        assert list(dict.fromkeys(frame for _, frame in present)) == msg["frames"], msg
        expected = data[msg["index"]]
        for i, g in enumerate(got):
            if g is not None:
                assert g[0] == expected[i], (msg, i)
        if not msg["lost"]:
            assert msg["complete_frame"] == max(msg["frames"])


# ---- clean layout --------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a = synthesize(scenario(), seed=1)
    b = synthesize(scenario(), seed=1)
    c = synthesize(scenario(), seed=2)
    assert a.frames == b.frames
    assert a.truth == b.truth
    assert [f.data for f in a.frames] != [f.data for f in c.frames]
    assert len(a.truth["messages"]) == len(c.truth["messages"])


def test_frames_are_numbered_timed_and_consistent() -> None:
    result = synthesize(scenario(), seed=3)
    assert [f.number for f in result.frames] == list(range(1, len(result.frames) + 1))
    times = [f.ts_ns for f in result.frames]
    assert times == sorted(times)
    assert times[0] >= BASE_EPOCH_NS - 10_000_000
    assert all(f.caplen == f.origlen == len(f.data) for f in result.frames)
    assert result.truth["frame_count"] == len(result.frames)


def test_clean_truth_matches_an_independent_decode() -> None:
    sc = scenario()
    result = synthesize(sc, seed=4)
    check_against_decode(result.frames, result.truth, message_data(sc))
    assert not any(m["lost"] for m in result.truth["messages"])
    assert result.truth["transport_findings"] == []


def test_flows_are_numbered_by_first_packet_tcp_and_udp_together() -> None:
    result = synthesize(scenario(), seed=5)
    flows = result.truth["flows"]
    assert [f["id"] for f in flows] == list(range(len(flows)))
    assert [f["first_frame"] for f in flows] == sorted(f["first_frame"] for f in flows)
    by_transport = defaultdict(list)
    for f in flows:
        by_transport[f["transport"]].append(f)
    assert len(by_transport["tcp"]) == 2
    # the broadcast ping and each device's answer are three address pairs
    assert len(by_transport["udp"]) == 3
    udp_servers = sorted(tuple(f["server"]) for f in by_transport["udp"])
    assert udp_servers == [("10.0.0.7", 9990), ("10.0.0.8", 9990), ("255.255.255.255", 9990)]
    for f in by_transport["udp"]:
        assert f["client"] == ["10.0.0.1", 50001]
    first = {f["id"]: f["first_frame"] for f in flows}
    for msg in result.truth["messages"]:
        assert first[msg["flow"]] <= min(msg["frames"])


def test_udp_messages_are_one_frame_each() -> None:
    result = synthesize(scenario(), seed=6)
    udp_msgs = [m for m in result.truth["messages"] if m["protocol"] == "cvip-ping"]
    for msg in udp_msgs:
        (frame,) = msg["frames"]
        pkt = decode(result.frames[frame - 1])
        assert bytes(pkt[UDP].payload) == message_data(scenario())[msg["index"]]
        assert (pkt[IP].src, pkt[UDP].sport) == tuple(msg["src"])


def test_transactions_pair_requests_with_what_answered_them() -> None:
    truth = synthesize(scenario(), seed=7).truth
    txns = {(t["conversation"], t["txn"], t["method"]): t for t in truth["transactions"]}
    assert txns[(2, 7, None)]["response_kinds"] == ["ping-response", "ping-response"]
    assert txns[(1, 1, "live")]["response_kinds"] == ["imageresponse"] * 4
    assert not txns[(1, 2, "stop")]["answered"]
    event = txns[(0, 40, "cviEvent.notify")]
    assert event["answered"] and event["response_kinds"] == ["ack"]
    assert (0, 41, "cviEvent.notify") not in txns  # a notification nobody answered
    for t in truth["transactions"]:
        if t["answered"] and t["request"] is not None:
            assert all(f > t["request_frame"] for f in t["response_frames"])


def test_violations_carry_the_frames_of_their_message() -> None:
    truth = synthesize(scenario(), seed=8).truth
    (violation,) = truth["violations"]
    msg = truth["messages"][violation["message"]]
    assert violation["rule"] == "cvip.header.version"
    assert violation["frames"] == msg["frames"] and violation["txn"] == 41


# ---- impairments: truth stays exact, and each does what it claims ----------------------


@pytest.mark.parametrize("impairments", [
    "split-header", "coalesce", "reorder=2", "duplicate=2", "retransmit=2", "conflict",
    "loss=2", "wrap", "midstream=4", "ipv6", "vlan", "qinq", "sll", "sll2",
    "split-header,coalesce=3,reorder,duplicate,retransmit,loss,ipv6,qinq",
])
def test_impaired_truth_matches_an_independent_decode(impairments: str) -> None:
    sc = scenario()
    result = synthesize(sc, impairments, seed=9)
    check_against_decode(result.frames, result.truth, message_data(sc))


def tcp_payload_frames(result, flow_id: int, direction: int):
    """(frame, relative seq, payload) of one TCP direction, capture order."""
    flow = result.truth["flows"][flow_id]
    src, dst = (flow["client"], flow["server"]) if direction == 0 else \
        (flow["server"], flow["client"])
    out = []
    for frame in result.frames:
        pkt = decode(frame)
        if TCP not in pkt:
            continue
        ip = pkt[IP] if IP in pkt else pkt[IPv6]
        if [ip.src, pkt[TCP].sport] == src and [ip.dst, pkt[TCP].dport] == dst:
            out.append((frame.number, pkt[TCP].seq, bytes(pkt[TCP].payload)))
    return out


def test_lost_segment_bytes_are_absent_and_reported_as_a_gap() -> None:
    sc = scenario()
    result = synthesize(sc, "loss", seed=10)
    gaps = [f for f in result.truth["transport_findings"] if f["kind"] == "tcp.gap"]
    assert len(gaps) == 2  # one per TCP connection
    for gap in gaps:
        assert gap["reason"] == "lost" and gap["length"] > 0
        assert gap["frame_before"] < gap["frame_after"] == gap["frame"]
        lost = [m for m in result.truth["messages"]
                if m["flow"] == gap["flow"] and m["direction"] == gap["direction"]
                and m["offset"] < gap["offset"] + gap["length"]
                and gap["offset"] < m["offset"] + m["length"]]
        assert lost and all(m["lost"] and m["captured_bytes"] < m["length"] for m in lost)
        direction = reassemble(result.frames)
        flow = result.truth["flows"][gap["flow"]]
        src, dst = (flow["client"], flow["server"]) if gap["direction"] == 0 else \
            (flow["server"], flow["client"])
        have = direction[(*src, *dst)].data
        assert not any(gap["offset"] + i in have for i in range(gap["length"]))
    udp_lost = [m for m in result.truth["messages"] if m["protocol"] == "cvip-ping"
                and m["lost"]]
    assert len(udp_lost) == 1 and udp_lost[0]["frames"] == []


def test_wrap_crosses_two_to_the_32() -> None:
    result = synthesize(scenario(), "wrap", seed=11)
    for flow in (0, 1):
        for direction in (0, 1):
            seqs = [seq for _, seq, payload in tcp_payload_frames(result, flow, direction)
                    if payload]
            assert any(b < a for a, b in itertools.pairwise(seqs)), (flow, direction)


def test_split_header_cuts_every_message_inside_its_first_nine_bytes() -> None:
    sc = scenario()
    result = synthesize(sc, "split-header", seed=12)
    streams = reassemble(result.frames)
    for msg in result.truth["messages"]:
        if msg["protocol"] == "cvip-ping":
            continue
        data = streams[(*msg["src"], *msg["dst"])].data
        first_frame = data[msg["offset"]][1]
        in_first = sum(1 for i in range(msg["length"]) if data[msg["offset"] + i][1]
                       == first_frame)
        assert 1 <= in_first < 9, msg


def test_coalesce_puts_several_messages_in_one_frame() -> None:
    result = synthesize(scenario(), "coalesce", seed=13)
    frames_of = [set(m["frames"]) for m in result.truth["messages"]]
    shared = [a & b for a, b in itertools.combinations(frames_of, 2) if a & b]
    assert shared
    # and a message boundary falls inside a segment, not only at its edges
    assert any(len(m["frames"]) > 1 for m in result.truth["messages"])


def test_reorder_shows_a_lower_sequence_number_after_a_higher_one() -> None:
    result = synthesize(scenario(), "reorder", seed=14)
    (finding, *_) = [f for f in result.truth["transport_findings"]
                     if f["kind"] == "tcp.out_of_order"]
    seqs = [seq for _, seq, p in tcp_payload_frames(result, finding["flow"],
                                                   finding["direction"]) if p]
    assert any(b < a for a, b in itertools.pairwise(seqs))
    ahead, late = finding["frames"]
    assert finding["frame"] == ahead < late  # the later bytes, arriving first


def test_duplicate_frames_repeat_seq_and_bytes() -> None:
    result = synthesize(scenario(), "duplicate", seed=15)
    findings = [f for f in result.truth["transport_findings"]
                if f["kind"] == "tcp.retransmission"]
    assert len(findings) == 2  # one per TCP connection
    for finding in findings:
        payloads = {n: (seq, p) for n, seq, p in tcp_payload_frames(
            result, finding["flow"], finding["direction"])}
        original, copy = finding["frames"]
        assert payloads[original] == payloads[copy]
    udp = [m for m in result.truth["messages"] if "duplicate_frames" in m]
    assert len(udp) == 1


def test_conflicting_overlap_differs_and_truth_keeps_the_first_copy() -> None:
    sc = scenario()
    result = synthesize(sc, "conflict", seed=16)
    findings = [f for f in result.truth["transport_findings"]
                if f["kind"] == "tcp.overlap_conflict"]
    assert len(findings) == 2  # one per TCP connection
    for finding in findings:
        payloads = {n: (seq, p) for n, seq, p in tcp_payload_frames(
            result, finding["flow"], finding["direction"])}
        first, again = finding["frames"]
        assert again == finding["frame"]
        (seq1, p1), (seq2, p2) = payloads[first], payloads[again]
        inside = (seq2 - seq1) % SEQ
        assert inside > 0 and inside + len(p2) == len(p1)
        assert all(a != b for a, b in zip(p1[inside:], p2, strict=True))
        # the conflict happens while the first copy waits for earlier bytes
        out_of_order = [f for f in result.truth["transport_findings"]
                        if f["kind"] == "tcp.out_of_order" and f["flow"] == finding["flow"]]
        assert out_of_order and out_of_order[0]["frame"] == first
    check_against_decode(result.frames, result.truth, message_data(sc))


def test_midstream_flows_start_without_a_handshake() -> None:
    result = synthesize(scenario(), "midstream=4", seed=17)
    for flow in result.truth["flows"]:
        first = decode(result.frames[flow["first_frame"] - 1])
        if flow["transport"] == "tcp":
            assert flow["mid_session"]
            assert not first[TCP].flags.S
    assert not any(decode(f).haslayer(TCP) and decode(f)[TCP].flags.S
                   for f in result.frames)
    assert any(m["lost"] for m in result.truth["messages"])


def test_ipv6_vlan_and_cooked_link_layers() -> None:
    v6 = synthesize(scenario(), "ipv6,qinq=30:40", seed=18)
    for frame in v6.frames:
        pkt = decode(frame)
        assert IPv6 in pkt and IP not in pkt
        assert pkt[Dot1AD].vlan == 30 and pkt[Dot1Q].vlan == 40
    assert {f["client"][0] for f in v6.truth["flows"]} == {"2001:db8::a00:1"}
    for link, linktype, cls in (("sll", LINKTYPE_LINUX_SLL, CookedLinux),
                                ("sll2", LINKTYPE_LINUX_SLL2, CookedLinuxV2)):
        result = synthesize(scenario(), link, seed=18)
        assert {f.linktype for f in result.frames} == {linktype}
        assert all(IP in cls(f.data) for f in result.frames)


def test_snaplen_cuts_frames_and_reports_gaps() -> None:
    result = synthesize(scenario(), "snaplen=100", seed=19)
    assert all(f.caplen <= 100 and len(f.data) == f.caplen for f in result.frames)
    assert any(f.origlen > f.caplen for f in result.frames)
    gaps = [f for f in result.truth["transport_findings"] if f["kind"] == "tcp.gap"]
    assert gaps and all(g["reason"] == "snaplen" for g in gaps)
    for g in gaps:
        assert result.frames[g["frame"] - 1].origlen > result.frames[g["frame"] - 1].caplen
    assert result.truth["snaplen"] == 100
    big = [m for m in result.truth["messages"] if m["length"] > 100]
    assert big and all(m["lost"] for m in big)


def test_ip_fragments_reassemble_to_the_segment() -> None:
    sc = scenario()
    result = synthesize(sc, "ipfrag=576", seed=20)
    fragmented = [m for m in result.truth["messages"] if "fragment_frames" in m]
    assert fragmented
    for msg in fragmented:
        assert set(msg["frames"]) <= set(msg["fragment_frames"])
    for frame in result.frames:
        assert len(frame.data) <= 14 + 576
    by_id = defaultdict(list)
    for frame in result.frames:
        ip = decode(frame)[IP]
        if ip.flags.MF or ip.frag:
            by_id[(ip.src, ip.id)].append((ip.frag * 8, bytes(ip.payload), ip.flags.MF))
    assert by_id
    for pieces in by_id.values():
        pieces.sort()
        whole = b"".join(p for _, p, _ in pieces)
        assert [o for o, _, _ in pieces] == list(itertools.accumulate(
            [0] + [len(p) for _, p, _ in pieces[:-1]]))
        assert not pieces[-1][2]
        assert TCP(whole).dataofs >= 5
    v6 = synthesize(sc, "ipfrag=600,ipv6", seed=20)
    assert any(IPv6ExtHdrFragment in decode(f) for f in v6.frames)


def test_per_conversation_impairments_touch_only_that_conversation() -> None:
    result = synthesize(scenario(), per_conversation={1: "loss,vlan=12"}, seed=21)
    flows = result.truth["flows"]
    impaired = [f for f in flows if f["impairments"]]
    assert [f["conversation"] for f in impaired] == [1]
    assert impaired[0]["impairments"] == ["loss=1", "vlan=12"]
    assert {g["flow"] for g in result.truth["transport_findings"]} == {impaired[0]["id"]}
    assert result.truth["impairments"]["conversations"] == {"1": ["loss=1", "vlan=12"]}


@pytest.mark.parametrize("mutate, message", [
    (lambda sc: setattr(sc.conversations[0], "client", ("not-an-ip", 1)), "bad endpoint"),
    (lambda sc: setattr(sc.conversations[0], "server", ("::1", 7110)), "IP versions"),
    (lambda sc: setattr(sc.conversations[0], "transport", "sctp"), "not tcp or udp"),
    (lambda sc: setattr(sc.conversations[0], "client", ("10.0.0.1", 70000)), "bad port"),
])
def test_scenarios_that_cannot_be_laid_out_are_errors(mutate, message: str) -> None:
    sc = scenario()
    mutate(sc)
    with pytest.raises(ScenarioError, match=message):
        synthesize(sc)


def test_per_conversation_index_must_exist() -> None:
    with pytest.raises(ScenarioError, match="no conversation 9"):
        synthesize(scenario(), per_conversation={9: "loss"})


# ---- files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x.pcap", "x.pcapng", "x.pcap.gz"])
def test_write_capture_writes_the_file_and_its_truth(tmp_path, name: str) -> None:
    path = tmp_path / name
    truth = write_capture(scenario(), path, impairments="vlan", seed=22)
    packets = rdpcap(str(path)) if not name.endswith(".gz") else None
    if name.endswith(".gz"):
        raw = tmp_path / "x.pcap"
        raw.write_bytes(gzip.decompress(path.read_bytes()))
        packets = rdpcap(str(raw))
    assert len(packets) == truth["frame_count"]
    on_disk = json.loads(truth_path_for(path).read_text())
    assert on_disk == truth and truth["capture"] == name
    again = tmp_path / ("again-" + name)
    write_capture(scenario(), again, impairments="vlan", seed=22, truth=False)
    assert again.read_bytes() == path.read_bytes()
    assert not truth_path_for(again).exists()


def test_truth_path_names() -> None:
    assert truth_path_for("a/b.pcapng").as_posix() == "a/b.truth.json"
    assert truth_path_for("b.pcap.gz").name == "b.truth.json"


def test_a_bad_capture_name_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"\.pcap or \.pcapng"):
        write_capture(scenario(), tmp_path / "x.txt")
