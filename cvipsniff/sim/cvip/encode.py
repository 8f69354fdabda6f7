"""Encoders for every CVIPv2 message the reference peers send: pure functions to bytes.

Shapes follow the spec's examples (../shared/spec/cvipv2-protocol.txt): the 9-byte
header ("CVIPv2 Message Header"), the 16-byte ping request and 37-byte ping response
("Discover Device"), and XML-RPC bodies (``methodCall``/``methodResponse``, the
acknowledge response, ``cviEvent.notify``, ``AnalyticsData``). Every knob a fault
injector needs (byte order, version, message type, declared size, response bit, extra
bytes) is a keyword argument, so a broken message is built by the same code as a good
one and differs only where it is meant to.

Decisions (NOTES.md):

* header fields are big-endian (network order); ``little_endian=True`` writes the other
  order for fault injection (NOTES 1); the size counts the header (NOTES 5);
* an acknowledge response is a ``methodResponse`` whose single param is a struct with an
  ``ErrorCode`` ``<uint>``, optionally preceded by the request's ``<methodName>`` ("The
  name is the same as the request message", NOTES 7);
* no XML declaration unless asked for: the spec's examples have none.
"""

from __future__ import annotations

import base64
import ipaddress
import math
import struct
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from lxml import etree

from cvipsniff.sim.cvip.constants import (
    EVENT_TIME_FORMAT,
    HEADER_SIZE,
    MSG_TYPE_NONE,
    MSG_TYPE_PING_REQUEST,
    MSG_TYPE_PING_RESPONSE,
    PROTOCOL_VERSION,
    RESPONSE_BIT,
    TXN_MASK,
)
from cvipsniff.sim.cvip.values import Struct, TypeOnly, UInt

# Header layout as data: version (H), message type (B), transaction (H), size (I).
_HEADER = {False: struct.Struct(">HBHI"), True: struct.Struct("<HBHI")}
# Ping bodies after the header: IP (4s), port (H), connection type (B) [, GUID (16s),
# manufacturer (H), product type (H), status (B)].
_PING_REQUEST_BODY = {False: struct.Struct(">4sHB"), True: struct.Struct("<4sHB")}
_PING_RESPONSE_BODY = {False: struct.Struct(">4sHB16sHHB"), True: struct.Struct("<4sHB16sHHB")}

ISO8601_FORMAT = "%Y%m%dT%H:%M:%S"  # XML-RPC dateTime.iso8601 as the XML-RPC spec writes it


# --- binary: header and ping ----------------------------------------------------------


def encode_header(
    txn: int,
    size: int,
    *,
    response: bool = False,
    msg_type: int = MSG_TYPE_NONE,
    version: int = PROTOCOL_VERSION,
    little_endian: bool = False,
) -> bytes:
    """The 9-byte CVIP header. ``txn`` is the 15-bit number; ``response`` sets the MSB."""
    if not 0 <= txn <= TXN_MASK:
        raise ValueError(f"transaction number out of 15 bits: {txn}")
    word = txn | (RESPONSE_BIT if response else 0)
    return _HEADER[little_endian].pack(version, msg_type, word, size)


def frame(
    body: bytes,
    txn: int,
    *,
    response: bool = False,
    msg_type: int = MSG_TYPE_NONE,
    version: int = PROTOCOL_VERSION,
    little_endian: bool = False,
    size: int | None = None,
) -> bytes:
    """Header + body; ``size`` overrides the declared size (fault injection only)."""
    declared = HEADER_SIZE + len(body) if size is None else size
    header = encode_header(
        txn, declared, response=response, msg_type=msg_type, version=version,
        little_endian=little_endian,
    )
    return header + body


def _ipv4(ip: str | bytes) -> bytes:
    if isinstance(ip, bytes):
        if len(ip) != 4:
            raise ValueError("an IPv4 address is 4 bytes")
        return ip
    return ipaddress.IPv4Address(ip).packed


def ping_request(
    txn: int,
    ip: str | bytes,
    port: int,
    connection_type: int,
    *,
    msg_type: int = MSG_TYPE_PING_REQUEST,
    version: int = PROTOCOL_VERSION,
    little_endian: bool = False,
    response: bool = False,
    extra: bytes = b"",
    size: int | None = None,
) -> bytes:
    """CVIP Ping Request: header, client IP, client CVIP port, connection type (16 bytes).

    ``extra`` appends bytes (a wrong-length ping); the declared size follows unless
    ``size`` is given."""
    body = _PING_REQUEST_BODY[little_endian].pack(_ipv4(ip), port, connection_type) + extra
    return frame(
        body, txn, response=response, msg_type=msg_type, version=version,
        little_endian=little_endian, size=size,
    )


def ping_response(
    txn: int,
    ip: str | bytes,
    port: int,
    connection_type: int,
    guid: bytes,
    manufacturer_id: int,
    product_type: int,
    status: int,
    *,
    msg_type: int = MSG_TYPE_PING_RESPONSE,
    version: int = PROTOCOL_VERSION,
    little_endian: bool = False,
    response: bool = True,
    extra: bytes = b"",
    size: int | None = None,
) -> bytes:
    """CVIP Ping Response (37 bytes): the unit's IP and CVIP port, connection type, 16-byte
    unit GUID, manufacturer id, product type and the rebooted-since-last-request status."""
    if len(guid) != 16:
        raise ValueError("the unit GUID of a ping response is 16 bytes")
    body = _PING_RESPONSE_BODY[little_endian].pack(
        _ipv4(ip), port, connection_type, guid, manufacturer_id, product_type, status
    ) + extra
    return frame(
        body, txn, response=response, msg_type=msg_type, version=version,
        little_endian=little_endian, size=size,
    )


# --- XML-RPC values -------------------------------------------------------------------


def _text_element(tag: str, text: str) -> etree._Element:
    element = etree.Element(tag)
    element.text = text
    return element


def value_element(value: Any) -> etree._Element:
    """``<value>`` for a Python value, by the mapping in :mod:`cvipsniff.sim.cvip.values`."""
    wrapper = etree.Element("value")
    wrapper.append(_typed_element(value))
    return wrapper


def _typed_element(value: Any) -> etree._Element:
    # bool before int (bool is an int), UInt before int (UInt is an int).
    if value is None:
        return etree.Element("nil")
    if isinstance(value, TypeOnly):
        return etree.Element(value.tag)
    if isinstance(value, bool):
        return _text_element("boolean", "1" if value else "0")
    if isinstance(value, UInt):
        return _text_element("uint", str(int(value)))
    if isinstance(value, int):
        return _text_element("int", str(int(value)))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("XML-RPC doubles are finite")
        return _text_element("double", repr(value))
    if isinstance(value, str):
        return _text_element("string", value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _text_element("base64", base64.b64encode(bytes(value)).decode("ascii"))
    if isinstance(value, datetime):
        return _text_element("dateTime.iso8601", value.strftime(ISO8601_FORMAT))
    if isinstance(value, Struct | Mapping):
        return _struct_element(value.members if isinstance(value, Struct) else value.items())
    if isinstance(value, list | tuple):
        array = etree.Element("array")
        data = etree.SubElement(array, "data")
        for item in value:
            data.append(value_element(item))
        return array
    raise TypeError(f"no XML-RPC mapping for {type(value).__name__}")


def _struct_element(members: Iterable[tuple[str, Any]]) -> etree._Element:
    struct_el = etree.Element("struct")
    for name, member_value in members:
        member = etree.SubElement(struct_el, "member")
        etree.SubElement(member, "name").text = str(name)
        member.append(value_element(member_value))
    return struct_el


def _serialize(root: etree._Element, *, declaration: bool, pretty: bool) -> bytes:
    return etree.tostring(
        root, encoding="utf-8", xml_declaration=declaration, pretty_print=pretty
    )


# --- XML-RPC documents ----------------------------------------------------------------


def method_call(
    method: str, *params: Any, declaration: bool = False, pretty: bool = False
) -> bytes:
    """``<methodCall>`` with one ``<param>`` per positional argument.

    Named fields (most of the spec's tables) are one struct param: pass a ``dict`` or a
    :class:`Struct`. Positional fields (the spec's PTZ example) are several params. With
    no params the body carries ``<params/>`` as in the spec's examples."""
    root = etree.Element("methodCall")
    etree.SubElement(root, "methodName").text = method
    params_el = etree.SubElement(root, "params")
    for param in params:
        etree.SubElement(params_el, "param").append(value_element(param))
    return _serialize(root, declaration=declaration, pretty=pretty)


_NO_VALUE = object()


def method_response(
    value: Any = _NO_VALUE,
    *,
    method: str | None = None,
    declaration: bool = False,
    pretty: bool = False,
) -> bytes:
    """``<methodResponse>`` carrying ``value`` as its single param (none: ``<params/>``).

    ``method`` adds a ``<methodName>`` first, which the spec asks of acknowledgements."""
    root = etree.Element("methodResponse")
    if method is not None:
        etree.SubElement(root, "methodName").text = method
    params_el = etree.SubElement(root, "params")
    if value is not _NO_VALUE:
        etree.SubElement(params_el, "param").append(value_element(value))
    return _serialize(root, declaration=declaration, pretty=pretty)


def ack(
    code: int,
    *,
    method: str | None = None,
    extra: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
    declaration: bool = False,
) -> bytes:
    """Acknowledge response: a struct whose first member is ``ErrorCode`` (``<uint>``),
    followed by the ``extra`` members some methods return with their acknowledgement
    (cviStream.create's StreamID, the ids of added profiles, users, ...)."""
    pairs = extra.items() if isinstance(extra, Mapping) else extra
    members = (("ErrorCode", UInt(code)), *pairs)
    return method_response(Struct.of(members), method=method, declaration=declaration)


def fault(code: int, message: str, *, declaration: bool = False) -> bytes:
    """Standard XML-RPC fault (``faultCode``/``faultString``). The CVIP document reports
    errors with acknowledgements instead; the encoder offers faults for tools and tests."""
    root = etree.Element("methodResponse")
    fault_el = etree.SubElement(root, "fault")
    fault_el.append(value_element({"faultCode": int(code), "faultString": message}))
    return _serialize(root, declaration=declaration, pretty=False)


def event_time(moment: datetime) -> str:
    """An event timestamp in the spec's ``YYYY-MM-DD HH:MM:SS``."""
    return moment.strftime(EVENT_TIME_FORMAT)


def event_notify(
    event_type: int,
    channel: int,
    time: datetime | str,
    event_guid: str,
    info: int,
    *,
    declaration: bool = False,
) -> bytes:
    """``cviEvent.notify`` (NVR 4.3): the server's asynchronous methodCall with Type, Id,
    Time, EventGUID and info (1 alarm on, 0 alarm off)."""
    stamp = event_time(time) if isinstance(time, datetime) else time
    return method_call(
        "cviEvent.notify",
        {
            "Type": UInt(event_type),
            "Id": UInt(channel),
            "Time": stamp,
            "EventGUID": event_guid,
            "info": UInt(info),
        },
        declaration=declaration,
    )


def analytics_data(
    source_guid: str,
    data_time: int,
    boxes_valid: bool,
    boxes: Iterable[tuple[int, int, int, int]],
    blocks: Iterable[tuple[int, int]],
) -> bytes:
    """The ``AnalyticsData`` document streamed by an analytics session (Device 4,
    "Motion Detection Data"): a validity flag and bounding boxes (left, top, right,
    bottom) in the first param, object blocks as flattened (x, y) pairs in the second.
    The document's example is malformed (``<boolean>1</int>``, ``AnalyticsData >``); this
    writes the well-formed shape it intends. It travels on the analytics data channel,
    not the CVIP control connection."""
    root = etree.Element("AnalyticsData")
    etree.SubElement(root, "DataSourceGUID").text = source_guid
    etree.SubElement(root, "DataTime").text = str(int(data_time))
    params_el = etree.SubElement(root, "params")
    first = etree.SubElement(params_el, "param")
    first.append(value_element(bool(boxes_valid)))
    first.append(
        value_element(
            [{"Left": b[0], "Top": b[1], "Right": b[2], "Bottom": b[3]} for b in boxes]
        )
    )
    flattened = [coordinate for block in blocks for coordinate in block]
    etree.SubElement(params_el, "param").append(value_element(flattened))
    return _serialize(root, declaration=False, pretty=False)
