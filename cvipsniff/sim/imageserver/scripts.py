"""The reference client's scripts: every ImageServer request, and what must come back.

Each script is one TCP connection's worth of :class:`~.client_logic.Step` objects. Checks
follow the document: XML answers echo requestid and methodname, ``connect`` says
``connected`` (with ``errorreason`` only when it is ``no``), browse requests get an
ImageResponse whose Current is the image the request asked for (judged against the
database layout the ``alarms`` answer revealed), ``live`` gets a stream of ImageResponses
and live packages, a ``live`` carrying only adaptive streaming options gets nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cvipsniff.sim.imageserver import encode
from cvipsniff.sim.imageserver.checks import (
    image_response_problem,
    livepackage_problem,
    methodresponse_problem,
)
from cvipsniff.sim.imageserver.client_logic import ClientContext, Step, StepRecord
from cvipsniff.sim.imageserver.genericbytedata import read_picture
from cvipsniff.sim.imageserver.reader import ImageMessage, XmlAnswer
from cvipsniff.sim.imageserver.server_logic import (
    DEFAULT_CAMERA_ID,
    DEFAULT_TOKEN,
    LARGE_CAMERA_ID,
)
from cvipsniff.sim.imageserver.xmlread import XmlMessage, parse_int, parse_yes_no

# "Everything" as a time range: plausible times (analysers flag 0 as seconds-for-ms).
EARLY_MS = 946_684_800_000  # 2000-01-01
FAR_FUTURE_MS = 4_070_908_800_000  # 2099-01-01


@dataclass(frozen=True, slots=True)
class ClientOptions:
    token: str = DEFAULT_TOKEN
    camera_id: str = DEFAULT_CAMERA_ID
    large_camera_id: str = LARGE_CAMERA_ID
    live_ms: float = 2000.0


# ------------------------------------------------------------------------ step kinds

XmlExpect = Callable[[ClientContext, XmlMessage], str | None]
ImageExpect = Callable[[ClientContext, tuple[int, int, int]], str | None]


def xml_step(name: str, method: str, build: Callable[[int, ClientContext], bytes],
             expect: XmlExpect | None = None, **kw: Any) -> Step:
    """A request answered by a methodresponse echoing requestid and methodname."""

    def check(ctx: ClientContext, rec: StepRecord) -> str | None:
        problem = methodresponse_problem(rec.answer, rec.requestid, method)
        if problem is not None or expect is None:
            return problem
        assert isinstance(rec.answer, XmlAnswer)
        return expect(ctx, rec.answer.message)

    return Step(name, method, build, "xml", check, **kw)


def image_step(name: str, method: str, build: Callable[[int, ClientContext], bytes],
               expect: ImageExpect | None = None, **kw: Any) -> Step:
    """A request answered by an ImageResponse with real pictures of the negotiated size."""

    def check(ctx: ClientContext, rec: StepRecord) -> str | None:
        result = image_response_problem(rec.answer, rec.requestid, multipart=ctx.multipart,
                                        stdjpeg=ctx.stdjpeg, size=ctx.size)
        if isinstance(result, str):
            return result
        problem = expect(ctx, result) if expect is not None else None
        ctx.pointer_time = _pointer_after(rec.answer, result[1])
        return problem

    return Step(name, method, build, "image", check, **kw)


def _pointer_after(msg: object, current: int) -> int:
    """Where the server's pointer is now: the last part's picture time when the parts say
    it (generic byte data carries timestamps), else Current."""
    if isinstance(msg, ImageMessage) and msg.parts:
        picture = read_picture(msg.parts[-1].data)
        if picture is not None:
            return picture[0]
    return current


def no_answer_step(name: str, method: str, build: Callable[[int, ClientContext], bytes],
                   wait_ms: float, expect: Callable[[ClientContext, StepRecord], str | None]
                   | None = None, **kw: Any) -> Step:
    """A request that must get no answer at all (nothing carries its requestid)."""

    def check(ctx: ClientContext, rec: StepRecord) -> str | None:
        for event in rec.events:
            rid = event.requestid if isinstance(event, ImageMessage) else (
                event.message.requestid if isinstance(event, XmlAnswer) else None)
            if rid == str(rec.requestid):
                return "got an answer, but this request gets none"
        return expect(ctx, rec) if expect is not None else None

    return Step(name, method, build, "none", check, wait_ms=wait_ms, **kw)


# ------------------------------------------------------------------------ connect


def _connect_builder(*, stdjpeg: bool, privacymask: bool, maskversion: int = 0,
                     multipart: bool = False, size: tuple[int, int] | None = None,
                     token: str | None = None, camera: str | None = None,
                     stream_id: str | None = None,
                     timerestriction: bool = False) -> Callable[[int, ClientContext], bytes]:
    def build(rid: int, ctx: ClientContext) -> bytes:
        cam = camera or ctx.camera_id
        return encode.connect_request(
            rid, username="dummy", password="dummy", cameraid=cam,
            connectparam=encode.connect_param(cam, token or ctx.token, stream_id),
            alwaysstdjpeg=stdjpeg,
            clientcapabilities=encode.ClientCapabilities(
                privacymask=privacymask, privacymaskversion=maskversion,
                multipartdata=multipart, datarestriction=False),
            transcode=None if size is None else encode.Transcode(
                allframes=False, width=size[0], height=size[1], keepaspectratio=True,
                allowupsizing=False),
            timerestriction=(EARLY_MS, FAR_FUTURE_MS) if timerestriction else None,
            pretty=ctx.pretty)
    return build


def _success_or_none(doc: XmlMessage) -> bool:
    """No errorreason, or the "Success" recording servers put beside connected=yes (a
    real client accepts it; the analyser notes it, DECISIONS.md item 28)."""
    return not doc.has("errorreason") or (doc.text("errorreason") or "").lower() == "success"


def _accepted(ctx: ClientContext, doc: XmlMessage) -> str | None:
    if doc.text("connected") != "yes":
        return f"connected is {doc.text('connected')!r}: {doc.text('errorreason')}"
    if not _success_or_none(doc):
        return "errorreason present although connected is yes"
    server = doc.children.get("servercapabilities")
    if server is None or server.find("connectupdate") is None:
        return "no servercapabilities/connectupdate"
    transcode = doc.children.get("transcode")
    if transcode is None:
        return "no transcode element"
    width = parse_int(transcode.findtext("width"))
    height = parse_int(transcode.findtext("height"))
    if width is None or height is None or width < 1 or height < 1:
        return "transcode width/height are not numbers"
    stdjpeg = parse_yes_no(doc.text("alwaysstdjpeg"))
    caps = doc.children.get("clientcapabilities")
    multipart = parse_yes_no(None if caps is None else caps.findtext("multipartdata"))
    if stdjpeg is None or multipart is None:
        return "alwaysstdjpeg or clientcapabilities/multipartdata is not yes/no"
    ctx.connected = True
    ctx.stdjpeg = stdjpeg
    ctx.multipart = multipart
    ctx.size = (width, height)
    return None


def _refused(ctx: ClientContext, doc: XmlMessage) -> str | None:
    if doc.text("connected") != "no":
        return f"connected is {doc.text('connected')!r}, expected no"
    if not doc.text("errorreason"):
        return "connected is no but there is no errorreason"
    ctx.connected = False
    return None


def connect_step(name: str = "connect", **options: Any) -> Step:
    """A connect that must be accepted; nothing else in the script can run without it."""
    return xml_step(name, "connect", _connect_builder(**options), _accepted,
                    required=True)


def refused_connect_step(name: str = "connect (bad token)") -> Step:
    def build(rid: int, ctx: ClientContext) -> bytes:
        return _connect_builder(stdjpeg=True, privacymask=False,
                                token="expired-" + ctx.token)(rid, ctx)
    return xml_step(name, "connect", build, _refused)


def connectupdate_step() -> Step:
    def build(rid: int, ctx: ClientContext) -> bytes:
        return encode.connectupdate_request(
            rid, encode.connect_param(ctx.camera_id, ctx.token), pretty=ctx.pretty)

    def expect(ctx: ClientContext, doc: XmlMessage) -> str | None:
        if doc.text("connected") != "yes":
            return f"connected is {doc.text('connected')!r}: {doc.text('errorreason')}"
        return None if _success_or_none(doc) else \
            "errorreason present although connected is yes"

    return xml_step("connectupdate", "connectupdate", build, expect)


# ------------------------------------------------------------------------ database


def _alarms(doc: XmlMessage) -> tuple[tuple[int, int], list[tuple[int, int, int, int]]] | str:
    dblimit = doc.children.get("dblimit")
    alarms = doc.children.get("alarms")
    if dblimit is None or alarms is None:
        return "no dblimit or alarms element"
    lo, hi = parse_int(dblimit.get("startTime")), parse_int(dblimit.get("endTime"))
    if lo is None or hi is None or lo > hi:
        return "dblimit startTime/endTime are not ordered ms times"
    found = []
    for alarm in alarms.findall("alarm"):
        parsed = [parse_int(alarm.get(a)) for a in ("startTime", "alarmTime", "endTime",
                                                     "numImages")]
        values = [v for v in parsed if v is not None]
        if len(values) != 4:
            return "an alarm lacks startTime/alarmTime/endTime/numImages"
        start, at, end, count = values
        if not (lo <= start <= at <= end <= hi) or count < 1:
            return f"alarm {start}/{at}/{end}/{count} inconsistent with dblimit"
        found.append((start, at, end, count))
    if found != sorted(found):
        return "alarms not in time order"
    return (lo, hi), found


def alarms_range_step() -> Step:
    def build(rid: int, ctx: ClientContext) -> bytes:
        return encode.alarms_range_request(rid, EARLY_MS, FAR_FUTURE_MS, pretty=ctx.pretty)

    def expect(ctx: ClientContext, doc: XmlMessage) -> str | None:
        parsed = _alarms(doc)
        if isinstance(parsed, str):
            return parsed
        (ctx.db_start, ctx.db_end), ctx.sequences = parsed
        if len(ctx.sequences) < 3:
            return "fewer than three recorded sequences in the whole database"
        return None

    return xml_step("alarms (time range)", "alarms", build, expect)


def alarms_around_step() -> Step:
    def center(ctx: ClientContext) -> int:
        return ctx.sequences[len(ctx.sequences) // 2][1] if ctx.sequences else 0

    def build(rid: int, ctx: ClientContext) -> bytes:
        return encode.alarms_around_request(rid, center(ctx), 1, 24 * 3600 * 1000)

    def expect(ctx: ClientContext, doc: XmlMessage) -> str | None:
        parsed = _alarms(doc)
        if isinstance(parsed, str):
            return parsed
        _, found = parsed
        if not 1 <= len(found) <= 2:
            return f"{len(found)} alarms for numalarms=1 (at most one before, one after)"
        mid = ctx.sequences[len(ctx.sequences) // 2]
        return None if mid in found else "the sequence holding the centre time is missing"

    return xml_step("alarms (around a time)", "alarms", build, expect)


def aviinformation_step() -> Step:
    def build(rid: int, ctx: ClientContext) -> bytes:
        return encode.aviinformation_request(rid, ctx.db_start or EARLY_MS,
                                             ctx.db_end or FAR_FUTURE_MS, pretty=ctx.pretty)

    def expect(ctx: ClientContext, doc: XmlMessage) -> str | None:
        width, height = parse_int(doc.text("width")), parse_int(doc.text("height"))
        depth = parse_int(doc.text("depth"))
        try:
            fps = float(doc.text("fps") or "")
        except ValueError:
            return f"fps {doc.text('fps')!r} is not a float"
        if (width, height) != ctx.size:
            return f"size {width}x{height} differs from the negotiated {ctx.size}"
        if depth is None or depth < 1 or fps <= 0:
            return "depth or fps not positive"
        return None

    return xml_step("aviinformation", "aviinformation", build, expect)


# ------------------------------------------------------------------------ browse


def _seq_index(ctx: ClientContext, t: int) -> int | None:
    for n, (start, _, end, _) in enumerate(ctx.sequences):
        if start <= t <= end:
            return n
    return None


def _expect_begin(ctx: ClientContext, times: tuple[int, int, int]) -> str | None:
    prev, current, _ = times
    if current != ctx.db_start or prev != current:
        return f"begin returned {current} (Prev {prev}), the database starts at {ctx.db_start}"
    return None


def _expect_end(ctx: ClientContext, times: tuple[int, int, int]) -> str | None:
    _, current, nxt = times
    if current != ctx.db_end or nxt != current:
        return f"end returned {current} (Next {nxt}), the database ends at {ctx.db_end}"
    return None


def _expect_later(ctx: ClientContext, times: tuple[int, int, int]) -> str | None:
    if ctx.pointer_time is not None and times[1] <= ctx.pointer_time:
        return f"next returned {times[1]}, not after {ctx.pointer_time}"
    return None


def _expect_earlier(ctx: ClientContext, times: tuple[int, int, int]) -> str | None:
    if ctx.pointer_time is not None and times[1] >= ctx.pointer_time:
        return f"previous returned {times[1]}, not before {ctx.pointer_time}"
    return None


def _expect_next_sequence(ctx: ClientContext, times: tuple[int, int, int]) -> str | None:
    n = _seq_index(ctx, ctx.pointer_time or 0)
    if n is None or n + 1 >= len(ctx.sequences):
        return "pointer not inside a known sequence with a successor"
    want = ctx.sequences[n + 1][0]
    return None if times[1] == want else f"nextsequence returned {times[1]}, expected {want}"


def _expect_previous_sequence(ctx: ClientContext, times: tuple[int, int, int]) -> str | None:
    n = _seq_index(ctx, ctx.pointer_time or 0)
    if n is None or n == 0:
        return "pointer not inside a known sequence with a predecessor"
    want = ctx.sequences[n - 1][0]
    return None if times[1] == want else f"previoussequence returned {times[1]}, expected {want}"


def _goto_target(ctx: ClientContext) -> int:
    """A time just inside the second sequence (the image nearest to it is its first)."""
    return ctx.sequences[1][0] + 40 if len(ctx.sequences) > 1 else 0


def _expect_goto(ctx: ClientContext, times: tuple[int, int, int]) -> str | None:
    want = ctx.sequences[1][0] if len(ctx.sequences) > 1 else None
    return None if times[1] == want else f"goto returned {times[1]}, expected image {want}"


def begin_step(**kw: Any) -> Step:
    return image_step("begin", "begin",
                      lambda rid, ctx: encode.edge_request(rid, "begin"), _expect_begin, **kw)


def end_step() -> Step:
    return image_step("end", "end", lambda rid, ctx: encode.edge_request(rid, "end"),
                      _expect_end)


def next_step(name: str = "next", compressionrate: int | None = None) -> Step:
    return image_step(name, "next", lambda rid, ctx: encode.step_request(
        rid, "next", compressionrate=compressionrate), _expect_later)


def previous_step() -> Step:
    return image_step("previous", "previous",
                      lambda rid, ctx: encode.step_request(rid, "previous"), _expect_earlier)


def goto_step() -> Step:
    return image_step("goto", "goto", lambda rid, ctx: encode.goto_request(
        rid, _goto_target(ctx), compressionrate=30, keyframesonly=False), _expect_goto)


def next_sequence_step() -> Step:
    return image_step("nextsequence", "nextsequence",
                      lambda rid, ctx: encode.step_request(rid, "nextsequence"),
                      _expect_next_sequence)


def previous_sequence_step() -> Step:
    return image_step("previoussequence", "previoussequence",
                      lambda rid, ctx: encode.step_request(rid, "previoussequence"),
                      _expect_previous_sequence)


def next_from_time_step() -> Step:
    """``next`` with ``<time>``: the image after the one at that time."""
    def at(ctx: ClientContext) -> int:
        return ctx.sequences[2][1] if len(ctx.sequences) > 2 else 0

    def expect(ctx: ClientContext, times: tuple[int, int, int]) -> str | None:
        return None if times[1] > at(ctx) else f"next from {at(ctx)} returned {times[1]}"

    return image_step("next (with time)", "next",
                      lambda rid, ctx: encode.step_request(rid, "next", time=at(ctx)), expect)


# ------------------------------------------------------------------------ live


def _live_frames(rec: StepRecord, requestid: object) -> list[ImageMessage]:
    return [e for e in rec.events
            if isinstance(e, ImageMessage) and e.requestid == str(requestid)]


def _live_packages(rec: StepRecord) -> list[XmlAnswer]:
    return [e for e in rec.events if isinstance(e, XmlAnswer) and e.message.tag == "livepackage"]


def _stream_arrived(ctx: ClientContext, rec: StepRecord) -> bool:
    """What a live step waits for: two frames of its feed and a live package."""
    return len(_live_frames(rec, rec.requestid)) >= 2 and bool(_live_packages(rec))


def _feed_frame_arrived(ctx: ClientContext, rec: StepRecord) -> bool:
    """What an adaptive-only live request waits for: a frame of the running feed."""
    return bool(_live_frames(rec, ctx.live_requestid))


def _live_check(ctx: ClientContext, rec: StepRecord) -> str | None:
    frames = _live_frames(rec, rec.requestid)
    packages = _live_packages(rec)
    if len(frames) < 2 or not packages:
        return f"{len(frames)} live frames and {len(packages)} live packages; expected a stream"
    last = -1
    for frame in frames:
        result = image_response_problem(frame, rec.requestid, multipart=False,
                                        stdjpeg=ctx.stdjpeg, size=ctx.size)
        if isinstance(result, str):
            return f"live frame: {result}"
        if result[1] <= last:
            return "live frame times do not increase"
        last = result[1]
    for package in packages:
        if (problem := livepackage_problem(package)) is not None:
            return problem
    others = [e for e in rec.events if e not in frames and e not in packages]
    if others:
        return f"{len(others)} unexpected messages during live"
    return None


# How much longer a live step listens when the stream it awaits is late (a busy machine):
# it ends as soon as the stream shows what it should, so on time it costs nothing.
LIVE_PATIENCE_MS = 10_000.0


def live_step(live_ms: float) -> Step:
    def build(rid: int, ctx: ClientContext) -> bytes:
        ctx.live_requestid = rid
        return encode.live_request(rid, compressionrate=40, sendinitialimage=True,
                                   attributes={"framerate": "full"},
                                   adaptivestreaming=encode.adaptive_resolution(160, 120))

    return Step("live", "live", build, "stream", _live_check, wait_ms=live_ms,
                patience_ms=LIVE_PATIENCE_MS, arrived=_stream_arrived)


def live_adaptive_step(name: str, option: encode.Element, wait_ms: float = 600.0) -> Step:
    """Only adaptive streaming options: no response, and the running feed goes on."""
    def feed_goes_on(ctx: ClientContext, rec: StepRecord) -> str | None:
        return None if _feed_frame_arrived(ctx, rec) else "the live feed stopped"

    return no_answer_step(name, "live",
                          lambda rid, ctx: encode.live_adaptive_request(rid, option),
                          wait_ms, feed_goes_on, patience_ms=LIVE_PATIENCE_MS,
                          arrived=_feed_frame_arrived)


def stop_step(settle_ms: float = 600.0) -> Step:
    def check(ctx: ClientContext, rec: StepRecord) -> str | None:
        problem = methodresponse_problem(rec.answer, rec.requestid, "stop")
        if problem is not None:
            return problem
        for event in rec.after_answer():
            if isinstance(event, ImageMessage):
                return "live frames kept coming after stop"
            if isinstance(event, XmlAnswer) and (p := livepackage_problem(event)):
                return p
        return None

    return Step("stop", "stop", lambda rid, ctx: encode.stop_request(rid), "xml", check,
                settle_ms=settle_ms)


# ------------------------------------------------------------------------ PTZ, outputs


def _bare(ctx: ClientContext, doc: XmlMessage) -> str | None:
    extra = [c.tag for c in doc.root if isinstance(c.tag, str)
             and c.tag not in ("requestid", "methodname")]
    return f"unexpected elements {extra}" if extra else None


def ptz_step(command: str) -> Step:
    return xml_step(f"ptz {command}", "ptz",
                    lambda rid, ctx: encode.ptz_request(rid, command, pretty=ctx.pretty), _bare)


def control_steps() -> list[Step]:
    return [
        ptz_step("up"),
        ptz_step("zoomin"),
        ptz_step("home"),
        xml_step("ptzcenter", "ptzcenter", lambda rid, ctx: encode.ptzcenter_request(
            rid, refwidth=160, refheight=120, centerx=40, centery=90, zoom=2,
            pretty=ctx.pretty), _bare),
        xml_step("ptzrectangle", "ptzrectangle", lambda rid, ctx: encode.ptzrectangle_request(
            rid, refwidth=160, refheight=120, left=10, top=20, right=90, bottom=100,
            pretty=ctx.pretty), _bare),
        xml_step("preset", "preset", lambda rid, ctx: encode.preset_request(
            rid, "door", pretty=ctx.pretty), _bare),
        xml_step("output", "output", lambda rid, ctx: encode.output_request(
            rid, "siren", pretty=ctx.pretty), _bare),
    ]


def changelivecompressionrate_step(rate: int) -> Step:
    return xml_step("changelivecompressionrate", "changelivecompressionrate",
                    lambda rid, ctx: encode.changelivecompressionrate_request(rid, rate), _bare)


# ------------------------------------------------------------------------ scripts


def browse_script(opts: ClientOptions) -> list[Step]:
    """connect, alarms ×2, then every way of moving the database pointer."""
    return [
        connect_step(stdjpeg=True, privacymask=True, maskversion=0, size=(160, 120)),
        alarms_range_step(),
        alarms_around_step(),
        begin_step(),
        next_step(),
        next_step("next (compressionrate)", compressionrate=50),
        previous_step(),
        goto_step(),
        next_sequence_step(),
        previous_sequence_step(),
        next_from_time_step(),
        end_step(),
    ]


def live_script(opts: ClientOptions) -> list[Step]:
    """connect, live, adaptive-only live ×2 (no answer), change compression, stop."""
    return [
        connect_step(stdjpeg=True, privacymask=True, maskversion=1),
        live_step(opts.live_ms),
        live_adaptive_step("live (adaptive resolution)", encode.adaptive_resolution(320, 240)),
        changelivecompressionrate_step(70),
        live_adaptive_step("live (adaptive maxresolution)", encode.ADAPTIVE_MAXRESOLUTION,
                           wait_ms=400.0),
        stop_step(),
    ]


def multipart_script(opts: ClientOptions) -> list[Step]:
    """Raw (generic byte data) pictures in multipart browse responses."""
    return [
        connect_step(stdjpeg=False, privacymask=False, multipart=True),
        alarms_range_step(),
        begin_step(),
        next_step(),
        goto_step(),
        previous_step(),
        next_sequence_step(),
        end_step(),
        connectupdate_step(),
    ]


def control_script(opts: ClientOptions) -> list[Step]:
    """PTZ, presets, outputs, alarms, aviinformation and a token refresh."""
    return [
        connect_step(stdjpeg=True, privacymask=False, stream_id="5c6d7e8f-0000-4000-8000-"
                     "000000000001", timerestriction=True),
        *control_steps(),
        alarms_range_step(),
        aviinformation_step(),
        connectupdate_step(),
    ]


def refused_script(opts: ClientOptions) -> list[Step]:
    """A connect with a token the server does not accept."""
    return [refused_connect_step()]


def large_image_script(opts: ClientOptions) -> list[Step]:
    """The camera serving a ~200 KB picture (connect to it, then ``begin``)."""
    begin = begin_step()
    picture_check = begin.check

    def check(ctx: ClientContext, rec: StepRecord) -> str | None:
        problem = picture_check(ctx, rec)
        msg = rec.answer
        if problem is None and isinstance(msg, ImageMessage) and len(msg.body) < 150_000:
            problem = f"body of {len(msg.body)} bytes, expected a ~200 KB picture"
        return problem

    begin.check = check
    return [
        connect_step(stdjpeg=True, privacymask=False),
        alarms_range_step(),
        begin,
    ]


SCRIPTS: dict[str, Callable[[ClientOptions], list[Step]]] = {
    "browse": browse_script,
    "live": live_script,
    "multipart": multipart_script,
    "control": control_script,
    "refused": refused_script,
    "large-image": large_image_script,
}


def context_for(opts: ClientOptions, script: str) -> ClientContext:
    """A fresh context for a script; ``control`` sends its requests on one line each
    (compact XML), the others indented as the document shows them."""
    camera = opts.large_camera_id if script == "large-image" else opts.camera_id
    return ClientContext(token=opts.token, camera_id=camera, pretty=script != "control")
