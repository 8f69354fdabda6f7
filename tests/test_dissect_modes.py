"""Lean mode (``tree=False``) against full mode: the same records, without the Field tree.

Batch reports need only what a record says about a message, not where each field's bytes
are, so the pipeline asks the dissectors for lean records (``PipelineConfig.tree=False``
passes ``options={"tree": False}``). The guarantee checked here: ``protocol``, ``kind``,
``txn``, ``is_response``, ``method``, ``info``, ``attrs`` and ``problems`` (rule, severity,
message, spec) are exactly those of full mode; ``fields`` is empty; a problem's offset is
either the one full mode gives or -1. Over every message of every bundled capture, the
spec examples of both protocols, hostile and malformed bodies, and random damage to them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvipsniff.model import Message
from cvipsniff.pipeline import PipelineConfig, iter_capture
from cvipsniff.sim.imageserver.genericbytedata import (
    audio_packet,
    multi_packet,
    video_block,
    video_packet,
)
from dissectors.base import Record
from dissectors.cvip import dissect as cvip_dissect
from dissectors.cvip import encode_message, xmlparse
from dissectors.cvip.xmlrpc import SCHEMA
from dissectors.imageserver import dissect as imageserver_dissect
from dissectors.imageserver import values as imageserver_values
from tests.conftest import CAPTURES
from tests.test_cvip_record import CONSTRUCTED
from tests.test_cvip_record import corpus as cvip_corpus
from tests.test_cvip_xml import BILLION_LAUGHS
from tests.test_imageserver_field_shapes import SHAPES
from tests.test_imageserver_imageresponse import GBD, gbd, image, jpeg, multipart
from tests.test_imageserver_spec_examples import (
    EXAMPLES,
    IMAGE_MULTIPART_LAYOUT,
    IMAGE_SINGLE_LAYOUT,
)

CAPTURE_FILES = sorted(p for p in CAPTURES.rglob("*") if p.name.endswith((".pcap", ".pcapng",
                                                                          ".pcap.gz")))
LEAN = {"tree": False}


def comparable(record: Record) -> tuple:
    """Everything lean mode must reproduce exactly."""
    return (record.protocol, record.kind, record.txn, record.is_response, record.method,
            record.info, record.attrs,
            [(p.rule, p.severity, p.message, p.spec) for p in record.problems])


def assert_same(full: Record, lean: Record) -> None:
    assert comparable(lean) == comparable(full)
    assert lean.fields == []
    for mine, theirs in zip(lean.problems, full.problems, strict=True):
        assert mine.offset in (-1, theirs.offset)
        if mine.offset >= 0:
            assert mine.length == theirs.length


def both(dissect, data: bytes, transport: str = "tcp", **options: object) -> None:
    full = dissect(data, transport, dict(options) if options else None)
    lean = dissect(data, transport, {**options, **LEAN})
    assert_same(full, lean)


# ---- every message of every capture ------------------------------------------------------


def test_the_capture_corpus_is_there():
    assert len(CAPTURE_FILES) >= 40


@pytest.mark.parametrize("path", CAPTURE_FILES, ids=lambda p: str(p.relative_to(CAPTURES)))
def test_every_capture_message_is_the_same_in_both_modes(path: Path):
    full = [m for m in iter_capture(str(path), PipelineConfig(keep_data=False))
            if isinstance(m, Message)]
    lean = [m for m in iter_capture(str(path), PipelineConfig(keep_data=False, tree=False))
            if isinstance(m, Message)]
    assert full and [m.number for m in lean] == [m.number for m in full]
    assert any(m.record.fields for m in full)  # full mode really builds the tree
    for f, lm in zip(full, lean, strict=True):
        assert (lm.frames, lm.flow, lm.direction) == (f.frames, f.flow, f.direction)
        assert_same(f.record, lm.record)


# ---- the spec examples ---------------------------------------------------------------------


@pytest.mark.parametrize("data", cvip_corpus(), ids=lambda d: d[9:40].decode("latin-1"))
@pytest.mark.parametrize("options", [{}, {"strict_spelling": True, "strict_instances": True},
                                     {"ack_table": "either", "guid_format": "spec"},
                                     {"size_includes_header": False}], ids=str)
def test_cvip_examples_are_the_same_in_both_modes(data: bytes, options: dict):
    both(cvip_dissect, data, **options)
    both(cvip_dissect, data, "udp", **options)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_imageserver_examples_are_the_same_in_both_modes(name: str):
    both(imageserver_dissect, EXAMPLES[name].encode())
    both(imageserver_dissect, EXAMPLES[name].encode() + b"\r\n\r\n", strict_yesno=True)


def _wire(layout: str) -> bytes:
    return "\r\n".join("" if line == "\xa0" else line for line in layout.split("\n")).encode()


IMAGE_RESPONSES = {
    "single layout": _wire(IMAGE_SINGLE_LAYOUT) + b"\r\n",
    "multipart layout": _wire(IMAGE_MULTIPART_LAYOUT),
    "jpeg": image(jpeg(640, 480, 2000)),
    "jpeg with a grid mask": image(jpeg(8, 8, 300), extra="PrivacyMask: grid;3x2;101;010\r\n"),
    "bad mask": image(jpeg(8, 8, 300), extra="PrivacyMask: grid;3x2;1x1\r\n"),
    "not a jpeg": image(b"\x00" * 64),
    "length lies": image(jpeg(8, 8, 300), length=299),
    "generic byte data": image(gbd(jpeg(16, 8, 400)), content_type=GBD),
    "multipart": multipart([(gbd(b"\x00" * 40), GBD), (jpeg(4, 4, 200), "image/jpeg")]),
    "multipart not closed": multipart([(gbd(b"\x01" * 40), GBD)], close=False),
    "multipart lengths lie": multipart([(gbd(b"\x01" * 40), GBD)], lengths=[10]),
    "cut short": image(jpeg(64, 64, 3000))[:1200],
    "header only": b"ImageResponse\r\nRequestId: x\r\nContent-length: 4",
    "empty database answer": SHAPES["empty database answer"][0],
    "no RequestId": SHAPES["ImageResponse without RequestId"][0],
    "video block": image(video_block(jpeg(16, 8, 400), codec=1, first_time_ms=1, last_time_ms=2,
                                     pictures=1, extension=b"\x00" * 8), content_type=GBD),
    "multi packet": multipart([(multi_packet(video_packet(jpeg(8, 8, 300), sequence=1,
                                                          picture_time_ms=5),
                                             audio_packet(b"\x01" * 20)), GBD)]),
}


@pytest.mark.parametrize("name", sorted(IMAGE_RESPONSES))
def test_image_responses_are_the_same_in_both_modes(name: str):
    both(imageserver_dissect, IMAGE_RESPONSES[name])
    both(imageserver_dissect, IMAGE_RESPONSES[name], strict_image_headers=True,
         reveal_secrets=True)
    both(imageserver_dissect, IMAGE_RESPONSES[name], profile="strict")


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_field_shapes_are_the_same_in_both_modes(name: str):
    both(imageserver_dissect, SHAPES[name][0])
    both(imageserver_dissect, SHAPES[name][0], profile="strict")


# ---- hostile and malformed bodies: the lean path hands them to the full path ---------------


def _call(params: str) -> bytes:
    return (f"<methodCall><methodName>cviPtz.cmd</methodName><params>{params}</params>"
            "</methodCall>").encode()


HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "deep": b"<methodCall><params><param>" + b"<value><array><data>" * 80
            + b"</data></array></value>" * 80 + b"</param></params></methodCall>",
    "very deep": b"<a>" * 3000 + b"</a>" * 3000,
    "many elements": _call("<param><value><int>1</int></value></param>" * 400),
    "comments and cdata": _call("<param><value><string>a<!-- x -->b<![CDATA[<c>]]></string>"
                                "</value></param><!-- y --><param><value>z</value></param>"),
    "namespaces": b'<methodCall xmlns="urn:x"><methodName>cviPtz.cmd</methodName>'
                  b'<params><param><value><xml:int>3</xml:int></value></param></params>'
                  b"</methodCall>",
    "unknown entity": _call("<param><value><string>a&nope;b</string></value></param>"),
    "not closed": _call("<param><value><struct><member><name>CmdType</name>"),
    "swapped end tags": _call("<param><value><struct><member><name>a</name><value>1"
                              "</value></struct></member></value></param>"),
    "wrong types": _call("<param><value><int>x</int></value></param>"
                         "<param><value><boolean>true</boolean></value></param>"
                         "<param><value><iint>4</iint></value></param>"
                         "<param><value><double>1e</double></value></param>"),
    "text beside values": _call("<param><value> x <int>1</int> y </value></param>"),
    "encoding": b'<?xml version="1.0" encoding="latin-1"?><methodCall><methodName>a.b'
                b"</methodName><params><param><value>\xe9</value></param></params>"
                b"</methodCall>",
    "unsupported encoding": b'<?xml version="1.0" encoding="x-nope"?><methodCall/>',
    "junk": b"\x00\x01<<<>>>",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_cvip_bodies_are_the_same_in_both_modes(name: str):
    data = encode_message(HOSTILE[name], 7)
    both(cvip_dissect, data)
    both(cvip_dissect, data, xml_depth_cap=8, xml_element_cap=60, xml_size_cap=2000)


_TOKENS = [b"<", b">", b"</value>", b"<value>", b"<struct>", b"</member>", b"<!-- c -->",
           b"&amp;", b"&bad;", b"<![CDATA[x]]>", b"<int>", b"</int>", b"\xff", b"\r\n",
           b' xmlns="urn:y"', b"<!DOCTYPE d>", b"<?pi?>", b"<a/>", b"yes", b"\x00"]
_SEEDS_CVIP = [d for d in cvip_corpus() if len(d) > 40]
_SEEDS_IMAGESERVER = [e.encode() for e in EXAMPLES.values()] + list(IMAGE_RESPONSES.values())


def _damage(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    out = bytearray(data)
    for where, what, size in edits:
        at = where % (len(out) + 1)
        if what < len(_TOKENS):
            out[at:at] = _TOKENS[what]
        else:
            del out[at:at + size]
    return bytes(out)


_EDITS = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, len(_TOKENS)),
                            st.integers(1, 30)), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(_SEEDS_CVIP), edits=_EDITS)
def test_damaged_cvip_messages_are_the_same_in_both_modes(seed: bytes, edits):
    body = _damage(seed[9:], edits)
    both(cvip_dissect, encode_message(body, 3, response=b"Response" in seed[:40]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(_SEEDS_IMAGESERVER), edits=_EDITS)
def test_damaged_imageserver_messages_are_the_same_in_both_modes(seed: bytes, edits):
    both(imageserver_dissect, _damage(seed, edits))


def test_a_secret_element_that_swallows_the_rest_masks_alike_in_both_modes():
    """A password element left open takes the rest of the document as its content, and
    the values in it are masked wherever they appear (here the requestid in the
    summary): lean mode, which has no tree to find them in, masks the same (found by
    the test above on a damaged example)."""
    message = (b"<?xml version='1.0' encoding='UTF-8'?><methodcall><requestid>123456</requestid>"
               b"<methodname>connect</methodname><username>u</username>"
               b"<password>pw<>/password><cameraid>123456</cameraid>"
               b"<alwaysstdjpeg>yes</alwaysstdjpeg></methodcall>\r\n\r\n")
    full = imageserver_dissect(message, "tcp", None)
    assert "<masked" in full.info
    both(imageserver_dissect, message)


# ---- lean mode is lean -----------------------------------------------------------------------


def test_lean_cvip_makes_no_pass_over_the_tags(monkeypatch: pytest.MonkeyPatch):
    """A well-formed body costs one lxml parse: the tag-pairing and token passes of the
    full path are never called (they would raise here)."""

    def forbidden(*_args: object) -> None:
        raise AssertionError("a Python pass over the body in lean mode")

    monkeypatch.setattr(xmlparse, "_pair", forbidden)
    monkeypatch.setattr(xmlparse, "_tokens", forbidden)
    for body in CONSTRUCTED:
        data = encode_message(body, 2, response=body.startswith(b"<methodResponse"))
        lean = cvip_dissect(data, "tcp", LEAN)
        assert lean.attrs["xml_well_formed"] and lean.kind != "unknown"
        assert "dissector_error" not in {p.rule for p in lean.problems}
        # The full parse pairs tags: proof the hook works (called directly, since the
        # compiled accelerator, when built, answers full mode for plain bodies itself).
        with pytest.raises(AssertionError, match="Python pass"):
            xmlparse.parse_body(data[9:], SCHEMA, xmlparse.Limits(8 << 20, 64, 50_000))


def test_lean_imageserver_formats_no_display_text(monkeypatch: pytest.MonkeyPatch):
    """Dates shown beside millisecond times are display text: lean mode never makes them."""
    request = EXAMPLES["goto_request"].replace("[milliseconds  since UNIX epoch]",
                                               "1700000000000").encode()
    called: list[int] = []
    real = imageserver_values.format_ms
    monkeypatch.setattr(imageserver_values, "format_ms",
                        lambda ms: called.append(ms) or real(ms))
    lean = imageserver_dissect(request, "tcp", LEAN)
    assert not called and lean.fields == []
    full = imageserver_dissect(request, "tcp")
    assert called and full.fields
    assert comparable(lean) == comparable(full)


def test_options_mapping_changed_between_calls_takes_effect():
    """The dissectors remember the last options mapping; a caller that changes it in place
    (or passes a value of the wrong kind) must still get what it asks for."""
    data = encode_message(_call("<param><value><int>1</int></value></param>"), 2)
    options: dict[str, object] = {"tree": False}
    assert cvip_dissect(data, "tcp", options).fields == []
    options["tree"] = True
    assert cvip_dissect(data, "tcp", options).fields
    options["tree"] = 0  # not a bool: refused (the remembered mapping is not reused)
    assert [p.rule for p in cvip_dissect(data, "tcp", options).problems] == ["dissector_error"]
    options["tree"] = False
    assert cvip_dissect(data, "tcp", options).fields == []
    image_options: dict[str, object] = {"tree": False}
    assert imageserver_dissect(IMAGE_RESPONSES["jpeg"], "tcp", image_options).fields == []
    image_options["tree"] = True
    assert imageserver_dissect(IMAGE_RESPONSES["jpeg"], "tcp", image_options).fields

