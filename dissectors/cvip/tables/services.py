"""Services, properties and the per-type property lists of CVIPv2.

* :data:`SERVICES`: §Service and Properties 1. Service, plus the services that only the
  command details define (``cviPlayback``, ``cviEvent``...) and the ``system`` pseudo
  service of §Command details 3.2 Discover Services.
* :data:`PROPERTIES`: §Service and Properties 2. Properties, with access rights.
* :data:`PROFILE_PROPERTIES`, :data:`ENTITY_PROPERTIES`, :data:`APPLICATION_PROPERTIES`:
  which fields a ``<ProfileProperty>`` / ``<EntityProperty>`` / ``<ApplicationProperty>``
  may hold, by type id.

Names are spelled as printed, with the PDF conversion's misread letters fixed
(``networklpAddress`` → ``networkIpAddress``, ``CameralD`` → ``CameraID``); DECISIONS.md
lists every fix.
"""

from __future__ import annotations

from dissectors.cvip.tables.model import SPEC, PropertySpec, ServiceSpec

SERVICE_TABLE = SPEC + "Service and Properties 1. Service"
PROPERTY_TABLE = SPEC + "Service and Properties 2. Properties"

_VIDEO_INPUTS = tuple(f"{n:02d}" for n in range(1, 9))
_VIDEO_INSTANCES = _VIDEO_INPUTS + tuple(f"{n}.{m}" for n in _VIDEO_INPUTS for m in (1, 2))


def _row(name: str, use: str, prop: bool, func: bool, **kw: object) -> ServiceSpec:
    return ServiceSpec(name, use, prop, func, SERVICE_TABLE, **kw)  # type: ignore[arg-type]


SERVICES: tuple[ServiceSpec, ...] = (
    # Rows of the service table, in order.
    _row("cvip", "CVIP protocol property", True, False),
    _row("cviUnit", "Browse NVR informations", True, False),
    _row("cviNVR", "Browse recorded media", False, True, spellings=("cviNVR", "cviNvr")),
    _row("cviClipExporter", "Download recorded media", False, True),
    _row("cviRecord", "Manage Recording service", False, True),
    _row("cviDisplay", "Manage Display service", False, True),
    _row("cviStream", "Manage Stream service", False, True),
    _row("cviUpdateFirmware", "Update NVR Firmware", False, True),
    _row("cviNetwork", "Configure NVR, Network configuration", True, False,
         instances=1, listed_instances=("1", "2")),
    _row("cviVideo", "Configure NVR, Video configuration input nn / encoder m", True, False,
         instances=2, listed_instances=_VIDEO_INSTANCES),
    # The table's last row leaves "Property support" empty for cviUser.
    _row("cviUser", "Manage User service", False, True),
    # Services the command details define but the service table does not list.
    ServiceSpec("system", "Discover Services", False, False,
                SPEC + "Command details 3.2) Discover Services", spellings=("system", "System")),
    ServiceSpec("cviSerialPort", "Manage Serial Port Service", None, None,
                SPEC + "Command details 4.1) Manage Serial Port Service"),
    ServiceSpec("cviAnalytics", "Manage Analytics Service", None, None,
                SPEC + "Command details 4.4) Manage Analytics Service"),
    ServiceSpec("cviPtz", "Manage PTZ Service", None, None,
                SPEC + "Command details 4.5) Manage PTZ Service", spellings=("cviPtz", "cviPTZ")),
    ServiceSpec("cviPlayback", "Manage Playback Service", None, None,
                SPEC + "Command details 5.2) Manage Playback Service"),
    ServiceSpec("cviMedia", "Manage Media Service", None, None,
                SPEC + "Command details 5.3) Manage Media Serivce"),
    ServiceSpec("cviEvent", "Manage Camera Event Service", None, None,
                SPEC + "Command details 5.4) Manage Camera Event Service"),
    ServiceSpec("cviProfile", "Manage Device Profile Service", None, None,
                SPEC + "Command details 6.1) Manage Device Profile Service"),
    ServiceSpec("cviEntity", "Manage Device Entity Service", None, None,
                SPEC + "Command details 6.2) Manage Device Entity Service"),
    ServiceSpec("cviApplication", "Manage Application Service", None, None,
                SPEC + "Command details 6.4) Manage Application Service"),
    ServiceSpec("cviMotionDetection", "Motion detection configuration", True, None,
                PROPERTY_TABLE, instances=1),
)


def _props(service: str, access: str, *ids: str) -> tuple[PropertySpec, ...]:
    return tuple(PropertySpec(service, pid, access, PROPERTY_TABLE) for pid in ids)  # type: ignore[arg-type]


_NETWORK_PORT = ("networkIpAddress", "networkSubnetMask", "networkOnBoot", "networkUseDhcp",
                 "networkPeerNtp", "networkPeerDns")

PROPERTIES: tuple[PropertySpec, ...] = (
    *_props("cvip", "rw", "cvipPort"),
    *_props("cviUnit", "ro", "unitProductName", "unitCompanyName", "unitMarketingName",
            "unitFirmwareVersion", "unitOsVersion", "unitCpldVersion", "unitBoardVersion",
            "unitUpTime", "unitTemperature", "unitFreeMemory"),
    *_props("cviUnit", "rw", "unitCvipName", "unitSaveConfig", "unitSaveConfigMask",
            "unitLoadDefaultConfig", "unitLoadDefaultConfigMask", "unitVideoStandard"),
    *_props("cviNetwork", "rw", "unitNetworkName", "networkNtpServer", "unitDomainName",
            "networkDnsServer1", "networkDnsServer2", "networkGateway"),
    # cviNetwork.1 and cviNetwork.2 carry the same per-port set.
    *_props("cviNetwork.<n>", "rw", *_NETWORK_PORT),
    *_props("cviVideo.<n>", "rw", "videoInputState", "videoObstructionDetEnable",
            "videoObstructionDetSensitivity", "videoInputName", "videoInputBrightness",
            "videoInputContrast", "videoInputSaturation", "videoInputHue"),
    *_props("cviVideo.<n>.<m>", "rw", "videoEncoderState", "videoEncoderResolution",
            "videoEncoderSkipRate", "videoEncoderFrameRate", "videoEncoderQuantizerMin",
            "videoEncoderQuantizerMax", "videoEncoderIntraInterval", "videoEncoderCompression",
            "videoEncoderRateControl", "videoEncoderMaxBitRate", "videoEncoderTargetBitRate"),
    *_props("cviMotionDetection.<n>", "rw", "motiondetectionEnable",
            "motiondetectionSensitivity", "motiondetectionSizeBlock", "motiondetectionSizeMin",
            "motiondetectionRatioCar", "motiondetectionRatioHuman", "motiondetectionStringRMA"),
)

_PROFILE_SECTION = SPEC + "Command details 6.1) Manage Device Profile Service (Profile Type ID)"
_ENTITY_SECTION = SPEC + "Command details 6.2) Manage Device Entity Service (Entity Type ID)"
_APP_SECTION = SPEC + "Command details 6.4) Manage Application Service (Application Type ID)"

PROFILE_PROPERTIES: dict[int, tuple[str, ...]] = {
    0x01: ("portType", "baudRate", "parity", "stopBit", "dataBit", "portMode"),
    0x02: ("dateValid", "startDateTime", "endDateTime", "iteration", "specificDateTime",
           "timeBlock"),
    0x03: ("targetBitRate", "maxBitRate", "rateControl", "compression", "intrainterval",
           "QMax", "QMin", "frameRate", "skipRate", "resolution"),
    0x04: ("channel", "samplingFreq", "samplingBits", "format"),
}

ENTITY_PROPERTIES: dict[int, tuple[str, ...]] = {
    0x01: ("Capability", "PhyAddr", "LogicalID"),
    0x02: (),
    # "Input/Output Number" is one row of the table; written without spaces on the wire.
    0x03: ("Enable", "IPAddress", "Port", "InputOutputNumber", "DeviceGuid", "DeviceType",
           "DeviceUpdateTime"),
    0x04: ("LogicID", "CameraID", "Duration", "PrePosition"),
    0x05: ("MapEntityTypeID", "MapEntityID", "MapEntityPosX", "MapEntityPosY",
           "MapEntityRotation"),
    0x06: ("ImageTypeID", "ImageSize", "ImageData"),
    0x33: ("ObjectID", "AlarmID", "AlarmType", "BGColor", "FGColor", "Message", "Font",
           "FontSize", "PosX", "PosY"),
}

APPLICATION_PROPERTIES: dict[int, tuple[str, ...]] = {
    0x01: ("SerialPortEntityIp", "SerialPortEntityPort", "SerialPortServiceID"),
    0x02: ("VideoSourceEntityIP", "VideoSourceEntityPort", "VideoEncoderServiceID"),
    0x03: ("VideoSinkEntityIP", "VideoSinkEntityPort", "VideoRecorderServiceID"),
    # "VideoRecoderServiceID" as printed (sic) in the Video Recording row.
    0x04: ("VideoSourceEntityIP", "VideoSourceEntityPort", "VideoEncoderServiceID",
           "VideoSinkEntityIP", "VideoSinkEntityPort", "VideoRecoderServiceID"),
}

# The Service ID table (2.12): "<ServiceProfile>" is a member named after the service's
# profile; "RecoderProfile" as printed (sic), "RecorderProfile" as meant.
SERVICE_PROFILES: dict[int, tuple[str, ...]] = {
    0x01: ("SerialPortProfile",),
    0x02: ("RecoderProfile", "RecorderProfile"),
    0x03: ("VideoEncoderProfile",),
    0x04: ("AudioEncoderProfile",),
}
_SERVICE_SECTION = SPEC + "Command details 6.2) Manage Device Entity Service (Service ID)"

PROPERTY_SETS: dict[str, tuple[dict[int, tuple[str, ...]], str]] = {
    "profile": (PROFILE_PROPERTIES, _PROFILE_SECTION),
    "entity": (ENTITY_PROPERTIES, _ENTITY_SECTION),
    "application": (APPLICATION_PROPERTIES, _APP_SECTION),
    "service": (SERVICE_PROFILES, _SERVICE_SECTION),
}

# Entity properties whose values are codes of another table.
ENTITY_PROPERTY_CODES: dict[str, tuple[str, str]] = {
    "Capability": ("bits", "camera_capability"),
    "ImageTypeID": ("enum", "image_type"),
    "MapEntityTypeID": ("enum", "map_entity_type"),
}
