"""CVIPv2 (Camera Video Interface Protocol, XeronVision, Ver.2): framer, dissector, spec
tables and heuristic detection, sans-I/O.

CVIPv2 messages are a 9-byte binary header followed either by fixed binary fields
(Discovery Ping, over UDP or TCP) or by an XML-RPC body (everything else, over TCP). The
spec tables live in :mod:`dissectors.cvip.tables`; the decisions on the document's
ambiguities in ``DECISIONS.md`` next to this file.

Public API:

* :data:`PROTOCOL` — the :class:`~dissectors.base.ProtocolSpec` the engine registers;
* :func:`dissect` — ``dissect(data, transport, options=None) -> Record``, never raises;
* :class:`CvipFramer` — the incremental TCP framer;
* :func:`detect` — heuristic score 0..100;
* :data:`FIELDS` — every filter key emitted;
* :class:`Options` — the contested readings as settings (``options`` of ``dissect``);
* encoders for tests and peers: :func:`encode_header`, :func:`encode_ping_request`,
  :func:`encode_ping_response`, :func:`encode_message`.
"""

from __future__ import annotations

from dissectors.base import ProtocolSpec
from dissectors.cvip.detect import detect
from dissectors.cvip.dissect import dissect, lean_for
from dissectors.cvip.fields import FIELDS
from dissectors.cvip.framer import DEFAULT_SIZE_CAP, CvipFramer, new_framer
from dissectors.cvip.header import HEADER_SIZE, Header, encode_header, parse_header
from dissectors.cvip.options import DEFAULT_OPTIONS, Options, check_options, parse_options
from dissectors.cvip.ping import encode_ping_request, encode_ping_response

TCP_PORT = 7110  # default CVIP port (§3.2 Note: Default & common CVIP Port)
COMMON_PORT = 9990  # the "common port": accepts only Ping


def encode_message(body: bytes, txn: int, response: bool = False,
                   byte_order: str = "big") -> bytes:
    """Header + XML body of a non-ping message, with the size counting the header."""
    order = "little" if byte_order == "little" else "big"
    return encode_header(HEADER_SIZE + len(body), txn, response, 0, order) + body


PROTOCOL = ProtocolSpec(
    name="cvip",
    tcp_ports=(TCP_PORT, COMMON_PORT),
    udp_ports=(TCP_PORT, COMMON_PORT),
    detect=detect,
    new_framer=new_framer,
    dissect=dissect,
    fields=FIELDS,
    # The 9 header bytes are whole in any cut message the dissector sees as one.
    kept_when_cut=frozenset({"cvip.header.version", "cvip.header.byte_order",
                             "cvip.header.message_type"}),
    check_options=check_options,
    optional_attrs=True,
    read_options=parse_options,
    lean_for=lean_for,
)

__all__ = [
    "COMMON_PORT", "DEFAULT_OPTIONS", "DEFAULT_SIZE_CAP", "FIELDS", "HEADER_SIZE", "PROTOCOL",
    "TCP_PORT", "CvipFramer", "Header", "Options", "detect", "dissect", "encode_header",
    "encode_message", "encode_ping_request", "encode_ping_response", "parse_header",
    "parse_options",
]
