"""Encoders for every ImageServer message, laid out as the protocol document shows them.

Written from ``imageserver-protocol.txt`` alone, independently of :mod:`dissectors`, so an
encoder mistake and a dissector mistake cannot hide each other.

Wire conventions decided here (see the notes in the package ``__init__``):

* XML messages (``<methodcall>``, ``<methodresponse>``, ``<livepackage>``) are an XML
  declaration ``<?xml version="1.0" encoding="UTF-8"?>``, the document with lowercase element
  names (indented by two spaces unless ``pretty=False``) and then the double CR-LF that ends
  every message.
* An ``ImageResponse`` is an HTTP-like header block: the line ``ImageResponse``, then
  ``Name: value`` lines in the document's order, each ended by CR-LF, an empty line, the
  body, and the double CR-LF. A multipart body is ``--boundary`` CR-LF, the part's
  ``Content-length`` and ``Content-type`` lines, an empty line, the part's bytes and a CR-LF,
  repeated, then ``--boundary--`` and the double CR-LF.

The builders take typed arguments and produce bytes; the lower-level ones
(:func:`methodcall`, :func:`image_response`, :class:`Part` …) also let a caller produce
deliberately wrong messages (a lying Content-length, a part without its length, a missing
closing boundary) for the violation scenarios.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

CRLF = b"\r\n"
TERMINATOR = b"\r\n\r\n"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'

CONTENT_TYPE_JPEG = "image/jpeg"
CONTENT_TYPE_GENERIC = "application/x-genericbytedata-octet-stream"
DEFAULT_BOUNDARY = "frontier"  # the document's example boundary

Scalar = str | int | float | bool


def yes_no(flag: bool) -> str:
    """The document's boolean spelling."""
    return "yes" if flag else "no"


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return yes_no(value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Element:
    """One XML element to encode: tag, optional text, attributes in order, children."""

    tag: str
    text: Scalar | None = None
    attrs: tuple[tuple[str, Scalar], ...] = ()
    children: tuple[Element, ...] = ()


def el(tag: str, text: Scalar | None = None, *children: Element,
       **attrs: Scalar) -> Element:
    """Shorthand: ``el("time", 1700000000000)``, ``el("transcode", None, el("width", 320))``.

    Keyword attributes keep their order; booleans are written ``yes``/``no``.
    """
    return Element(tag, text, tuple(attrs.items()), tuple(children))


def _optional(tag: str, value: Scalar | None) -> tuple[Element, ...]:
    return () if value is None else (Element(tag, value),)


def _build(parent: etree._Element | None, node: Element) -> etree._Element:
    elem = etree.Element(node.tag) if parent is None else etree.SubElement(parent, node.tag)
    for name, value in node.attrs:
        elem.set(name, _text(value))
    if node.text is not None:
        elem.text = _text(node.text)
    for child in node.children:
        _build(elem, child)
    return elem


def xml_document(root: Element, *, pretty: bool = True,
                 declaration: bytes = XML_DECLARATION) -> bytes:
    """Declaration plus the serialised tree, without the message terminator."""
    # xml_declaration=False: lxml would write single quotes; the document uses double.
    body = etree.tostring(_build(None, root), encoding="UTF-8", xml_declaration=False,
                          pretty_print=pretty)
    return declaration + b"\n" + body.rstrip()


def message(xml: bytes) -> bytes:
    """Terminate one XML message with the double CR-LF."""
    return xml + TERMINATOR


def methodcall(requestid: int | str, methodname: str, *children: Element,
               pretty: bool = True) -> bytes:
    """A complete ``<methodcall>`` request message."""
    root = Element("methodcall", None, (),
                   (Element("requestid", requestid), Element("methodname", methodname),
                    *children))
    return message(xml_document(root, pretty=pretty))


def methodresponse(requestid: int | str, methodname: str, *children: Element,
                   pretty: bool = True) -> bytes:
    """A complete ``<methodresponse>`` message."""
    root = Element("methodresponse", None, (),
                   (Element("requestid", requestid), Element("methodname", methodname),
                    *children))
    return message(xml_document(root, pretty=pretty))


# --------------------------------------------------------------------------- requests


def connect_param(device_id: str, token: str, stream_id: str | None = None) -> str:
    """``id=…[&streamid=…]&connectiontoken=…`` in the order the document requires."""
    parts = [f"id={device_id}"]
    if stream_id is not None:
        parts.append(f"streamid={stream_id}")
    parts.append(f"connectiontoken={token}")
    return "&".join(parts)


@dataclass(frozen=True, slots=True)
class ClientCapabilities:
    """``<clientcapabilities>``; ``None`` leaves an element out (all are optional)."""

    privacymask: bool | None = None
    privacymaskversion: int | None = None
    multipartdata: bool | None = None
    datarestriction: bool | None = None

    def element(self) -> Element:
        return Element("clientcapabilities", None, (), (
            *_optional("privacymask", self.privacymask),
            *_optional("privacymaskversion", self.privacymaskversion),
            *_optional("multipartdata", self.multipartdata),
            *_optional("datarestriction", self.datarestriction),
        ))


@dataclass(frozen=True, slots=True)
class Transcode:
    """``<transcode>``; ``None`` leaves an element out (all are optional)."""

    allframes: bool | None = None
    width: int | None = None
    height: int | None = None
    keepaspectratio: bool | None = None
    allowupsizing: bool | None = None

    def element(self) -> Element:
        return Element("transcode", None, (), (
            *_optional("allframes", self.allframes),
            *_optional("width", self.width),
            *_optional("height", self.height),
            *_optional("keepaspectratio", self.keepaspectratio),
            *_optional("allowupsizing", self.allowupsizing),
        ))


def connect_request(requestid: int, *, username: str, password: str, cameraid: str | None,
                    connectparam: str | None, alwaysstdjpeg: bool | None = None,
                    clientcapabilities: ClientCapabilities | None = None,
                    transcode: Transcode | None = None,
                    timerestriction: tuple[int, int] | None = None,
                    pretty: bool = True) -> bytes:
    """``connect`` with the full syntax of the document (optional parts when given).
    ``cameraid`` or ``connectparam`` None leaves it out, as peers do: the camera named by
    connectparam id only, or basic credentials without a connectparam."""
    children: list[Element] = [
        Element("username", username),
        Element("password", password),
        *_optional("cameraid", cameraid),
        *_optional("alwaysstdjpeg", alwaysstdjpeg),
        *_optional("connectparam", connectparam),
    ]
    if clientcapabilities is not None:
        children.append(clientcapabilities.element())
    if transcode is not None:
        children.append(transcode.element())
    if timerestriction is not None:
        start, end = timerestriction
        children.append(el("timerestriction", None, el("starttime", start),
                           el("endtime", end)))
    return methodcall(requestid, "connect", *children, pretty=pretty)


def connectupdate_request(requestid: int, connectparam: str, *, pretty: bool = True) -> bytes:
    return methodcall(requestid, "connectupdate", Element("connectparam", connectparam),
                      pretty=pretty)


def goto_request(requestid: int, time: int | str, *, compressionrate: int | None = None,
                 keyframesonly: bool | None = None, pretty: bool = True) -> bytes:
    return methodcall(requestid, "goto", Element("time", time),
                      *_optional("compressionrate", compressionrate),
                      *_optional("keyframesonly", keyframesonly), pretty=pretty)


STEP_METHODS = ("next", "previous", "nextsequence", "previoussequence")
EDGE_METHODS = ("begin", "end")


def step_request(requestid: int, method: str, *, time: int | None = None,
                 compressionrate: int | None = None, pretty: bool = True) -> bytes:
    """``next``, ``previous``, ``nextsequence`` or ``previoussequence``."""
    if method not in STEP_METHODS:
        raise ValueError(f"not a step method: {method}")
    return methodcall(requestid, method, *_optional("time", time),
                      *_optional("compressionrate", compressionrate), pretty=pretty)


def edge_request(requestid: int, method: str, *, compressionrate: int | None = None,
                 pretty: bool = True) -> bytes:
    """``begin`` or ``end``."""
    if method not in EDGE_METHODS:
        raise ValueError(f"not begin/end: {method}")
    return methodcall(requestid, method, *_optional("compressionrate", compressionrate),
                      pretty=pretty)


def alarms_range_request(requestid: int, starttime: int, stoptime: int, *,
                         pretty: bool = True) -> bytes:
    """``alarms``: recorded sequences between two points in time."""
    return methodcall(requestid, "alarms", Element("starttime", starttime),
                      Element("stoptime", stoptime), pretty=pretty)


def alarms_around_request(requestid: int, centertime: int, numalarms: int, timespan: int, *,
                          pretty: bool = True) -> bytes:
    """``alarms``: at most N sequences before and after a centre time."""
    return methodcall(requestid, "alarms", Element("centertime", centertime),
                      Element("numalarms", numalarms), Element("timespan", timespan),
                      pretty=pretty)


def adaptive_resolution(widthhint: int, heighthint: int) -> Element:
    """Adaptive streaming option #1."""
    return el("adaptivestreaming", None,
              el("resolution", None, el("widthhint", widthhint), el("heighthint", heighthint)))


ADAPTIVE_MAXRESOLUTION = el("adaptivestreaming", None, el("maxresolution"))  # option #2
ADAPTIVE_DISABLED = el("adaptivestreaming", None, el("disabled"))  # option #3


def live_request(requestid: int, *, compressionrate: int | None = None,
                 sendinitialimage: bool | None = None,
                 attributes: Mapping[str, Scalar] | None = None,
                 adaptivestreaming: Element | None = None, pretty: bool = True) -> bytes:
    """``live``: start the live feed (``attributes`` become ``<attributes a="…"/>``)."""
    children: list[Element] = [*_optional("compressionrate", compressionrate),
                               *_optional("sendinitialimage", sendinitialimage)]
    if attributes is not None:
        children.append(Element("attributes", None, tuple(attributes.items())))
    if adaptivestreaming is not None:
        children.append(adaptivestreaming)
    return methodcall(requestid, "live", *children, pretty=pretty)


def live_adaptive_request(requestid: int, adaptivestreaming: Element, *,
                          pretty: bool = True) -> bytes:
    """``live`` carrying only adaptive streaming options: answered by nothing."""
    return methodcall(requestid, "live", adaptivestreaming, pretty=pretty)


def changelivecompressionrate_request(requestid: int, compressionrate: int, *,
                                      pretty: bool = True) -> bytes:
    return methodcall(requestid, "changelivecompressionrate",
                      Element("compressionrate", compressionrate), pretty=pretty)


def stop_request(requestid: int, *, pretty: bool = True) -> bytes:
    return methodcall(requestid, "stop", pretty=pretty)


# The document announces "one of these text strings" and then lists none; these are the
# commands of Milestone's PTZ directions and home, which our server accepts.
PTZ_COMMANDS = ("up", "down", "left", "right", "upleft", "upright", "downleft",
                "downright", "zoomin", "zoomout", "home")


def ptz_request(requestid: int, ptzcommand: str, *, pretty: bool = True) -> bytes:
    return methodcall(requestid, "ptz", Element("ptzcommand", ptzcommand), pretty=pretty)


def ptzcenter_request(requestid: int, *, refwidth: int, refheight: int, centerx: int,
                      centery: int, zoom: int, pretty: bool = True) -> bytes:
    return methodcall(requestid, "ptzcenter", Element("refwidth", refwidth),
                      Element("refheight", refheight), Element("centerx", centerx),
                      Element("centery", centery), Element("zoom", zoom), pretty=pretty)


def ptzrectangle_request(requestid: int, *, refwidth: int, refheight: int, left: int,
                         top: int, right: int, bottom: int, pretty: bool = True) -> bytes:
    return methodcall(requestid, "ptzrectangle", Element("refwidth", refwidth),
                      Element("refheight", refheight), Element("left", left),
                      Element("top", top), Element("right", right),
                      Element("bottom", bottom), pretty=pretty)


def preset_request(requestid: int, presetname: str, *, pretty: bool = True) -> bytes:
    return methodcall(requestid, "preset", Element("presetname", presetname), pretty=pretty)


def output_request(requestid: int, outputname: str, *, pretty: bool = True) -> bytes:
    return methodcall(requestid, "output", Element("outputname", outputname), pretty=pretty)


def aviinformation_request(requestid: int, start: int, stop: int, *,
                           pretty: bool = True) -> bytes:
    return methodcall(requestid, "aviinformation", Element("start", start),
                      Element("stop", stop), pretty=pretty)


# -------------------------------------------------------------------------- responses


@dataclass(frozen=True, slots=True)
class ServerCapabilities:
    """``<servercapabilities>`` of a connect response."""

    connectupdate: bool = True
    adaptivestreamingversion: int | None = 1

    def element(self) -> Element:
        return Element("servercapabilities", None, (), (
            Element("connectupdate", self.connectupdate),
            *_optional("adaptivestreamingversion", self.adaptivestreamingversion),
        ))


def connect_response(requestid: int | str, *, connected: bool,
                     errorreason: str | None = None, alwaysstdjpeg: bool | None = None,
                     camera: Sequence[Element] | None = None,
                     clientcapabilities: ClientCapabilities | None = None,
                     servercapabilities: ServerCapabilities | None = None,
                     transcode: Transcode | None = None, pretty: bool = True) -> bytes:
    """``connect`` response; ``errorreason`` belongs only with ``connected=no``.

    The encoder does not enforce that rule (a violation scenario needs to break it).
    ``camera`` holds the "[camera info]" the document leaves unspecified.
    """
    children: list[Element] = [Element("connected", connected),
                               *_optional("errorreason", errorreason),
                               *_optional("alwaysstdjpeg", alwaysstdjpeg)]
    if camera is not None:
        children.append(Element("camera", None, (), tuple(camera)))
    if clientcapabilities is not None:
        children.append(clientcapabilities.element())
    if servercapabilities is not None:
        children.append(servercapabilities.element())
    if transcode is not None:
        children.append(transcode.element())
    return methodresponse(requestid, "connect", *children, pretty=pretty)


def connectupdate_response(requestid: int | str, *, connected: bool,
                           errorreason: str | None = None, pretty: bool = True) -> bytes:
    return methodresponse(requestid, "connectupdate", Element("connected", connected),
                          *_optional("errorreason", errorreason), pretty=pretty)


@dataclass(frozen=True, slots=True)
class Alarm:
    """One recorded sequence in an ``alarms`` response (times in ms since the epoch)."""

    start: int
    alarm: int
    end: int
    num_images: int

    def element(self) -> Element:
        return el("alarm", None, startTime=self.start, alarmTime=self.alarm,
                  endTime=self.end, numImages=self.num_images)


def alarms_response(requestid: int | str, *, db_start: int, db_end: int,
                    alarms: Iterable[Alarm], pretty: bool = True) -> bytes:
    """``alarms`` response: ``<dblimit>`` then ``<alarms>`` (camelCase attributes as shown)."""
    return methodresponse(
        requestid, "alarms",
        el("dblimit", None, startTime=db_start, endTime=db_end),
        Element("alarms", None, (), tuple(a.element() for a in alarms)),
        pretty=pretty,
    )


def empty_response(requestid: int | str, methodname: str, *, pretty: bool = True) -> bytes:
    """The bare answer of ``changelivecompressionrate``, ``stop``, ``ptz``, ``ptzcenter``,
    ``ptzrectangle``, ``preset`` and ``output``."""
    return methodresponse(requestid, methodname, pretty=pretty)


def aviinformation_response(requestid: int | str, *, width: int, height: int, depth: int,
                            fps: float, pretty: bool = True) -> bytes:
    return methodresponse(requestid, "aviinformation", Element("width", width),
                          Element("height", height), Element("depth", depth),
                          Element("fps", _fps_text(fps)), pretty=pretty)


def _fps_text(fps: float) -> str:
    """A float as the document's ``[float]``: plain decimal, no exponent."""
    text = f"{fps:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


# ------------------------------------------------------------------------- live status


# Section "live", status item table: id → meaning. Values are "0" or "1".
STATUS_ITEMS: dict[int, str] = {
    1: "Camera live feed started",
    2: "Live feed motion",
    3: "Live feed recording",
    4: "Live feed event notification",
    5: "Camera connection lost",
    6: "Database fail",
    7: "Server is running out of disk space",
    100: "Client Live feed stopped",
}


@dataclass(frozen=True, slots=True)
class StatusItem:
    id: int | str
    value: int | str
    description: str | None = None

    def element(self) -> Element:
        attrs: list[tuple[str, Scalar]] = [("id", self.id), ("value", self.value)]
        if self.description is not None:
            attrs.append(("description", self.description))
        return Element("statusitem", None, tuple(attrs))


def livepackage(statustime: int | str, items: Iterable[StatusItem], *,
                pretty: bool = True) -> bytes:
    """A ``<livepackage>``: exactly one ``<statustime>`` and zero or more status items."""
    status = Element("status", None, (), (Element("statustime", statustime),
                                          *(i.element() for i in items)))
    return message(xml_document(Element("livepackage", None, (), (status,)), pretty=pretty))


# ------------------------------------------------------------------------ privacy mask

PRIVACY_MASK_NONE = "none"


def grid_privacy_mask(rows: Sequence[str]) -> str:
    """The simple form ``grid;WxH;row;row…``: one ``0``/``1`` per cell, ``1`` = hidden.

    ``W`` is the number of cells per row and ``H`` the number of rows (the document's only
    example is square, ``grid;3x3;110;110;000``).
    """
    if not rows or any(len(r) != len(rows[0]) or set(r) - {"0", "1"} for r in rows):
        raise ValueError("grid rows must be non-empty strings of 0/1 of equal length")
    return f"grid;{len(rows[0])}x{len(rows)};" + ";".join(rows)


@dataclass(frozen=True, slots=True)
class MaskMethod:
    """One ``<methods>`` child (``solid`` with a colour in the document's example)."""

    value: int
    kind: str = "solid"
    removable: bool = False
    color: tuple[int, int, int] | None = (255, 0, 0)
    params: tuple[Element, ...] = ()

    def element(self) -> Element:
        children = list(self.params)
        if self.color is not None:
            r, g, b = self.color
            children.insert(0, el("color", None, el("red", r), el("green", g), el("blue", b)))
        return Element(self.kind, None,
                       (("value", self.value), ("removable", "true" if self.removable
                                                else "false")),
                       tuple(children))


def privacy_mask_xml(methods: Sequence[MaskMethod], width: int, height: int,
                     rows: Mapping[int, Sequence[int]], *, pretty: bool = True) -> bytes:
    """The ``<mask>`` document: methods, then ``<grid size="WxH">`` with its rows.

    ``rows`` maps a 1-based row index to that row's cell values (method values). As in the
    document's example (an 8×8 grid whose ``values`` are 16 characters), each cell is one
    byte written as two hex digits. Rows left out are all zero; no rows is an empty mask.
    """
    row_elements = []
    for index in sorted(rows):
        cells = rows[index]
        if len(cells) != width or not 1 <= index <= height:
            raise ValueError(f"row {index} does not fit a {width}x{height} grid")
        row_elements.append(el("row", None, index=index,
                               values="".join(f"{v:02X}"[-2:] for v in cells)))
    root = el("mask", None,
              Element("methods", None, (), tuple(m.element() for m in methods)),
              Element("grid", None, (("size", f"{width}x{height}"),), tuple(row_elements)))
    return xml_document(root, pretty=pretty,
                        declaration=b'<?xml version="1.0" encoding="utf-8"?>')


def base64_privacy_mask(mask_xml: bytes) -> str:
    """The ``PrivacyMask`` header value of privacy mask version 1."""
    return base64.b64encode(mask_xml).decode("ascii")


# ---------------------------------------------------------------------- ImageResponse


@dataclass(frozen=True, slots=True)
class ImageHeaders:
    """The header lines of an ``ImageResponse``, in the document's order.

    Times are ms since the epoch; a ``str`` is written verbatim (a violation scenario's
    malformed time). ``privacymask``, ``restriction``, ``sequencenumber`` and
    ``motionlevel`` are left out when ``None``. ``extra`` lines go after ``MotionLevel``.
    """

    requestid: int | str
    prev: int | str
    current: int | str
    next: int | str
    privacymask: str | None = None
    restriction: str | None = "none"
    sequencenumber: int | None = None
    motionlevel: int | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def lines(self) -> list[str]:
        out = ["ImageResponse", f"RequestId: {self.requestid}"]
        if self.privacymask is not None:
            out.append(f"PrivacyMask: {self.privacymask}")
        if self.restriction is not None:
            out.append(f"Restriction: {self.restriction}")
        out += [f"Prev: {self.prev}", f"Current: {self.current}", f"Next: {self.next}"]
        if self.sequencenumber is not None:
            out.append(f"SequenceNumber: {self.sequencenumber}")
        if self.motionlevel is not None:
            out.append(f"MotionLevel: {self.motionlevel}")
        out += [f"{name}: {value}" for name, value in self.extra]
        return out


def _header_block(lines: Iterable[str]) -> bytes:
    return b"".join(line.encode("latin-1") + CRLF for line in lines) + CRLF


def image_response(headers: ImageHeaders, body: bytes, *,
                   content_type: str = CONTENT_TYPE_JPEG,
                   content_length: int | None = None) -> bytes:
    """A single-body ``ImageResponse``. ``content_length`` overrides the true length."""
    length = len(body) if content_length is None else content_length
    block = _header_block([*headers.lines(), f"Content-length: {length}",
                           f"Content-type: {content_type}"])
    return block + body + TERMINATOR


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart body; ``content_length`` overrides, ``omit_length`` drops it."""

    data: bytes
    content_type: str = CONTENT_TYPE_GENERIC
    content_length: int | None = None
    omit_length: bool = False

    def encode(self, boundary: str) -> bytes:
        """``--boundary``, the part's header lines, an empty line, the data."""
        lines = [f"--{boundary}"]
        if not self.omit_length:
            length = len(self.data) if self.content_length is None else self.content_length
            lines.append(f"Content-length: {length}")
        lines.append(f"Content-type: {self.content_type}")
        return _header_block(lines) + self.data


@dataclass(frozen=True, slots=True)
class Multipart:
    """A ``multipart/related`` body; ``close=False`` leaves out the closing delimiter.

    As in MIME, the CR-LF before each boundary line belongs to the delimiter, so a body
    without its closing delimiter ends with the last part's data.
    """

    parts: tuple[Part, ...]
    boundary: str = DEFAULT_BOUNDARY
    close: bool = True

    def encode(self) -> bytes:
        body = CRLF.join(p.encode(self.boundary) for p in self.parts)
        if self.close:
            body += CRLF + f"--{self.boundary}--".encode("latin-1")
        return body


def multipart_image_response(headers: ImageHeaders, body: Multipart) -> bytes:
    """An ``ImageResponse`` whose body is ``multipart/related; boundary=…``.

    As in the document, the outer header block carries no Content-length: each part
    declares its own and the closing boundary ends the body.
    """
    block = _header_block([*headers.lines(),
                           f"Content-type: multipart/related; boundary={body.boundary}"])
    return block + body.encode() + TERMINATOR
