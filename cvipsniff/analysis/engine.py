"""The analysis: pipeline output in, transactions, findings and statistics out.

:class:`Analysis` is fed the pipeline's messages, notes and flow ends in capture order
(offline or live) and keeps only what a report needs: counts, transactions (references,
not bytes), findings and latencies. Findings come from three places, all routed through
one gate that applies the configuration (enabled rules, severities, Zeek-style actions):
the dissectors' per-message problems, the pairer's cross-message rules, and transport
notes from the capture reader and the reassembler.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.connections import ImageServerConnections
from cvipsniff.analysis.model import Finding, Transaction
from cvipsniff.analysis.pairing import Pairer
from cvipsniff.analysis.rules import CATALOGUE
from cvipsniff.analysis.stats import ServiceResponseTimes
from cvipsniff.model import FlowClosed, Message, TransportNote

MessageFilter = Callable[[Message], bool]


def imageserver_answer_kind(msg: Message) -> str:
    """What the ImageServer spec table says answers this request ("xml", "image",
    "stream" or "none"); the dissector resolves it from its table, including the
    adaptive-streaming-only ``live`` that gets no answer. For a method the document does
    not define the answer is "unknown": whatever comes is paired, silence is no finding."""
    return str(msg.record.attrs.get("answered_by") or "unknown")


class Analysis:
    """Accumulates one capture's (or one live session's) analysis."""

    def __init__(self, config: AnalysisConfig | None = None, *,
                 keep_transactions: bool = True) -> None:
        self.config = config or AnalysisConfig()
        self.pairer = Pairer(imageserver_answer_kind, keep_transactions=keep_transactions)
        self.connections = ImageServerConnections()
        self.findings: list[Finding] = []
        self.suppressed: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()
        self.message_count = 0
        self.flows: set[int] = set()
        self.srt = ServiceResponseTimes()
        self.first_ts_ns: int | None = None
        self.last_ts_ns: int | None = None
        self._seen_once: set[str] = set()
        self._seen_flow: set[tuple[str, int]] = set()
        self._counted_latency: set[int] = set()

    # ---- feeding -----------------------------------------------------------------------

    def add(self, item: object) -> list[Finding]:
        """One pipeline output; returns the findings it produced (for live printing)."""
        if isinstance(item, Message):
            return self._message(item)
        if isinstance(item, TransportNote):
            return self._note(item)
        if isinstance(item, FlowClosed):
            self.connections.close_flow(item.flow.id)
            return self._emit(self.pairer.close_flow(item.flow.id))
        return []

    def expire(self, now_ns: int) -> list[Finding]:
        """Live use: unanswered requests older than the configured timeout."""
        timeout_ns = int(self.config.unanswered_timeout_s * 1e9)
        return self._emit(self.pairer.expire(now_ns, timeout_ns))

    def finish(self) -> list[Finding]:
        out = self._emit(self.pairer.finish())
        self._collect_latencies()
        return out

    # ---- messages ----------------------------------------------------------------------

    def _message(self, msg: Message) -> list[Finding]:
        self.message_count += 1
        self.messages[msg.record.protocol] += 1
        self.flows.add(msg.flow)
        if self.first_ts_ns is None:
            self.first_ts_ns = msg.first_ts_ns or msg.ts_ns
        self.last_ts_ns = msg.ts_ns
        pairing = self.pairer.feed(msg)
        txn_number = self.pairer.transaction_of(msg.number)
        found: list[Finding] = []
        rec = msg.record
        for p in rec.problems:
            found.append(Finding(
                rule=p.rule, severity=p.severity, message=p.message, spec=p.spec,
                frames=list(msg.frames), transaction=txn_number, message_number=msg.number,
                flow=msg.flow, protocol=rec.protocol,
            ))
        found.extend(pairing)
        found.extend(self.connections.feed(msg, txn_number))
        return self._emit(found)

    def _note(self, note: TransportNote) -> list[Finding]:
        flow = note.flow.id if note.flow is not None else None
        return self._emit([Finding(
            rule=note.kind, severity=note.severity, message=note.message,
            spec=CATALOGUE[note.kind].spec if note.kind in CATALOGUE else "",
            frames=[note.frame] if note.frame else [], flow=flow,
            protocol=note.kind.split(".", 1)[0],
        )])

    # ---- the gate ------------------------------------------------------------------------

    def _emit(self, findings: list[Finding]) -> list[Finding]:
        """Apply the configuration: enabled rules, severity overrides, actions."""
        kept: list[Finding] = []
        cfg = self.config
        for f in findings:
            if not cfg.enabled(f.rule):
                continue
            rule = CATALOGUE.get(f.rule)
            f.severity = cfg.severity_of(f.rule, rule.severity if rule else f.severity)
            if rule is not None and not f.spec:
                f.spec = rule.spec
            action = cfg.action_of(f.rule)
            if action == "ignore":
                continue
            if action == "once":
                if f.rule in self._seen_once:
                    self.suppressed[f.rule] += 1
                    continue
                self._seen_once.add(f.rule)
            elif action == "per_flow" and f.flow is not None:
                key = (f.rule, f.flow)
                if key in self._seen_flow:
                    self.suppressed[f.rule] += 1
                    continue
                self._seen_flow.add(key)
            kept.append(f)
        self.findings.extend(kept)
        return kept

    # ---- results -------------------------------------------------------------------------

    @property
    def transactions(self) -> list[Transaction]:
        return self.pairer.transactions

    def _collect_latencies(self) -> None:
        for txn in self.pairer.transactions:
            latency = txn.latency_ms
            if latency is not None and txn.request is not None:
                self.srt.add(txn.protocol, txn.method, latency)

    def severity_counts(self) -> dict[str, int]:
        counts = Counter(f.severity for f in self.findings)
        return {sev: counts.get(sev, 0) for sev in ("error", "warning", "info")}

    def summary(self) -> dict[str, object]:
        return {
            "messages": {name: self.messages.get(name, 0)
                         for name in ("cvip", "cvip-ping", "imageserver")},
            "transactions": dict(sorted(self.pairer.states.items())),
            "findings": self.severity_counts(),
            "suppressed": dict(sorted(self.suppressed.items())),
            "flows": len(self.flows),
            "duration_s": round(((self.last_ts_ns or 0) - (self.first_ts_ns or 0)) / 1e9, 6),
        }
