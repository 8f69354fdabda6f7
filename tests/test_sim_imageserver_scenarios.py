"""ImageServer scenario transcripts for the capture synthesizer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cvipsniff.sim.imageserver.genericbytedata import read_video_packet
from cvipsniff.sim.imageserver.jpeg import jpeg_info
from cvipsniff.sim.imageserver.reader import ImageMessage, ServerStreamReader, XmlAnswer
from cvipsniff.sim.imageserver.scenarios import (
    build_scenarios,
    build_violation_scenarios,
    transcript_digest,
)
from cvipsniff.sim.imageserver.xmlread import parse_xml
from cvipsniff.sim.transcript import Scenario, WireMessage

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "docs" / "RULES.md"

# Built once per module: building is deterministic, so sharing loses nothing.
SCENARIOS = build_scenarios(1)
VIOLATIONS = build_violation_scenarios(1)


def _messages(scenario: Scenario) -> list[WireMessage]:
    return [m for conv in scenario.conversations for m in conv.messages]


def _fingerprint(scenarios: list[Scenario]) -> list:
    return [(s.name, [(c.client, c.server, [(m.direction, m.t_ms, m.data, m.truth)
                                            for m in c.messages])
                      for c in s.conversations]) for s in scenarios]


def test_deterministic_across_processes() -> None:
    """Same seed, another interpreter with another hash seed: the same bytes and times."""
    code = ("from cvipsniff.sim.imageserver.scenarios import *\n"
            "print(transcript_digest(build_scenarios(1) + build_violation_scenarios(1)))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "12345",
                                         "PYTHONPATH": str(ROOT)}, timeout=120, check=True)
    assert proc.stdout.strip() == transcript_digest(SCENARIOS + VIOLATIONS)
    assert transcript_digest(SCENARIOS) != transcript_digest(VIOLATIONS)


def test_deterministic_by_seed() -> None:
    assert _fingerprint(build_scenarios(1)) == _fingerprint(SCENARIOS)
    assert _fingerprint(build_violation_scenarios(1)) == _fingerprint(VIOLATIONS)
    other = build_violation_scenarios(2)
    assert _fingerprint(other) != _fingerprint(VIOLATIONS)
    assert [s.name for s in other] == [s.name for s in VIOLATIONS]


def test_scenario_set_and_names() -> None:
    names = [s.name for s in SCENARIOS + VIOLATIONS]
    assert len(set(names)) == len(names)
    assert {s.name for s in SCENARIOS} == {
        "imageserver-browse", "imageserver-live", "imageserver-multipart",
        "imageserver-control", "imageserver-connect-refused", "imageserver-large-image"}
    assert all(re.fullmatch(r"[a-z0-9-]+", n) for n in names)
    assert all(s.description for s in SCENARIOS + VIOLATIONS)


@pytest.mark.parametrize("scenario", SCENARIOS + VIOLATIONS, ids=lambda s: s.name)
def test_transcript_shape(scenario: Scenario) -> None:
    for conv in scenario.conversations:
        assert conv.transport == "tcp"
        assert conv.server == ("127.0.0.1", 7563) and conv.client[0] == "127.0.0.1"
        assert conv.messages and conv.messages[0].direction == 0  # the client speaks first
        times = [m.t_ms for m in conv.messages]
        assert times == sorted(times) and times[0] > 0
        for m in conv.messages:
            assert m.truth.protocol == "imageserver" and m.data
            assert m.truth.is_response == (m.truth.kind != "request")
            assert (m.truth.txn is None) == (m.truth.kind == "livepackage")
            assert (m.direction == 0) == (m.truth.kind == "request")
            assert m.data.endswith(b"\r\n\r\n")
    starts = [c.messages[0].t_ms for c in scenario.conversations]
    ends = [c.messages[-1].t_ms for c in scenario.conversations]
    assert all(s > e for s, e in zip(starts[1:], ends, strict=False))  # one after the other


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_conforming_scenarios_are_clean(scenario: Scenario) -> None:
    """No violations, every client check passed, and each message is what its truth says
    (read back with the client's own reader, never the dissector)."""
    for results in scenario.notes["client_results"]:
        assert [r["detail"] for r in results if not r["ok"]] == []
    for conv in scenario.conversations:
        reader = ServerStreamReader()
        for m in conv.messages:
            assert m.truth.violations == []
            if m.direction == 0:
                doc = parse_xml(m.data[:-4])
                assert not isinstance(doc, str)
                assert (doc.tag, doc.requestid, doc.methodname) == (
                    "methodcall", str(m.truth.txn), m.truth.method)
                continue
            (msg,) = reader.feed(m.data)
            if m.truth.kind == "imageresponse":
                assert isinstance(msg, ImageMessage) and msg.problems == []
                assert msg.requestid == str(m.truth.txn)
            else:
                assert isinstance(msg, XmlAnswer)
                doc = msg.message
                assert doc.tag == ("livepackage" if m.truth.kind == "livepackage"
                                   else "methodresponse")
                if doc.tag == "methodresponse":
                    assert (doc.requestid, doc.methodname) == (str(m.truth.txn),
                                                               m.truth.method)


def _pictures(scenario: Scenario) -> list[bytes]:
    out = []
    for m in _messages(scenario):
        if m.truth.kind != "imageresponse":
            continue
        (msg,) = ServerStreamReader().feed(m.data)
        bodies = [p.data for p in msg.parts] if msg.parts is not None else [msg.body]
        for body in bodies:
            packet = read_video_packet(body)
            out.append(packet[1] if packet is not None else body)
    return out


def test_pictures_are_small_except_the_large_image_scenario() -> None:
    for scenario in SCENARIOS:
        pictures = _pictures(scenario)
        if scenario.name == "imageserver-large-image":
            assert len(pictures) == 1 and len(pictures[0]) >= 200_000
            continue
        for picture in pictures:
            info = jpeg_info(picture)
            assert info is not None and (info.width, info.height) == (160, 120)
            assert len(picture) < 8000
    total = sum(len(m.data) for s in SCENARIOS for m in _messages(s))
    assert total < 600_000  # the capture corpus stays small


def test_a_sample_of_pictures_decodes_with_djpeg() -> None:
    djpeg = shutil.which("djpeg")
    if djpeg is None:
        pytest.skip("djpeg not installed (Debian package libjpeg-turbo-progs)")
    sample = [p for s in SCENARIOS for p in _pictures(s)[:2]]
    for picture in sample:
        proc = subprocess.run([djpeg, "-pnm"], input=picture, capture_output=True,
                              timeout=30, check=False)
        assert proc.returncode == 0 and proc.stderr == b""


def test_every_request_type_appears() -> None:
    methods = {m.truth.method for s in SCENARIOS for m in _messages(s) if m.direction == 0}
    assert methods == {"connect", "connectupdate", "goto", "next", "previous",
                       "nextsequence", "previoussequence", "begin", "end", "alarms", "live",
                       "changelivecompressionrate", "stop", "ptz", "ptzcenter",
                       "ptzrectangle", "preset", "output", "aviinformation"}


def test_live_notes_describe_the_stream_and_the_unanswered_adaptive_requests() -> None:
    (live,) = [s for s in SCENARIOS if s.name == "imageserver-live"]
    (stream,) = live.notes["live_streams"]
    frames = [m for m in _messages(live) if m.truth.kind == "imageresponse"]
    packages = [m for m in _messages(live) if m.truth.kind == "livepackage"]
    assert stream["imageresponses"] == len(frames) >= 8
    assert stream["livepackages"] == len(packages) >= 2
    assert all(f.truth.txn == stream["requestid"] and f.truth.method == "live" for f in frames)
    silent = live.notes["no_response_by_design"]
    assert [n["method"] for n in silent] == ["live", "live"]
    answered = {m.truth.txn for m in _messages(live) if m.direction == 1}
    assert not any(n["requestid"] in answered for n in silent)


def test_refused_connect_then_a_new_connection() -> None:
    (refused,) = [s for s in SCENARIOS if s.name == "imageserver-connect-refused"]
    first, second = refused.conversations
    assert len(first.messages) == 2
    answer = parse_xml(first.messages[1].data[:-4])
    assert answer.text("connected") == "no" and answer.text("errorreason")
    assert first.client != second.client
    assert second.messages[-1].truth.kind == "imageresponse"


EXPECTED_VIOLATIONS = {
    "imageserver-violation-methodname-mismatch": [("response",
                                                   "imageserver.txn.methodname_mismatch")],
    "imageserver-violation-requestid-mismatch": [("request", "imageserver.txn.unanswered"),
                                                 ("response",
                                                  "imageserver.txn.orphan_response")],
    "imageserver-violation-content-length": [("imageresponse",
                                              "imageserver.image.content_length")],
    "imageserver-violation-multipart-no-closing-boundary": [
        ("imageresponse", "imageserver.multipart.structure")],
    "imageserver-violation-multipart-part-without-length": [
        ("imageresponse", "imageserver.multipart.structure")],
    "imageserver-violation-connect-errorreason": [("response",
                                                   "imageserver.connect.errorreason")],
    "imageserver-violation-unknown-status-item": [("livepackage",
                                                   "imageserver.live.status_item")],
    "imageserver-violation-malformed-xml": [("livepackage", "imageserver.xml.malformed")],
    "imageserver-violation-bad-yes-no": [("request", "imageserver.field.yesno")],
    "imageserver-violation-wrong-answer-kind": [("response",
                                                 "imageserver.txn.wrong_answer_kind")],
    "imageserver-violation-unknown-method": [("request", "imageserver.method.unknown")],
    "imageserver-violation-missing-element": [("request", "imageserver.field.missing")],
    "imageserver-violation-malformed-time": [("imageresponse", "imageserver.field.time")],
    "imageserver-violation-privacy-mask": [("imageresponse",
                                            "imageserver.privacymask.syntax")],
    "imageserver-violation-unanswered": [("request", "imageserver.txn.unanswered")],
}


def test_each_violation_scenario_breaks_exactly_its_rules() -> None:
    assert {s.name for s in VIOLATIONS} == set(EXPECTED_VIOLATIONS)
    known = set(re.findall(r"^\| (imageserver\.[a-z_.]+) \|", RULES.read_text(), re.M))
    for scenario in VIOLATIONS:
        found = [(m.truth.kind, rule) for m in _messages(scenario) for rule in
                 m.truth.violations]
        assert found == EXPECTED_VIOLATIONS[scenario.name], scenario.name
        assert {rule for _, rule in found} <= known


# Faults in what the server sent (or failed to send); the other three are in requests,
# which the lenient reference server answers anyway.
CLIENT_NOTICES = set(EXPECTED_VIOLATIONS) - {"imageserver-violation-bad-yes-no",
                                             "imageserver-violation-unknown-method",
                                             "imageserver-violation-missing-element"}


def test_server_side_violations_are_caught_by_the_reference_client() -> None:
    """The client's checks are real: each broken or missing answer fails a step."""
    for scenario in VIOLATIONS:
        results = [r for conv in scenario.notes["client_results"] for r in conv]
        failed = [r["step"] for r in results if not r["ok"]]
        if scenario.name in CLIENT_NOTICES:
            assert len(failed) == 1, (scenario.name, failed)
        else:
            assert failed == [], (scenario.name, failed)


def test_violations_change_only_the_faulty_message() -> None:
    """Outside the broken message, a violation scenario looks like a conforming one."""
    for scenario in VIOLATIONS:
        for m in _messages(scenario):
            if m.truth.violations or m.direction == 0:
                continue
            if m.truth.kind == "imageresponse":
                (msg,) = ServerStreamReader().feed(m.data)
                assert isinstance(msg, ImageMessage) and msg.problems == []
            else:
                assert not isinstance(parse_xml(m.data[:-4]), str)


def test_specific_faults_are_in_the_bytes() -> None:
    by_name = {s.name: s for s in VIOLATIONS}

    def broken(name: str, direction: int | None = None) -> WireMessage:
        (msg,) = [m for m in _messages(by_name[name]) if m.truth.violations
                  and direction in (None, m.direction)]
        return msg

    assert b"<methodname>preset</methodname>" in broken(
        "imageserver-violation-methodname-mismatch").data
    orphan = broken("imageserver-violation-requestid-mismatch", direction=1)
    assert b"<requestid>99</requestid>" in orphan.data and orphan.truth.txn == 99
    errorless = broken("imageserver-violation-connect-errorreason").data
    assert b"<connected>no</connected>" in errorless and b"errorreason" not in errorless
    assert b'<statusitem id="42"' in broken("imageserver-violation-unknown-status-item").data
    assert b"--frontier--" not in broken(
        "imageserver-violation-multipart-no-closing-boundary").data
    assert b"Current: 2023-11-14T" in broken("imageserver-violation-malformed-time").data
    assert b"PrivacyMask: grid;4x3;1100;10;0000" in broken(
        "imageserver-violation-privacy-mask").data
    assert b"<keyframesonly>true</keyframesonly>" in broken(
        "imageserver-violation-bad-yes-no").data
    assert b"<time>" not in broken("imageserver-violation-missing-element").data
    lying = broken("imageserver-violation-content-length").data
    declared = int(re.search(rb"Content-length: (\d+)", lying).group(1))
    _, _, rest = lying.partition(b"\r\n\r\n")
    assert len(rest) - 4 == declared + 16
    unanswered = by_name["imageserver-violation-unanswered"]
    request = broken("imageserver-violation-unanswered")
    assert not any(m.direction == 1 and m.truth.txn == request.truth.txn
                   for m in _messages(unanswered))


def test_to_jsonable_round_trips_through_json() -> None:
    import json

    for scenario in SCENARIOS[:2] + VIOLATIONS[:2]:
        text = json.dumps(scenario.to_jsonable())
        assert scenario.name in text
