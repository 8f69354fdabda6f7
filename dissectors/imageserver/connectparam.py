"""``<connectparam>``: ``id=[guid]&streamid=[guid]&connectiontoken=[token]``.

Split into its keys so each can be filtered on, with the token masked: a capture report
is often pasted into a ticket, and a connection token is a credential (section
"connect – Simple": "The order of the parameters must be maintained").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dissectors.base import Field, Problem
from dissectors.secrets import is_secret_name as is_secret
from dissectors.secrets import mask

from . import rules
from .tables import S_CONNECT_SIMPLE
from .xmltree import XmlNode, unescape

#: Keys in the order the document requires.
KEY_ORDER = ("id", "streamid", "connectiontoken")
REQUIRED_KEYS = ("id", "connectiontoken")


@dataclass(slots=True)
class Param:
    key: str
    value: str
    offset: int  # within the element's raw bytes
    length: int


_SEPARATOR = re.compile(rb"&amp;|&#0*38;|&#[xX]0*26;")
# "The id is the guid of the device, and the streamid is the guid for a specific stream":
# 8-4-4-4-12 hex digits, in braces as .NET may write it.
_GUID = re.compile(r"\{?[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\}?")
GUID_KEYS = ("id", "streamid")


def is_guid(text: str) -> bool:
    return _GUID.fullmatch(text) is not None


def param_id(root: XmlNode, data: bytes) -> str | None:
    """The ``id`` of the message's ``<connectparam>`` (None without one)."""
    for child in root.children:
        if child.name == "connectparam" and child.text_offset >= 0:
            raw = data[child.text_offset: child.text_offset + child.text_length]
            for p in split(raw):
                if p.key.lower() == "id":
                    return p.value
            return None
    return None


def split(raw: bytes) -> list[Param]:
    """Split the element's raw bytes on the (escaped) ``&``; offsets index ``raw``."""
    params: list[Param] = []
    pos = 0
    for m in [*_SEPARATOR.finditer(raw), None]:
        end = m.start() if m is not None else len(raw)
        piece = unescape(raw[pos:end].decode("utf-8", errors="replace"))
        key, sep, value = piece.partition("=")
        params.append(Param(key.strip(), value.strip() if sep else "", pos, end - pos))
        if m is not None:
            pos = m.end()
    return params


def masked_text(params: list[Param]) -> str:
    """The whole parameter string with secret values masked."""
    return "&".join(
        f"{p.key}={mask(p.value) if is_secret(p.key) else p.value}" for p in params
    )


def fields(params: list[Param], base: int, reveal: bool, key_prefix: str) -> list[Field]:
    """A field per key; ``base`` is the byte offset of the element's raw text."""
    out: list[Field] = []
    for p in params:
        known = p.key.lower() in KEY_ORDER
        key = f"{key_prefix}.{p.key.lower()}" if known else f"{key_prefix}.other"
        secret = is_secret(p.key) and not reveal
        shown = mask(p.value) if secret else p.value
        out.append(
            Field(
                key=key,
                label=p.key or "(empty key)",
                value=shown,
                display=f"{p.key}={shown}",
                offset=base + p.offset,
                length=p.length,
            )
        )
    return out


def check(params: list[Param], offset: int, length: int) -> list[Problem]:
    """Keys the document names, in its order, the required ones present."""
    problems: list[Problem] = []
    keys = [p.key.lower() for p in params if p.key]
    for k in keys:
        if k not in KEY_ORDER:
            problems.append(rules.problem(
                rules.CONNECT_CONNECTPARAM, f"connectparam key {k!r} is not in the document",
                S_CONNECT_SIMPLE, offset, length, severity="info"))
    known = [k for k in keys if k in KEY_ORDER]
    if known != sorted(known, key=KEY_ORDER.index):
        problems.append(rules.problem(
            rules.CONNECT_CONNECTPARAM,
            f"connectparam keys in the order {', '.join(known)}; the document requires "
            f"{', '.join(KEY_ORDER)}", S_CONNECT_SIMPLE, offset, length))
    for k in REQUIRED_KEYS:
        if k not in keys:
            problems.append(rules.problem(
                rules.CONNECT_CONNECTPARAM, f"connectparam has no {k}", S_CONNECT_SIMPLE,
                offset, length))
    for p in params:
        if p.key.lower() in GUID_KEYS and not is_guid(p.value):
            problems.append(rules.problem(
                rules.CONNECT_GUID,
                f"connectparam {p.key}={p.value[:60]!r} is not a GUID (the document: "
                "\"The id is the guid of the device\")", S_CONNECT_SIMPLE,
                offset + p.offset, p.length))
    if len(set(keys)) != len(keys):
        problems.append(rules.problem(
            rules.CONNECT_CONNECTPARAM, "connectparam repeats a key", S_CONNECT_SIMPLE,
            offset, length))
    return problems
