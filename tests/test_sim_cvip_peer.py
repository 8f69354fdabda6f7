"""The sans-I/O reference unit: answers, acknowledgement codes and state, per the spec."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cvipsniff.sim.cvip.constants import AckCode, EventAckCode, EventType, PlaybackState
from cvipsniff.sim.cvip.decode import (
    Call,
    Header,
    Response,
    parse_body,
    parse_header,
    parse_ping_response,
)
from cvipsniff.sim.cvip.device import Peer, Session
from cvipsniff.sim.cvip.encode import frame, method_call, ping_request
from cvipsniff.sim.cvip.script import CLIENT_GUID
from cvipsniff.sim.cvip.unit import md5_hex
from cvipsniff.sim.cvip.values import Struct, UInt

SUCCESS, FAIL, BUSY, INVALID = (AckCode.SUCCESS, AckCode.FAIL, AckCode.BUSY, AckCode.INVALID)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2015, 9, 9, 10, 0, 0)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class Client:
    """A session plus a transaction counter; returns (header, decoded answer)."""

    def __init__(self, peer: Peer, *, common_port: bool = False) -> None:
        self.peer = peer
        self.session: Session = peer.open_session(common_port=common_port)
        self.txn = 100

    def raw(self, data: bytes) -> list[bytes]:
        return self.session.feed(data)

    def call(self, method: str, *params, **frame_kw) -> tuple[Header, Response]:
        self.txn += 1
        answers = self.raw(frame(method_call(method, *params), self.txn, **frame_kw))
        assert len(answers) == 1, answers
        header = parse_header(answers[0])
        assert header is not None and header.txn == self.txn and header.response
        body = parse_body(answers[0][9:])
        assert isinstance(body, Response)
        return header, body

    def code(self, method: str, *params) -> int | None:
        return self.call(method, *params)[1].error_code

    def value(self, method: str, *params):
        _, response = self.call(method, *params)
        assert response.error_code is None, (method, response, self.peer.last_reason)
        return response.value


def _unit(role: str):
    client = Client(Peer(role, clock=Clock()))
    yield client
    # A handler bug is answered Fail and counted rather than raised: none may happen.
    assert client.peer.stats.internal_errors == 0


@pytest.fixture
def device():
    yield from _unit("device")


@pytest.fixture
def nvr():
    yield from _unit("nvr")


@pytest.fixture
def master():
    yield from _unit("master")


def login(master: Client) -> str:
    _, answer = master.call("cviUser.login", {
        "GUID": CLIENT_GUID, "UserName": md5_hex("admin"), "PassWord": md5_hex("admin"),
        "LoginType": UInt(1)})
    assert answer.error_code == SUCCESS
    return answer.value.get("AppGUID")


# --- discovery ------------------------------------------------------------------------


def test_ping_over_tcp_echoes_txn_and_connection_type(device):
    answers = device.raw(ping_request(77, "192.0.2.100", 50000, 0x0C))
    ping = parse_ping_response(answers[0])
    assert len(answers[0]) == 37
    assert ping.header.txn == 77 and ping.connection_type == 0x0C
    assert ping.port == 7110 and ping.ip == "127.0.0.1"
    assert ping.guid == device.peer.unit.guid_raw


def test_common_port_answers_only_pings():
    peer = Peer("device")
    common = Client(peer, common_port=True)
    assert common.raw(frame(method_call("system.describe"), 1)) == []
    assert parse_ping_response(common.raw(ping_request(2, "127.0.0.1", 1, 1))[0]) is not None
    assert peer.stats.ignored == 1


def test_udp_answers_pings_and_ignores_the_rest():
    peer = Peer("nvr", ip="192.0.2.20", port=7111)
    ping = parse_ping_response(peer.handle_datagram(ping_request(3, "192.0.2.100", 5, 0x10))[0])
    assert (ping.ip, ping.port, ping.connection_type) == ("192.0.2.20", 7111, 0x10)
    assert peer.handle_datagram(frame(method_call("system.describe"), 4)) == []
    assert peer.handle_datagram(ping_request(5, "127.0.0.1", 1, 1)[:12]) == []


def test_little_endian_ping_is_answered_little_endian():
    peer = Peer("device")
    answer = peer.handle_datagram(ping_request(3, "127.0.0.1", 5, 1, little_endian=True))[0]
    assert answer[:2] == b"\x01\x02" and parse_ping_response(answer).header.txn == 3


def test_each_role_lists_its_services():
    services = {role: Client(Peer(role)).value("system.listServices")
                for role in ("device", "nvr", "master")}
    assert {"cviStream", "cviPtz", "cviVideo.01.1"} <= set(services["device"])
    assert {"cviPlayback", "cviMedia", "cviRecord", "cviNvr"} <= set(services["nvr"])
    assert {"cviUser", "cviEntity", "cviProfile", "cviApplication"} <= set(services["master"])
    assert "cviStream" not in services["nvr"] and "cviPlayback" not in services["master"]
    for names in services.values():
        assert names[0] == "cvip" and "cviEvent" in names


def test_service_description_flags(device):
    network = device.value("cviNetwork.describe")
    assert (network.get("id"), network.get("propertySupport"),
            network.get("functionsSupport")) == ("cviNetwork", 1, 0)
    stream = device.value("cviStream.describe")
    assert (stream.get("propertySupport"), stream.get("functionsSupport")) == (0, 1)


def test_list_parameters_describes_request_and_answer(device):
    blocks = device.value("cviPtz.listParameters", "cmd")
    request = {item.get("id"): item for item in blocks.get("methodCall")}
    assert list(request) == ["GUID", "PtzID", "PhyAddr", "UserPriority", "CmdType", "CmdData"]
    assert request["CmdType"].get_all("list") == [0, 1, 2, 3, 4, 5, 6, 7]
    assert request["CmdData"].get("range") == "-16,16,1"
    assert [i.get("id") for i in blocks.get("methodResponse")] == ["ErrorCode"]
    assert device.code("cviPtz.listParameters", "fly") == INVALID


# --- acknowledgement codes ------------------------------------------------------------


def test_unknown_service_and_method_are_invalid_without_method_name(device):
    for method in ("cviTeleport.describe", "cviStream.explode", "nodot", "system.reboot"):
        _, answer = device.call(method, {"GUID": CLIENT_GUID})
        assert answer.error_code == INVALID and answer.method is None, method


def test_methods_of_another_role_are_unknown(device):
    assert device.code("cviPlayback.list") == INVALID


def test_malformed_xml_and_dtds_are_invalid(device):
    for body in (b"<methodCall><methodName>system.describe</methodName>",
                 b'<!DOCTYPE x [<!ENTITY e "x">]><methodCall><methodName>&e;</methodName>'
                 b"</methodCall>"):
        answers = device.raw(frame(body, 9))
        answer = parse_body(answers[0][9:])
        assert answer.error_code == INVALID and answer.method is None


def test_unsupported_version_is_invalid_and_answered_in_version_0201(device):
    answers = device.raw(frame(method_call("system.describe"), 12, version=0x0202))
    header = parse_header(answers[0])
    assert (header.version, header.txn, header.response) == (0x0201, 12, True)
    assert parse_body(answers[0][9:]).error_code == INVALID


def test_little_endian_request_gets_a_little_endian_answer(device):
    header, answer = device.call("system.describe", little_endian=True)
    assert header.little_endian and answer.value.get("version") == "1.0"


def test_request_with_the_response_bit_is_still_answered(device):
    header, answer = device.call("system.describe", response=True)
    assert header.response and answer.value.get("version") == "1.0"


def test_answers_to_dispatched_requests_carry_the_method_name(device):
    _, answer = device.call("cviStream.delete", {"GUID": CLIENT_GUID, "StreamID": UInt(9)})
    assert answer.method == "cviStream.delete" and answer.error_code == FAIL


@pytest.mark.parametrize("fields, code", [
    ({"GUID": CLIENT_GUID}, INVALID),  # StreamID missing
    ({"GUID": CLIENT_GUID, "StreamID": "nine"}, INVALID),  # wrong type
    ({"GUID": "not-a-guid", "StreamID": UInt(1)}, INVALID),  # GUID format
    ({"GUID": CLIENT_GUID, "StreamID": UInt(1)}, FAIL),  # well-formed, no such stream
])
def test_field_checks(device, fields, code):
    assert device.code("cviStream.delete", fields) == code


@pytest.mark.parametrize("speed, code", [(0, INVALID), (17, INVALID), (-17, INVALID),
                                         (16, SUCCESS), (-16, SUCCESS), (1, SUCCESS)])
def test_ptz_speed_is_a_signed_1_to_16(device, speed, code):
    assert device.code("cviPtz.cmd", {
        "GUID": CLIENT_GUID, "PtzID": UInt(1), "PhyAddr": UInt(3), "UserPriority": UInt(0),
        "CmdType": UInt(1), "CmdData": speed}) == code


def test_ptz_positional_command_and_unknown_command_type(device):
    assert device.code("cviPTZ.cmd", CLIENT_GUID, 1, 15, 0, 1, 9) == SUCCESS
    assert device.peer.unit.ptz_commands[-1] == {"PhyAddr": 15, "CmdType": 1, "CmdData": 9}
    assert device.code("cviPtz.cmd", CLIENT_GUID, 1, 15, 0, 8, 9) == INVALID
    assert device.code("cviPtz.cmd", CLIENT_GUID, 1, 15, 0, 1, 9, 1) == INVALID


# --- properties -----------------------------------------------------------------------


def test_set_properties_access_rights_and_validation(device):
    assert device.code("cviUnit.setProperties", {"unitFirmwareVersion": "9.9"}) == FAIL
    assert device.peer.last_reason.startswith("read-only")
    assert device.code("cviUnit.setProperties", {"noSuchProperty": "x"}) == INVALID
    assert device.code("cviVideo.01.1.setProperties",
                       {"videoEncoderFrameRate": UInt(31)}) == INVALID
    assert device.code("cviNetwork.setProperties", {"networkGateway": "300.1.1.1"}) == INVALID
    assert device.code("cviVideo.01.1.setProperties",
                       {"videoEncoderFrameRate": UInt(12), "videoEncoderResolution": "720p"}
                       ) == SUCCESS
    values = device.value("cviVideo.01.1.getProperties",
                          ["videoEncoderFrameRate", "videoEncoderResolution"])
    assert values.to_dict() == {"videoEncoderFrameRate": 12, "videoEncoderResolution": "720p"}


def test_set_properties_is_all_or_nothing(device):
    assert device.code("cviUnit.setProperties",
                       {"unitCvipName": "new", "unitUpTime": UInt(1)}) == FAIL
    assert device.value("cviUnit.getProperties", ["unitCvipName"]).get("unitCvipName") == (
        "cvip-unit")


def test_list_properties_reports_access_and_validation(device):
    items = {i.get("id"): i for i in device.value("cviUnit.listProperties")}
    assert items["unitFirmwareVersion"].get("access") == "r"
    assert items["unitVideoStandard"].get_all("list") == ["NTSC", "PAL"]
    assert items["unitCvipName"].get("access") == "rw"
    ports = device.value("cvip.listProperties")
    assert ports[0].get("range") == "1,65535,1" and ports[0].get("value") == 7110


# --- device services ------------------------------------------------------------------


def _stream(major: int = 1) -> dict:
    return {"GUID": CLIENT_GUID, "major": UInt(major), "minor": UInt(1), "persistent": False,
            "destIp": "192.0.2.100", "destPort": UInt(5004), "destTransport": "UDP"}


def test_streams_are_numbered_listed_and_limited(device):
    _, first = device.call("cviStream.create", _stream())
    assert first.error_code == SUCCESS and first.value.get("StreamID") == 1
    assert first.value.get("GUID") == device.peer.unit.guid
    assert [s.get("StreamID") for s in device.value("cviStream.list", {"GUID": CLIENT_GUID})
            ] == [1]
    assert device.code("cviStream.create", _stream(major=3)) == FAIL  # no input 3
    for _ in range(7):
        assert device.code("cviStream.create", _stream()) == SUCCESS
    assert device.code("cviStream.create", _stream()) == FAIL  # the ninth
    frame_ = device.value("cviStream.getKeyFrame", {"GUID": CLIENT_GUID, "StreamID": UInt(1)})
    assert frame_.get("KeyFrame").startswith(b"\x00\x00\x00\x01")
    assert device.code("cviStream.delete", {"GUID": CLIENT_GUID, "StreamID": UInt(1)}) == SUCCESS
    assert device.code("cviStream.delete", {"GUID": CLIENT_GUID, "StreamID": UInt(1)}) == FAIL


def test_display_twice_on_one_output_fails(device):
    display = {"GUID": CLIENT_GUID, "major": UInt(1), "minor": UInt(2), "mediatype": UInt(1),
               "persistent": True, "srcIp": "192.0.2.1", "srcPort": UInt(1),
               "srcTransport": "TCP"}
    assert device.code("cviDisplay.create", display) == SUCCESS
    assert device.code("cviDisplay.create", display) == FAIL
    assert device.code("cviDisplay.create", {**display, "mediatype": UInt(9)}) == INVALID


# --- NVR services ---------------------------------------------------------------------


def _playback(nvr: Client) -> dict:
    created = nvr.value("cviPlayback.create", {
        "GUID": CLIENT_GUID, "Major": UInt(1), "Minor": UInt(1), "StartTime": "20150909010000",
        "EndTime": "20150909010100", "destIp": "192.0.2.100", "destPort": UInt(6000),
        "destTransport": "UDP"})
    return {"GUID": CLIENT_GUID, "PlaybackID": created.get("PlaybackID")}


def test_playback_state_seek_length_status(nvr):
    ids = _playback(nvr)
    assert nvr.value("cviPlayback.getlength", ids).get("Length") == 60 * 25
    assert nvr.code("cviPlayback.setstate", {**ids, "State": UInt(PlaybackState.STEPFORWARD),
                                             "Speed": UInt(1)}) == SUCCESS
    assert nvr.code("cviPlayback.setstate", {**ids, "State": UInt(5), "Speed": UInt(1)}
                    ) == INVALID
    assert nvr.code("cviPlayback.seek", {**ids, "Position": UInt(1499)}) == SUCCESS
    assert nvr.code("cviPlayback.seek", {**ids, "Position": UInt(1500)}) == FAIL
    status = nvr.value("cviPlayback.getstatus", ids)
    assert status.to_dict() == {"State": 8, "Speed": 1, "Position": 1499}
    assert nvr.code("cviPlayback.delete", ids) == SUCCESS
    assert nvr.code("cviPlayback.getlength", ids) == FAIL


def test_playback_times_must_be_yyyymmddhhmmss(nvr):
    assert nvr.code("cviPlayback.create", {
        "GUID": CLIENT_GUID, "Major": UInt(1), "Minor": UInt(1),
        "StartTime": "2015-09-09 01:00:00", "EndTime": "20150909020000",
        "destIp": "192.0.2.100", "destPort": UInt(6000), "destTransport": "UDP"}) == INVALID


def test_getstatus_with_event_type_is_the_event_query(nvr):
    periods = nvr.value("cviPlayback.getstatus", {
        "GUID": CLIENT_GUID, "MajorID": UInt(1), "MinorID": UInt(1),
        "StartTime": "20150909000000", "EndTime": "20150909060000",
        "EventType": UInt(EventType.VIDEO_INPUT)})
    assert periods and all(p.get("EventType") == EventType.VIDEO_INPUT for p in periods)
    assert all(len(p.get("StartTime")) == 14 for p in periods)


def test_media_query_pages_by_asking_again(nvr):
    query = {"GUID": CLIENT_GUID, "Major": UInt(2), "Minor": UInt(1),
             "startDate": "20150909000000", "endDate": "20150910000000"}
    pages = [nvr.value("cviMedia.query", query) for _ in range(4)]
    assert [len(p) for p in pages] == [5, 5, 5, 3]
    assert [p[-1].get("IsLastPage") for p in pages] == [False, False, False, True]
    ids = [c.get("ClipID") for p in pages for c in p]
    assert len(set(ids)) == 18
    assert len(nvr.value("cviMedia.query", query)) == 5  # starts over
    assert nvr.value("cviMedia.query", {**query, "startDate": "20160101000000"}) == []


def test_media_export_needs_a_known_clip(nvr):
    export = {"GUID": CLIENT_GUID, "ClipID": UInt(1001), "serverIP": "192.0.2.100",
              "serverPort": UInt(7000), "authenticationId": "x"}
    assert nvr.code("cviMedia.export", export) == SUCCESS
    assert nvr.code("cviMedia.export", {**export, "ClipID": UInt(5)}) == FAIL


# --- firmware and events --------------------------------------------------------------


def test_firmware_update_progress_busy_and_reboot_flag(device):
    request = [{"imageFileId": "fw-3.0.1.bin"}, {"authenticationId": "a"}]
    assert device.code("cviUpdateFirmware.startFirmwareUpdate", request) == SUCCESS
    assert device.code("cviUpdateFirmware.startFirmwareUpdate", request) == BUSY
    states = []
    for _ in range(10):
        progress = device.value("cviUpdateFirmware.getProgressInfo")[0]
        states.append(progress.get("state"))
        if states[-1] == "FWUPDCOMPLETED":
            break
    assert states[0] == "FWUPDDOWNLOADING" and states[-3:] == [
        "FWUPDINSTALLING", "FWUPDREBOOTING", "FWUPDCOMPLETED"]
    peer = device.peer
    statuses = [parse_ping_response(peer.handle_datagram(ping_request(i, "127.0.0.1", 1, 1))[0]
                                    ).status for i in (1, 2)]
    assert statuses == [1, 0]
    assert device.value("cviUnit.getProperties", ["unitFirmwareVersion"]).get(
        "unitFirmwareVersion") == "3.0.1"


def test_events_go_to_subscribed_sessions_only():
    peer = Peer("device", clock=Clock())
    watcher, bystander = Client(peer), Client(peer)
    assert watcher.code("cviEvent.subscribe", {"Type": UInt(EventType.MOTION), "Id": UInt(1)}
                        ) == SUCCESS
    delivered = [item for _ in range(9) for item in peer.tick()]
    assert delivered and all(session is watcher.session for session, _ in delivered)
    headers = [parse_header(data) for _, data in delivered]
    assert [h.txn for h in headers] == list(range(1, len(headers) + 1))
    assert not any(h.response for h in headers)
    calls = [parse_body(data[9:]) for _, data in delivered]
    assert all(isinstance(c, Call) and c.method == "cviEvent.notify" for c in calls)
    assert {c.params[0].get("Type") for c in calls} == {EventType.MOTION}
    assert bystander.code("cviEvent.unsubscribe", {"Type": UInt(4), "Id": UInt(0)}) == FAIL
    assert watcher.code("cviEvent.unsubscribe", {"Type": UInt(4), "Id": UInt(0)}) == SUCCESS
    assert [item for _ in range(9) for item in peer.tick()] == []


def test_subscribe_refuses_unknown_event_bits(device):
    assert device.code("cviEvent.subscribe", {"Type": UInt(0x40), "Id": UInt(0)}) == INVALID


# --- master server --------------------------------------------------------------------


def test_master_requires_login(master):
    auth = {"GUID": CLIENT_GUID, "AppGUID": "00A00099-0000-0000-0001EC901E30B"}
    assert master.code("cviUser.listusers", auth) == FAIL
    assert master.code("cviUser.login", {
        "GUID": CLIENT_GUID, "UserName": md5_hex("admin"), "PassWord": md5_hex("nope"),
        "LoginType": UInt(1)}) == FAIL
    app = login(master)
    auth["AppGUID"] = app
    assert [u.get("UserName") for u in master.value("cviUser.listusers", auth)] == ["admin"]
    assert master.code("cviUser.logout", auth) == SUCCESS
    assert master.code("cviUser.listusers", auth) == FAIL


def test_users_groups_and_their_constraints(master):
    auth = {"GUID": CLIENT_GUID, "AppGUID": login(master)}
    _, added = master.call("cviUser.addgroup", {**auth, "GroupName": "G",
                                                "GroupDescription": "d",
                                                "GroupPrivilege": UInt(3)})
    gid = added.value.get("GroupID")
    assert master.code("cviUser.addgroup", {**auth, "GroupName": "H", "GroupDescription": "d",
                                            "GroupPrivilege": UInt(0x80)}) == INVALID
    _, user = master.call("cviUser.adduser", {**auth, "UserName": "u", "UserDescription": "",
                                              "UserPrivilege": UInt(1), "UserPriority": UInt(1),
                                              "GroupID": gid})
    uid = user.value.get("UserID")
    assert master.code("cviUser.deletegroup", {**auth, "GroupID": gid}) == FAIL  # not empty
    assert master.code("cviUser.updateuser", {
        **auth, "UserID": uid, "UserName": "u", "UserPassword": md5_hex("pw"),
        "UserDescription": "", "UserPrivilege": UInt(1), "UserPriority": UInt(1),
        "GroupID": gid}) == SUCCESS
    assert master.code("cviUser.login", {"GUID": CLIENT_GUID, "UserName": md5_hex("u"),
                                         "PassWord": md5_hex("pw"), "LoginType": UInt(2)}
                       ) == SUCCESS
    assert master.code("cviUser.deleteuser", {**auth, "UserID": uid}) == SUCCESS
    assert master.code("cviUser.deletegroup", {**auth, "GroupID": gid}) == SUCCESS


def test_profiles_check_properties_of_their_type(master):
    base = {"GUID": CLIENT_GUID, "ProfileTypeID": UInt(4)}
    assert master.code("cviProfile.add", {**base, "channel": UInt(2)}) == SUCCESS
    assert master.code("cviProfile.add", {**base, "baudRate": UInt(9600)}) == INVALID
    assert master.code("cviProfile.add", {"GUID": CLIENT_GUID, "ProfileTypeID": UInt(9)}
                       ) == INVALID


def test_entity_list_pages_and_version(master):
    auth = {"GUID": CLIENT_GUID, "AppGUID": login(master)}
    cameras = {**auth, "EntityTypeID": UInt(1)}
    first, second = master.value("cviEntity.list", cameras), master.value("cviEntity.list",
                                                                          cameras)
    assert (len(first), len(second)) == (5, 2)
    assert second[-1].get("IsLastPage") and not first[-1].get("IsLastPage")
    assert first[0].get("Capability") == 1
    version = master.value("cviEntity.query", cameras).get("Version")
    assert master.code("cviEntity.delete", {**cameras, "EntityID": UInt(7)}) == SUCCESS
    assert master.value("cviEntity.query", cameras).get("Version") == version + 1


def test_event_ack_uses_its_own_code_table(master):
    app = login(master)
    master.code("cviEvent.subscribe", {"Type": UInt(1), "Id": UInt(0)})
    _, data = master.peer.tick()[0]
    event_guid = parse_body(data[9:]).params[0].get("EventGUID")
    fields = {"AppGUID": app, "EventGUID": event_guid, "AckTime": "2015-09-09 10:00:09",
              "AckString": "ok"}
    assert master.value("cviEvent.ack", fields).get("AckReturnCode") == EventAckCode.SUCCESS
    unknown = {**fields, "EventGUID": "00000000-0000-0000-0000000000000"}
    assert master.value("cviEvent.ack", unknown).get("AckReturnCode") == EventAckCode.FAIL
    bad_time = {**fields, "AckTime": "20150909100009"}
    assert master.value("cviEvent.ack", bad_time).get("AckReturnCode") == EventAckCode.INVALID


def test_structs_are_case_insensitive_for_field_spellings(device):
    # NOTES 10: StreamID/streamId, persistent/persistant.
    fields = _stream()
    fields["persistant"] = fields.pop("persistent")
    assert device.code("cviStream.create", fields) == SUCCESS
    assert device.value("cviStream.list", {"GUID": CLIENT_GUID})[0].get("persistant") is False
    assert device.code("cviStream.delete", Struct.of({"guid": CLIENT_GUID,
                                                      "streamId": UInt(1)})) == SUCCESS
