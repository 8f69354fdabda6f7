"""Report sinks over finished analyses: text, JSON, JUnit XML and Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field

from cvipsniff.analysis.engine import Analysis
from cvipsniff.analysis.model import Finding, Transaction
from dissectors.base import SEVERITY_RANK


@dataclass(slots=True)
class FileResult:
    """One capture's analysis as the report sees it (findings after the baseline)."""

    path: str
    analysis: Analysis | None
    findings: list[Finding] = field(default_factory=list)
    excused: int = 0
    error: str | None = None
    # Set when a display filter narrowed the report to some messages' transactions.
    selected_transactions: list[Transaction] | None = None

    @property
    def transactions(self) -> list[Transaction]:
        if self.selected_transactions is not None:
            return self.selected_transactions
        return self.analysis.transactions if self.analysis is not None else []


def failing(findings: list[Finding], fail_on: str) -> list[Finding]:
    """The findings at or above the fail threshold (none for ``never``)."""
    if fail_on == "never":
        return []
    threshold = SEVERITY_RANK[fail_on]
    return [f for f in findings if SEVERITY_RANK.get(f.severity, 0) >= threshold]
