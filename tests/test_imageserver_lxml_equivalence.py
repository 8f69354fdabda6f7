"""The lxml-built fast path of ImageServer XML (:mod:`dissectors.imageserver.xmlplain`)
against the offset-keeping scanner it stands in for.

The scanner (``dissect_xml(..., fast=False)``) is the reference. For every ImageServer
message of every bundled capture and for generated and mutated documents, the record the
fast path gives in lean mode must equal the scanner's in lean mode (kind, summary, txn,
method, attrs, problems and their offsets, fields), and what lean mode shows must equal
what full mode (tree on) shows outside the field tree. Where the fast path declines or
finds something to report, the scanner answers; the tests also check that the fast path
does answer for the plain, conformant messages it exists for.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cvipsniff.model import Message
from cvipsniff.pipeline import PipelineConfig, iter_capture
from dissectors.base import Record
from dissectors.imageserver import dissect, xmlmessage
from dissectors.imageserver.options import DissectOptions
from dissectors.imageserver.tables import METHODS, Element
from dissectors.imageserver.xmlmessage import dissect_xml
from dissectors.imageserver.xmlplain import parse_plain
from dissectors.imageserver.xmltree import XmlNode, parse, skip_prolog_whitespace

from .conftest import CAPTURES

LEAN = DissectOptions(tree=False)
FULL = DissectOptions()
STRICT_LEAN = DissectOptions(tree=False, profile="strict", report_recommended=True,
                             strict_yesno=True)


@cache
def corpus_messages() -> tuple[bytes, ...]:
    """Every ImageServer message (its bytes) of every bundled capture."""
    out: list[bytes] = []
    for path in sorted(CAPTURES.rglob("*.pcap*")):
        config = PipelineConfig(keep_data=True, tree=False)
        for item in iter_capture(str(path), config):
            if (isinstance(item, Message) and item.record.protocol == "imageserver"
                    and item.data is not None):
                out.append(bytes(item.data))
    return tuple(out)


def _summary(record: Record) -> tuple:
    """What lean mode shows of a record (everything but the field tree)."""
    return (record.protocol, record.kind, record.info, record.txn, record.is_response,
            record.method, repr(record.attrs), repr(record.problems))


def _xml_start(data: bytes) -> int | None:
    start = skip_prolog_whitespace(data)
    return start if data.startswith(b"<", start) else None


def check_same(data: bytes, options: DissectOptions = LEAN) -> bool:
    """Assert the fast path's lean record equals the scanner's; whether it answered."""
    start = _xml_start(data)
    if start is None:
        return False
    fast = dissect_xml(data, start, options)
    reference = dissect_xml(data, start, options, fast=False)
    assert repr(fast) == repr(reference), data
    full = dissect_xml(data, start, replace(options, tree=True))
    assert _summary(fast) == _summary(full), data
    check_same_tree(data)
    plain = parse_plain(data, start, options)
    return plain is not None and not fast.problems


def _shape(node: XmlNode) -> tuple:
    """What the fast path must read exactly as the scanner does: names, texts, attribute
    names and values, order, and a ``<connectparam>``'s text span."""
    span = (node.text_offset, node.text_length) if node.name == "connectparam" else None
    return (node.name, node.text, node.closed, node.junk, span,
            tuple((a.name, a.value) for a in node.attributes),
            tuple(_shape(c) for c in node.children))


def check_same_tree(data: bytes) -> None:
    """Where the fast path answers, its tree reads like the scanner's (stricter than the
    records, which an unseen difference could leave equal)."""
    start = _xml_start(data)
    if start is None:
        return
    plain = parse_plain(data, start, LEAN)
    if plain is None:
        return
    reference = parse(data, start, LEAN)
    assert reference.well_formed and not reference.problems and not plain.problems
    assert _shape(plain.root) == _shape(reference.root), data


# ---- the bundled captures -----------------------------------------------------------------


def test_corpus_has_imageserver_xml() -> None:
    messages = corpus_messages()
    assert sum(_xml_start(m) is not None for m in messages) > 100


@pytest.mark.one_path  # lxml's path against the scanner: no compiled code
@pytest.mark.parametrize("options", [LEAN, STRICT_LEAN], ids=["default", "strict"])
def test_every_corpus_message_same_on_both_paths(options: DissectOptions) -> None:
    answered = sum(check_same(m, options) for m in corpus_messages())
    # The fast path exists for the plain, conformant messages: most of the corpus's.
    assert answered > 200


def test_public_dissect_same_with_fast_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through ``dissect`` (secrets scrubbed after the record is built), tree off and on."""
    messages = corpus_messages()
    with_fast = [(dissect(m, "tcp", LEAN), dissect(m, "tcp", FULL)) for m in messages]
    monkeypatch.setattr(xmlmessage, "parse_plain", lambda *args: None)
    for data, (lean, full) in zip(messages, with_fast, strict=True):
        assert repr(lean) == repr(dissect(data, "tcp", LEAN)), data
        assert repr(full) == repr(dissect(data, "tcp", FULL)), data


# ---- generated documents ------------------------------------------------------------------


def _element_names() -> list[str]:
    names: set[str] = set()

    def walk(elements: tuple[Element, ...]) -> None:
        for e in elements:
            names.add(e.name)
            walk(e.children)

    for method in METHODS.values():
        for shape in (*method.requests, method.response):
            if shape is not None:
                walk(shape.elements)
    return sorted(names)


NAMES = _element_names()
METHOD_NAMES = sorted(METHODS)
TEXTS = ["1", "42", "-7", "99999999999999999999", "yes", "no", "Yes", "true", "1700000000000",
         "17", "abc", "Success", " padded ", "two words", "a\r\nb", "a\tb", "x&amp;y",
         "&#128;", "&#x41;", "&lt;b&gt;", "&quot;", "caf\u00e9", "", " ", "\n  ",
         "<![CDATA[5]]>", "<!-- c -->7", "<?pi x?>8", "1.5", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
         "id=1&amp;connectiontoken=abc", "&bogus;", "&amp;", "&apos;"]
ATTR_VALUES = ["1", "0", "yes", "true", "two words", "a\nb", "a\tb", " 1 ", "x&amp;y",
               "&#10;", "", "caf\u00e9", "'"]
WHITESPACE = ["", "", "\n", "\r\n", "\n  ", "\t", " "]
PROLOGS = ["", '<?xml version="1.0" encoding="UTF-8"?>\n', '<?xml version="1.0"?>',
           "<?xml version='1.0' encoding='utf-8'?>", '<?xml version="1.0" encoding="ascii"?>',
           '<?xml version="1.0" encoding="ISO-8859-1"?>',
           '<?xml version="1.0" encoding="Shift_JIS"?>', '<?xml version="1.0" encoding="hex"?>',
           '<?xml version="1.0" encoding="UTF-16"?>', "<!DOCTYPE m>", "<!-- hi -->",
           "\ufeff"]


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(st.sampled_from(NAMES) | st.sampled_from(["x", "a:b", "Requestid", "-"]))
    attrs = ""
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(["id", "value", "description", "xmlns", "a:b", "ID"]))
        quote = draw(st.sampled_from(['"', "'"]))
        attrs += f" {key}={quote}{draw(st.sampled_from(ATTR_VALUES))}{quote}"
    kind = draw(st.integers(0, 3 if depth < 3 else 1))
    ws = draw(st.sampled_from(WHITESPACE))
    if kind == 0:
        return f"<{name}{attrs}/>"
    if kind == 1:
        text = draw(st.sampled_from(TEXTS) | st.sampled_from(METHOD_NAMES))
        return f"<{name}{attrs}>{text}</{name}>"
    kids = draw(st.lists(elements(depth + 1), max_size=4))
    return f"<{name}{attrs}>{ws}{ws.join(kids)}{ws}</{name}>"


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    root = draw(st.sampled_from(["methodcall", "methodresponse", "livepackage", "other"]))
    ws = draw(st.sampled_from(WHITESPACE))
    children = [f"<requestid>{draw(st.sampled_from(TEXTS[:4]))}</requestid>"]
    if root != "livepackage":
        children.append(f"<methodname>{draw(st.sampled_from(METHOD_NAMES))}</methodname>")
    children += draw(st.lists(elements(), max_size=8))
    children = draw(st.permutations(children))
    prolog = draw(st.sampled_from(PROLOGS))
    doc = f"{prolog}<{root}>{ws}{ws.join(children)}{ws}</{root}>"
    return doc.encode("utf-8") + draw(st.sampled_from([b"\r\n\r\n", b"", b"\n"]))


@st.composite
def mutated(draw: st.DrawFn, source: st.SearchStrategy[bytes]) -> bytes:
    """A document with a few bytes changed, inserted or removed, or cut short."""
    data = bytearray(draw(source))
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.integers(0, 2))
        byte = draw(st.sampled_from(b"<>/=\"'& \t\r\n\x00x1") | st.integers(0, 255))
        if action == 0:
            data[at] = byte
        elif action == 1:
            data.insert(at, byte)
        else:
            del data[at]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def _corpus_xml() -> st.SearchStrategy[bytes]:
    return st.sampled_from([m for m in corpus_messages() if _xml_start(m) is not None])


CONNECT = (b'<?xml version="1.0" encoding="UTF-8"?>\n<methodcall>\n  <requestid>1</requestid>\n'
           b"  <methodname>connect</methodname>\n  <username>dummy</username>\n"
           b"  <password>dummy</password>\n"
           b"  <cameraid>0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0</cameraid>\n"
           b"  <alwaysstdjpeg>yes</alwaysstdjpeg>\n  <connectparam>"
           b"id=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0&amp;connectiontoken=tok</connectparam>\n"
           b"</methodcall>\r\n\r\n")
FIXED = [
    b'<methodcall><requestid>1</requestid><methodname>live</methodname>'
    b'<compressionrate>75</compressionrate></methodcall>\r\n\r\n',
    b'<livepackage><status><statustime>1700000000000</statustime>'
    b'<statusitem id="1" value="a\nb"/></status></livepackage>',
    b'<methodresponse><requestid>1</requestid><methodname>connect</methodname>'
    b'<connected>yes</connected></methodresponse>',
    b'<methodcall><requestid>&#49;</requestid><methodname>ptz</methodname></methodcall>',
    b'<methodcall><requestid>1</requestid><methodname>goto</methodname>'
    b'<time>17\r\n00</time></methodcall>',
    CONNECT,
    CONNECT.replace(b"<connectparam>", b'<connectparam a="1">'),
    CONNECT.replace(b"<connectparam>", b"<connectparam>\n  "),
    CONNECT.replace(b"</connectparam>", b"</connectparam><connectparam>id=1</connectparam>"),
    CONNECT.replace(b"id=0f1e", b"id=&#48;f1e"),
]


@pytest.mark.one_path  # lxml's path against the scanner: no compiled code
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
@example(FIXED[0])
@example(FIXED[1])
@example(FIXED[2])
@example(FIXED[3])
@example(FIXED[4])
@example(FIXED[5])
@example(FIXED[6])
@example(FIXED[7])
@example(FIXED[8])
@example(FIXED[9])
def test_generated_documents_same_on_both_paths(data: bytes) -> None:
    check_same(data)
    check_same(data, STRICT_LEAN)


@pytest.mark.one_path  # lxml's path against the scanner: no compiled code
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(documents()))
def test_mutated_documents_same_on_both_paths(data: bytes) -> None:
    check_same(data)


@pytest.mark.one_path  # lxml's path against the scanner: no compiled code
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_corpus_messages_same_on_both_paths(data: st.DataObject) -> None:
    check_same(data.draw(mutated(_corpus_xml())))


@pytest.mark.one_path  # lxml's path against the scanner: no compiled code
def test_generated_documents_reach_the_fast_path() -> None:
    """Plain documents do take the fast path (else the tests above compare the scanner
    with itself)."""
    answered = [check_same(doc) for doc in FIXED]
    assert answered == [True, False, True, False, False, True, False, True, False, False]
