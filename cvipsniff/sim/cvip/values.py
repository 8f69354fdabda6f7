"""Python stand-ins for the XML-RPC values CVIPv2 uses that Python has no exact type for.

The mapping used by both the encoder and the peers' own decoder:

=====================  ==========================================
Python                 XML-RPC
=====================  ==========================================
``bool``               ``<boolean>0|1</boolean>``
``int``                ``<int>``
:class:`UInt`          ``<uint>`` (the spec's own extension, used for ids, flags, codes)
``float``              ``<double>``
``str``                ``<string>``
``bytes``              ``<base64>``
``datetime``           ``<dateTime.iso8601>`` (``YYYYMMDDTHH:MM:SS``)
``None``               ``<nil/>``
``dict``               ``<struct>`` (insertion order kept)
:class:`Struct`        ``<struct>`` with repeated member names allowed
``list`` / ``tuple``   ``<array>``
:class:`TypeOnly`      an empty typed element (``<int></int>``), the spec's way of saying
                       "a value of this type" in ``listParameters`` answers
=====================  ==========================================
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any


class UInt(int):
    """An integer written as the spec's ``<uint>``; it refuses negative values."""

    __slots__ = ()

    def __new__(cls, value: int = 0) -> UInt:
        if int(value) < 0:
            raise ValueError(f"UInt cannot hold a negative value: {value}")
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"UInt({int(self)})"


@dataclass(slots=True, frozen=True)
class Struct:
    """An XML-RPC struct as an ordered list of ``(name, value)`` pairs.

    A ``dict`` cannot repeat a member name, yet the spec's own examples do (the ``list``
    members of ``listParameters``), and decoded traffic may. Lookups by name are
    case-insensitive because the document spells the same field several ways
    (``Major``/``major``, ``StreamID``/``streamId``).
    """

    members: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, pairs: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> Struct:
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        return cls(tuple((str(k), v) for k, v in items))

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self.members)

    def __len__(self) -> int:
        return len(self.members)

    def names(self) -> list[str]:
        return [name for name, _ in self.members]

    def get(self, name: str, default: Any = None) -> Any:
        """The first member called ``name`` (any letter case), else ``default``."""
        folded = name.casefold()
        for key, value in self.members:
            if key.casefold() == folded:
                return value
        return default

    def get_all(self, name: str) -> list[Any]:
        folded = name.casefold()
        return [value for key, value in self.members if key.casefold() == folded]

    def has(self, name: str) -> bool:
        folded = name.casefold()
        return any(key.casefold() == folded for key, _ in self.members)

    def to_dict(self) -> dict[str, Any]:
        """Members as a dict; the first of repeated names wins (like :meth:`get`)."""
        out: dict[str, Any] = {}
        for key, value in self.members:
            out.setdefault(key, value)
        return out


@dataclass(slots=True, frozen=True)
class TypeOnly:
    """An empty typed value such as ``<value><int></int></value>``.

    ``listParameters`` answers describe a parameter's type this way ("valueType") in the
    spec's example, so the encoder writes and the decoder reads it as a value of its own.
    """

    tag: str
