"""A latency histogram as text lines with axes: counts up the left (the tallest bar's
count at the top, 0 at the bottom), milliseconds along the bottom (min, middle, max), one
column per bucket drawn with eighth blocks. Pure: lines in, lines out, testable."""

from __future__ import annotations

from collections.abc import Sequence

BLOCKS = " ▁▂▃▄▅▆▇█"


def histogram_lines(counts: Sequence[int], low_ms: float, high_ms: float,
                    height: int = 4) -> list[str]:
    """``height`` bar lines, an axis line and a label line for ``counts`` over
    [low_ms, high_ms] (equal-width buckets, as :meth:`MethodTimes.histogram` makes)."""
    peak = max(counts, default=0)
    label = len(f"{peak:,}")
    lines = []
    for level in range(height, 0, -1):  # top line first
        row = []
        for n in counts:
            eighths = round(n / peak * height * 8) if peak else 0
            fill = eighths - (level - 1) * 8
            if n and fill <= 0 and level == 1:
                fill = 1  # a bucket with calls is never drawn empty
            row.append(BLOCKS[max(0, min(8, fill))])
        tick = f"{peak:,}" if level == height else ("0" if level == 1 else "")
        lines.append(f"{tick:>{label}} ┤" + "".join(row))
    width = len(counts)
    lines.append(" " * label + " └" + "─" * width)
    left, mid, right = f"{low_ms:.3f}", f"{(low_ms + high_ms) / 2:.3f}", f"{high_ms:.3f} ms"
    axis = [" "] * max(width, len(left) + len(mid) + len(right) + 2)
    for i, ch in enumerate(left):
        axis[i] = ch
    start = max(len(left) + 1, width // 2 - len(mid) // 2)
    for i, ch in enumerate(mid):
        axis[start + i] = ch
    end = max(start + len(mid) + 1, width - len(right))
    for i, ch in enumerate(right):
        if end + i < len(axis):
            axis[end + i] = ch
        else:
            axis.append(ch)
    lines.append(" " * (label + 2) + "".join(axis).rstrip())
    return lines
