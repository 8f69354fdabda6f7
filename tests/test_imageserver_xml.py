"""XML handling: hostile documents, caps, malformed recovery, and the offset-keeping
scanner cross-checked against lxml on well-formed documents."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from dissectors.imageserver import dissect
from dissectors.imageserver import rules as R
from dissectors.imageserver.options import DissectOptions
from dissectors.imageserver.xmltree import XmlNode, parse

OPTIONS = DissectOptions()


def rules_of(record) -> set[str]:
    return {p.rule for p in record.problems}


# ---- hostile documents -----------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<methodcall><requestid>1</requestid><methodname>ptz</methodname>
<ptzcommand>&lol9;</ptzcommand></methodcall>\r\n\r\n"""


def test_billion_laughs_is_refused_and_not_expanded() -> None:
    began = time.process_time()
    record = dissect(BILLION_LAUGHS)
    assert time.process_time() - began < 2  # a guard against expansion, not a benchmark
    assert R.XML_FORBIDDEN in rules_of(record)
    assert record.method == "ptz" and record.txn == 1
    assert record.find("imageserver.ptzcommand").value == "&lol9;"
    assert all(len(str(f.value)) < 100 for f in record.walk())


def test_external_entity_is_never_read() -> None:
    xxe = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           b"<methodcall><requestid>1</requestid><methodname>preset</methodname>"
           b"<presetname>&e;</presetname></methodcall>")
    record = dissect(xxe)
    assert R.XML_FORBIDDEN in rules_of(record)
    assert record.find("imageserver.presetname").value == "&e;"
    assert "root:" not in repr(record)


def test_parameter_entities_and_external_dtd_are_refused() -> None:
    doc = (b'<?xml version="1.0"?><!DOCTYPE m SYSTEM "http://127.0.0.1:9/x.dtd" '
           b'[<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]><methodcall/>')
    record = dissect(doc)
    assert R.XML_FORBIDDEN in rules_of(record)


def test_deep_nesting_is_capped() -> None:
    depth = 5000
    doc = (b"<methodcall><requestid>1</requestid><methodname>stop</methodname>"
           + b"<a>" * depth + b"</a>" * depth + b"</methodcall>")
    record = dissect(doc)
    assert R.XML_LIMITS in rules_of(record)
    deepest = max(_depth(f) for f in record.fields)
    assert deepest <= DissectOptions().max_xml_depth + 2


def _depth(field) -> int:
    return 1 + max((_depth(c) for c in field.children), default=0)


def test_element_count_is_capped() -> None:
    doc = b"<methodcall>" + b"<x/>" * 50_000 + b"</methodcall>"
    record = dissect(doc, options={"max_xml_elements": 1000})
    assert R.XML_LIMITS in rules_of(record)
    assert sum(1 for _ in record.walk()) < 1100


def test_oversized_document_is_capped() -> None:
    doc = b"<methodcall><ptzcommand>" + b"x" * 5000 + b"</ptzcommand></methodcall>"
    record = dissect(doc, options={"max_xml_bytes": 1000})
    assert R.XML_LIMITS in rules_of(record)


# ---- malformed documents ---------------------------------------------------------------------


def test_malformed_documents_still_give_records() -> None:
    cases = {
        b"<methodcall><requestid>1</requestid><methodname>stop</methodname>": "Premature end",
        b"<methodcall><requestid>1</requestid></methodname></methodcall>": "closes no open",
        b"<methodcall><requestid>1<methodname>stop</methodname></methodcall>": "is closed by",
        b"<methodcall><requestid>1</requestid></methodcall><methodcall/>": "second root",
        b"<methodcall><requestid>1</requestid></methodcall>trailing": "outside the root",
        b"<methodcall><ptzcommand>a < b</ptzcommand></methodcall>": "starts no tag",
        b"<methodcall><dblimit startTime=1/></methodcall>": "not an attribute",
        b"<methodcall><!-- never closed": "comment never closed",
    }
    for doc, note in cases.items():
        record = dissect(doc)
        assert record.protocol == "imageserver"
        assert R.XML_MALFORMED in rules_of(record), doc
        messages = " ".join(p.message for p in record.problems)
        assert note in messages, (doc, messages)
        assert record.info.endswith(("[malformed]", "[incomplete]")) or record.kind == "unknown"


def test_a_cut_document_is_shown_but_not_judged() -> None:
    """Bytes ending inside the root (a gap, snaplen): elements left open may be cut, so
    they are not reported as unknown, incomplete or missing things."""
    whole = (b'<methodresponse><requestid>1</requestid><methodname>connect</methodname>'
             b'<connected>no</connected><errorreason>Token expired</errorreason>'
             b'<alwaysstdjpeg>no</alwaysstdjpeg></methodresponse>')
    record = dissect(whole[:150])
    assert [p.rule for p in record.problems] == [R.XML_MALFORMED]
    assert record.problems[0].message.startswith(
        "document ends inside <methodresponse> (cut short?); not well-formed:")
    assert record.info == "connect response id=1 connected=no [incomplete]"
    assert record.find("imageserver.connected").value is False
    cut_tag = dissect(b'<livepackage><status><statustime>1700000000000</statustime>'
                      b'<statusitem id="1" val')
    assert [p.rule for p in cut_tag.problems] == [R.XML_MALFORMED]


def test_well_formed_document_gets_no_recovery_notes() -> None:
    doc = b"<methodcall><requestid>3</requestid><methodname>stop</methodname></methodcall>"
    assert dissect(doc).problems == []


def test_not_xml_and_empty() -> None:
    for data in (b"", b"   \r\n", b"\x00\x01binary", b"HTTP/1.1 200 OK\r\n\r\n"):
        record = dissect(data)
        assert record.kind == "unknown"
        assert rules_of(record) == {R.XML_STRUCTURE}


def test_declared_encoding_is_honoured() -> None:
    doc = ('<?xml version="1.0" encoding="ISO-8859-1"?><methodcall><requestid>1</requestid>'
           "<methodname>preset</methodname><presetname>Entrée</presetname></methodcall>"
           ).encode("latin-1")
    record = dissect(doc)
    assert record.problems == []
    assert record.find("imageserver.presetname").value == "Entrée"


def test_cdata_comments_and_references() -> None:
    doc = (b"<methodcall><requestid>&#52;2</requestid><!-- note --><methodname>preset"
           b"</methodname><presetname><![CDATA[a<b]]> &amp; &#x63;</presetname></methodcall>")
    record = dissect(doc)
    assert record.problems == []
    assert record.txn == 42
    assert record.find("imageserver.presetname").value == "a<b & c"


def test_element_spans_cover_their_bytes() -> None:
    doc = (b'<methodresponse>\r\n <requestid>5</requestid>\r\n <methodname>alarms'
           b'</methodname>\r\n <dblimit startTime="1700000000000" endTime="1700000001000"/>'
           b"\r\n</methodresponse>")
    record = dissect(doc)
    dblimit = record.find("imageserver.dblimit")
    assert doc[dblimit.offset: dblimit.offset + dblimit.length].startswith(b"<dblimit ")
    assert doc[dblimit.offset: dblimit.offset + dblimit.length].endswith(b"/>")
    start = record.find("imageserver.dblimit.starttime")
    assert doc[start.offset: start.offset + start.length] == b'startTime="1700000000000"'


# ---- the scanner against lxml ----------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "methodcall", "x-y", "n.m", "_u", "requestid"])
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
               max_size=12)
ATTRIBUTE_VALUES = st.text(alphabet="abc 123&<>\"'", max_size=8)


@st.composite
def elements(draw, depth: int = 0):
    element = etree.Element(draw(NAMES))
    for name in draw(st.lists(st.sampled_from(["id", "value", "k"]), unique=True,
                              max_size=3)):
        element.set(name, draw(ATTRIBUTE_VALUES))
    element.text = draw(TEXT) or None
    if depth < 3:
        for child in draw(st.lists(elements(depth + 1), max_size=3)):
            child.tail = draw(TEXT) or None
            element.append(child)
    return element


def _same(node: XmlNode, element) -> None:
    assert node.name == element.tag
    assert {a.name: a.value for a in node.attributes} == dict(element.attrib)
    text = (element.text or "") + "".join(c.tail or "" for c in element)
    assert node.text == text.strip()
    assert len(node.children) == len(element)
    for child, sub in zip(node.children, element, strict=True):
        _same(child, sub)


@settings(max_examples=200, deadline=None)
@given(elements(), st.booleans(), st.booleans())
def test_scanner_builds_the_tree_lxml_builds(root, declaration: bool, cdata: bool) -> None:
    data = etree.tostring(root, xml_declaration=declaration, encoding="UTF-8")
    if cdata and root.text is None and len(root) == 0:
        data = data.replace(b"/>", b"><![CDATA[x<y]]></" + root.tag.encode() + b">", 1)
    document = parse(data, 0, OPTIONS)
    assert document.well_formed and document.problems == []
    assert document.root is not None
    _same(document.root, etree.fromstring(data))
    assert data[document.root.start: document.root.end].endswith(b">")
