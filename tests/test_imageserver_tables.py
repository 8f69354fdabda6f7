"""The spec tables as data: catalogue completeness, what answers what, citations, rule ids,
filter keys and the ProtocolSpec the engine registers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import dissectors.imageserver as imageserver
from dissectors.base import FieldInfo, ProtocolSpec
from dissectors.imageserver import rules as R
from dissectors.imageserver.fields import FIELD_KEYS, FIELDS
from dissectors.imageserver.tables import (
    ANSWERED_BY,
    IMAGE_HEADERS,
    LIVEPACKAGE,
    METHODS,
    SPEC,
    STATUS_ITEMS,
    Answer,
    Element,
    Form,
    answer_for,
    is_adaptive_streaming_only,
    request_shape,
)

ROOT = Path(__file__).resolve().parent.parent
SPEC_TEXT = ROOT.parent / "shared" / "spec" / SPEC

# NOTES.md ImageServer item 3, restated independently of the tables.
IMAGE_METHODS = {"goto", "next", "previous", "nextsequence", "previoussequence", "begin", "end"}
XML_METHODS = {"connect", "connectupdate", "alarms", "changelivecompressionrate", "stop", "ptz",
               "ptzcenter", "ptzrectangle", "preset", "output", "aviinformation"}


def test_catalogue_has_every_method_of_the_document() -> None:
    assert set(METHODS) == IMAGE_METHODS | XML_METHODS | {"live"}


def test_answered_by() -> None:
    expected = {**{m: "image" for m in IMAGE_METHODS}, **{m: "xml" for m in XML_METHODS},
                "live": "stream"}
    assert dict(ANSWERED_BY) == expected
    for name, method in METHODS.items():
        assert (method.response is not None) == (method.answered_by is Answer.XML), name


def test_answer_for_live_variants() -> None:
    assert answer_for("live", ["requestid", "methodname"]) is Answer.STREAM
    assert answer_for("live", ["requestid", "methodname", "adaptivestreaming"]) is Answer.NONE
    assert answer_for("live", ["adaptivestreaming", "sendinitialimage"]) is Answer.STREAM
    assert answer_for("goto") is Answer.IMAGE
    assert answer_for("nosuchmethod") is None and answer_for(None) is None
    assert is_adaptive_streaming_only({"adaptivestreaming"})
    assert not is_adaptive_streaming_only(set())


def test_request_shape_picks_the_variant() -> None:
    alarms = METHODS["alarms"]
    assert request_shape(alarms, ["starttime", "stoptime"]) is alarms.requests[0]
    assert request_shape(alarms, ["centertime", "numalarms", "timespan"]) is alarms.requests[1]
    assert request_shape(alarms, ["numalarms"]) is alarms.requests[1]
    assert request_shape(alarms, []) is alarms.requests[0]


def test_status_item_table() -> None:
    assert sorted(STATUS_ITEMS) == [1, 2, 3, 4, 5, 6, 7, 100]
    assert STATUS_ITEMS[5].name == "Camera connection lost"
    assert STATUS_ITEMS[100].name == "Client Live feed stopped"
    status = LIVEPACKAGE.element("status")
    assert status is not None and status.child("statustime").rule == R.LIVE_STATUSTIME


def test_every_request_starts_with_the_envelope() -> None:
    for method in METHODS.values():
        shapes = [*method.requests, *([method.response] if method.response else [])]
        for shape in shapes:
            assert [e.name for e in shape.elements[:2]] == ["requestid", "methodname"]
            assert all(e.required for e in shape.elements[:2])


def _elements(elements: tuple[Element, ...]):
    for e in elements:
        yield e
        yield from _elements(e.children)


def test_table_entries_are_consistent() -> None:
    for method in METHODS.values():
        for shape in (*method.requests, method.response):
            if shape is None:
                continue
            names = [e.name for e in shape.elements]
            assert len(names) == len(set(names)), method.name
            for e in _elements(shape.elements):
                assert (e.form is Form.ENUM) == bool(e.values), e.name
                assert not e.children or e.form is Form.CONTAINER, e.name
                assert not e.choice or e.children, e.name
                for a in e.attributes:
                    assert (a.form is Form.ENUM) == bool(a.values), a.name


def test_sections_cite_headings_of_the_document() -> None:
    if not SPEC_TEXT.exists():
        pytest.skip("the shared spec document is not next to the repository")
    lines = {line.strip() for line in SPEC_TEXT.read_text(encoding="utf-8").splitlines()}
    cited = {imageserver.tables.S_PRIVACY_MASK}
    for method in METHODS.values():
        cited |= {method.section, method.response_section, *(s.section for s in method.requests)}
        if method.response:
            cited.add(method.response.section)
    cited.add(LIVEPACKAGE.section)
    for citation in cited:
        assert citation.startswith(f"{SPEC} § ")
        for heading in citation.removeprefix(f"{SPEC} § ").split(" › "):
            assert heading in lines, heading


def test_image_headers_follow_the_layout() -> None:
    assert [h.name for h in IMAGE_HEADERS] == [
        "RequestId", "PrivacyMask", "Restriction", "Prev", "Current", "Next", "SequenceNumber",
        "MotionLevel", "Content-length", "Content-type"]


# ---- rules -----------------------------------------------------------------------------------


def test_rule_ids_are_in_the_catalogue_unless_proposed() -> None:
    catalogue = (ROOT / "docs" / "RULES.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| ([a-z_.]+) \|", catalogue, re.M))
    for rule in R.RULES.values():
        assert rule.id.startswith("imageserver.") or rule.id == "dissector_error"
        if not rule.proposed:
            assert rule.id in listed, rule.id
    ours = {r for r in listed if r.startswith("imageserver.") and ".txn." not in r}
    assert ours <= set(R.RULES)


def test_every_rule_used_in_the_code_is_declared() -> None:
    package = ROOT / "dissectors" / "imageserver"
    used = set()
    for path in package.glob("*.py"):
        used |= set(re.findall(r"rules\.([A-Z_]+)\b", path.read_text(encoding="utf-8")))
    constants = {name for name in dir(R) if name.isupper() and name != "RULES"}
    assert used <= constants
    assert {getattr(R, name) for name in used} <= set(R.RULES)


# ---- fields and the protocol spec ------------------------------------------------------------


def test_field_catalogue() -> None:
    assert all(isinstance(f, FieldInfo) for f in FIELDS)
    keys = [f.key for f in FIELDS]
    assert len(keys) == len(set(keys)) == len(FIELD_KEYS)
    assert all(re.fullmatch(r"imageserver(\.[a-z0-9_]+)+", k) for k in keys)
    for key in ("imageserver.requestid", "imageserver.methodname", "imageserver.kind",
                "imageserver.header.privacymask", "imageserver.jpeg.width",
                "imageserver.transcode.width", "imageserver.alarms.alarm.numimages",
                "imageserver.status.statusitem.id", "imageserver.part.header.content_type"):
        assert key in FIELD_KEYS, key
    types = {f.type for f in FIELDS}
    assert types <= {"int", "bool", "time", "float", "string", "none", "bytes"}


def test_protocol_spec() -> None:
    spec = imageserver.PROTOCOL
    assert isinstance(spec, ProtocolSpec)
    assert (spec.name, spec.tcp_ports, spec.udp_ports) == ("imageserver", (7563,), ())
    assert spec.fields is FIELDS
    framer = spec.new_framer()
    assert framer.feed(b"<methodcall><requestid>1</requestid><methodname>stop</methodname>"
                       b"</methodcall>\r\n\r\n")[0].data.startswith(b"<methodcall>")
    assert spec.dissect(b"ImageResponse\r\n\r\n", "tcp").kind == "imageresponse"
    assert spec.dissect(b"<livepackage/>", "tcp", options={"strict_yesno": True}).kind == \
        "livepackage"
    assert spec.detect(b"ImageResponse\r\n", "tcp", 50000, 9999) >= 50
