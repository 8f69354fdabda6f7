"""Value forms of the document (``yes/no``, ``[number]``, ms timestamps, ...): text in,
typed value plus what a person reads out, and what is wrong with it if anything.

Pure functions, no knowledge of where the value came from: callers attach the offsets and
the spec section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dissectors.base import Severity

from . import rules
from .options import DissectOptions
from .tables import Form

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_TIME = re.compile(r"[0-9]{1,16}")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_BOOLEAN_WORDS = {"true": True, "false": False}
# Enum members bound once: ``Form.X`` is a slow class-attribute lookup, done per element.
_FORM_YESNO = Form.YESNO
_FORM_NUMBER = Form.NUMBER
_FORM_TIME = Form.TIME
_FORM_FLOAT = Form.FLOAT
_FORM_ENUM = Form.ENUM


@dataclass(slots=True)
class Value:
    """A decoded value. ``problem`` is ``(rule, message, severity)`` when the text is not of
    its form; ``value`` then keeps the raw text."""

    value: Any
    display: str
    problem: tuple[str, str, Severity] | None = None


def format_ms(ms: int) -> str | None:
    """A millisecond timestamp as an ISO 8601 UTC date-time, or None if out of range."""
    try:
        moment = _EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_yesno(text: str, options: DissectOptions, attribute: bool = False) -> Value:
    if text in ("yes", "no"):
        return Value(text == "yes", text)
    if not options.strict_yesno:
        lowered = text.lower()
        if lowered in ("yes", "no"):
            return Value(lowered == "yes", text)
        if attribute and lowered in _BOOLEAN_WORDS:
            return Value(_BOOLEAN_WORDS[lowered], text)
    return Value(text, text, (rules.FIELD_YESNO, f"{text!r} is not yes/no", "error"))


def parse_number(
    text: str, minimum: int | None = None, maximum: int | None = None
) -> Value:
    if not _INTEGER.fullmatch(text):
        return Value(text, text, (rules.FIELD_NUMBER, f"{text!r} is not a number", "error"))
    number = int(text)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        low = "" if minimum is None else str(minimum)
        high = "" if maximum is None else str(maximum)
        return Value(
            number,
            str(number),
            (rules.FIELD_NUMBER, f"{number} is outside the range {low}..{high}", "error"),
        )
    return Value(number, str(number))


def parse_time(text: str, options: DissectOptions, describe: bool = True) -> Value:
    """Milliseconds since the UNIX epoch (section "goto": ``[milliseconds since UNIX
    epoch]``). Not digits → error; digits outside the plausible window → warning.
    ``describe=False`` (lean mode) leaves out the date in the display text."""
    if not _TIME.fullmatch(text):
        return Value(
            text,
            text,
            (rules.FIELD_TIME, f"{text!r} is not a millisecond timestamp", "error"),
        )
    ms = int(text)
    when = format_ms(ms) if describe else None
    display = f"{ms} ({when})" if when else str(ms)
    if not options.time_min_ms <= ms <= options.time_max_ms:
        hint = " (seconds instead of milliseconds?)" if ms < options.time_min_ms // 100 else ""
        return Value(
            ms,
            display,
            (rules.FIELD_TIME, f"{ms} is not a plausible millisecond timestamp{hint}", "warning"),
        )
    return Value(ms, display)


def parse_float(text: str) -> Value:
    if not _FLOAT.fullmatch(text):
        return Value(text, text, (rules.FIELD_NUMBER, f"{text!r} is not a number", "error"))
    return Value(float(text), text)


def parse_enum(text: str, values: tuple[str, ...], rule: str = "") -> Value:
    if text in values:
        return Value(text, text)
    allowed = ", ".join(values)
    return Value(
        text,
        text,
        (rule or rules.FIELD_ENUM, f"{text!r} is not one of {allowed}", "error"),
    )


def parse(
    form: Form,
    text: str,
    options: DissectOptions,
    *,
    values: tuple[str, ...] = (),
    minimum: int | None = None,
    maximum: int | None = None,
    rule: str = "",
    attribute: bool = False,
    describe: bool = True,
) -> Value:
    """Decode ``text`` (already stripped) according to ``form``. ``describe=False``: the
    display text may be left plain (nobody reads it in lean mode)."""
    if form is _FORM_YESNO:
        result = parse_yesno(text, options, attribute)
    elif form is _FORM_NUMBER:
        result = parse_number(text, minimum, maximum)
    elif form is _FORM_TIME:
        result = parse_time(text, options, describe)
    elif form is _FORM_FLOAT:
        result = parse_float(text)
    elif form is _FORM_ENUM:
        return parse_enum(text, values, rule)
    else:
        return Value(text, text)
    if rule and result.problem is not None:
        result.problem = (rule, result.problem[1], result.problem[2])
    return result
