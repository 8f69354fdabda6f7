"""The field-shape captures (captures/field/, made by the reference peers): what real
recording servers and clients send, read end to end at the default and the strict
profile, and the generic byte data layouts decoded from the capture."""

from __future__ import annotations

from pathlib import Path

from cvipsniff.analysis.engine import Analysis
from cvipsniff.model import Message
from cvipsniff.pipeline import PipelineConfig, iter_capture

FIELD = Path(__file__).resolve().parent.parent / "captures" / "field"
SHAPES = {"imageserver.connect.cameraid", "imageserver.connect.basic_credentials",
          "imageserver.connect.success_reason", "imageserver.response.requestid",
          "imageserver.image.empty"}


def analyse(name: str, **imageserver: object) -> tuple[list[Message], Analysis]:
    config = PipelineConfig(dissector_options={"imageserver": imageserver})
    analysis, messages = Analysis(), []
    for item in iter_capture(str(FIELD / f"{name}.pcapng"), config):
        if isinstance(item, Message):
            messages.append(item)
        analysis.add(item)
    analysis.finish()
    return messages, analysis


def graded(analysis: Analysis) -> set[tuple[str, str]]:
    return {(f.rule, f.severity) for f in analysis.findings if f.rule in SHAPES}


def test_field_shapes_are_warnings_or_info_by_default_and_errors_when_strict() -> None:
    default = graded(analyse("imageserver-field-connect")[1]) | graded(
        analyse("imageserver-field-answers")[1])
    assert {rule for rule, _ in default} == SHAPES
    assert {severity for _, severity in default} == {"warning", "info"}
    strict = graded(analyse("imageserver-field-connect", profile="strict")[1]) | graded(
        analyse("imageserver-field-answers", profile="strict")[1])
    assert strict == {(rule, "error") for rule in SHAPES}


def test_answers_without_requestid_are_paired_with_their_request() -> None:
    _, analysis = analyse("imageserver-field-answers")
    by_order = [f for f in analysis.findings if f.rule == "imageserver.txn.paired_by_order"]
    assert len(by_order) == 2 and {f.severity for f in by_order} == {"info"}
    paired = {t.method: t for t in analysis.transactions if t.request is not None}
    assert paired["ptz"].state == "answered" and paired["next"].state == "answered"
    assert not [f for f in analysis.findings if f.rule.endswith(("orphan_response",
                                                                 "unanswered"))]


def test_connect_checks_the_field_needs() -> None:
    _, analysis = analyse("imageserver-field-connect")
    rules = {(f.rule, f.severity) for f in analysis.findings}
    assert ("imageserver.connect.guid", "error") in rules
    assert ("imageserver.txn.connectupdate_id", "warning") in rules


def test_video_blocks_and_multi_packets_are_decoded_from_the_capture() -> None:
    messages, analysis = analyse("imageserver-field-generic-byte-data")
    assert not [f for f in analysis.findings if f.severity in ("warning", "error")]
    layouts = [p["layout"] for m in messages for p in m.record.attrs.get("gbd_packets", [])]
    assert layouts.count("video block") == 6 and layouts.count("video stream packet") == 6
    wrapped = [f for m in messages for f in m.record.walk()
               if f.key == "imageserver.gbd.packet" and f.value == "multi packet"]
    assert len(wrapped) == 6
    assert {c.value for w in wrapped for c in w.children
            if c.key == "imageserver.gbd.packet"} == {"video stream packet", "audio packet"}
    for m in messages:
        for p in m.record.attrs.get("gbd_packets", []):
            assert p["codec"] == "JPEG" and p["keyframe"] is True and p["payload_length"] > 0
