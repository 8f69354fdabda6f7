"""Scripted client scenarios, sans-I/O: one generator per use-case family of the spec.

A script yields *actions* (:class:`CallAction`, :class:`PingAction`,
:class:`AwaitEvents`) and receives their outcome; a driver performs them. The asyncio
client (:mod:`cvipsniff.sim.cvip.client`) drives scripts over sockets, the scenario
builder (:mod:`cvipsniff.sim.cvip.scenarios`) drives the same scripts against an
in-process peer and records the bytes. Every step checks that the answer is the one the
spec describes and records a :class:`StepResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cvipsniff.sim.cvip.calls import is_event_time, is_guid
from cvipsniff.sim.cvip.constants import (
    FW_STATE_COMPLETED,
    FW_STATE_DOWNLOADING,
    FW_STATE_INSTALLING,
    FW_STATE_REBOOTING,
    FW_STATE_UNINITIALIZED,
    FW_STATUS_OK,
    MSG_TYPE_PING_RESPONSE,
    PING_RESPONSE_SIZE,
    AckCode,
    ConnectionType,
    EntityType,
    EventAckCode,
    EventType,
    MediaType,
    PlaybackState,
    ProfileType,
    PtzCommand,
    PtzProtocol,
    UserPrivilege,
)
from cvipsniff.sim.cvip.decode import Call, PingResponse, Response
from cvipsniff.sim.cvip.encode import event_time
from cvipsniff.sim.cvip.unit import md5_hex
from cvipsniff.sim.cvip.values import Struct, UInt

# The client's own GUID: the one the spec's examples use ("the GUID is the client ID").
CLIENT_GUID = "00000001-0000-0000-0001EC901E30B"

# --- actions and outcomes -------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class CallAction:
    """Send a methodCall on the control connection and wait for its answer."""

    method: str
    params: tuple[Any, ...] = ()


@dataclass(slots=True, frozen=True)
class PingAction:
    """Send a ping request; ``port`` is the unit's CVIP port or the common port 9990."""

    transport: Literal["udp", "tcp"]
    port: Literal["cvip", "common"]
    connection_type: int
    broadcast: bool = False


@dataclass(slots=True, frozen=True)
class AwaitEvents:
    """Wait for ``count`` notifications that arrive after the last answer."""

    count: int
    timeout_s: float


Action = CallAction | PingAction | AwaitEvents


@dataclass(slots=True)
class CallOutcome:
    """What came back for a :class:`CallAction` (``response`` None on timeout/garbage)."""

    method: str
    txn: int
    response: Response | None
    response_bit: bool = False
    latency_ms: float | None = None
    error: str | None = None

    @property
    def value(self) -> Any:
        return self.response.value if self.response else None

    @property
    def code(self) -> int | None:
        return self.response.error_code if self.response else None


@dataclass(slots=True, frozen=True)
class PingReply:
    source: tuple[str, int]
    size: int
    ping: PingResponse


@dataclass(slots=True)
class PingOutcome:
    txn: int
    connection_type: int
    replies: list[PingReply] = field(default_factory=list)
    error: str | None = None


@dataclass(slots=True, frozen=True)
class EventIn:
    response_bit: bool
    call: Call


@dataclass(slots=True)
class StepResult:
    """One checked step: what was asked, whether the answer was the spec's, and why not."""

    name: str
    ok: bool
    detail: str = ""
    method: str | None = None
    txn: int | None = None
    latency_ms: float | None = None

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "name": self.name, "ok": self.ok, "detail": self.detail, "method": self.method,
            "txn": self.txn, "latency_ms": self.latency_ms,
        }


@dataclass(slots=True)
class ScenarioResult:
    name: str
    role: str
    steps: list[StepResult] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.steps) and all(s.ok for s in self.steps)

    def failures(self) -> list[StepResult]:
        return [s for s in self.steps if not s.ok]

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "name": self.name, "role": self.role, "ok": self.ok, "error": self.error,
            "steps": [s.to_jsonable() for s in self.steps],
        }


# --- the context a script works with --------------------------------------------------


@dataclass(slots=True)
class ScriptOptions:
    """What a script needs to know about its surroundings."""

    role: str = "device"
    client_ip: str = "127.0.0.1"
    cvip_port: int = 7110  # the CVIP port the unit should advertise in ping responses
    broadcast: bool = False  # whether a broadcast ping can be sent
    event_timeout_s: float = 5.0
    clock: Callable[[], datetime] = datetime.now
    # Call custom functions (cviStream.getKeyFrame, cviNvr.queryClip): conformant (they
    # are advertised by listFunctions/listParameters) but unknowable to a passive
    # analyzer, so the clean transcripts leave them out.
    custom_functions: bool = True


class ScriptContext:
    """Builds actions and records checked steps for one scenario run."""

    def __init__(self, name: str, options: ScriptOptions) -> None:
        self.options = options
        self.result = ScenarioResult(name, options.role)
        self.unit_guid: bytes | None = None

    # actions
    @staticmethod
    def call(method: str, *params: Any) -> CallAction:
        return CallAction(method, params)

    @staticmethod
    def ping(transport: Literal["udp", "tcp"], port: Literal["cvip", "common"],
             connection_type: int, *, broadcast: bool = False) -> PingAction:
        return PingAction(transport, port, connection_type, broadcast)

    def await_events(self, count: int) -> AwaitEvents:
        return AwaitEvents(count, self.options.event_timeout_s)

    # checks
    def check(self, name: str, ok: bool, detail: str = "",
              outcome: CallOutcome | None = None) -> bool:
        self.result.steps.append(StepResult(
            name, bool(ok), detail,
            method=outcome.method if outcome else None,
            txn=outcome.txn if outcome else None,
            latency_ms=outcome.latency_ms if outcome else None,
        ))
        return bool(ok)

    def _answered(self, name: str, outcome: CallOutcome) -> bool:
        if outcome.response is None:
            return self.check(name, False, outcome.error or "no answer", outcome)
        if not outcome.response_bit:
            return self.check(name, False, "answer without the response bit", outcome)
        if outcome.response.fault is not None:
            return self.check(name, False, f"fault {outcome.response.fault}", outcome)
        return True

    def expect_ack(self, outcome: CallOutcome, name: str,
                   code: int = AckCode.SUCCESS, extra: Iterable[str] = ()) -> Struct | None:
        """An acknowledgement with ``code``, carrying the request's method name and the
        ``extra`` members (e.g. the StreamID of cviStream.create)."""
        if not self._answered(name, outcome):
            return None
        response = outcome.response
        assert response is not None
        value = response.value
        problems = []
        if outcome.code != code:
            problems.append(f"ErrorCode {_hex(outcome.code)}, expected {_hex(code)}")
        if response.method is not None and response.method != outcome.method:
            problems.append(f"methodName {response.method!r} differs from the request's")
        missing = [n for n in extra if not (isinstance(value, Struct) and value.has(n))]
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        self.check(name, not problems, "; ".join(problems) or f"ErrorCode {_hex(code)}", outcome)
        return value if isinstance(value, Struct) and not problems else None

    def expect_struct(self, outcome: CallOutcome, name: str, fields: Iterable[str],
                      where: Callable[[Struct], str | None] | None = None) -> Struct | None:
        """A data answer: one struct with ``fields``; ``where`` returns a complaint."""
        if not self._answered(name, outcome):
            return None
        value = outcome.value
        if not isinstance(value, Struct):
            self.check(name, False, f"expected a struct, got {_short(value)}", outcome)
            return None
        return self._fields_ok(name, outcome, value, fields, where)

    def expect_list(self, outcome: CallOutcome, name: str, fields: Iterable[str] = (),
                    where: Callable[[list[Any]], str | None] | None = None,
                    of: type = Struct) -> list[Any] | None:
        """A data answer: an array of ``of`` items (structs with ``fields``)."""
        if not self._answered(name, outcome):
            return None
        value = outcome.value
        if not isinstance(value, list) or not all(isinstance(v, of) for v in value):
            self.check(name, False, f"expected an array of {of.__name__}, got {_short(value)}",
                       outcome)
            return None
        fields = tuple(fields)
        for item in value:
            missing = [f for f in fields if isinstance(item, Struct) and not item.has(f)]
            if missing:
                self.check(name, False, f"item misses {', '.join(missing)}", outcome)
                return None
        complaint = where(value) if where else None
        self.check(name, complaint is None, complaint or f"{len(value)} item(s)", outcome)
        return value if complaint is None else None

    def _fields_ok(self, name: str, outcome: CallOutcome, value: Struct, fields: Iterable[str],
                   where: Callable[[Struct], str | None] | None) -> Struct | None:
        missing = [f for f in fields if not value.has(f)]
        if missing:
            self.check(name, False, f"missing {', '.join(missing)}", outcome)
            return None
        complaint = where(value) if where else None
        self.check(name, complaint is None, complaint or "as specified", outcome)
        return value if complaint is None else None

    def expect_ping(self, outcome: PingOutcome, name: str, *, one_unit: bool = True,
                    status: int | None = None) -> list[PingReply]:
        """Ping responses as "Discover Device" lays them out: 37 bytes, type 0x01, the
        request's transaction number with the response bit, the connection type echoed;
        from the one unit addressed, its CVIP port and the same GUID every time; from a
        broadcast, at least that unit among the answers."""
        problems = []
        if outcome.error:
            problems.append(outcome.error)
        if not outcome.replies or (one_unit and len(outcome.replies) != 1):
            problems.append(f"{len(outcome.replies)} response(s)")
        for reply in outcome.replies:
            ping = reply.ping
            if reply.size != PING_RESPONSE_SIZE or ping.header.size != PING_RESPONSE_SIZE:
                problems.append(f"size {reply.size}/{ping.header.size}")
            if ping.header.msg_type != MSG_TYPE_PING_RESPONSE or not ping.header.response:
                problems.append("not a ping response header")
            if ping.header.txn != outcome.txn:
                problems.append(f"txn {ping.header.txn} answers {outcome.txn}")
            if ping.connection_type != outcome.connection_type:
                problems.append(f"connection type 0x{ping.connection_type:02X}")
            if one_unit and ping.port != self.options.cvip_port:
                problems.append(f"CVIP port {ping.port}, expected {self.options.cvip_port}")
            if status is not None and ping.status != status:
                problems.append(f"status {ping.status}, expected {status}")
        guids = [reply.ping.guid for reply in outcome.replies]
        if one_unit and guids:
            if self.unit_guid is not None and guids[0] != self.unit_guid:
                problems.append("a different unit GUID than before")
            self.unit_guid = guids[0]
        elif self.unit_guid is not None and self.unit_guid not in guids:
            problems.append("the unit pinged before is not among the answers")
        detail = "; ".join(problems) or f"{len(outcome.replies)} unit(s) answered"
        self.check(name, not problems, detail)
        return outcome.replies

    def expect_events(self, events: list[EventIn], name: str, count: int, mask: int
                      ) -> list[Struct]:
        """cviEvent.notify as NVR 4.3 lays it out, of a subscribed type."""
        problems = []
        if len(events) < count:
            problems.append(f"{len(events)} notification(s), expected {count}")
        out = []
        for event in events[:count]:
            fields = event.call.params[0] if event.call.params else None
            if event.call.method != "cviEvent.notify" or not isinstance(fields, Struct):
                problems.append(f"not a cviEvent.notify: {event.call.method}")
                continue
            if event.response_bit:
                problems.append("notification with the response bit")
            if not int(fields.get("Type", 0)) & mask:
                problems.append(f"Type {fields.get('Type')} outside the subscription 0x{mask:X}")
            if not is_event_time(str(fields.get("Time", ""))):
                problems.append(f"Time {fields.get('Time')!r} not YYYY-MM-DD HH:MM:SS")
            if not is_guid(str(fields.get("EventGUID", ""))):
                problems.append("EventGUID missing or malformed")
            if fields.get("info") not in (0, 1):
                problems.append(f"info {fields.get('info')!r} not 0/1")
            out.append(fields)
        self.check(name, not problems, "; ".join(problems) or f"{len(out)} notification(s)")
        return out


def _hex(code: int | None) -> str:
    return "none" if code is None else f"0x{code:08X}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


Script = Callable[[ScriptContext], Generator[Action, Any, None]]
Steps = Generator[Action, Any, Any]


# --- discovery ("Discover Device") ----------------------------------------------------


def discovery(ctx: ScriptContext) -> Steps:
    """Ping over UDP and TCP, on the CVIP port and the common port 9990, and (when the
    network allows) a broadcast ping that every unit answers."""
    r = yield ctx.ping("udp", "cvip", ConnectionType.UDP_UNICAST)
    ctx.expect_ping(r, "ping over UDP on the CVIP port")
    r = yield ctx.ping("udp", "common", ConnectionType.UDP_UNICAST)
    ctx.expect_ping(r, "ping over UDP on the common port")
    r = yield ctx.ping("tcp", "cvip", ConnectionType.TCP)
    ctx.expect_ping(r, "ping over TCP on the CVIP port")
    r = yield ctx.ping("tcp", "common", ConnectionType.TCP)
    ctx.expect_ping(r, "ping over TCP on the common port")
    if ctx.options.broadcast:
        r = yield ctx.ping("udp", "cvip", ConnectionType.UDP_BROADCAST, broadcast=True)
        replies = ctx.expect_ping(r, "broadcast ping", one_unit=False)
        guids = {reply.ping.guid for reply in replies}
        ctx.check("every unit answers the broadcast once", len(guids) == len(replies),
                  f"{len(replies)} answer(s) from {len(guids)} unit(s)")


# --- discover services (the 15-step walk) ---------------------------------------------


def discover_services(ctx: ScriptContext) -> Steps:
    """"Discover Services": event groups and their events, services, each service's
    description, properties, custom functions and their parameters."""
    r = yield ctx.call("system.describe")
    ctx.expect_struct(r, "system.describe", ("id", "name", "version", "propertySupport",
                                              "functionsSupport"))
    r = yield ctx.call("system.listEvents")
    groups = ctx.expect_list(r, "list event groups", ("id", "name")) or []
    for group in groups:
        r = yield ctx.call(f"{group.get('id')}.listEvents")
        ctx.expect_list(r, f"list events of {group.get('id')}", ("id", "name"),
                        where=lambda v: None if v else "no events")
    r = yield ctx.call("system.listServices")
    services = ctx.expect_list(r, "list services", of=str,
                               where=lambda v: None if "cvip" in v else "no cvip service") or []
    described: list[Struct] = []
    for service in services:
        r = yield ctx.call(f"{service}.describe")
        description = ctx.expect_struct(
            r, f"describe {service}", ("id", "name", "version", "propertySupport",
                                       "functionsSupport"),
            where=lambda v, s=service: None if v.get("id") == s else f"id {v.get('id')!r}",
        )
        if description is not None:
            described.append(description)
    for description in described:
        if description.get("propertySupport"):
            service = description.get("id")
            r = yield ctx.call(f"{service}.listProperties")
            ctx.expect_list(r, f"list properties of {service}",
                            ("id", "name", "value", "validation", "access", "units"),
                            where=_access_rights_ok)
    for description in described:
        if not description.get("functionsSupport"):
            continue
        service = description.get("id")
        r = yield ctx.call(f"{service}.listFunctions")
        functions = ctx.expect_list(
            r, f"list functions of {service}",
            ("methodName", "multiCallSupport", "multiAnswerSupport"),
        ) or []
        for function in functions:
            name = function.get("methodName")
            r = yield ctx.call(f"{service}.listParameters", name)
            ctx.expect_struct(
                r, f"list parameters of {service}.{name}", ("methodCall", "methodResponse"),
                where=_parameter_blocks_ok,
            )


def _access_rights_ok(items: list[Any]) -> str | None:
    bad = [i.get("id") for i in items if i.get("access") not in ("r", "rw")]
    return f"access right not r/rw: {bad}" if bad else None


def _parameter_blocks_ok(value: Struct) -> str | None:
    for block, fields in (("methodCall", ("id", "name", "valueType", "validation", "paramType")),
                          ("methodResponse", ("id", "name", "valueType"))):
        items = value.get(block)
        if not isinstance(items, list):
            return f"{block} is not an array"
        for item in items:
            if not isinstance(item, Struct) or any(not item.has(f) for f in fields):
                return f"{block} item lacks {fields}"
    return None


# --- configure (network, video) -------------------------------------------------------


def configure(ctx: ScriptContext) -> Steps:
    """"Configure Device": read a property with its details, write a new value within
    the valid range, get the acknowledgement, read it back."""
    r = yield ctx.call("system.listServices")
    services = ctx.expect_list(r, "list services", of=str) or []
    yield from _configure_one(ctx, "cviNetwork", "networkNtpServer", "192.0.2.123")
    if "cviNetwork.1" in services:
        yield from _configure_one(ctx, "cviNetwork.1", "networkSubnetMask", "255.255.254.0")
    video = next((s for s in services if s.startswith("cviVideo.") and s.count(".") == 2), None)
    if video is None:
        ctx.check("video configuration", True, f"skipped: a {ctx.options.role} has no video")
        return
    yield from _configure_one(ctx, video, "videoEncoderFrameRate", 15)
    yield from _configure_one(ctx, video.rsplit(".", 1)[0], "videoInputBrightness", 140)
    # Invalid value: outside the range the unit itself reported.
    r = yield ctx.call(f"{video}.setProperties", {"videoEncoderFrameRate": UInt(300)})
    ctx.expect_ack(r, f"{video} frame rate outside its range is refused", AckCode.INVALID)


def _configure_one(ctx: ScriptContext, service: str, prop: str, wanted: Any) -> Steps:
    r = yield ctx.call(f"{service}.listProperties")
    items = ctx.expect_list(r, f"{service} current configuration",
                            ("id", "name", "value", "validation", "access", "units")) or []
    item = next((i for i in items if i.get("id") == prop), None)
    if not ctx.check(f"{service} lists {prop} read/write", item is not None
                     and item.get("access") == "rw", "" if item else "not listed"):
        return
    assert item is not None
    current = item.get("value")
    if current == wanted:
        wanted = wanted + 1 if isinstance(wanted, int) else wanted + "0"
    new = UInt(wanted) if isinstance(current, UInt) else wanted
    r = yield ctx.call(f"{service}.setProperties", {prop: new})
    ctx.expect_ack(r, f"set {service} {prop}")
    r = yield ctx.call(f"{service}.getProperties", [prop])
    ctx.expect_struct(r, f"read back {service} {prop}", (prop,),
                      where=lambda v: None if v.get(prop) == new else f"value {v.get(prop)!r}")


# --- events ---------------------------------------------------------------------------


def events(ctx: ScriptContext) -> Steps:
    """"Manage Event Service": subscribe, receive notifications, unsubscribe."""
    mask = int(EventType.MOTION | EventType.VIDEO_INPUT)
    r = yield ctx.call("cviEvent.subscribe", {"Type": UInt(mask), "Id": UInt(0)})
    ctx.expect_ack(r, "subscribe to motion and video input events")
    got = yield ctx.await_events(2)
    ctx.expect_events(got, "receive notifications", 2, mask)
    r = yield ctx.call("cviEvent.unsubscribe", {"Type": UInt(EventType.MOTION), "Id": UInt(0)})
    ctx.expect_ack(r, "unsubscribe from motion events")
    got = yield ctx.await_events(1)
    ctx.expect_events(got, "only video input events after unsubscribing", 1,
                      int(EventType.VIDEO_INPUT))
    r = yield ctx.call("cviEvent.unsubscribe",
                       {"Type": UInt(EventType.VIDEO_INPUT), "Id": UInt(0)})
    ctx.expect_ack(r, "unsubscribe from video input events")
    r = yield ctx.call("cviEvent.unsubscribe",
                       {"Type": UInt(EventType.VIDEO_INPUT), "Id": UInt(0)})
    ctx.expect_ack(r, "unsubscribing again fails", AckCode.FAIL)


# --- firmware -------------------------------------------------------------------------


_FW_STATES = (FW_STATE_UNINITIALIZED, FW_STATE_DOWNLOADING, FW_STATE_INSTALLING,
              FW_STATE_REBOOTING, FW_STATE_COMPLETED)


def _progress(value: Any) -> Struct | None:
    """getProgressInfo answers an array holding one struct (the spec's example)."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], Struct):
        return value[0]
    return None


def firmware(ctx: ScriptContext) -> Steps:
    """"Update Device Firmware": request the update, follow its progress until the unit
    rebooted, see the reboot in the ping status and the new version in cviUnit."""
    r = yield ctx.call("cviUpdateFirmware.getProgressInfo")
    ctx.expect_list(r, "progress before the update", ("state", "status", "bytesProgress",
                                                      "totalBytesProgress"),
                    where=lambda v: None if v and v[0].get("state") in (
                        FW_STATE_UNINITIALIZED, FW_STATE_COMPLETED) else "update running")
    request = [{"imageFileId": "xv-cvip-2.1.9.bin"}, {"authenticationId": "fw-7f3a91"}]
    r = yield ctx.call("cviUpdateFirmware.startFirmwareUpdate", request)
    ctx.expect_ack(r, "start the firmware update")
    r = yield ctx.call("cviUpdateFirmware.startFirmwareUpdate", request)
    ctx.expect_ack(r, "a second update while one runs is busy", AckCode.BUSY)
    seen: list[str] = []
    last_done = -1
    for _ in range(16):
        r = yield ctx.call("cviUpdateFirmware.getProgressInfo")
        progress = _progress(r.value) if r.response else None
        if progress is None:
            ctx.check("progress report", False, f"unexpected answer {_short(r.value)}", r)
            return
        state = str(progress.get("state"))
        done = int(str(progress.get("bytesProgress", "0")) or 0)
        if state not in _FW_STATES or progress.get("status") != FW_STATUS_OK:
            ctx.check("progress report", False, f"state {state} status {progress.get('status')}")
            return
        if seen and seen[-1] == state and done < last_done:
            ctx.check("progress report", False, f"bytesProgress went back to {done}")
            return
        if not seen or seen[-1] != state:
            seen.append(state)
        last_done = done
        if state == FW_STATE_COMPLETED:
            break
    ctx.check("progress goes through download, install, reboot",
              seen[-3:] == [FW_STATE_INSTALLING, FW_STATE_REBOOTING, FW_STATE_COMPLETED]
              and FW_STATE_DOWNLOADING in seen, " -> ".join(seen))
    r = yield ctx.ping("udp", "cvip", ConnectionType.UDP_UNICAST)
    ctx.expect_ping(r, "ping reports the reboot", status=1)
    r = yield ctx.ping("udp", "cvip", ConnectionType.UDP_UNICAST)
    ctx.expect_ping(r, "next ping reports no reboot", status=0)
    r = yield ctx.call("cviUnit.getProperties", ["unitFirmwareVersion"])
    ctx.expect_struct(r, "new firmware version", ("unitFirmwareVersion",),
                      where=lambda v: None if v.get("unitFirmwareVersion") == "2.1.9"
                      else f"version {v.get('unitFirmwareVersion')!r}")


# --- device services ------------------------------------------------------------------


_SERIAL = {"ID": UInt(1), "OperationMode": "RS485", "BaudRate": UInt(9600),
           "DataBits": UInt(8), "PortParity": "none", "StopBits": UInt(1), "LineDriver": "auto"}


def device_services(ctx: ScriptContext) -> Steps:
    """Device use cases: serial port piping, streaming (with a key frame), display,
    analytics and PTZ (named and positional commands)."""
    me, ip = CLIENT_GUID, ctx.options.client_ip
    # serial port
    r = yield ctx.call("cviSerialPort.setProperties", dict(_SERIAL))
    ctx.expect_ack(r, "set serial port piping configuration")
    r = yield ctx.call("cviSerialPort.create", {"GUID": me, **_SERIAL, "Persistent": False})
    ctx.expect_ack(r, "start serial port piping")
    r = yield ctx.call("cviSerialPort.list", {"GUID": me})
    ctx.expect_list(r, "list serial port piping", ("GUID", "ID", "ConnectionType",
                                                   "ConnectionPort", "Persistent"),
                    where=lambda v: None if any(i.get("ID") == 1 for i in v) else "port 1 absent")
    r = yield ctx.call("cviSerialPort.delete", {"GUID": me, "ID": UInt(1)})
    ctx.expect_ack(r, "stop serial port piping")
    # streaming
    r = yield ctx.call("cviStream.create", {
        "GUID": me, "major": UInt(1), "minor": UInt(1), "persistent": False,
        "destIp": ip, "destPort": UInt(5004), "destTransport": "UDP"})
    created = ctx.expect_ack(r, "start streaming", extra=("GUID", "StreamID", "MediaType"))
    stream_id = created.get("StreamID") if created else UInt(0)
    r = yield ctx.call("cviStream.list", {"GUID": me})
    ctx.expect_list(r, "list streaming", ("GUID", "StreamID", "major", "minor", "mediatype",
                                          "persistant", "destIp", "destPort", "destTransport"),
                    where=lambda v: None if any(i.get("StreamID") == stream_id for i in v)
                    else "new stream absent")
    if ctx.options.custom_functions:
        r = yield ctx.call("cviStream.getKeyFrame", {"GUID": me, "StreamID": UInt(stream_id)})
        ctx.expect_struct(r, "get a key frame", ("StreamID", "KeyFrame"),
                          where=lambda v: None if isinstance(v.get("KeyFrame"), bytes)
                          and v.get("KeyFrame").startswith(b"\x00\x00\x00\x01")
                          else "no H.264 frame")
    r = yield ctx.call("cviStream.delete", {"GUID": me, "StreamID": UInt(stream_id)})
    ctx.expect_ack(r, "stop streaming")
    r = yield ctx.call("cviStream.delete", {"GUID": me, "StreamID": UInt(stream_id)})
    ctx.expect_ack(r, "stopping a stopped stream fails", AckCode.FAIL)
    # display
    source = {"srcIp": "192.0.2.10", "srcPort": UInt(5004), "srcTransport": "UDP"}
    r = yield ctx.call("cviDisplay.create", {
        "GUID": me, "major": UInt(1), "minor": UInt(1), "mediatype": UInt(MediaType.H264),
        "persistent": False, **source})
    ctx.expect_ack(r, "start display")
    r = yield ctx.call("cviDisplay.list")
    ctx.expect_list(r, "list display", ("GUID", "major", "minor", "mediatype", "persistant",
                                        "srcIp", "srcPort", "srcTransport"),
                    where=lambda v: None if len(v) == 1 else f"{len(v)} sessions")
    r = yield ctx.call("cviDisplay.delete", {
        "GUID": me, "major": UInt(1), "minor": UInt(1), "mediatype": UInt(MediaType.H264),
        "persistant": False, **source})
    ctx.expect_ack(r, "stop display")
    # analytics
    dest = {"destIp": ip, "destPort": UInt(5010), "destTransport": "TCP"}
    r = yield ctx.call("cviAnalytics.create", {
        "GUID": me, "major": UInt(1), "minor": UInt(2), "mediatype": UInt(MediaType.H264),
        "persistent": False, **dest})
    ctx.expect_ack(r, "start analytics")
    r = yield ctx.call("cviAnalytics.list")
    ctx.expect_list(r, "list analytics", ("GUID", "major", "minor", "mediatype", "persistent",
                                          "destIp", "destPort", "destTransport"),
                    where=lambda v: None if len(v) == 1 else f"{len(v)} sessions")
    r = yield ctx.call("cviAnalytics.delete", {
        "GUID": me, "major": UInt(1), "minor": UInt(2), "mediatype": UInt(MediaType.H264),
        "persistent": False, **dest})
    ctx.expect_ack(r, "stop analytics")
    # PTZ
    r = yield ctx.call("cviPtz.setProperties", {
        "PtzID": UInt(1), "ProtocolType": UInt(PtzProtocol.PELCO_D), "UserPriority": UInt(0)})
    ctx.expect_ack(r, "set PTZ pipe (Pelco D)")
    r = yield ctx.call("cviPtz.cmd", me, 1, 15, 0, int(PtzCommand.PAN), 9)
    ctx.expect_ack(r, "pan camera 15 at speed 9 (the spec's positional example)")
    r = yield ctx.call("cviPtz.cmd", {
        "GUID": me, "PtzID": UInt(1), "PhyAddr": UInt(15), "UserPriority": UInt(0),
        "CmdType": UInt(PtzCommand.TILT), "CmdData": -5})
    ctx.expect_ack(r, "tilt down at speed 5")
    r = yield ctx.call("cviPtz.cmd", {
        "GUID": me, "PtzID": UInt(1), "PhyAddr": UInt(15), "UserPriority": UInt(0),
        "CmdType": UInt(PtzCommand.STOP), "CmdData": 1})
    ctx.expect_ack(r, "stop the camera")


# --- NVR services ---------------------------------------------------------------------


def nvr_services(ctx: ScriptContext) -> Steps:
    """NVR use cases: recording, playback control, media browsing (time, media source
    and event based, paged) and export, and the spec's custom function queryClip."""
    me, ip = CLIENT_GUID, ctx.options.client_ip
    source = {"srcIp": "192.0.2.10", "srcPort": UInt(5004), "srcTransport": "RTP"}
    r = yield ctx.call("cviRecord.create", {
        "GUID": me, "major": UInt(1), "minor": UInt(1), "persistent": True,
        "mediatype": UInt(MediaType.H264), **source, "scheduleProfileID": UInt(2),
        "camEntityID": UInt(1)})
    ctx.expect_ack(r, "start recording with a schedule")
    r = yield ctx.call("cviRecord.list")
    ctx.expect_list(r, "list recording", ("GUID", "major", "minor", "mediatype", "persistant",
                                          "srcIp", "srcPort", "srcTransport",
                                          "scheduleProfileID"),
                    where=lambda v: None if len(v) == 1 else f"{len(v)} sessions")
    r = yield ctx.call("cviRecord.update", {
        "GUID": me, "major": UInt(1), "minor": UInt(1), "scheduleProfileID": UInt(3)})
    ctx.expect_ack(r, "update the recording schedule")
    r = yield ctx.call("cviRecord.list")
    ctx.expect_list(r, "schedule updated", ("scheduleProfileID",),
                    where=lambda v: None if v and v[0].get("scheduleProfileID") == 3
                    else "schedule unchanged")
    r = yield ctx.call("cviRecord.delete", {"GUID": me, "major": UInt(1), "minor": UInt(1)})
    ctx.expect_ack(r, "stop recording")
    # playback
    r = yield ctx.call("cviPlayback.create", {
        "GUID": me, "Major": UInt(1), "Minor": UInt(1), "StartTime": "20150909010000",
        "EndTime": "20150909020000", "destIp": ip, "destPort": UInt(6000),
        "destTransport": "UDP"})
    created = ctx.expect_struct(r, "start playback", ("GUID", "PlaybackID", "MediaType"))
    pid = UInt(created.get("PlaybackID")) if created else UInt(0)
    ids = {"GUID": me, "PlaybackID": pid}
    r = yield ctx.call("cviPlayback.list")
    ctx.expect_list(r, "list playback", ("GUID", "PlaybackID", "major", "minor", "MediaType",
                                         "mode", "startTime", "endTime", "destIp", "destPort",
                                         "destTransport"),
                    where=lambda v: None if any(i.get("PlaybackID") == pid for i in v)
                    else "playback absent")
    r = yield ctx.call("cviPlayback.getlength", ids)
    ctx.expect_struct(r, "playback length", ("Length",),
                      where=lambda v: None if v.get("Length") == 3600 * 25 else
                      f"Length {v.get('Length')}")
    r = yield ctx.call("cviPlayback.setstate", {**ids, "State": UInt(PlaybackState.PAUSE),
                                                "Speed": UInt(1)})
    ctx.expect_ack(r, "pause playback")
    r = yield ctx.call("cviPlayback.setstate", {
        **ids, "State": UInt(PlaybackState.FASTFORWARD), "Speed": UInt(2)})
    ctx.expect_ack(r, "fast forward at 2x")
    r = yield ctx.call("cviPlayback.seek", {**ids, "Position": UInt(45000)})
    ctx.expect_ack(r, "seek to frame 45000")
    r = yield ctx.call("cviPlayback.getstatus", ids)
    ctx.expect_struct(r, "playback status", ("State", "Speed", "Position"),
                      where=lambda v: None if (v.get("State"), v.get("Speed"), v.get("Position"))
                      == (PlaybackState.FASTFORWARD, 2, 45000) else f"status {v}")
    r = yield ctx.call("cviPlayback.seek", {**ids, "Position": UInt(3600 * 25)})
    ctx.expect_ack(r, "seek beyond the end fails", AckCode.FAIL)
    r = yield ctx.call("cviPlayback.getstatus", {
        "GUID": me, "MajorID": UInt(1), "MinorID": UInt(1), "StartTime": "20150909000000",
        "EndTime": "20150909060000", "EventType": UInt(EventType.MOTION)})
    ctx.expect_list(r, "query playback list with event type", ("StartTime", "EndTime",
                                                                 "EventType"),
                    where=lambda v: None if v and all(i.get("EventType") & EventType.MOTION
                                                      for i in v) else "no motion periods")
    r = yield ctx.call("cviPlayback.delete", ids)
    ctx.expect_ack(r, "stop playback")
    # media browsing, paged: ask again until IsLastPage
    query = {"GUID": me, "Major": UInt(1), "Minor": UInt(1), "startDate": "20150909000000",
             "endDate": "20150909060000"}
    clips = yield from _pages(ctx, "cviMedia.query", query, "time based media browsing",
                              ("GUID", "IsLastPage", "ClipID", "ClipType", "ClipTime"))
    ctx.check("all clips of the interval", len(clips) == 18, f"{len(clips)} clip(s)")
    motion = yield from _pages(ctx, "cviMedia.query",
                               {**query, "eventType": UInt(EventType.MOTION)},
                               "event based media browsing", ("ClipID",))
    ctx.check("event based browsing narrows the list", 0 < len(motion) < len(clips),
              f"{len(motion)} of {len(clips)}")
    other = yield from _pages(ctx, "cviMedia.query", {**query, "Major": UInt(2)},
                              "media source based browsing", ("ClipID",))
    ctx.check("another media source has its own clips",
              bool(other) and not {c.get("ClipID") for c in other}
              & {c.get("ClipID") for c in clips}, f"{len(other)} clip(s)")
    first = clips[0].get("ClipID") if clips else UInt(0)
    r = yield ctx.call("cviMedia.export", {
        "GUID": me, "ClipID": UInt(first), "serverIP": ip, "serverPort": UInt(7500),
        "authenticationId": "export-0001"})
    ctx.expect_ack(r, "export recorded media")
    if ctx.options.custom_functions:
        r = yield ctx.call("cviNvr.queryClip", {"mediaType": "Motion", "major": 1})
        ctx.expect_list(r, "custom function queryClip", ("mediaType", "clipTime"),
                        where=lambda v: None if v else "no clips")


def _pages(ctx: ScriptContext, method: str, query: dict[str, Any], name: str,
           fields: tuple[str, ...]) -> Generator[Action, Any, list[Struct]]:
    items: list[Struct] = []
    for page in range(1, 21):
        r = yield ctx.call(method, query)
        got = ctx.expect_list(r, f"{name}, page {page}", fields)
        if got is None:
            return items
        items += got
        if not got or got[-1].get("IsLastPage"):
            return items
    ctx.check(f"{name} ends", False, "no last page after 20 pages")
    return items


# --- master server services -----------------------------------------------------------


def master_services(ctx: ScriptContext) -> Steps:
    """Master server use cases: login, profiles, entity groups and entities (paged),
    entity services, users and groups, mount/unmount, applications, event
    acknowledgement, logout."""
    me = CLIENT_GUID
    r = yield ctx.call("cviUser.login", {"GUID": me, "UserName": md5_hex("admin"),
                                         "PassWord": md5_hex("wrong"), "LoginType": UInt(2)})
    ctx.expect_ack(r, "login with a wrong password fails", AckCode.FAIL)
    r = yield ctx.call("cviUser.login", {"GUID": me, "UserName": md5_hex("admin"),
                                         "PassWord": md5_hex("admin"), "LoginType": UInt(2)})
    login = ctx.expect_ack(r, "login", extra=("AppGUID",))
    if login is None:
        return
    app = login.get("AppGUID")
    auth = {"GUID": me, "AppGUID": app}
    # profiles
    r = yield ctx.call("cviProfile.list", {"GUID": me,
                                           "ProfileTypeID": UInt(ProfileType.VIDEO_ENCODER)})
    ctx.expect_list(r, "list video encoder profiles", ("GUID", "ProfileTypeID", "ProfileID"))
    r = yield ctx.call("cviProfile.add", {
        "GUID": me, "ProfileTypeID": UInt(ProfileType.SERIAL_PORT), "portType": "RS485",
        "baudRate": UInt(9600), "parity": "none", "stopBit": UInt(1), "dataBit": UInt(8),
        "portMode": "half-duplex"})
    added = ctx.expect_ack(r, "add a serial port profile", extra=("ProfileID",))
    profile_id = UInt(added.get("ProfileID")) if added else UInt(0)
    r = yield ctx.call("cviProfile.update", {
        "GUID": me, "ProfileTypeID": UInt(ProfileType.SERIAL_PORT), "ProfileID": profile_id,
        "baudRate": UInt(19200)})
    ctx.expect_ack(r, "update the profile")
    r = yield ctx.call("cviProfile.list", {"GUID": me,
                                           "ProfileTypeID": UInt(ProfileType.SERIAL_PORT)})
    ctx.expect_list(r, "profile updated", ("ProfileID",),
                    where=lambda v: None if any(i.get("ProfileID") == profile_id
                                                and i.get("baudRate") == 19200 for i in v)
                    else "update not visible")
    r = yield ctx.call("cviProfile.delete", {
        "GUID": me, "ProfileType": UInt(ProfileType.SERIAL_PORT), "ProfileID": profile_id})
    ctx.expect_ack(r, "delete the profile")
    # entity groups and entities
    camera = UInt(EntityType.CAMERA)
    r = yield ctx.call("cviEntity.listgroups", {**auth, "EntityTypeID": camera})
    ctx.expect_list(r, "list camera groups", ("EntityTypeID", "GroupID", "GroupName",
                                              "GroupDesc"))
    r = yield ctx.call("cviEntity.addgroup", {**auth, "EntityTypeID": camera,
                                              "GroupName": "Parking",
                                              "GroupDescription": "Parking deck"})
    group = ctx.expect_ack(r, "add a camera group", extra=("GroupID",))
    group_id = UInt(group.get("GroupID")) if group else UInt(0)
    r = yield ctx.call("cviEntity.updategroup", {
        **auth, "EntityTypeID": camera, "GroupID": group_id, "GroupName": "Parking",
        "GroupDescription": "Parking deck, level -1"})
    ctx.expect_ack(r, "update the camera group")
    r = yield ctx.call("cviEntity.query", {**auth, "EntityTypeID": camera})
    before = ctx.expect_struct(r, "query the camera description version",
                               ("EntityTypeID", "Version", "TimeStamp"))
    cameras = yield from _pages(ctx, "cviEntity.list", {**auth, "EntityTypeID": camera},
                                "list cameras", ("IsLastPage", "EntityTypeID", "GroupID",
                                                 "EntityID", "EntityName", "EntityDesc"))
    ctx.check("all cameras listed over the pages", len(cameras) >= 6, f"{len(cameras)}")
    r = yield ctx.call("cviEntity.add", {
        **auth, "EntityTypeID": camera, "GroupID": group_id, "EntityName": "Camera P1",
        "Capability": UInt(1), "PhyAddr": UInt(21), "LogicalID": UInt(221)})
    entity = ctx.expect_ack(r, "add a camera", extra=("EntityID",))
    entity_id = UInt(entity.get("EntityID")) if entity else UInt(0)
    r = yield ctx.call("cviEntity.query", {**auth, "EntityTypeID": camera})
    ctx.expect_struct(r, "the description version moved on", ("Version",),
                      where=lambda v: None if before and v.get("Version") > before.get("Version")
                      else "version unchanged")
    r = yield ctx.call("cviEntity.update", {**auth, "EntityTypeID": camera,
                                            "EntityID": entity_id, "PhyAddr": UInt(22)})
    ctx.expect_ack(r, "update the camera")
    r = yield ctx.call("cviEntity.listservices", {**auth, "EntityID": UInt(101)})
    ctx.expect_list(r, "list the services of a device", ("EntityID", "ServiceID"),
                    where=lambda v: None if v else "no services")
    r = yield ctx.call("cviEntity.updateservices", {**auth, "EntityID": UInt(101),
                                                    "ServiceID": "3.1",
                                                    "VideoEncoderProfile": UInt(3)})
    ctx.expect_ack(r, "update a device service profile")
    # users and groups
    r = yield ctx.call("cviUser.listgroups", auth)
    ctx.expect_list(r, "list user groups", ("GroupID", "GroupName", "GroupDescription"))
    privilege = UInt(UserPrivilege.STREAMING | UserPrivilege.SNAPSHOT)
    r = yield ctx.call("cviUser.addgroup", {**auth, "GroupName": "Guards",
                                            "GroupDescription": "Night shift",
                                            "GroupPrivilege": privilege})
    ugroup = ctx.expect_ack(r, "add a user group", extra=("GroupID",))
    ugroup_id = UInt(ugroup.get("GroupID")) if ugroup else UInt(0)
    r = yield ctx.call("cviUser.updategroup", {
        **auth, "GroupID": ugroup_id, "GroupName": "Guards", "GroupDescription": "Day shift",
        "GroupPrivilege": UInt(privilege | UserPrivilege.PLAYBACK)})
    ctx.expect_ack(r, "update the user group")
    r = yield ctx.call("cviUser.adduser", {
        **auth, "UserName": "guard1", "UserDescription": "Gate guard",
        "UserPrivilege": privilege, "UserPriority": UInt(3), "GroupID": ugroup_id})
    user = ctx.expect_ack(r, "add a user", extra=("UserID",))
    user_id = UInt(user.get("UserID")) if user else UInt(0)
    r = yield ctx.call("cviUser.listusers", auth)
    ctx.expect_list(r, "list users", ("UserID", "UserName", "UserDescription", "UserPriority",
                                      "UserPrivilege", "GroupID"),
                    where=lambda v: None if any(i.get("UserID") == user_id for i in v)
                    else "new user absent")
    r = yield ctx.call("cviUser.updateuser", {
        **auth, "UserID": user_id, "UserName": "guard1", "UserPassword": md5_hex("s3cret"),
        "UserDescription": "Gate guard", "UserPrivilege": privilege, "UserPriority": UInt(2),
        "GroupID": ugroup_id})
    ctx.expect_ack(r, "update the user (set a password)")
    mount = {**auth, "UserID": user_id, "EntityID": entity_id, "EntityType": camera}
    r = yield ctx.call("cviUser.mount", mount)
    ctx.expect_ack(r, "mount the camera on the user")
    r = yield ctx.call("cviUser.unmount", mount)
    ctx.expect_ack(r, "unmount the camera")
    # applications
    streaming = UInt(2)
    target = {**auth, "EntityTypeID": camera, "EntityID": entity_id}
    r = yield ctx.call("cviApplication.add", {
        **target, "ApplicationTypeID": streaming, "VideoSourceEntityIP": "192.0.2.10",
        "VideoSourceEntityPort": UInt(7110), "VideoEncoderServiceID": "3.1"})
    ctx.expect_ack(r, "add a video streaming application")
    r = yield ctx.call("cviApplication.update", {
        **target, "ApplicationTypeID": streaming, "VideoSourceEntityPort": UInt(7111)})
    ctx.expect_ack(r, "update the application")
    r = yield ctx.call("cviApplication.list", target)
    ctx.expect_list(r, "list the camera's applications", ("EntityTypeID", "EntityID",
                                                          "ApplicationTypeID"),
                    where=lambda v: None if any(i.get("VideoSourceEntityPort") == 7111
                                                for i in v) else "update not visible")
    r = yield ctx.call("cviApplication.delete", {**target, "ApplicationTypeID": streaming})
    ctx.expect_ack(r, "delete the application")
    # event acknowledgement
    r = yield ctx.call("cviEvent.subscribe", {"Type": UInt(EventType.KEEP_ALIVE),
                                              "Id": UInt(0)})
    ctx.expect_ack(r, "subscribe to keep-alive events")
    got = yield ctx.await_events(1)
    notified = ctx.expect_events(got, "receive a keep-alive", 1, int(EventType.KEEP_ALIVE))
    if notified:
        r = yield ctx.call("cviEvent.ack", {
            "AppGUID": app, "EventGUID": notified[0].get("EventGUID"),
            "AckTime": event_time(ctx.options.clock()), "AckString": "seen by operator"})
        ctx.expect_struct(r, "acknowledge the event", ("AckReturnCode",),
                          where=lambda v: None if v.get("AckReturnCode") == EventAckCode.SUCCESS
                          else f"AckReturnCode {_hex(v.get('AckReturnCode'))}")
    r = yield ctx.call("cviEvent.unsubscribe", {"Type": UInt(EventType.KEEP_ALIVE),
                                                "Id": UInt(0)})
    ctx.expect_ack(r, "unsubscribe from keep-alive events")
    # clean up, then log out
    r = yield ctx.call("cviUser.deleteuser", {**auth, "UserID": user_id})
    ctx.expect_ack(r, "delete the user")
    r = yield ctx.call("cviUser.deletegroup", {**auth, "GroupID": ugroup_id})
    ctx.expect_ack(r, "delete the user group")
    r = yield ctx.call("cviEntity.delete", {**target})
    ctx.expect_ack(r, "delete the camera")
    r = yield ctx.call("cviEntity.deletegroup", {**auth, "EntityTypeID": camera,
                                                 "GroupID": group_id})
    ctx.expect_ack(r, "delete the camera group")
    r = yield ctx.call("cviUser.logout", auth)
    ctx.expect_ack(r, "logout")
    r = yield ctx.call("cviUser.listusers", auth)
    ctx.expect_ack(r, "after logout the AppGUID is refused", AckCode.FAIL)


# --- registry -------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class ScriptInfo:
    name: str
    script: Script
    roles: tuple[str, ...]
    description: str


SCRIPTS: dict[str, ScriptInfo] = {
    info.name: info
    for info in (
        ScriptInfo("discovery", discovery, ("device", "nvr", "master"),
                   "Discover Device: ping over UDP/TCP on the CVIP and common ports"),
        ScriptInfo("discover-services", discover_services, ("device", "nvr", "master"),
                   "Discover Services: the 15-step walk"),
        ScriptInfo("configure", configure, ("device", "nvr", "master"),
                   "Configure Device: network and video properties"),
        ScriptInfo("events", events, ("device", "nvr", "master"),
                   "Manage Event Service: subscribe, receive, unsubscribe"),
        ScriptInfo("firmware", firmware, ("device", "nvr", "master"),
                   "Update Device Firmware"),
        ScriptInfo("device-services", device_services, ("device",),
                   "Serial port, streaming, display, analytics and PTZ services"),
        ScriptInfo("nvr-services", nvr_services, ("nvr",),
                   "Recording, playback and media services"),
        ScriptInfo("master-services", master_services, ("master",),
                   "Profile, entity, user and application services"),
    )
}


def scripts_for(role: str, name: str = "all") -> list[ScriptInfo]:
    """The scripts ``--scenario NAME|all`` selects for a server of ``role``."""
    if name == "all":
        return [info for info in SCRIPTS.values() if role in info.roles]
    if name not in SCRIPTS:
        raise KeyError(name)
    return [SCRIPTS[name]]


def run_script(info: ScriptInfo, options: ScriptOptions, execute: Callable[[Action], Any]
               ) -> ScenarioResult:
    """Drive a script synchronously with ``execute`` performing each action."""
    ctx = ScriptContext(info.name, options)
    steps = info.script(ctx)
    outcome: Any = None
    try:
        while True:
            outcome = execute(steps.send(outcome))
    except StopIteration:
        pass
    except Exception as exc:  # a driver or script bug becomes a failed result
        ctx.result.error = f"{type(exc).__name__}: {exc}"
    return ctx.result
