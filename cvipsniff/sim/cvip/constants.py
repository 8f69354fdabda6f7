"""CVIPv2 numbers as the reference peers use them, each with the spec section it is from.

Written from ../shared/spec/cvipv2-protocol.txt independently of ``dissectors.cvip`` on
purpose: the peers and the dissector cross-check each other, so they must not share a
table (or its mistakes).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

# --- "CVIPv2 Message Header": version, message type, txn (MSB = response), size ---------
PROTOCOL_VERSION = 0x0201
HEADER_SIZE = 9
RESPONSE_BIT = 0x8000
TXN_MASK = 0x7FFF
# Non-ping messages carry type 0x00 ("only used in Discovery Ping message").
MSG_TYPE_NONE = 0x00
# "Discover Device": the request is CVIP_MSG_TYPE_D_PING_REQ = 0x01 and the document
# gives the response the same value (NOTES 2). We write 0x01 for both, as printed; the
# response bit and the length tell the two apart.
MSG_TYPE_PING_REQUEST = 0x01
MSG_TYPE_PING_RESPONSE = 0x01
PING_REQUEST_SIZE = 16
PING_RESPONSE_SIZE = 37

# --- "Note: Default & common CVIP Port" ------------------------------------------------
DEFAULT_PORT = 7110
COMMON_PORT = 9990


class ConnectionType(IntEnum):
    """CVIP Ping Request "Connection Type"."""

    UDP_UNICAST = 0x01
    UDP_MULTICAST = 0x02
    TCP = 0x0C
    UDP_BROADCAST = 0x10


class AckCode(IntEnum):
    """"Acknowledge Response" error codes (section 3.1)."""

    SUCCESS = 0x01000000
    FAIL = 0x01000001
    BUSY = 0x01000003
    INVALID = 0x01000004


class EventAckCode(IntEnum):
    """``cviEvent.ack`` AckReturnCode (NVR 4.4), numbered differently from :class:`AckCode`
    in the document (NOTES 4); the peers answer cviEvent.ack with these, as printed."""

    SUCCESS = 0x01000000
    FAIL = 0x01000001
    BUSY = 0x01000002
    INVALID = 0x01000003


class EventType(IntFlag):
    """"Event type table" (NVR 4.1): bits of cviEvent.subscribe/notify ``Type``."""

    KEEP_ALIVE = 0x01
    EXTERNAL = 0x02
    MOTION = 0x04
    VIDEO_INPUT = 0x08
    RECORD_LOSS = 0x10
    RECORD_DISC = 0x20


ALL_EVENT_TYPES = 0x3F


class PtzProtocol(IntEnum):
    """cviPtz.setProperties ``ProtocolType`` (Device 5.1)."""

    PELCO_P = 0x01
    PELCO_D = 0x02
    PANASONIC = 0x03


class PtzCommand(IntEnum):
    """cviPtz.cmd ``CmdType`` (Device 5.2)."""

    STOP = 0x00
    PAN = 0x01
    TILT = 0x02
    ZOOM = 0x03
    SET_PRESET = 0x04
    GOTO_PRESET = 0x05
    LEFTUP_RIGHTDOWN = 0x06
    RIGHTUP_LEFTDOWN = 0x07


PTZ_SPEED_MAX = 16  # CmdData: "a signed value between 1 and 16"


class PlaybackState(IntEnum):
    """"Play State" table (NVR 2.4)."""

    PAUSE = 0x00
    PLAY = 0x01
    STOP = 0x02
    FASTFORWARD = 0x03
    FASTBACKWARD = 0x04
    STEPFORWARD = 0x08
    STEPBACKWARD = 0x09


class MediaType(IntEnum):
    """"Media Type" table (NVR 2.1)."""

    H264 = 0x01
    MP4V = 0x02
    VSM4 = 0x03


class UserPrivilege(IntFlag):
    """"User Privilege" table (Master 3.10)."""

    STREAMING = 0x0001
    PLAYBACK = 0x0002
    SNAPSHOT = 0x0004
    RECORD = 0x0008
    HOUSEKEEPING = 0x0010
    TEMPLATE = 0x0020
    SYSTEM_EXIT = 0x0040


ALL_PRIVILEGES = 0x007F


class ProfileType(IntEnum):
    """"Profile Type ID" table (Master 1.4) with each type's properties below."""

    SERIAL_PORT = 0x01
    SCHEDULE = 0x02
    VIDEO_ENCODER = 0x03
    AUDIO_ENCODER = 0x04


PROFILE_PROPERTIES: dict[int, tuple[str, ...]] = {
    ProfileType.SERIAL_PORT: ("portType", "baudRate", "parity", "stopBit", "dataBit", "portMode"),
    ProfileType.SCHEDULE: (
        "dateValid", "startDateTime", "endDateTime", "iteration", "specificDateTime", "timeBlock",
    ),
    ProfileType.VIDEO_ENCODER: (
        "targetBitRate", "maxBitRate", "rateControl", "compression", "intrainterval",
        "QMax", "QMin", "frameRate", "skipRate", "resolution",
    ),
    ProfileType.AUDIO_ENCODER: ("channel", "samplingFreq", "samplingBits", "format"),
}


class EntityType(IntEnum):
    """"Entity Type ID" table (Master 2.10)."""

    CAMERA = 0x01
    MONITOR = 0x02
    DEVICE = 0x03
    SEQUENCE = 0x04
    MAP = 0x05
    IMAGE = 0x06
    ALARM_MESSAGE = 0x33


class ApplicationType(IntEnum):
    """"Application Type ID" table (Master 4.3) with each type's properties below."""

    PTZ_CONTROL = 0x01
    VIDEO_STREAMING = 0x02
    VIDEO_PLAYBACK = 0x03
    VIDEO_RECORDING = 0x04


APPLICATION_PROPERTIES: dict[int, tuple[str, ...]] = {
    ApplicationType.PTZ_CONTROL: (
        "SerialPortEntityIp", "SerialPortEntityPort", "SerialPortServiceID",
    ),
    ApplicationType.VIDEO_STREAMING: (
        "VideoSourceEntityIP", "VideoSourceEntityPort", "VideoEncoderServiceID",
    ),
    ApplicationType.VIDEO_PLAYBACK: (
        "VideoSinkEntityIP", "VideoSinkEntityPort", "VideoRecorderServiceID",
    ),
    ApplicationType.VIDEO_RECORDING: (
        "VideoSourceEntityIP", "VideoSourceEntityPort", "VideoEncoderServiceID",
        "VideoSinkEntityIP", "VideoSinkEntityPort", "VideoRecoderServiceID",
    ),
}

# "Service ID" table (Master 2.12): the service id is written "0x01.[1n]", i.e. a type
# and an instance number; the peers carry it as the string "<type>.<instance>".
SERVICE_TYPE_IDS: dict[int, str] = {
    0x01: "SerialPort",
    0x02: "Recoder",
    0x03: "VideoEncoder",
    0x04: "AudioEncoder",
}

CAMERA_CAPABILITY_PTZ = 0x01  # "SURPPORT_PTZ"
CAMERA_CAPABILITY_AUX = 0x02

# Firmware update progress (Common 4.2): the document shows only FWUPDUNINITIALIZED and
# FWUPD_STATUS_OK; the later states follow the same spelling.
FW_STATE_UNINITIALIZED = "FWUPDUNINITIALIZED"
FW_STATE_DOWNLOADING = "FWUPDDOWNLOADING"
FW_STATE_INSTALLING = "FWUPDINSTALLING"
FW_STATE_REBOOTING = "FWUPDREBOOTING"
FW_STATE_COMPLETED = "FWUPDCOMPLETED"
FW_STATUS_OK = "FWUPD_STATUS_OK"

# Time formats (NOTES 13): playback "YYYYMMDDHHMMSS", event "YYYY-MM-DD HH:MM:SS".
PLAYBACK_TIME_FORMAT = "%Y%m%d%H%M%S"
EVENT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
