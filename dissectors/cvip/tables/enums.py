"""Enumerations and bit sets of CVIPv2, each as printed in the document with its section.

Where the document disagrees with itself (the two acknowledge tables) both tables are
kept; which one applies is the ``ack_table`` option (DECISIONS.md §Ack codes).
"""

from __future__ import annotations

from dissectors.cvip.tables.model import SPEC, BitSetSpec, EnumSpec

CONNECTION_TYPE = EnumSpec(
    "connection_type", "Connection Type",
    {0x01: "UDP unicast", 0x02: "UDP multicast", 0x10: "UDP broadcast", 0x0C: "TCP"},
    SPEC + "Command details 3.2) Discover Device, CVIP Ping Request: Connection Type",
    {0x01: "CVIP_UDP_UNICAST", 0x02: "CVIP_UDP_MULTICAST", 0x10: "CVIP_UDP_BROADCAST",
     0x0C: "CVIP_TCP"},
)

ACK_RESPONSE = EnumSpec(
    "ack_response", "Acknowledge Response error codes",
    {0x01000000: "Success", 0x01000001: "Fail", 0x01000003: "Busy", 0x01000004: "Invalid"},
    SPEC + "Command details 3.1) Acknowledge Response",
    {0x01000000: "The request operation successes",
     0x01000001: "The request operation fails",
     0x01000003: "The server is too busy to process request",
     0x01000004: "The syntax of the message is invalid"},
)

ACK_EVENT = EnumSpec(
    "ack_event", "cviEvent.ack AckReturnCode",
    {0x01000000: "Success", 0x01000001: "Fail", 0x01000002: "Busy", 0x01000003: "Invalid"},
    SPEC + "Command details 5.4) Manage Camera Event Service, 4.4 Acknowledge event",
    {0x01000000: "success", 0x01000001: "fail", 0x01000002: "server busy",
     0x01000003: "invalid packet"},
)

PTZ_PROTOCOL = EnumSpec(
    "ptz_protocol", "PTZ Protocol Type",
    {0x01: "Pelco P", 0x02: "Pelco D", 0x03: "Panasonic"},
    SPEC + "Command details 4.5) Manage PTZ Service, 1. Set PTZ Pipe",
)

PTZ_COMMAND = EnumSpec(
    "ptz_command", "PTZ CmdType",
    {0x00: "Stop", 0x01: "Pan", 0x02: "Tilt", 0x03: "Zoom", 0x04: "Set pre-position",
     0x05: "Go to pre-position", 0x06: "LeftUp/RightDown", 0x07: "RightUp/LeftDown"},
    SPEC + "Command details 4.5) Manage PTZ Service, 2. Send PTZ command",
)

MEDIA_TYPE = EnumSpec(
    "media_type", "Media Type",
    {0x01: "H264", 0x02: "MP4V", 0x03: "VSM4"},
    SPEC + "Command details 5.2) Manage Playback Service, 2.1 Start playback",
    {0x01: "H264 stream", 0x02: "MPEG4 stream", 0x03: "Verint SM4 stream"},
)

PLAYBACK_STATE = EnumSpec(
    "playback_state", "Play State",
    {0x00: "PLAYBACK_STATE_PAUSE", 0x01: "PLAYBACK_STATE_PLAY", 0x02: "PLAYBACK_STATE_STOP",
     0x03: "PLAYBACK_STATE_FASTFORWARD", 0x04: "PLAYBACK_STATE_FASTBACKWARD",
     0x08: "PLAYBACK_STATE_STEPFORWARD", 0x09: "PLAYBACK_STATE_STEPBACKWARD"},
    SPEC + "Command details 5.2) Manage Playback Service, 2.4 Set playback state and speed",
)

# "Event specific data, 1: alarm on, 0: alarm off."
ALARM_INFO = EnumSpec(
    "alarm_info", "cviEvent.notify info",
    {0: "alarm off", 1: "alarm on"},
    SPEC + "Command details 5.4) Manage Camera Event Service, 4.3 Receive event Notification",
)

PROFILE_TYPE = EnumSpec(
    "profile_type", "Profile Type ID",
    {0x01: "SerialPortProfile", 0x02: "ScheduleProfile", 0x03: "VideoEncoderProfile",
     0x04: "AudioEncoderProfile"},
    SPEC + "Command details 6.1) Manage Device Profile Service, 1.4 Delete Profile (table)",
)

ENTITY_TYPE = EnumSpec(
    "entity_type", "Entity Type ID",
    {0x01: "Camera", 0x02: "Monitor", 0x03: "Device", 0x04: "Sequence", 0x05: "Map",
     0x06: "Image", 0x33: "AlarmMessage"},
    SPEC + "Command details 6.2) Manage Device Entity Service, 2.10 Delete <Entity> (table)",
)

IMAGE_TYPE = EnumSpec(
    "image_type", "ImageTypeID",
    {0x01: "8 bits bitmap", 0x02: "24 bits bitmap", 0x03: "32 bits bitmap",
     0x04: "Png format", 0x05: "JPG format", 0x06: "Gif format"},
    SPEC + "Command details 6.2) Manage Device Entity Service, ImageTypeID table",
)

MAP_ENTITY_TYPE = EnumSpec(
    "map_entity_type", "Map Entity TypeID",
    {0x01: "Map", 0x02: "Image", 0x03: "Camera", 0x04: "Monitor", 0x05: "Sensor",
     0x06: "Intercom", 0x07: "Microphone", 0x08: "Speaker", 0x09: "Relayout",
     0x0A: "Relaybox", 0x0B: "Encoder", 0x0C: "Recorder"},
    SPEC + "Command details 6.2) Manage Device Entity Service, Map Entity TypeID table",
)

SERVICE_ID = EnumSpec(
    "service_id", "Service ID",
    {0x01: "SerialPort", 0x02: "Recorder", 0x03: "VideoEncoder", 0x04: "AudioEncoder"},
    SPEC + "Command details 6.2) Manage Device Entity Service, 2.12 Update <entity> service",
    {0x01: "SerialPortProfile", 0x02: "RecorderProfile", 0x03: "VideoEncoderProfile",
     0x04: "AudioEncoderProfile"},
)

APPLICATION_TYPE = EnumSpec(
    "application_type", "Application Type ID",
    {0x01: "PTZ Control", 0x02: "Video Streaming", 0x03: "Video Playback",
     0x04: "Video Recording"},
    SPEC + "Command details 6.4) Manage Application Service, 4.3 Delete Application (table)",
)

EVENT_TYPE = BitSetSpec(
    "event_type", "Event Type",
    {0x01: "Keep Alive", 0x02: "External", 0x04: "Motion", 0x08: "Video Input",
     0x10: "Record Loss", 0x20: "RecordDisc"},
    SPEC + "Command details 5.4) Manage Camera Event Service, Event type table",
)

USER_PRIVILEGE = BitSetSpec(
    "user_privilege", "User Privilege",
    {0x0001: "Streaming", 0x0002: "Playback", 0x0004: "Snapshot", 0x0008: "Record",
     0x0010: "Housekeeping", 0x0020: "Template", 0x0040: "SystemExit"},
    SPEC + "Command details 6.3) Manage User Service, 3.10 Delete user (User Privilege table)",
)

CAMERA_CAPABILITY = BitSetSpec(
    "camera_capability", "Camera Capability",
    {0x01: "SUPPORT_PTZ", 0x02: "SUPPORT_AUX"},
    SPEC + "Command details 6.2) Manage Device Entity Service (camera capability)",
)

ENUMS: dict[str, EnumSpec] = {
    e.name: e
    for e in (CONNECTION_TYPE, ACK_RESPONSE, ACK_EVENT, PTZ_PROTOCOL, PTZ_COMMAND, MEDIA_TYPE,
              PLAYBACK_STATE, ALARM_INFO, PROFILE_TYPE, ENTITY_TYPE, IMAGE_TYPE,
              MAP_ENTITY_TYPE, SERVICE_ID, APPLICATION_TYPE)
}

BIT_SETS: dict[str, BitSetSpec] = {
    b.name: b for b in (EVENT_TYPE, USER_PRIVILEGE, CAMERA_CAPABILITY)
}

# Ping message types (CVIP_MSG_TYPE_D_PING_REQ / _RESP); 0x00 elsewhere (the header's
# Message Type "only used in Discovery Ping message").
MSG_TYPE_NONE = 0x00
MSG_TYPE_PING = 0x01
PING_RESPONSE_TYPE_CORRECTED = 0x02  # the reading of NOTES 2 that calls 0x01 a copy error

# XML-RPC types the document misspells, with what it means (DECISIONS.md §XML-RPC types).
TYPE_TYPOS: dict[str, str] = {"iint": "int"}
