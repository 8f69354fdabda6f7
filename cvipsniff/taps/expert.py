"""``-z expert[,LEVEL]``: findings by severity and rule, like tshark's expert summary
(a group per severity, most severe first, then one row per rule with its count)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from cvipsniff.analysis.model import Finding
from cvipsniff.taps.base import RULE, Tap

SEVERITIES = ("error", "warning", "info")
TITLES = {"error": "Errors", "warning": "Warnings", "info": "Notes"}


class ExpertTap(Tap):
    def __init__(self, level: str = "info") -> None:
        self.shown = SEVERITIES[: SEVERITIES.index(level) + 1]
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.examples: dict[tuple[str, str, str], str] = {}

    def findings(self, findings: Sequence[Finding]) -> None:
        for f in findings:
            key = (f.severity, f.rule, f.protocol or "")
            self.counts[key] += 1
            self.examples.setdefault(key, f.message)

    def render(self) -> str:
        lines: list[str] = []
        for severity in self.shown:
            rows = sorted(((n, key) for key, n in self.counts.items() if key[0] == severity),
                          key=lambda item: (-item[0], item[1]))
            total = sum(n for n, _ in rows)
            lines += [RULE, f"{TITLES[severity]} ({total})", RULE]
            if rows:
                lines.append(f"{'Frequency':>9}  {'Protocol':<12} {'Rule':<36} Example")
            for n, (_, rule, protocol) in rows:
                lines.append(f"{n:>9}  {protocol:<12} {rule:<36} "
                             f"{self.examples[(severity, rule, protocol)]}")
        lines.append(RULE)
        return "\n".join(lines) + "\n"
