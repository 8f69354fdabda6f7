"""``read -T fields -e FIELD ... -E OPTION=VALUE``: one line of chosen field values per
message, as tshark writes them.

Any name ``cvipsniff fields`` lists works, engine fields (``frame.number``,
``frame.time_epoch``, ``ip.src``, ``txn.state``) and record fields (``cvip.method``,
``cvip.param.StreamID``, ``imageserver.header.Content-type``); values come from the same
:class:`~cvipsniff.filter.FieldSource` a display filter reads, so ``-e`` and ``-Y`` can
never disagree on what a field holds.

The ``-E`` options are tshark's: ``header=y|n``, ``separator=/t|/s|<char>``,
``quote=d|s|n``, ``occurrence=f|l|a|<n>``, ``aggregator=,|/s|<char>``. Times are printed
with nine decimals from integer nanoseconds (tshark's rendering of ``frame.time_epoch``);
booleans as 1/0, bytes as hex. A tab, line break or carriage return inside a value is
written as ``\\t``, ``\\n``, ``\\r`` so that one message stays one line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from cvipsniff.errors import UsageError
from cvipsniff.filter import FieldSource
from cvipsniff.filter.registry import FieldRegistry, default_registry
from cvipsniff.filter.values import plain
from cvipsniff.model import Message
from cvipsniff.time_column import seconds_text

_SPECIAL_CHARS = {"/t": "\t", "/s": " "}
_QUOTES = {"d": '"', "s": "'", "n": ""}
_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(slots=True)
class FieldsOptions:
    """tshark's ``-E`` settings, with tshark's defaults."""

    header: bool = False
    separator: str = "\t"
    quote: str = ""
    occurrence: str = "a"  # "f", "l", "a" or a 1-based position
    aggregator: str = ","


def parse_options(items: Sequence[str]) -> FieldsOptions:
    """``["header=y", "separator=,"]`` → options; anything else is a one-line UsageError."""
    options = FieldsOptions()
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"bad -E option {item!r}: expected NAME=VALUE")
        name = name.strip()
        if name == "header":
            if value not in ("y", "n"):
                raise UsageError(f"bad -E header={value!r}: expected y or n")
            options.header = value == "y"
        elif name in ("separator", "aggregator"):
            char = _SPECIAL_CHARS.get(value, value)
            if not char:
                raise UsageError(f"bad -E {name}: empty")
            setattr(options, name, char)
        elif name == "quote":
            if value not in _QUOTES:
                raise UsageError(f"bad -E quote={value!r}: expected d, s or n")
            options.quote = _QUOTES[value]
        elif name == "occurrence":
            if value not in ("f", "l", "a") and not (value.isdigit() and int(value) > 0):
                raise UsageError(f"bad -E occurrence={value!r}: expected f, l, a or a number")
            options.occurrence = value
        else:
            raise UsageError(f"unknown -E option {name!r} "
                             "(header, separator, quote, occurrence, aggregator)")
    return options


def check_fields(names: Sequence[str], registry: FieldRegistry | None = None) -> None:
    """Every ``-e`` name must be a field with values; a typo names its nearest field."""
    if not names:
        raise UsageError("-T fields needs at least one -e FIELD")
    registry = registry or default_registry()
    for name in names:
        if registry.is_comparable(name):
            continue
        hint = registry.suggest(name)
        raise UsageError(f"-e {name}: not a field (see 'cvipsniff fields')"
                         + (f"; did you mean {hint!r}?" if hint else ""))


# Fields rendered from the message's integer times rather than from the filter's floats,
# so that they print nine exact decimals like tshark's.
TimeGetter = Callable[[Message, int], str]
_TIME_FIELDS: dict[str, TimeGetter] = {
    "frame.time": lambda m, first: seconds_text(m.ts_ns, 9),
    "frame.time_epoch": lambda m, first: seconds_text(m.ts_ns, 9),
    "frame.time_relative": lambda m, first: seconds_text(m.ts_ns - first, 9),
}


def value_text(value: object) -> str:
    """One value as tshark prints it in ``-T fields``."""
    value = plain(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, float):
        return repr(value)
    return str(value).translate(_ESCAPES)


class FieldsWriter:
    """Writes the header (if asked) and one line per message."""

    def __init__(self, names: Sequence[str], options: FieldsOptions, out: TextIO) -> None:
        self.names = list(names)
        self.options = options
        self.out = out

    def header(self) -> None:
        if self.options.header:
            self.out.write(self.options.separator.join(self.names) + "\n")

    def row(self, msg: Message, source: FieldSource, first_ts_ns: int) -> None:
        cells = [self._cell(name, msg, source, first_ts_ns) for name in self.names]
        self.out.write(self.options.separator.join(cells) + "\n")

    def _cell(self, name: str, msg: Message, source: FieldSource, first_ts_ns: int) -> str:
        timed = _TIME_FIELDS.get(name)
        if timed is not None:
            texts = [timed(msg, first_ts_ns)]
        else:
            texts = [value_text(v) for v in source.values(name)]
        texts = _pick(texts, self.options.occurrence)
        if not texts:
            return ""
        quote = self.options.quote
        return self.options.aggregator.join(f"{quote}{t}{quote}" for t in texts)


def _pick(texts: list[str], occurrence: str) -> list[str]:
    if not texts or occurrence == "a":
        return texts
    if occurrence == "f":
        return texts[:1]
    if occurrence == "l":
        return texts[-1:]
    index = int(occurrence) - 1
    return texts[index:index + 1]
