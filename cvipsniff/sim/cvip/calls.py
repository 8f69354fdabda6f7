"""What a peer's method handler is given and what it gives back.

A request is bound to its catalogue entry (:func:`bind`): named fields from a struct (or
the spec's array of one-member structs), positional params by table order where the spec
shows them positional, each value checked against its type, enumeration, range and
format. Anything that does not fit raises :class:`Rejected` with the acknowledgement code
the spec's "Acknowledge Response" table gives for it (Invalid: "the syntax of the
message is invalid"). Handlers return :class:`Ack` or :class:`Data`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cvipsniff.sim.cvip.catalogue import Method, Param, Service
from cvipsniff.sim.cvip.constants import EVENT_TIME_FORMAT, PLAYBACK_TIME_FORMAT, AckCode
from cvipsniff.sim.cvip.values import Struct, UInt

if TYPE_CHECKING:
    from cvipsniff.sim.cvip.unit import Unit


@dataclass(slots=True, frozen=True)
class Ack:
    """An acknowledgement: ErrorCode first, then ``extra`` members."""

    code: int = AckCode.SUCCESS
    extra: tuple[tuple[str, Any], ...] = ()
    reason: str = ""


@dataclass(slots=True, frozen=True)
class Data:
    """A plain methodResponse with one value."""

    value: Any


Reply = Ack | Data


class Rejected(Exception):
    """A request the peer refuses; becomes an acknowledgement with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def invalid(reason: str) -> Rejected:
    return Rejected(AckCode.INVALID, reason)


def fail(reason: str) -> Rejected:
    return Rejected(AckCode.FAIL, reason)


PAGE_SIZE = 5  # items per page of a paged list answer (cviMedia.query, cviEntity.list)
MAX_CURSORS = 64


@dataclass(slots=True)
class SessionState:
    """What one client connection has told the unit: event subscriptions (mask and
    channel, in order) and paging cursors of list queries."""

    subscriptions: list[tuple[int, int]] = field(default_factory=list)
    cursors: dict[tuple[Any, ...], int] = field(default_factory=dict)


@dataclass(slots=True)
class Ctx:
    """Everything a handler may look at: the unit, the calling connection's state, the
    service addressed (``cviVideo.01.1``), the catalogue entry and the raw params."""

    unit: Unit
    session: SessionState
    service: Service | None
    method: Method | None
    params: list[Any]


@dataclass(slots=True)
class Args:
    """Bound request fields by their catalogue name, plus members beyond the table."""

    values: dict[str, Any]
    extras: list[tuple[str, Any]] = field(default_factory=list)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self.values


_GUID = re.compile(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-([0-9A-Fa-f]{13}|[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"
)
_MD5 = re.compile(r"^[0-9A-Fa-f]{32}$")


def is_guid(text: str) -> bool:
    """The spec's GUID shape (8-4-4-13 hex digits, NOTES 13) or an RFC 4122 one."""
    return bool(_GUID.match(text))


def is_playback_time(text: str) -> bool:
    return _is_time(text, PLAYBACK_TIME_FORMAT, 14) and text.isdigit()


def is_event_time(text: str) -> bool:
    return _is_time(text, EVENT_TIME_FORMAT, 19)


def _is_time(text: str, fmt: str, length: int) -> bool:
    if len(text) != length:
        return False
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _check_format(param: Param, value: Any) -> None:
    if param.fmt is None or not isinstance(value, str):
        return
    ok = {
        "playback-time": is_playback_time,
        "event-time": is_event_time,
        "guid": is_guid,
        "md5": lambda t: bool(_MD5.match(t)),
        "ipv4": _is_ipv4,
    }[param.fmt](value)
    if not ok:
        raise invalid(f"{param.name} {value!r} is not in {param.fmt} format")


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _coerce(param: Param, value: Any) -> Any:
    """The value as the param's type; tolerant of the usual integer spellings."""
    kind = param.type
    if kind in ("uint", "int"):
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,19}", value.strip()):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(f"{param.name} must be an integer")
        if kind == "uint":
            if value < 0:
                raise invalid(f"{param.name} must not be negative")
            return UInt(value)
        return int(value)
    if kind == "string":
        if param.fmt == "guid" and isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # "Numeric value unique to every device"
        if not isinstance(value, str):
            raise invalid(f"{param.name} must be a string")
        return value
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise invalid(f"{param.name} must be a boolean")
    if kind == "base64":
        if not isinstance(value, bytes):
            raise invalid(f"{param.name} must be base64")
        return value
    if kind == "dateTime.iso8601":
        if not isinstance(value, datetime):
            raise invalid(f"{param.name} must be a dateTime.iso8601")
        return value
    return value


def check_value(param: Param, value: Any) -> Any:
    """Coerce and validate one field; raises :class:`Rejected` (Invalid)."""
    value = _coerce(param, value)
    if param.choices is not None:
        allowed = param.choices
        if isinstance(value, str):
            if value.casefold() not in {str(c).casefold() for c in allowed}:
                raise invalid(f"{param.name} {value!r} is not one of {list(allowed)}")
        elif int(value) not in allowed:
            raise invalid(f"{param.name} {value} is not one of {list(allowed)}")
    if param.bits is not None and int(value) & ~param.bits:
        raise invalid(f"{param.name} 0x{int(value):X} has bits outside 0x{param.bits:X}")
    if param.bounds is not None and not param.bounds[0] <= int(value) <= param.bounds[1]:
        raise invalid(f"{param.name} {value} is outside {param.bounds[0]}..{param.bounds[1]}")
    if param.magnitude is not None and not (
        param.magnitude[0] <= abs(int(value)) <= param.magnitude[1]
    ):
        raise invalid(
            f"{param.name} {value} is outside ±{param.magnitude[0]}..{param.magnitude[1]}"
        )
    _check_format(param, value)
    return value


def _named_members(params: list[Any]) -> list[tuple[str, Any]] | None:
    """Members of the named shape: one struct, several structs, or an array of structs
    (the startFirmwareUpdate example). ``None`` when the params are not named."""
    structs: list[Struct] = []
    for param in params:
        if isinstance(param, Struct):
            structs.append(param)
        elif isinstance(param, list) and param and all(isinstance(p, Struct) for p in param):
            structs.extend(param)
        else:
            return None
    return [member for s in structs for member in s.members]


def select_variant(variants: list[Method], params: list[Any]) -> Method:
    """The variant whose selector field the request carries (else the first)."""
    if len(variants) == 1:
        return variants[0]
    members = _named_members(params) or []
    present = {name.casefold() for name, _ in members}
    for variant in variants:
        if variant.selector and variant.selector.casefold() in present:
            return variant
    return variants[0]


def bind(method: Method, params: list[Any]) -> Args:
    """Bind a request's params to ``method``'s fields (see the module docstring)."""
    members = _named_members(params)
    if members is None:
        if not method.positional:
            raise invalid(f"{method.full_name} takes named fields (a struct)")
        if len(params) > len(method.params):
            raise invalid(f"{method.full_name} takes at most {len(method.params)} params")
        members = [(p.name, v) for p, v in zip(method.params, params, strict=False)]
    by_name = {name.casefold(): p for p in method.params for name in p.names}
    values: dict[str, Any] = {}
    extras: list[tuple[str, Any]] = []
    for name, value in members:
        param = by_name.get(name.casefold())
        if param is None:
            extras.append((name, value))
        elif param.name not in values:
            values[param.name] = check_value(param, value)
    missing = [p.name for p in method.params if p.required and p.name not in values]
    if missing:
        raise invalid(f"{method.full_name} misses {', '.join(missing)}")
    return Args(values, extras)


def next_page(
    session: SessionState, key: tuple[Any, ...], total: int, page_size: int = PAGE_SIZE
) -> tuple[int, bool]:
    """Paging by repetition: the spec gives list answers an IsLastPage flag but the
    request no page number, so asking the same query again returns the next page; after
    the last page the cursor is dropped and the next ask starts over."""
    offset = session.cursors.pop(key, 0)
    last = offset + page_size >= total
    if not last:
        if len(session.cursors) >= MAX_CURSORS:
            session.cursors.pop(next(iter(session.cursors)))
        session.cursors[key] = offset + page_size
    return offset, last


def struct_of(pairs: Iterable[tuple[str, Any]]) -> Struct:
    return Struct(tuple(pairs))
