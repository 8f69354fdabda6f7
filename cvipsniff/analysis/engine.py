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
from collections.abc import Callable, Iterable

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.connections import ImageServerConnections
from cvipsniff.analysis.coverage import TrafficSeen
from cvipsniff.analysis.model import Finding, Transaction
from cvipsniff.analysis.pairing import Pairer
from cvipsniff.analysis.rules import CATALOGUE, Rule
from cvipsniff.analysis.stats import ServiceResponseTimes
from cvipsniff.analysis.txnlog import TransactionLog
from cvipsniff.model import Flow, FlowClosed, Message, TransportNote

MessageFilter = Callable[[Message], bool]

# Findings of one rule listed per message and per capture; the rest are counted in one
# "N more" finding (like the XML repair notes), so one hostile message (40,000 nested
# arrays) cannot turn into 40,000 findings each carrying the message's frame list.
MAX_PER_MESSAGE = 20
MAX_PER_CAPTURE = 10_000


# The Record.attrs an Analysis reads (here and in connections.py): the rest are for
# people (the TUI's details, ``read -T json``). A split's workers send only these to the
# report's analysis; the tests of the split against one process (every bundled capture,
# byte for byte) fail if an analysis starts reading another without adding it here.
ANALYSIS_ATTRS = frozenset({"answered_by", "connectparam_id"})


def imageserver_answer_kind(msg: Message) -> str:
    """What the ImageServer spec table says answers this request ("xml", "image",
    "stream" or "none"); the dissector resolves it from its table, including the
    adaptive-streaming-only ``live`` that gets no answer. For a method the document does
    not define the answer is "unknown": whatever comes is paired, silence is no finding."""
    return str(msg.record.attrs.get("answered_by") or "unknown")


class Analysis:
    """Accumulates one capture's (or one live session's) analysis."""

    def __init__(self, config: AnalysisConfig | None = None, *,
                 keep_transactions: bool = True, max_per_message: int = MAX_PER_MESSAGE,
                 max_per_capture: int = MAX_PER_CAPTURE) -> None:
        self.config = config or AnalysisConfig()
        self.pairer = Pairer(imageserver_answer_kind, keep_transactions=keep_transactions)
        self.pairer.transactions.on_spill = self._latencies
        self.connections = ImageServerConnections()
        self.seen = TrafficSeen()  # what was there, should no message be found
        self.findings: list[Finding] = []
        self.suppressed: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()
        self.message_count = 0
        self.flows: set[int] = set()  # flows that carried a message
        # Flows that ended without carrying a message (a lone SYN, a handshake, a port
        # scan): counted, not kept (a million of them must cost nothing).
        self.silent_flows = 0
        self.srt = ServiceResponseTimes()
        self.first_ts_ns: int | None = None
        self.last_ts_ns: int | None = None
        self._seen_once: set[str] = set()
        # Per rule id, the configuration's verdict (see _gate_of).
        self._gates: dict[str, tuple[bool, str, str, Rule | None]] = {}
        self._seen_flow: set[tuple[str, int]] = set()
        self._counted_latency: set[int] = set()
        self.max_per_message = max(1, max_per_message)
        self.max_per_capture = max(1, max_per_capture)
        self._listed: Counter[str] = Counter()  # findings listed per rule
        self._unlisted: dict[str, Finding] = {}  # per rule beyond the cap: the first
        self._unlisted_count: Counter[str] = Counter()

    # ---- feeding -----------------------------------------------------------------------

    def add(self, item: object) -> list[Finding]:
        """One pipeline output; returns the findings it produced (for live printing)."""
        kind = type(item)  # exact types first: the hot path of a large capture
        if kind is Message or (kind is not FlowClosed and isinstance(item, Message)):
            return self._message(item)  # type: ignore[arg-type]
        if kind is FlowClosed or isinstance(item, FlowClosed):
            return self._flow_closed(item.flow)  # type: ignore[attr-defined]
        if isinstance(item, TransportNote):
            return self._note(item)
        return []

    def _flow_closed(self, flow: Flow) -> list[Finding]:
        if flow.id not in self.flows:
            self.silent_flows += 1
        self.seen.flow(flow)
        self.connections.close_flow(flow.id)
        settled = self.pairer.close_flow(flow.id)
        return self._emit(settled) if settled else []

    def expire(self, now_ns: int) -> list[Finding]:
        """Live use: unanswered requests older than the configured timeout."""
        timeout_ns = int(self.config.unanswered_timeout_s * 1e9)
        return self._emit(self.pairer.expire(now_ns, timeout_ns))

    def finish(self) -> list[Finding]:
        out = self._emit(self.pairer.finish())
        if not self.message_count:  # nothing analysed is not a pass
            out += self._emit([self.seen.finding()])
        out.extend(self._capture_overflow())
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
        rec = msg.record
        # Most messages have no problem and are no ImageServer request (the only ones the
        # connection check reads): their transaction number is not looked up.
        if rec.problems or (rec.kind == "request" and rec.protocol == "imageserver"):
            txn_number = self.pairer.transaction_of(msg.number)
            found = self._problem_findings(msg, txn_number)
            found.extend(pairing)
            found.extend(self.connections.feed(msg, txn_number))
        else:
            found = pairing
        return self._emit(found) if found else found  # most messages: nothing to gate

    def _problem_findings(self, msg: Message, txn_number: int | None) -> list[Finding]:
        """The record's problems as findings: identical ones (same rule, severity, text
        and section) merged into one with a count, at most ``max_per_message`` per rule,
        the rest of a rule counted in one "N more" finding."""
        problems = msg.record.problems
        if not problems:
            return []
        groups: dict[tuple[str, str, str, str], list] = {}  # key → [problem, count]
        listed: Counter[str] = Counter()
        unlisted: dict[str, list] = {}  # rule → [first problem beyond the cap, count]
        for p in problems:
            key = (p.rule, p.severity, p.message, p.spec)
            group = groups.get(key)
            if group is not None:
                group[1] += 1
            elif listed[p.rule] < self.max_per_message:
                listed[p.rule] += 1
                groups[key] = [p, 1]
            elif p.rule in unlisted:
                unlisted[p.rule][1] += 1
            else:
                unlisted[p.rule] = [p, 1]
        found = [self._message_finding(msg, txn_number, p.rule, p.severity,
                                       p.message if count == 1 else f"{p.message} (×{count})",
                                       p.spec, p.notes)
                 for p, count in groups.values()]
        for p, count in unlisted.values():
            found.append(self._message_finding(
                msg, txn_number, p.rule, p.severity,
                f"{count} more {p.rule} finding(s) in this message not listed "
                f"(at most {self.max_per_message} different ones per message)", p.spec))
        return found

    @staticmethod
    def _message_finding(msg: Message, txn_number: int | None, rule: str, severity: str,
                         message: str, spec: str, notes: tuple[str, ...] = ()) -> Finding:
        return Finding(rule=rule, severity=severity, message=message, spec=spec,
                       frames=list(msg.frames), transaction=txn_number,
                       message_number=msg.number, flow=msg.flow,
                       protocol=msg.record.protocol, notes=notes)

    def _note(self, note: TransportNote) -> list[Finding]:
        flow = note.flow.id if note.flow is not None else None
        if note.kind == "tcp.gap" and flow is not None:
            self.pairer.gap(flow, note.direction, note.frame)
        return self._emit([Finding(
            rule=note.kind, severity=note.severity, message=note.message,
            spec=CATALOGUE[note.kind].spec if note.kind in CATALOGUE else "",
            frames=[note.frame] if note.frame else [], flow=flow,
            protocol=note.kind.split(".", 1)[0],
        )])

    # ---- the gate ------------------------------------------------------------------------

    def _emit(self, findings: list[Finding]) -> list[Finding]:
        """Apply the configuration: enabled rules, severity overrides, actions. A finding
        keeps the severity its dissector or rule decided unless ``[rules.severity]`` names
        its rule, so every view (read, TUI, report, sniff) shows one grade."""
        kept: list[Finding] = []
        gates = self._gates
        for f in findings:
            gate = gates.get(f.rule)
            if gate is None:
                gate = gates[f.rule] = self._gate_of(f.rule)
            enabled, severity, action, rule = gate
            if not enabled:
                continue
            f.severity = severity or f.severity
            if rule is not None and not f.spec:
                f.spec = rule.spec
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
            self._listed[f.rule] += 1
            if self._listed[f.rule] > self.max_per_capture:
                self._unlisted.setdefault(f.rule, f)
                self._unlisted_count[f.rule] += 1
                continue
            kept.append(f)
        self.findings.extend(kept)
        return kept

    def _gate_of(self, rule_id: str) -> tuple[bool, str, str, Rule | None]:
        """What the configuration says of a rule: enabled, re-graded severity ("" if
        not), action, catalogue entry. Worked out once per rule id (glob patterns are
        matched here, not per finding) and kept in ``_gates``."""
        cfg = self.config
        return (cfg.enabled(rule_id), cfg.severity_of(rule_id, ""), cfg.action_of(rule_id),
                CATALOGUE.get(rule_id))

    def _capture_overflow(self) -> list[Finding]:
        """One "N more" finding per rule that went beyond ``max_per_capture``."""
        out = [Finding(rule=rule, severity=first.severity,
                       message=f"{self._unlisted_count[rule]} more {rule} finding(s) not "
                               f"listed (at most {self.max_per_capture} per capture; the "
                               f"first not listed: {first.message})",
                       spec=first.spec, frames=first.frames, protocol=first.protocol)
               for rule, first in self._unlisted.items()]
        self._unlisted.clear()
        self.findings.extend(out)
        return out

    # ---- results -------------------------------------------------------------------------

    @property
    def transactions(self) -> TransactionLog:
        """Every transaction in number order (a list-like log: see :mod:`.txnlog`)."""
        return self.pairer.transactions

    def _collect_latencies(self) -> None:
        """Response times of the transactions still in memory at the end; those the
        transaction log wrote out during the run were counted then (:meth:`_latencies`)."""
        log = self.pairer.transactions
        self._latencies(log.in_memory_items() if isinstance(log, TransactionLog) else log)

    def _latencies(self, txns: Iterable[Transaction]) -> None:
        """Count the response times of ``txns`` (request to first answer, as
        :attr:`Transaction.latency_ms`; inline: every transaction passes here)."""
        add = self.srt.add
        for txn in txns:
            request, responses = txn.request, txn.responses
            if request is not None and responses:
                add(txn.protocol, txn.method, (responses[0].ts_ns - request.ts_ns) / 1e6)

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
            "flows": len(self.flows) + self.silent_flows,
            "duration_s": round(((self.last_ts_ns or 0) - (self.first_ts_ns or 0)) / 1e9, 6),
        }
