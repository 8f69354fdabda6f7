"""Capture artefacts are not protocol violations (issue 12 item 4): a message cut by a
gap, by snaplen or by the end of the capture gets transport and framing findings only,
never XML, structure, missing-field or range findings about bytes the capture never held.

Captures are crafted byte by byte (scapy packets written by the project's pcap writer,
which cuts frames to its snaplen as libpcap does) and analysed end to end.
"""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from cvipsniff.analysis.engine import Analysis
from cvipsniff.capture import PcapWriter
from cvipsniff.model import LINKTYPE_ETHERNET, Frame, Message
from cvipsniff.pipeline import iter_capture
from cvipsniff.sim.imageserver import encode as imgs
from cvipsniff.sim.imageserver.jpeg import noise_jpeg_of_size
from dissectors.cvip import encode_message

MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
HEADERS = 54  # Ethernet + IPv4 + TCP without options
#: What a cut message may be told about: the cut itself and the transport around it.
ARTEFACT_RULES = {"tcp.gap", "cvip.framing.truncated", "imageserver.framing.truncated",
                  "tcp.retransmission", "tcp.out_of_order"}


def conversation(port: int, segments: list[tuple[int, bytes]], *,
                 skip: frozenset[int] = frozenset(), handshake: bool = True) -> list[bytes]:
    """Frames of a TCP connection (handshake, then ``(direction, bytes)`` segments, each
    ACKed by the peer up to what it was sent); segments whose index is in ``skip`` are
    sent (and ACKed) but not captured."""
    client, server = ("10.0.0.1", port), ("10.0.0.2", SERVER[port])
    nxt = [1001, 5001]

    def packet(d: int, flags: str, payload: bytes = b"") -> bytes:
        src, dst = (client, server) if d == 0 else (server, client)
        tcp = TCP(sport=src[1], dport=dst[1], flags=flags, seq=nxt[d] - ("S" in flags),
                  ack=nxt[1 - d] if "A" in flags else 0, window=65535)
        built = Ether(**MACS) / IP(src=src[0], dst=dst[0]) / tcp
        return bytes(built / Raw(payload) if payload else built)

    frames = [packet(0, "S"), packet(1, "SA"), packet(0, "A")] if handshake else []
    for i, (d, data) in enumerate(segments):
        segment = packet(d, "PA", data)
        nxt[d] += len(data)
        if i not in skip:
            frames.append(segment)
        frames.append(packet(1 - d, "A"))
    return frames


SERVER = {40001: 7110, 40002: 7563, 40003: 7110, 40004: 7563}


def write(path: Path, frames: list[bytes], snaplen: int = 65535) -> None:
    with open(path, "wb") as f:
        writer = PcapWriter(f, LINKTYPE_ETHERNET, snaplen=snaplen)
        for i, data in enumerate(frames):
            writer.write(Frame(i + 1, 1_700_000_000_000_000_000 + i * 1_000_000, len(data),
                               len(data), LINKTYPE_ETHERNET, data))


def analyse(path: Path) -> tuple[list[Message], Analysis]:
    analysis = Analysis()
    messages = []
    for item in iter_capture(str(path)):
        if isinstance(item, Message):
            messages.append(item)
        analysis.add(item)
    analysis.finish()
    return messages, analysis


def cvip_call(txn: int, method: str, fields: int) -> bytes:
    members = "".join(f"<member><name>Field{i}</name><value><string>value {i}</string></value>"
                      "</member>" for i in range(fields))
    body = (f"<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName><params>"
            f"<param><value><struct>{members}</struct></value></param></params></methodCall>")
    return encode_message(body.encode(), txn)


def cvip_ack(txn: int) -> bytes:
    body = (b"<methodResponse><params><param><value><struct><member><name>ErrorCode</name>"
            b"<value><uint>16777216</uint></value></member></struct></value></param>"
            b"</params></methodResponse>")
    return encode_message(body, txn, response=True)


def image(requestid: int, size: int) -> bytes:
    headers = imgs.ImageHeaders(requestid=requestid, prev=1, current=2, next=3)
    return imgs.image_response(headers, noise_jpeg_of_size(size, seed=requestid))


def artefact_findings(analysis: Analysis, message: Message) -> set[str]:
    """Rules of the findings about a message (those naming its frames)."""
    frames = set(message.frames)
    return {f.rule for f in analysis.findings if frames & set(f.frames)}


def test_gap_cut_cvip_and_imageserver_bodies_give_only_transport_findings(tmp_path) -> None:
    call = cvip_call(1, "cviEntity.update", 40)
    request = imgs.goto_request(5, 1_700_000_000_000)
    picture = image(5, 6000)
    frames = conversation(40001, [(0, call[:300]), (0, call[300:600]), (0, call[600:])],
                          skip=frozenset({1}))
    frames += conversation(40002, [(0, request), (1, picture[:2000]), (1, picture[2000:4000]),
                                   (1, picture[4000:])], skip=frozenset({2}))
    path = tmp_path / "gap.pcap"
    write(path, frames)
    messages, analysis = analyse(path)
    cut = [m for m in messages if m.record.attrs.get("truncated")
           or any(p.rule.endswith("framing.truncated") for p in m.record.problems)]
    assert {m.record.protocol for m in cut} == {"cvip", "imageserver"}
    for message in cut:
        assert {p.rule for p in message.record.problems} <= ARTEFACT_RULES, message.record
        assert artefact_findings(analysis, message) <= ARTEFACT_RULES | {
            "cvip.txn.unanswered", "cvip.txn.answer_lost", "imageserver.txn.answer_lost"}
    assert "cvip.field.missing" not in {f.rule for f in analysis.findings}
    assert "cvip.xml.malformed" not in {f.rule for f in analysis.findings}


def test_snaplen_cut_bodies_give_only_transport_findings(tmp_path) -> None:
    call = cvip_call(2, "cviEntity.update", 12)  # one segment, longer than the snaplen
    request = imgs.goto_request(6, 1_700_000_000_000)
    picture = image(6, 1500)
    assert len(call) + HEADERS > 400 and len(request) + HEADERS < 400
    frames = conversation(40003, [(0, call), (1, cvip_ack(2))])
    frames += conversation(40004, [(0, request), (1, picture)])
    path = tmp_path / "snaplen.pcap"
    write(path, frames, snaplen=400)
    messages, analysis = analyse(path)
    cut = {m.record.protocol: m for m in messages if m.record.attrs.get("truncated")
           or any(p.rule.endswith("framing.truncated") for p in m.record.problems)}
    assert set(cut) == {"cvip", "imageserver"}
    for message in cut.values():
        assert {p.rule for p in message.record.problems} <= ARTEFACT_RULES, message.record
    rules = {f.rule for f in analysis.findings}
    assert "tcp.gap" in rules
    assert not {r for r in rules if r.startswith(("cvip.xml", "cvip.field", "cvip.xmlrpc",
                                                  "imageserver.image", "imageserver.xml"))}
    # The cut request is still paired with its (whole) answer: its header survived.
    assert analysis.pairer.states.get("answered", 0) >= 1


def test_a_cut_message_keeps_the_findings_its_header_earns(tmp_path) -> None:
    call = cvip_call(3, "cviEntity.update", 40)
    bad = b"\x02\x00" + call[2:]  # version 0x0200: the header is whole in the capture
    frames = conversation(40001, [(0, bad[:300]), (0, bad[300:])])
    path = tmp_path / "version.pcap"
    write(path, frames[:-2])  # the end of the capture cuts the body
    messages, _ = analyse(path)
    (message,) = messages
    rules = [p.rule for p in message.record.problems]
    assert "cvip.header.version" in rules and "cvip.framing.truncated" in rules
    assert set(rules) <= ARTEFACT_RULES | {"cvip.header.version"}


def test_mid_session_and_answer_lost_pairing_states(tmp_path) -> None:
    # Flow 0 picked up mid-session: the first thing captured is the ack of a request
    # sent before the capture began; then a request and its ack.
    frames = conversation(40001, [(1, cvip_ack(7)), (0, cvip_call(8, "cviEntity.update", 2)),
                                  (1, cvip_ack(8))], handshake=False)
    # Flow 1: the answer to the first goto is lost to the capture (its segment never
    # captured, though the client ACKs it); the second goto is answered.
    frames += conversation(40002, [(0, imgs.goto_request(1, 1_700_000_000_000)),
                                   (1, image(1, 800)),
                                   (0, imgs.goto_request(2, 1_700_000_000_000)),
                                   (1, image(2, 800))], skip=frozenset({1}))
    path = tmp_path / "pairing.pcap"
    write(path, frames)
    _, analysis = analyse(path)
    states = {(t.protocol, t.id): t.state for t in analysis.pairer.transactions}
    assert states == {("cvip", 7): "request_before_capture", ("cvip", 8): "answered",
                      ("imageserver", 1): "answer_lost", ("imageserver", 2): "answered"}
    rules = {f.rule: f.severity for f in analysis.findings if ".txn." in f.rule}
    assert rules == {"cvip.txn.request_before_capture": "info",
                     "imageserver.txn.answer_lost": "info"}
