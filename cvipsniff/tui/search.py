"""Find the next displayed message whose summary or fields contain some text (Ctrl-F).

Like Wireshark's "Find Packet" by string: case-insensitive, over the list's columns
first (cheap, from the store's columns) and then over the dissection tree (labels,
values and filter keys; re-dissected from the message's bytes). Runs in time-boxed
slices like the filter, since a miss means looking at every displayed message.
"""

from __future__ import annotations

import bisect
import time
from array import array

from cvipsniff.render import PROTOCOL_LABELS, endpoint_text
from cvipsniff.tui.session import CaptureSession


def row_text(session: CaptureSession, index: int) -> str:
    """What the list shows for a message, lower-cased, for matching."""
    row = session.store.row(index)
    return " ".join((
        str(row.frame), endpoint_text(row.src), endpoint_text(row.dst),
        PROTOCOL_LABELS.get(row.protocol, row.protocol), row.info, row.method or "",
    )).lower()


def tree_contains(session: CaptureSession, index: int, needle: str) -> bool:
    record = session.store.record(index)
    for f in record.walk():
        if needle in f.key.lower() or needle in f.label.lower() or needle in f.text().lower():
            return True
    return any(needle in p.message.lower() or needle in p.rule for p in record.problems)


class SearchJob:
    """Search the view from ``start`` (a display position) onwards, wrapping around
    (backwards with ``forward=False``)."""

    CHECK_EVERY = 64

    def __init__(self, session: CaptureSession, text: str, start: int,
                 forward: bool = True) -> None:
        self.session = session
        self.needle = text.lower()
        self.forward = forward
        self.total = len(session.view)
        self.start = start
        self.done = 0  # positions looked at
        self.found: int | None = None  # display position

    @property
    def finished(self) -> bool:
        return self.found is not None or self.done >= self.total

    def run(self, budget_s: float) -> bool:
        """Look for about ``budget_s`` seconds; True when found or everything was seen."""
        if not self.needle:
            self.done = self.total
            return True
        deadline = time.perf_counter() + budget_s
        view, session, needle = self.session.view, self.session, self.needle
        step = 1 if self.forward else -1
        while not self.finished:
            for _ in range(min(self.CHECK_EVERY, self.total - self.done)):
                position = (self.start + step * self.done) % self.total
                self.done += 1
                if matches(session, view[position], needle):
                    self.found = position
                    return True
            if time.perf_counter() >= deadline:
                break
        return self.finished


def matches(session: CaptureSession, index: int, needle: str) -> bool:
    """Whether the message at store ``index`` contains ``needle`` (lower-cased)."""
    return needle in row_text(session, index) or tree_contains(session, index, needle)


class MatchCounter:
    """Every displayed position that matches, for the search line's "k of n" (positions
    in an ``array``: 8 bytes a match). Time-sliced like the search itself."""

    CHECK_EVERY = 64

    def __init__(self, session: CaptureSession, text: str) -> None:
        self.session = session
        self.needle = text.lower()
        self.total = len(session.view)
        self.done = 0
        self.positions = array("q")

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    def run(self, budget_s: float) -> bool:
        if not self.needle:
            self.done = self.total
            return True
        deadline = time.perf_counter() + budget_s
        view, session, needle = self.session.view, self.session, self.needle
        while not self.finished:
            stop = min(self.total, self.done + self.CHECK_EVERY)
            for position in range(self.done, stop):
                if matches(session, view[position], needle):
                    self.positions.append(position)
            self.done = stop
            if time.perf_counter() >= deadline:
                break
        return self.finished

    def rank(self, position: int) -> int | None:
        """1-based rank of ``position`` among the matches, None if it is not one."""
        i = bisect.bisect_left(self.positions, position)
        if i < len(self.positions) and self.positions[i] == position:
            return i + 1
        return None
