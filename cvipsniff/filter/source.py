"""What a filter is evaluated against: anything that can list the values of a field.

The filter language knows nothing about messages, flows or findings; it asks an item two
questions. :class:`cvipsniff.filter.message_source.MessageFieldSource` answers them for a
message of the capture; :class:`MappingFieldSource` for a plain mapping (tests, the
benchmark, or a sink filtering already-rendered rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class FieldSource(Protocol):
    """An item a filter can test.

    * ``values(key)``: every value the item has for field ``key``, in order (a field may
      repeat); empty if it has none. The filter never mutates the result, so an
      implementation may return its own stored list.
    * ``has_prefix(prefix)``: whether the item has field ``prefix`` itself or any field
      whose key starts with ``prefix + "."`` (the test behind a bare name such as
      ``cvip`` or ``finding``).
    """

    def values(self, key: str) -> Sequence[object]: ...

    def has_prefix(self, prefix: str) -> bool: ...


def key_and_parents(key: str) -> Iterable[str]:
    """``a.b.c``, ``a.b`` and ``a``: every name under which ``key`` is found."""
    yield key
    end = key.rfind(".")
    while end > 0:
        yield key[:end]
        end = key.rfind(".", 0, end)


class MappingFieldSource:
    """A :class:`FieldSource` over a mapping of key to one value or a list of values.

    A list (or tuple) value lists the repeated values of that key; anything else is a
    single value. ``protocols`` are extra names a bare-name test accepts (the item's
    protocol, when its keys live under another name).
    """

    __slots__ = ("_fields", "_names")

    def __init__(self, fields: Mapping[str, object], protocols: Iterable[str] = ()) -> None:
        self._fields: dict[str, Sequence[object]] = {
            key: list(value) if isinstance(value, list | tuple) else [value]
            for key, value in fields.items()
        }
        names: set[str] = set(protocols)
        for key in self._fields:
            names.update(key_and_parents(key))
        self._names = frozenset(names)

    def values(self, key: str) -> Sequence[object]:
        return self._fields.get(key, ())

    def has_prefix(self, prefix: str) -> bool:
        return prefix in self._names
