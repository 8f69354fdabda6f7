"""The state of one simulated CVIP unit (device, NVR or master server).

Plain data plus the few state machines that are real: the firmware update procedure,
playback sessions and the simulated event source. Everything is seeded, and time comes
from an injected clock, so an in-process run is reproducible byte for byte.
"""

from __future__ import annotations

import hashlib
import random
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cvipsniff.sim.cvip.catalogue import (
    PropertyStore,
    Service,
    properties_for,
    services_for,
)
from cvipsniff.sim.cvip.constants import (
    APPLICATION_PROPERTIES,
    CAMERA_CAPABILITY_PTZ,
    FW_STATE_COMPLETED,
    FW_STATE_DOWNLOADING,
    FW_STATE_INSTALLING,
    FW_STATE_REBOOTING,
    FW_STATE_UNINITIALIZED,
    FW_STATUS_OK,
    PROFILE_PROPERTIES,
    ApplicationType,
    EntityType,
    EventType,
    MediaType,
    PlaybackState,
    ProfileType,
    UserPrivilege,
)

Clock = Callable[[], datetime]
ARCHIVE_START = datetime(2015, 9, 9, 0, 0, 0)
FRAMES_PER_SECOND = 25
MANUFACTURER_ID = 0x5856  # "XV"
PRODUCT_TYPES = {"device": 0x0101, "nvr": 0x0201, "master": 0x0301}
STREAM_LIMIT = 8
PLAYBACK_LIMIT = 4


def md5_hex(text: str) -> str:
    """User names and passwords travel MD5-encoded (Master 3.1 note)."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def guid_text(raw: bytes) -> str:
    """The spec's GUID spelling (8-4-4-13 hex digits, as in ``00000001-0000-0000-
    0001EC901E30B``) of 16 raw bytes; the ping carries the raw bytes."""
    digits = raw.hex().upper()
    return f"{digits[0:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:29]}"


@dataclass(slots=True)
class FirmwareUpdate:
    """Common 4: start, then each getProgressInfo poll moves the procedure on: download
    in four chunks, erase/write the flash in two, reboot, done."""

    state: str = FW_STATE_UNINITIALIZED
    status: str = FW_STATUS_OK
    image: str = ""
    authentication: str = ""
    done_bytes: int = 0
    total_bytes: int = 0
    steps: int = 0

    @property
    def busy(self) -> bool:
        return self.state not in (FW_STATE_UNINITIALIZED, FW_STATE_COMPLETED)

    def start(self, image: str, authentication: str) -> None:
        self.state = FW_STATE_DOWNLOADING
        self.image = image
        self.authentication = authentication
        self.total_bytes = 0x200000 + (zlib.crc32(image.encode("utf-8")) % 1024) * 1024
        self.done_bytes = 0
        self.steps = 0

    def advance(self) -> bool:
        """One step on; True when this step completed the update (the unit rebooted)."""
        if self.state == FW_STATE_DOWNLOADING:
            self.done_bytes = min(self.total_bytes, self.done_bytes + self.total_bytes // 4 + 1)
            if self.done_bytes >= self.total_bytes:
                self.state, self.done_bytes, self.steps = FW_STATE_INSTALLING, 0, 0
        elif self.state == FW_STATE_INSTALLING:
            self.steps += 1
            self.done_bytes = min(self.total_bytes, self.done_bytes + self.total_bytes // 2 + 1)
            if self.steps >= 2:
                self.state = FW_STATE_REBOOTING
        elif self.state == FW_STATE_REBOOTING:
            self.state = FW_STATE_COMPLETED
            return True
        return False

    def new_version(self) -> str:
        found = re.search(r"(\d+\.\d+(?:\.\d+)*)", self.image)
        return found.group(1) if found else "2.1.9"


@dataclass(slots=True)
class Playback:
    """A playback session (NVR 2): state, speed and a frame position within its length."""

    playback_id: int
    guid: str
    major: int
    minor: int
    start: str
    end: str
    dest: tuple[str, int, str]
    length: int
    state: int = PlaybackState.PLAY
    speed: int = 1
    position: int = 0
    media_type: int = MediaType.H264


@dataclass(slots=True, frozen=True)
class Clip:
    """A recorded clip in the NVR's archive (NVR 3), tagged with the events it holds."""

    clip_id: int
    major: int
    minor: int
    time: datetime
    media_type: int
    events: int


@dataclass(slots=True, frozen=True)
class SimulatedEvent:
    """An event the unit "detects" (use case 4.3): type bit, channel, on/off."""

    type: int
    channel: int
    info: int


@dataclass(slots=True)
class Unit:
    """One unit's identity and state. Build with :meth:`create`."""

    role: str
    ip: str
    port: int
    clock: Clock
    rng: random.Random
    guid_raw: bytes
    guid: str
    manufacturer_id: int
    product_type: int
    inputs: int
    encoders: int
    boot_time: datetime
    services: list[Service]
    properties: dict[str, PropertyStore]
    rebooted: bool = False
    firmware: FirmwareUpdate = field(default_factory=FirmwareUpdate)
    event_serial: int = 0
    event_cycle: int = 0
    events: dict[str, tuple[SimulatedEvent, datetime]] = field(default_factory=dict)
    acked_events: dict[str, str] = field(default_factory=dict)
    # device
    serial_pipes: dict[int, dict[str, Any]] = field(default_factory=dict)
    streams: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_stream_id: int = 1
    displays: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    analytics: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    serial_config: dict[int, dict[str, Any]] = field(default_factory=dict)
    ptz_ports: dict[int, dict[str, Any]] = field(default_factory=dict)
    ptz_commands: list[dict[str, Any]] = field(default_factory=list)
    # nvr
    recordings: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    playbacks: dict[int, Playback] = field(default_factory=dict)
    next_playback_id: int = 1
    clips: list[Clip] = field(default_factory=list)
    exports: list[dict[str, Any]] = field(default_factory=list)
    # master
    credentials: dict[str, str] = field(default_factory=dict)
    app_guids: dict[str, str] = field(default_factory=dict)
    user_groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    entity_groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    entities: dict[int, dict[str, Any]] = field(default_factory=dict)
    entity_versions: dict[int, tuple[int, datetime]] = field(default_factory=dict)
    entity_services: dict[tuple[int, str], list[tuple[str, Any]]] = field(default_factory=dict)
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)
    applications: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    mounts: set[tuple[int, int, int]] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        role: str,
        *,
        seed: int = 1,
        ip: str = "127.0.0.1",
        port: int = 7110,
        clock: Clock | None = None,
        inputs: int = 2,
        encoders: int = 2,
    ) -> Unit:
        rng = random.Random(f"cvip-unit:{seed}:{role}:{ip}")
        raw = rng.randbytes(16)
        clock = clock or datetime.now
        services = services_for(role, inputs, encoders)
        properties: dict[str, PropertyStore] = {}
        for service in services:
            if not service.properties:
                continue
            index = int(service.id.split(".")[1]) if "." in service.id else 1
            table = properties_for(service.method_family, port=port, index=index)
            properties[service.id.casefold()] = PropertyStore(service.id, table)
        unit = cls(
            role=role, ip=ip, port=port, clock=clock, rng=rng, guid_raw=raw,
            guid=guid_text(raw), manufacturer_id=MANUFACTURER_ID,
            product_type=PRODUCT_TYPES[role], inputs=inputs, encoders=encoders,
            boot_time=clock(), services=services, properties=properties,
        )
        unit._populate()
        return unit

    # --- lookups ----------------------------------------------------------------------

    def service(self, service_id: str) -> Service | None:
        """The service by id, ignoring letter case: the service table writes cviNVR, the
        examples cviNvr, the PTZ example cviPTZ (NOTES 10)."""
        folded = service_id.casefold()
        for service in self.services:
            if service.id.casefold() == folded:
                return service
        return None

    def next_id(self, counter: str, start: int = 1) -> int:
        value = self.counters.get(counter, start)
        self.counters[counter] = value + 1
        return value

    def new_guid(self, serial: int) -> str:
        """A fresh GUID in the spec's shape, unique on this unit."""
        return f"{serial:08X}-0000-0000-{self.guid[-13:]}"

    def uptime_seconds(self) -> int:
        return max(0, int((self.clock() - self.boot_time).total_seconds()))

    # --- events -----------------------------------------------------------------------

    _CYCLE = (
        (EventType.KEEP_ALIVE, 0, 1),
        (EventType.MOTION, 1, 1),
        (EventType.VIDEO_INPUT, 2, 1),
        (EventType.EXTERNAL, 1, 1),
        (EventType.MOTION, 1, 0),
        (EventType.VIDEO_INPUT, 2, 0),
        (EventType.RECORD_LOSS, 1, 1),
        (EventType.EXTERNAL, 1, 0),
        (EventType.RECORD_DISC, 2, 1),
    )

    def next_simulated_event(self) -> SimulatedEvent:
        """The next event of the unit's round-robin simulated detector."""
        kind, channel, info = self._CYCLE[self.event_cycle % len(self._CYCLE)]
        self.event_cycle += 1
        return SimulatedEvent(int(kind), channel, info)

    def record_event(self, event: SimulatedEvent) -> tuple[str, datetime]:
        """Give an event its EventGUID and time, and remember it for cviEvent.ack."""
        self.event_serial += 1
        event_guid = self.new_guid(0x00E00000 + self.event_serial)
        moment = self.clock().replace(microsecond=0)
        self.events[event_guid] = (event, moment)
        if len(self.events) > 1024:  # bounded memory on a long-running server
            self.events.pop(next(iter(self.events)))
        return event_guid, moment

    # --- initial content --------------------------------------------------------------

    def _populate(self) -> None:
        if self.role == "nvr":
            self._populate_archive()
        if self.role == "master":
            self._populate_master()
        for ptz_id in (1, 2):
            self.ptz_ports[ptz_id] = {"ProtocolType": 2, "UserPriority": 0}

    def _populate_archive(self) -> None:
        """Recorded clips every 20 minutes for six hours on each input (NVR 3)."""
        for major in range(1, self.inputs + 1):
            for n in range(18):
                events = 0
                if n % 3 == 1:
                    events |= EventType.MOTION
                if n % 5 == 2:
                    events |= EventType.VIDEO_INPUT
                self.clips.append(Clip(
                    clip_id=major * 1000 + n + 1, major=major, minor=1,
                    time=ARCHIVE_START + timedelta(minutes=20 * n),
                    media_type=MediaType.H264, events=int(events),
                ))

    def _populate_master(self) -> None:
        now = self.clock().replace(microsecond=0)
        self.credentials[md5_hex("admin")] = md5_hex("admin")
        self.user_groups = {
            1: {"GroupName": "Administrators", "GroupDescription": "Full control",
                "GroupPrivilege": 0x7F},
            2: {"GroupName": "Operators", "GroupDescription": "Live and playback",
                "GroupPrivilege": int(UserPrivilege.STREAMING | UserPrivilege.PLAYBACK)},
        }
        self.counters["user-group"] = 3
        self.users = {
            1: {"UserName": "admin", "UserDescription": "Built-in administrator",
                "UserPriority": 1, "UserPrivilege": 0x7F, "GroupID": 1},
        }
        self.counters["user"] = 2
        self.entity_groups = {
            1: {"EntityTypeID": EntityType.CAMERA, "GroupName": "Lobby",
                "GroupDesc": "Ground floor cameras"},
            2: {"EntityTypeID": EntityType.DEVICE, "GroupName": "Edge units",
                "GroupDesc": "Encoders and recorders"},
        }
        self.counters["entity-group"] = 3
        for n in range(1, 8):
            self.entities[n] = {
                "EntityTypeID": EntityType.CAMERA, "GroupID": 1, "EntityName": f"Camera {n}",
                "EntityDesc": f"Lobby camera {n}",
                "props": [("Capability", CAMERA_CAPABILITY_PTZ if n <= 2 else 0),
                          ("PhyAddr", n), ("LogicalID", 100 + n)],
            }
        self.entities[101] = {
            "EntityTypeID": EntityType.DEVICE, "GroupID": 2, "EntityName": "Encoder 1",
            "EntityDesc": "Two-input encoder",
            "props": [("Enable", 1), ("IPAddress", "192.0.2.10"), ("Port", 7110),
                      ("Input/Output Number", 2), ("DeviceGuid", self.new_guid(0x101)),
                      ("DeviceType", 1), ("DeviceUpdateTime", "2015-09-09 08:00:00")],
        }
        self.counters["entity"] = 102
        for entity_type in EntityType:
            self.entity_versions[int(entity_type)] = (1, now)
        self.entity_services[(101, "3.1")] = [("VideoEncoderProfile", 3)]
        self.entity_services[(101, "1.1")] = [("SerialPortProfile", 1)]
        defaults = {
            ProfileType.SERIAL_PORT: ("RS485", 9600, "none", 1, 8, "half-duplex"),
            ProfileType.SCHEDULE: (1, "20150909000000", "20151231235959", "daily", "", "0-24"),
            ProfileType.VIDEO_ENCODER: (2000, 4000, "VBR", "H264", 50, 28, 4, 25, 0, "D1"),
            ProfileType.AUDIO_ENCODER: (1, 8000, 16, "G711"),
        }
        for profile_type, values in defaults.items():
            profile_id = int(profile_type)
            self.profiles[profile_id] = {
                "ProfileTypeID": int(profile_type),
                "props": list(zip(PROFILE_PROPERTIES[profile_type], values, strict=True)),
            }
        self.counters["profile"] = 5
        self.applications[(1, ApplicationType.PTZ_CONTROL)] = {
            "EntityTypeID": EntityType.CAMERA,
            "props": list(zip(APPLICATION_PROPERTIES[ApplicationType.PTZ_CONTROL],
                              ("192.0.2.10", 7110, "1.1"), strict=True)),
        }
        self.counters["app-guid"] = 1
