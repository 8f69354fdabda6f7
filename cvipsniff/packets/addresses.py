"""Turning the raw addresses kept on the hot path into text, once per flow."""

from __future__ import annotations

import socket

__all__ = ["format_address"]


def format_address(raw: bytes) -> str:
    """IPv4 dotted quad or IPv6 in RFC 5952 compressed form (``2001:db8::1``), the forms
    Wireshark shows. ``raw`` must be 4 or 16 bytes (what :class:`Packet` holds)."""
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    raise ValueError(f"not an IPv4 or IPv6 address: {len(raw)} bytes")
