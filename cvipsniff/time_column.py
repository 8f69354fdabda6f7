"""The time column the way tshark prints it (``-t a|ad|d|dd|e|r|u|ud``).

tshark's formats, each here for a message at the time of the frame that completed it:

* ``r``  seconds since the reference (the first frame of the capture);
* ``a``  absolute local time of day, ``ad`` with the date (``YYYY-MM-DD``);
* ``u``  absolute UTC time of day, ``ud`` with the date;
* ``e``  seconds since the UNIX epoch;
* ``d``  seconds since the previous *captured* message, ``dd`` since the previous
  *displayed* one (tshark measures from the previous frame; a message is our unit).

Arithmetic stays in integer nanoseconds and fractions are truncated, never rounded, so a
value is a prefix of tshark's nine-digit rendering of the same frame. "Local" is the
process's time zone (``TZ``), as for tshark.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cvipsniff.timestamps import in_range, raw_text

NS = 1_000_000_000

# Letter → what it shows, for help texts and the README.
TIME_LETTERS: dict[str, str] = {
    "r": "relative to the first frame",
    "a": "absolute local time",
    "ad": "absolute local date and time",
    "d": "delta from the previous captured message",
    "dd": "delta from the previous displayed message",
    "e": "seconds since the epoch",
    "u": "absolute UTC time",
    "ud": "absolute UTC date and time",
}

# The long names read accepted before the letters (kept working).
TIME_ALIASES: dict[str, str] = {
    "relative": "r", "absolute": "ad", "delta": "dd", "epoch": "e",
}


def seconds_text(delta_ns: int, digits: int = 6) -> str:
    """``delta_ns`` as seconds with ``digits`` decimals, truncated toward zero."""
    sign = "-" if delta_ns < 0 else ""
    whole, frac = divmod(abs(delta_ns), NS)
    if digits <= 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac // 10 ** (9 - digits):0{digits}d}"


def absolute_text(ts_ns: int, *, utc: bool, date: bool, digits: int = 6,
                  zone: bool = False) -> str:
    """Time of day (and date) of ``ts_ns`` in the local zone or UTC; ``zone`` appends
    the zone's abbreviation (the TUI, where no ``-t`` letter says which zone it is). A
    time no calendar can show (:mod:`cvipsniff.timestamps`) is shown raw."""
    if not in_range(ts_ns):
        return raw_text(ts_ns)
    whole, frac = divmod(ts_ns, NS)
    when = dt.datetime.fromtimestamp(whole, tz=dt.UTC)
    if not utc:
        when = when.astimezone()
    text = when.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")
    if digits > 0:
        text += f".{frac // 10 ** (9 - digits):0{digits}d}"
    if zone:
        text += " " + (when.tzname() or "")
    return text.rstrip()


@dataclass(slots=True)
class TimeColumn:
    """The time column of ``read``: remembers the reference and the previous messages
    so that ``d`` and ``dd`` can be computed as the messages stream by."""

    letter: str = "r"
    first_ns: int | None = None
    prev_captured_ns: int | None = None
    prev_displayed_ns: int | None = None

    def captured(self, ts_ns: int, first_ns: int) -> int | None:
        """A message was read (displayed or not); returns the previous captured one's time."""
        if self.first_ns is None:
            self.first_ns = first_ns
        previous = self.prev_captured_ns
        self.prev_captured_ns = ts_ns
        return previous

    def text(self, ts_ns: int, prev_captured_ns: int | None) -> str:
        """The column for a displayed message (call after :meth:`captured`)."""
        letter = self.letter
        if letter == "r":
            out = seconds_text(ts_ns - (self.first_ns or ts_ns))
        elif letter == "e":
            out = seconds_text(ts_ns)
        elif letter == "d":
            out = seconds_text(ts_ns - prev_captured_ns if prev_captured_ns is not None else 0)
        elif letter == "dd":
            prev = self.prev_displayed_ns
            out = seconds_text(ts_ns - prev if prev is not None else 0)
        else:
            out = absolute_text(ts_ns, utc=letter.startswith("u"), date=letter.endswith("d"))
        self.prev_displayed_ns = ts_ns
        return out
