"""The syntax tree of a parsed filter.

Plain frozen dataclasses: the parser builds them, the compiler turns them into closures,
and ``str()`` renders any tree back as canonical filter text with every group
parenthesised, so a test (or a user) can see exactly how precedence was applied. The
rendering parses back to the same tree.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NUMBER = "number"
STRING = "string"
BOOL = "bool"
ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: ``kind`` is number, string, bool or address (address or network)."""

    kind: str
    value: int | float | str | bool | Address | Network
    position: int = 0

    def __str__(self) -> str:
        if self.kind == STRING:
            return quote(str(self.value))
        if self.kind == BOOL:
            return "true" if self.value else "false"
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Range:
    """``low..high`` inside a set, both ends included."""

    low: Literal
    high: Literal

    def __str__(self) -> str:
        return f"{self.low}..{self.high}"


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field on the right of a comparison (``ip.src == ip.dst``)."""

    name: str
    position: int = 0

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Exists:
    """A bare field or protocol name: true if the item has it (or anything under it)."""

    name: str
    position: int = 0

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op value``; ``op`` is canonical: == != === !== < <= > >= contains matches."""

    field: str
    op: str
    value: Literal | FieldRef
    position: int = 0

    def __str__(self) -> str:
        return f"{self.field} {self.op} {self.value}"


@dataclass(frozen=True, slots=True)
class Membership:
    """``field in {...}`` (or ``not in`` when ``negated``)."""

    field: str
    elements: tuple[Literal | Range, ...]
    negated: bool = False
    position: int = 0

    def __str__(self) -> str:
        op = "not in" if self.negated else "in"
        return f"{self.field} {op} {{{' '.join(str(e) for e in self.elements)}}}"


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node

    def __str__(self) -> str:
        inner = str(self.operand)
        if isinstance(self.operand, Compare | Membership):
            inner = f"({inner})"
        return f"!{inner}"


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return "(" + " && ".join(str(o) for o in self.operands) + ")"


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return "(" + " || ".join(str(o) for o in self.operands) + ")"


@dataclass(frozen=True, slots=True)
class MatchAll:
    """The empty filter: everything passes (as an empty Wireshark display filter)."""

    def __str__(self) -> str:
        return ""


Node = Exists | Compare | Membership | Not | And | Or | MatchAll

_QUOTE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote(text: str) -> str:
    """``text`` as a double-quoted filter string literal."""
    out = []
    for ch in text:
        escaped = _QUOTE_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
