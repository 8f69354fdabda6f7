"""The ImageServer spec tables, as data.

Everything the dissector and the checks know about the protocol lives here, each entry
citing the heading of ``shared/spec/imageserver-protocol.txt`` it was read from:

* :data:`METHODS`: every request, its element layout (one :class:`Shape` per variant the
  document shows), what answers it (:class:`Answer`) and the layout of its XML response;
* :data:`LIVEPACKAGE`: the ``<livepackage>`` layout and :data:`STATUS_ITEMS`, the live
  status item table;
* :data:`IMAGE_HEADERS`: the header lines of an ``ImageResponse``, and
  :data:`CONTENT_TYPES`, the body types it announces;
* :data:`ANSWERED_BY` and :func:`answer_for`: what the pairing engine should expect back.

Rules read these tables; they never restate them. Where the document is ambiguous the
choice made is explained in ``DECISIONS.md`` next to this file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

SPEC = "imageserver-protocol.txt"


def section(heading: str) -> str:
    """How a spec citation is written: the document and one of its headings."""
    return f"{SPEC} § {heading}"


class Form(StrEnum):
    """The value forms the document uses (``[number]``, ``yes/no``, ...)."""

    YESNO = "yes/no"
    NUMBER = "number"  # decimal integer
    TIME = "ms-time"  # milliseconds since the UNIX epoch
    FLOAT = "float"
    TEXT = "text"
    SECRET = "secret"  # text never shown unmasked by default (passwords)
    CONNECTPARAM = "connectparam"  # key=value&... with a token inside
    ENUM = "enum"  # one of ``values``
    CONTAINER = "container"  # child elements only, laid out by ``children``
    EMPTY = "empty"  # no content; attributes (if any) carry the value
    FREE = "free"  # content the document leaves open (``[camera info]``): not checked
    PRIVACYMASK = "privacymask"  # none / grid;WxH;rows / base64 XML (header only)
    CONTENT_TYPE = "content-type"  # media type with parameters (header only)


class Answer(StrEnum):
    """What a request is answered by (``NOTES.md`` ImageServer item 3)."""

    XML = "xml"  # one <methodresponse> with the same requestid and methodname
    IMAGE = "image"  # one ImageResponse
    STREAM = "stream"  # a series of ImageResponse and <livepackage> messages
    NONE = "none"  # nothing


@dataclass(frozen=True, slots=True)
class Attribute:
    """An XML attribute of an element. ``rule`` overrides the rule id used when the
    value is wrong (the live status item table has its own rule)."""

    name: str
    form: Form
    required: bool = False
    values: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    rule: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Element:
    """One element of a message layout.

    ``choice`` on a container means the document says "if stated one option must be
    supplied": exactly one of its children. ``rule`` overrides the rule id for a missing
    or repeated element (``statustime`` has its own). ``recommended`` marks elements the
    document calls "(Recommended)".
    """

    name: str
    form: Form
    required: bool = False
    repeated: bool = False
    values: tuple[str, ...] = ()
    children: tuple[Element, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    default: str | None = None
    recommended: bool = False
    choice: bool = False
    condition: str = ""
    rule: str = ""
    missing_rule: str = ""  # the rule for its absence when not field.missing

    def child(self, name: str) -> Element | None:
        for c in self.children:
            if c.name == name:
                return c
        return None

    def attribute(self, name: str) -> Attribute | None:
        for a in self.attributes:
            if a.name == name:
                return a
        return None


@dataclass(frozen=True, slots=True)
class Shape:
    """The layout of one message: a request variant, a response, or a livepackage.

    ``elements`` are the children of the root element, ``requestid`` and ``methodname``
    included, in the document's order.
    """

    section: str
    elements: tuple[Element, ...]
    label: str = ""

    def element(self, name: str) -> Element | None:
        for e in self.elements:
            if e.name == name:
                return e
        return None

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.elements if e.required)


@dataclass(frozen=True, slots=True)
class Method:
    """One request of the catalogue.

    ``requests`` holds a shape per variant the document shows (``alarms`` has two,
    ``live`` has the full request and the adaptive-streaming-only change). ``response``
    is the XML response layout, ``None`` when the method is answered otherwise.
    ``checks`` names message-level checks in :mod:`.checks` that apply to its messages.
    """

    name: str
    section: str
    requests: tuple[Shape, ...]
    answered_by: Answer
    response: Shape | None = None
    response_section: str = ""
    checks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusItem:
    id: int
    name: str
    comment: str


@dataclass(frozen=True, slots=True)
class Header:
    """A header line of an ``ImageResponse`` (spelling as in the document; matching is
    case-insensitive, as in HTTP)."""

    name: str
    key: str  # filter key suffix: imageserver.header.<key>
    form: Form
    required: bool
    values: tuple[str, ...] = ()
    condition: str = ""


# ---- headings of the document -----------------------------------------------------------

S_INTRO = section("ImageServer - requests and responses")
S_CONNECT_SIMPLE = section("connect – Simple")
S_CONNECT_FULL = section("connect – More options › Connect request – the full syntax")
S_CONNECT_RESPONSE = section("connect – More options › Response")
S_CONNECTUPDATE = section("connectupdate")
S_GOTO = section("goto")
S_IMAGE_SINGLE = section("goto › Response - Live and browse without multipart")
S_IMAGE_MULTIPART = section("goto › Response - Browse with multipart")
S_PRIVACY_MASK = section("Privacy mask")
S_NEXT = section("next")
S_PREVIOUS = section("previous")
S_NEXTSEQUENCE = section("nextsequence")
S_PREVIOUSSEQUENCE = section("previoussequence")
S_BEGIN = section("begin")
S_END = section("end")
S_ALARMS_RANGE = section("alarms – Get recorded sequences between two points in time")
S_ALARMS_AROUND = section("alarms – Get max N recorded sequences around a point in time")
S_LIVE = section("live")
S_LIVE_RESPONSES = section("live › Responses")
S_LIVE_CHANGE = section("live – Change live adaptive streaming")
S_CHANGELIVECOMPRESSIONRATE = section("changelivecompression rate")
S_STOP = section("stop")
S_PTZ = section("ptz")
S_PTZCENTER = section("ptzcenter")
S_PTZRECTANGLE = section("ptzrectangle")
S_PRESET = section("preset")
S_OUTPUT = section("output")
S_AVIINFORMATION = section("aviinformation")

INT32_MAX = 2**31 - 1

# ---- building blocks --------------------------------------------------------------------

REQUESTID = Element("requestid", Form.NUMBER, required=True, minimum=0)
METHODNAME = Element("methodname", Form.TEXT, required=True)
COMMON = (REQUESTID, METHODNAME)
# In a response the requestid is required too, but some servers leave it out (the answer
# is then paired by method and order): its absence has a rule of its own (DECISIONS 28).
ANSWER_REQUESTID = Element("requestid", Form.NUMBER, required=True, minimum=0,
                           missing_rule="imageserver.response.requestid")
ANSWER_COMMON = (ANSWER_REQUESTID, METHODNAME)


def _request(sec: str, *elements: Element, label: str = "") -> Shape:
    return Shape(section=sec, elements=(*COMMON, *elements), label=label)


def _time(name: str, required: bool = True) -> Element:
    return Element(name, Form.TIME, required=required)


def _number(name: str, required: bool = True, **kw) -> Element:
    return Element(name, Form.NUMBER, required=required, **kw)


def _yesno(name: str, required: bool = False, **kw) -> Element:
    return Element(name, Form.YESNO, required=required, **kw)


COMPRESSIONRATE = _number("compressionrate", required=False)
BROWSE_TIME = _time("time", required=False)

CONNECTED = _yesno("connected", required=True)
ERRORREASON = Element("errorreason", Form.TEXT, condition="only if connected = no")

ADAPTIVESTREAMING = Element(
    "adaptivestreaming",
    Form.CONTAINER,
    choice=True,
    condition="optional, if stated one option must be supplied",
    children=(
        Element(
            "resolution",
            Form.CONTAINER,
            children=(
                _number("widthhint", minimum=1, maximum=INT32_MAX),
                _number("heighthint", minimum=1, maximum=INT32_MAX),
            ),
        ),
        Element("maxresolution", Form.EMPTY),
        Element("disabled", Form.EMPTY),
    ),
)

LIVE_ATTRIBUTES = Element(
    "attributes",
    Form.EMPTY,
    attributes=(
        Attribute("frameraterelative", Form.NUMBER, minimum=1, note="send every N'th frame"),
        Attribute(
            "framerateabsolute",
            Form.NUMBER,
            minimum=1,
            note="send as close to N fps as possible (future enhancement)",
        ),
        Attribute("framerate", Form.ENUM, values=("full", "medium", "low")),
        Attribute("motiononly", Form.YESNO, note="the document's example writes \"true\""),
    ),
)

# ---- requests and their responses --------------------------------------------------------

_BROWSE_NOTE = "See the goto response."

METHODS: Mapping[str, Method] = MappingProxyType(
    {
        m.name: m
        for m in (
            Method(
                "connect",
                S_CONNECT_FULL,
                requests=(
                    _request(
                        S_CONNECT_FULL,
                        Element("username", Form.TEXT, required=True),
                        Element("password", Form.SECRET, required=True),
                        # Both listed without "(optional)"; peers leave out one of them
                        # (camera by connectparam id; basic credentials): judged by the
                        # "connect_shape" check, not as missing elements (DECISIONS 28).
                        Element("cameraid", Form.TEXT,
                                condition="required; the camera may be named by "
                                "connectparam id instead"),
                        _yesno("alwaysstdjpeg", recommended=True),
                        Element("connectparam", Form.CONNECTPARAM,
                                condition="required; absent with basic credentials"),
                        Element(
                            "clientcapabilities",
                            Form.CONTAINER,
                            children=(
                                _yesno("privacymask"),
                                Element(
                                    "privacymaskversion", Form.ENUM, values=("0", "1"), default="0"
                                ),
                                _yesno("multipartdata"),
                                _yesno("datarestriction"),
                            ),
                        ),
                        Element(
                            "transcode",
                            Form.CONTAINER,
                            children=(
                                _yesno("allframes", default="no"),
                                _number("width", required=False, minimum=1),
                                _number("height", required=False, minimum=1),
                                _yesno("keepaspectratio", default="no"),
                                _yesno("allowupsizing", default="no"),
                            ),
                        ),
                        Element(
                            "timerestriction",
                            Form.CONTAINER,
                            condition="only one log and control client behaviour – time "
                            "forward only",
                            children=(_time("starttime"), _time("endtime")),
                        ),
                    ),
                ),
                answered_by=Answer.XML,
                response=Shape(
                    S_CONNECT_RESPONSE,
                    (
                        *ANSWER_COMMON,
                        CONNECTED,
                        ERRORREASON,
                        _yesno("alwaysstdjpeg"),
                        Element("camera", Form.FREE),
                        Element(
                            "clientcapabilities",
                            Form.CONTAINER,
                            children=(
                                _yesno("privacymask"),
                                Element("privacymaskversion", Form.ENUM, values=("0", "1")),
                                _yesno("multipartdata"),
                                _yesno("datarestriction"),
                            ),
                        ),
                        Element(
                            "servercapabilities",
                            Form.CONTAINER,
                            children=(
                                _yesno("connectupdate"),
                                Element("adaptivestreamingversion", Form.TEXT),
                            ),
                        ),
                        Element(
                            "transcode",
                            Form.CONTAINER,
                            children=(
                                _yesno("allframes"),
                                _number("width", required=False),
                                _number("height", required=False),
                                _yesno("keepaspectratio"),
                                _yesno("allowupsizing"),
                            ),
                        ),
                    ),
                ),
                response_section=S_CONNECT_RESPONSE,
                checks=("connected_errorreason", "connectparam", "connect_shape"),
            ),
            Method(
                "connectupdate",
                S_CONNECTUPDATE,
                requests=(
                    _request(
                        S_CONNECTUPDATE,
                        Element("connectparam", Form.CONNECTPARAM, required=True),
                    ),
                ),
                answered_by=Answer.XML,
                response=Shape(S_CONNECTUPDATE, (*ANSWER_COMMON, CONNECTED, ERRORREASON)),
                response_section=S_CONNECTUPDATE,
                checks=("connected_errorreason", "connectparam"),
            ),
            Method(
                "goto",
                S_GOTO,
                requests=(
                    _request(
                        S_GOTO,
                        _time("time"),
                        COMPRESSIONRATE,
                        _yesno("keyframesonly"),
                    ),
                ),
                answered_by=Answer.IMAGE,
                response_section=S_IMAGE_SINGLE,
            ),
            *(
                Method(
                    name,
                    sec,
                    requests=(_request(sec, BROWSE_TIME, COMPRESSIONRATE),),
                    answered_by=Answer.IMAGE,
                    response_section=S_IMAGE_SINGLE,
                )
                for name, sec in (
                    ("next", S_NEXT),
                    ("previous", S_PREVIOUS),
                    ("nextsequence", S_NEXTSEQUENCE),
                    ("previoussequence", S_PREVIOUSSEQUENCE),
                )
            ),
            *(
                Method(
                    name,
                    sec,
                    requests=(_request(sec, COMPRESSIONRATE),),
                    answered_by=Answer.IMAGE,
                    response_section=S_IMAGE_SINGLE,
                )
                for name, sec in (("begin", S_BEGIN), ("end", S_END))
            ),
            Method(
                "alarms",
                S_ALARMS_RANGE,
                requests=(
                    _request(
                        S_ALARMS_RANGE,
                        _time("starttime"),
                        _time("stoptime"),
                        label="between two points in time",
                    ),
                    _request(
                        S_ALARMS_AROUND,
                        _time("centertime"),
                        _number("numalarms", minimum=0),
                        _number("timespan", minimum=0),
                        label="around a point in time",
                    ),
                ),
                answered_by=Answer.XML,
                response=Shape(
                    S_ALARMS_RANGE,
                    (
                        *ANSWER_COMMON,
                        Element(
                            "dblimit",
                            Form.EMPTY,
                            attributes=(
                                Attribute("startTime", Form.TIME, required=True),
                                Attribute("endTime", Form.TIME, required=True),
                            ),
                        ),
                        Element(
                            "alarms",
                            Form.CONTAINER,
                            children=(
                                Element(
                                    "alarm",
                                    Form.EMPTY,
                                    repeated=True,
                                    attributes=(
                                        Attribute("startTime", Form.TIME, required=True),
                                        Attribute("alarmTime", Form.TIME, required=True),
                                        Attribute("endTime", Form.TIME, required=True),
                                        Attribute("numImages", Form.NUMBER, required=True,
                                                  minimum=0),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
                response_section=S_ALARMS_RANGE,
            ),
            Method(
                "live",
                S_LIVE,
                requests=(
                    _request(
                        S_LIVE,
                        COMPRESSIONRATE,
                        _yesno("sendinitialimage"),
                        LIVE_ATTRIBUTES,
                        ADAPTIVESTREAMING,
                        label="start live feed",
                    ),
                    _request(
                        S_LIVE_CHANGE,
                        ADAPTIVESTREAMING,
                        label="change live adaptive streaming",
                    ),
                ),
                answered_by=Answer.STREAM,
                response_section=S_LIVE_RESPONSES,
            ),
            Method(
                "changelivecompressionrate",
                S_CHANGELIVECOMPRESSIONRATE,
                requests=(_request(S_CHANGELIVECOMPRESSIONRATE, _number("compressionrate")),),
                answered_by=Answer.XML,
                response=Shape(S_CHANGELIVECOMPRESSIONRATE, ANSWER_COMMON),
                response_section=S_CHANGELIVECOMPRESSIONRATE,
            ),
            Method(
                "stop",
                S_STOP,
                requests=(_request(S_STOP),),
                answered_by=Answer.XML,
                response=Shape(S_STOP, ANSWER_COMMON),
                response_section=S_STOP,
            ),
            Method(
                "ptz",
                S_PTZ,
                # The document's list of [ptzcommand] strings is missing: free text.
                requests=(_request(S_PTZ, Element("ptzcommand", Form.TEXT, required=True)),),
                answered_by=Answer.XML,
                response=Shape(S_PTZ, ANSWER_COMMON),
                response_section=S_PTZ,
            ),
            Method(
                "ptzcenter",
                S_PTZCENTER,
                requests=(
                    _request(
                        S_PTZCENTER,
                        *(
                            _number(n)
                            for n in ("refwidth", "refheight", "centerx", "centery", "zoom")
                        ),
                    ),
                ),
                answered_by=Answer.XML,
                response=Shape(S_PTZCENTER, ANSWER_COMMON),
                response_section=S_PTZCENTER,
            ),
            Method(
                "ptzrectangle",
                S_PTZRECTANGLE,
                requests=(
                    _request(
                        S_PTZRECTANGLE,
                        *(
                            _number(n)
                            for n in ("refwidth", "refheight", "left", "top", "right", "bottom")
                        ),
                    ),
                ),
                answered_by=Answer.XML,
                response=Shape(S_PTZRECTANGLE, ANSWER_COMMON),
                response_section=S_PTZRECTANGLE,
            ),
            Method(
                "preset",
                S_PRESET,
                requests=(_request(S_PRESET, Element("presetname", Form.TEXT, required=True)),),
                answered_by=Answer.XML,
                response=Shape(S_PRESET, ANSWER_COMMON),
                response_section=S_PRESET,
            ),
            Method(
                "output",
                S_OUTPUT,
                requests=(_request(S_OUTPUT, Element("outputname", Form.TEXT, required=True)),),
                answered_by=Answer.XML,
                response=Shape(S_OUTPUT, ANSWER_COMMON),
                response_section=S_OUTPUT,
            ),
            Method(
                "aviinformation",
                S_AVIINFORMATION,
                requests=(_request(S_AVIINFORMATION, _time("start"), _time("stop")),),
                answered_by=Answer.XML,
                response=Shape(
                    S_AVIINFORMATION,
                    (
                        *ANSWER_COMMON,
                        _number("width", required=False, minimum=0),
                        _number("height", required=False, minimum=0),
                        _number("depth", required=False, minimum=0),
                        Element("fps", Form.FLOAT),
                    ),
                ),
                response_section=S_AVIINFORMATION,
            ),
        )
    }
)

#: What answers each method: "xml", "image", "stream" or "none". ``live`` is "stream"
#: except for the adaptive-streaming-only change, see :func:`answer_for`.
ANSWERED_BY: Mapping[str, str] = MappingProxyType(
    {name: str(m.answered_by) for name, m in METHODS.items()}
)

# ---- live ---------------------------------------------------------------------------------

#: The live status item table (section "live › Responses"): id → item.
STATUS_ITEMS: Mapping[int, StatusItem] = MappingProxyType(
    {
        s.id: s
        for s in (
            StatusItem(1, "Camera live feed started",
                       "1 if live feed from the camera is started. 0 if not."),
            StatusItem(2, "Live feed motion", "1 if the live feed contains motion. 0 if not."),
            StatusItem(3, "Live feed recording",
                       "1 if the live feed is being recorded. 0 if not."),
            StatusItem(4, "Live feed event notification",
                       "1 if there was an event notification during the live feed. 0 if not."),
            StatusItem(5, "Camera connection lost",
                       "1 if the connection between the camera and the server is lost. "
                       "0 if not."),
            StatusItem(6, "Database fail", "1 if accessing the database failed. 0 if not."),
            StatusItem(7, "Server is running out of disk space",
                       "1 if the server is running out of disk space. 0 if not."),
            StatusItem(100, "Client Live feed stopped",
                       "1 if live feed to client is stopped. 0 when live feed is started."),
        )
    }
)
STATUS_VALUES = ("0", "1")

LIVEPACKAGE = Shape(
    S_LIVE_RESPONSES,
    (
        Element(
            "status",
            Form.CONTAINER,
            required=True,
            children=(
                Element("statustime", Form.TIME, required=True,
                        rule="imageserver.live.statustime"),
                Element(
                    "statusitem",
                    Form.EMPTY,
                    repeated=True,
                    attributes=(
                        Attribute("id", Form.ENUM, required=True,
                                  values=tuple(str(i) for i in STATUS_ITEMS),
                                  rule="imageserver.live.status_item"),
                        Attribute("value", Form.ENUM, required=True, values=STATUS_VALUES,
                                  rule="imageserver.live.status_item"),
                        Attribute("description", Form.TEXT),
                    ),
                ),
            ),
        ),
    ),
)

#: Root elements of XML messages and the record kind each makes.
ROOTS: Mapping[str, str] = MappingProxyType(
    {"methodcall": "request", "methodresponse": "response", "livepackage": "livepackage"}
)

# ---- ImageResponse ------------------------------------------------------------------------

IMAGE_FIRST_LINE = "ImageResponse"

IMAGE_HEADERS: tuple[Header, ...] = (
    Header("RequestId", "requestid", Form.NUMBER, required=True),
    Header("PrivacyMask", "privacymask", Form.PRIVACYMASK, required=False,
           condition="first time and when mask changes"),
    Header("Restriction", "restriction", Form.ENUM, required=True, values=("none", "time")),
    Header("Prev", "prev", Form.TIME, required=True),
    Header("Current", "current", Form.TIME, required=True),
    Header("Next", "next", Form.TIME, required=True),
    Header("SequenceNumber", "sequencenumber", Form.NUMBER, required=False,
           condition="if requested"),
    Header("MotionLevel", "motionlevel", Form.NUMBER, required=False, condition="if requested"),
    Header("Content-length", "content_length", Form.NUMBER, required=True,
           condition="not in the multipart layout's outer header"),
    Header("Content-type", "content_type", Form.CONTENT_TYPE, required=True),
)
IMAGE_HEADERS_BY_NAME: Mapping[str, Header] = MappingProxyType(
    {h.name.lower(): h for h in IMAGE_HEADERS}
)

#: Part headers of the multipart layout.
PART_HEADERS: tuple[Header, ...] = (
    Header("Content-length", "content_length", Form.NUMBER, required=True),
    Header("Content-type", "content_type", Form.CONTENT_TYPE, required=True),
)
PART_HEADERS_BY_NAME: Mapping[str, Header] = MappingProxyType(
    {h.name.lower(): h for h in PART_HEADERS}
)

JPEG = "image/jpeg"
GENERIC_BYTE_DATA = "application/x-genericbytedata-octet-stream"
MULTIPART = "multipart/related"

#: Media types the document names, and the body kind each announces.
CONTENT_TYPES: Mapping[str, str] = MappingProxyType(
    {JPEG: "jpeg", GENERIC_BYTE_DATA: "genericbytedata", MULTIPART: "multipart"}
)
#: The media types a multipart part may have.
PART_CONTENT_TYPES = (GENERIC_BYTE_DATA, JPEG)

# ---- privacy mask -------------------------------------------------------------------------

PRIVACYMASK_NONE = "none"
PRIVACYMASK_GRID_PREFIX = "grid;"
PRIVACYMASK_ROOT = "mask"

# ---- pairing ------------------------------------------------------------------------------

#: Elements of a live request that only configure adaptive streaming.
_ADAPTIVE_ONLY = frozenset({"adaptivestreaming"})
_ENVELOPE = frozenset({"requestid", "methodname"})


def is_adaptive_streaming_only(element_names: Iterable[str]) -> bool:
    """Whether a ``live`` request with these child elements is the "Change live adaptive
    streaming" variant, which gets no response (section "live – Change live adaptive
    streaming"): it carries ``<adaptivestreaming>`` and nothing else besides the
    requestid and methodname. A bare ``live`` starts the feed."""
    names = set(element_names) - _ENVELOPE
    return bool(names) and names <= _ADAPTIVE_ONLY


def answer_for(method: str | None, element_names: Iterable[str] = ()) -> Answer | None:
    """What answers a request of ``method`` with these child elements; ``None`` for a
    method not in the document."""
    spec = METHODS.get(method) if method is not None else None
    if spec is None:
        return None
    if spec.name == "live" and is_adaptive_streaming_only(element_names):
        return Answer.NONE
    return spec.answered_by


def request_shape(method: Method, element_names: Iterable[str]) -> Shape:
    """The request variant a message with these child elements follows: the one whose
    required elements are all present, else the one with the most of its elements
    present (ties: the document's first)."""
    names = set(element_names)
    if method.name == "live":
        return method.requests[1 if is_adaptive_streaming_only(names) else 0]
    return max(
        method.requests,
        key=lambda shape: (
            set(shape.required) <= names,
            len(names & {e.name for e in shape.elements}),
        ),
    )
