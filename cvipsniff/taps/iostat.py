"""``-z io,stat,INTERVAL``: per interval of the capture, tshark's Frames and Bytes
(every frame, ``frame.len``) beside what cvipsniff adds: the messages completed in it,
their bytes, and the findings located in it (by their first frame; a finding about the
whole capture, without a frame, counts in the first interval).

Intervals count from the first frame of the capture, as tshark's do; the last one ends
at the capture's duration ("Dur")."""

from __future__ import annotations

from collections.abc import Sequence

from cvipsniff.analysis.model import Finding
from cvipsniff.model import Frame, Message, Packet
from cvipsniff.taps.base import Tap

COLUMNS = ("Frames", "Bytes", "Messages", "Msg bytes", "Findings")


class IoStatTap(Tap):
    wants_frames = True

    def __init__(self, interval_s: float) -> None:
        self.interval_ns = max(1, round(interval_s * 1e9))
        self.interval_s = interval_s
        self.first_ns: int | None = None
        self.last_ns = 0
        self.rows: dict[int, list[int]] = {}
        self._message_times: list[tuple[int, int]] = []  # (ts, bytes), until first is known
        self._finding_frames: dict[int, int] = {}  # first frame → findings there
        self._frameless = 0

    def _row(self, ts_ns: int) -> list[int]:
        index = max(0, (ts_ns - (self.first_ns or ts_ns)) // self.interval_ns)
        row = self.rows.get(index)
        if row is None:
            row = self.rows[index] = [0] * len(COLUMNS)
        return row

    def message(self, msg: Message) -> None:
        self._message_times.append((msg.ts_ns, msg.length))

    def findings(self, findings: Sequence[Finding]) -> None:
        for f in findings:
            if f.frames:
                first = min(f.frames)
                self._finding_frames[first] = self._finding_frames.get(first, 0) + 1
            else:
                self._frameless += 1

    def frame(self, frame: Frame, packet: Packet | None) -> None:
        if self.first_ns is None:
            self.first_ns = frame.ts_ns
        self.last_ns = max(self.last_ns, frame.ts_ns)
        row = self._row(frame.ts_ns)
        row[0] += 1
        row[1] += frame.origlen
        found = self._finding_frames.pop(frame.number, 0)
        row[4] += found

    def render(self) -> str:
        for ts, length in self._message_times:
            row = self._row(ts)
            row[2] += 1
            row[3] += length
        self._message_times.clear()
        if self._frameless:
            self.rows.setdefault(0, [0] * len(COLUMNS))[4] += self._frameless
            self._frameless = 0
        duration = (self.last_ns - (self.first_ns or 0)) / 1e9
        last = max(self.rows, default=0)
        cells = []
        for index in range(last + 1):
            start = index * self.interval_s
            end = "Dur" if index == last else f"{(index + 1) * self.interval_s:g}"
            cells.append((f"{start:g} <> {end}", self.rows.get(index, [0] * len(COLUMNS))))
        label_width = max([8] + [len(label) for label, _ in cells])
        widths = [max(len(name), *(len(str(row[i])) for _, row in cells))
                  for i, name in enumerate(COLUMNS)]
        head = f"| {'Interval':<{label_width}} | " + " | ".join(
            f"{name:>{w}}" for name, w in zip(COLUMNS, widths, strict=True)) + " |"
        rule = "=" * len(head)
        lines = [rule, "| IO Statistics".ljust(len(head) - 1) + "|",
                 f"| Duration: {duration:.6f} secs".ljust(len(head) - 1) + "|",
                 f"| Interval: {self.interval_s:g} secs".ljust(len(head) - 1) + "|",
                 "|" + "-" * (len(head) - 2) + "|", head, "|" + "-" * (len(head) - 2) + "|"]
        for label, row in cells:
            lines.append(f"| {label:<{label_width}} | " + " | ".join(
                f"{v:>{w}}" for v, w in zip(row, widths, strict=True)) + " |")
        lines.append(rule)
        return "\n".join(lines) + "\n"
