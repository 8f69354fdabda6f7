"""A simulated camera database: recorded sequences of images on a millisecond timeline.

Browse requests move a pointer over it (goto, next, previous, next/previous sequence,
begin, end), ``alarms`` lists its sequences and ``aviinformation`` measures it. Everything
is computed from a seed, so a transcript built against it is reproducible.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecordedSequence:
    """One recorded sequence: images from ``start`` to ``end``; ``alarm`` is its trigger."""

    start: int
    alarm: int
    end: int
    first_index: int  # index of its first image in Recording.times
    count: int


@dataclass(frozen=True, slots=True)
class Position:
    """Where the pointer is: image index and the Prev/Current/Next header times.

    At the first image Prev repeats Current, at the last image Next repeats Current: the
    document does not say what the edges look like, and this keeps every value a valid time.
    """

    index: int
    prev: int
    current: int
    next: int


class Recording:
    """Image timestamps grouped into sequences; indexes run over all images in time order."""

    def __init__(self, sequences: list[tuple[int, int, int]]) -> None:
        """``sequences``: (start_ms, interval_ms, count) per sequence, in time order."""
        self.times: list[int] = []
        self.sequence_of: list[int] = []
        self.sequences: list[RecordedSequence] = []
        for n, (start, interval, count) in enumerate(sequences):
            if count < 1 or interval < 1:
                raise ValueError("a sequence needs at least one image and a positive interval")
            if self.times and start <= self.times[-1]:
                raise ValueError("sequences must be in time order and not overlap")
            first = len(self.times)
            self.times.extend(start + i * interval for i in range(count))
            self.sequence_of.extend([n] * count)
            alarm = start + min(count - 1, 2) * interval
            self.sequences.append(RecordedSequence(start, alarm, self.times[-1], first, count))
        if not self.times:
            raise ValueError("a recording needs at least one image")

    @classmethod
    def synthetic(cls, start_ms: int, seed: int = 1, sequences: int = 5,
                  images_per_sequence: int = 12, interval_ms: int = 250) -> Recording:
        """Sequences of ``images_per_sequence`` images, separated by 1–10 minute gaps."""
        rng = random.Random(seed)
        spec: list[tuple[int, int, int]] = []
        t = start_ms
        for _ in range(sequences):
            count = max(1, images_per_sequence + rng.randint(-2, 2))
            spec.append((t, interval_ms, count))
            t += count * interval_ms + rng.randint(60, 600) * 1000
        return cls(spec)

    @property
    def first(self) -> int:
        return self.times[0]

    @property
    def last(self) -> int:
        return self.times[-1]

    def position(self, index: int) -> Position:
        index = max(0, min(len(self.times) - 1, index))
        t = self.times
        return Position(index, t[max(0, index - 1)], t[index], t[min(len(t) - 1, index + 1)])

    def closest(self, time_ms: int) -> int:
        """Index of the image closest to ``time_ms`` (ties go to the earlier image)."""
        i = bisect.bisect_left(self.times, time_ms)
        if i == 0:
            return 0
        if i == len(self.times):
            return len(self.times) - 1
        before, after = self.times[i - 1], self.times[i]
        return i - 1 if time_ms - before <= after - time_ms else i

    def next_sequence(self, index: int) -> int:
        """First image of the sequence after the one holding ``index`` (or stay)."""
        n = self.sequence_of[index] + 1
        return self.sequences[n].first_index if n < len(self.sequences) else index

    def previous_sequence(self, index: int) -> int:
        """First image of the sequence before the one holding ``index`` (or stay)."""
        n = self.sequence_of[index] - 1
        return self.sequences[n].first_index if n >= 0 else index

    def sequences_between(self, start: int, stop: int) -> list[RecordedSequence]:
        """Sequences overlapping [start, stop]."""
        return [s for s in self.sequences if s.end >= start and s.start <= stop]

    def sequences_around(self, center: int, count: int, timespan: int) -> list[RecordedSequence]:
        """At most ``count`` sequences before and ``count`` after ``center``, within
        ``timespan`` ms of it (a sequence holding the centre counts as after)."""
        window = [s for s in self.sequences
                  if s.end >= center - timespan and s.start <= center + timespan]
        before = [s for s in window if s.end < center][-count:] if count > 0 else []
        after = [s for s in window if s.end >= center][:max(0, count)]
        return before + after

    def images_between(self, start: int, stop: int) -> int:
        return bisect.bisect_right(self.times, stop) - bisect.bisect_left(self.times, start)
