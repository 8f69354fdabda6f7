"""Per-message conformance checks of CVIPv2: one test per rule (docs/RULES.md), with the
bytes each finding points at."""

from __future__ import annotations

from dissectors.base import Problem, Record
from dissectors.cvip import dissect, encode_message
from tests.test_cvip_semantics import message

G = "00000001-0000-0000-0001EC901E30B"  # a GUID in the document's own shape


def found(rec: Record, rule: str) -> list[Problem]:
    return [p for p in rec.problems if p.rule == rule]


def only(rec: Record, rule: str) -> Problem:
    assert {p.rule for p in rec.problems} == {rule}, rec.problems
    (p,) = rec.problems
    return p


def raw(rec: Record, p: Problem, data: bytes) -> bytes:
    return data[p.offset:p.offset + p.length]


def ptz(cmd_type: int, cmd_data: int) -> Record:
    return message("cviPtz.cmd", {"GUID": G, "PtzID": 1, "PhyAddr": 15, "UserPriority": 0,
                                  "CmdType": cmd_type, "CmdData": cmd_data})


# ---- services and methods ------------------------------------------------------------


def test_unknown_service_points_at_the_method_name():
    body = b"<methodCall><methodName>cviAudio.create</methodName><params/></methodCall>"
    data = encode_message(body, 1)
    rec = dissect(data, "tcp")
    p = only(rec, "cvip.method.unknown_service")
    assert p.severity == "error" and raw(rec, p, data) == b"cviAudio.create"
    assert p.spec.endswith("Service and Properties 1. Service")


def test_method_without_service_part():
    assert only(message("describe"), "cvip.method.unknown_service").severity == "error"


def test_unknown_method_severity_depends_on_function_support():
    assert only(message("cviPlayback.rewind"), "cvip.method.unknown_method").severity == "warning"
    custom = only(message("cviNvr.queryClip"), "cvip.method.unknown_method")
    assert custom.severity == "info" and "custom function" in custom.message


def test_property_method_on_a_service_without_property_support():
    p = only(message("cviStream.getProperties", ["x"]), "cvip.method.unknown_method")
    assert "without property support" in p.message
    # ... unless the command details define one for it
    ok = message("cviPtz.setProperties", {"PtzID": 1, "ProtocolType": 2, "UserPriority": 0})
    assert ok.problems == []


def test_instances():
    assert only(message("cviUnit.1.describe"), "cvip.method.unknown_service").severity == "warning"
    assert found(message("cviVideo.01.1.2.describe"), "cvip.method.unknown_service")
    assert found(message("cviVideo.a.describe"), "cvip.method.unknown_service")
    assert message("cviVideo.12.3.describe").problems == []
    strict = message("cviVideo.12.3.describe", options={"strict_instances": True})
    assert only(strict, "cvip.method.unknown_service").severity == "warning"
    assert message("cviVideo.08.2.describe", options={"strict_instances": True}).problems == []


# ---- fields ---------------------------------------------------------------------------


def test_missing_and_unknown_fields():
    rec = message("cviStream.delete", {"GUID": G, "Foo": 1})
    (missing,) = found(rec, "cvip.field.missing")
    assert "StreamID" in missing.message and missing.severity == "warning"
    (unknown,) = found(rec, "cvip.field.unknown")
    assert "'Foo'" in unknown.message and unknown.offset > 0 and unknown.length == 3


def test_positional_parameters_missing_or_extra():
    short = message("cviPtz.cmd", positional=[G, 1, 15, 0])
    assert {p.message.split("'")[1] for p in found(short, "cvip.field.missing")} == {
        "CmdType", "CmdData"}
    extra = message("cviPtz.cmd", positional=[G, 1, 15, 0, 1, 9, 99])
    assert "positional parameter 7" in only(extra, "cvip.field.unknown").message


def test_wrong_type():
    rec = message("cviStream.delete", {"GUID": G, "StreamID": "4"})
    p = only(rec, "cvip.field.type")
    assert "StreamID is <string>" in p.message


def test_guid_may_be_numeric():
    assert message("cviStream.delete", {"GUID": 1234, "StreamID": 4}).problems == []


def test_enums():
    assert "Send PTZ command" in only(ptz(9, 3), "cvip.field.enum").spec
    assert only(message("cviPtz.setProperties", {"PtzID": 1, "ProtocolType": 4,
                                                  "UserPriority": 0}), "cvip.field.enum")
    state = message("cviPlayback.setstate", {"GUID": G, "PlaybackID": 1, "State": 5,
                                             "Speed": 1})
    assert "Play State" in only(state, "cvip.field.enum").message
    for good in (0, 1, 2, 3, 4, 8, 9):
        assert message("cviPlayback.setstate", {"GUID": G, "PlaybackID": 1, "State": good,
                                                "Speed": 2}).problems == []
    media = message("cviPlayback.create", {"ErrorCode": 0x01000000, "GUID": G,
                                           "PlaybackID": 1, "MediaType": 7}, response=True)
    assert only(media, "cvip.field.enum").message.startswith("MediaType 0x07")
    entity = message("cviEntity.delete", {"GUID": G, "AppGUID": G, "EntityTypeID": 0x34,
                                          "EntityID": 1})
    assert only(entity, "cvip.field.enum")
    assert message("cviEntity.delete", {"GUID": G, "AppGUID": G, "EntityTypeID": 0x33,
                                        "EntityID": 1}).problems == []


def test_bit_sets():
    assert message("cviEvent.subscribe", {"Type": 0x3F, "Id": 0}).problems == []
    p = only(message("cviEvent.subscribe", {"Type": 0x44, "Id": 0}), "cvip.field.enum")
    assert "0x40" in p.message
    user = message("cviUser.adduser", {"GUID": G, "AppGUID": G, "UserName": "u",
                                       "UserDescription": "d", "UserPrivilege": 0x80,
                                       "UserPriority": 1, "GroupID": 1})
    assert only(user, "cvip.field.enum")


def test_ptz_speed_range():
    for speed in (1, 9, 16, -1, -16):
        assert ptz(1, speed).problems == [], speed
    for speed in (17, -17, 0):
        assert only(ptz(1, speed), "cvip.field.range").severity == "error", speed
    assert ptz(0, 0).problems == []  # Stop: no speed


def test_port_range():
    rec = message("cviMedia.export", {"GUID": G, "ClipID": 1, "serverIP": "10.0.0.1",
                                      "serverPort": 70000, "authenticationId": "a"})
    assert "70000 is outside 0..65535" in only(rec, "cvip.field.range").message


def test_time_formats():
    def create(start: str) -> Record:
        return message("cviPlayback.create", {
            "GUID": G, "Major": 1, "Minor": 1, "StartTime": start, "EndTime": "20150909235959",
            "destIp": "10.0.0.1", "destPort": 5000, "destTransport": "UDP"})

    assert create("20150909000000").problems == []
    assert "YYYYMMDDHHMMSS" in only(create("2015-09-09 00:00:00"), "cvip.field.format").message
    assert only(create("20150230000000"), "cvip.field.format")  # 30 February

    def notify(time: str) -> Record:
        return message("cviEvent.notify", {"Type": 4, "Id": 1, "Time": time, "info": 0})

    assert notify("2015-09-09 12:00:00").problems == []
    assert only(notify("20150909120000"), "cvip.field.format")
    assert only(notify("2015-09-09 25:00:00"), "cvip.field.format")


def test_guid_formats():
    def delete(guid: str, **options) -> Record:
        return message("cviStream.delete", {"GUID": guid, "StreamID": 1}, options=options)

    rfc = "12345678-1234-1234-1234-1234567890ab"
    assert delete(G).problems == [] and delete(rfc).problems == []
    assert only(delete("not-a-guid"), "cvip.field.format")
    assert only(delete(rfc, guid_format="spec"), "cvip.field.format")
    assert only(delete(G, guid_format="rfc4122"), "cvip.field.format")


def test_ip_and_md5_formats():
    assert only(message("cviMedia.export", {"GUID": G, "ClipID": 1, "serverIP": "10.0.0",
                                            "serverPort": 1, "authenticationId": "a"}),
                "cvip.field.format")
    login = message("cviUser.login", {"GUID": G, "UserName": "admin",
                                      "PassWord": "5f4dcc3b5aa765d61d8327deb882cf99",
                                      "LoginType": 1})
    assert "MD5" in only(login, "cvip.field.format").message


def test_property_access_rights():
    rec = message("cviUnit.setProperties", {"unitFirmwareVersion": "2.0", "unitCvipName": "x"})
    p = only(rec, "cvip.property.read_only")
    assert "unitFirmwareVersion" in p.message and p.severity == "error"
    assert p.spec.endswith("Service and Properties 2. Properties")
    assert message("cviNetwork.1.setProperties", {"networkIpAddress": "10.0.0.2"}).problems == []
    unknown = message("cviNetwork.1.setProperties", {"networkFoo": 1})
    assert "networkFoo" in only(unknown, "cvip.field.unknown").message
    # reading a read-only property is fine
    assert message("cviUnit.getProperties", ["unitFirmwareVersion"]).problems == []


def test_entity_properties_follow_the_entity_type():
    camera = {"GUID": G, "AppGUID": G, "EntityTypeID": 1, "GroupID": 2,
              "Capability": 3, "PhyAddr": 15, "LogicalID": 4}
    assert message("cviEntity.add", camera).problems == []
    assert only(message("cviEntity.add", {**camera, "Capability": 8}), "cvip.field.enum")
    assert only(message("cviEntity.add", {**camera, "MapEntityPosX": 1}), "cvip.field.unknown")
    nested = {"GUID": G, "AppGUID": G, "EntityTypeID": 5, "GroupID": 2,
              "EntityProperty": {"MapEntityTypeID": 0x0D, "MapEntityPosX": 3}}
    assert only(message("cviEntity.add", nested), "cvip.field.enum")
    profile = message("cviProfile.add", {"GUID": G, "ProfileTypeID": 4, "channel": 1,
                                         "samplingFreq": 8000})
    assert profile.problems == []


def test_unknown_ack_code_points_at_the_code():
    body = (b"<methodResponse><params><param><value><struct><member><name>ErrorCode</name>"
            b"<value><int>16777225</int></value></member></struct></value></param></params>"
            b"</methodResponse>")
    data = encode_message(body, 3, response=True)
    rec = dissect(data, "tcp")
    p = only(rec, "cvip.ack.unknown_code")
    assert raw(rec, p, data) == b"16777225" and "0x01000009" in p.message


def test_response_bit():
    request = message("cviStream.delete", {"GUID": G, "StreamID": 1}, header_response=True)
    p = only(request, "cvip.header.response_bit")
    assert (p.offset, p.length) == (3, 1)
    assert not request.is_response  # the body decides the kind
    ack = message(None, {"ErrorCode": 0x01000000}, response=True, header_response=False)
    assert only(ack, "cvip.header.response_bit").message.startswith("response bit clear")
    event = message("cviEvent.notify", {"Type": 4, "Id": 1, "Time": "2015-09-09 12:00:00",
                                        "info": 1}, header_response=True)
    assert only(event, "cvip.header.response_bit")


def test_listproperties_response_records_checked_when_the_method_is_named():
    rec = message("cviNetwork.1.listProperties", [
        {"id": "port", "name": "Port", "value": 1111, "validation": "range",
         "range": "0,65000", "access": "rw", "units": "n/a"}], response=True)
    assert "min,max,step" in only(rec, "cvip.field.format").message


def test_every_problem_offset_is_inside_the_message():
    samples = [ptz(9, 30), message("cviAudio.x"), message("cviStream.delete", {"Foo": "x"}),
               message("cviUnit.setProperties", {"unitUpTime": 1})]
    for rec in samples:
        assert rec.problems
        for p in rec.problems:
            assert p.rule and p.severity in ("error", "warning", "info") and p.message
            assert p.spec.startswith("CVIPv2 §")
            assert p.offset == -1 or (p.offset >= 9 and p.length >= 0)


def test_stop_tables_require_only_the_session_key():
    assert message("cviRecord.delete", {"GUID": G, "major": 1, "minor": 1}).problems == []
    assert message("cviDisplay.delete", {"GUID": G, "major": 1, "minor": 2,
                                         "persistant": False}).problems == []
    missing = message("cviRecord.delete", {"GUID": G, "major": 1})
    assert "'minor'" in only(missing, "cvip.field.missing").message


def test_list_requests_without_a_table_are_not_judged():
    assert message("cviSerialPort.list", {"GUID": G}).problems == []


def test_service_profile_member_follows_the_service_id():
    base = {"GUID": G, "AppGUID": G, "EntityID": 101}
    ok = message("cviEntity.updateservices", {**base, "ServiceID": "0x03.1",
                                              "VideoEncoderProfile": 4})
    assert ok.problems == []
    wrong = message("cviEntity.updateservices", {**base, "ServiceID": 3,
                                                 "SerialPortProfile": 4})
    assert "ServiceProfile" in only(wrong, "cvip.field.unknown").message


def test_acks_may_carry_the_new_id_and_never_require_it():
    added = message("cviUser.addgroup", {"ErrorCode": 0x01000000, "GroupID": 3}, response=True)
    assert added.problems == [] and added.attrs["params_by_name"]["GroupID"] == 3
    failed = message("cviUser.login", {"ErrorCode": 0x01000001}, response=True)
    assert failed.kind == "ack" and failed.problems == []
