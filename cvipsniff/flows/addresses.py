"""Human-readable IP addresses and endpoints, formatted once per flow (never per packet)
and shared between flows: a server's address and port are the same object in each of its
(possibly hundreds of thousands of) flows."""

from __future__ import annotations

import socket

# Bounded caches (cleared when full): the texts and endpoints recent flows used.
_CACHE_SIZE = 65_536
_TEXTS: dict[bytes, str] = {}
_ENDPOINTS: dict[tuple[bytes, int], tuple[str, int]] = {}


def format_ip(raw: bytes) -> str:
    """``b"\\x7f\\x00\\x00\\x01"`` → ``"127.0.0.1"``; 16 bytes → RFC 5952 text (``"::1"``).

    Same text as Wireshark and :mod:`ipaddress` (IPv6 zero runs compressed, lowercase
    hex). An address of any other length cannot come from a well-formed packet; it is
    shown as hex rather than raising, because a flow table must never stop on input.
    """
    text = _TEXTS.get(raw)
    if text is None:
        if len(_TEXTS) >= _CACHE_SIZE:
            _TEXTS.clear()
        text = _TEXTS[raw] = _format(raw)
    return text


def endpoint(raw: bytes, port: int) -> tuple[str, int]:
    """``(address text, port)``, one shared tuple per endpoint while it is in use."""
    key = (raw, port)
    found = _ENDPOINTS.get(key)
    if found is None:
        if len(_ENDPOINTS) >= _CACHE_SIZE:
            _ENDPOINTS.clear()
        found = _ENDPOINTS[key] = (format_ip(raw), port)
    return found


def _format(raw: bytes) -> str:
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    return raw.hex() or "?"
