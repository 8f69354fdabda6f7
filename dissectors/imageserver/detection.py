"""``detect(data, transport, sport, dport) -> int``: how sure we are that a stream whose
first bytes are ``data`` is ImageServer (0–100), for flows on non-standard ports.

The signals, strongest first: an ``ImageResponse`` first line; an XML document whose root
is one of the three lowercase ImageServer roots (CVIP uses the camel-case XML-RPC
``methodCall`` and a binary header before it, so the two do not collide); an XML
declaration whose root is not visible yet; the default port.
"""

from __future__ import annotations

import re

from .framer import IMAGE_START
from .tables import ROOTS
from .xmltree import skip_prolog_whitespace

DEFAULT_PORT = 7563
_ROOT = re.compile(rb"<([A-Za-z_][-\w.:]*)")
_DECLARATION = re.compile(rb"<\?xml[^>]{0,200}\?>")
_ROOT_NAMES = frozenset(name.encode() for name in ROOTS)


def detect(data: bytes, transport: str = "tcp", sport: int = 0, dport: int = 0) -> int:
    if transport != "tcp":
        return 0
    on_port = DEFAULT_PORT in (sport, dport)
    start = skip_prolog_whitespace(bytes(data[:4096]))
    head = bytes(data[start: start + 4096])
    if not head:
        return 0
    if head.startswith(IMAGE_START):
        return 95
    if IMAGE_START.startswith(head):
        return 40 + (30 if on_port else 0)
    if head[:1] != b"<":
        return 0
    pos = 0
    declaration = _DECLARATION.match(head)
    if declaration is not None:
        pos = skip_prolog_whitespace(head, declaration.end())
    root = _ROOT.match(head, pos)
    if root is not None and root.end() < len(head):
        if root.group(1) in _ROOT_NAMES:
            return 90
        return 0
    # A declaration (or the beginning of one) but no root yet: plausible, not proven.
    if declaration is not None or b"<?xml".startswith(head[:5]):
        return 30 + (30 if on_port else 0)
    return 0
