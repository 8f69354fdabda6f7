"""Reading a dissector's settings from the plain mapping the engine passes.

Each dissector describes its settings as a frozen dataclass whose defaults are the
documented readings (see its DECISIONS.md). What arrives is a mapping from a config file
(``[cvip]``, ``[imageserver]`` in cvipsniff.toml), so an :class:`OptionsReader` turns it
into that dataclass, strictly: an unknown key, a value of the wrong kind, outside its
choices or below the minimum for a number is an :class:`OptionError` naming the setting
(with the nearest known name for a misspelt one). A typo in a config file must stop the
run with a usage error, not quietly keep a default the user thinks they changed; the
engine checks the mapping once, before any capture is read (``ProtocolSpec.check_options``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from typing import Any, Generic, TypeVar

OptionsT = TypeVar("OptionsT")


class OptionError(ValueError):
    """A dissector setting that is unknown or has a value the setting cannot take; the
    message is one line, naming the setting as the config file spells it."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the nearest candidate, or nothing when none is near."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
        """The options a mapping sets; :class:`OptionError` on a bad entry."""
        key = [(name, type(value), value) for name, value in options.items()]
        last_key, last_read = self._last  # one read: another thread may replace it meanwhile
        if last_key == key:
            return last_read
        read = self._read(options)
        self._last = (key, read)
        return read

    def check(self, options: Mapping[str, Any]) -> None:
        """Raise :class:`OptionError` for the first bad entry of ``options``."""
        self(options)

    def _read(self, options: Mapping[str, Any]) -> OptionsT:
        known = {f.name for f in fields(self.defaults)}  # type: ignore[arg-type]
        for name in options:
            if name not in known:
                raise OptionError(f"unknown option {name!r}{did_you_mean(str(name), known)}")
        changes: dict[str, Any] = {}
        for name, value in options.items():
            self._check_value(getattr(self.defaults, name), value, name)
            changes[name] = value
        return replace(self.defaults, **changes) if changes else self.defaults  # type: ignore[type-var]

    def _check_value(self, default: object, value: object, name: str) -> None:
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise OptionError(f"option {name!r} must be true or false, not {value!r}")
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int):
                raise OptionError(f"option {name!r} must be an integer, not {value!r}")
            if value < self.int_minimum:
                raise OptionError(f"option {name!r} must be at least {self.int_minimum}, "
                                  f"not {value}")
        elif isinstance(default, str):
            choices = self.choices.get(name)
            if not isinstance(value, str):
                raise OptionError(f"option {name!r} must be a string, not {value!r}")
            if choices is not None and value not in choices:
                raise OptionError(f"option {name!r} must be one of {', '.join(choices)}, "
                                  f"not {value!r}{did_you_mean(value, choices)}")
