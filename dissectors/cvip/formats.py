"""String formats the CVIPv2 document prescribes (NOTES 13), as predicates.

Each checker returns None when the text is fine, or a short phrase saying what is wrong;
:mod:`dissectors.cvip.checks` turns that into a ``cvip.field.format`` problem.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import datetime

_HEX = "[0-9A-Fa-f]"
# The document's own GUID: 00000001-0000-0000-0001EC901E30B (8-4-4-13, not RFC 4122).
GUID_SPEC = re.compile(rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{13}}")
GUID_RFC4122 = re.compile(rf"\{{?{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\}}?")
_MD5 = re.compile(rf"{_HEX}{{32}}")
_SERVICE_ID = re.compile(r"(?:0[xX])?[0-9A-Fa-f]+(?:\.\d+)?")
_NUMBER = r"[+-]?\d+(?:\.\d+)?"
_RANGE3 = re.compile(rf"\s*{_NUMBER}\s*,\s*{_NUMBER}\s*,\s*{_NUMBER}\s*")


def check_guid(text: str, mode: str = "either") -> str | None:
    t = text.strip()
    spec = GUID_SPEC.fullmatch(t) is not None
    rfc = GUID_RFC4122.fullmatch(t) is not None
    accepted = {"spec": spec, "rfc4122": rfc}.get(mode, spec or rfc)
    if accepted:
        return None
    shape = {"spec": "8-4-4-13 hex digits as in the document",
             "rfc4122": "RFC 4122 8-4-4-4-12 hex digits"}.get(
        mode, "8-4-4-13 (the document's shape) or 8-4-4-4-12 hex digits")
    return f"{text!r} is not a GUID ({shape})"


def check_time14(text: str) -> str | None:
    """``YYYYMMDDHHMMSS``: playback start/end times (§5.2 2.1)."""
    t = text.strip()
    if len(t) != 14 or not t.isdigit():
        return f"{text!r} is not YYYYMMDDHHMMSS"
    try:
        datetime.strptime(t, "%Y%m%d%H%M%S")
    except ValueError:
        return f"{text!r} is not a valid date and time (YYYYMMDDHHMMSS)"
    return None


def check_datetime19(text: str) -> str | None:
    """``YYYY-MM-DD HH:MM:SS``: event and acknowledgement times (§5.4 4.3, 4.4)."""
    t = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", t):
        return f"{text!r} is not \"YYYY-MM-DD HH:MM:SS\""
    try:
        datetime.strptime(t, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return f"{text!r} is not a valid date and time"
    return None


def check_ipv4(text: str) -> str | None:
    try:
        ipaddress.IPv4Address(text.strip())
    except ValueError:
        return f"{text!r} is not an IPv4 address"
    return None


def check_range3(text: str) -> str | None:
    """Validation ranges are ``min,max,step`` (listProperties / listParameters)."""
    return None if _RANGE3.fullmatch(text) else f"{text!r} is not a min,max,step range"


def check_md5(text: str) -> str | None:
    """cviUser.login: "Both username and password need encrypted in MD5"."""
    return None if _MD5.fullmatch(text.strip()) else f"{text!r} is not an MD5 digest (32 hex)"


def check_numeric(text: str) -> str | None:
    return None if text.strip().isdigit() else f"{text!r} is not a number"


def check_service_id(text: str) -> str | None:
    """Service IDs are written ``0x01.[1..n]``: an id, optionally with an instance."""
    return None if _SERVICE_ID.fullmatch(text.strip()) else f"{text!r} is not a service id"


CHECKS: dict[str, Callable[[str], str | None]] = {
    "time14": check_time14,
    "datetime19": check_datetime19,
    "ipv4": check_ipv4,
    "range3": check_range3,
    "md5": check_md5,
    "numeric": check_numeric,
    "service_id": check_service_id,
}

FORMAT_NAMES: dict[str, str] = {
    "guid": "GUID", "time14": "YYYYMMDDHHMMSS", "datetime19": "YYYY-MM-DD HH:MM:SS",
    "ipv4": "IPv4 address", "range3": "min,max,step", "md5": "MD5 hex digest",
    "numeric": "decimal number", "service_id": "service id (0x01.[1..n])",
}


def check_format(fmt: str, text: str, guid_mode: str = "either") -> str | None:
    if fmt == "guid":
        return check_guid(text, guid_mode)
    checker = CHECKS.get(fmt)
    return checker(text) if checker is not None else None
