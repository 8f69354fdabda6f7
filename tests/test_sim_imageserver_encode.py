"""ImageServer encoders: every request and response laid out as the protocol document shows."""

from __future__ import annotations

import base64

import pytest
from lxml import etree

from cvipsniff.sim.imageserver import encode as E

DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _tree(message: bytes) -> etree._Element:
    assert message.startswith(DECL)
    assert message.endswith(b"\r\n\r\n")
    body = message[:-4]
    assert b"\r\n\r\n" not in body  # the terminator appears once, at the end
    return etree.fromstring(body)


def _children(message: bytes) -> list[str]:
    return [c.tag for c in _tree(message)]


def test_methodcall_layout_is_exactly_the_documents() -> None:
    msg = E.stop_request(7)
    assert msg == (DECL + b"<methodcall>\n  <requestid>7</requestid>\n"
                   b"  <methodname>stop</methodname>\n</methodcall>\r\n\r\n")
    compact = E.stop_request(7, pretty=False)
    assert compact == (DECL + b"<methodcall><requestid>7</requestid>"
                       b"<methodname>stop</methodname></methodcall>\r\n\r\n")


def test_connect_full_syntax() -> None:
    msg = E.connect_request(
        1, username="dummy", password="dummy", cameraid="cam-guid",
        connectparam=E.connect_param("cam-guid", "tok", stream_id="stream-guid"),
        alwaysstdjpeg=True,
        clientcapabilities=E.ClientCapabilities(True, 1, True, False),
        transcode=E.Transcode(False, 320, 240, True, False),
        timerestriction=(1000, 2000))
    root = _tree(msg)
    assert root.tag == "methodcall"
    assert [c.tag for c in root] == ["requestid", "methodname", "username", "password",
                                     "cameraid", "alwaysstdjpeg", "connectparam",
                                     "clientcapabilities", "transcode", "timerestriction"]
    assert b"id=cam-guid&amp;streamid=stream-guid&amp;connectiontoken=tok" in msg
    assert root.findtext("connectparam") == "id=cam-guid&streamid=stream-guid&connectiontoken=tok"
    caps = root.find("clientcapabilities")
    assert [(c.tag, c.text) for c in caps] == [("privacymask", "yes"),
                                              ("privacymaskversion", "1"),
                                              ("multipartdata", "yes"),
                                              ("datarestriction", "no")]
    assert [(c.tag, c.text) for c in root.find("transcode")] == [
        ("allframes", "no"), ("width", "320"), ("height", "240"),
        ("keepaspectratio", "yes"), ("allowupsizing", "no")]
    assert [(c.tag, c.text) for c in root.find("timerestriction")] == [
        ("starttime", "1000"), ("endtime", "2000")]


def test_connect_simple_form_leaves_optional_parts_out() -> None:
    msg = E.connect_request(1, username="u", password="p", cameraid="c",
                            connectparam=E.connect_param("c", "t"))
    assert _children(msg) == ["requestid", "methodname", "username", "password", "cameraid",
                              "connectparam"]
    assert E.connect_param("c", "t") == "id=c&connectiontoken=t"


@pytest.mark.parametrize(("message", "method", "children"), [
    (E.connectupdate_request(2, "x"), "connectupdate", ["connectparam"]),
    (E.goto_request(3, 5, compressionrate=20, keyframesonly=True), "goto",
     ["time", "compressionrate", "keyframesonly"]),
    (E.goto_request(3, 5), "goto", ["time"]),
    (E.step_request(4, "next", time=9, compressionrate=1), "next", ["time", "compressionrate"]),
    (E.step_request(4, "previous"), "previous", []),
    (E.step_request(4, "nextsequence", time=1), "nextsequence", ["time"]),
    (E.step_request(4, "previoussequence"), "previoussequence", []),
    (E.edge_request(5, "begin", compressionrate=3), "begin", ["compressionrate"]),
    (E.edge_request(5, "end"), "end", []),
    (E.alarms_range_request(6, 1, 2), "alarms", ["starttime", "stoptime"]),
    (E.alarms_around_request(6, 1, 2, 3), "alarms", ["centertime", "numalarms", "timespan"]),
    (E.live_request(7, compressionrate=1, sendinitialimage=True, attributes={"framerate": "low"},
                    adaptivestreaming=E.ADAPTIVE_DISABLED), "live",
     ["compressionrate", "sendinitialimage", "attributes", "adaptivestreaming"]),
    (E.live_adaptive_request(8, E.ADAPTIVE_MAXRESOLUTION), "live", ["adaptivestreaming"]),
    (E.changelivecompressionrate_request(9, 50), "changelivecompressionrate",
     ["compressionrate"]),
    (E.ptz_request(10, "up"), "ptz", ["ptzcommand"]),
    (E.ptzcenter_request(11, refwidth=1, refheight=2, centerx=3, centery=4, zoom=5),
     "ptzcenter", ["refwidth", "refheight", "centerx", "centery", "zoom"]),
    (E.ptzrectangle_request(12, refwidth=1, refheight=2, left=3, top=4, right=5, bottom=6),
     "ptzrectangle", ["refwidth", "refheight", "left", "top", "right", "bottom"]),
    (E.preset_request(13, "p"), "preset", ["presetname"]),
    (E.output_request(14, "o"), "output", ["outputname"]),
    (E.aviinformation_request(15, 1, 2), "aviinformation", ["start", "stop"]),
])
def test_every_request_has_the_documents_elements(message: bytes, method: str,
                                                  children: list[str]) -> None:
    root = _tree(message)
    assert root.tag == "methodcall"
    assert root.findtext("methodname") == method
    assert _children(message) == ["requestid", "methodname", *children]


def test_live_attributes_and_adaptive_options() -> None:
    root = _tree(E.live_request(1, attributes={"framerate": "full", "motiononly": True},
                                adaptivestreaming=E.adaptive_resolution(640, 480)))
    attrs = root.find("attributes")
    assert dict(attrs.attrib) == {"framerate": "full", "motiononly": "yes"}
    assert list(attrs.attrib) == ["framerate", "motiononly"]
    res = root.find("adaptivestreaming/resolution")
    assert (res.findtext("widthhint"), res.findtext("heighthint")) == ("640", "480")
    assert _tree(E.live_adaptive_request(2, E.ADAPTIVE_DISABLED)).find(
        "adaptivestreaming/disabled") is not None


def test_step_and_edge_requests_refuse_other_methods() -> None:
    with pytest.raises(ValueError):
        E.step_request(1, "goto")
    with pytest.raises(ValueError):
        E.edge_request(1, "next")


def test_connect_responses() -> None:
    refused = _tree(E.connect_response(1, connected=False, errorreason="Bad token"))
    assert [(c.tag, c.text) for c in refused] == [("requestid", "1"), ("methodname", "connect"),
                                                  ("connected", "no"),
                                                  ("errorreason", "Bad token")]
    ok = _tree(E.connect_response(
        2, connected=True, alwaysstdjpeg=False, camera=[E.el("name", "Cam")],
        clientcapabilities=E.ClientCapabilities(False, 0, True, False),
        servercapabilities=E.ServerCapabilities(True, 1),
        transcode=E.Transcode(False, 160, 120, False, False)))
    assert [c.tag for c in ok] == ["requestid", "methodname", "connected", "alwaysstdjpeg",
                                   "camera", "clientcapabilities", "servercapabilities",
                                   "transcode"]
    assert ok.findtext("servercapabilities/connectupdate") == "yes"
    assert ok.findtext("servercapabilities/adaptivestreamingversion") == "1"
    update = _tree(E.connectupdate_response(3, connected=True))
    assert [c.tag for c in update] == ["requestid", "methodname", "connected"]


def test_alarms_aviinformation_and_bare_responses() -> None:
    root = _tree(E.alarms_response(4, db_start=10, db_end=99,
                                   alarms=[E.Alarm(10, 12, 20, 5), E.Alarm(50, 50, 99, 9)]))
    assert root.find("dblimit").attrib == {"startTime": "10", "endTime": "99"}
    alarms = root.findall("alarms/alarm")
    assert [dict(a.attrib) for a in alarms][1] == {"startTime": "50", "alarmTime": "50",
                                                   "endTime": "99", "numImages": "9"}
    avi = _tree(E.aviinformation_response(5, width=160, height=120, depth=24, fps=4.0))
    assert [(c.tag, c.text) for c in avi][2:] == [("width", "160"), ("height", "120"),
                                                  ("depth", "24"), ("fps", "4.0")]
    assert _tree(E.aviinformation_response(5, width=1, height=1, depth=8,
                                           fps=12.3456)).findtext("fps") == "12.346"
    for method in ("changelivecompressionrate", "stop", "ptz", "ptzcenter", "ptzrectangle",
                   "preset", "output"):
        assert _children(E.empty_response(6, method)) == ["requestid", "methodname"]


def test_livepackage() -> None:
    msg = E.livepackage(1700000000000, [E.StatusItem(1, 1, "Camera live feed started"),
                                        E.StatusItem(2, 0)])
    root = _tree(msg)
    assert root.tag == "livepackage"
    status = root.find("status")
    assert status.findtext("statustime") == "1700000000000"
    assert [dict(i.attrib) for i in status.findall("statusitem")] == [
        {"id": "1", "value": "1", "description": "Camera live feed started"},
        {"id": "2", "value": "0"}]
    assert set(E.STATUS_ITEMS) == {1, 2, 3, 4, 5, 6, 7, 100}


def test_image_response_exact_bytes() -> None:
    headers = E.ImageHeaders(12, 100, 200, 300, privacymask="grid;3x3;110;110;000",
                             sequencenumber=4, motionlevel=55)
    msg = E.image_response(headers, b"\xff\xd8JPEG\xff\xd9")
    assert msg == (b"ImageResponse\r\nRequestId: 12\r\nPrivacyMask: grid;3x3;110;110;000\r\n"
                   b"Restriction: none\r\nPrev: 100\r\nCurrent: 200\r\nNext: 300\r\n"
                   b"SequenceNumber: 4\r\nMotionLevel: 55\r\nContent-length: 8\r\n"
                   b"Content-type: image/jpeg\r\n\r\n\xff\xd8JPEG\xff\xd9\r\n\r\n")
    lying = E.image_response(E.ImageHeaders(1, 1, 1, 1, restriction=None), b"abcd",
                             content_length=2, content_type=E.CONTENT_TYPE_GENERIC)
    assert b"Restriction" not in lying
    assert b"Content-length: 2\r\nContent-type: application/x-genericbytedata-octet-stream" \
        b"\r\n\r\nabcd\r\n\r\n" in lying


def test_multipart_image_response_exact_bytes() -> None:
    body = E.Multipart((E.Part(b"one"), E.Part(b"\x00two", E.CONTENT_TYPE_JPEG)))
    msg = E.multipart_image_response(E.ImageHeaders(3, 1, 2, 3), body)
    assert msg == (b"ImageResponse\r\nRequestId: 3\r\nRestriction: none\r\nPrev: 1\r\n"
                   b"Current: 2\r\nNext: 3\r\n"
                   b"Content-type: multipart/related; boundary=frontier\r\n\r\n"
                   b"--frontier\r\nContent-length: 3\r\n"
                   b"Content-type: application/x-genericbytedata-octet-stream\r\n\r\none\r\n"
                   b"--frontier\r\nContent-length: 4\r\nContent-type: image/jpeg\r\n\r\n"
                   b"\x00two\r\n--frontier--\r\n\r\n")


def test_multipart_faults_for_violation_scenarios() -> None:
    open_body = E.Multipart((E.Part(b"x"),), boundary="b1", close=False)
    msg = E.multipart_image_response(E.ImageHeaders(1, 1, 1, 1), open_body)
    # The closing delimiter (CR-LF, --b1--) is gone: the data runs into the terminator.
    assert msg.endswith(b"--b1\r\nContent-length: 1\r\nContent-type: "
                        b"application/x-genericbytedata-octet-stream\r\n\r\nx\r\n\r\n")
    assert b"--b1--" not in msg
    no_length = E.Part(b"abc", omit_length=True).encode("b")
    assert no_length == b"--b\r\nContent-type: application/x-genericbytedata-octet-stream" \
        b"\r\n\r\nabc"


def test_privacy_masks() -> None:
    assert E.grid_privacy_mask(["110", "110", "000"]) == "grid;3x3;110;110;000"
    assert E.grid_privacy_mask(["1100", "0000"]) == "grid;4x2;1100;0000"
    for bad in ([], ["10", "1"], ["12"]):
        with pytest.raises(ValueError):
            E.grid_privacy_mask(bad)
    xml = E.privacy_mask_xml([E.MaskMethod(1)], 8, 8,
                             {1: [1, 0, 0, 0, 0, 0, 0, 0], 3: [0, 0, 0, 0, 0, 1, 1, 0]})
    assert xml.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<mask>')
    root = etree.fromstring(xml)
    solid = root.find("methods/solid")
    assert solid.attrib == {"value": "1", "removable": "false"}
    assert [solid.findtext(f"color/{c}") for c in ("red", "green", "blue")] == ["255", "0", "0"]
    grid = root.find("grid")
    assert grid.get("size") == "8x8"
    # The document's own example rows.
    assert [dict(r.attrib) for r in grid] == [
        {"index": "1", "values": "0100000000000000"},
        {"index": "3", "values": "0000000000010100"}]
    header = E.base64_privacy_mask(xml)
    assert base64.b64decode(header) == xml
    empty = etree.fromstring(E.privacy_mask_xml([E.MaskMethod(1)], 2, 2, {}))
    assert len(empty.find("grid")) == 0
    with pytest.raises(ValueError):
        E.privacy_mask_xml([E.MaskMethod(1)], 2, 2, {3: [0, 0]})


def test_text_is_escaped() -> None:
    root = _tree(E.preset_request(1, "a<b & c>"))
    assert root.findtext("presetname") == "a<b & c>"
