"""Heuristic detection of CVIPv2 from the first bytes of a stream or a datagram, for
traffic on ports not mapped to any protocol (like Wireshark's heuristic dissectors).

The score climbs with each thing that fits: the version bytes (big-endian ``02 01``, or
the little-endian ``01 02`` a bit lower), a plausible size, and then either a ping shape
(type 0x01, 16 or 37 bytes) or an XML body (``<?xml``, ``<methodCall``,
``<methodResponse``). Nothing is parsed beyond the header and a few body bytes.
"""

from __future__ import annotations

from dissectors.cvip.framer import DEFAULT_SIZE_CAP
from dissectors.cvip.header import HEADER_SIZE, XML_LEAD, byte_order_of, parse_header
from dissectors.cvip.ping import REQUEST_SIZE, RESPONSE_SIZE
from dissectors.cvip.tables.enums import MSG_TYPE_NONE, MSG_TYPE_PING

_XML_STARTS = (b"<?xml", b"<methodCall", b"<methodResponse", b"<AnalyticsData")


def detect(data: bytes, transport: str, sport: int = 0, dport: int = 0) -> int:
    """0 (not CVIP) to 100 (certainly CVIP)."""
    order = byte_order_of(data[:2])
    if order is None:
        return 0
    penalty = 10 if order == "little" else 0
    header = parse_header(data)
    if header is None:
        return max(0, 15 - penalty)
    size = header.size
    if size < HEADER_SIZE or size > DEFAULT_SIZE_CAP:
        return 5
    if header.msg_type == MSG_TYPE_PING:
        if size not in (REQUEST_SIZE, RESPONSE_SIZE):
            return max(0, 20 - penalty)
        exact = transport == "udp" and len(data) == size
        return (90 if exact else 75) - penalty
    if header.msg_type != MSG_TYPE_NONE:
        return 10
    body = data[HEADER_SIZE:HEADER_SIZE + 80].lstrip(XML_LEAD)
    if not body:
        return max(0, 30 - penalty)
    if body.startswith(_XML_STARTS):
        return 95 - penalty
    if body.startswith(b"<"):
        return 70 - penalty
    return 10
