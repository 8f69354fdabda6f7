"""Every XML example of the CVIPv2 document, verbatim (tests/data/cvip/), through the
whole dissector: the structure a reader of the document expects is asserted for each,
and the malformed ones must be recovered *and* flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from dissectors.base import Record
from dissectors.cvip import dissect, encode_message
from tests.conftest import SPEC_DIR

DATA = Path(__file__).resolve().parent / "data" / "cvip"
EXAMPLES = sorted(p.name for p in DATA.glob("*.xml"))


def load(name: str, response: bool | None = None, txn: int = 12) -> Record:
    body = (DATA / name).read_bytes()
    if response is None:
        response = "response" in name
    return dissect(encode_message(body, txn, response=response), "tcp")


def rules(record: Record, severity: str | None = None) -> set[str]:
    return {p.rule for p in record.problems if severity is None or p.severity == severity}


def malformed(record: Record) -> bool:
    return any(p.rule == "cvip.xml.malformed" and p.severity == "error" for p in record.problems)


def test_every_example_file_is_covered_here():
    covered = {name for name, *_ in WELL_FORMED} | set(MALFORMED) | {
        "analytics_data.xml", "ptz_cmd_call.xml", "startFirmwareUpdate_call.xml"}
    assert set(EXAMPLES) == covered
    assert len(EXAMPLES) == 24


@pytest.mark.skipif(not (SPEC_DIR / "cvipv2-protocol.txt").exists(), reason="spec not present")
def test_examples_are_verbatim_copies_of_the_document():
    """Each line of each example occurs in the document as printed (the conversion's list
    bullets and the 'response' label joined to one line aside)."""
    spec_lines = set()
    for line in (SPEC_DIR / "cvipv2-protocol.txt").read_text(encoding="utf-8").splitlines():
        spec_lines.add(line)
        if line.startswith("- "):
            spec_lines.add(line[2:])
        if line.endswith("</methodCall> response"):
            spec_lines.add(line[: -len(" response")])
    for name in EXAMPLES:
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            assert line in spec_lines, (name, line)


# (file, kind, method, params) for the examples that are well-formed XML.
WELL_FORMED = [
    ("system_describe_call.xml", "request", "system.describe", []),
    ("system_describe_response.xml", "response", None,
     {"id": "NVR_I", "name": " NVR_I ", "version": "1.0", "propertySupport": 0,
      "functionsSupport": 0}),
    ("system_listEvents_call.xml", "request", "system.listEvents", []),
    ("service_listEvents_call.xml", "request", "cviVideo.listEvents", []),
    ("service_listEvents_response.xml", "response", None,
     [[{"id": "FRAME_SKIP", "name": "Video Frame skipped"},
       {"id": "VIDEO_LOST", "name": "Lost Video signal"}]]),
    ("service_describe_call.xml", "request", "cviNetwork.describe", []),
    ("service_listProperties_call.xml", "request", "cviNetwork.1.listProperties", []),
    ("service_listFunctions_call.xml", "request", "cviNvr.listFunctions", []),
    ("service_listFunctions_response.xml", "response", None,
     [[{"methodName": "queryClip", "multiCallSupport": 0, "multiAnswerSupport": 1}]]),
    ("service_listParameters_call.xml", "request", "cviNvr.listParameters", ["queryClip"]),
    ("service_getProperties_response.xml", "response", None, {"parameter_1_AsExemple": 1}),
    ("getProgressInfo_call.xml", "request", "cviUpdateFirmware.getProgressInfo", []),
]


@pytest.mark.parametrize(("name", "kind", "method", "params"), WELL_FORMED)
def test_well_formed_examples(name, kind, method, params):
    rec = load(name)
    assert rec.protocol == "cvip"
    assert rec.kind == kind
    assert rec.method == method
    assert rec.txn == 12
    assert rec.is_response is (kind == "response")
    assert rec.attrs["params"] == params
    assert not malformed(rec)
    assert rec.attrs["xml_well_formed"] is True
    assert "cvip.method.unknown_service" not in rules(rec)
    assert "cvip.method.unknown_method" not in rules(rec)


def test_well_formed_calls_are_clean():
    for name, kind, *_ in WELL_FORMED:
        if kind == "request":
            assert load(name).problems == [], name


def test_getproperties_response_struct_without_value_is_a_structure_note():
    rec = load("service_getProperties_response.xml")
    assert rules(rec) == {"cvip.xmlrpc.structure"}


MALFORMED = {
    "system_listServices_call.xml", "system_listServices_response.xml",
    "system_listEvents_response.xml", "service_describe_response.xml",
    "service_listProperties_response.xml", "service_listParameters_response.xml",
    "service_getProperties_call.xml", "service_setProperties_call.xml",
    "getProgressInfo_response.xml",
}


@pytest.mark.parametrize("name", sorted(MALFORMED | {"analytics_data.xml", "ptz_cmd_call.xml"}))
def test_malformed_examples_are_flagged_and_recovered(name):
    rec = load(name)
    assert malformed(rec)
    assert rec.attrs["xml_repaired"] is True
    assert rec.kind != "unknown"


def test_listservices_call_unclosed_methodname():
    rec = load("system_listServices_call.xml")
    assert rec.kind == "request"
    assert rec.method == "system.listServices"
    assert rec.attrs["params"] == []
    notes = [n for p in rec.problems for n in p.notes]
    assert any("<methodName> where </methodName> was meant" in n for n in notes)


def test_listservices_response_extra_param_end_tags():
    rec = load("system_listServices_response.xml")
    assert rec.kind == "response"
    assert rec.attrs["params"] == [["cvip", "cviNetwork", "cviNetwork.1", "cviNetwork.2",
                                    "cviNetwork.2", "cviNvr"]]


def test_listevents_response_runaway_tags_and_repeated_member():
    rec = load("system_listEvents_response.xml")
    assert rec.attrs["params"] == [[
        {"id": "cviUnit", "name": "Unit Events"},
        {"id": "cviVideo", "id#2": "cviVideo", "name": "Video Events"},
    ]]
    notes = [n for p in rec.problems for n in p.notes]
    assert any("</param> closes nothing open" in n and "(x" in n for n in notes)
    # the repeated member is kept in order in the tree too
    record = rec.find("cvip.record")
    assert record is None  # no method known: generic binding, not records
    members = [f.label for f in rec.walk() if f.key == "cvip.member"]
    assert members == ["id", "name", "id", "id", "name"]


def test_describe_response_missing_param_end_tags():
    rec = load("service_describe_response.xml")
    assert rec.attrs["params"] == {"id": "cviNetwork", "name": " cviNetwork ",
                                   "version": "1.0", "propertySupport": 1,
                                   "functionsSupport": 0}


def test_listproperties_response_swapped_end_tags():
    rec = load("service_listProperties_response.xml")
    assert rec.attrs["params"] == [[
        {"id": "ip", "name": "IP address", "value": "192.168.1.1", "validation": "regexp",
         "regexp": "[0-2][0-9][0-9]*.", "access": "rw", "units": "n/a"},
        {"id": "port", "name": "Port", "value": 1111, "validation": "range",
         "range": "0,65000,1", "access": "rw", "units": "n/a"},
    ]]
    notes = [n for p in rec.problems for n in p.notes]
    assert any("taken as swapped" in n for n in notes)


def test_listparameters_response_recovered_as_a_reader_would():
    rec = load("service_listParameters_response.xml")
    top = rec.attrs["params"]
    assert list(top) == ["methodCall", "MethodResponse"]
    call = top["methodCall"]
    assert [r["id"] for r in call] == ["mediaType", "major", "eventValue"]
    assert call[0]["list"] == "Video" and call[0]["list#2"] == "Audio"
    assert call[0]["list#3"] is None  # <int>Motion</int>
    assert call[1]["range"] == "1,16,1"
    assert call[2]["conditional"] == "eventEnable"
    assert call[2]["eventEnable"] is None  # the member cut off by the next <member>
    assert call[2]["validRange"] == "1,1,0"
    answer = top["MethodResponse"]
    assert [r["id"] for r in answer] == ["mediaType", "clipTime"]
    assert answer[1]["units"] == "n/a"
    messages = [m for p in rec.problems for m in (p.message, *p.notes)]
    assert any("'Motion' is not an integer" in m for m in messages)
    assert any("'eventEnable' without a <value>" in m for m in messages)
    # the <int></int> type markers under valueType are the document's idiom, not errors
    assert not any("valueType" in m for m in messages)


def test_getproperties_call_array_of_property_ids():
    rec = load("service_getProperties_call.xml")
    assert rec.method == "cviVideo.1.getProperties"
    assert rec.attrs["service"] == "cviVideo.1"
    assert rec.attrs["method_name"] == "getProperties"
    assert rec.attrs["params"] == ["parameter_1_AsExemple"]
    assert rec.attrs["shape"] == "property_ids"
    # the placeholder property is not in the cviVideo.<n> property table
    unknown = [p for p in rec.problems if p.rule == "cvip.field.unknown"]
    assert len(unknown) == 1 and "parameter_1_AsExemple" in unknown[0].message


def test_setproperties_call_name_closed_by_string():
    rec = load("service_setProperties_call.xml")
    assert rec.method == "cviVideo.setProperties"
    assert rec.attrs["params"] == {"parameter_1_AsExemple": 18, "parameter_2_AsExemple": 64,
                                   "parameter_3_AsExemple": "AB"}
    iint = [p for p in rec.problems if p.rule == "cvip.xmlrpc.value_type"]
    assert len(iint) == 1 and "<iint>" in iint[0].message
    # cviVideo without an instance has no property table: ids are not judged
    assert "cvip.field.unknown" not in rules(rec)


def test_start_firmware_update_array_of_structs_binds_by_name():
    rec = load("startFirmwareUpdate_call.xml")
    assert rec.kind == "request"
    assert rec.attrs["shape"] == "struct_list"
    assert rec.attrs["params_by_name"] == {"ImageFileId": '"image file name"\n\n',
                                           "AuthenticationId": '"any Id" '}
    assert rec.problems == []
    assert rec.find("cvip.param.ImageFileId").value == '"image file name"\n\n'


def test_get_progress_info_response_without_closing_tags():
    rec = load("getProgressInfo_response.xml")
    assert rec.attrs["params"] == [[{"state": "FWUPDUNINITIALIZED",
                                     "status": "FWUPD_STATUS_OK", "bytesProgress": "0",
                                     "totalBytesProgress": "0"}]]
    notes = [n for p in rec.problems for n in p.notes]
    assert any("'/methodResponse>'" in n for n in notes)


def test_ptz_example_positional_params_named_by_the_catalogue():
    rec = load("ptz_cmd_call.xml")
    assert rec.kind == "request"
    assert rec.method == "cviPTZ.cmd"
    assert rec.attrs["shape"] == "positional"
    assert rec.attrs["params"] == ["00000001-0000-0000-0001EC901E30B", 1, 15, 0, 1, 9]
    assert rec.attrs["params_by_name"] == {
        "GUID": "00000001-0000-0000-0001EC901E30B", "PtzID": 1, "PhyAddr": 15,
        "UserPriority": 0, "CmdType": 1, "CmdData": 9}
    cmd = rec.find("cvip.param.CmdType")
    assert cmd.value == 1 and cmd.display == "Pan (1)"
    assert rec.find("cvip.param.CmdData").value == 9
    # the <xml> wrapper, "value>" and "." are reported; the content is conformant
    assert {"cvip.method.unknown_service", "cvip.method.unknown_method", "cvip.field.range",
            "cvip.field.enum", "cvip.field.format"}.isdisjoint(rules(rec))
    messages = [m for p in rec.problems for m in (p.message, *p.notes)]
    assert any("<xml> wraps the message" in m for m in messages)
    assert any("'value>'" in m for m in messages)
    assert any("'.'" in m for m in messages)


def test_analytics_data_example():
    rec = load("analytics_data.xml", response=False)
    assert rec.kind == "event"
    analytics = rec.attrs["analytics"]
    assert analytics == {
        "source_guid": "00000001-0000-0000-0001EC901E30B",
        "time": "0",
        "valid": True,
        "boxes": [{"Left": 0, "Top": 0, "Right": 50, "Bottom": 50}],
        "blocks": [[10, 15], [10, 16]],
    }
    assert rec.find("cvip.analytics.box.right").value == 50
    assert [f.display for f in rec.walk() if f.key == "cvip.analytics.block"] == [
        "(10, 15)", "(10, 16)"]
    messages = [m for p in rec.problems for m in (p.message, *p.notes)]
    assert any("</int> closes nothing open" in m for m in messages)
    assert any("'AnalyticsData >'" in m for m in messages)
    assert "cvip.field.format" not in rules(rec)  # the document's GUID shape is accepted


def test_example_value_offsets_point_at_the_value_bytes():
    """The hex pane highlights exactly the literal a field was read from, also in a
    repaired body."""
    for name in EXAMPLES:
        body = (DATA / name).read_bytes()
        data = encode_message(body, 1, response="response" in name)
        rec = dissect(data, "tcp")
        for f in rec.walk():
            if f.offset < 0 or not f.key.startswith("cvip.param."):
                continue
            raw = data[f.offset:f.offset + f.length].decode()
            if isinstance(f.value, int | str) and not isinstance(f.value, bool):
                assert raw.strip() == str(f.value).strip() or raw == f.value, (name, f)
