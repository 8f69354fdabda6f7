"""The terminal sink of a live capture: messages and findings as they happen.

Text lines are those of ``cvipsniff read`` (a response names its request's method and
frame), and a finding is a line of its own the moment it arises::

     12    0.000342 127.0.0.1:7110 → 127.0.0.1:50412 CVIP 230 cviNetwork.getProperties ...
    [warning] cvip.txn.unanswered (frame 14): cviVideo.getProperties request id=7 was ...

JSON lines are those of ``cvipsniff read -T jsonl`` (``"type": "message"`` and
``"note"``), plus ``{"type": "finding", ...}`` records in the JSON report's finding shape;
at the end of the capture the transactions (``"type": "transaction"``) and a
``"type": "summary"`` record follow (see :func:`summary_records`).

The printer is the session's ``on_output`` callback: it runs in the capture thread right
after an item was analysed, which is what lets it look up a response's request and a
message's findings in the session's analysis at that moment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from cvipsniff.analysis.engine import Analysis
from cvipsniff.analysis.model import Finding, Transaction
from cvipsniff.filter import Filter, MessageFieldSource
from cvipsniff.live.session import CaptureStats, LiveOutput
from cvipsniff.model import Message, TransportNote
from cvipsniff.render import message_json, note_json, summary_line, tree_lines
from cvipsniff.report.json_report import finding_json, pairing_json, transaction_json

__all__ = ["LivePrinter", "capture_line", "finding_line", "summary_records"]


def finding_line(finding: Finding) -> str:
    """``[warning] rule (frames 3, 5): message`` — like a transport note's line."""
    frames = finding.frames
    if not frames:
        where = "capture"
    elif len(frames) == 1:
        where = f"frame {frames[0]}"
    else:
        where = "frames " + ", ".join(str(n) for n in frames[:8])
        if len(frames) > 8:
            where += f", … (+{len(frames) - 8})"
    return f"[{finding.severity}] {finding.rule} ({where}): {finding.message}"


def capture_line(stats: CaptureStats) -> str:
    """The capture's own figures, for the summary: what was seen and what was lost."""
    if stats.drops_final:
        lost = f"{stats.dropped} dropped"
        if stats.interface_dropped:
            lost += f", {stats.interface_dropped} dropped by the interface"
    else:
        lost = "drops unknown"
    return (f"capture on {stats.interface!r} ({stats.backend}): {stats.packets} packets, "
            f"{stats.bytes} bytes in {stats.elapsed_s:.1f} s; {lost}")


class LivePrinter:
    """Writes what a :class:`~cvipsniff.live.session.LiveSession` outputs to ``out``.

    ``analysis`` returns the session's current analysis (it is replaced on restart).
    With a display filter only matching messages are shown, and only the findings of
    shown messages; ``selected`` collects the numbers of the shown messages so the final
    report can be narrowed to them (as ``cvipsniff report -Y`` does).
    """

    def __init__(self, out: TextIO, output_format: str, analysis: Callable[[], Analysis],
                 display_filter: Filter | None = None, verbose: bool = False,
                 quiet: bool = False, start: Callable[[], int | None] | None = None) -> None:
        """``start``: the capture time of the session's first frame, once there is one
        (relative times count from it, as tshark's do; else from the first message)."""
        self.out = out
        self.format = output_format
        self.analysis = analysis
        self.filter = display_filter
        self.verbose = verbose
        self.quiet = quiet
        self.selected: set[int] = set()
        self.first_ts_ns: int | None = None
        self._start = start

    def __call__(self, item: LiveOutput) -> None:
        if isinstance(item, Message):
            self._message(item)
        elif isinstance(item, Finding):
            self._finding(item)
        elif isinstance(item, TransportNote) and self._shows_notes():
            self._write(json.dumps(note_json(item)))

    def _shows_notes(self) -> bool:
        """Notes are JSON records of their own, as in ``read -T jsonl``; in text they
        show as the findings they become. A display filter selects messages only."""
        return self.format == "jsonl" and self.filter is None and not self.quiet

    def _message(self, msg: Message) -> None:
        if self.first_ts_ns is None:
            first_frame = self._start() if self._start is not None else None
            self.first_ts_ns = first_frame or msg.first_ts_ns or msg.ts_ns
        analysis = self.analysis()
        if self.filter is not None:
            source = MessageFieldSource(msg, transaction=_transaction_of(analysis, msg),
                                        findings=_own_findings(analysis, msg),
                                        first_ts_ns=self.first_ts_ns)
            if not self.filter.matches(source):
                return
            self.selected.add(msg.number)
        if self.quiet:
            return
        if self.format == "jsonl":
            record = message_json(msg, self.first_ts_ns)
            # As read -T jsonl writes it in one pass: a request's answer comes later.
            record["transaction"] = pairing_json(_transaction_of(analysis, msg), final=False)
            self._write(json.dumps(record, ensure_ascii=False))
        elif self.verbose:
            self._write("\n".join(tree_lines(msg)) + "\n")
        else:
            method, frame = _request_of(analysis, msg)
            self._write(summary_line(msg, self.first_ts_ns, request_method=method,
                                     request_frame=frame))

    def _finding(self, finding: Finding) -> None:
        if self.quiet:
            return
        if self.filter is not None and finding.message_number not in self.selected:
            return
        if self.format == "jsonl":
            self._write(json.dumps({"type": "finding", **finding_json(finding)},
                                   ensure_ascii=False))
        else:
            self._write(finding_line(finding))

    def _write(self, line: str) -> None:
        # Flushed per line: someone is watching (or a pipe is reading) as it happens.
        self.out.write(line + "\n")
        self.out.flush()


def summary_records(analysis: Analysis, stats: CaptureStats,
                    transactions: list[Transaction] | None = None) -> Iterator[dict[str, Any]]:
    """The JSON lines that close a capture: every transaction, then the summary."""
    for txn in analysis.transactions if transactions is None else transactions:
        yield {"type": "transaction", **transaction_json(txn)}
    yield {"type": "summary", "capture": stats.to_json(), "analysis": analysis.summary(),
           "srt": analysis.srt.table()}


def _transaction_of(analysis: Analysis, msg: Message) -> Transaction | None:
    number = analysis.pairer.transaction_of(msg.number)
    if number is None or not 0 < number <= len(analysis.transactions):
        return None
    return analysis.transactions[number - 1]


def _own_findings(analysis: Analysis, msg: Message) -> list[Finding]:
    """The findings the message itself produced: analysing it appended them last."""
    found: list[Finding] = []
    for finding in reversed(analysis.findings):
        if finding.message_number != msg.number:
            break
        found.append(finding)
    found.reverse()
    return found


def _request_of(analysis: Analysis, msg: Message) -> tuple[str | None, int | None]:
    """For an answer: its request's method and completing frame, if pairing knows them."""
    if not msg.record.is_response:
        return None, None
    txn = _transaction_of(analysis, msg)
    if txn is None or txn.request is None:
        return None, None
    return txn.method, max(txn.request.frames)
