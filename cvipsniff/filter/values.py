"""How one field value is tested against one constant: the semantics of the operators.

Each factory here takes a constant known when the filter is compiled and returns a small
function ``test(value) -> bool``, specialised for that constant, so the per-message work is
a type check and a comparison. All tests are total: any value of any type gives True or
False, never an exception (a capture decides what the values are, not us).

Coercions, applied per value (documented in docs/FILTERS.md):

* A **number** constant matches ints and floats numerically, booleans as 0/1, and strings
  that spell a number (``"7"``, ``" 0x10 "``, ``"1.5e3"``).
* A **string** constant matches strings exactly (case-sensitive); against a number it
  compares numerically if the constant spells a number; against a boolean it accepts
  true/yes/on/1 and false/no/off/0; bytes compare with the constant's UTF-8 encoding; other
  scalar values by their text.
* A **boolean** constant matches booleans, the numbers 1/0 and the words above.
* An **address** constant matches address objects, address strings and 4/16-byte values;
  a network constant (``10.0.0.0/8``) matches addresses inside it.
* ``None``, mappings and sequences (structure nodes of the tree) match nothing.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Mapping
from enum import Enum
from functools import lru_cache

from cvipsniff.filter.syntax import ADDRESS, BOOL, NUMBER, STRING, Literal

Test = Callable[[object], bool]

MAX_PATTERN_CHARS = 1024
"""Longest regular expression ``matches`` accepts (a hostile filter must not make the
``re`` compiler build a huge program)."""

MAX_SEARCH_CHARS = 65_536
"""``matches`` and ``contains`` look at this many leading characters of a value: a filter
over a million messages must not scan megabytes of image bytes per message."""

_ASCII_DIGITS = frozenset("0123456789")
_MAX_PARSE_CHARS = 64  # a number or address spelled in more characters is not one
_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0"})
_STRUCTURES = (dict, list, tuple, set, frozenset)
_ADDRESSES = (ipaddress.IPv4Address, ipaddress.IPv6Address)
_NETWORKS = (ipaddress.IPv4Network, ipaddress.IPv6Network)

ORDERING: dict[str, Callable[[object, object], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@lru_cache(maxsize=8192)
def _parse_number(text: str) -> int | float | None:
    s = text.strip()
    if not s or not s.isascii():
        return None  # int() would accept Unicode digits; a capture's "٣" is not 3
    body = s[1:] if s[0] in "+-" else s
    if not body or not (body[0] in _ASCII_DIGITS or (body[0] == "." and body[1:2].isdigit())):
        return None  # refuse "inf", "nan", "infinity", "_1"
    try:
        return int(s, 10)
    except ValueError:
        pass
    if body[:2].lower() in ("0x", "0o", "0b"):
        try:
            return int(s, 0)
        except ValueError:
            return None
    try:
        return float(s)
    except ValueError:
        return None


def number_of(value: object) -> int | float | None:
    """``value`` as a number if it is one or spells one; None otherwise."""
    kind = type(value)
    if kind is int or kind is float:
        return value  # type: ignore[return-value]
    if kind is bool:
        return int(value)  # type: ignore[call-overload]
    if kind is str:
        return _parse_number(value) if len(value) <= _MAX_PARSE_CHARS else None  # type: ignore[arg-type]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value  # subclasses: IntEnum, numpy-like scalars
    return None


@lru_cache(maxsize=8192)
def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def address_of(value: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``value`` as an IP address if it is or spells one; None otherwise."""
    if isinstance(value, str):
        return _parse_address(value) if len(value) <= _MAX_PARSE_CHARS else None
    if isinstance(value, _ADDRESSES):
        return value
    if isinstance(value, bytes | bytearray) and len(value) in (4, 16):
        return ipaddress.ip_address(bytes(value))
    return None


def bool_of(value: object) -> bool | None:
    """``value`` as a boolean: booleans, 0/1 and the yes/no words; None otherwise."""
    if value is True or value is False:
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in _TRUE_WORDS else False if word in _FALSE_WORDS else None
    return None


def plain(value: object) -> object:
    """Enum members compare by their value (models may use enums for states)."""
    return value.value if isinstance(value, Enum) else value


def text_of(value: object) -> str | None:
    """The text ``contains``/``matches``/string comparisons see for a non-string value."""
    value = plain(value)
    if value is None or isinstance(value, _STRUCTURES):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value[:MAX_SEARCH_CHARS]).decode("latin-1")
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


# ---- == ------------------------------------------------------------------------------


def equals(literal: Literal) -> Test:
    """``test(value)`` for ``value == literal``."""
    if literal.kind == NUMBER:
        return _number_equals(literal.value)  # type: ignore[arg-type]
    if literal.kind == STRING:
        return _string_equals(str(literal.value))
    if literal.kind == BOOL:
        return _bool_equals(bool(literal.value))
    if literal.kind == ADDRESS:
        return _address_equals(literal.value)
    raise ValueError(f"unknown literal kind {literal.kind}")


def _number_equals(n: int | float) -> Test:
    def test(value: object) -> bool:
        kind = type(value)
        if kind is int or kind is float:
            return value == n
        x = number_of(plain(value))
        return x is not None and x == n

    return test


def _string_equals(s: str) -> Test:
    as_number = _parse_number(s) if len(s) <= _MAX_PARSE_CHARS else None
    as_bool = bool_of(s)
    as_bytes = s.encode("utf-8")

    def test(value: object) -> bool:
        kind = type(value)
        if kind is str:
            return value == s
        if kind is int or kind is float:
            return as_number is not None and value == as_number
        if kind is bool:
            return as_bool is not None and value is as_bool
        if kind is bytes or kind is bytearray:
            return value == as_bytes
        value = plain(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return as_number is not None and value == as_number
        text = text_of(value)
        return text is not None and text == s

    return test


def _bool_equals(b: bool) -> Test:
    def test(value: object) -> bool:
        return bool_of(plain(value)) is b

    return test


def _address_equals(constant: object) -> Test:
    if isinstance(constant, _NETWORKS):
        network = constant

        def test_in(value: object) -> bool:
            address = address_of(value)
            return (
                address is not None
                and address.version == network.version
                and address in network
            )

        return test_in

    def test(value: object) -> bool:
        address = address_of(value)
        return address is not None and address == constant

    return test


# ---- < <= > >= -------------------------------------------------------------------------


def ordered(op: str, literal: Literal) -> Test:
    """``test(value)`` for ``value op literal`` with an ordering operator."""
    compare = ORDERING[op]
    if literal.kind == NUMBER:
        return _number_ordered(compare, literal.value)  # type: ignore[arg-type]
    if literal.kind == STRING:
        return _string_ordered(compare, str(literal.value))
    if literal.kind == ADDRESS and isinstance(literal.value, _ADDRESSES):
        return _address_ordered(compare, literal.value)
    raise ValueError(f"{op} does not apply to a {literal.kind}")


def _number_ordered(compare: Callable[[object, object], bool], n: int | float) -> Test:
    def test(value: object) -> bool:
        kind = type(value)
        if kind is int or kind is float:
            return compare(value, n)
        x = number_of(plain(value))
        return x is not None and compare(x, n)

    return test


def _string_ordered(compare: Callable[[object, object], bool], s: str) -> Test:
    as_number = _parse_number(s) if len(s) <= _MAX_PARSE_CHARS else None

    def test(value: object) -> bool:
        value = plain(value)
        if isinstance(value, str):
            return compare(value, s)
        if value is True or value is False:
            return False
        if isinstance(value, int | float):
            return as_number is not None and compare(value, as_number)
        return False

    return test


def _address_ordered(
    compare: Callable[[object, object], bool],
    constant: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> Test:
    def test(value: object) -> bool:
        address = address_of(value)
        return (
            address is not None
            and address.version == constant.version
            and compare(address, constant)
        )

    return test


def ranked(op: str, rank: Mapping[str, int], constant_rank: int) -> Test:
    """Ordering by a field's declared order (``finding.severity >= "warning"``)."""
    compare = ORDERING[op]

    def test(value: object) -> bool:
        text = text_of(value)
        r = rank.get(text) if text is not None else None
        return r is not None and compare(r, constant_rank)

    return test


# ---- contains, matches ---------------------------------------------------------------


def contains(s: str) -> Test:
    """``test(value)`` for ``value contains s`` (substring, case-sensitive)."""
    as_bytes = s.encode("utf-8")

    def test(value: object) -> bool:
        kind = type(value)
        if kind is str:
            return s in value[:MAX_SEARCH_CHARS]  # type: ignore[index]
        if kind is bytes or kind is bytearray:
            return as_bytes in value[:MAX_SEARCH_CHARS]  # type: ignore[index]
        text = text_of(value)
        return text is not None and s in text

    return test


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a ``matches`` pattern; raises ValueError with a one-line reason."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(
            f"regular expression too long ({len(pattern)} characters, at most "
            f"{MAX_PATTERN_CHARS})"
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc.msg}") from None
    except (OverflowError, RecursionError):
        raise ValueError("regular expression too complex") from None


def matches(rx: re.Pattern[str]) -> Test:
    """``test(value)`` for ``value matches rx`` (``re.search``: unanchored)."""
    search = rx.search

    def test(value: object) -> bool:
        if type(value) is str:
            return search(value, 0, MAX_SEARCH_CHARS) is not None  # type: ignore[arg-type]
        text = text_of(value)
        return text is not None and search(text, 0, MAX_SEARCH_CHARS) is not None

    return test


# ---- values known only at evaluation time (field == field) ---------------------------


def literal_of(value: object) -> Literal | None:
    """A field value seen as a constant, for comparisons between two fields."""
    value = plain(value)
    if value is True or value is False:
        return Literal(BOOL, value)
    if isinstance(value, int | float):
        return Literal(NUMBER, value)
    if isinstance(value, str):
        return Literal(STRING, value)
    if isinstance(value, _ADDRESSES):
        return Literal(ADDRESS, value)
    if isinstance(value, bytes | bytearray):
        return Literal(STRING, bytes(value).decode("latin-1"))
    return None


def compare_values(op: str, left: object, right: object) -> bool:
    """``left op right`` for two field values (``ip.src == ip.dst``, ``a contains b``)."""
    constant = literal_of(right)
    if constant is None:
        return False
    if op in ("==", "!=", "===", "!=="):
        return equals(constant)(left)
    if op in ORDERING:
        if constant.kind == BOOL:
            return False
        return ordered(op, constant)(left)
    if op == "contains":
        needle = str(constant.value) if constant.kind == STRING else str(constant)
        return contains(needle)(left)
    return False

