"""Per-message checks against the spec tables, and the strictness options."""

from __future__ import annotations

import pytest

from dissectors.imageserver import dissect, xmlmessage
from dissectors.imageserver import rules as R
from dissectors.imageserver.options import DissectOptions, check_options
from dissectors.options import OptionError


def call(method: str, inner: str = "", request_id: str = "4") -> bytes:
    return (f"<methodcall><requestid>{request_id}</requestid><methodname>{method}</methodname>"
            f"{inner}</methodcall>\r\n\r\n").encode()


def reply(method: str, inner: str = "", request_id: str = "4") -> bytes:
    return (f"<methodresponse><requestid>{request_id}</requestid>"
            f"<methodname>{method}</methodname>{inner}</methodresponse>\r\n\r\n").encode()


def package(inner: str) -> bytes:
    return f"<livepackage><status>{inner}</status></livepackage>\r\n\r\n".encode()


def found(data: bytes, **options) -> list[tuple[str, str]]:
    """(rule, severity) of every finding."""
    return [(p.rule, p.severity) for p in dissect(data, options=options or None).problems]


def rules_of(data: bytes, **options) -> list[str]:
    return [rule for rule, _ in found(data, **options)]


GOTO_TIME = "<time>1700000000000</time>"


# ---- methods and elements --------------------------------------------------------------------


def test_unknown_method() -> None:
    data = call("zoomin", "<anything>1</anything>")
    record = dissect(data)
    assert rules_of(data) == [R.METHOD_UNKNOWN]
    assert record.method == "zoomin" and record.attrs["answered_by"] is None
    assert record.find("imageserver.element").label == "anything"


def test_method_names_are_case_sensitive() -> None:
    record = dissect(call("Goto", GOTO_TIME))
    assert [p.rule for p in record.problems] == [R.METHOD_UNKNOWN]
    assert "<goto>?" in record.problems[0].message


def test_root_element_names_are_case_sensitive() -> None:
    record = dissect(b"<MethodCall><requestid>1</requestid></MethodCall>")
    assert record.kind == "unknown"
    assert [p.rule for p in record.problems] == [R.XML_STRUCTURE]
    assert "<methodcall>?" in record.problems[0].message


def test_missing_methodname_and_requestid() -> None:
    record = dissect(b"<methodcall><time>1700000000000</time></methodcall>")
    assert record.method is None and record.txn is None
    assert [p.rule for p in record.problems] == [R.FIELD_MISSING, R.FIELD_MISSING]
    assert record.info == "? request"


def test_missing_required_element() -> None:
    record = dissect(call("goto"))
    assert [(p.rule, p.message) for p in record.problems] == [
        (R.FIELD_MISSING, "<methodcall> has no <time>")]
    assert record.problems[0].spec.endswith("§ goto")


def test_unknown_and_miscased_elements() -> None:
    record = dissect(call("goto", GOTO_TIME + "<Compressionrate>5</Compressionrate><zoom>1</zoom>"))
    assert [p.rule for p in record.problems] == [R.FIELD_UNKNOWN, R.FIELD_UNKNOWN]
    assert "<compressionrate>?" in record.problems[0].message
    assert [f.key for f in record.fields[1].children][-2:] == ["imageserver.element"] * 2


def test_repeated_element() -> None:
    assert rules_of(call("goto", GOTO_TIME * 3)) == [R.FIELD_DUPLICATE]


def test_element_inside_a_value() -> None:
    assert rules_of(call("goto", "<time>1700000000000<x/></time>")) == [R.FIELD_UNKNOWN]


def test_text_inside_a_container() -> None:
    data = call("connect", "<username>u</username><password>p</password><cameraid>c</cameraid>"
                "<connectparam>id=a9adc052-e793-4ed0-a1e2-8b975ba8e020&amp;connectiontoken=t</connectparam>"
                "<transcode>stray<width>10</width></transcode>")
    assert found(data) == [(R.XML_STRUCTURE, "warning")]


def test_recommended_element_only_reported_on_request() -> None:
    data = call("connect", "<username>u</username><password>p</password><cameraid>c</cameraid>"
                "<connectparam>id=a9adc052-e793-4ed0-a1e2-8b975ba8e020&amp;connectiontoken=t</connectparam>")
    assert found(data) == []
    assert found(data, report_recommended=True) == [(R.FIELD_MISSING, "info")]


# ---- value forms -----------------------------------------------------------------------------


@pytest.mark.parametrize(("inner", "rule", "severity"), [
    ("<time>soon</time>", R.FIELD_TIME, "error"),
    ("<time>-1700000000000</time>", R.FIELD_TIME, "error"),
    ("<time>1700000000</time>", R.FIELD_TIME, "warning"),
    ("<time>99999999999999</time>", R.FIELD_TIME, "warning"),
    ("<time></time>", R.FIELD_TIME, "error"),
    (GOTO_TIME + "<compressionrate>9O</compressionrate>", R.FIELD_NUMBER, "error"),
    (GOTO_TIME + "<compressionrate>123456789012345678901</compressionrate>", R.FIELD_NUMBER,
     "error"),
    (GOTO_TIME + "<keyframesonly>maybe</keyframesonly>", R.FIELD_YESNO, "error"),
])
def test_value_forms(inner: str, rule: str, severity: str) -> None:
    assert found(call("goto", inner)) == [(rule, severity)]


def test_seconds_for_milliseconds_hint() -> None:
    record = dissect(call("goto", "<time>1700000000</time>"))
    assert "seconds instead of milliseconds" in record.problems[0].message
    assert record.find("imageserver.time").display == "1700000000 (1970-01-20T16:13:20.000Z)"


def test_time_window_option() -> None:
    data = call("goto", "<time>1700000000</time>")
    assert found(data, time_min_ms=0) == []


def test_yesno_strictness() -> None:
    data = call("goto", GOTO_TIME + "<keyframesonly>Yes</keyframesonly>")
    assert found(data) == []
    assert dissect(data).find("imageserver.keyframesonly").value is True
    assert found(data, strict_yesno=True) == [(R.FIELD_YESNO, "error")]


def test_true_false_only_in_attributes() -> None:
    attribute = call("live", '<attributes motiononly="true" framerate="low"/>')
    element = call("goto", GOTO_TIME + "<keyframesonly>true</keyframesonly>")
    assert found(attribute) == []
    assert found(attribute, strict_yesno=True) == [(R.FIELD_YESNO, "error")]
    assert found(element) == [(R.FIELD_YESNO, "error")]


@pytest.mark.parametrize(("attributes", "rule"), [
    ('framerate="fast"', R.FIELD_ENUM),
    ('frameraterelative="0"', R.FIELD_NUMBER),
    ('frameraterelative="two"', R.FIELD_NUMBER),
    ('framespersecond="5"', R.FIELD_UNKNOWN),
])
def test_live_attributes(attributes: str, rule: str) -> None:
    assert rules_of(call("live", f"<attributes {attributes}/>")) == [rule]


def test_enumerated_element() -> None:
    data = call("connect", "<username>u</username><password>p</password><cameraid>c</cameraid>"
                "<connectparam>id=a9adc052-e793-4ed0-a1e2-8b975ba8e020&amp;connectiontoken=t</connectparam>"
                "<clientcapabilities><privacymaskversion>2</privacymaskversion>"
                "</clientcapabilities>")
    assert rules_of(data) == [R.FIELD_ENUM]


def test_number_ranges() -> None:
    data = call("live", "<adaptivestreaming><resolution><widthhint>0</widthhint>"
                "<heighthint>2147483648</heighthint></resolution></adaptivestreaming>")
    assert rules_of(data) == [R.FIELD_NUMBER, R.FIELD_NUMBER]


# ---- message-level rules ------------------------------------------------------------------------


def test_adaptive_streaming_needs_exactly_one_option() -> None:
    assert rules_of(call("live", "<adaptivestreaming/>")) == [R.FIELD_MISSING]
    assert rules_of(call("live", "<adaptivestreaming><maxresolution/><disabled/>"
                                 "</adaptivestreaming>")) == [R.FIELD_DUPLICATE]
    assert rules_of(call("live", "<adaptivestreaming><disabled/></adaptivestreaming>")) == []


@pytest.mark.parametrize(("inner", "expected"), [
    ("<connected>yes</connected>", []),
    ("<connected>no</connected><errorreason>Expired</errorreason>", []),
    ("<connected>yes</connected><errorreason>Why?</errorreason>", [R.CONNECT_ERRORREASON]),
    ("<connected>no</connected>", [R.CONNECT_ERRORREASON]),
    ("", [R.FIELD_MISSING]),
])
def test_errorreason_only_when_not_connected(inner: str, expected: list[str]) -> None:
    assert rules_of(reply("connect", inner)) == expected
    assert rules_of(reply("connectupdate", inner)) == expected


def test_connectupdate_response_cites_its_own_section() -> None:
    (problem,) = dissect(reply("connectupdate", "<connected>no</connected>")).problems
    assert problem.spec.endswith("§ connectupdate")


G1, G2 = "a9adc052-e793-4ed0-a1e2-8b975ba8e020", "5193ca41-6223-4186-809d-668a6edc9da7"


@pytest.mark.parametrize(("param", "expected"), [
    (f"id={G1}&amp;streamid={G2}&amp;connectiontoken=t", []),
    (f"id={G1}&amp;connectiontoken=t", []),
    (f"connectiontoken=t&amp;id={G1}", [(R.CONNECT_CONNECTPARAM, "warning")]),
    (f"id={G1}", [(R.CONNECT_CONNECTPARAM, "warning")]),
    (f"id={G1}&amp;connectiontoken=t&amp;lang=en", [(R.CONNECT_CONNECTPARAM, "info")]),
    (f"id={G1}&amp;id={G2}&amp;connectiontoken=t", [(R.CONNECT_CONNECTPARAM, "warning")]),
])
def test_connectparam_keys(param: str, expected: list[tuple[str, str]]) -> None:
    assert found(call("connectupdate", f"<connectparam>{param}</connectparam>")) == expected


def test_secrets_are_masked_unless_revealed() -> None:
    data = call("connect", "<username>u</username><password>hunter2</password>"
                "<cameraid>c</cameraid><connectparam>id=a9adc052-e793-4ed0-a1e2-8b975ba8e020&amp;connectiontoken=SECRET-TOKEN"
                "</connectparam>")
    record = dissect(data)
    assert "hunter2" not in repr(record) and "SECRET-TOKEN" not in repr(record)
    assert record.find("imageserver.connectparam.connectiontoken").value == \
        "<masked, 12 chars>"
    token = record.find("imageserver.connectparam.connectiontoken")
    assert data[token.offset: token.offset + token.length] == b"connectiontoken=SECRET-TOKEN"
    revealed = dissect(data, options=DissectOptions(reveal_secrets=True))
    assert revealed.find("imageserver.password").value == "hunter2"
    assert "SECRET-TOKEN" in revealed.find("imageserver.connectparam").value


# ---- livepackage -----------------------------------------------------------------------------

STATUSTIME = "<statustime>1700000000000</statustime>"


@pytest.mark.parametrize(("inner", "expected"), [
    (STATUSTIME, []),
    (STATUSTIME + '<statusitem id="2" value="1" description="Live feed motion"/>', []),
    (STATUSTIME + '<statusitem id="8" value="1"/>', [R.LIVE_STATUS_ITEM]),
    (STATUSTIME + '<statusitem id="3" value="2"/>', [R.LIVE_STATUS_ITEM]),
    (STATUSTIME + '<statusitem value="1"/>', [R.LIVE_STATUS_ITEM]),
    (STATUSTIME + '<statusitem id="1" value="1" color="red"/>', [R.FIELD_UNKNOWN]),
    ('<statusitem id="1" value="1"/>', [R.LIVE_STATUSTIME]),
    (STATUSTIME * 2, [R.LIVE_STATUSTIME]),
    ("<statustime>noon</statustime>", [R.LIVE_STATUSTIME]),
])
def test_livepackage_status(inner: str, expected: list[str]) -> None:
    assert rules_of(package(inner)) == expected


def test_livepackage_without_status() -> None:
    record = dissect(b"<livepackage/>")
    assert [p.rule for p in record.problems] == [R.FIELD_MISSING]
    assert record.info == "livepackage statustime=? 0 items"


def test_unknown_status_item_is_named_so() -> None:
    record = dissect(package(STATUSTIME + '<statusitem id="8" value="1"/>'))
    assert record.find("imageserver.status.statusitem").display == \
        "8 unknown status item = 1"


# ---- answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "answer", "adaptive"), [
    (call("goto", GOTO_TIME), "image", None),
    (call("stop"), "xml", None),
    (call("live"), "stream", False),
    (call("live", "<compressionrate>80</compressionrate>"), "stream", False),
    (call("live", "<adaptivestreaming><disabled/></adaptivestreaming>"), "none", True),
    (call("live", "<compressionrate>80</compressionrate><adaptivestreaming><disabled/>"
                  "</adaptivestreaming>"), "stream", False),
])
def test_answered_by_on_the_record(data: bytes, answer: str, adaptive: bool | None) -> None:
    record = dissect(data)
    assert record.attrs["answered_by"] == answer
    assert record.attrs.get("adaptive_only") == adaptive


def test_alarms_variant_is_chosen_by_its_elements() -> None:
    around = call("alarms", "<centertime>1700000000000</centertime><numalarms>5</numalarms>"
                  "<timespan>60000</timespan><starttime>1700000000000</starttime>")
    record = dissect(around)
    assert record.attrs["variant"] == "around a point in time"
    assert [p.rule for p in record.problems] == [R.FIELD_UNKNOWN]
    between = dissect(call("alarms", "<starttime>1700000000000</starttime>"))
    assert between.attrs["variant"] == "between two points in time"
    assert [p.message for p in between.problems] == ["<methodcall> has no <stoptime>"]


def test_methodresponse_for_an_image_method_keeps_the_envelope() -> None:
    record = dissect(reply("goto", "<time>1</time>"))
    assert record.kind == "response" and record.txn == 4 and record.method == "goto"
    assert [p.rule for p in record.problems] == [R.FIELD_UNKNOWN]


def test_non_numeric_requestid_is_kept_as_text() -> None:
    record = dissect(call("stop", request_id="abc"))
    assert record.txn == "abc" and record.attrs["requestid"] == "abc"
    assert [p.rule for p in record.problems] == [R.FIELD_NUMBER]


# ---- options and robustness ------------------------------------------------------------------


def test_options_of_the_wrong_type_are_refused() -> None:
    for bad, says in (({"strict_yesno": "yes"}, "'strict_yesno' must be true or false"),
                      ({"max_parts": -3}, "'max_parts' must be at least 0"),
                      ({"nope": 1}, "unknown option 'nope'"),
                      ({"time_min_ms": True}, "'time_min_ms' must be an integer")):
        with pytest.raises(OptionError, match=says):
            check_options(bad)
    with pytest.raises(OptionError, match="did you mean 'strict_yesno'"):
        DissectOptions.from_any({"strict_yesn": True})
    assert DissectOptions.from_any({"strict_yesno": True}).strict_yesno is True
    assert DissectOptions.from_any(None) is DissectOptions.from_any(42)


def test_a_bug_becomes_a_dissector_error_finding(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("dissectors.imageserver.dissector.dissect_xml", broken)
    record = dissect(call("stop"))
    assert record.kind == "unknown"
    assert [p.rule for p in record.problems] == [R.DISSECTOR_ERROR]
    assert "boom" in record.problems[0].message
    assert xmlmessage.base_attrs().keys() <= record.attrs.keys()
