"""Human-readable IP addresses, formatted once per flow (never per packet)."""

from __future__ import annotations

import socket


def format_ip(raw: bytes) -> str:
    """``b"\\x7f\\x00\\x00\\x01"`` → ``"127.0.0.1"``; 16 bytes → RFC 5952 text (``"::1"``).

    Same text as Wireshark and :mod:`ipaddress` (IPv6 zero runs compressed, lowercase
    hex). An address of any other length cannot come from a well-formed packet; it is
    shown as hex rather than raising, because a flow table must never stop on input.
    """
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    return raw.hex() or "?"
