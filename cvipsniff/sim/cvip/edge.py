"""Device (edge unit) services: serial port piping, streaming, display, analytics, PTZ
(spec "Device Protocol", sections 1-5)."""

from __future__ import annotations

from typing import Any

from cvipsniff.sim.cvip.calls import Ack, Args, Ctx, Data, Reply, fail, struct_of
from cvipsniff.sim.cvip.common import Handler, HandlerKey
from cvipsniff.sim.cvip.constants import AckCode, MediaType
from cvipsniff.sim.cvip.unit import STREAM_LIMIT, Unit
from cvipsniff.sim.cvip.values import UInt

SERIAL_PORTS = 2
OUTPUTS = 2
DECODERS = 2
SERIAL_FIELDS = ("ID", "OperationMode", "BaudRate", "DataBits", "PortParity", "StopBits",
                 "LineDriver")


def _uint(value: Any) -> UInt:
    return UInt(int(value))


def _check_serial_port(port: int) -> None:
    if not 1 <= port <= SERIAL_PORTS:
        raise fail(f"no serial port {port}")


def _check_source(unit: Unit, major: int, minor: int) -> None:
    if not (1 <= major <= unit.inputs and 1 <= minor <= unit.encoders):
        raise fail(f"no input {major} encoder {minor}")


# --- serial port (Device 1) -----------------------------------------------------------


def serial_set_properties(ctx: Ctx, args: Args) -> Reply:
    port = int(args["ID"])
    _check_serial_port(port)
    ctx.unit.serial_config[port] = {name: args[name] for name in SERIAL_FIELDS}
    return Ack()


def serial_create(ctx: Ctx, args: Args) -> Reply:
    port = int(args["ID"])
    _check_serial_port(port)
    if port in ctx.unit.serial_pipes:
        raise fail(f"serial port {port} is already piping")
    pipe = {name: args[name] for name in SERIAL_FIELDS}
    pipe.update(GUID=args["GUID"], ConnectionType="TCP", ConnectionPort=7200 + port,
                Persistent=args["Persistent"])
    ctx.unit.serial_pipes[port] = pipe
    return Ack()


def serial_delete(ctx: Ctx, args: Args) -> Reply:
    if ctx.unit.serial_pipes.pop(int(args["ID"]), None) is None:
        raise fail(f"serial port {args['ID']} is not piping")
    return Ack()


def serial_list(ctx: Ctx, args: Args) -> Reply:
    out = []
    for pipe in ctx.unit.serial_pipes.values():
        out.append(struct_of((
            ("GUID", pipe["GUID"]),
            *((name, _uint(pipe[name]) if isinstance(pipe[name], int) else pipe[name])
              for name in SERIAL_FIELDS),
            ("ConnectionType", pipe["ConnectionType"]),
            ("ConnectionPort", _uint(pipe["ConnectionPort"])),
            ("Persistent", bool(pipe["Persistent"])),
        )))
    return Data(out)


# --- streaming (Device 2) -------------------------------------------------------------


def _encoder_media_type(unit: Unit, major: int, minor: int) -> int:
    store = unit.properties.get(f"cvivideo.{major:02d}.{minor}")
    compression = store.values.get("videoEncoderCompression") if store else "H264"
    return MediaType.MP4V if compression == "MP4V" else MediaType.H264


def stream_create(ctx: Ctx, args: Args) -> Reply:
    unit = ctx.unit
    major, minor = int(args["major"]), int(args["minor"])
    _check_source(unit, major, minor)
    if len(unit.streams) >= STREAM_LIMIT:
        raise fail("the streaming limit is reached")
    stream_id = unit.next_stream_id
    unit.next_stream_id += 1
    media_type = _encoder_media_type(unit, major, minor)
    unit.streams[stream_id] = {
        "GUID": args["GUID"], "major": major, "minor": minor, "mediatype": media_type,
        "persistant": args["persistent"], "destIp": args["destIp"],
        "destPort": int(args["destPort"]), "destTransport": args["destTransport"],
    }
    return Ack(AckCode.SUCCESS, (
        ("GUID", unit.guid), ("StreamID", UInt(stream_id)), ("MediaType", UInt(media_type)),
    ))


def stream_delete(ctx: Ctx, args: Args) -> Reply:
    if ctx.unit.streams.pop(int(args["StreamID"]), None) is None:
        raise fail(f"no stream {args['StreamID']}")
    return Ack()


def stream_list(ctx: Ctx, args: Args) -> Reply:
    return Data([
        struct_of((
            ("GUID", s["GUID"]), ("StreamID", UInt(sid)), ("major", _uint(s["major"])),
            ("minor", _uint(s["minor"])), ("mediatype", _uint(s["mediatype"])),
            ("persistant", bool(s["persistant"])), ("destIp", s["destIp"]),
            ("destPort", _uint(s["destPort"])), ("destTransport", s["destTransport"]),
        ))
        for sid, s in ctx.unit.streams.items()
    ])


def stream_get_key_frame(ctx: Ctx, args: Args) -> Reply:
    """The next key frame of a running stream (use case 2.4), as an H.264 IDR access
    unit whose payload is derived from the stream id (deterministic)."""
    stream_id = int(args["StreamID"])
    stream = ctx.unit.streams.get(stream_id)
    if stream is None:
        raise fail(f"no stream {stream_id}")
    payload = bytes((stream_id * 37 + i * 11) & 0xFF for i in range(96))
    frame = b"\x00\x00\x00\x01\x67\x42\x00\x1f" + b"\x00\x00\x00\x01\x65" + payload
    return Data(struct_of((
        ("GUID", ctx.unit.guid), ("StreamID", UInt(stream_id)),
        ("MediaType", _uint(stream["mediatype"])), ("KeyFrame", frame),
    )))


# --- display and analytics (Device 3, 4) ----------------------------------------------


def display_create(ctx: Ctx, args: Args) -> Reply:
    key = (int(args["major"]), int(args["minor"]))
    if not (1 <= key[0] <= OUTPUTS and 1 <= key[1] <= DECODERS):
        raise fail(f"no output {key[0]} decoder {key[1]}")
    if key in ctx.unit.displays:
        raise fail(f"output {key[0]} decoder {key[1]} is already displaying")
    ctx.unit.displays[key] = {
        "GUID": args["GUID"], "mediatype": int(args["mediatype"]),
        "persistant": args["persistent"], "srcIp": args["srcIp"],
        "srcPort": int(args["srcPort"]), "srcTransport": args["srcTransport"],
    }
    return Ack()


def display_delete(ctx: Ctx, args: Args) -> Reply:
    key = (int(args["major"]), int(args["minor"]))
    if ctx.unit.displays.pop(key, None) is None:
        raise fail(f"output {key[0]} decoder {key[1]} is not displaying")
    return Ack()


def display_list(ctx: Ctx, args: Args) -> Reply:
    return Data([
        struct_of((
            ("GUID", d["GUID"]), ("major", UInt(major)), ("minor", UInt(minor)),
            ("mediatype", _uint(d["mediatype"])), ("persistant", bool(d["persistant"])),
            ("srcIp", d["srcIp"]), ("srcPort", _uint(d["srcPort"])),
            ("srcTransport", d["srcTransport"]),
        ))
        for (major, minor), d in ctx.unit.displays.items()
    ])


def analytics_create(ctx: Ctx, args: Args) -> Reply:
    unit = ctx.unit
    key = (int(args["major"]), int(args["minor"]))
    _check_source(unit, *key)
    if key in unit.analytics:
        raise fail(f"input {key[0]} encoder {key[1]} already has analytics")
    unit.analytics[key] = {
        "GUID": args["GUID"], "mediatype": int(args["mediatype"]),
        "persistent": args["persistent"], "destIp": args["destIp"],
        "destPort": int(args["destPort"]), "destTransport": args["destTransport"],
    }
    return Ack()


def analytics_delete(ctx: Ctx, args: Args) -> Reply:
    key = (int(args["major"]), int(args["minor"]))
    if ctx.unit.analytics.pop(key, None) is None:
        raise fail(f"input {key[0]} encoder {key[1]} has no analytics")
    return Ack()


def analytics_list(ctx: Ctx, args: Args) -> Reply:
    return Data([
        struct_of((
            ("GUID", a["GUID"]), ("major", UInt(major)), ("minor", UInt(minor)),
            ("mediatype", _uint(a["mediatype"])), ("persistent", bool(a["persistent"])),
            ("destIp", a["destIp"]), ("destPort", _uint(a["destPort"])),
            ("destTransport", a["destTransport"]),
        ))
        for (major, minor), a in ctx.unit.analytics.items()
    ])


# --- PTZ (Device 5) -------------------------------------------------------------------


def ptz_set_properties(ctx: Ctx, args: Args) -> Reply:
    ptz_id = int(args["PtzID"])
    if ptz_id not in ctx.unit.ptz_ports:
        raise fail(f"no PTZ port {ptz_id}")
    ctx.unit.ptz_ports[ptz_id] = {
        "ProtocolType": int(args["ProtocolType"]), "UserPriority": int(args["UserPriority"]),
    }
    return Ack()


def ptz_cmd(ctx: Ctx, args: Args) -> Reply:
    ptz_id = int(args["PtzID"])
    if ptz_id not in ctx.unit.ptz_ports:
        raise fail(f"no PTZ port {ptz_id}")
    log = ctx.unit.ptz_commands
    log.append({name: args[name] for name in ("PhyAddr", "CmdType", "CmdData")})
    del log[:-64]  # keep the recent history only
    return Ack()


HANDLERS: dict[HandlerKey, Handler] = {
    ("cviserialport", "setproperties", None): serial_set_properties,
    ("cviserialport", "create", None): serial_create,
    ("cviserialport", "delete", None): serial_delete,
    ("cviserialport", "list", None): serial_list,
    ("cvistream", "create", None): stream_create,
    ("cvistream", "delete", None): stream_delete,
    ("cvistream", "list", None): stream_list,
    ("cvistream", "getkeyframe", None): stream_get_key_frame,
    ("cvidisplay", "create", None): display_create,
    ("cvidisplay", "delete", None): display_delete,
    ("cvidisplay", "list", None): display_list,
    ("cvianalytics", "create", None): analytics_create,
    ("cvianalytics", "delete", None): analytics_delete,
    ("cvianalytics", "list", None): analytics_list,
    ("cviptz", "setproperties", None): ptz_set_properties,
    ("cviptz", "cmd", None): ptz_cmd,
}
