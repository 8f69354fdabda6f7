"""The sans-I/O reference recording server: answers per the document, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvipsniff.sim.imageserver import encode as E
from cvipsniff.sim.imageserver.genericbytedata import read_picture, read_video_packet
from cvipsniff.sim.imageserver.jpeg import jpeg_info
from cvipsniff.sim.imageserver.reader import ImageMessage, ServerStreamReader, XmlAnswer
from cvipsniff.sim.imageserver.server_logic import (
    DEFAULT_CAMERA_ID,
    DEFAULT_TOKEN,
    LARGE_CAMERA_ID,
    CameraConfig,
    Notice,
    RecordingServer,
    Send,
    ServerConfig,
    Site,
)

# One site for the module: cameras and picture caches are shared, as in the real server.
SITE = Site(ServerConfig(cameras=(CameraConfig(),)))
META_SITE = Site(ServerConfig(cameras=(CameraConfig(),), send_sequence_numbers=True,
                              send_motion_level=True))


def connect(rid: int = 1, *, token: str = DEFAULT_TOKEN, camera: str = DEFAULT_CAMERA_ID,
            stdjpeg: bool = True, multipart: bool = False, mask: bool = False,
            version: int = 0, size: tuple[int, int] | None = None,
            param: str | None = None) -> bytes:
    return E.connect_request(
        rid, username="dummy", password="dummy", cameraid=camera,
        connectparam=param if param is not None else E.connect_param(camera, token),
        alwaysstdjpeg=stdjpeg,
        clientcapabilities=E.ClientCapabilities(mask, version, multipart, False),
        transcode=None if size is None else E.Transcode(False, size[0], size[1], False, False))


class Peer:
    """A server plus our reader, to talk to it in tests."""

    def __init__(self, site: Site = SITE) -> None:
        self.server = RecordingServer(site=site)
        self.reader = ServerStreamReader()
        self.notices: list[str] = []
        self.sends: list[Send] = []

    def _collect(self, outputs: list) -> list:
        messages = []
        for out in outputs:
            if isinstance(out, Notice):
                self.notices.append(out.text)
            else:
                self.sends.append(out)
                messages += self.reader.feed(out.data)
        return messages

    def send(self, data: bytes, now: float = 0.0) -> list:
        return self._collect(self.server.receive(data, now))

    def poll(self, now: float) -> list:
        return self._collect(self.server.poll(now))

    def one(self, data: bytes, now: float = 0.0):
        messages = self.send(data, now)
        assert len(messages) == 1, messages
        return messages[0]

    def connected(self, **kw: object) -> Peer:
        answer = self.one(connect(**kw))  # type: ignore[arg-type]
        assert answer.message.text("connected") == "yes", answer.message.text("errorreason")
        return self


def test_connect_accepted_reports_actual_settings() -> None:
    peer = Peer()
    answer = peer.one(connect(7, stdjpeg=False, multipart=True, mask=True, version=1,
                              size=(80, 60)))
    doc = answer.message
    assert (doc.tag, doc.requestid, doc.methodname) == ("methodresponse", "7", "connect")
    assert doc.text("connected") == "yes" and not doc.has("errorreason")
    assert doc.text("alwaysstdjpeg") == "no"
    caps = doc.children["clientcapabilities"]
    assert [(c.tag, c.text) for c in caps] == [("privacymask", "yes"),
                                              ("privacymaskversion", "1"),
                                              ("multipartdata", "yes"),
                                              ("datarestriction", "no")]
    assert doc.children["servercapabilities"].findtext("connectupdate") == "yes"
    transcode = doc.children["transcode"]
    assert (transcode.findtext("width"), transcode.findtext("height")) == ("80", "60")
    assert peer.server.connected


@pytest.mark.parametrize(("kw", "reason"), [
    ({"token": "expired"}, "token"),
    ({"camera": "no-such-camera"}, "camera"),
    ({"param": f"connectiontoken={DEFAULT_TOKEN}&id={DEFAULT_CAMERA_ID}"}, "connectparam"),
    ({"param": ""}, "connectparam"),
    ({"param": f"id=other&connectiontoken={DEFAULT_TOKEN}"}, "device id"),
])
def test_connect_refused_with_errorreason(kw: dict, reason: str) -> None:
    peer = Peer()
    doc = peer.one(connect(3, **kw)).message
    assert (doc.requestid, doc.methodname, doc.text("connected")) == ("3", "connect", "no")
    assert reason.lower() in (doc.text("errorreason") or "").lower()
    assert not peer.server.connected
    assert peer.send(E.edge_request(4, "begin")) == []
    assert any("no accepted connect" in n for n in peer.notices)


def test_connect_param_with_streamid_and_camera_by_name() -> None:
    peer = Peer()
    param = E.connect_param(DEFAULT_CAMERA_ID, DEFAULT_TOKEN, stream_id="s-1")
    doc = peer.one(connect(param=param, camera="reference camera 1")).message
    assert doc.text("connected") == "yes"


def _image(peer: Peer, request: bytes) -> ImageMessage:
    msg = peer.one(request)
    assert isinstance(msg, ImageMessage), msg
    assert msg.problems == []
    return msg


def _current(msg: ImageMessage) -> int:
    return int(msg.header("Current"))


def test_browse_moves_the_pointer_over_the_recording() -> None:
    peer = Peer().connected()
    rec = SITE.cameras[0].recording
    begin = _image(peer, E.edge_request(2, "begin"))
    assert begin.requestid == "2"
    assert (begin.header("Prev"), begin.header("Current")) == (str(rec.first),) * 2
    assert begin.header("Content-type") == "image/jpeg"
    info = jpeg_info(begin.body)
    assert info is not None and (info.width, info.height) == (160, 120)
    assert int(begin.header("Content-length")) == len(begin.body)
    assert _current(_image(peer, E.step_request(3, "next"))) == rec.times[1]
    assert _current(_image(peer, E.step_request(4, "previous"))) == rec.times[0]
    seq2 = rec.sequences[2]
    assert _current(_image(peer, E.goto_request(5, seq2.start + 30))) == seq2.start
    assert _current(_image(peer, E.step_request(6, "nextsequence"))) == rec.sequences[3].start
    assert _current(_image(peer, E.step_request(7, "previoussequence"))) == seq2.start
    assert _current(_image(peer, E.step_request(8, "next", time=seq2.alarm))) > seq2.alarm
    end = _image(peer, E.edge_request(9, "end"))
    assert end.header("Current") == end.header("Next") == str(rec.last)
    for msg in (begin, end):
        assert int(msg.header("Prev")) <= _current(msg) <= int(msg.header("Next"))


def test_privacy_mask_sent_once_in_the_negotiated_form() -> None:
    grid = Peer().connected(mask=True, version=0)
    first = _image(grid, E.edge_request(2, "begin"))
    assert first.header("PrivacyMask") == "grid;4x3;1100;1000;0000"
    assert _image(grid, E.step_request(3, "next")).header("PrivacyMask") is None
    xml = Peer().connected(mask=True, version=1)
    value = _image(xml, E.edge_request(2, "begin")).header("PrivacyMask")
    assert value is not None and not value.startswith("grid")
    no_mask = Peer().connected(mask=False)
    assert _image(no_mask, E.edge_request(2, "begin")).header("PrivacyMask") is None


def test_multipart_browse_sends_generic_byte_data_parts() -> None:
    peer = Peer().connected(stdjpeg=False, multipart=True)
    rec = SITE.cameras[0].recording
    msg = _image(peer, E.edge_request(2, "begin"))
    assert msg.header("Content-type") == "multipart/related; boundary=frontier"
    assert msg.parts is not None and len(msg.parts) == 3
    times = []
    for part in msg.parts:
        assert part.headers["content-type"] == E.CONTENT_TYPE_GENERIC
        assert int(part.headers["content-length"]) == len(part.data)
        header, payload = read_video_packet(part.data)
        assert header.key_frame and jpeg_info(payload) is not None
        times.append(header.picture_time_ms)
    assert times == rec.times[:3]
    assert _current(msg) == rec.times[0] and int(msg.header("Next")) == rec.times[3]
    # The pointer moved to the last part.
    assert _current(_image(peer, E.step_request(3, "next"))) == rec.times[3]


def test_xml_answers_echo_requestid_and_methodname() -> None:
    peer = Peer().connected()
    rec = SITE.cameras[0].recording
    for rid, request, method in [
        (10, E.ptz_request(10, "up"), "ptz"),
        (11, E.ptzcenter_request(11, refwidth=1, refheight=1, centerx=0, centery=0, zoom=1),
         "ptzcenter"),
        (12, E.ptzrectangle_request(12, refwidth=1, refheight=1, left=0, top=0, right=1,
                                    bottom=1), "ptzrectangle"),
        (13, E.preset_request(13, "door"), "preset"),
        (14, E.output_request(14, "siren"), "output"),
        (15, E.changelivecompressionrate_request(15, 30), "changelivecompressionrate"),
        (16, E.stop_request(16), "stop"),
        (17, E.connectupdate_request(17, E.connect_param(DEFAULT_CAMERA_ID, DEFAULT_TOKEN)),
         "connectupdate"),
    ]:
        doc = peer.one(request).message
        assert (doc.tag, doc.requestid, doc.methodname) == ("methodresponse", str(rid), method)
    alarms = peer.one(E.alarms_range_request(20, 0, 2**62)).message
    assert alarms.children["dblimit"].attrib == {"startTime": str(rec.first),
                                                "endTime": str(rec.last)}
    assert len(alarms.children["alarms"]) == len(rec.sequences)
    around = peer.one(E.alarms_around_request(21, rec.sequences[2].alarm, 1, 10**9)).message
    starts = [int(a.get("startTime")) for a in around.children["alarms"]]
    assert starts == [rec.sequences[1].start, rec.sequences[2].start]
    avi = peer.one(E.aviinformation_request(22, rec.sequences[0].start,
                                            rec.sequences[0].end)).message
    assert (avi.text("width"), avi.text("height"), avi.text("depth")) == ("160", "120", "24")
    assert float(avi.text("fps")) == pytest.approx(4.0)


def test_unknown_ptz_command_preset_and_output_are_answered_and_noted() -> None:
    peer = Peer().connected()
    for request in (E.ptz_request(2, "spin"), E.preset_request(3, "nowhere"),
                    E.output_request(4, "nothing")):
        assert isinstance(peer.one(request), XmlAnswer)
    assert len(peer.notices) == 3


def test_connectupdate_with_a_bad_token_ends_the_session() -> None:
    peer = Peer().connected()
    doc = peer.one(E.connectupdate_request(2, E.connect_param(DEFAULT_CAMERA_ID, "old"))).message
    assert doc.text("connected") == "no" and doc.text("errorreason")
    assert peer.send(E.edge_request(3, "begin")) == []
    fresh = Peer()
    doc = fresh.one(E.connectupdate_request(1, E.connect_param(DEFAULT_CAMERA_ID,
                                                               DEFAULT_TOKEN))).message
    assert doc.text("connected") == "no" and doc.text("errorreason")


def test_live_streams_frames_and_livepackages_until_stop() -> None:
    peer = Peer(META_SITE).connected()
    start = peer.send(E.live_request(5, sendinitialimage=True), now=1000.0)
    assert [type(m).__name__ for m in start] == ["XmlAnswer", "ImageMessage"]
    first_package = start[0].message
    assert first_package.tag == "livepackage"
    items = {i.get("id"): i.get("value")
             for i in first_package.children["status"].findall("statusitem")}
    assert items["1"] == "1" and items["100"] == "0"
    assert peer.server.next_deadline() == 1200.0
    later = peer.poll(2999.0)
    frames = [m for m in later if isinstance(m, ImageMessage)]
    packages = [m for m in later if isinstance(m, XmlAnswer)]
    assert len(frames) == 9 and len(packages) == 1  # frames every 200 ms, status every 1 s
    assert all(f.requestid == "5" and f.header("SequenceNumber") is not None
               and f.header("MotionLevel") is not None for f in frames)
    currents = [_current(f) for f in [start[1], *frames]]
    assert currents == sorted(currents) and len(set(currents)) == len(currents)
    # A live request with only adaptive streaming options: no response, feed goes on.
    assert peer.send(E.live_adaptive_request(6, E.ADAPTIVE_DISABLED), now=3000.0)[-1:] != []
    assert not any(getattr(m, "requestid", None) == "6" for m in peer.poll(3500.0))
    stop = peer.send(E.stop_request(7), now=3600.0)
    assert stop[-2].message.methodname == "stop"
    final = {i.get("id"): i.get("value") for i in stop[-1].message.children["status"]}
    assert final["100"] == "1"
    assert peer.server.next_deadline() is None and peer.poll(10_000.0) == []


def test_live_framerate_attributes_drop_frames() -> None:
    peer = Peer().connected()
    peer.send(E.live_request(2, attributes={"framerate": "medium"}), now=0.0)
    frames = [m for m in peer.poll(4000.0) if isinstance(m, ImageMessage)]
    assert len(frames) == 5  # 20 camera frames, 1 of every 4 sent
    peer.send(E.live_request(3, attributes={"framerate": "low", "frameraterelative": "2"}),
              now=4000.0)
    frames = [m for m in peer.poll(8000.0) if isinstance(m, ImageMessage)]
    assert len(frames) == 10 and {f.requestid for f in frames} == {"3"}


def test_large_camera_serves_a_200_kb_picture() -> None:
    site = Site(ServerConfig())
    peer = Peer(site)
    doc = peer.one(connect(camera=LARGE_CAMERA_ID, size=(160, 120))).message
    transcode = doc.children["transcode"]
    width, height = int(transcode.findtext("width")), int(transcode.findtext("height"))
    msg = _image(peer, E.edge_request(2, "begin"))
    assert len(msg.body) >= 200_000
    assert (jpeg_info(msg.body).width, jpeg_info(msg.body).height) == (width, height)


def test_requests_split_across_many_small_reads() -> None:
    peer = Peer()
    data = connect() + E.edge_request(2, "begin") + E.ptz_request(3, "up")
    messages = []
    for i in range(len(data)):
        messages += peer.send(data[i:i + 1])
    assert [type(m).__name__ for m in messages] == ["XmlAnswer", "ImageMessage", "XmlAnswer"]


@pytest.mark.parametrize("garbage", [
    b"\x00\xff" * 100 + b"\r\n\r\n",
    b"<methodcall><requestid>1</requestid>" + b"<a>" * 5000 + b"\r\n\r\n",
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
    b"<methodcall><requestid>&lol2;</requestid><methodname>connect</methodname></methodcall>"
    b"\r\n\r\n",
    b"<methodresponse><requestid>1</requestid><methodname>stop</methodname></methodresponse>"
    b"\r\n\r\n",
    b"<methodcall><requestid>1</requestid><methodname>snapshot</methodname></methodcall>"
    b"\r\n\r\n",
    b"<methodcall><methodname>connect</methodname></methodcall>\r\n\r\n",
    b"\r\n\r\n\r\n\r\n",
])
def test_garbage_is_noted_not_fatal(garbage: bytes) -> None:
    peer = Peer()
    peer.send(garbage)
    assert not any("internal error" in n for n in peer.notices), peer.notices
    # The connection is still usable afterwards.
    assert isinstance(peer.one(connect()), XmlAnswer)


def test_endless_request_is_capped() -> None:
    server = RecordingServer(site=SITE)
    outputs = []
    for _ in range(40):
        outputs += server.receive(b"A" * 4096, 0.0)
    notices = [o.text for o in outputs if isinstance(o, Notice)]
    assert notices and all("terminator" in n for n in notices)
    assert server._splitter.pending <= server.config.request_cap


_VALID = [connect(), E.edge_request(2, "begin"), E.live_request(3), E.stop_request(4),
          E.ptz_request(5, "up"), E.alarms_range_request(6, 0, 10**13)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.binary(max_size=64), st.sampled_from(_VALID),
                          st.sampled_from(_VALID).map(lambda b: b[:len(b) // 2]),
                          st.sampled_from(_VALID).map(lambda b: b.replace(b"e", b"\x00"))),
                max_size=8),
       st.integers(min_value=1, max_value=97))
def test_server_never_raises_on_arbitrary_input(chunks: list[bytes], cut: int) -> None:
    server = RecordingServer(site=SITE)
    data = b"".join(chunks)
    now = 0.0
    for i in range(0, len(data), cut):
        for out in server.receive(data[i:i + cut], now):
            if isinstance(out, Notice):
                assert "internal error" not in out.text, out.text
        now += 50.0
    server.poll(now + 5000.0)


def test_compression_rates_change_picture_quality() -> None:
    peer = Peer().connected()
    t = SITE.cameras[0].recording.sequences[1].start
    fine = _image(peer, E.goto_request(2, t, compressionrate=5))
    coarse = _image(peer, E.goto_request(3, t, compressionrate=90))
    assert fine.header("Current") == coarse.header("Current")
    assert len(coarse.body) < len(fine.body)
    peer.send(E.live_request(4, compressionrate=5), now=0.0)
    before = [len(m.body) for m in peer.poll(1000.0) if isinstance(m, ImageMessage)]
    answer = peer.send(E.changelivecompressionrate_request(5, 90), now=1000.0)[-1]
    assert answer.message.methodname == "changelivecompressionrate"
    after = [len(m.body) for m in peer.poll(2000.0) if isinstance(m, ImageMessage)]
    assert max(after) < min(before)


# ---- connect shapes and generic byte data layouts real recording servers accept and send


def test_connect_without_cameraid_names_the_camera_by_connectparam_id() -> None:
    peer = Peer()
    request = E.connect_request(4, username="dummy", password="dummy", cameraid=None,
                                connectparam=E.connect_param(DEFAULT_CAMERA_ID, DEFAULT_TOKEN),
                                alwaysstdjpeg=True)
    assert b"<cameraid>" not in request
    doc = peer.one(request).message
    assert doc.text("connected") == "yes" and peer.server.connected
    bad = E.connect_request(5, username="dummy", password="dummy", cameraid=None,
                            connectparam=E.connect_param("no-such-camera", DEFAULT_TOKEN))
    assert "camera" in (Peer().one(bad).message.text("errorreason") or "").lower()


def test_connect_with_basic_credentials_instead_of_a_connectparam() -> None:
    site = Site(ServerConfig(cameras=(CameraConfig(),), basic_users=(("op", "pw"),)))

    def basic(password: str) -> bytes:
        return E.connect_request(1, username="op", password=password,
                                 cameraid=DEFAULT_CAMERA_ID, connectparam=None)

    assert Peer(site).one(basic("pw")).message.text("connected") == "yes"
    assert Peer(site).one(basic("wrong")).message.text("connected") == "no"
    assert Peer().one(basic("pw")).message.text("connected") == "no"  # no basic users


@pytest.mark.parametrize(("layout", "first_u16"), [("block", 0x0001), ("multi", 0xFEF0)])
def test_generic_byte_data_layouts(layout: str, first_u16: int) -> None:
    site = Site(ServerConfig(cameras=(CameraConfig(),), gbd_layout=layout))
    peer = Peer(site).connected(stdjpeg=False, multipart=True)
    msg = _image(peer, E.edge_request(2, "begin"))
    rec = site.cameras[0].recording
    times = []
    for part in msg.parts:
        assert int.from_bytes(part.data[:2], "big") == first_u16
        time, payload = read_picture(part.data)
        assert jpeg_info(payload) is not None
        times.append(time)
    assert times == rec.times[:3]
