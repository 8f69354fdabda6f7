"""The CVIPv2 method catalogue: every method of §CVIPv2 command details, with its request
and response fields, how it is answered, and the section it comes from.

Field names are spelled as each table prints them (so ``persistent`` in one table and
``persistant`` in the next), with the PDF conversion's misread letters fixed. Types are
rarely printed; the ``types`` chosen here follow DECISIONS.md §Field types: identifiers,
ports and codes are integers, GUIDs strings in the spec's GUID shape (or integers: the
document calls a GUID a "numeric value"), addresses and names strings, flags boolean or
integer. ``()`` accepts any type where the document gives no clue at all.
"""

from __future__ import annotations

from dataclasses import replace

from dissectors.cvip.tables.model import SPEC, ExtraFields, FieldSpec, MethodSpec

INT = ("int",)
STR = ("string",)
FLAG = ("boolean", "int")
NUM_STR = ("int", "string")

_GUID_DETAILS = "Numeric value unique to every device. Used to control the origin of the media."


def guid(name: str = "GUID", details: str = _GUID_DETAILS, required: bool = True) -> FieldSpec:
    return FieldSpec(name, details, ("string", "int"), required, fmt="guid")


def app_guid(name: str = "AppGUID", details: str = "The application GUID") -> FieldSpec:
    return FieldSpec(name, details, STR, fmt="guid")


def num(name: str, details: str = "", required: bool = True, **kw: object) -> FieldSpec:
    return FieldSpec(name, details, INT, required, **kw)  # type: ignore[arg-type]


def text(name: str, details: str = "", required: bool = True, **kw: object) -> FieldSpec:
    return FieldSpec(name, details, STR, required, **kw)  # type: ignore[arg-type]


def flag(name: str, details: str, required: bool = True) -> FieldSpec:
    return FieldSpec(name, details, FLAG, required)


def ip(name: str, details: str) -> FieldSpec:
    return FieldSpec(name, details, STR, fmt="ipv4")


def port(name: str, details: str) -> FieldSpec:
    return FieldSpec(name, details, INT, range=(0, 65535))


def anything(name: str, details: str, required: bool = True) -> FieldSpec:
    return FieldSpec(name, details, (), required)


def method(service: str, name: str, title: str, section: str,
           request: tuple[FieldSpec, ...] | None, response: tuple[FieldSpec, ...] | None,
           answer: str, **kw: object) -> MethodSpec:
    return MethodSpec(service, name, title, SPEC + "Command details " + section,
                      request, response, answer, **kw)  # type: ignore[arg-type]


# ---- §3 Common Protocol ----------------------------------------------------------------

_DESCRIBE_RESPONSE = (
    text("id", "This is the XML unique name of the service."),
    text("name", "This is the unit friendly name"),
    text("version", "This is the unit version."),
    # Printed propertySupport/functionSupport; the examples send functionsSupport.
    flag("propertySupport", "Reserved", required=False),
    flag("functionSupport", "Reserved", required=False),
)

_EVENT_LIST_RESPONSE = (
    text("id", "This is the XML unique name of the event."),
    text("name", "This is the event friendly name"),
)

_DISCOVER = "3.2) Discover Services, "

COMMON: tuple[MethodSpec, ...] = (
    method("system", "describe", "System.describe", _DISCOVER + "1. System.describe",
           (), _DESCRIBE_RESPONSE, "response"),
    method("system", "listServices", "System.listServices",
           _DISCOVER + "2. System.listServices", (),
           (text("services", "This is the name of an available services."),),
           "response", response_list=True, shape="fields",
           note="the response is an array of service names (strings)"),
    method("system", "listEvents", "System.listEvents", _DISCOVER + "3. System.listEvents",
           (), _EVENT_LIST_RESPONSE, "response", response_list=True),
    method("*", "listEvents", "<Service>.listEvents", _DISCOVER + "4. <Service>.listEvents",
           (), _EVENT_LIST_RESPONSE, "response", response_list=True),
    method("*", "describe", "<Service>.describe", _DISCOVER + "5. <Service>.describe",
           (), (
               text("id", "This is the XML unique name of the service."),
               text("name", "This is the service friendly name"),
               text("version", "This is the service version"),
               flag("propertySupport", "This flag tells if the service has properties."),
               flag("functionSupport", "This flag tells if the service has custom functions."),
           ), "response"),
    method("*", "listProperties", "<Service>.listProperties",
           _DISCOVER + "6. <Service>.listProperties", (), (
               text("id", "This is the XML unique name of the property."),
               text("name", "Property friendly name"),
               anything("value", "Property current value"),
               text("validation", "This is the validation type"),
               # "<rule type>": a member named after the validation type; the examples use
               # regexp, range and list (listParameters).
               text("regexp", "<rule type>: the validation rule to use", required=False),
               text("range", "<rule type>: the validation rule to use (min,max,step)",
                    required=False, fmt="range3"),
               anything("list", "<rule type>: one allowed value (repeated)", required=False),
               text("conditional", "In case of a property dependency, the property that it "
                    "depend on", required=False),
               # "<valid rule type>": the rule for the conditional property (validRange in
               # the listParameters example).
               text("validRange", "<valid rule type>: the validation rule for conditional "
                    "property", required=False, fmt="range3"),
               text("access", "This is the property access right"),
               text("units", "This is the property unit"),
           ), "response", response_list=True),
    method("*", "listFunctions", "<Service>.listFunctions",
           _DISCOVER + "7. <Service>.listFunctions", (), (
               text("methodName", "This is the name of the custom function."),
               flag("multiCallSupport", "This flag tells if the custom function call can "
                    "contain multiple blocs of data"),
               flag("multiAnswerSupport", "This flag tell if the custom function answer can "
                    "contain multiple blocs of data"),
           ), "response", response_list=True),
    method("*", "listParameters", "<Services>.listParameters",
           _DISCOVER + "8. <Services>.listParameters",
           (text("methodName", "This is the name of the custom function."),), (
               FieldSpec("methodCall", "Contains the custom function call bloc definition.",
                         ("array",)),
               FieldSpec("methodResponse", "Contain the custom function answer bloc "
                         "definition.", ("array",)),
           ), "response", shape="method_name"),
    method("*", "getProperties", "<Service>.getProperties",
           "3.3) Configure Device, 1. <Service>.getProperties", (), (), "response",
           shape="property_ids", response_shape="property_values"),
    method("*", "setProperties", "<Service>.setProperties",
           "3.3) Configure Device, 2. <Service>.setProperties", (), None, "ack",
           shape="property_values",
           note="cviNetwork.setProperties / cviVideo.setProperties: 'The property to modify "
                "with the new value'; Response: acknowledgement"),
    method("cviUpdateFirmware", "startFirmwareUpdate", "cviUpdateFirmware.startFirmwareUpdate",
           "3.4) Update Device Firmware, 1. cviUpdateFirmware.startFirmwareUpdate", (
               text("ImageFileId", "New firmware file name."),
               text("AuthenticationId", "Unique Id used to open the data channel"),
           ), None, "ack"),
    method("cviUpdateFirmware", "getProgressInfo", "cviUpdateFirmware.getProgressInfo",
           "3.4) Update Device Firmware, 2. cviUpdateFirmware.getProgressInfo", (), (
               text("state", "Current step of the firmware update procedure."),
               text("status", "Error status."),
               FieldSpec("bytesProgress", "Current Number of bytes transferred or "
                         "erased/written so far", NUM_STR, fmt="numeric"),
               FieldSpec("totalBytesProgress", "Total Number of bytes to transfer or "
                         "erase/write", NUM_STR, fmt="numeric"),
           ), "response"),
)

# ---- §4 Device Protocol ------------------------------------------------------------------

_SERIAL = (
    num("ID", "The serial port to use as an output"),
    anything("OperationMode", "The operation mode of the serial port"),
    num("BaudRate", "The baud rate of the serial port"),
    num("DataBits", "The number of bits in transmitted data"),
    anything("PortParity", "The type of parity check"),
    anything("StopBits", "The number of stop bits in each transmission"),
    anything("LineDriver", "The way the device detects the electrical line interface of the "
             "serial port."),
)

_DEST = (
    ip("destIp", "The ip address of the stream destination"),
    port("destPort", "The port of the stream destination"),
    anything("destTransport", "Stream destination transport protocol"),
)

_SRC = (
    ip("srcIp", "Ip address of a remote media source"),
    port("srcPort", "Port number of a remote media source"),
    anything("srcTransport", "Remote media source transport protocol"),
)


def optional(*fields: FieldSpec) -> tuple[FieldSpec, ...]:
    """The same rows, not required. The stop (delete) tables repeat the create table's
    descriptive rows; the session is identified by GUID, major and minor ("specifies the
    media source for the current session to stop"), so the rest is optional."""
    return tuple(replace(f, required=False) for f in fields)


_SER = "4.1) Manage Serial Port Service, "
_STR = "4.2) Manage Streaming Service, "
_DIS = "4.3) Manage Display Service, "
_ANA = "4.4) Manage Analytics Service, "
_PTZ = "4.5) Manage PTZ Service, "

DEVICE: tuple[MethodSpec, ...] = (
    method("cviSerialPort", "setProperties", "cviSerialPort.setProperties",
           _SER + "1. Set Serial Port piping configuration", _SERIAL, None, "ack"),
    method("cviSerialPort", "create", "cviSerialPort.create",
           _SER + "2. Start Serial Port piping",
           (guid(), *_SERIAL, flag("Persistent", "Restart or not this streaming after reboot")),
           None, "ack"),
    method("cviSerialPort", "delete", "cviSerialPort.delete", _SER + "3. Stop Serial Port piping",
           (guid(), num("ID", "The serial port to use as an output")), None, "ack"),
    method("cviSerialPort", "list", "cviSerialPort.list", _SER + "4. List Serial Port Piping",
           None, (guid(), *_SERIAL,
                anything("ConnectionType", "The type of connection, TCP/UDP"),
                port("ConnectionPort", "The port of connection"),
                flag("Persistent", "Restart or not this streaming after reboot")),
           "response", response_list=True),
    method("cviStream", "create", "cviStream.create", _STR + "1. Start streaming", (
        guid(),
        num("major", "The input to use as a media source"),
        num("minor", "The encoder to use as a media source"),
        flag("persistent", "Restart or not this streaming after reboot"),
        *_DEST,
    ), (
        guid(details="Numeric value unique to every device. Used to control the origin of "
             "the media"),
        num("StreamID", "Numeric value unique to every streaming"),
        num("MediaType", "The streaming type", enum="media_type"),
    ), "ack", note="Response: acknowledgement, followed by GUID, StreamID and MediaType"),
    method("cviStream", "delete", "cviStream.delete", _STR + "2. Stop streaming", (
        guid(), num("StreamID", "Numeric value unique to every streaming"),
    ), None, "ack"),
    method("cviStream", "list", "cviStream.list", _STR + "3. List streaming", (guid(),), (
        guid(),
        num("StreamID", "Numeric value unique to every streaming"),
        num("major", "The input to use as a media source"),
        num("minor", "The encoder to use as a media source"),
        anything("mediatype", "The media source type"),
        flag("persistant", "Restart or not this streaming after reboot"),
        *_DEST,
    ), "response", response_list=True),
    method("cviDisplay", "create", "cviDisplay.create", _DIS + "1. Start display", (
        guid(),
        num("major", "The output to use as a media source"),
        num("minor", "The decoder to use as a media source"),
        anything("mediatype", "The media source type"),
        flag("persistent", "Restart or not this streaming after reboot"),
        *_SRC,
    ), None, "ack"),
    method("cviDisplay", "delete", "cviDisplay.delete", _DIS + "2. Stop display", (
        guid(),
        num("major", "The output to use as a media source"),
        num("minor", "The decoder to use as a media source"),
        *optional(anything("mediatype", "The media source type"),
                  flag("persistant", "Restart or not this display after reboot"), *_SRC),
    ), None, "ack"),
    method("cviDisplay", "list", "cviDisplay.list", _DIS + "3. List display", None, (
        guid(),
        num("major", "The output to use as a media source"),
        num("minor", "The decoder to use as a media source"),
        anything("mediatype", "The media source type"),
        flag("persistant", "Restart or not this display after reboot"),
        *_SRC,
    ), "response", response_list=True),
    method("cviAnalytics", "create", "cviAnalytics.create", _ANA + "1. Start Analytics", (
        guid(),
        num("major", "The input to use as a media source"),
        num("minor", "The encoder to use as a media source"),
        anything("mediatype", "The media source type"),
        flag("persistent", "Restart or not this streaming after reboot"),
        *_DEST,
    ), None, "ack"),
    # Titled "cviDisplay.delete" in the document (a copy error: NOTES 11).
    method("cviAnalytics", "delete", "cviDisplay.delete (sic)", _ANA + "2. Stop Analytics", (
        guid(),
        num("major", "The input to use as a media source"),
        num("minor", "The encoder to use as a media source"),
        *optional(anything("mediatype", "The media source type"),
                  flag("persistent", "Restart or not this streaming after reboot"), *_DEST),
    ), None, "ack", note="the section is titled cviDisplay.delete; read as cviAnalytics.delete"),
    # Titled "cviDisplay.list" in the document (a copy error: NOTES 11).
    method("cviAnalytics", "list", "cviDisplay.list (sic)", _ANA + "3. List Analytics", None, (
        guid(),
        num("major", "The input to use as a media source"),
        num("minor", "The encoder to use as a media source"),
        anything("mediatype", "The media source type"),
        flag("persistent", "Restart or not this streaming after reboot"),
        *_DEST,
    ), "response", response_list=True,
           note="the section is titled cviDisplay.list; read as cviAnalytics.list"),
    method("cviPtz", "setProperties", "cviPtz.setProperties", _PTZ + "1. Set PTZ Pipe", (
        num("PtzID", "The id of PTZ command port"),
        num("ProtocolType", "The protocol type", enum="ptz_protocol"),
        num("UserPriority", "The user priority"),
    ), None, "ack"),
    method("cviPtz", "cmd", "cviPtz.cmd", _PTZ + "2. Send PTZ command", (
        guid(details="Numeric value unique to every device (the client ID)."),
        num("PtzID", "The id of PTZ command port"),
        num("PhyAddr", "The physical address of camera, please refer to the camera entity "
            "property"),
        num("UserPriority", "The user priority (reserved for future use)"),
        num("CmdType", "0x00 Stop .. 0x07 RightUp/LeftDown", enum="ptz_command"),
        num("CmdData", "A signed value between 1 and 16: the sign is the direction, the "
            "magnitude the speed", magnitude=(1, 16), zero_when=("CmdType", 0)),
    ), None, "ack", note="the example sends the six fields as positional params"),
)

# ---- §5 NVR Protocol ------------------------------------------------------------------

_REC = "5.1) Manage Recording Service, "
_PLAY = "5.2) Manage Playback Service, "
_MEDIA = "5.3) Manage Media Serivce, "
_EVT = "5.4) Manage Camera Event Service, "

_RECORD_SINK = (
    guid(),
    num("major", "The channel ID to use as a media sink"),
    num("minor", "The location ID to use as a media sink"),
)

_PLAYBACK_ID = num("PlaybackID", "Numeric value unique to every playback session.")

NVR: tuple[MethodSpec, ...] = (
    method("cviRecord", "create", "cviRecord.create", _REC + "1.1 Start Recording", (
        *_RECORD_SINK,
        flag("persistent", "Restart or not this recording after reboot"),
        anything("mediatype", "The media sink type"),
        *_SRC,
        num("scheduleProfileID", "Schedule profile ID"),
        num("camEntityID", "Camera entity id"),
    ), None, "ack"),
    method("cviRecord", "delete", "cviRecord.delete", _REC + "1.2 Stop Recording", (
        *_RECORD_SINK,
        *optional(anything("mediatype", "The media sink type"),
                  flag("persistant", "Restart or not this recording after reboot"), *_SRC),
    ), None, "ack"),
    method("cviRecord", "list", "cviRecord.list", _REC + "1.3 List Recording", None, (
        *_RECORD_SINK,
        anything("mediatype", "The media sink type"),
        flag("persistant", "Restart or not this recording after reboot"),
        *_SRC,
        num("scheduleProfileID", "Schedule profile ID"),
    ), "response", response_list=True),
    # Printed under "Response:", but the section says the client sends the schedule: the
    # schedule and the session it applies to are required, the rest of the garbled table
    # optional.
    method("cviRecord", "update", "cviRecord.update", _REC + "1.4 Update Recording Schedule", (
        *_RECORD_SINK,
        *optional(anything("mediatype", "The media sink type"),
                  flag("persistant", "Restart or not this recording after reboot"), *_SRC),
        num("scheduleProfileID", "Schedule profile ID"),
    ), None, "unspecified",
           note="the table is headed 'Response:' but lists what the client sends"),
    method("cviPlayback", "create", "cviPlayback.create", _PLAY + "2.1 Start playback", (
        guid(),
        num("Major", "The channel ID to use as a media source"),
        num("Minor", "The location ID to use as a media source"),
        text("StartTime", "Start time of the recorded file, YYYYMMDDHHMMSS", fmt="time14"),
        text("EndTime", "End time of the recorded file, YYYYMMDDHHMMSS", fmt="time14"),
        *_DEST,
    ), (
        guid(details="Numeric value unique to every device"),
        num("PlaybackID", "Numeric value unique to every playback stream"),
        num("MediaType", "The media sink type", enum="media_type"),
    ), "ack"),
    method("cviPlayback", "delete", "cviPlayback.delete", _PLAY + "2.2 Stop playback", (
        guid(), num("PlaybackID", "Numeric value unique to every playback stream"),
    ), None, "ack"),
    method("cviPlayback", "list", "cviPlayback.list", _PLAY + "2.3 List playback", None, (
        guid(),
        _PLAYBACK_ID,
        num("major", "The channel ID to use as a media source"),
        num("minor", "The location ID to use as a media source"),
        num("MediaType", "The media sink type", enum="media_type"),
        anything("mode", "The media play mode"),
        text("startTime", "Start time of the recorded file, YYYYMMDDHHMMSS", fmt="time14"),
        text("endTime", "End time of the recorded file, YYYYMMDDHHMMSS", fmt="time14"),
        *_DEST,
    ), "response", response_list=True),
    method("cviPlayback", "setstate", "cviPlayback.setstate",
           _PLAY + "2.4 Set playback state and speed", (
               guid(), _PLAYBACK_ID,
               num("State", "The playback state", enum="playback_state"),
               FieldSpec("Speed", "The playback speed, 1x, 2x", ("int", "double", "string")),
           ), None, "ack"),
    method("cviPlayback", "seek", "cviPlayback.seek", _PLAY + "2.5 Seek playback position", (
        guid(), _PLAYBACK_ID,
        num("Position", "The position of the playback session, which unit is frame based."),
    ), None, "ack"),
    method("cviPlayback", "getlength", "cviPlayback.getlength",
           _PLAY + "2.6 Get playback length", (guid(), _PLAYBACK_ID),
           (num("Length", "Length of the playback session, which unit is frame based."),),
           "response"),
    method("cviPlayback", "getstatus", "cviPlayback.getstatus",
           _PLAY + "2.7 Get playback status", (guid(), _PLAYBACK_ID), (
               num("State", "Playback state", enum="playback_state"),
               FieldSpec("Speed", "Playback speed", ("int", "double", "string")),
               num("Position", "Current position, which unit is frame based"),
           ), "response"),
    # 2.8 is titled cviPlayback.getstatus as well (NOTES 11); kept as a second shape of
    # the same name: the request's fields choose between the two (semantics.bind).
    method("cviPlayback", "getstatus", "cviPlayback.getstatus (sic)",
           _PLAY + "2.8 Query playback list with event type", (
               guid(),
               num("MajorID", "The major id of recorder channel"),
               num("MinorID", "The minor id of recorder channel"),
               anything("StartTime", "The start time of the event"),
               anything("EndTime", "The end time of the event"),
               num("EventType", "The bit or result of user specified event type",
                   bits="event_type"),
           ), (
               anything("StartTime", "The start time of event"),
               anything("EndTime", "The end time of the event"),
               num("EventType", "The event type", bits="event_type"),
           ), "response", response_list=True,
           note="titled cviPlayback.getstatus like 2.7; told apart by its fields"),
    method("cviMedia", "query", "cviMedia.query", _MEDIA + "3.1 Media Browsing", (
        guid(),
        num("Major", "The input to use as a media source"),
        num("Minor", "The encoder to use as a media source"),
        FieldSpec("startDate", "Start date filter for search", ("string", "datetime"), False),
        FieldSpec("endDate", "end date filter for search", ("string", "datetime"), False),
        num("eventType", "In case of event type browsing, the event type", required=False,
            bits="event_type"),
        anything("eventSubType", "In case of event type browsing, the event sub type",
                 required=False),
        anything("eventValue", "In case of event type browsing, the event value",
                 required=False),
    ), (
        guid(),
        flag("IsLastPage", "Flag to indicate whether current page is the last"),
        num("ClipID", "Numeric value unique to every clip."),
        anything("ClipType", "Clip media type"),
        FieldSpec("ClipTime", "Clip date and time", ("datetime", "string")),
    ), "response", response_list=True),
    method("cviMedia", "export", "cviMedia.export", _MEDIA + "3.2 Export Recorded Media", (
        guid(),
        num("ClipID", "Numeric value unique to every clip"),
        ip("serverIP", "IP of the data transfer server"),
        port("serverPort", "Port of the data transfer server"),
        text("authenticationId", "Unique Id used to open the data channel"),
    ), None, "ack"),
    method("cviEvent", "subscribe", "cviEvent.subscribe", _EVT + "4.1 Subscribe event", (
        num("Type", "Bits or combination of the event type", bits="event_type"),
        num("Id", "The channel index of encoder or recorder, 0 means subscribe all the "
            "channels"),
    ), None, "ack"),
    method("cviEvent", "unsubscribe", "cviEvent.unsubscribe", _EVT + "4.2 Unsubscribe event", (
        num("Type", "Bits or combination of the event type", bits="event_type"),
        num("Id", "The channel index of encoder or recorder, 0 means unsubscribe all the "
            "channels"),
    ), None, "ack"),
    method("cviEvent", "notify", "cviEvent.notify", _EVT + "4.3 Receive event Notification", (
        num("Type", "The event type, please refer to event type table", bits="event_type"),
        num("Id", "The channel index of encoder or recorder"),
        text("Time", "Time stamp of alarm. The format is as \"YYYY-MM-DD HH:MM:SS\"",
             fmt="datetime19"),
        text("EventGUID", "The GUID to identify event (since CMS version 2.1.9)",
             required=False, fmt="guid"),
        FieldSpec("info", "Event specific data, 1: alarm on, 0: alarm off.", FLAG,
                  enum="alarm_info"),
    ), None, "event"),
    method("cviEvent", "ack", "cviEvent.ack", _EVT + "4.4 Acknowledge event", (
        app_guid(details="The GUID to identify application"),
        text("EventGUID", "The GUID to identify event", fmt="guid"),
        text("AckTime", "Time stamp of acknowledgement, \"YYYY-MM-DD HH:MM:SS\"",
             fmt="datetime19"),
        text("AckString", "The string to describe acknowledgement specified by user"),
    ), (
        FieldSpec("AckReturnCode", "The acknowledge return code from the server", NUM_STR,
                  enum="ack_event"),
    ), "response"),
)

# ---- §6 Master Server Protocol --------------------------------------------------------

_PRO = "6.1) Manage Device Profile Service, "
_ENT = "6.2) Manage Device Entity Service, "
_USR = "6.3) Manage User Service, "
_APP = "6.4) Manage Application Service, "

_MS_GUID = guid(details="Numeric value unique to every device.")
_ENTITY_TYPE = num("EntityTypeID", "The entity type", enum="entity_type")
# Every entity has the name and description cviEntity.list returns; add/update may set
# them though their tables do not list them.
_ENTITY_NAMING = (text("EntityName", "Entity name (as in cviEntity.list)", required=False),
                  text("EntityDesc", "Entity description (as in cviEntity.list)",
                       required=False))
_PROFILE_EXTRA = ExtraFields("profile", "ProfileTypeID", "ProfileProperty")
_ENTITY_EXTRA = ExtraFields("entity", "EntityTypeID", "EntityProperty")
_APP_EXTRA = ExtraFields("application", "ApplicationTypeID", "ApplicationProperty")
_PROFILE_LIST_EXTRA = ExtraFields("profile", "ProfileTypeID", "ProfileProperty", "response")
_ENTITY_LIST_EXTRA = ExtraFields("entity", "EntityTypeID", "EntityProperty", "response")
_APP_LIST_EXTRA = ExtraFields("application", "ApplicationTypeID", "ApplicationProperty",
                              "response")
_SERVICE_EXTRA = ExtraFields("service", "ServiceID", "ServiceProfile")
_SERVICE_LIST_EXTRA = ExtraFields("service", "ServiceID", "ServiceProfile", "response")
_APP_TYPE = num("ApplicationTypeID", "The application type ID", enum="application_type")
# Use case 4.4 deletes "an existing application with specified application ID", which the
# table leaves out; an application is known by its type (add) or the id add returned.
_APP_KEY = (num("ApplicationTypeID", "The application type ID", required=False,
                enum="application_type"),
            num("ApplicationID", "application ID (use case 4.4)", required=False))
_PRIVILEGE = num("UserPrivilege", "User privilege", bits="user_privilege")

MASTER: tuple[MethodSpec, ...] = (
    method("cviProfile", "list", "cviProfile.list", _PRO + "1.1 List Profiles", (
        _MS_GUID, num("ProfileTypeID", "The profile type.", enum="profile_type"),
    ), (
        guid(),
        num("ProfileTypeID", "The profile type", enum="profile_type"),
        num("ProfileID", "The ID to identify profile"),
    ), "response", response_list=True, extra=_PROFILE_LIST_EXTRA),
    method("cviProfile", "add", "cviProfile.add", _PRO + "1.2 Add Profile", (
        guid(), num("ProfileTypeID", "The profile type", enum="profile_type"),
    ), (num("ProfileID", "The ID to identify profile", required=False),), "ack",
           extra=_PROFILE_EXTRA, note="use case 1.2: returns an acknowledgement and profile ID"),
    method("cviProfile", "update", "cviProfile.update", _PRO + "1.3 Update Profile", (
        guid(), num("ProfileTypeID", "The profile type", enum="profile_type"),
        num("ProfileID", "The profile ID"),
    ), None, "ack", extra=_PROFILE_EXTRA),
    method("cviProfile", "delete", "cviProfile.delete", _PRO + "1.4 Delete Profile", (
        guid(), num("ProfileType", "The profile type", enum="profile_type"),
        num("ProfileID", "The profile ID"),
    ), None, "ack"),
    method("cviEntity", "listgroups", "cviEntity.listgroups", _ENT + "2.1 List <Entity> Groups", (
        _MS_GUID, app_guid("AppGUID", "The application GUID."), _ENTITY_TYPE,
    ), (
        _ENTITY_TYPE, num("GroupID", "Group ID."), text("GroupName", "Group Name"),
        text("GroupDesc", "Group Description"),
    ), "response", response_list=True),
    method("cviEntity", "addgroup", "cviEntity.addgroup", _ENT + "2.2 Add <Entity> group", (
        _MS_GUID, app_guid(), _ENTITY_TYPE, text("GroupName", "The new group name"),
        text("GroupDescription", "Group description"),
    ), (num("GroupID", "Group ID", required=False),), "ack",
           note="use case 2.2: returns an acknowledgement and group ID"),
    method("cviEntity", "updategroup", "cviEntity.updategroup",
           _ENT + "2.4 Update <Entity> group", (
               _MS_GUID, app_guid(), _ENTITY_TYPE, num("GroupID", "The group ID"),
               text("GroupName", "The new group name"),
               text("GroupDescription", "Group description"),
           ), None, "ack"),
    method("cviEntity", "deletegroup", "cviEntity.deletegroup",
           _ENT + "2.5 Delete <Entity> group", (
               _MS_GUID, app_guid(), _ENTITY_TYPE, num("GroupID", "The group ID to be deleted"),
           ), None, "ack"),
    method("cviEntity", "query", "cviEntity.query", _ENT + "2.6 Query <Entity>", (
        _MS_GUID, app_guid("AppGUID", "The application GUID."), _ENTITY_TYPE,
    ), (
        _ENTITY_TYPE, anything("Version", "The version current entity description"),
        anything("TimeStamp", "The timestamp of the last modification"),
    ), "response"),
    method("cviEntity", "list", "cviEntity.list", _ENT + "2.7 List <Entity>", (
        _MS_GUID, app_guid("AppGUID", "The application GUID."), _ENTITY_TYPE,
    ), (
        flag("IsLastPage", "Flag to indicate whether current page is the last page"),
        _ENTITY_TYPE, num("GroupID", "The entity group ID"), num("EntityID", "Entity ID"),
        text("EntityName", "Entity name"), text("EntityDesc", "Entity description"),
    ), "response", response_list=True, extra=_ENTITY_LIST_EXTRA),
    method("cviEntity", "add", "cviEntity.add", _ENT + "2.8 Add <Entity>", (
        _MS_GUID, app_guid(),
        flag("IsLastPage", "Flag to indicate whether current page is the last page",
             required=False),
        _ENTITY_TYPE, num("GroupID", "The entity group ID"), *_ENTITY_NAMING,
    ), (num("EntityID", "Entity ID", required=False),), "ack", extra=_ENTITY_EXTRA,
           note="use case 2.6: returns an acknowledgement and entity ID"),
    method("cviEntity", "update", "cviEntity.update", _ENT + "2.9 Update < Entity >", (
        guid(), app_guid(),
        flag("IsLastPage", "Flag to indicate whether current page is the last page",
             required=False),
        _ENTITY_TYPE, num("EntityID", "Entity ID"), *_ENTITY_NAMING,
    ), None, "ack", extra=_ENTITY_EXTRA),
    method("cviEntity", "delete", "cviEntity.delete", _ENT + "2.10 Delete <Entity>", (
        _MS_GUID, app_guid(), num("EntityTypeID", "The entity type ID", enum="entity_type"),
        num("EntityID", "The entity ID"),
    ), None, "ack"),
    method("cviEntity", "listservices", "cviEntity.listservices",
           _ENT + "2.11 List <entity> service", (
               _MS_GUID, app_guid("AppGUID", "The application GUID."),
               num("EntityID", "The entity ID"),
           ), (
               num("EntityID", "Entity ID."),
               FieldSpec("ServiceID", "Service ID", NUM_STR, enum="service_id",
                         fmt="service_id"),
           ), "response", response_list=True, extra=_SERVICE_LIST_EXTRA),
    method("cviEntity", "updateservices", "cviEntity.updateservices",
           _ENT + "2.12 Update <entity> service", (
               _MS_GUID, app_guid("AppGUID", "The application GUID."),
               num("EntityID", "The entity ID"),
               FieldSpec("ServiceID", "The service ID", NUM_STR, enum="service_id",
                         fmt="service_id"),
           ), None, "ack", extra=_SERVICE_EXTRA,
           note="use case 2.10: Master Server returns the acknowledgement"),
    method("cviUser", "login", "cviUser.login", _USR + "3.1 Login", (
        guid(details="Numeric value unique to every device"),
        text("UserName", "User Name (MD5)", fmt="md5"),
        text("PassWord", "Password of the username (MD5)", fmt="md5"),
        anything("LoginType", "Login type whether it is via control center or review station"),
    ), (app_guid("AppGUID", "the application GUID the Master Server returns"),), "response",
           note="'Both username and password need encrypted in MD5'; returns an "
                "application GUID"),
    method("cviUser", "logout", "cviUser.logout", _USR + "3.2 Logout", (
        guid(details="Numeric value unique to every device"), app_guid(),
    ), None, "ack"),
    method("cviUser", "listgroups", "cviUser.listgroups", _USR + "3.3 List Groups", (
        _MS_GUID, app_guid("AppGUID", "The application GUID."),
    ), (
        num("GroupID", "Group ID."), text("GroupName", "Group Name"),
        text("GroupDescription", "Group Description"),
    ), "response", response_list=True),
    method("cviUser", "addgroup", "cviUser.addgroup", _USR + "3.4 Add group", (
        _MS_GUID, app_guid(), text("GroupName", "The new group name"),
        text("GroupDescription", "Group description"),
        num("GroupPrivilege", "Group privilege", bits="user_privilege"),
    ), (num("GroupID", "Group ID", required=False),), "ack",
           note="use case 3.4: 'adds the user group and returns an' (cut); read as the other "
                "add use cases: an acknowledgement and the group ID"),
    method("cviUser", "updategroup", "cviUser.updategroup", _USR + "3.5 Update group", (
        _MS_GUID, app_guid(), num("GroupID", "The group ID"),
        text("GroupName", "The new group name"), text("GroupDescription", "Group description"),
        num("GroupPrivilege", "Group privilege", bits="user_privilege"),
    ), None, "ack"),
    method("cviUser", "deletegroup", "cviUser.deletegroup", _USR + "3.6 Delete group", (
        _MS_GUID, app_guid(), num("GroupID", "The group ID to be deleted"),
    ), None, "ack"),
    method("cviUser", "listusers", "cviUser.listusers", _USR + "3.7 List Users", (
        _MS_GUID, app_guid("AppGUID", "The application GUID."),
    ), (
        num("UserID", "Group ID. (sic: the user ID)"), text("UserName", "User Name"),
        text("UserDescription", "User Description"), num("UserPriority", "User priority"),
        _PRIVILEGE, num("GroupID", "The group ID"),
    ), "response", response_list=True),
    method("cviUser", "adduser", "cviUser.adduser", _USR + "3.8 Add user", (
        _MS_GUID, app_guid(), text("UserName", "The new user name"),
        text("UserDescription", "user description"), _PRIVILEGE,
        num("UserPriority", "User priority"), num("GroupID", "Group ID"),
    ), (num("UserID", "User ID", required=False),), "ack",
           note="use case 3.8: returns an acknowledgement and user ID"),
    method("cviUser", "updateuser", "cviUser.updateuser", _USR + "3.9 Update user", (
        guid(), app_guid(), num("UserID", "User ID"), text("UserName", "user name"),
        text("UserPassword", "User password"), text("UserDescription", "user description"),
        _PRIVILEGE, num("UserPriority", "User priority"), num("GroupID", "Group ID"),
    ), None, "ack"),
    method("cviUser", "deleteuser", "cviUser.deleteuser", _USR + "3.10 Delete user", (
        _MS_GUID, app_guid(), num("UserID", "The user ID to be deleted"),
    ), None, "ack"),
    method("cviUser", "mount", "cviUser.mount", _USR + "3.11 Mount Entity", (
        guid(), app_guid(), num("UserID", "User ID"), num("EntityID", "Entity ID"),
        num("EntityType", "Entity type", enum="entity_type"),
    ), None, "ack"),
    method("cviUser", "unmount", "cviUser.unmount", _USR + "3.12 Unmount Entity", (
        guid(), app_guid(), num("UserID", "User ID"), num("EntityID", "Entity ID"),
        num("EntityType", "Entity Type", enum="entity_type"),
    ), None, "ack"),
    method("cviApplication", "list", "cviApplication.list", _APP + "4.1 List Application", (
        guid(), app_guid(), num("EntityTypeID", "Entity type", enum="entity_type"),
        num("EntityID", "Entity ID"),
    ), (
        num("EntityTypeID", "Entity type", enum="entity_type"), num("EntityID", "Entity ID."),
        _APP_TYPE,
    ), "response", response_list=True, extra=_APP_LIST_EXTRA),
    method("cviApplication", "add", "cviApplication.add", _APP + "4.2 Add Application", (
        guid(), app_guid(), num("EntityTypeID", "Entity Type", enum="entity_type"),
        num("EntityID", "Entity ID"), _APP_TYPE,
    ), (num("ApplicationID", "application ID", required=False),), "ack", extra=_APP_EXTRA,
           note="use case 4.2: returns an acknowledgement and application ID"),
    method("cviApplication", "update", "cviApplication.update",
           _APP + "4.2 Update Application (sic: second 4.2)", (
               guid(), app_guid(), num("EntityTypeID", "Entity type", enum="entity_type"),
               num("EntityID", "Entity ID"), _APP_TYPE,
               num("ApplicationID", "application ID (use case 4.4)", required=False),
           ), None, "ack", extra=_APP_EXTRA),
    method("cviApplication", "delete", "cviApplication.delete", _APP + "4.3 Delete Application", (
        guid(), app_guid(), num("EntityTypeID", "Entity type", enum="entity_type"),
        num("EntityID", "Entity ID"), *_APP_KEY,
    ), None, "ack"),
)

CATALOGUE: tuple[MethodSpec, ...] = COMMON + DEVICE + NVR + MASTER

# Fields that every catalogue table may spell differently; folded together by name
# matching unless strict_spelling is on (DECISIONS.md §Spelling).
SPELLING_VARIANTS: dict[str, str] = {
    "persistant": "persistent",
    "functionssupport": "functionsupport",
}

# The acknowledge body's one field (§3.1 Acknowledge Response) and cviEvent.ack's.
ACK_FIELD = "ErrorCode"
EVENT_ACK_FIELD = "AckReturnCode"
ACK_SECTION = SPEC + "Command details 3.1) Acknowledge Response"
EVENT_ACK_SECTION = SPEC + "Command details 5.4) Manage Camera Event Service, 4.4 Acknowledge event"
