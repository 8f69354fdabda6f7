"""Hardened XML parsing of CVIPv2 bodies and the XML-RPC value model: hostile input,
caps, offsets, every value type, repairs of generic malformations."""

from __future__ import annotations

import pytest

from dissectors.cvip import dissect, encode_message
from dissectors.cvip.xmlparse import Limits, parse_body
from dissectors.cvip.xmlrpc import SCHEMA, decode

LIMITS = Limits(size=1 << 20, depth=64, elements=10_000)


def parse(body: bytes, limits: Limits = LIMITS):
    parsed = parse_body(body, SCHEMA, limits)
    return parsed, decode(parsed.root, 0)


def call(params: str, method: str = "cviStream.list") -> bytes:
    return (f"<methodCall><methodName>{method}</methodName><params>{params}</params>"
            "</methodCall>").encode()


def param(value: str) -> str:
    return f"<param><value>{value}</value></param>"


def rules(problems) -> set[str]:
    return {p.rule for p in problems}


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<methodCall><methodName>cviStream.list</methodName><params><param><value><string>&lol9;</string>
</value></param></params></methodCall>"""


def test_billion_laughs_is_refused_not_expanded():
    parsed, xml = parse(BILLION_LAUGHS)
    forbidden = [p for p in parsed.problems if p.rule == "cvip.xml.forbidden"]
    assert len(forbidden) == 1
    start = BILLION_LAUGHS.index(b"<!DOCTYPE")
    assert forbidden[0].offset == start
    assert BILLION_LAUGHS[start + forbidden[0].length - 2:start + forbidden[0].length] == b"]>"
    assert xml.method_name == "cviStream.list"
    (value,) = xml.params
    assert "lol" not in str(value.value).replace("&lol9;", "")  # never expanded
    assert len(str(value.value)) < 20


def test_external_entity_is_refused():
    body = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b"<methodCall><methodName>&xxe;</methodName></methodCall>")
    parsed, xml = parse(body)
    assert "cvip.xml.forbidden" in rules(parsed.problems)
    assert "root:" not in (xml.method_name or "")


def test_dtd_without_internal_subset_and_unterminated_declaration():
    parsed, _xml = parse(b'<!DOCTYPE methodCall SYSTEM "http://example.invalid/x.dtd">'
                         + call(""))
    assert "cvip.xml.forbidden" in rules(parsed.problems)
    parsed, xml = parse(b"<!DOCTYPE x [ <!ENTITY a 'b'")
    assert "cvip.xml.forbidden" in rules(parsed.problems)
    assert xml.root == ""


def test_100k_deep_nesting_is_cut_without_recursion():
    depth = 100_000
    body = b"<methodCall><methodName>a.b</methodName><params><param>" + (
        b"<value><array><data>" * depth) + b"</data></array></value>" * depth + (
        b"</param></params></methodCall>")
    parsed, xml = parse(body, Limits(size=8 << 20, depth=64, elements=100_000))
    assert "cvip.xml.limits" in rules(parsed.problems)
    assert xml.method_name == "a.b"
    nesting, value = 0, xml.params[0]
    while value.type == "array" and value.value:
        value, nesting = value.value[0], nesting + 1
    assert 0 < nesting < 64


def test_100k_deep_unknown_elements():
    parsed, xml = parse(b"<a>" * 100_000 + b"</a>" * 100_000)
    assert "cvip.xml.limits" in rules(parsed.problems)
    assert "cvip.xmlrpc.structure" in rules(xml.problems)


def test_size_and_element_caps():
    body = call(param("<string>x</string>") * 200)
    parsed, _ = parse(body, Limits(size=100, depth=64, elements=10_000))
    assert parsed.root is None and "cvip.xml.limits" in rules(parsed.problems)
    parsed, xml = parse(body, Limits(size=1 << 20, depth=64, elements=50))
    assert "cvip.xml.limits" in rules(parsed.problems)
    assert 0 < len(xml.params) < 50
    rec = dissect(encode_message(body, 1), "tcp", options={"xml_size_cap": 100})
    assert "cvip.xml.limits" in rules(rec.problems)


@pytest.mark.parametrize("body", [b"", b"   \r\n", b"\x00\x01\x02binary", b"<", b"<<<>>>",
                                  b"<methodCall", b"</methodCall>", b"<?xml version='1.0'?>",
                                  b"<!-- only a comment -->", b"\xff\xfe<\x00a\x00>\x00"])
def test_junk_bodies_never_raise(body):
    rec = dissect(encode_message(body, 1), "tcp")
    assert rec.kind == "unknown"
    assert rules(rec.problems) & {"cvip.xmlrpc.structure", "cvip.xml.malformed"}


def test_entities_character_references_and_cdata_are_decoded():
    body = call(param("<string>a&amp;b&#65;&#x42;&lt;</string>")
                + param("<string><![CDATA[<raw> & text]]></string>")
                + param("<string>x<!-- c -->y</string>"))
    parsed, xml = parse(body)
    assert parsed.well_formed and parsed.problems == [] and xml.problems == []
    assert [v.value for v in xml.params] == ["a&bAB<", "<raw> & text", "xy"]
    first = xml.params[0]
    assert body[first.offset:first.offset + first.length] == b"a&amp;b&#65;&#x42;&lt;"


def test_xml_declaration_with_another_encoding():
    body = ('<?xml version="1.0" encoding="ISO-8859-1"?><methodCall><methodName>a.b'
            '</methodName><params><param><value><string>caf\xe9</string></value></param>'
            '</params></methodCall>').encode("latin-1")
    assert b"caf\xe9<" in body
    parsed, xml = parse(body)
    assert parsed.well_formed and xml.params[0].value == "café"


@pytest.mark.parametrize(("literal", "expected", "ok"), [
    ("<int>42</int>", 42, True),
    ("<i4> -7 </i4>", -7, True),
    ("<i8>9000000000</i8>", 9_000_000_000, True),
    ("<int>9000000000</int>", 9_000_000_000, False),
    ("<uint>4294967295</uint>", 4_294_967_295, True),
    ("<uint>-1</uint>", -1, False),
    ("<int>1.5</int>", None, False),
    ("<double>2.5</double>", 2.5, True),
    ("<double>fast</double>", None, False),
    ("<boolean>1</boolean>", True, True),
    ("<boolean>0</boolean>", False, True),
    ("<boolean>true</boolean>", True, False),
    ("<boolean>2</boolean>", None, False),
    ("<string> spaced </string>", " spaced ", True),
    ("untyped text", "untyped text", True),
    ("", "", True),
    ("<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>", "19980717T14:08:55", True),
    ("<dateTime.iso8601>yesterday</dateTime.iso8601>", "yesterday", False),
    ("<base64>aGVsbG8=</base64>", "aGVsbG8=", True),
    ("<base64>not base64!</base64>", "not base64!", False),
    ("<nil/>", None, True),
    ("<iint>64</iint>", 64, True),
])
def test_value_types(literal, expected, ok):
    _parsed, xml = parse(call(param(literal)))
    (value,) = xml.params
    assert value.value == expected
    assert value.ok is ok
    if not ok:
        assert "cvip.xmlrpc.value_type" in rules(xml.problems)


def test_unknown_type_is_kept_as_text():
    _parsed, xml = parse(call(param("<float>1.5</float>")))
    (value,) = xml.params
    assert (value.type, value.value, value.ok) == ("float", "1.5", False)
    assert "cvip.xmlrpc.value_type" in rules(xml.problems)


def test_struct_and_array_keep_order_and_repeats():
    body = call(param("<struct><member><name>b</name><value><int>1</int></value></member>"
                      "<member><name>a</name><value>x</value></member>"
                      "<member><name>b</name><value><int>2</int></value></member></struct>")
                + param("<array><data><value><int>1</int></value><value>two</value>"
                        "</data></array>"))
    _parsed, xml = parse(body)
    struct, array = xml.params
    assert [m.name for m in struct.value] == ["b", "a", "b"]
    assert struct.plain() == {"b": 1, "a": "x", "b#2": 2}
    assert array.plain() == [1, "two"]


def test_fault_response():
    body = (b"<methodResponse><fault><value><struct>"
            b"<member><name>faultCode</name><value><int>4</int></value></member>"
            b"<member><name>faultString</name><value><string>Too many parameters</string>"
            b"</value></member></struct></value></fault></methodResponse>")
    rec = dissect(encode_message(body, 8, response=True), "tcp")
    assert rec.kind == "fault" and rec.is_response
    assert (rec.attrs["fault_code"], rec.attrs["fault_string"]) == (4, "Too many parameters")
    assert rec.info == "fault 4: Too many parameters txn=8"
    assert rec.problems == []


def test_extra_content_and_second_root_are_repaired():
    body = call(param("<int>1</int>")) + b"<methodCall><methodName>x.y</methodName></methodCall>"
    parsed, xml = parse(body)
    assert not parsed.well_formed and parsed.repaired
    assert xml.method_name == "cviStream.list" and [v.value for v in xml.params] == [1]
    assert any("second root" in n for p in parsed.problems for n in p.notes)


def test_malformed_error_points_near_the_fault():
    body = b"<methodCall>\n<methodName>a.b</methodName>\n<params></param></methodCall>"
    parsed, _ = parse(body)
    (error,) = [p for p in parsed.problems if p.severity == "error"]
    assert error.rule == "cvip.xml.malformed"
    assert body.index(b"</param>") - 2 <= error.offset <= body.index(b"</methodCall>") + 2


def test_offsets_of_repaired_bodies_are_true_source_offsets():
    body = (b"<methodCall><methodName>cviPtz.cmd</methodName><params>"
            b"<param>value><int>7</int></param></methodCall>")
    _parsed, xml = parse(body)
    (value,) = xml.params
    assert value.value == 7 and body[value.offset:value.offset + value.length] == b"7"
    assert body[xml.method_offset:xml.method_offset + xml.method_length] == b"cviPtz.cmd"
