"""CVIP Ping Request (16 bytes) and Ping Response (37 bytes):
§Command details 3.2) Discover Device.

Both are binary: the 9-byte header, then fixed fields. The document gives the same
message type (0x01) to both (NOTES 2), so the layout is chosen by length (16 → request,
37 → response) and, for any other length, by the response bit. IP addresses are written
in network order (as every IP stack does); the 2-byte port, manufacturer id and product
type follow the header's byte order. Fields are decoded as far as the bytes go; a short or
long message is reported, never refused.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass

from dissectors.base import Field, Problem, Record
from dissectors.cvip.header import HEADER_SIZE, XML_LEAD, Header, encode_header, header_field
from dissectors.cvip.options import Options
from dissectors.cvip.tables.enums import (
    CONNECTION_TYPE,
    MSG_TYPE_PING,
    PING_RESPONSE_TYPE_CORRECTED,
)
from dissectors.cvip.tables.model import SPEC

REQUEST_SIZE = 16
RESPONSE_SIZE = 37
SECTION_REQ = SPEC + "Command details 3.2) Discover Device, CVIP Ping Request"
SECTION_RESP = SPEC + "Command details 3.2) Discover Device, CVIP Ping Response"


@dataclass(frozen=True, slots=True)
class PingField:
    """One fixed field of the ping layouts: where it is and how to read it."""

    attr: str
    offset: int
    length: int
    key: str
    label: str


REQUEST_LAYOUT = (
    PingField("ip", 9, 4, "cvip.ping.ip", "IP Address"),
    PingField("port", 13, 2, "cvip.ping.port", "CVIP Port"),
    PingField("connection_type", 15, 1, "cvip.ping.connection_type", "Connection Type"),
)
RESPONSE_LAYOUT = (
    *REQUEST_LAYOUT,
    PingField("guid", 16, 16, "cvip.ping.guid", "Unit GUID"),
    PingField("manufacturer_id", 32, 2, "cvip.ping.manufacturer", "Manufacturer ID"),
    PingField("product_type", 34, 2, "cvip.ping.product", "Product Type"),
    PingField("status", 36, 1, "cvip.ping.status", "Status"),
)


def looks_like_ping(header: Header, body: bytes) -> bool:
    """Whether a message is a ping rather than an XML-RPC message: message type 0x01, or
    a ping length with a body that does not start like XML."""
    if header.msg_type == MSG_TYPE_PING:
        return True
    if header.size not in (REQUEST_SIZE, RESPONSE_SIZE) and len(body) + HEADER_SIZE not in (
            REQUEST_SIZE, RESPONSE_SIZE):
        return False
    return not body.lstrip(XML_LEAD).startswith(b"<")


def _read(data: bytes, f: PingField, order: str) -> object:
    raw = data[f.offset:f.offset + f.length]
    if f.attr == "ip":
        return str(ipaddress.IPv4Address(raw))
    if f.attr == "guid":
        return str(uuid.UUID(bytes=raw))
    return int.from_bytes(raw, order)  # type: ignore[arg-type]


def _display(attr: str, value: object) -> str:
    if attr == "connection_type":
        name = CONNECTION_TYPE.name_of(value)  # type: ignore[arg-type]
        return f"{name or 'unknown'} (0x{value:02x})"
    if attr == "status":
        return {0: "not rebooted (0)", 1: "rebooted since the last request (1)"}.get(
            value, f"unknown ({value})")  # type: ignore[call-overload]
    if attr in ("manufacturer_id", "product_type"):
        return f"0x{value:04x} ({value})"
    return str(value)


def dissect_ping(data: bytes, header: Header, transport: str, opts: Options) -> Record:
    """A ping request or response as a record of protocol ``cvip-ping``."""
    n = len(data)
    if n == REQUEST_SIZE:
        is_response = False
    elif n == RESPONSE_SIZE:
        is_response = True
    else:
        is_response = header.response
    layout = RESPONSE_LAYOUT if is_response else REQUEST_LAYOUT
    section = SECTION_RESP if is_response else SECTION_REQ
    expected = RESPONSE_SIZE if is_response else REQUEST_SIZE
    kind = "ping-response" if is_response else "ping-request"
    problems: list[Problem] = []

    if n != expected:
        problems.append(Problem(
            "cvip.ping.length", "error",
            f"ping {'response' if is_response else 'request'} is {n} bytes, expected {expected}",
            section, 0, n))
    if header.size != n and header.size != expected:
        problems.append(Problem(
            "cvip.header.size_mismatch", "error",
            f"Packet Size says {header.size} bytes, the ping is {n}", section, 5, 4))
    allowed = {MSG_TYPE_PING}
    if is_response and opts.ping_response_type == "either":
        allowed.add(PING_RESPONSE_TYPE_CORRECTED)
    if header.msg_type not in allowed:
        problems.append(Problem(
            "cvip.ping.type", "error",
            f"ping message type 0x{header.msg_type:02x}, expected "
            + " or ".join(f"0x{t:02x}" for t in sorted(allowed)), section, 2, 1))
    if header.response != is_response:
        problems.append(Problem(
            "cvip.header.response_bit", "warning",
            f"response bit {'set' if header.response else 'clear'} on a "
            f"{expected}-byte ping {'response' if is_response else 'request'}", section,
            3 if header.byte_order == "big" else 4, 1))

    attrs: dict[str, object] = {"version": header.version, "byte_order": header.byte_order,
                                "msg_type": header.msg_type, "size": header.size,
                                "service": None, "method_name": None, "ack_code": None,
                                "ack_name": None}
    decoded: dict[str, object] = {}
    children: list[Field] = []
    for f in layout:
        if f.offset + f.length > n:
            break
        value = _read(data, f, header.byte_order)
        attrs[f.attr] = decoded[f.attr] = value
        if opts.tree:
            children.append(Field(f.key, f.label, value, _display(f.attr, value), f.offset,
                                  f.length))
    conn = attrs.get("connection_type")
    if isinstance(conn, int):
        attrs["connection_type_name"] = CONNECTION_TYPE.name_of(conn)
        if conn not in CONNECTION_TYPE.values:
            problems.append(Problem(
                "cvip.ping.connection_type", "error",
                f"unknown connection type 0x{conn:02x}", CONNECTION_TYPE.section, 15, 1))
    status = attrs.get("status")
    if isinstance(status, int):
        attrs["rebooted"] = status == 1
        if status not in (0, 1):
            problems.append(Problem(
                "cvip.field.enum", "warning",
                f"ping Status {status}: the document defines 1 (rebooted) and 0 (not)",
                section, 36, 1))

    info = f"ping {'response' if is_response else 'request'} txn={header.txn}"
    if is_response and "ip" in attrs:
        info += f" {attrs['ip']}:{attrs.get('port', '?')}"
        if isinstance(conn, int):
            info += f" {CONNECTION_TYPE.name_of(conn) or f'conn=0x{conn:02x}'}"
        if "product_type" in attrs:
            info += (f" mfr=0x{attrs['manufacturer_id']:04x}"
                     f" product=0x{attrs['product_type']:04x}")
        if attrs.get("rebooted"):
            info += " rebooted"
    elif "ip" in attrs:
        info += f" from {attrs['ip']}:{attrs.get('port', '?')}"
    if n < expected:
        info += " [truncated]"
    attrs.update(params=decoded, transport=transport, truncated=n < expected)
    fields: list[Field] = []
    if opts.tree:
        fields = [header_field(header),
                  Field("cvip.ping", "CVIP Ping " + ("Response" if is_response else "Request"),
                        None, None, HEADER_SIZE, max(0, min(n, expected) - HEADER_SIZE),
                        children)]
    return Record(protocol="cvip-ping", kind=kind, info=info, fields=fields,
                  problems=problems, txn=header.txn, is_response=is_response, method=None,
                  attrs=attrs)


def encode_ping_request(txn: int, ip: str, port: int, connection_type: int,
                        byte_order: str = "big") -> bytes:
    """A 16-byte Ping Request (for tests, the simulator and reference peers)."""
    order = "little" if byte_order == "little" else "big"
    return (encode_header(REQUEST_SIZE, txn, False, MSG_TYPE_PING, order)
            + ipaddress.IPv4Address(ip).packed + port.to_bytes(2, order)
            + bytes([connection_type]))


def encode_ping_response(txn: int, ip: str, port: int, connection_type: int, guid: bytes,
                         manufacturer_id: int, product_type: int, rebooted: bool,
                         byte_order: str = "big", msg_type: int = MSG_TYPE_PING) -> bytes:
    """A 37-byte Ping Response; ``guid`` is the unit's 16 GUID bytes."""
    order = "little" if byte_order == "little" else "big"
    return (encode_header(RESPONSE_SIZE, txn, True, msg_type, order)
            + ipaddress.IPv4Address(ip).packed + port.to_bytes(2, order)
            + bytes([connection_type]) + bytes(guid[:16]).ljust(16, b"\0")
            + manufacturer_id.to_bytes(2, order) + product_type.to_bytes(2, order)
            + bytes([1 if rebooted else 0]))

