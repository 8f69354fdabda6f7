"""Synthesized captures as tshark sees them: clean to open, valid checksums, and each
gap-free TCP direction's bytes exactly the truth's messages (Follow TCP Stream)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from cvipsniff.sim.synth import write_capture
from cvipsniff.sim.transcript import Conversation, MessageTruth, Scenario, WireMessage

pytestmark = pytest.mark.tshark


def scenario() -> Scenario:
    """A CVIP-like session with multi-segment responses and back-to-back events, and a
    broadcast ping with two answers (raw bytes; the synthesizer does not care)."""
    session = []
    for txn in range(1, 4):
        body = b"<methodCall>" + b"q" * (80 * txn) + b"</methodCall>"
        session.append(WireMessage(0, struct.pack("!HHBI", 0x0201, txn, 0, 9 + len(body))
                                   + body, txn * 5.0, MessageTruth("cvip", "request", txn)))
        body = b"<methodResponse>" + b"r" * (2100 * txn) + b"</methodResponse>"
        session.append(WireMessage(1, struct.pack("!HHBI", 0x0201, 0x8000 | txn, 0,
                                                  9 + len(body)) + body, txn * 5.0 + 1,
                                   MessageTruth("cvip", "response", txn, is_response=True)))
    for n in range(3):
        session.append(WireMessage(1, struct.pack("!HHBI", 0x0201, 50 + n, 0, 20)
                                   + b"<event/>...", 30 + n * 0.01,
                                   MessageTruth("cvip", "event", 50 + n)))
    pings = [
        WireMessage(0, b"P" * 16, 1.0, MessageTruth("cvip-ping", "ping-request", 9)),
        WireMessage(1, b"R" * 37, 1.4, MessageTruth("cvip-ping", "ping-response", 9,
                                                    is_response=True),
                    src=("192.168.1.20", 9990), dst=("192.168.1.10", 40000)),
        WireMessage(1, b"S" * 37, 1.5, MessageTruth("cvip-ping", "ping-response", 9,
                                                    is_response=True),
                    src=("192.168.1.21", 9990), dst=("192.168.1.10", 40000)),
    ]
    return Scenario("tshark-check", "session and pings", [
        Conversation("tcp", ("192.168.1.10", 40001), ("192.168.1.20", 7110), session),
        Conversation("udp", ("192.168.1.10", 40000), ("255.255.255.255", 9990), pings),
    ])


def data_by_message(sc: Scenario) -> list[bytes]:
    return [m.data for c in sc.conversations for m in c.messages]


def parse_follow(output: str) -> dict[int, tuple[bytes, bytes]]:
    """tcp.stream → (client bytes, server bytes) from ``-z follow,tcp,raw,N`` blocks
    (tshark prints them in reverse order of the options)."""
    streams = {}
    for block in output.split("Follow: tcp,raw")[1:]:
        number = int(block.split("tcp.stream eq ", 1)[1].split()[0])
        sides = [bytearray(), bytearray()]
        body = block.split("Node 1:", 1)[1].split("\n", 1)[1]
        for line in body.splitlines():
            if line.startswith("==="):
                break
            if line.strip():
                sides[1 if line.startswith("\t") else 0] += bytes.fromhex(line.strip())
        streams[number] = (bytes(sides[0]), bytes(sides[1]))
    return streams


FAMILIES = [
    ("plain.pcapng", ""), ("split.pcapng", "split-header"), ("coalesce.pcapng", "coalesce"),
    ("reorder.pcapng", "reorder=2"), ("duplicate.pcapng", "duplicate"),
    ("retransmit.pcapng", "retransmit"), ("conflict.pcapng", "conflict"),
    ("loss.pcapng", "loss"), ("wrap.pcapng", "wrap"), ("midstream.pcapng", "midstream=2"),
    ("ipv6.pcapng", "ipv6"), ("qinq.pcapng", "qinq"), ("sll.pcap", "sll"),
    ("sll2.pcap", "sll2"), ("snaplen.pcap", "snaplen=90"), ("frag.pcapng", "ipfrag=576"),
    ("frag6.pcapng", "ipfrag=700,ipv6"),
]
FIELDS = ("frame.number", "tcp.checksum.status", "udp.checksum.status",
          "ip.checksum.status", "_ws.col.Info")


@pytest.mark.parametrize("name, impairments", FAMILIES)
def test_tshark_sees_what_the_truth_says(tshark: str, tmp_path: Path, name: str,
                                         impairments: str) -> None:
    """One tshark run per capture: it opens cleanly (no malformed or cut-short packets
    unless snaplen cut them), every checksum verifies, and for captures without gaps
    each TCP direction's reassembled bytes are exactly the truth's messages in order."""
    sc = scenario()
    path = tmp_path / name
    truth = write_capture(sc, path, impairments=impairments, seed=5)
    tcp_flows = [f for f in truth["flows"] if f["transport"] == "tcp"]
    follow = [arg for n in range(len(tcp_flows)) for arg in ("-z", f"follow,tcp,raw,{n}")]
    checks = ["-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
              "-o", "ip.check_checksum:TRUE"]
    fields = [arg for f in FIELDS for arg in ("-e", f)]
    result = subprocess.run([tshark, "-r", str(path), *checks, "-T", "fields", *fields,
                             *follow], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    listing, _, followed = result.stdout.partition("\n===")
    rows = [line.split("\t") for line in listing.splitlines()]
    assert len(rows) == truth["frame_count"]
    for row in rows:
        statuses = [v for column in row[1:4] for v in column.split(",") if v]
        assert "0" not in statuses, row  # 0 = bad checksum, 1 = good
        info = row[4].lower()
        assert "malformed" not in info, row
        if "snaplen" not in impairments:
            assert "cut short" not in info and "size limited" not in info, row
    if any(k in impairments for k in ("loss", "midstream", "snaplen")):
        return  # gaps: the truth marks what is missing instead (test_synth_packetizer)
    data = data_by_message(sc)
    streams = parse_follow(followed)
    assert sorted(streams) == list(range(len(tcp_flows)))
    for n, flow in enumerate(tcp_flows):  # tshark numbers TCP streams alone, same order
        sides = streams[n]
        for direction in (0, 1):
            msgs = sorted((m for m in truth["messages"] if m["flow"] == flow["id"]
                           and m["direction"] == direction), key=lambda m: m["offset"])
            assert sides[direction] == b"".join(data[m["index"]] for m in msgs), direction
