"""The range of capture timestamps that can be shown as a date.

A pcapng interface's ``if_tsresol`` and ``if_tsoffset`` scale every timestamp it carries;
one flipped bit there puts frames a hundred million years away, beyond what a calendar
(or Python's ``datetime``, years 1 to 9999) can show. Such a time is kept as read and
rendered raw; the reader reports it once per interface (``capture.timestamp_range``).
"""

from __future__ import annotations

# 1970-01-01 (a capture cannot predate the epoch its format counts from) up to, not
# including, 10000-01-01.
MIN_TS_NS = 0
END_TS_NS = 253_402_300_800 * 1_000_000_000


def in_range(ts_ns: int) -> bool:
    """Whether ``ts_ns`` (nanoseconds since the epoch) is a date that can be shown."""
    return MIN_TS_NS <= ts_ns < END_TS_NS


def raw_text(ts_ns: int) -> str:
    """An impossible time as read, marked as such (never a calendar date)."""
    return f"{ts_ns}ns(out-of-range)"
