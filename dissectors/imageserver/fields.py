"""Filter keys of the ImageServer dissector and the :data:`FIELDS` catalogue listing them
(what ``cvipsniff fields`` prints, like ``tshark -G fields``).

Element keys follow the element's path below the root, lowercased:
``imageserver.transcode.width``, ``imageserver.alarms.alarm.starttime`` (an attribute is
one more step). They are generated from the spec tables, so a table entry and its key can
never drift apart. Elements and headers the document does not define keep a generic key
(``imageserver.element``, ``imageserver.header.other``) and their name as the label.
"""

from __future__ import annotations

from collections.abc import Iterator

from dissectors.base import FieldInfo

from .tables import IMAGE_HEADERS, LIVEPACKAGE, METHODS, PART_HEADERS, Element, Form

PREFIX = "imageserver"


def key(*parts: str) -> str:
    return ".".join((PREFIX, *(p.lower() for p in parts)))


KIND = key("kind")
REQUESTID = key("requestid")
METHODNAME = key("methodname")
ELEMENT = key("element")
ATTRIBUTE = key("attribute")
HEADER_OTHER = key("header", "other")
IMAGERESPONSE = key("imageresponse")
BODY = key("body")
BODY_KIND = key("body", "kind")
BODY_SIZE = key("body", "size")
MULTIPART = key("multipart")
PART = key("part")
PART_INDEX = key("part", "index")
PART_KIND = key("part", "kind")
PART_SIZE = key("part", "size")
PART_HEADER_OTHER = key("part", "header", "other")
CONNECTPARAM = key("connectparam")

_FORM_TYPES = {
    Form.YESNO: "bool",
    Form.NUMBER: "int",
    Form.TIME: "time",
    Form.FLOAT: "float",
    Form.TEXT: "string",
    Form.SECRET: "string",
    Form.CONNECTPARAM: "string",
    Form.ENUM: "string",
    Form.CONTAINER: "none",
    Form.EMPTY: "none",
    Form.FREE: "string",
    Form.PRIVACYMASK: "string",
    Form.CONTENT_TYPE: "string",
}

_FIXED: tuple[FieldInfo, ...] = (
    FieldInfo(KIND, "Message kind", "string",
              "request, response, imageresponse, livepackage or unknown"),
    FieldInfo(key("methodcall"), "methodcall", "none", "a request (root element)"),
    FieldInfo(key("methodresponse"), "methodresponse", "none", "an XML response (root)"),
    FieldInfo(key("livepackage"), "livepackage", "none", "live status package (root)"),
    FieldInfo(ELEMENT, "Element", "string", "an element the document does not define"),
    FieldInfo(ATTRIBUTE, "Attribute", "string",
              "an attribute the document does not define, or unparsable tag content"),
    FieldInfo(REQUESTID, "Request id", "int", "requestid element or RequestId header"),
    FieldInfo(METHODNAME, "Method name", "string"),
    FieldInfo(key("connectparam", "id"), "Device id", "string", "connectparam id="),
    FieldInfo(key("connectparam", "streamid"), "Stream id", "string", "connectparam streamid="),
    FieldInfo(key("connectparam", "connectiontoken"), "Connection token", "string",
              "connectparam connectiontoken= (masked unless reveal_secrets)"),
    FieldInfo(key("connectparam", "other"), "Other connect parameter", "string"),
    FieldInfo(key("status", "statusitem", "name"), "Status item name", "string",
              "name of the status item id from the live status item table"),
    FieldInfo(IMAGERESPONSE, "ImageResponse header block", "none"),
    FieldInfo(HEADER_OTHER, "Other header", "string", "a header the document does not name"),
    FieldInfo(BODY, "Body", "bytes"),
    FieldInfo(BODY_KIND, "Body kind", "string", "jpeg, genericbytedata, multipart or bytes"),
    FieldInfo(BODY_SIZE, "Body size", "int", "bytes actually carried"),
    FieldInfo(MULTIPART, "Multipart body", "none"),
    FieldInfo(key("multipart", "boundary"), "Multipart boundary", "string"),
    FieldInfo(PART, "Multipart part", "bytes"),
    FieldInfo(PART_INDEX, "Part number", "int", "1-based"),
    FieldInfo(PART_KIND, "Part kind", "string"),
    FieldInfo(PART_SIZE, "Part size", "int"),
    FieldInfo(key("part", "offset"), "Part data offset", "int", "byte offset in the message"),
    FieldInfo(PART_HEADER_OTHER, "Other part header", "string"),
    FieldInfo(key("privacymask", "kind"), "Privacy mask form", "string", "none, grid or xml"),
    FieldInfo(key("privacymask", "size"), "Privacy mask grid size", "string", "WxH"),
    FieldInfo(key("privacymask", "width"), "Grid columns", "int"),
    FieldInfo(key("privacymask", "height"), "Grid rows", "int"),
    FieldInfo(key("privacymask", "row"), "Grid row", "string"),
    FieldInfo(key("privacymask", "masked"), "Masked cells", "int"),
    FieldInfo(key("privacymask", "method"), "Mask method", "string",
              "a method of the base64 XML form (solid, ...) with its value"),
    FieldInfo(key("jpeg", "width"), "JPEG width", "int", "from the SOF marker"),
    FieldInfo(key("jpeg", "height"), "JPEG height", "int", "from the SOF marker"),
    FieldInfo(key("jpeg", "components"), "JPEG components", "int"),
    FieldInfo(key("jpeg", "precision"), "JPEG sample precision", "int"),
    FieldInfo(key("jpeg", "sof"), "JPEG frame type", "string", "SOF marker name"),
    FieldInfo(key("gbd", "packet"), "Generic byte data packet", "string",
              "one packet of the body and the layout it was read with (video stream "
              "packet, audio packet, metadata packet, multi packet, video block); decoded "
              "per Milestone's MIP GenericByteData layouts, not the ImageServer document"),
    FieldInfo(key("gbd", "datatype"), "Generic byte data type", "int",
              "0x0010 video, 0x0020 audio, 0x0030 metadata, 0xFEF0 multi packet"),
    FieldInfo(key("gbd", "length"), "Generic byte data length", "int",
              "total length of the packet, header included"),
    FieldInfo(key("gbd", "codec"), "Generic byte data codec", "int"),
    FieldInfo(key("gbd", "seqno"), "Generic byte data sequence number", "int"),
    FieldInfo(key("gbd", "flags"), "Generic byte data flags", "int"),
    FieldInfo(key("gbd", "keyframe"), "Key frame", "bool",
              "video stream packet: flags bit 0 (sync picture); a video block always"),
    FieldInfo(key("gbd", "synctime"), "Sync picture time", "time",
              "video block: the first picture's time"),
    FieldInfo(key("gbd", "picturetime"), "Picture time", "time",
              "video block: the last picture's time"),
    FieldInfo(key("gbd", "reserved"), "Generic byte data reserved bytes", "int"),
    FieldInfo(key("gbd", "headerlength"), "Video block header length", "int",
              "36, or more with a header extension"),
    FieldInfo(key("gbd", "datalength"), "Video block data length", "int"),
    FieldInfo(key("gbd", "pictures"), "Video block picture count", "int"),
    FieldInfo(key("gbd", "extension"), "Video block header extension", "int",
              "its size; not decoded"),
    FieldInfo(key("gbd", "multi", "rest"), "Multi packet header rest", "string",
              "the 10 header bytes after data type and length, not decoded"),
    FieldInfo(key("gbd", "payload"), "Generic byte data payload", "int",
              "the coded data after the header (its size; offset in the message)"),
    FieldInfo(key("gbd", "note"), "Generic byte data note", "string",
              "why part of a packet is not decoded"),
    FieldInfo(key("gbd", "undecoded"), "Generic byte data not decoded", "int",
              "bytes after the last packet that no layout explains"),
)


def _element_infos(elements: tuple[Element, ...], path: tuple[str, ...],
                   section: str) -> Iterator[FieldInfo]:
    for e in elements:
        here = (*path, e.name)
        if here not in (("requestid",), ("methodname",)):
            yield FieldInfo(key(*here), e.name, _FORM_TYPES[e.form], section)
        for a in e.attributes:
            yield FieldInfo(key(*here, a.name), f"{e.name} {a.name}", _FORM_TYPES[a.form],
                            section)
        yield from _element_infos(e.children, here, section)


def _header_infos() -> Iterator[FieldInfo]:
    for h in IMAGE_HEADERS:
        yield FieldInfo(key("header", h.key), h.name, _FORM_TYPES[h.form], "ImageResponse")
    for h in PART_HEADERS:
        yield FieldInfo(key("part", "header", h.key), f"part {h.name}", _FORM_TYPES[h.form],
                        "multipart part")


def _catalogue() -> tuple[FieldInfo, ...]:
    seen: dict[str, FieldInfo] = {}
    infos: list[FieldInfo] = list(_FIXED)
    for method in METHODS.values():
        for shape in method.requests:
            infos.extend(_element_infos(shape.elements, (), f"{method.name} request"))
        if method.response is not None:
            infos.extend(_element_infos(method.response.elements, (),
                                        f"{method.name} response"))
    infos.extend(_element_infos(LIVEPACKAGE.elements, (), "livepackage"))
    infos.extend(_header_infos())
    for info in infos:
        seen.setdefault(info.key, info)
    return tuple(sorted(seen.values(), key=lambda i: i.key))


FIELDS: tuple[FieldInfo, ...] = _catalogue()
FIELD_KEYS: frozenset[str] = frozenset(f.key for f in FIELDS)
