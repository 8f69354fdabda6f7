"""What the reference client verifies in a server's answers, per the protocol document.

Each function returns ``None`` when the message is what the document describes, else a
short sentence saying what is not. They read the client's own parse of the stream
(:mod:`cvipsniff.sim.imageserver.reader`), never :mod:`dissectors`.
"""

from __future__ import annotations

import base64
import binascii
import re

from cvipsniff.sim.imageserver.encode import (
    CONTENT_TYPE_GENERIC,
    CONTENT_TYPE_JPEG,
    STATUS_ITEMS,
)
from cvipsniff.sim.imageserver.genericbytedata import read_picture
from cvipsniff.sim.imageserver.jpeg import jpeg_info
from cvipsniff.sim.imageserver.reader import ImageMessage, ServerMessage, XmlAnswer
from cvipsniff.sim.imageserver.xmlread import parse_int, parse_xml

_GRID = re.compile(r"^grid;(\d+)x(\d+);([01;]+)$")


def privacy_mask_problem(value: str) -> str | None:
    """``none``, ``grid;WxH;rows…`` or base64 of a ``<mask>`` document (section
    "Privacy mask"); in the XML form each cell is two hex digits naming a method value."""
    if value == "none":
        return None
    m = _GRID.match(value)
    if m is not None:
        width, height = int(m.group(1)), int(m.group(2))
        rows = m.group(3).split(";")
        if len(rows) != height or any(len(r) != width for r in rows):
            return f"grid mask rows do not match {width}x{height}"
        return None
    try:
        xml = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "privacy mask is neither none, grid;… nor base64"
    doc = parse_xml(xml)
    if isinstance(doc, str):
        return f"privacy mask XML: {doc}"
    if doc.tag != "mask":
        return f"privacy mask root is <{doc.tag}>, not <mask>"
    methods = doc.children.get("methods")
    grid = doc.children.get("grid")
    if methods is None or grid is None:
        return "privacy mask without <methods> and <grid>"
    values = {parse_int(m.get("value")) for m in methods if isinstance(m.tag, str)}
    size = re.fullmatch(r"(\d+)x(\d+)", grid.get("size", ""))
    if size is None:
        return "grid size is not WxH"
    width, height = int(size.group(1)), int(size.group(2))
    for row in grid:
        index = parse_int(row.get("index"))
        cells = row.get("values", "")
        if index is None or not 1 <= index <= height:
            return f"row index {row.get('index')!r} outside 1..{height}"
        if len(cells) != 2 * width or not all(c in "0123456789abcdefABCDEF" for c in cells):
            return f"row {index} values are not {width} two-digit hex cells"
        for k in range(0, len(cells), 2):
            cell = int(cells[k:k + 2], 16)
            if cell and cell not in values:
                return f"row {index} references method {cell}, which is not defined"
    return None


def _times(msg: ImageMessage) -> tuple[int, int, int] | str:
    values = []
    for name in ("Prev", "Current", "Next"):
        value = parse_int(msg.header(name))
        if value is None or value < 0:
            return f"{name} is not a millisecond time: {msg.header(name)!r}"
        values.append(value)
    prev, current, nxt = values
    if not prev <= current <= nxt:
        return f"Prev/Current/Next out of order: {prev}/{current}/{nxt}"
    return prev, current, nxt


def picture_problem(data: bytes, content_type: str, size: tuple[int, int] | None) -> str | None:
    """A body of the given type is a real picture (of ``size`` when known)."""
    if content_type == CONTENT_TYPE_GENERIC:
        picture = read_picture(data)
        if picture is None:
            return "generic byte data without a consistent video packet or block header"
        data = picture[1]
    elif content_type != CONTENT_TYPE_JPEG:
        return f"unexpected Content-type {content_type!r}"
    info = jpeg_info(data)
    if info is None or not info.has_eoi:
        return "body is not a complete JPEG"
    if size is not None and (info.width, info.height) != size:
        return f"picture is {info.width}x{info.height}, expected {size[0]}x{size[1]}"
    return None


def image_response_problem(msg: ServerMessage, requestid: int, *, multipart: bool,
                           stdjpeg: bool, size: tuple[int, int] | None
                           ) -> tuple[int, int, int] | str:
    """(Prev, Current, Next) of a conforming ImageResponse for ``requestid``, else why not."""
    if not isinstance(msg, ImageMessage):
        return f"expected an ImageResponse, got {type(msg).__name__}"
    if msg.problems:
        return "; ".join(msg.problems)
    if msg.requestid != str(requestid):
        return f"RequestId {msg.requestid!r}, expected {requestid}"
    times = _times(msg)
    if isinstance(times, str):
        return times
    restriction = msg.header("Restriction")
    if restriction not in (None, "none", "time"):
        return f"Restriction {restriction!r} is neither none nor time"
    mask = msg.header("PrivacyMask")
    if mask is not None and (problem := privacy_mask_problem(mask)) is not None:
        return problem
    expected_type = CONTENT_TYPE_JPEG if stdjpeg else CONTENT_TYPE_GENERIC
    if multipart:
        if msg.parts is None or not msg.parts:
            return "expected a multipart body with at least one part"
        for n, part in enumerate(msg.parts, 1):
            ctype = part.headers.get("content-type", "")
            if ctype != expected_type:
                return f"part {n} Content-type {ctype!r}, expected {expected_type}"
            if parse_int(part.headers.get("content-length")) != len(part.data):
                return f"part {n} Content-length does not match its data"
            if (problem := picture_problem(part.data, ctype, size)) is not None:
                return f"part {n}: {problem}"
        return times
    if msg.parts is not None:
        return "multipart body, but the client did not ask for multipart data"
    ctype = msg.header("Content-type") or ""
    if ctype != expected_type:
        return f"Content-type {ctype!r}, expected {expected_type}"
    if parse_int(msg.header("Content-length")) != len(msg.body):
        return "Content-length does not match the body"
    problem = picture_problem(msg.body, ctype, size)
    return problem if problem is not None else times


def methodresponse_problem(msg: ServerMessage | None, requestid: int,
                           methodname: str) -> str | None:
    """An XML methodresponse echoing the request's requestid and methodname."""
    if msg is None:
        return "no answer"
    if not isinstance(msg, XmlAnswer):
        return f"expected an XML methodresponse, got {type(msg).__name__}"
    doc = msg.message
    if doc.tag != "methodresponse":
        return f"expected <methodresponse>, got <{doc.tag}>"
    if doc.requestid != str(requestid):
        return f"requestid {doc.requestid!r}, expected {requestid}"
    if doc.methodname != methodname:
        return f"methodname {doc.methodname!r}, expected {methodname!r}"
    return None


def livepackage_problem(msg: XmlAnswer) -> str | None:
    """Exactly one statustime; status items from the table with values 0 or 1."""
    doc = msg.message
    if doc.tag != "livepackage":
        return f"expected <livepackage>, got <{doc.tag}>"
    status = doc.children.get("status")
    if status is None:
        return "livepackage without <status>"
    times = status.findall("statustime")
    if len(times) != 1 or parse_int(times[0].text) is None:
        return f"{len(times)} statustime elements, expected exactly one time"
    for item in status.findall("statusitem"):
        ident = parse_int(item.get("id"))
        if ident not in STATUS_ITEMS:
            return f"unknown status item id {item.get('id')!r}"
        if item.get("value") not in ("0", "1"):
            return f"status item {ident} value {item.get('value')!r} is not 0/1"
    return None
