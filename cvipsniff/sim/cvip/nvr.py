"""NVR services: recording, playback, media browsing and export, and the spec's custom
function example ``cviNvr.queryClip`` (spec "NVR Protocol", sections 1-3)."""

from __future__ import annotations

from datetime import datetime, timedelta

from cvipsniff.sim.cvip.calls import (
    PAGE_SIZE,
    Ack,
    Args,
    Ctx,
    Data,
    Reply,
    fail,
    next_page,
    struct_of,
)
from cvipsniff.sim.cvip.common import Handler, HandlerKey
from cvipsniff.sim.cvip.constants import PLAYBACK_TIME_FORMAT, EventType, MediaType
from cvipsniff.sim.cvip.unit import FRAMES_PER_SECOND, PLAYBACK_LIMIT, Clip, Playback
from cvipsniff.sim.cvip.values import UInt

NVR_CHANNELS = 16
NVR_LOCATIONS = 4


def _ptime(text: str) -> datetime:
    return datetime.strptime(text, PLAYBACK_TIME_FORMAT)


# --- recording (NVR 1) ----------------------------------------------------------------

_RECORD_OPTIONAL = ("mediatype", "persistant", "srcIp", "srcPort", "srcTransport")


def _record_key(args: Args) -> tuple[int, int]:
    key = (int(args["major"]), int(args["minor"]))
    if not (1 <= key[0] <= NVR_CHANNELS and 1 <= key[1] <= NVR_LOCATIONS):
        raise fail(f"no channel {key[0]} location {key[1]}")
    return key


def record_create(ctx: Ctx, args: Args) -> Reply:
    key = _record_key(args)
    if key in ctx.unit.recordings:
        raise fail(f"channel {key[0]} location {key[1]} is already recording")
    ctx.unit.recordings[key] = {
        "GUID": args["GUID"], "mediatype": int(args["mediatype"]),
        "persistant": args["persistent"], "srcIp": args["srcIp"],
        "srcPort": int(args["srcPort"]), "srcTransport": args["srcTransport"],
        "scheduleProfileID": int(args["scheduleProfileID"]),
        "camEntityID": int(args["camEntityID"]),
    }
    return Ack()


def record_delete(ctx: Ctx, args: Args) -> Reply:
    key = _record_key(args)
    if ctx.unit.recordings.pop(key, None) is None:
        raise fail(f"channel {key[0]} location {key[1]} is not recording")
    return Ack()


def record_update(ctx: Ctx, args: Args) -> Reply:
    """Update the schedule (and any media detail given) of a running recording."""
    key = _record_key(args)
    recording = ctx.unit.recordings.get(key)
    if recording is None:
        raise fail(f"channel {key[0]} location {key[1]} is not recording")
    recording["scheduleProfileID"] = int(args["scheduleProfileID"])
    for name in _RECORD_OPTIONAL:
        if name in args:
            recording[name] = args[name]
    return Ack()


def record_list(ctx: Ctx, args: Args) -> Reply:
    return Data([
        struct_of((
            ("GUID", r["GUID"]), ("major", UInt(major)), ("minor", UInt(minor)),
            ("mediatype", UInt(int(r["mediatype"]))), ("persistant", bool(r["persistant"])),
            ("srcIp", r["srcIp"]), ("srcPort", UInt(int(r["srcPort"]))),
            ("srcTransport", r["srcTransport"]),
            ("scheduleProfileID", UInt(int(r["scheduleProfileID"]))),
        ))
        for (major, minor), r in ctx.unit.recordings.items()
    ])


# --- playback (NVR 2) -----------------------------------------------------------------


def _playback(ctx: Ctx, args: Args) -> Playback:
    playback = ctx.unit.playbacks.get(int(args["PlaybackID"]))
    if playback is None:
        raise fail(f"no playback {args['PlaybackID']}")
    return playback


def playback_create(ctx: Ctx, args: Args) -> Reply:
    unit = ctx.unit
    major, minor = int(args["Major"]), int(args["Minor"])
    start, end = _ptime(args["StartTime"]), _ptime(args["EndTime"])
    if end <= start:
        raise fail("EndTime is not after StartTime")
    if not any(c.major == major and c.minor == minor for c in unit.clips):
        raise fail(f"nothing recorded on channel {major} location {minor}")
    if len(unit.playbacks) >= PLAYBACK_LIMIT:
        raise fail("the playback limit is reached")
    playback_id = unit.next_playback_id
    unit.next_playback_id += 1
    unit.playbacks[playback_id] = Playback(
        playback_id=playback_id, guid=args["GUID"], major=major, minor=minor,
        start=args["StartTime"], end=args["EndTime"],
        dest=(args["destIp"], int(args["destPort"]), args["destTransport"]),
        length=int((end - start).total_seconds()) * FRAMES_PER_SECOND,
    )
    return Data(struct_of((
        ("GUID", unit.guid), ("PlaybackID", UInt(playback_id)),
        ("MediaType", UInt(MediaType.H264)),
    )))


def playback_delete(ctx: Ctx, args: Args) -> Reply:
    del ctx.unit.playbacks[_playback(ctx, args).playback_id]
    return Ack()


def playback_list(ctx: Ctx, args: Args) -> Reply:
    return Data([
        struct_of((
            ("GUID", p.guid), ("PlaybackID", UInt(p.playback_id)), ("major", UInt(p.major)),
            ("minor", UInt(p.minor)), ("MediaType", UInt(p.media_type)),
            ("mode", UInt(p.state)), ("startTime", p.start), ("endTime", p.end),
            ("destIp", p.dest[0]), ("destPort", UInt(p.dest[1])), ("destTransport", p.dest[2]),
        ))
        for p in ctx.unit.playbacks.values()
    ])


def playback_set_state(ctx: Ctx, args: Args) -> Reply:
    playback = _playback(ctx, args)
    playback.state = int(args["State"])
    playback.speed = int(args["Speed"])
    return Ack()


def playback_seek(ctx: Ctx, args: Args) -> Reply:
    playback = _playback(ctx, args)
    position = int(args["Position"])
    if position >= playback.length:
        raise fail(f"position {position} beyond the length {playback.length}")
    playback.position = position
    return Ack()


def playback_get_length(ctx: Ctx, args: Args) -> Reply:
    return Data(struct_of((("Length", UInt(_playback(ctx, args).length)),)))


def playback_get_status(ctx: Ctx, args: Args) -> Reply:
    playback = _playback(ctx, args)
    return Data(struct_of((
        ("State", UInt(playback.state)), ("Speed", UInt(playback.speed)),
        ("Position", UInt(playback.position)),
    )))


def playback_query_events(ctx: Ctx, args: Args) -> Reply:
    """Section 2.8 (printed as a second cviPlayback.getstatus): recorded periods on a
    channel holding any of the EventType bits. Each clip's events last two minutes."""
    start, end = _ptime(args["StartTime"]), _ptime(args["EndTime"])
    mask = int(args["EventType"])
    out = []
    for clip in ctx.unit.clips:
        if (clip.major, clip.minor) != (int(args["MajorID"]), int(args["MinorID"])):
            continue
        if not (start <= clip.time < end) or not clip.events & mask:
            continue
        out.append(struct_of((
            ("StartTime", clip.time.strftime(PLAYBACK_TIME_FORMAT)),
            ("EndTime", (clip.time + timedelta(minutes=2)).strftime(PLAYBACK_TIME_FORMAT)),
            ("EventType", UInt(clip.events & mask)),
        )))
    return Data(out)


# --- media (NVR 3) --------------------------------------------------------------------


def media_query(ctx: Ctx, args: Args) -> Reply:
    major, minor = int(args["Major"]), int(args["Minor"])
    start, end = _ptime(args["startDate"]), _ptime(args["endDate"])
    mask = int(args.get("eventType", 0))
    matches: list[Clip] = [
        c for c in ctx.unit.clips
        if c.major == major and c.minor == minor and start <= c.time < end
        and (not mask or c.events & mask)
    ]
    key = ("cviMedia.query", major, minor, args["startDate"], args["endDate"], mask,
           args.get("eventSubType"), args.get("eventValue"))
    offset, last = next_page(ctx.session, key, len(matches))
    return Data([
        struct_of((
            ("GUID", ctx.unit.guid), ("IsLastPage", last), ("ClipID", UInt(c.clip_id)),
            ("ClipType", UInt(c.media_type)), ("ClipTime", c.time),
        ))
        for c in matches[offset : offset + PAGE_SIZE]
    ])


def media_export(ctx: Ctx, args: Args) -> Reply:
    """Acknowledge, then (on the separate binary data channel, not simulated here) send
    the clip to serverIP:serverPort with the authenticationId."""
    clip_id = int(args["ClipID"])
    if not any(c.clip_id == clip_id for c in ctx.unit.clips):
        raise fail(f"no clip {clip_id}")
    ctx.unit.exports.append({
        "ClipID": clip_id, "server": (args["serverIP"], int(args["serverPort"])),
        "authenticationId": args["authenticationId"],
    })
    del ctx.unit.exports[:-64]
    return Ack()


def nvr_query_clip(ctx: Ctx, args: Args) -> Reply:
    """The spec's custom function example: clips of one input by media type."""
    kind = str(args["mediaType"]).casefold()
    major = int(args["major"])
    clips = [c for c in ctx.unit.clips if c.major == major]
    if kind == "motion":
        wanted = bool(int(args.get("eventValue", 1)))  # 1: with motion, 0: without
        clips = [c for c in clips if bool(c.events & EventType.MOTION) == wanted]
    elif kind == "audio":
        clips = []
    return Data([
        struct_of((("mediaType", str(args["mediaType"])), ("clipTime", c.time)))
        for c in clips[:10]
    ])


HANDLERS: dict[HandlerKey, Handler] = {
    ("cvirecord", "create", None): record_create,
    ("cvirecord", "delete", None): record_delete,
    ("cvirecord", "list", None): record_list,
    ("cvirecord", "update", None): record_update,
    ("cviplayback", "create", None): playback_create,
    ("cviplayback", "delete", None): playback_delete,
    ("cviplayback", "list", None): playback_list,
    ("cviplayback", "setstate", None): playback_set_state,
    ("cviplayback", "seek", None): playback_seek,
    ("cviplayback", "getlength", None): playback_get_length,
    ("cviplayback", "getstatus", "PlaybackID"): playback_get_status,
    ("cviplayback", "getstatus", "EventType"): playback_query_events,
    ("cvimedia", "query", None): media_query,
    ("cvimedia", "export", None): media_export,
    ("cvinvr", "queryclip", None): nvr_query_clip,
}
