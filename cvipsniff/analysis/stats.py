"""Service response time statistics per method, like Wireshark's SRT tables."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field


def _doubles() -> array[float]:
    return array("d")


@dataclass(slots=True)
class MethodTimes:
    """One method's response times. Kept as machine doubles (8 bytes each rather than a
    float object and a list slot, 32): a report over a capture of millions of
    transactions keeps every latency for its percentiles."""

    protocol: str
    method: str
    latencies_ms: array[float] = field(default_factory=_doubles)

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    def summary(self) -> dict[str, float | int | str]:
        values = sorted(self.latencies_ms)
        n = len(values)
        return {
            "protocol": self.protocol,
            "method": self.method,
            "count": n,
            "min_ms": round(values[0], 3) if n else 0.0,
            "mean_ms": round(sum(values) / n, 3) if n else 0.0,
            "p95_ms": round(percentile(values, 95), 3) if n else 0.0,
            "max_ms": round(values[-1], 3) if n else 0.0,
        }

    def histogram(self, buckets: int = 8) -> list[int]:
        """Counts over ``buckets`` equal-width bins from min to max (for sparklines)."""
        values = self.latencies_ms
        if not values:
            return [0] * buckets
        lo, hi = min(values), max(values)
        width = (hi - lo) / buckets or 1.0
        counts = [0] * buckets
        for v in values:
            counts[min(buckets - 1, int((v - lo) / width))] += 1
        return counts


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class ServiceResponseTimes:
    """Latencies grouped by (protocol, method)."""

    def __init__(self) -> None:
        self.methods: dict[tuple[str, str], MethodTimes] = {}

    def add(self, protocol: str, method: str | None, latency_ms: float) -> None:
        key = (protocol, method or "?")
        entry = self.methods.get(key)
        if entry is None:
            entry = self.methods[key] = MethodTimes(protocol, key[1])
        entry.latencies_ms.append(latency_ms)

    def table(self) -> list[dict[str, float | int | str]]:
        return [self.methods[k].summary() for k in sorted(self.methods)]
