"""The reference peers' catalogue: services, methods with their fields, and properties.

This is the peers' reading of the spec's tables (section in each entry), kept as data: it
validates requests (an absent mandatory field or a value outside its enumeration, range
or format earns an Invalid acknowledgement), answers ``listFunctions`` /
``listParameters`` with self-descriptions, and tells the scripted client which fields to
send. It is written independently of ``dissectors.cvip`` on purpose.

Spellings follow each method's own table (the document varies them between tables, see
NOTES 10) with the PDF-conversion errors undone (``destlp`` → ``destIp``, ``srclp`` →
``srcIp``, ``ld`` → ``Id``). Lookups are case-insensitive and accept the listed aliases,
as a tolerant peer should.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cvipsniff.sim.cvip.constants import (
    ALL_EVENT_TYPES,
    ALL_PRIVILEGES,
    PTZ_SPEED_MAX,
    ApplicationType,
    EntityType,
    MediaType,
    PlaybackState,
    ProfileType,
    PtzCommand,
    PtzProtocol,
)

Role = Literal["device", "nvr", "master"]
ROLES: tuple[Role, ...] = ("device", "nvr", "master")

# Field formats checked beyond the XML-RPC type (NOTES 13).
Format = Literal["playback-time", "event-time", "guid", "ipv4", "md5", None]


@dataclass(slots=True, frozen=True)
class Param:
    """One field of a request or an answer.

    ``type`` is the XML-RPC type the peers write (``uint``, ``int``, ``string``,
    ``boolean``, ``base64``, ``dateTime.iso8601``, ``array``). Validation, when present,
    is one of: ``choices`` (an enumeration), ``bits`` (a bit set mask), ``bounds``
    (inclusive min/max), ``magnitude`` (inclusive bounds on the absolute value, for the
    signed PTZ speed), ``fmt`` (a string format)."""

    name: str
    type: str
    label: str = ""
    required: bool = True
    choices: tuple[int | str, ...] | None = None
    bits: int | None = None
    bounds: tuple[int, int] | None = None
    magnitude: tuple[int, int] | None = None
    fmt: Format = None
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(slots=True, frozen=True)
class Method:
    """A service method: its request fields, its answer and how it answers.

    ``reply`` is ``ack`` (acknowledgement, possibly with ``answer`` fields after the
    ErrorCode), ``data`` (a plain methodResponse shaped by the handler) or ``list`` (an
    array of structs with the ``answer`` fields). ``selector`` distinguishes two methods
    printed under one name (NOTES 11: section 2.8 reuses ``cviPlayback.getstatus``): the
    variant whose selector field is present is the one meant. ``extra_fields`` means the
    request may carry fields beyond the table (profile, entity and application
    properties)."""

    service: str
    name: str
    section: str
    params: tuple[Param, ...] = ()
    answer: tuple[Param, ...] = ()
    reply: Literal["ack", "data", "list"] = "ack"
    roles: frozenset[str] = frozenset(ROLES)
    positional: bool = False
    selector: str | None = None
    extra_fields: bool = False
    paged: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.service}.{self.name}"


def _u(name: str, label: str = "", **kw: Any) -> Param:
    return Param(name, "uint", label or name, **kw)


def _i(name: str, label: str = "", **kw: Any) -> Param:
    return Param(name, "int", label or name, **kw)


def _s(name: str, label: str = "", **kw: Any) -> Param:
    return Param(name, "string", label or name, **kw)


def _b(name: str, label: str = "", **kw: Any) -> Param:
    return Param(name, "boolean", label or name, **kw)


GUID = _s("GUID", "Unit GUID", fmt="guid")
APP_GUID = _s("AppGUID", "Application GUID", fmt="guid")
_MEDIA_TYPES = tuple(int(m) for m in MediaType)
_PLAYBACK_STATES = tuple(int(s) for s in PlaybackState)
_PROFILE_TYPES = tuple(int(p) for p in ProfileType)
_ENTITY_TYPES = tuple(int(e) for e in EntityType)
_APPLICATION_TYPES = tuple(int(a) for a in ApplicationType)

DEVICE = frozenset({"device"})
NVR = frozenset({"nvr"})
MASTER = frozenset({"master"})


def _persistent(spelling: str = "persistent", required: bool = True) -> Param:
    other = "persistant" if spelling == "persistent" else "persistent"
    return _b(spelling, "Restart after reboot", required=required, aliases=(other,))


def _dest(prefix: str, required: bool = True) -> tuple[Param, ...]:
    """destIp/destPort/destTransport or srcIp/srcPort/srcTransport."""
    return (
        _s(f"{prefix}Ip", f"{prefix} IP address", fmt="ipv4", required=required),
        _u(f"{prefix}Port", f"{prefix} port", bounds=(1, 65535), required=required),
        _s(f"{prefix}Transport", f"{prefix} transport", choices=("UDP", "TCP", "RTP"),
           required=required),
    )


_SERIAL = (
    _u("ID", "Serial port"),
    _s("OperationMode", "Operation mode", choices=("RS232", "RS422", "RS485")),
    _u("BaudRate", "Baud rate", choices=(1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)),
    _u("DataBits", "Data bits", bounds=(5, 8)),
    _s("PortParity", "Parity", choices=("none", "odd", "even", "mark", "space")),
    _u("StopBits", "Stop bits", bounds=(1, 2)),
    _s("LineDriver", "Line driver", choices=("auto", "RS232", "RS485")),
)

# --- methods --------------------------------------------------------------------------

METHODS: tuple[Method, ...] = (
    # Common 4: firmware update. The example sends an array of one-member structs.
    Method("cviUpdateFirmware", "startFirmwareUpdate", "Common 4.1",
           (_s("imageFileId", "Firmware file name", aliases=("ImageFileId",)),
            _s("authenticationId", "Data channel id", aliases=("AuthenticationId",)))),
    Method("cviUpdateFirmware", "getProgressInfo", "Common 4.2",
           answer=(_s("state"), _s("status"), _s("bytesProgress"), _s("totalBytesProgress")),
           reply="data"),
    # NVR 4: camera events (the Manage Event Service use case of every unit).
    Method("cviEvent", "subscribe", "NVR 4.1",
           (_u("Type", "Event types", bits=ALL_EVENT_TYPES), _u("Id", "Channel (0 = all)"))),
    Method("cviEvent", "unsubscribe", "NVR 4.2",
           (_u("Type", "Event types", bits=ALL_EVENT_TYPES), _u("Id", "Channel (0 = all)"))),
    Method("cviEvent", "ack", "NVR 4.4",
           (APP_GUID, _s("EventGUID", "Event GUID", fmt="guid"),
            _s("AckTime", "Acknowledge time", fmt="event-time"), _s("AckString", "Comment")),
           answer=(_u("AckReturnCode"),), reply="data", roles=MASTER),
    # Device 1: serial port piping.
    Method("cviSerialPort", "setProperties", "Device 1.1", _SERIAL, roles=DEVICE),
    Method("cviSerialPort", "create", "Device 1.2", (GUID, *_SERIAL, _persistent("Persistent")),
           roles=DEVICE),
    Method("cviSerialPort", "delete", "Device 1.3", (GUID, _u("ID", "Serial port")), roles=DEVICE),
    Method("cviSerialPort", "list", "Device 1.4", (_s("GUID", fmt="guid", required=False),),
           answer=(GUID, *_SERIAL, _s("ConnectionType"), _u("ConnectionPort"),
                   _b("Persistent")),
           reply="list", roles=DEVICE),
    # Device 2: streaming.
    Method("cviStream", "create", "Device 2.1",
           (GUID, _u("major", "Video input"), _u("minor", "Encoder"), _persistent(),
            *_dest("dest")),
           answer=(GUID, _u("StreamID"), _u("MediaType", choices=_MEDIA_TYPES)),
           roles=DEVICE),
    Method("cviStream", "delete", "Device 2.2", (GUID, _u("StreamID", aliases=("streamId",))),
           roles=DEVICE),
    Method("cviStream", "list", "Device 2.3", (GUID,),
           answer=(GUID, _u("StreamID"), _u("major"), _u("minor"), _u("mediatype"),
                   _b("persistant"), *_dest("dest")),
           reply="list", roles=DEVICE),
    # Use case "get a key frame" (Device 2.4) has no method in the command details; the
    # device offers it as a custom function of cviStream (listFunctions/listParameters).
    Method("cviStream", "getKeyFrame", "Device use case 2.4 (custom function)",
           (GUID, _u("StreamID")),
           answer=(GUID, _u("StreamID"), _u("MediaType"), Param("KeyFrame", "base64")),
           reply="data", roles=DEVICE),
    # Device 3: display.
    Method("cviDisplay", "create", "Device 3.1",
           (GUID, _u("major", "Video output"), _u("minor", "Decoder"),
            _u("mediatype", choices=_MEDIA_TYPES), _persistent(), *_dest("src")),
           roles=DEVICE),
    Method("cviDisplay", "delete", "Device 3.2",
           (GUID, _u("major"), _u("minor"), _u("mediatype", choices=_MEDIA_TYPES, required=False),
            _persistent("persistant", required=False), *_dest("src", required=False)),
           roles=DEVICE),
    Method("cviDisplay", "list", "Device 3.3", (),
           answer=(GUID, _u("major"), _u("minor"), _u("mediatype"), _b("persistant"),
                   *_dest("src")),
           reply="list", roles=DEVICE),
    # Device 4: analytics ("stop" and "list" are titled cviDisplay.* by a copy error).
    Method("cviAnalytics", "create", "Device 4.1",
           (GUID, _u("major"), _u("minor"), _u("mediatype", choices=_MEDIA_TYPES),
            _persistent(), *_dest("dest")),
           roles=DEVICE),
    Method("cviAnalytics", "delete", "Device 4.2",
           (GUID, _u("major"), _u("minor"), _u("mediatype", choices=_MEDIA_TYPES, required=False),
            _persistent(required=False), *_dest("dest", required=False)),
           roles=DEVICE),
    Method("cviAnalytics", "list", "Device 4.3", (),
           answer=(GUID, _u("major"), _u("minor"), _u("mediatype"), _b("persistent"),
                   *_dest("dest")),
           reply="list", roles=DEVICE),
    # Device 5: PTZ. cviPtz.cmd may be positional (the spec's example).
    Method("cviPtz", "setProperties", "Device 5.1",
           (_u("PtzID"), _u("ProtocolType", choices=tuple(int(p) for p in PtzProtocol)),
            _u("UserPriority")),
           roles=DEVICE),
    Method("cviPtz", "cmd", "Device 5.2",
           (GUID, _u("PtzID"), _u("PhyAddr"), _u("UserPriority"),
            _u("CmdType", choices=tuple(int(c) for c in PtzCommand)),
            _i("CmdData", "Signed speed", magnitude=(1, PTZ_SPEED_MAX))),
           roles=DEVICE, positional=True),
    # NVR 1: recording.
    Method("cviRecord", "create", "NVR 1.1",
           (GUID, _u("major", "Channel"), _u("minor", "Location"), _persistent(),
            _u("mediatype", choices=_MEDIA_TYPES), *_dest("src"), _u("scheduleProfileID"),
            _u("camEntityID")),
           roles=NVR),
    Method("cviRecord", "delete", "NVR 1.2",
           (GUID, _u("major"), _u("minor"), _u("mediatype", choices=_MEDIA_TYPES, required=False),
            _persistent("persistant", required=False), *_dest("src", required=False)),
           roles=NVR),
    Method("cviRecord", "list", "NVR 1.3", (),
           answer=(GUID, _u("major"), _u("minor"), _u("mediatype"), _b("persistant"),
                   *_dest("src"), _u("scheduleProfileID")),
           reply="list", roles=NVR),
    Method("cviRecord", "update", "NVR 1.4",
           (GUID, _u("major"), _u("minor"), _u("mediatype", choices=_MEDIA_TYPES, required=False),
            _persistent("persistant", required=False), *_dest("src", required=False),
            _u("scheduleProfileID")),
           roles=NVR),
    # NVR 2: playback.
    Method("cviPlayback", "create", "NVR 2.1",
           (GUID, _u("Major", aliases=("major",)), _u("Minor", aliases=("minor",)),
            _s("StartTime", fmt="playback-time"), _s("EndTime", fmt="playback-time"),
            *_dest("dest")),
           answer=(GUID, _u("PlaybackID"), _u("MediaType", choices=_MEDIA_TYPES)),
           reply="data", roles=NVR),
    Method("cviPlayback", "delete", "NVR 2.2", (GUID, _u("PlaybackID")), roles=NVR),
    Method("cviPlayback", "list", "NVR 2.3", (),
           answer=(GUID, _u("PlaybackID"), _u("major"), _u("minor"), _u("MediaType"),
                   _u("mode"), _s("startTime"), _s("endTime"), *_dest("dest")),
           reply="list", roles=NVR),
    Method("cviPlayback", "setstate", "NVR 2.4",
           (GUID, _u("PlaybackID"), _u("State", choices=_PLAYBACK_STATES),
            _u("Speed", bounds=(1, 16))),
           roles=NVR),
    Method("cviPlayback", "seek", "NVR 2.5", (GUID, _u("PlaybackID"), _u("Position")),
           roles=NVR),
    Method("cviPlayback", "getlength", "NVR 2.6", (GUID, _u("PlaybackID")),
           answer=(_u("Length"),), reply="data", roles=NVR),
    Method("cviPlayback", "getstatus", "NVR 2.7", (GUID, _u("PlaybackID")),
           answer=(_u("State"), _u("Speed"), _u("Position")), reply="data", roles=NVR,
           selector="PlaybackID"),
    Method("cviPlayback", "getstatus", "NVR 2.8",
           (GUID, _u("MajorID"), _u("MinorID"), _s("StartTime", fmt="playback-time"),
            _s("EndTime", fmt="playback-time"), _u("EventType", bits=ALL_EVENT_TYPES)),
           answer=(_s("StartTime"), _s("EndTime"), _u("EventType")), reply="list", roles=NVR,
           selector="EventType"),
    # NVR 3: media browsing and export.
    Method("cviMedia", "query", "NVR 3.1",
           (GUID, _u("Major", aliases=("major",)), _u("Minor", aliases=("minor",)),
            _s("startDate", fmt="playback-time"), _s("endDate", fmt="playback-time"),
            _u("eventType", bits=ALL_EVENT_TYPES, required=False),
            _u("eventSubType", required=False), _u("eventValue", required=False)),
           answer=(GUID, _b("IsLastPage"), _u("ClipID"), _u("ClipType", choices=_MEDIA_TYPES),
                   Param("ClipTime", "dateTime.iso8601")),
           reply="list", roles=NVR, paged=True),
    Method("cviMedia", "export", "NVR 3.2",
           (GUID, _u("ClipID"), _s("serverIP", fmt="ipv4"), _u("serverPort", bounds=(1, 65535)),
            _s("authenticationId")),
           roles=NVR),
    # The spec's own custom-function example (Discover Services 7 and 8).
    Method("cviNvr", "queryClip", "Discover Services 8",
           (_s("mediaType", "Type of media", choices=("Video", "Audio", "Motion")),
            _i("major", "Input of media", bounds=(1, 16)),
            _i("eventValue", "Value of event", bounds=(0, 1), required=False)),
           answer=(_s("mediaType", "Type of media"),
                   Param("clipTime", "dateTime.iso8601", "Clip Timestamp")),
           reply="list", roles=NVR),
    # Master 1: profiles.
    Method("cviProfile", "list", "Master 1.1",
           (GUID, _u("ProfileTypeID", choices=_PROFILE_TYPES)),
           answer=(GUID, _u("ProfileTypeID"), _u("ProfileID")), reply="list", roles=MASTER,
           extra_fields=True),
    Method("cviProfile", "add", "Master 1.2",
           (GUID, _u("ProfileTypeID", choices=_PROFILE_TYPES)), answer=(_u("ProfileID"),),
           roles=MASTER, extra_fields=True),
    Method("cviProfile", "update", "Master 1.3",
           (GUID, _u("ProfileTypeID", choices=_PROFILE_TYPES), _u("ProfileID")),
           roles=MASTER, extra_fields=True),
    Method("cviProfile", "delete", "Master 1.4",
           (GUID, _u("ProfileType", choices=_PROFILE_TYPES, aliases=("ProfileTypeID",)),
            _u("ProfileID")),
           roles=MASTER),
    # Master 2: entities.
    Method("cviEntity", "listgroups", "Master 2.1",
           (GUID, APP_GUID, _u("EntityTypeID", choices=_ENTITY_TYPES, aliases=("EnittyTypeID",))),
           answer=(_u("EntityTypeID"), _u("GroupID"), _s("GroupName"), _s("GroupDesc")),
           reply="list", roles=MASTER),
    Method("cviEntity", "addgroup", "Master 2.2",
           (GUID, APP_GUID, _u("EntityTypeID", choices=_ENTITY_TYPES), _s("GroupName"),
            _s("GroupDescription")),
           answer=(_u("GroupID"),), roles=MASTER),
    Method("cviEntity", "updategroup", "Master 2.4",
           (GUID, APP_GUID, _u("EntityTypeID", choices=_ENTITY_TYPES), _u("GroupID"),
            _s("GroupName"), _s("GroupDescription")),
           roles=MASTER),
    Method("cviEntity", "deletegroup", "Master 2.5",
           (GUID, APP_GUID, _u("EntityTypeID", choices=_ENTITY_TYPES), _u("GroupID")),
           roles=MASTER),
    Method("cviEntity", "query", "Master 2.6",
           (GUID, APP_GUID, _u("EntityTypeID", choices=_ENTITY_TYPES)),
           answer=(_u("EntityTypeID"), _u("Version"), _s("TimeStamp")), reply="data",
           roles=MASTER),
    Method("cviEntity", "list", "Master 2.7",
           (GUID, APP_GUID, _u("EntityTypeID", choices=_ENTITY_TYPES)),
           answer=(_b("IsLastPage"), _u("EntityTypeID"), _u("GroupID"), _u("EntityID"),
                   _s("EntityName"), _s("EntityDesc")),
           reply="list", roles=MASTER, paged=True, extra_fields=True),
    Method("cviEntity", "add", "Master 2.8",
           (GUID, APP_GUID, _b("IsLastPage", required=False),
            _u("EntityTypeID", choices=_ENTITY_TYPES), _u("GroupID")),
           answer=(_u("EntityID"),), roles=MASTER, extra_fields=True),
    Method("cviEntity", "update", "Master 2.9",
           (GUID, APP_GUID, _b("IsLastPage", required=False),
            _u("EntityTypeID", choices=_ENTITY_TYPES), _u("EntityID")),
           roles=MASTER, extra_fields=True),
    Method("cviEntity", "delete", "Master 2.10",
           (GUID, APP_GUID, _u("EntityTypeID", choices=_ENTITY_TYPES), _u("EntityID")),
           roles=MASTER),
    Method("cviEntity", "listservices", "Master 2.11", (GUID, APP_GUID, _u("EntityID")),
           answer=(_u("EntityID"), _s("ServiceID")), reply="list", roles=MASTER,
           extra_fields=True),
    Method("cviEntity", "updateservices", "Master 2.12",
           (GUID, APP_GUID, _u("EntityID"), _s("ServiceID")), roles=MASTER, extra_fields=True),
    # Master 3: users.
    Method("cviUser", "login", "Master 3.1",
           (GUID, _s("UserName", fmt="md5"), _s("PassWord", fmt="md5", aliases=("Password",)),
            _u("LoginType", choices=(1, 2))),
           answer=(APP_GUID,), roles=MASTER),
    Method("cviUser", "logout", "Master 3.2", (GUID, APP_GUID), roles=MASTER),
    Method("cviUser", "listgroups", "Master 3.3", (GUID, APP_GUID),
           answer=(_u("GroupID"), _s("GroupName"), _s("GroupDescription")), reply="list",
           roles=MASTER),
    Method("cviUser", "addgroup", "Master 3.4",
           (GUID, APP_GUID, _s("GroupName"), _s("GroupDescription"),
            _u("GroupPrivilege", bits=ALL_PRIVILEGES)),
           answer=(_u("GroupID"),), roles=MASTER),
    Method("cviUser", "updategroup", "Master 3.5",
           (GUID, APP_GUID, _u("GroupID"), _s("GroupName"), _s("GroupDescription"),
            _u("GroupPrivilege", bits=ALL_PRIVILEGES)),
           roles=MASTER),
    Method("cviUser", "deletegroup", "Master 3.6", (GUID, APP_GUID, _u("GroupID")), roles=MASTER),
    Method("cviUser", "listusers", "Master 3.7", (GUID, APP_GUID),
           answer=(_u("UserID"), _s("UserName"), _s("UserDescription"), _u("UserPriority"),
                   _u("UserPrivilege"), _u("GroupID")),
           reply="list", roles=MASTER),
    Method("cviUser", "adduser", "Master 3.8",
           (GUID, APP_GUID, _s("UserName"), _s("UserDescription"),
            _u("UserPrivilege", bits=ALL_PRIVILEGES), _u("UserPriority"), _u("GroupID")),
           answer=(_u("UserID"),), roles=MASTER),
    Method("cviUser", "updateuser", "Master 3.9",
           (GUID, APP_GUID, _u("UserID"), _s("UserName"), _s("UserPassword", fmt="md5"),
            _s("UserDescription"), _u("UserPrivilege", bits=ALL_PRIVILEGES), _u("UserPriority"),
            _u("GroupID")),
           roles=MASTER),
    Method("cviUser", "deleteuser", "Master 3.10", (GUID, APP_GUID, _u("UserID")), roles=MASTER),
    Method("cviUser", "mount", "Master 3.11",
           (GUID, APP_GUID, _u("UserID"), _u("EntityID"),
            _u("EntityType", choices=_ENTITY_TYPES, aliases=("EntityTypeID",))),
           roles=MASTER),
    Method("cviUser", "unmount", "Master 3.12",
           (GUID, APP_GUID, _u("UserID"), _u("EntityID"),
            _u("EntityType", choices=_ENTITY_TYPES, aliases=("EntityTypeID",))),
           roles=MASTER),
    # Master 4: applications. The tables give no application id: an application is known
    # by its entity and its type.
    Method("cviApplication", "list", "Master 4.1",
           (GUID, APP_GUID, _u("EntityTypeID", choices=_ENTITY_TYPES), _u("EntityID")),
           answer=(_u("EntityTypeID"), _u("EntityID"), _u("ApplicationTypeID")), reply="list",
           roles=MASTER, extra_fields=True),
    Method("cviApplication", "add", "Master 4.2",
           (GUID, APP_GUID, _u("EntityTypeID", choices=_ENTITY_TYPES), _u("EntityID"),
            _u("ApplicationTypeID", choices=_APPLICATION_TYPES)),
           roles=MASTER, extra_fields=True),
    Method("cviApplication", "update", "Master 4.2 (update)",
           (GUID, APP_GUID, _u("EntityTypeID", choices=_ENTITY_TYPES), _u("EntityID"),
            _u("ApplicationTypeID", choices=_APPLICATION_TYPES)),
           roles=MASTER, extra_fields=True),
    Method("cviApplication", "delete", "Master 4.3",
           (GUID, APP_GUID, _u("EntityTypeID", choices=_ENTITY_TYPES), _u("EntityID"),
            _u("ApplicationTypeID", choices=_APPLICATION_TYPES, required=False)),
           roles=MASTER),
)

# Methods every service with properties or functions has ("Discover Services").
GENERIC_METHODS = (
    "describe", "listEvents", "listProperties", "getProperties", "setProperties",
    "listFunctions", "listParameters",
)
SYSTEM_METHODS = ("describe", "listServices", "listEvents")


def methods_of(service: str, role: str) -> list[Method]:
    """The specific methods a role offers on a service family, in table order."""
    folded = service.casefold()
    return [m for m in METHODS if m.service.casefold() == folded and role in m.roles]


def find_methods(service: str, name: str, role: str) -> list[Method]:
    """All variants of ``service.name`` for a role (usually one; two for getstatus)."""
    folded = name.casefold()
    return [m for m in methods_of(service, role) if m.name.casefold() == folded]


# --- services -------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Service:
    """A service as ``system.listServices`` lists it and ``<service>.describe`` tells it."""

    id: str
    name: str
    properties: bool
    functions: bool
    family: str = ""  # service the methods come from (cviVideo.01.1 -> cviVideo.n.m)

    @property
    def method_family(self) -> str:
        return self.family or self.id


def services_for(role: str, inputs: int = 2, encoders: int = 2, network_ports: int = 2
                 ) -> list[Service]:
    """The services a unit of ``role`` offers, shaped by the "Service" table (section
    "Service and Properties"); services that the table omits but the command details
    define (cviEvent, cviPtz, cviPlayback, ...) have functions and no properties."""
    out = [
        Service("cvip", "CVIP protocol property", True, False),
        Service("cviUnit", "Unit information", True, False),
        Service("cviNetwork", "Network configuration", True, False),
    ]
    out += [
        Service(f"cviNetwork.{n}", f"Network configuration port {n}", True, False, "cviNetwork.n")
        for n in range(1, network_ports + 1)
    ]
    if role in ("device", "nvr"):
        for n in range(1, inputs + 1):
            out.append(Service(f"cviVideo.{n:02d}", f"Video configuration input {n:02d}",
                               True, False, "cviVideo.n"))
            out += [
                Service(f"cviVideo.{n:02d}.{m}",
                        f"Video configuration input {n:02d} encoder {m}", True, False,
                        "cviVideo.n.m")
                for m in range(1, encoders + 1)
            ]
    if role == "device":
        out += [
            Service(f"cviMotionDetection.{n}", f"Motion detection input {n}", True, False,
                    "cviMotionDetection.n")
            for n in range(1, inputs + 1)
        ]
        out += [
            Service("cviStream", "Manage Stream service", False, True),
            Service("cviDisplay", "Manage Display service", False, True),
            Service("cviAnalytics", "Manage Analytics service", False, True),
            Service("cviSerialPort", "Manage Serial Port service", False, True),
            Service("cviPtz", "Manage PTZ service", False, True),
        ]
    if role == "nvr":
        out += [
            Service("cviNvr", "Browse recorded media", False, True),
            Service("cviRecord", "Manage Recording service", False, True),
            Service("cviPlayback", "Manage Playback service", False, True),
            Service("cviMedia", "Manage Media service", False, True),
        ]
    if role == "master":
        out += [
            Service("cviUser", "Manage User service", False, True),
            Service("cviProfile", "Manage Device Profile service", False, True),
            Service("cviEntity", "Manage Device Entity service", False, True),
            Service("cviApplication", "Manage Application service", False, True),
        ]
    out += [
        Service("cviUpdateFirmware", "Update Firmware", False, True),
        Service("cviEvent", "Manage Event service", False, True),
    ]
    return out


# Event groups (system.listEvents) and their events (<group>.listEvents).
EVENT_GROUPS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "cviUnit": ("Unit Events", (("KEEP_ALIVE", "Unit is alive"),
                                ("EXTERNAL_ALARM", "External alarm input"))),
    "cviVideo": ("Video Events", (("FRAME_SKIP", "Video Frame skipped"),
                                  ("VIDEO_LOST", "Lost Video signal"),
                                  ("MOTION", "Video motion detected"))),
    "cviRecord": ("Record Events", (("RECORD_LOSS", "Recorder lost packets"),
                                    ("RECORD_DISC", "Recorder disc failure"))),
}
ROLE_EVENT_GROUPS: dict[str, tuple[str, ...]] = {
    "device": ("cviUnit", "cviVideo"),
    "nvr": ("cviUnit", "cviVideo", "cviRecord"),
    "master": ("cviUnit",),
}


# --- properties -----------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Property:
    """A property from the "Properties" table with the validation a unit reports for it
    in ``listProperties`` (``range`` "min,max,step", ``list`` choices, ``regexp``)."""

    id: str
    name: str
    type: str  # uint | int | string
    initial: Any
    writable: bool = True
    validation: Literal["range", "list", "regexp", "none"] = "none"
    rule: Any = None  # (min, max, step) | tuple of choices | regexp string
    units: str = "n/a"

    @property
    def access(self) -> str:
        return "rw" if self.writable else "r"


_IPV4_REGEXP = r"^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$"


def _flag(pid: str, name: str, initial: int = 1) -> Property:
    return Property(pid, name, "uint", initial, validation="range", rule=(0, 1, 1))


def _level(pid: str, name: str, initial: int, top: int = 255, units: str = "n/a") -> Property:
    return Property(pid, name, "uint", initial, validation="range", rule=(0, top, 1), units=units)


def _ip(pid: str, name: str, initial: str) -> Property:
    return Property(pid, name, "string", initial, validation="regexp", rule=_IPV4_REGEXP)


def _text(pid: str, name: str, initial: str, writable: bool = True) -> Property:
    return Property(pid, name, "string", initial, writable=writable)


def properties_for(family: str, *, port: int, index: int = 1) -> tuple[Property, ...]:
    """Property table of a service family (``index`` numbers ports and inputs)."""
    if family == "cvip":
        return (Property("cvipPort", "CVIP port", "uint", port, validation="range",
                         rule=(1, 65535, 1)),)
    if family == "cviUnit":
        return (
            _text("unitProductName", "Product name", "XV-CVIP-2000", writable=False),
            _text("unitCompanyName", "Company name", "XeronVision", writable=False),
            _text("unitMarketingName", "Marketing name", "XeronVision CVIP unit", writable=False),
            _text("unitFirmwareVersion", "Firmware version", "2.1.8", writable=False),
            _text("unitOsVersion", "OS version", "4.9.0", writable=False),
            _text("unitCpldVersion", "CPLD version", "1.2", writable=False),
            _text("unitBoardVersion", "Board version", "B", writable=False),
            Property("unitUpTime", "Up time", "uint", 0, writable=False, units="s"),
            Property("unitTemperature", "Temperature", "int", 41, writable=False, units="C"),
            Property("unitFreeMemory", "Free memory", "uint", 183_296, writable=False,
                     units="KB"),
            _text("unitCvipName", "CVIP name", "cvip-unit"),
            _flag("unitSaveConfig", "Save configuration", 0),
            Property("unitSaveConfigMask", "Save configuration mask", "uint", 0xFF,
                     validation="range", rule=(0, 0xFFFF, 1)),
            _flag("unitLoadDefaultConfig", "Load default configuration", 0),
            Property("unitLoadDefaultConfigMask", "Load default mask", "uint", 0,
                     validation="range", rule=(0, 0xFFFF, 1)),
            Property("unitVideoStandard", "Video standard", "string", "PAL",
                     validation="list", rule=("NTSC", "PAL")),
        )
    if family == "cviNetwork":
        return (
            _text("unitNetworkName", "Network name", "cvip-unit"),
            _ip("networkNtpServer", "NTP server", "192.0.2.1"),
            _text("unitDomainName", "Domain name", "example.net"),
            _ip("networkDnsServer1", "DNS server 1", "192.0.2.53"),
            _ip("networkDnsServer2", "DNS server 2", "198.51.100.53"),
            _ip("networkGateway", "Gateway", "192.0.2.254"),
        )
    if family == "cviNetwork.n":
        return (
            _ip("networkIpAddress", "IP address", f"192.0.2.{9 + index}"),
            _ip("networkSubnetMask", "Subnet mask", "255.255.255.0"),
            _flag("networkOnBoot", "Enable on boot"),
            _flag("networkUseDhcp", "Use DHCP", 0),
            _flag("networkPeerNtp", "NTP from DHCP", 0),
            _flag("networkPeerDns", "DNS from DHCP", 0),
        )
    if family == "cviVideo.n":
        return (
            _flag("videoInputState", "Input enabled"),
            _flag("videoObstructionDetEnable", "Obstruction detection", 0),
            _level("videoObstructionDetSensitivity", "Obstruction sensitivity", 50, 100),
            _text("videoInputName", "Input name", f"Camera {index}"),
            _level("videoInputBrightness", "Brightness", 128),
            _level("videoInputContrast", "Contrast", 128),
            _level("videoInputSaturation", "Saturation", 128),
            _level("videoInputHue", "Hue", 128),
        )
    if family == "cviVideo.n.m":
        return (
            _flag("videoEncoderState", "Encoder enabled"),
            Property("videoEncoderResolution", "Resolution", "string", "D1",
                     validation="list", rule=("CIF", "D1", "720p", "1080p")),
            Property("videoEncoderSkipRate", "Skip rate", "uint", 0, validation="range",
                     rule=(0, 29, 1)),
            Property("videoEncoderFrameRate", "Frame rate", "uint", 25, validation="range",
                     rule=(1, 30, 1), units="fps"),
            Property("videoEncoderQuantizerMin", "Quantizer min", "uint", 4,
                     validation="range", rule=(1, 31, 1)),
            Property("videoEncoderQuantizerMax", "Quantizer max", "uint", 28,
                     validation="range", rule=(1, 31, 1)),
            Property("videoEncoderIntraInterval", "Intra interval", "uint", 50,
                     validation="range", rule=(1, 300, 1), units="frames"),
            Property("videoEncoderCompression", "Compression", "string", "H264",
                     validation="list", rule=("H264", "MP4V")),
            Property("videoEncoderRateControl", "Rate control", "string", "VBR",
                     validation="list", rule=("CBR", "VBR")),
            Property("videoEncoderMaxBitRate", "Max bit rate", "uint", 4000,
                     validation="range", rule=(64, 8000, 1), units="kbps"),
            Property("videoEncoderTargetBitRate", "Target bit rate", "uint", 2000,
                     validation="range", rule=(64, 8000, 1), units="kbps"),
        )
    if family == "cviMotionDetection.n":
        return (
            _flag("motiondetectionEnable", "Motion detection"),
            _level("motiondetectionSensitivity", "Sensitivity", 60, 100),
            _level("motiondetectionSizeBlock", "Block size", 16, 64, units="px"),
            _level("motiondetectionSizeMin", "Minimum size", 4, 64, units="blocks"),
            _level("motiondetectionRatioCar", "Car ratio", 30, 100, units="%"),
            _level("motiondetectionRatioHuman", "Human ratio", 40, 100, units="%"),
            _text("motiondetectionStringRMA", "RMA string", ""),
        )
    return ()


@dataclass(slots=True)
class PropertyStore:
    """Current property values of one service instance."""

    service: str
    table: tuple[Property, ...]
    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for prop in self.table:
            self.values.setdefault(prop.id, prop.initial)

    def find(self, pid: str) -> Property | None:
        folded = pid.casefold()
        for prop in self.table:
            if prop.id.casefold() == folded:
                return prop
        return None
