"""``-z srt[,PROTOCOL]``: service response time per method, like tshark's SRT tables
(calls, min, max, average and sum, in seconds), from the analysis' paired transactions."""

from __future__ import annotations

from collections.abc import Sequence

from cvipsniff.analysis.model import Transaction
from cvipsniff.analysis.stats import ServiceResponseTimes
from cvipsniff.taps.base import RULE, Tap


class SrtTap(Tap):
    def __init__(self, protocol: str | None) -> None:
        self.protocol = protocol
        self.times = ServiceResponseTimes()

    def transactions(self, transactions: Sequence[Transaction]) -> None:
        for txn in transactions:
            latency = txn.latency_ms
            if latency is None or txn.request is None:
                continue
            if self.protocol is None or txn.protocol == self.protocol:
                self.times.add(txn.protocol, txn.method, latency)

    def render(self) -> str:
        title = "Service Response Time Statistics"
        lines = [RULE, title + (f" ({self.protocol})" if self.protocol else ""), RULE,
                 f"{'Protocol':<12} {'Method':<32} {'Calls':>6} {'Min SRT (s)':>12} "
                 f"{'Max SRT (s)':>12} {'Avg SRT (s)':>12} {'Sum SRT (s)':>12}"]
        for key in sorted(self.times.methods):
            entry = self.times.methods[key]
            values = entry.latencies_ms
            total = sum(values)
            lines.append(f"{entry.protocol:<12} {entry.method:<32} {len(values):>6} "
                         f"{min(values) / 1e3:>12.6f} {max(values) / 1e3:>12.6f} "
                         f"{total / len(values) / 1e3:>12.6f} {total / 1e3:>12.6f}")
        lines.append(RULE)
        return "\n".join(lines) + "\n"
