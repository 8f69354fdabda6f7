"""Milestone XProtect ImageServer (TCP 7563): XML requests and responses, ``ImageResponse``
images (single and multipart) and ``<livepackage>`` status messages.

Sans-I/O: :class:`ImageServerFramer` cuts a byte stream into messages (``PROTOCOL.new_framer``
makes its compiled twin where the accelerator is built), :func:`dissect`
turns one message into a :class:`~dissectors.base.Record`, :func:`detect` scores a stream's
first bytes. The spec tables are in :mod:`.tables` (what answers each method:
:data:`ANSWERED_BY`, :func:`answer_for`, :func:`is_adaptive_streaming_only`); the choices
made where the document is ambiguous are in ``DECISIONS.md``.
"""

from __future__ import annotations

from dissectors.base import ProtocolSpec

from .detection import detect
from .dissector import dissect, lean_for
from .fields import FIELDS
from .framer import ImageServerFramer, new_framer
from .options import DissectOptions, check_options
from .tables import (
    ANSWERED_BY,
    METHODS,
    STATUS_ITEMS,
    Answer,
    answer_for,
    is_adaptive_streaming_only,
)

PROTOCOL = ProtocolSpec(
    name="imageserver",
    tcp_ports=(7563,),
    udp_ports=(),
    detect=detect,
    new_framer=new_framer,
    dissect=dissect,
    fields=FIELDS,
    check_options=check_options,
    read_options=DissectOptions.from_any,
    lean_for=lean_for,
)

__all__ = [
    "ANSWERED_BY",
    "FIELDS",
    "METHODS",
    "PROTOCOL",
    "STATUS_ITEMS",
    "Answer",
    "DissectOptions",
    "ImageServerFramer",
    "answer_for",
    "detect",
    "dissect",
    "is_adaptive_streaming_only",
]
