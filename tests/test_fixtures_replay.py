"""``cvipsniff replay`` end to end over 127.0.0.1: the reference peers' recorded sessions
replayed against fresh reference servers (pass) and against deliberately broken ones
(each fault gives its own verdict on exactly the transaction it breaks)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from cvipsniff.fixtures import read_set
from cvipsniff.fixtures.replay import Options, replay
from cvipsniff.sim.cvip.encode import fault as fault_body
from cvipsniff.sim.cvip.encode import frame
from dissectors.cvip.header import parse_header
from tests import fixture_helpers
from tests.cli_helpers import assert_clean_error, run_cli
from tests.fixture_helpers import HOST, FaultyRelay
from tests.live_helpers import Peers

recorded = fixture_helpers.recorded  # the session-scoped recording, shared


@pytest.fixture
def peers() -> Iterator[Peers]:
    started = Peers.start()
    try:
        yield started
    finally:
        started.close()


def test_the_recording_holds_both_protocols(recorded: Path) -> None:
    fixtures = read_set(recorded)
    txns = [t for _, t in fixtures.transactions()]
    protocols = {t["protocol"] for t in txns}
    assert protocols == {"cvip", "cvip-ping", "imageserver"}
    states = {t["state"] for t in txns}
    assert "event" in states and "answered" in states
    assert any(t["expects"] == "many" for t in txns)  # the live stream


def test_replay_against_the_reference_servers_passes(recorded: Path, peers: Peers,
                                                     tmp_path: Path) -> None:
    cvip = run_cli("replay", str(recorded), "--target", f"{HOST}:{peers.ports['tcp']}",
                   "--protocol", "cvip", "--format", "junit", "-o", str(tmp_path / "c.xml"))
    assert cvip.code == 0, (cvip.stdout, cvip.stderr)
    image = run_cli("replay", str(recorded), "--target", f"{HOST}:{peers.imageserver_port}",
                    "--protocol", "imageserver", "--format", "json")
    assert image.code == 0, image.stdout
    report = json.loads(image.stdout)
    assert report["ok"] and report["summary"]["pass"] == len(report["transactions"]) > 5
    fixtures = read_set(recorded)
    cvip_txns = [t for f, t in fixtures.transactions() if "imageserver" not in f["protocols"]]
    cases = ET.parse(tmp_path / "c.xml").getroot().iter("testcase")
    names = [c.get("name") for c in cases]
    assert len(names) == len(cvip_txns)
    assert any("cviEvent.notify" in n for n in names)
    assert any("id=77" in n for n in names)  # the UDP ping


def _body_edit(edit: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def apply(data: bytes) -> bytes:
        header = parse_header(data)
        assert header is not None
        return frame(edit(data[9:]), header.txn, response=header.response)
    return apply


def _wrong_txn(data: bytes) -> bytes:
    header = parse_header(data)
    assert header is not None
    return frame(data[9:], (header.txn + 5) & 0x7FFF, response=True)


def _bit_clear(data: bytes) -> bytes:
    header = parse_header(data)
    assert header is not None
    return frame(data[9:], header.txn, response=False)


def _drop_member(body: bytes) -> bytes:
    start = body.index(b"<member>")
    return body[:start] + body[body.index(b"</member>", start) + len(b"</member>"):]


FAULTS = {
    "wrong transaction number": (_wrong_txn, "differs", "pairing"),
    "response bit clear": (_bit_clear, "violation", "cvip.header.response_bit"),
    "non-XML-RPC body": (_body_edit(lambda b: b"HTTP/1.1 200 OK\r\n\r\nhello"), "violation",
                         "cvip.x"),
    "wrong answer kind": (_body_edit(lambda b: fault_body(4, "nope")), "differs",
                          "kind: response → fault"),
    "missing answer": (lambda data: None, "missing", "no answer"),
    "dropped parameter": (_body_edit(_drop_member), "differs", "missing"),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_replay_against_a_broken_server_fails_on_that_transaction(
        name: str, recorded: Path, peers: Peers) -> None:
    # (the 3 s timeout also covers the reference device's event cycle: after the first
    # unsubscribe, the next video-input event is up to 1.2 s away)
    fault, verdict, detail = FAULTS[name]
    relay = FaultyRelay(peers.ports["tcp"], "cvip", "cviNetwork.getProperties", fault)
    port = peers.runner.call(relay.start())
    try:
        verdicts, _ = replay([read_set(recorded)],
                             Options(HOST, port, "cvip", timeout=3.0,
                                     port_map={("udp", 7110): peers.ports["udp"]}))
    finally:
        peers.runner.call(relay.close())
    assert relay.applied == 1
    failed = [v for v in verdicts if v.verdict != "pass"]
    assert [(v.method, v.verdict) for v in failed] == [("cviNetwork.getProperties", verdict)], \
        [(v.method, v.verdict, v.details) for v in failed]
    assert any(detail in line for line in failed[0].details), failed[0].details
    assert len(verdicts) > 10


def test_replay_of_a_capture_and_exit_statuses(peers: Peers, tmp_path: Path) -> None:
    from tests.conftest import CAPTURES

    capture = CAPTURES / "scenarios" / "cvip-configure.pcapng"
    ok = run_cli("replay", str(capture), "--target", f"{HOST}:{peers.ports['tcp']}")
    assert ok.code == 0, ok.stdout
    assert "14 transaction(s): 14 pass" in ok.stdout
    closed = run_cli("replay", str(capture), "--target", f"{HOST}:1", "--timeout", "1")
    assert_clean_error(closed, "cannot connect")
    assert_clean_error(run_cli("replay", str(capture), "--target", "nowhere"), "HOST:PORT")
    assert_clean_error(run_cli("replay", str(tmp_path / "none"), "--target", f"{HOST}:1"),
                       "no such file")


def test_an_answer_the_capture_lost_is_judged_on_conformance(recorded: Path,
                                                              peers: Peers) -> None:
    fixtures = read_set(recorded)
    (lost,) = [t for _, t in fixtures.transactions()
               if t["method"] == "cviNetwork.getProperties"]
    lost["state"], lost["responses"], lost["latency_ms"] = "answer_lost", [], None
    options = Options(HOST, peers.ports["tcp"], "cvip", timeout=3.0)
    verdicts, _ = replay([fixtures], options)
    judged = next(v for v in verdicts if v.transaction == lost["number"])
    assert judged.verdict == "pass" and judged.latency_ms is not None
    relay = FaultyRelay(peers.ports["tcp"], "cvip", "cviNetwork.getProperties", _bit_clear)
    port = peers.runner.call(relay.start())
    try:
        verdicts, _ = replay([fixtures], Options(HOST, port, "cvip", timeout=3.0, port_map={
            ("udp", 7110): peers.ports["udp"]}))
    finally:
        peers.runner.call(relay.close())
    judged = next(v for v in verdicts if v.transaction == lost["number"])
    assert judged.verdict == "violation"
    assert any("cvip.header.response_bit" in d for d in judged.details)


def test_replay_against_a_broken_imageserver(recorded: Path, peers: Peers) -> None:
    def drop_element(data: bytes) -> bytes:
        assert b"<alwaysstdjpeg>yes</alwaysstdjpeg>" in data
        return data.replace(b"<alwaysstdjpeg>yes</alwaysstdjpeg>", b"", 1)

    relay = FaultyRelay(peers.imageserver_port, "imageserver", "connect", drop_element)
    port = peers.runner.call(relay.start())
    try:
        verdicts, _ = replay([read_set(recorded)], Options(HOST, port, "imageserver"))
    finally:
        peers.runner.call(relay.close())
    failed = [(v.method, v.verdict, v.details) for v in verdicts if v.verdict != "pass"]
    assert failed == [("connect", "differs", ["- methodresponse/alwaysstdjpeg (boolean) missing"])]


def test_a_target_that_hangs_up_gives_missing_verdicts(recorded: Path, peers: Peers) -> None:
    async def hang_up(reader, writer) -> None:
        writer.close()

    async def listen():
        server = await asyncio.start_server(hang_up, HOST, 0)
        return server, server.sockets[0].getsockname()[1]

    server, port = peers.runner.call(listen())
    try:
        result = run_cli("replay", str(recorded), "--target", f"{HOST}:{port}", "--protocol",
                         "imageserver", "--timeout", "1", "--format", "json")
    finally:
        server.close()
    assert result.code == 1, result.stderr
    verdicts = json.loads(result.stdout)["transactions"]
    awaited = [v for v in verdicts if v["details"] != ["no answer expected"]]
    assert awaited and {v["verdict"] for v in awaited} == {"missing"}
    assert any("closed the connection" in v["details"][0] for v in awaited)
