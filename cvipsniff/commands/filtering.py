"""``-Y FILTER`` for the batch commands: compile once, evaluate per message.

Fields that only exist once the analysis is done (``latency_ms``, ``txn.*``,
``finding.*``) need the answer of a request, which comes later in the capture; like
``tshark -2`` the commands then make a first pass to pair and check everything, and apply
the filter in a second pass with that knowledge.
"""

from __future__ import annotations

from collections import defaultdict

from cvipsniff.analysis.engine import Analysis
from cvipsniff.analysis.model import Finding, Transaction
from cvipsniff.errors import UsageError
from cvipsniff.filter import Filter, FilterError, MessageFieldSource, compile_filter
from cvipsniff.model import Message

LATE_PREFIXES = ("latency_ms", "txn", "finding")


def compile_user_filter(text: str) -> Filter:
    try:
        return compile_filter(text)
    except FilterError as exc:
        raise UsageError(f"bad display filter: {exc}") from None


def needs_analysis(flt: Filter) -> bool:
    """Whether the filter reads fields only a completed analysis knows."""
    return any(name == p or name.startswith(p + ".") for name in flt.fields
               for p in LATE_PREFIXES)


class AnalysisLookup:
    """Per message number: its transaction and findings, from a finished analysis."""

    def __init__(self, analysis: Analysis) -> None:
        self._transactions: dict[int, Transaction] = {
            t.number: t for t in analysis.transactions}
        self._pairer = analysis.pairer
        self._findings: dict[int, list[Finding]] = defaultdict(list)
        for f in analysis.findings:
            if f.message_number is not None:
                self._findings[f.message_number].append(f)

    def source(self, msg: Message, first_ts_ns: int) -> MessageFieldSource:
        number = self._pairer.transaction_of(msg.number)
        return MessageFieldSource(
            msg, transaction=self._transactions.get(number) if number else None,
            findings=self._findings.get(msg.number, ()), first_ts_ns=first_ts_ns)


def reads_record_fields(flt: Filter) -> bool:
    """Whether a filter needs the dissection tree (protocol fields such as cvip.param.*),
    or only what every record carries without it."""
    return any(name.split(".", 1)[0] in ("cvip", "cvip-ping", "imageserver")
               for name in flt.fields)
