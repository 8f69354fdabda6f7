"""Report sinks over finished analyses: text, JSON, JUnit XML and Markdown."""

from __future__ import annotations

import codecs
import io
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, TextIO

from cvipsniff.analysis.engine import Analysis
from cvipsniff.analysis.model import Finding, Transaction
from cvipsniff.analysis.stats import ServiceResponseTimes
from cvipsniff.model import Message
from dissectors.base import SEVERITY_RANK

if TYPE_CHECKING:
    from cvipsniff.report.rowspool import RowSpool

SEVERITIES = ("error", "warning", "info")

_CHUNK = 1 << 18  # characters gathered before one write


def chunked(pieces: Iterable[str | bytes]) -> Iterator[str | bytes]:
    """A report's pieces joined into writes of about ``_CHUNK`` characters. Why: a large
    report is ~10^5 pieces (one per transaction) and a text stream's ``write`` costs
    about a microsecond per call before any byte moves; joined, the report is written
    in a fraction of the time and still never held whole. Bytes (a part rendered
    elsewhere, already UTF-8: see :class:`~cvipsniff.report.jsontext.Spliced`) pass on
    as they are, in their place."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        if type(piece) is bytes:
            if batch:
                yield "".join(batch)
                batch.clear()
                size = 0
            yield piece
            continue
        batch.append(piece)  # type: ignore[arg-type]
        size += len(piece)
        if size >= _CHUNK:
            yield "".join(batch)
            batch.clear()
            size = 0
    if batch:
        yield "".join(batch)


def write_pieces(stream: TextIO, pieces: Iterable[str | bytes]) -> None:
    """Write a report's pieces to a text stream: text through it, UTF-8 bytes straight
    to the stream's byte buffer where the stream writes UTF-8 and translates no newline
    (copied, never decoded and encoded again), else decoded (one decoder for the run,
    so a character cut between two chunks comes out whole)."""
    raw = _utf8_buffer(stream)
    decode = codecs.getincrementaldecoder("utf-8")().decode
    for piece in pieces:
        if type(piece) is str:
            stream.write(piece)
        elif raw is not None:
            stream.flush()
            raw.write(piece)  # type: ignore[arg-type]
        else:
            stream.write(decode(piece))  # type: ignore[arg-type]
    if raw is None:
        stream.write(decode(b"", True))


def _utf8_buffer(stream: TextIO) -> BinaryIO | None:
    try:
        utf8 = codecs.lookup(stream.encoding).name == "utf-8"
    except (AttributeError, LookupError, TypeError):
        return None
    # A text stream with the default newline handling writes "\n" as os.linesep, and
    # bytes copied past it would keep "\n": only where the two are the same.
    if not utf8 or os.linesep != "\n":
        return None
    return getattr(stream, "buffer", None)


def joined(pieces: Iterable[str | bytes]) -> str:
    """A report's pieces as one string (tests, small reports)."""
    out = io.StringIO()
    write_pieces(out, pieces)
    return out.getvalue()


@dataclass(slots=True)
class Narrowed:
    """What a display filter selected, for the summary and the response-time table: the
    report's figures then describe the selection, not the capture around it."""

    filter: str
    messages: Counter[str] = field(default_factory=Counter)
    flows: set[int] = field(default_factory=set)
    first_ts_ns: int | None = None
    last_ts_ns: int | None = None
    srt: ServiceResponseTimes = field(default_factory=ServiceResponseTimes)

    def add(self, msg: Message) -> None:
        self.messages[msg.record.protocol] += 1
        self.flows.add(msg.flow)
        if self.first_ts_ns is None:
            self.first_ts_ns = msg.first_ts_ns or msg.ts_ns
        self.last_ts_ns = msg.ts_ns

    def times(self, transactions: list[Transaction]) -> None:
        for txn in transactions:
            latency = txn.latency_ms
            if latency is not None and txn.request is not None:
                self.srt.add(txn.protocol, txn.method, latency)


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
    narrowed: Narrowed | None = None
    elapsed_s: float = 0.0  # wall time of the analysis (JUnit's time)
    # A file holding this capture's part of the JSON report, rendered where it was
    # analysed (``report --jobs`` over several files: in the worker, so the files'
    # renderings run in parallel too); the JSON report copies it instead.
    rendered: str | None = None
    # The JSON report's rows of this capture's transactions, rendered by the workers of
    # its split (see cvipsniff.report.rowspool); copied instead of rendered.
    row_spool: RowSpool | None = None

    def shed_transactions(self) -> None:
        """Drop the transactions once :attr:`rendered` holds this file's part of the
        JSON report. Why: a worker's result crosses a pipe to the parent, which copies
        the rendered part and reads only the findings (exit status, baseline file); the
        transaction log was most of what it pickled (19 of 21 MB for the bench's 200 MB
        sessions mix), unpickled one file after another in the parent: the serial tail
        of a run over several files."""
        if self.rendered is None:
            raise ValueError("shed_transactions: this result's part is not rendered")
        if self.analysis is not None:
            self.analysis.pairer.transactions.clear()

    @property
    def transactions(self) -> Sequence[Transaction]:
        if self.selected_transactions is not None:
            return self.selected_transactions
        return self.analysis.transactions if self.analysis is not None else []

    @property
    def message_count(self) -> int:
        if self.narrowed is not None:
            return sum(self.narrowed.messages.values())
        return self.analysis.message_count if self.analysis is not None else 0

    def summary(self) -> dict[str, object]:
        """The analysis summary as the report shows it: findings counted after the
        baseline, and under a display filter the selected messages, transactions, flows
        and time span (suppressed repeats stay the capture's: they have no message)."""
        assert self.analysis is not None
        out = self.analysis.summary()
        counts = Counter(f.severity for f in self.findings)
        out["findings"] = {sev: counts.get(sev, 0) for sev in SEVERITIES}
        n = self.narrowed
        if n is not None:
            out["messages"] = {name: n.messages.get(name, 0)
                               for name in ("cvip", "cvip-ping", "imageserver")}
            out["transactions"] = dict(sorted(Counter(t.state for t in self.transactions)
                                              .items()))
            out["flows"] = len(n.flows)
            out["duration_s"] = round(((n.last_ts_ns or 0) - (n.first_ts_ns or 0)) / 1e9, 6)
        return out

    def srt_table(self) -> list[dict[str, float | int | str]]:
        if self.narrowed is not None:
            return self.narrowed.srt.table()
        return self.analysis.srt.table() if self.analysis is not None else []


def failing(findings: list[Finding], fail_on: str) -> list[Finding]:
    """The findings at or above the fail threshold (none for ``never``)."""
    if fail_on == "never":
        return []
    threshold = SEVERITY_RANK[fail_on]
    return [f for f in findings if SEVERITY_RANK.get(f.severity, 0) >= threshold]
