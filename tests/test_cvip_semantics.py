"""What a CVIPv2 body means: kind, method split, ack codes and tables, parameter binding
in every shape the document uses, and the record's summary line."""

from __future__ import annotations

from typing import Any

import pytest

from dissectors.base import Record
from dissectors.cvip import dissect, encode_message


def xml_value(v: Any) -> str:
    if isinstance(v, bool):
        return f"<value><boolean>{int(v)}</boolean></value>"
    if isinstance(v, int):
        return f"<value><int>{v}</int></value>"
    if isinstance(v, float):
        return f"<value><double>{v}</double></value>"
    if isinstance(v, dict):
        members = "".join(f"<member><name>{k}</name>{xml_value(x)}</member>"
                          for k, x in v.items())
        return f"<value><struct>{members}</struct></value>"
    if isinstance(v, list):
        return f"<value><array><data>{''.join(xml_value(x) for x in v)}</data></array></value>"
    if isinstance(v, tuple):
        return f"<value><{v[0]}>{v[1]}</{v[0]}></value>"
    return f"<value><string>{v}</string></value>"


def message(method: str | None, params: Any = None, *, response: bool = False,
            positional: list | None = None, txn: int = 12, header_response: bool | None = None,
            options: dict | None = None) -> Record:
    values = positional if positional is not None else ([] if params is None else [params])
    body = "".join(f"<param>{xml_value(v)}</param>" for v in values)
    root = "methodResponse" if response else "methodCall"
    name = f"<methodName>{method}</methodName>" if method else ""
    xml = f"<{root}>{name}<params>{body}</params></{root}>".encode()
    bit = response if header_response is None else header_response
    return dissect(encode_message(xml, txn, response=bit), "tcp", options=options)


def rules(rec: Record) -> set[str]:
    return {p.rule for p in rec.problems}


def test_request_summary_and_attrs():
    rec = message("cviStream.delete", {"GUID": "00000001-0000-0000-0001EC901E30B",
                                       "StreamID": 4})
    assert (rec.kind, rec.txn, rec.is_response, rec.method) == ("request", 12, False,
                                                                "cviStream.delete")
    assert rec.info == "cviStream.delete request txn=12"
    assert rec.attrs["service"] == "cviStream" and rec.attrs["method_name"] == "delete"
    assert rec.attrs["shape"] == "named" and rec.attrs["answer"] == "ack"
    assert rec.attrs["spec_section"].endswith("2. Stop streaming")
    assert rec.attrs["params"] == {"GUID": "00000001-0000-0000-0001EC901E30B", "StreamID": 4}
    assert rec.problems == []


def test_method_split_with_instances_and_field_offsets():
    rec = message("cviVideo.01.1.getProperties", ["videoEncoderState"])
    assert rec.attrs["service"] == "cviVideo.01.1"
    assert rec.attrs["method_name"] == "getProperties"
    data = encode_message(b"<methodCall><methodName> cviVideo.01.1.getProperties </methodName>"
                          b"<params/></methodCall>", 1)
    rec = dissect(data, "tcp")
    service, method = rec.find("cvip.service"), rec.find("cvip.method_name")
    assert data[service.offset:service.offset + service.length] == b"cviVideo.01.1"
    assert data[method.offset:method.offset + method.length] == b"getProperties"
    full = rec.find("cvip.method")
    assert data[full.offset:full.offset + full.length].strip() == b"cviVideo.01.1.getProperties"


def test_event_notify():
    rec = message("cviEvent.notify", {"Type": 0x04, "Id": 2, "Time": "2015-09-09 12:30:00",
                                      "info": 1}, txn=5)
    assert rec.kind == "event" and not rec.is_response
    assert rec.info == "cviEvent.notify event txn=5"
    assert rec.find("cvip.param.Type").display == "Motion (0x04)"
    assert rec.find("cvip.param.info").display == "alarm on (1)"
    assert rec.problems == []


def test_ack_with_error_code():
    rec = message(None, {"ErrorCode": 0x01000000}, response=True)
    assert rec.kind == "ack" and rec.is_response and rec.method is None
    assert rec.info == "ack Success txn=12"
    assert (rec.attrs["ack_code"], rec.attrs["ack_name"]) == (0x01000000, "Success")
    assert rec.find("cvip.ack.name").value == "Success"
    assert rec.find("cvip.ack.code").display == "0x01000000"
    assert rec.problems == []


def test_ack_naming_the_request_method():
    rec = message("cviStream.create", {"ErrorCode": 0x01000000, "StreamID": 3, "MediaType": 1,
                                       "GUID": "00000001-0000-0000-0001EC901E30B"},
                  response=True)
    assert rec.kind == "ack" and rec.method == "cviStream.create"
    assert rec.info == "cviStream.create ack Success txn=12"
    assert rec.attrs["params_by_name"]["StreamID"] == 3
    assert rec.find("cvip.param.MediaType").display == "H264 (1)"
    assert rec.problems == []


def test_bare_integer_ack_and_hex_string_ack():
    rec = message(None, positional=[0x01000001], response=True)
    assert (rec.kind, rec.attrs["ack_name"]) == ("ack", "Fail")
    rec = message(None, {"ErrorCode": "0x01000004"}, response=True)
    assert (rec.kind, rec.attrs["ack_name"]) == ("ack", "Invalid")
    # a plain integer result outside the ack code space is a response
    assert message(None, positional=[42], response=True).kind == "response"


@pytest.mark.parametrize(("field", "code", "table", "name"), [
    ("ErrorCode", 0x01000003, "auto", "Busy"),
    ("ErrorCode", 0x01000004, "auto", "Invalid"),
    ("AckReturnCode", 0x01000002, "auto", "Busy"),
    ("AckReturnCode", 0x01000003, "auto", "Invalid"),
    ("ErrorCode", 0x01000003, "event", "Invalid"),
    ("AckReturnCode", 0x01000003, "response", "Busy"),
    ("ErrorCode", 0x01000003, "either", "Busy/Invalid"),
    ("ErrorCode", 0x01000002, "either", "Busy"),
    ("ErrorCode", 0x01000004, "either", "Invalid"),
])
def test_the_two_ack_tables(field, code, table, name):
    rec = message(None, {field: code}, response=True, options={"ack_table": table})
    assert rec.attrs["ack_name"] == name
    assert "cvip.ack.unknown_code" not in rules(rec)


@pytest.mark.parametrize(("field", "code", "table"), [
    ("ErrorCode", 0x01000002, "auto"),  # busy only in the cviEvent.ack table
    ("AckReturnCode", 0x01000004, "auto"),  # invalid only in the §3.1 table
    ("ErrorCode", 0x01000009, "either"),
])
def test_codes_outside_the_chosen_table(field, code, table):
    rec = message(None, {field: code}, response=True, options={"ack_table": table})
    assert rec.attrs["ack_name"] is None
    assert rules(rec) == {"cvip.ack.unknown_code"}
    if field == "ErrorCode":
        assert rec.kind == "ack" and rec.info == f"ack 0x{code:08x} txn=12"
    else:
        assert rec.kind == "response"
        assert rec.info == f"response AckReturnCode=0x{code:08x} txn=12"


def test_event_ack_return_code_is_the_data_response_of_cvievent_ack():
    rec = message("cviEvent.ack", {"AckReturnCode": 0x01000002}, response=True)
    assert (rec.kind, rec.attrs["ack_name"], rec.attrs["ack_table"]) == (
        "response", "Busy", "ack_event")
    assert rec.info == "cviEvent.ack response AckReturnCode=Busy txn=12"
    assert rec.problems == []


def test_response_without_method_is_not_bound():
    rec = message(None, {"Length": 100}, response=True)
    assert rec.kind == "response" and rec.method is None
    assert rec.info == "response txn=12"
    assert rec.attrs["params"] == {"Length": 100} and rec.attrs["params_by_name"] == {}


def test_response_naming_its_method_is_bound_to_the_response_table():
    rec = message("cviPlayback.getlength", {"Length": 100}, response=True)
    assert rec.attrs["params_by_name"] == {"Length": 100} and rec.problems == []


def test_list_response_records():
    rec = message("cviStream.list", [
        {"GUID": "00000001-0000-0000-0001EC901E30B", "StreamID": 1, "major": 1, "minor": 1,
         "mediatype": 1, "persistant": True, "destIp": "10.0.0.1", "destPort": 5000,
         "destTransport": "UDP"},
        {"GUID": "00000001-0000-0000-0001EC901E30B", "StreamID": 2, "major": 1, "minor": 2,
         "mediatype": 1, "persistent": False, "destIp": "10.0.0.2", "destPort": 5002,
         "destTransport": "UDP"},
    ], response=True)
    assert rec.attrs["shape"] == "records"
    records = [f for f in rec.walk() if f.key == "cvip.record"]
    assert len(records) == 2
    assert [f.value for f in rec.walk() if f.key == "cvip.param.StreamID"] == [1, 2]
    assert rec.problems == []  # persistent/persistant are the same field by default


def test_positional_binding_follows_table_order():
    rec = message("cviPtz.cmd", positional=["00000001-0000-0000-0001EC901E30B", 1, 15, 0, 5, 3])
    assert rec.attrs["shape"] == "positional"
    assert rec.attrs["params_by_name"]["CmdType"] == 5
    assert rec.find("cvip.param.CmdType").label == "CmdType (#5)"
    assert rec.find("cvip.param.CmdType").display == "Go to pre-position (5)"


def test_named_and_positional_ptz_are_equivalent():
    named = message("cviPtz.cmd", {"GUID": "00000001-0000-0000-0001EC901E30B", "PtzID": 1,
                                   "PhyAddr": 15, "UserPriority": 0, "CmdType": 1,
                                   "CmdData": -9})
    positional = message("cviPtz.cmd",
                         positional=["00000001-0000-0000-0001EC901E30B", 1, 15, 0, 1, -9])
    assert named.attrs["params_by_name"] == positional.attrs["params_by_name"]
    assert named.problems == positional.problems == []


def test_getstatus_two_sections_told_apart_by_fields():
    status = message("cviPlayback.getstatus", {"GUID": "00000001-0000-0000-0001EC901E30B",
                                               "PlaybackID": 7})
    assert status.attrs["spec_section"].endswith("2.7 Get playback status")
    assert status.problems == []
    query = message("cviPlayback.getstatus", {
        "GUID": "00000001-0000-0000-0001EC901E30B", "MajorID": 1, "MinorID": 1,
        "StartTime": "20150909000000", "EndTime": "20150910000000", "EventType": 0x0C})
    assert query.attrs["spec_section"].endswith("2.8 Query playback list with event type")
    assert query.find("cvip.param.EventType").display == "Motion|Video Input (0x0c)"
    assert query.problems == []


def test_analytics_copy_error_titles_are_catalogued_under_analytics():
    rec = message("cviAnalytics.delete", {
        "GUID": "00000001-0000-0000-0001EC901E30B", "major": 1, "minor": 1, "mediatype": 1,
        "persistent": False, "destIp": "10.0.0.1", "destPort": 5000, "destTransport": 1})
    assert rec.problems == []
    assert "4.4) Manage Analytics Service" in rec.attrs["spec_section"]


def test_spelling_variants_default_and_strict():
    lenient = message("cviPTZ.cmd", positional=["00000001-0000-0000-0001EC901E30B", 1, 1, 0, 0, 0])
    assert lenient.problems == []
    strict = message("cviPTZ.cmd", positional=["00000001-0000-0000-0001EC901E30B", 1, 1, 0, 0, 0],
                     options={"strict_spelling": True})
    assert strict.problems == []  # the document writes both cviPtz and cviPTZ
    odd = message("CVIPTZ.cmd", positional=["x"], options={"strict_spelling": True})
    assert "cvip.method.unknown_service" in rules(odd)
    (p,) = [p for p in odd.problems if p.rule == "cvip.method.unknown_service"]
    assert "cviPtz" in p.message


def test_cyrillic_type_field_name_from_the_pdf():
    params = {"\u0422\u0443\u0440\u0435": 4, "Id": 0}  # "Туре" as the PDF prints it
    assert message("cviEvent.subscribe", params).problems == []
    strict = message("cviEvent.subscribe", params, options={"strict_spelling": True})
    assert rules(strict) == {"cvip.field.unknown", "cvip.field.missing"}


def test_generic_methods_on_any_service():
    for method in ("cviUnit.describe", "cviNetwork.2.listEvents", "cviNvr.listFunctions"):
        assert message(method).problems == [], method
    assert message("cviRecord.listParameters", positional=["queryClip"]).problems == []
    (p,) = message("cviRecord.listParameters").problems
    assert p.rule == "cvip.field.missing" and "cviRecord.listParameters" in p.message


def test_analytics_document_is_an_event():
    body = (b"<AnalyticsData><DataSourceGUID>00000001-0000-0000-0001EC901E30B</DataSourceGUID>"
            b"<DataTime>123</DataTime><params><param><value><boolean>0</boolean></value>"
            b"</param></params></AnalyticsData>")
    rec = dissect(encode_message(body, 2), "tcp")
    assert rec.kind == "event" and rec.method is None
    assert rec.info == "AnalyticsData txn=2 source=00000001-0000-0000-0001EC901E30B"
    assert rec.attrs["analytics"]["valid"] is False and rec.problems == []
