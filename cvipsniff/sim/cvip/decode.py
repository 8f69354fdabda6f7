"""The reference peers' own reading of CVIPv2 bytes: header, ping, XML-RPC, stream framing.

Deliberately independent of :mod:`dissectors.cvip`. A peer is not an analyzer: it reads
what it needs to answer, strictly (a document it cannot read earns an Invalid
acknowledgement), and its only promise on hostile input is to never raise anything but
:class:`DecodeError` from the parse functions and to keep memory bounded.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from cvipsniff.sim.cvip.constants import (
    HEADER_SIZE,
    MSG_TYPE_PING_REQUEST,
    PING_REQUEST_SIZE,
    PING_RESPONSE_SIZE,
    PROTOCOL_VERSION,
    RESPONSE_BIT,
    TXN_MASK,
)
from cvipsniff.sim.cvip.values import Struct, TypeOnly, UInt

# The largest message a peer buffers. The spec caps one ImageData chunk at 1024 KB, which
# base64 and XML grow to about 1.4 MB; 4 MiB leaves room without inviting abuse.
MAX_MESSAGE_SIZE = 4 * 1024 * 1024
MAX_XML_DEPTH = 48  # nesting of values inside a document; deeper is refused

_HEADER = {False: struct.Struct(">HBHI"), True: struct.Struct("<HBHI")}
_PING_REQUEST_BODY = {False: struct.Struct(">4sHB"), True: struct.Struct("<4sHB")}
_PING_RESPONSE_BODY = {False: struct.Struct(">4sHB16sHHB"), True: struct.Struct("<4sHB16sHHB")}


class DecodeError(ValueError):
    """Bytes a peer cannot read as what it expected; the message says why."""


# --- header and ping ------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Header:
    """A decoded 9-byte header. ``txn`` is the 15-bit number without the response bit."""

    version: int
    msg_type: int
    txn: int
    response: bool
    size: int
    little_endian: bool = False


def parse_header(data: bytes | bytearray | memoryview) -> Header | None:
    """The header at the start of ``data``, or ``None`` if these bytes cannot start one.

    Big-endian is the project's reading (NOTES 1). A little-endian writer shows the
    version as ``01 02``; the peer reads that too and answers in the same order. Any other
    version whose first byte is 0x02 is read big-endian, so an unsupported minor version
    still gets an answer (an Invalid acknowledgement) instead of silence."""
    if len(data) < HEADER_SIZE:
        return None
    first, second = data[0], data[1]
    if first == 0x01 and second == 0x02:
        little_endian = True
    elif first == 0x02:
        little_endian = False
    else:
        return None
    version, msg_type, word, size = _HEADER[little_endian].unpack_from(data, 0)
    return Header(
        version=version,
        msg_type=msg_type,
        txn=word & TXN_MASK,
        response=bool(word & RESPONSE_BIT),
        size=size,
        little_endian=little_endian,
    )


def is_supported_version(header: Header) -> bool:
    return header.version == PROTOCOL_VERSION


@dataclass(slots=True, frozen=True)
class PingRequest:
    header: Header
    ip: str
    port: int
    connection_type: int
    extra: bytes = b""


@dataclass(slots=True, frozen=True)
class PingResponse:
    header: Header
    ip: str
    port: int
    connection_type: int
    guid: bytes
    manufacturer_id: int
    product_type: int
    status: int
    extra: bytes = b""


def parse_ping_request(data: bytes) -> PingRequest | None:
    """A ping request (message type 0x01, response bit clear, at least 16 bytes).

    Trailing bytes are kept in ``extra`` rather than refused: a device that answers a
    slightly long ping is more useful on a real network than one that goes silent."""
    header = parse_header(data)
    if header is None or header.msg_type != MSG_TYPE_PING_REQUEST or header.response:
        return None
    if len(data) < PING_REQUEST_SIZE:
        return None
    raw_ip, port, connection_type = _PING_REQUEST_BODY[header.little_endian].unpack_from(
        data, HEADER_SIZE
    )
    return PingRequest(
        header=header,
        ip=str(ipaddress.IPv4Address(raw_ip)),
        port=port,
        connection_type=connection_type,
        extra=bytes(data[PING_REQUEST_SIZE:]),
    )


def parse_ping_response(data: bytes) -> PingResponse | None:
    """A ping response (message type 0x01 with the response bit, at least 37 bytes)."""
    header = parse_header(data)
    if header is None or header.msg_type != MSG_TYPE_PING_REQUEST or not header.response:
        return None
    if len(data) < PING_RESPONSE_SIZE:
        return None
    raw_ip, port, ctype, guid, manufacturer, product, status = _PING_RESPONSE_BODY[
        header.little_endian
    ].unpack_from(data, HEADER_SIZE)
    return PingResponse(
        header=header,
        ip=str(ipaddress.IPv4Address(raw_ip)),
        port=port,
        connection_type=ctype,
        guid=guid,
        manufacturer_id=manufacturer,
        product_type=product,
        status=status,
        extra=bytes(data[PING_RESPONSE_SIZE:]),
    )


# --- stream framing -------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Message:
    """One complete message (header included) cut from a stream."""

    header: Header
    data: bytes


@dataclass(slots=True, frozen=True)
class Garbage:
    """Bytes that start no plausible header; a peer has no transaction to answer them."""

    data: bytes


@dataclass(slots=True, frozen=True)
class Oversized:
    """A header declaring more than the peer will buffer. The stream cannot be trusted
    past it, so the reader stops; the session answers Invalid and closes."""

    header: Header


Chunk = Message | Garbage | Oversized


@dataclass(slots=True)
class MessageReader:
    """Incremental framer for the bytes a peer receives on one TCP connection.

    Bytes are kept in one buffer with a read offset (compacted when half consumed), so a
    message arriving in many small pieces is not copied once per piece."""

    max_size: int = MAX_MESSAGE_SIZE
    _buffer: bytearray = field(default_factory=bytearray)
    _offset: int = 0
    stopped: bool = False

    def feed(self, data: bytes) -> list[Chunk]:
        if self.stopped:
            return []
        self._buffer += data
        out: list[Chunk] = []
        while not self.stopped:
            chunk = self._next()
            if chunk is None:
                break
            out.append(chunk)
        if self._offset and self._offset * 2 >= len(self._buffer):
            del self._buffer[: self._offset]
            self._offset = 0
        return out

    def pending(self) -> int:
        """Bytes buffered but not yet returned (a message still arriving)."""
        return len(self._buffer) - self._offset

    def _next(self) -> Chunk | None:
        buf, start = self._buffer, self._offset
        available = len(buf) - start
        if available == 0:
            return None
        candidate = _find_header_start(buf, start)
        if candidate is None:
            # Keep the last byte: it may be the first byte of a header still arriving.
            keep = 1 if buf[-1] == 0x01 else 0
            if available - keep == 0:
                return None
            return self._take_garbage(len(buf) - keep)
        if candidate > start:
            return self._take_garbage(candidate)
        if available < HEADER_SIZE:
            return None
        header = parse_header(memoryview(buf)[start : start + HEADER_SIZE])
        if header is None or header.size < HEADER_SIZE:
            return self._take_garbage(start + 1)
        if header.size > self.max_size:
            self.stopped = True
            self._buffer.clear()
            self._offset = 0
            return Oversized(header)
        if available < header.size:
            return None
        data = bytes(buf[start : start + header.size])
        self._offset = start + header.size
        return Message(header, data)

    def _take_garbage(self, end: int) -> Garbage:
        data = bytes(self._buffer[self._offset : end])
        self._offset = end
        return Garbage(data)


def _find_header_start(buf: bytearray, start: int) -> int | None:
    """Offset of the first byte that may begin a header: 0x02 (big-endian version) or
    0x01 followed by 0x02 (little-endian)."""
    positions = [p for p in (buf.find(b"\x02", start), buf.find(b"\x01\x02", start)) if p >= 0]
    return min(positions) if positions else None


# --- XML-RPC --------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Call:
    """A decoded ``methodCall``: the method name and its params in order."""

    method: str
    params: list[Any]


@dataclass(slots=True, frozen=True)
class Response:
    """A decoded ``methodResponse``: optional methodName, params, or a fault struct."""

    method: str | None
    params: list[Any]
    fault: Struct | None = None

    @property
    def value(self) -> Any:
        """The single param most responses carry (``None`` if there is none)."""
        return self.params[0] if self.params else None

    @property
    def error_code(self) -> int | None:
        """The ``ErrorCode`` of an acknowledgement, else ``None``."""
        value = self.value
        if isinstance(value, Struct) and value.has("ErrorCode"):
            code = value.get("ErrorCode")
            return int(code) if isinstance(code, int) else None
        return None


def _parser() -> etree.XMLParser:
    # Entities are not resolved, no DTD is loaded, nothing is fetched from the network,
    # and libxml2's own size limits stay on (huge_tree off).
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=False,
    )


def parse_xml(body: bytes) -> etree._Element:
    """The root element of a body, refusing DTDs, entities and oversized documents."""
    if len(body) > MAX_MESSAGE_SIZE:
        raise DecodeError("document larger than the peer accepts")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise DecodeError("DTD or entity declarations are refused")
    try:
        root = etree.fromstring(body, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise DecodeError(f"not well-formed XML: {exc}") from None
    if root is None:
        raise DecodeError("empty document")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise DecodeError("DTD declarations are refused")
    return root


def parse_body(body: bytes) -> Call | Response:
    """A CVIP XML-RPC body as a :class:`Call` or :class:`Response`.

    Tolerated, because the spec's own examples do it: a ``<param>`` holding a typed
    element without the ``<value>`` wrapper, and an outer ``<xml>`` element around the
    document (the PTZ example)."""
    root = parse_xml(body)
    if root.tag == "xml" and len(root) == 1:
        root = root[0]
    if root.tag == "methodCall":
        name_el = root.find("methodName")
        method = (name_el.text or "").strip() if name_el is not None else ""
        if not method:
            raise DecodeError("methodCall without a methodName")
        return Call(method, _params(root))
    if root.tag == "methodResponse":
        name_el = root.find("methodName")
        method = (name_el.text or "").strip() if name_el is not None else None
        fault_el = root.find("fault")
        if fault_el is not None:
            value = _value_of(fault_el.find("value"), 0)
            if not isinstance(value, Struct):
                raise DecodeError("fault without a struct")
            return Response(method or None, [], fault=value)
        return Response(method or None, _params(root))
    raise DecodeError(f"root element <{root.tag}> is not methodCall or methodResponse")


def _params(root: etree._Element) -> list[Any]:
    params_el = root.find("params")
    if params_el is None:
        return []
    out: list[Any] = []
    for param in params_el:
        if param.tag != "param":
            raise DecodeError(f"<{param.tag}> inside <params>")
        if len(param) == 0:
            raise DecodeError("empty <param>")
        child = param[0]
        out.append(_value_of(child, 0) if child.tag == "value" else _typed(child, 0))
    return out


def _value_of(value_el: etree._Element | None, depth: int) -> Any:
    if value_el is None or value_el.tag != "value":
        raise DecodeError("expected <value>")
    if len(value_el) == 0:
        return value_el.text or ""  # untyped value: a string, per XML-RPC
    if len(value_el) > 1:
        raise DecodeError("<value> with more than one child")
    return _typed(value_el[0], depth + 1)


_INT_TAGS = frozenset({"int", "i4", "i8", "iint"})  # "iint": the spec's own typo (NOTES 8)


def _typed(element: etree._Element, depth: int) -> Any:
    if depth > MAX_XML_DEPTH:
        raise DecodeError("values nested too deeply")
    tag = element.tag if isinstance(element.tag, str) else ""
    text = (element.text or "").strip()
    if tag in _INT_TAGS or tag == "uint":
        if not text:
            return TypeOnly(tag)
        try:
            number = int(text, 10)
        except ValueError:
            raise DecodeError(f"<{tag}> holds {text!r}") from None
        if tag == "uint":
            if number < 0:
                raise DecodeError("negative <uint>")
            return UInt(number)
        return number
    if tag == "boolean":
        if text in ("1", "true"):
            return True
        if text in ("0", "false"):
            return False
        if not text:
            return TypeOnly(tag)
        raise DecodeError(f"<boolean> holds {text!r}")
    if tag == "string":
        return element.text or ""
    if tag == "double":
        if not text:
            return TypeOnly(tag)
        try:
            return float(text)
        except ValueError:
            raise DecodeError(f"<double> holds {text!r}") from None
    if tag == "base64":
        try:
            return base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            raise DecodeError("<base64> is not base64") from None
    if tag == "dateTime.iso8601":
        if not text:
            return TypeOnly(tag)
        for fmt in ("%Y%m%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
        raise DecodeError(f"<dateTime.iso8601> holds {text!r}")
    if tag == "nil":
        return None
    if tag == "struct":
        members: list[tuple[str, Any]] = []
        for member in element:
            if member.tag != "member":
                raise DecodeError(f"<{member.tag}> inside <struct>")
            name_el = member.find("name")
            if name_el is None or not (name_el.text or "").strip():
                raise DecodeError("struct member without a name")
            members.append((name_el.text.strip(), _value_of(member.find("value"), depth)))
        return Struct(tuple(members))
    if tag == "array":
        data = element.find("data")
        if data is None:
            raise DecodeError("<array> without <data>")
        return [_value_of(item, depth) for item in data]
    raise DecodeError(f"unknown XML-RPC type <{tag}>")
