"""Reading a dissector's settings from the plain mapping the engine passes.

Each dissector describes its settings as a frozen dataclass whose defaults are the
documented readings (see its DECISIONS.md). What arrives is a mapping from a config file
(``[cvip]``, ``[imageserver]`` in cvipsniff.toml), so an :class:`OptionsReader` turns it
into that dataclass without ever raising: unknown keys are ignored and a value of the
wrong kind (or outside its choices, or below the minimum for a number) keeps the
default, so a typo in a config file never stops a capture from being read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any, Generic, TypeVar

OptionsT = TypeVar("OptionsT")


class OptionsReader(Generic[OptionsT]):
    """Options of type ``OptionsT`` from a mapping, checked against ``defaults``: a bool
    setting takes a bool, a number an int of at least ``int_minimum``, a string one of
    its ``choices`` (any string when it has none).

    The engine passes the same small mapping with every message, so the last one read
    is remembered, compared by value *and* type (a caller may change its mapping between
    calls, and ``1 == True`` must not pass for a bool)."""

    def __init__(self, defaults: OptionsT, *, int_minimum: int = 0,
                 choices: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.defaults = defaults
        self.int_minimum = int_minimum
        self.choices = dict(choices or {})
        self._last: tuple[list[tuple[str, type, Any]] | None, OptionsT] = (None, defaults)

    def __call__(self, options: Mapping[str, Any]) -> OptionsT:
        key = [(name, type(value), value) for name, value in options.items()]
        last_key, last_read = self._last  # one read: another thread may replace it meanwhile
        if last_key == key:
            return last_read
        read = self._read(options)
        self._last = (key, read)
        return read

    def _read(self, options: Mapping[str, Any]) -> OptionsT:
        changes: dict[str, Any] = {}
        for f in fields(self.defaults):  # type: ignore[arg-type]
            if f.name not in options:
                continue
            value = options[f.name]
            if self._acceptable(getattr(self.defaults, f.name), value, f.name):
                changes[f.name] = value
        return replace(self.defaults, **changes) if changes else self.defaults  # type: ignore[type-var]

    def _acceptable(self, default: object, value: object, name: str) -> bool:
        if isinstance(default, bool):
            return isinstance(value, bool)
        if isinstance(default, int):
            return isinstance(value, int) and not isinstance(value, bool) \
                and value >= self.int_minimum
        if isinstance(default, str):
            return isinstance(value, str) and value in self.choices.get(name, (value,))
        return False
