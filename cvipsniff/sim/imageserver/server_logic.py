"""The reference XProtect recording server's ImageServer side, sans-I/O.

One :class:`RecordingServer` per TCP connection. Feed it what the client sent with
:meth:`RecordingServer.receive` and let it run its clock with :meth:`RecordingServer.poll`
(live frames and live packages fall due over time; :meth:`RecordingServer.next_deadline`
says when). Both return :class:`Send` items (bytes plus what they are) and
:class:`Notice` items (what the server ignored or refused, for a log). The same object runs
behind the asyncio server and inside the in-process scenario builder.

Behaviour follows ``imageserver-protocol.txt``; where the document is silent the choice is
written next to the code. It parses requests itself (no :mod:`dissectors` import) and
never raises on what a client sends: garbage, malformed XML, XML bombs, unknown methods and
requests before ``connect`` become notices and get no answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from cvipsniff.sim.imageserver import encode
from cvipsniff.sim.imageserver.encode import (
    ClientCapabilities,
    ImageHeaders,
    Multipart,
    Part,
    ServerCapabilities,
    StatusItem,
    Transcode,
    el,
)
from cvipsniff.sim.imageserver.framing import Overflow, TerminatedSplitter
from cvipsniff.sim.imageserver.genericbytedata import (
    CODEC_JPEG,
    audio_packet,
    multi_packet,
    video_block,
    video_packet,
)
from cvipsniff.sim.imageserver.images import ImageSource, quality_for
from cvipsniff.sim.imageserver.recording import Position, Recording
from cvipsniff.sim.imageserver.xmlread import XmlMessage, parse_int, parse_xml, parse_yes_no
from cvipsniff.sim.transcript import MessageTruth

DEFAULT_TOKEN = "cvipsniff-token"
DEFAULT_CAMERA_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
LARGE_CAMERA_ID = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"

# Requests answered by an ImageResponse (section "goto" and the sections referring to it);
# the others are answered by an XML methodresponse, except live (see _live_request).
IMAGE_METHODS = ("goto", "next", "previous", "nextsequence", "previoussequence", "begin",
                 "end")

# "The order of the parameters must be maintained": id, optional streamid, token.
_CONNECT_PARAM = re.compile(r"^id=([^&]+)(?:&streamid=([^&]+))?&connectiontoken=(.+)$")

# Section "live", frame dropping for JPEG streams: send 1 of every N frames.
_FRAMERATE_DIVISOR = {"full": 1, "medium": 4, "low": 20}


@dataclass(frozen=True, slots=True)
class CameraConfig:
    guid: str = DEFAULT_CAMERA_ID
    name: str = "Reference camera 1"
    width: int = 160
    height: int = 120
    noise_bytes: int | None = None  # serve one ~N-byte noise JPEG for every recorded image
    privacy_grid: tuple[str, ...] | None = ("1100", "1000", "0000")  # None: mask "none"
    presets: tuple[str, ...] = ("home", "door", "parking")
    outputs: tuple[str, ...] = ("siren", "floodlight")


DEFAULT_CAMERAS = (
    CameraConfig(),
    CameraConfig(guid=LARGE_CAMERA_ID, name="Reference camera 2", noise_bytes=200_000,
                 privacy_grid=None),
)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    token: str = DEFAULT_TOKEN
    cameras: tuple[CameraConfig, ...] = DEFAULT_CAMERAS
    seed: int = 1
    epoch_ms: int = 1_700_000_000_000  # server wall clock at now_ms == 0
    live_interval_ms: int = 200
    status_interval_ms: int = 1000
    # "SequenceNumber: (if requested)", "MotionLevel: (if requested)": the document does not
    # say how a client requests them, so the server is told by configuration.
    send_sequence_numbers: bool = False
    send_motion_level: bool = False
    multipart_frames: int = 3  # images per multipart browse response ("a GOP")
    request_cap: int = 64 * 1024
    # A connect without <connectparam> authenticates with basic credentials
    # (username/password pairs accepted here; none by default, as with token-only sites).
    basic_users: tuple[tuple[str, str], ...] = ()
    # How raw (non-JPEG) pictures are wrapped in generic byte data: "packet" (a video
    # stream packet), "block" (a video block with a header extension) or "multi" (a multi
    # packet holding the video packet and an audio packet), as recording servers send.
    gbd_layout: str = "packet"


class Camera:
    """A configured camera with its recorded database and picture source, built on first
    use (the large noise picture costs a moment to make) and shared by connections."""

    def __init__(self, config: CameraConfig, seed: int, epoch_ms: int) -> None:
        self.config = config
        self._seed = seed
        self._epoch_ms = epoch_ms
        self._recording: Recording | None = None
        self._images: ImageSource | None = None

    @property
    def recording(self) -> Recording:
        if self._recording is None:
            self._recording = Recording.synthetic(self._epoch_ms - 3 * 3600 * 1000,
                                                  seed=self._seed)
        return self._recording

    @property
    def images(self) -> ImageSource:
        if self._images is None:
            cfg = self.config
            self._images = ImageSource(cfg.width, cfg.height, cfg.noise_bytes, seed=self._seed)
        return self._images


class Site:
    """The cameras a recording server serves (one per configured camera)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.cameras = [Camera(c, config.seed + n, config.epoch_ms)
                        for n, c in enumerate(config.cameras)]

    def find(self, cameraid: str) -> Camera | None:
        """A camera by guid or name, case-insensitively (``<cameraid>`` takes either)."""
        key = cameraid.strip().lower()
        for cam in self.cameras:
            if key in (cam.config.guid.lower(), cam.config.name.lower()):
                return cam
        return None


@dataclass(slots=True)
class Send:
    """Bytes to send at ``at_ms`` (server clock), with what the server knows they are."""

    data: bytes
    truth: MessageTruth
    at_ms: float


@dataclass(slots=True)
class Notice:
    """Something the server did not answer, and why (for a log; nothing is sent)."""

    text: str


ServerOutput = Send | Notice


@dataclass(slots=True)
class _Session:
    """What ``connect`` negotiated (the "[actual]" values of the response)."""

    camera: Camera
    alwaysstdjpeg: bool
    privacymask: bool
    privacymaskversion: int
    multipart: bool
    datarestriction: bool
    width: int
    height: int
    timerestriction: tuple[int, int] | None
    authorised: bool = True
    mask_sent: bool = False
    pointer: int = 0
    live_quality: int | None = None


@dataclass(slots=True)
class _Live:
    requestid: str
    next_frame_ms: float
    next_status_ms: float
    quality: int
    divisor: int = 1
    motion_only: bool = False
    counter: int = 0  # frames produced by the camera since the feed started
    last_time: int | None = None


def _txn(requestid: str | None) -> int | str | None:
    if requestid is None:
        return None
    value = parse_int(requestid)
    return value if value is not None and value >= 0 else requestid


class RecordingServer:
    """One connection's worth of recording server."""

    def __init__(self, config: ServerConfig | None = None, site: Site | None = None) -> None:
        """``site`` lets several connections share cameras (and their picture caches)."""
        if site is not None and config is not None and site.config is not config:
            raise ValueError("give either a config or a site built from it")
        self.site = site or Site(config or ServerConfig())
        self.config = self.site.config
        self._splitter = TerminatedSplitter(self.config.request_cap)
        self._session: _Session | None = None
        self._live: _Live | None = None
        self._handlers: dict[str, Callable[[XmlMessage, float], list[ServerOutput]]] = {
            **dict.fromkeys(IMAGE_METHODS, self._browse),
            "connect": self._connect,
            "connectupdate": self._connectupdate,
            "alarms": self._alarms,
            "live": self._live_request,
            "changelivecompressionrate": self._changelivecompressionrate,
            "stop": self._stop,
            "ptz": self._ptz,
            "ptzcenter": self._simple,
            "ptzrectangle": self._simple,
            "preset": self._preset,
            "output": self._output,
            "aviinformation": self._aviinformation,
        }

    # ------------------------------------------------------------------ public API

    @property
    def connected(self) -> bool:
        return self._session is not None and self._session.authorised

    def receive(self, data: bytes, now_ms: float) -> list[ServerOutput]:
        """Bytes from the client at ``now_ms``: due live output first, then the answers."""
        out = self.poll(now_ms)
        for item in self._splitter.feed(data):
            if isinstance(item, Overflow):
                out.append(Notice(f"discarded {item.length} bytes: no message terminator "
                                  f"within {self.config.request_cap} bytes"))
                continue
            out += self._request(item, now_ms)
        return out

    def poll(self, now_ms: float) -> list[ServerOutput]:
        """Live frames and live packages due at or before ``now_ms``, in time order."""
        out: list[ServerOutput] = []
        live = self._live
        while live is not None and live is self._live:
            due = min(live.next_frame_ms, live.next_status_ms)
            if due > now_ms:
                break
            if live.next_status_ms <= live.next_frame_ms:
                out.append(self._livepackage(due, started=live.counter == 0))
                live.next_status_ms += self.config.status_interval_ms
            else:
                out += self._live_frame(live, due)
                live.next_frame_ms += self.config.live_interval_ms
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`poll` next has something to send, or None."""
        if self._live is None:
            return None
        return min(self._live.next_frame_ms, self._live.next_status_ms)

    def connection_lost(self) -> None:
        """The client went away: stop the live feed."""
        self._live = None

    # ------------------------------------------------------------------ dispatch

    def _request(self, raw: bytes, now: float) -> list[ServerOutput]:
        if not raw.strip():
            return []
        parsed = parse_xml(raw)
        if isinstance(parsed, str):
            return [Notice(f"ignored {len(raw)} bytes: {parsed}")]
        if parsed.tag != "methodcall":
            return [Notice(f"ignored <{parsed.tag}>: not a methodcall")]
        method = parsed.methodname or ""
        handler = self._handlers.get(method)
        if handler is None:
            return [Notice(f"ignored unknown method {method!r}")]
        if method not in ("connect", "connectupdate") and not self.connected:
            return [Notice(f"ignored {method!r}: no accepted connect on this connection")]
        try:
            return handler(parsed, now)
        except Exception as exc:  # a server bug must not take the connection down
            return [Notice(f"internal error handling {method!r}: {type(exc).__name__}: {exc}")]

    def _xml(self, req: XmlMessage, data: bytes, now: float) -> Send:
        return Send(data, MessageTruth("imageserver", "response", _txn(req.requestid),
                                       req.methodname, is_response=True), now)

    def _image(self, req: XmlMessage, data: bytes, now: float) -> Send:
        return Send(data, MessageTruth("imageserver", "imageresponse", _txn(req.requestid),
                                       req.methodname, is_response=True), now)

    # ------------------------------------------------------------------ connect

    def _check_param(self, connectparam: str | None, camera: Camera) -> str | None:
        """Why a connectparam is refused, or None when it is accepted."""
        if not connectparam:
            return "Missing connectparam"
        m = _CONNECT_PARAM.match(connectparam)
        if m is None:
            return "Malformed connectparam: expected id=...[&streamid=...]&connectiontoken=..."
        if m.group(1).lower() != camera.config.guid.lower():
            return f"Device id {m.group(1)} does not match the camera"
        if m.group(3) != self.config.token:
            return "Invalid or expired connection token"
        return None

    def _connect(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        param = req.text("connectparam")
        cameraid = req.text("cameraid")
        if cameraid is None:
            # As a recording server does: without <cameraid> the camera is the one the
            # connectparam id names.
            m = _CONNECT_PARAM.match(param or "")
            cameraid = m.group(1) if m is not None else ""
        camera = self.site.find(cameraid)
        if camera is None:
            reason: str | None = f"Unknown camera {cameraid!r}"
        elif param is None and (req.text("username") or "",
                                req.text("password") or "") in self.config.basic_users:
            reason = None  # basic credentials instead of a connection token
        else:
            reason = self._check_param(param, camera)
        if camera is None or reason is not None:
            self._session = None
            self._live = None
            return [self._xml(req, encode.connect_response(
                req.requestid or "", connected=False, errorreason=reason), now)]

        caps = req.children.get("clientcapabilities")

        def cap(tag: str) -> str | None:
            return None if caps is None else (caps.findtext(tag) or "").strip()

        privacymask = parse_yes_no(cap("privacymask")) or False
        version = min(1, max(0, parse_int(cap("privacymaskversion")) or 0))
        multipart = parse_yes_no(cap("multipartdata")) or False
        datarestriction = parse_yes_no(cap("datarestriction")) or False
        alwaysstdjpeg = parse_yes_no(req.text("alwaysstdjpeg")) or False
        images = camera.images
        transcode = self._negotiate_transcode(req, images)
        restriction = None
        tr = req.children.get("timerestriction")
        if tr is not None:
            start = parse_int(tr.findtext("starttime"))
            end = parse_int(tr.findtext("endtime"))
            if start is not None and end is not None:
                restriction = (start, end)
        self._session = _Session(
            camera, alwaysstdjpeg, privacymask, version, multipart, datarestriction,
            transcode.width or images.native_width, transcode.height or images.native_height,
            restriction)
        self._live = None
        cfg = camera.config
        return [self._xml(req, encode.connect_response(
            req.requestid or "", connected=True, alwaysstdjpeg=alwaysstdjpeg,
            camera=(el("name", cfg.name), el("id", cfg.guid),
                    el("width", images.native_width), el("height", images.native_height)),
            clientcapabilities=ClientCapabilities(privacymask, version, multipart,
                                                  datarestriction),
            servercapabilities=ServerCapabilities(connectupdate=True,
                                                  adaptivestreamingversion=1),
            transcode=transcode), now)]

    @staticmethod
    def _negotiate_transcode(req: XmlMessage, images: ImageSource) -> Transcode:
        """The "[actual]" transcode settings: requested size fitted to the rules asked for."""
        node = req.children.get("transcode")

        def get(tag: str) -> str | None:
            return None if node is None else node.findtext(tag)

        native_w, native_h = images.native_width, images.native_height
        allframes = parse_yes_no(get("allframes")) or False
        keep = parse_yes_no(get("keepaspectratio")) or False
        upsize = parse_yes_no(get("allowupsizing")) or False
        w = parse_int(get("width"))
        h = parse_int(get("height"))
        w = w if w is not None and 1 <= w <= 4096 else native_w
        h = h if h is not None and 1 <= h <= 4096 else native_h
        if images.fixed_size:
            w, h = native_w, native_h
        if keep:
            scale = min(w / native_w, h / native_h)
            w, h = max(1, round(native_w * scale)), max(1, round(native_h * scale))
        if not upsize and (w > native_w or h > native_h):
            scale = min(native_w / w, native_h / h)
            w, h = max(1, round(w * scale)), max(1, round(h * scale))
        return Transcode(allframes, w, h, keep, upsize)

    def _connectupdate(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        if self._session is None:
            reason: str | None = "No accepted connect on this connection"
        else:
            reason = self._check_param(req.text("connectparam"), self._session.camera)
            self._session.authorised = reason is None
            if reason is not None:
                self._live = None
        return [self._xml(req, encode.connectupdate_response(
            req.requestid or "", connected=reason is None, errorreason=reason), now)]

    # ------------------------------------------------------------------ browse

    def _browse(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        session = self._session
        assert session is not None
        rec = session.camera.recording
        method = req.methodname
        time = parse_int(req.text("time"))
        start = session.pointer if time is None else rec.closest(time)
        if method == "goto":
            index = start
        elif method == "next":
            index = start + 1
        elif method == "previous":
            index = start - 1
        elif method == "nextsequence":
            index = rec.next_sequence(start)
        elif method == "previoussequence":
            index = rec.previous_sequence(start)
        elif method == "begin":
            index = 0
        else:  # end
            index = len(rec.times) - 1
        pos = rec.position(index)
        quality = quality_for(parse_int(req.text("compressionrate")))
        if session.multipart:
            data, pos = self._multipart_browse(req, pos, quality)
        else:
            body, ctype = self._body(pos.index, quality)
            data = encode.image_response(self._headers(req.requestid or "", pos), body,
                                         content_type=ctype)
        session.pointer = pos.index
        return [self._image(req, data, now)]

    def _body(self, index: int, quality: int) -> tuple[bytes, str]:
        session = self._session
        assert session is not None
        jpeg = session.camera.images.recorded(index, session.width, session.height, quality)
        if session.alwaysstdjpeg:
            return jpeg, encode.CONTENT_TYPE_JPEG
        time = session.camera.recording.times[index]
        return self._raw_picture(jpeg, index, time), encode.CONTENT_TYPE_GENERIC

    def _raw_picture(self, jpeg: bytes, sequence: int, time: int) -> bytes:
        """One picture as generic byte data, in the configured layout."""
        layout = self.config.gbd_layout
        if layout == "block":
            return video_block(jpeg, codec=CODEC_JPEG, first_time_ms=time, last_time_ms=time,
                               pictures=1, sequence=sequence, extension=bytes(8))
        packet = video_packet(jpeg, sequence=sequence, picture_time_ms=time)
        if layout == "multi":
            return multi_packet(packet, audio_packet(bytes(160)))
        return packet

    def _multipart_browse(self, req: XmlMessage, pos: Position,
                          quality: int) -> tuple[bytes, Position]:
        """Up to ``multipart_frames`` consecutive images of the same sequence as parts.

        Current (and SequenceNumber) describe the first part, Next is the image after the
        last part, and the pointer moves to the last part (the document leaves all three
        open). Returns the message and the new pointer position.
        """
        assert self._session is not None
        rec = self._session.camera.recording
        seq = rec.sequences[rec.sequence_of[pos.index]]
        last = min(pos.index + self.config.multipart_frames,
                   seq.first_index + seq.count) - 1
        parts = []
        for index in range(pos.index, last + 1):
            body, ctype = self._body(index, quality)
            parts.append(Part(body, ctype))
        end = rec.position(last)
        headers = self._headers(req.requestid or "",
                                Position(pos.index, pos.prev, pos.current, end.next))
        return encode.multipart_image_response(headers, Multipart(tuple(parts))), end

    def _headers(self, requestid: str, pos: Position) -> ImageHeaders:
        session = self._session
        assert session is not None
        restriction = "none"
        if session.timerestriction is not None:
            lo, hi = session.timerestriction
            restriction = "none" if lo <= pos.current <= hi else "time"
        return ImageHeaders(
            requestid, pos.prev, pos.current, pos.next,
            privacymask=self._privacy_mask_once(),
            restriction=restriction,
            sequencenumber=pos.index if self.config.send_sequence_numbers else None,
            motionlevel=(pos.index * 37) % 101 if self.config.send_motion_level else None,
        )

    def _privacy_mask_once(self) -> str | None:
        """The PrivacyMask header value the first time (the mask never changes here)."""
        session = self._session
        assert session is not None
        if not session.privacymask or session.mask_sent:
            return None
        session.mask_sent = True
        grid = session.camera.config.privacy_grid
        if grid is None:
            return encode.PRIVACY_MASK_NONE
        if session.privacymaskversion == 0:
            return encode.grid_privacy_mask(grid)
        width, height = len(grid[0]), len(grid)
        rows = {i + 1: [int(c) for c in row] for i, row in enumerate(grid) if "1" in row}
        xml = encode.privacy_mask_xml([encode.MaskMethod(1)], width, height, rows)
        return encode.base64_privacy_mask(xml)

    # ------------------------------------------------------------------ live

    def _live_request(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        """Start (or restart) the live feed; a ``live`` carrying only adaptive streaming
        options updates the running feed and gets no response at all."""
        options = set(req.children) - {"requestid", "methodname"}
        adaptive = req.children.get("adaptivestreaming")
        adaptive_text = "disabled"
        if adaptive is not None:
            kinds = [c.tag for c in adaptive if isinstance(c.tag, str)]
            adaptive_text = kinds[0] if kinds else "disabled"
        if options == {"adaptivestreaming"}:
            # One stream per simulated camera: nothing to switch, but say what was asked.
            return [Notice(f"live {req.requestid}: adaptive streaming set to "
                           f"{adaptive_text}; no response")]
        session = self._session
        assert session is not None
        # The request's own compressionrate wins; else the last changelivecompressionrate.
        rate = parse_int(req.text("compressionrate"))
        quality = (session.live_quality if rate is None and session.live_quality is not None
                   else quality_for(rate))
        divisor, motion_only = 1, False
        attrs = req.children.get("attributes")
        if attrs is not None:
            divisor = _FRAMERATE_DIVISOR.get(attrs.get("framerate", "full"), 1)
            relative = parse_int(attrs.get("frameraterelative"))
            if relative is not None and relative >= 1:
                divisor = relative  # "frameraterelative overrules framerate"
            motion_only = attrs.get("motiononly") in ("yes", "true")
        initial = parse_yes_no(req.text("sendinitialimage")) or False
        self._live = _Live(
            requestid=req.requestid or "",
            next_frame_ms=now if initial else now + self.config.live_interval_ms,
            next_status_ms=now, quality=quality, divisor=divisor,
            motion_only=motion_only)
        return self.poll(now)

    @staticmethod
    def _motion(counter: int) -> bool:
        """Simulated motion: on for 10 frames, off for 10."""
        return (counter // 10) % 2 == 0

    def _live_frame(self, live: _Live, due: float) -> list[ServerOutput]:
        counter = live.counter
        live.counter += 1
        if counter % live.divisor or (live.motion_only and not self._motion(counter)):
            return []
        session = self._session
        assert session is not None
        t = int(self.config.epoch_ms + due)
        jpeg = session.camera.images.live(counter, session.width, session.height, live.quality)
        if session.alwaysstdjpeg:
            body, ctype = jpeg, encode.CONTENT_TYPE_JPEG
        else:
            body = self._raw_picture(jpeg, counter, t)
            ctype = encode.CONTENT_TYPE_GENERIC
        # Live: Prev is the previous frame sent; the next frame's time is not known yet,
        # so Next repeats Current (the document shows the goto layout only).
        headers = ImageHeaders(
            live.requestid, live.last_time if live.last_time is not None else t, t, t,
            privacymask=self._privacy_mask_once(), restriction="none",
            sequencenumber=counter if self.config.send_sequence_numbers else None,
            motionlevel=(70 + counter % 30 if self._motion(counter) else counter % 5)
            if self.config.send_motion_level else None)
        live.last_time = t
        data = encode.image_response(headers, body, content_type=ctype)
        return [Send(data, MessageTruth("imageserver", "imageresponse", _txn(live.requestid),
                                        "live", is_response=True), due)]

    def _livepackage(self, due: float, *, started: bool = False,
                     stopped: bool = False) -> Send:
        live = self._live
        counter = live.counter if live is not None else 0
        items = [StatusItem(1, 0 if stopped else 1, "Camera live feed started")]
        if not stopped:
            items += [StatusItem(2, int(self._motion(counter))), StatusItem(3, 1)]
        if started or stopped:
            items.append(StatusItem(100, int(stopped), "Client Live feed stopped"))
        data = encode.livepackage(int(self.config.epoch_ms + due), items)
        # The document counts live packages among the responses to live, but they carry no
        # requestid: a response with no transaction number.
        return Send(data, MessageTruth("imageserver", "livepackage", None, None,
                                       is_response=True), due)

    def _changelivecompressionrate(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        session = self._session
        assert session is not None
        quality = quality_for(parse_int(req.text("compressionrate")))
        session.live_quality = quality
        if self._live is not None:
            self._live.quality = quality
        return [self._xml(req, encode.empty_response(req.requestid or "",
                                                      "changelivecompressionrate"), now)]

    def _stop(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        out: list[ServerOutput] = [self._xml(req, encode.empty_response(req.requestid or "",
                                                                         "stop"), now)]
        if self._live is not None:
            # Status item 100: "1 if live feed to client is stopped".
            out.append(self._livepackage(now, stopped=True))
            self._live = None
        return out

    # ------------------------------------------------------------------ PTZ, outputs

    def _simple(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        return [self._xml(req, encode.empty_response(req.requestid or "",
                                                     req.methodname or ""), now)]

    def _ptz(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        out: list[ServerOutput] = []
        command = req.text("ptzcommand")
        if command not in encode.PTZ_COMMANDS:
            out.append(Notice(f"ptz {req.requestid}: unknown ptzcommand {command!r}"))
        return [*out, *self._simple(req, now)]

    def _preset(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        out: list[ServerOutput] = []
        name = req.text("presetname")
        if self._session is None or name not in self._session.camera.config.presets:
            out.append(Notice(f"preset {req.requestid}: unknown preset {name!r}"))
        return [*out, *self._simple(req, now)]

    def _output(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        out: list[ServerOutput] = []
        name = req.text("outputname")
        if self._session is None or name not in self._session.camera.config.outputs:
            out.append(Notice(f"output {req.requestid}: unknown output {name!r}"))
        return [*out, *self._simple(req, now)]

    # ------------------------------------------------------------------ database queries

    def _alarms(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        assert self._session is not None
        rec = self._session.camera.recording
        center = parse_int(req.text("centertime"))
        if center is not None:
            count = parse_int(req.text("numalarms"))
            span = parse_int(req.text("timespan"))
            found = rec.sequences_around(center, 10 if count is None else count,
                                         rec.last - rec.first if span is None else span)
        else:
            start = parse_int(req.text("starttime"))
            stop = parse_int(req.text("stoptime"))
            found = rec.sequences_between(rec.first if start is None else start,
                                          rec.last if stop is None else stop)
        alarms = [encode.Alarm(s.start, s.alarm, s.end, s.count) for s in found]
        return [self._xml(req, encode.alarms_response(
            req.requestid or "", db_start=rec.first, db_end=rec.last, alarms=alarms), now)]

    def _aviinformation(self, req: XmlMessage, now: float) -> list[ServerOutput]:
        session = self._session
        assert session is not None
        rec = session.camera.recording
        start = parse_int(req.text("start"))
        stop = parse_int(req.text("stop"))
        start = rec.first if start is None else start
        stop = rec.last if stop is None else stop
        count = rec.images_between(start, stop)
        times = [t for t in rec.times if start <= t <= stop]
        fps = 0.0
        if count > 1 and times[-1] > times[0]:
            fps = (count - 1) * 1000.0 / (times[-1] - times[0])
        return [self._xml(req, encode.aviinformation_response(
            req.requestid or "", width=session.width, height=session.height, depth=24,
            fps=fps), now)]
