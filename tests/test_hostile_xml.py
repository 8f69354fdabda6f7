"""Regression tests for hostile XML found by fuzzing (issue 14): each input here failed
before its fix (quadratic time, a dissector error, a DTD that slipped past the refusal)."""

from __future__ import annotations

import pytest

from dissectors.cvip import dissect as dissect_cvip
from dissectors.cvip import encode_message
from dissectors.imageserver import dissect as dissect_imageserver
from dissectors.xmlcodec import narrow_view, text_codec, wide_layout

NON_TEXT_CODECS = ["hex", "base64", "rot13", "idna", "punycode", "zlib", "uu", "utf-7",
                   "cp037"]


def rules(record) -> list[str]:
    return [p.rule for p in record.problems]


def test_many_undefined_entity_references_are_folded_in_one_pass():
    # 100,000 references took minutes (each removal re-copied the text); now linear.
    body = b"<methodCall><methodName>" + b"&a;" * 100_000 + b"</methodName></methodCall>"
    rec = dissect_cvip(encode_message(body, 1), "tcp")
    assert "dissector_error" not in rules(rec)
    assert rec.method == "&a;" * 100_000


def test_entity_references_beside_comments_keep_their_order():
    body = b"<methodCall><methodName>x<!--c-->&a;y&b;<!--d-->z</methodName></methodCall>"
    rec = dissect_cvip(encode_message(body, 1), "tcp")
    assert rec.method == "x&a;y&b;z"


@pytest.mark.parametrize("codec", NON_TEXT_CODECS)
def test_cvip_declaration_naming_a_non_text_codec_is_a_finding(codec):
    body = (f'<?xml version="1.0" encoding="{codec}"?>'
            "<methodCall><methodName>cviStream.list</methodName></methodCall>").encode()
    rec = dissect_cvip(encode_message(body, 1), "tcp")
    assert "dissector_error" not in rules(rec)
    assert rec.method == "cviStream.list"
    assert any(codec in p.message and p.rule == "cvip.xml.malformed" for p in rec.problems)


@pytest.mark.parametrize("codec", NON_TEXT_CODECS)
def test_imageserver_declaration_naming_a_non_text_codec_is_a_finding(codec):
    data = (f'<?xml version="1.0" encoding="{codec}"?><methodcall><requestid>7</requestid>'
            "<methodname>connect</methodname></methodcall>\r\n\r\n").encode()
    rec = dissect_imageserver(data, "tcp")
    assert "dissector_error" not in rules(rec)
    assert rec.method == "connect" and rec.txn == 7
    assert any(codec in p.message and p.rule == "imageserver.xml.malformed"
               for p in rec.problems)


def test_text_codecs_that_keep_ascii_are_accepted():
    assert text_codec("UTF-8") == "utf-8"
    assert text_codec("ISO-8859-1") in ("latin-1", "iso8859-1")
    assert text_codec("windows-1252") == "cp1252"
    for codec in [*NON_TEXT_CODECS, "utf-16", "nonexistent"]:
        assert text_codec(codec) is None, codec


@pytest.mark.parametrize("where", ["methodName", "string"])
def test_cvip_surrogate_character_reference(where):
    inner = b"a&#xD800;b"
    body = (b"<methodCall><methodName>" + (inner if where == "methodName" else b"x.y")
            + b"</methodName><params><param><value><string>"
            + (inner if where == "string" else b"s") + b"</string></value></param>"
            b"</params></methodCall>")
    rec = dissect_cvip(encode_message(body, 1), "tcp")
    assert "dissector_error" not in rules(rec)
    assert "cvip.xml.malformed" in rules(rec)  # a surrogate is no XML character
    if where == "methodName":
        assert rec.method == "a\ufffdb"
    else:
        assert rec.attrs["params"] == ["a\ufffdb"]


def test_imageserver_surrogate_character_reference():
    data = (b"<methodcall><requestid>1</requestid><methodname>a&#xD800;b</methodname>"
            b"</methodcall>\r\n\r\n")
    rec = dissect_imageserver(data, "tcp")
    assert "dissector_error" not in rules(rec)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_cvip_doctype_in_a_wide_encoding_is_refused(codec):
    text = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>'
            "<methodCall><methodName>cviStream.list</methodName></methodCall>")
    body = text.encode(codec)
    if codec.endswith(("-le", "-be")):
        body = ("\ufeff" + text).encode(codec)
    for tree in (True, False):
        rec = dissect_cvip(encode_message(body, 1), "tcp", {"tree": tree})
        forbidden = [p for p in rec.problems if p.rule == "cvip.xml.forbidden"]
        assert forbidden, (codec, tree)
        assert rec.method == "cviStream.list"


def test_narrow_view_keeps_positions():
    body = "<a>é<!DOCTYPE".encode("utf-16")
    layout = wide_layout(body)
    assert layout is not None and layout.unit == 2
    assert narrow_view(body, layout) == b"<a>\xff<!DOCTYPE"


def test_surrogate_reference_formed_across_a_dropped_lt():
    # Found by scripts/fuzz.sh: the repair drops the stray "<" of "&<#xD800;", and the
    # text pieces around it join into a surrogate reference (a dissector_error before).
    body = (b"<methodResponse><params><param><value><struct><member><name>ErrorCode</name>"
            b"<value><&<#xD800;uint>16777216</uint></value></member></struct></value></param>"
            b"</params></methodResponse>")
    for tree in (True, False):
        rec = dissect_cvip(encode_message(body, 1, response=True), "tcp", {"tree": tree})
        assert "dissector_error" not in rules(rec)
        assert "cvip.xml.malformed" in rules(rec)
