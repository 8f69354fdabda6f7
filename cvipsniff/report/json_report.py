"""The JSON report: the documented contract (README, "JSON report"), version 1.

Extended freely, never broken: keys are only ever added.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from cvipsniff.analysis.model import UNANSWERED, Finding, MessageRef, Transaction
from cvipsniff.analysis.txnlog import values
from cvipsniff.report import FileResult
from cvipsniff.report.jsontext import (
    Rows,
    Spliced,
    encode_basestring,
    iter_indented,
    iter_indented_at,
    value_text,
)
from cvipsniff.report.rowspool import RowSpool, SpooledRows
from dissectors.accel import COMPILED, accelerated

VERSION = 1


def _ref(ref: MessageRef | None) -> dict[str, Any] | None:
    """A message reference's JSON object (rendered by :func:`_ref_text` in the report)."""
    if ref is None:
        return None
    return {"message": ref.number, "frames": list(ref.frames),
            "frame": max(ref.frames) if ref.frames else None, "kind": ref.kind,
            "time": ref.ts_ns / 1e9}


def transaction_json(t: Transaction) -> dict[str, Any]:
    """A transaction's JSON object. The report renders it with :func:`transaction_text`
    (no dict per row): a key added here goes there too (tests/test_report_rows.py)."""
    latency = t.latency_ms
    return {
        "number": t.number,
        "protocol": t.protocol,
        "id": t.id,
        "flow": t.flow,
        "method": t.method,
        "state": t.state,
        "latency_ms": round(latency, 3) if latency is not None else None,
        "request": _ref(t.request),
        "response": _ref(t.responses[0]) if t.responses else None,
        "responses": len(t.responses),
    }


def transaction_text(t: Transaction, nl: str, step: str) -> str:
    """``transaction_json(t)`` as the report writes it, without the dict: a report has a
    row per transaction, and this is most of its rendering (see
    :func:`transaction_values_text`)."""
    return transaction_values_text(values(t), nl, step)


def _no_row(_values: tuple, _nl: str, _step: str) -> None:
    return None


# The compiled row writer (accel/src/jsonrow.rs): the text below for a row of the usual
# values, None for anything else; on the pure-Python path, always None.
_compiled_row = accelerated("transaction_row", _no_row)


def _no_rows(_rows: list, _nl: str, _step: str, _first: bool) -> None:
    return None


# The same for a batch of rows, as Rows.render_batch; none on the pure-Python path (the
# rows are written one by one there).
_compiled_rows = accelerated("transaction_rows", _no_rows) if COMPILED else None


def transaction_values_text(v: tuple, nl: str, step: str) -> str:
    """``transaction_json`` of the transaction whose :func:`~cvipsniff.analysis.txnlog.values`
    are ``v``, as the report writes it: made directly (no dict per row), and from the
    values a transaction log keeps (the spilled ones are never made objects again). Equal
    to the dict's text by test (tests/test_report_rows.py); a key added to the dict goes
    here too."""
    text = _compiled_row(v, nl, step)
    if text is not None:
        return text
    number, protocol, id_, flow, method, state, request, responses, _expects = v
    inner = nl + step
    first = responses[0] if responses else None
    latency = (first[2] - request[2]) / 1e6 if request is not None and first is not None \
        else None
    return (
        f'{{{inner}"number": {_scalar(number, inner, step)},'
        f'{inner}"protocol": {_scalar(protocol, inner, step)},'
        f'{inner}"id": {_scalar(id_, inner, step)},'
        f'{inner}"flow": {_scalar(flow, inner, step)},'
        f'{inner}"method": {_scalar(method, inner, step)},'
        f'{inner}"state": {_scalar(state, inner, step)},'
        f'{inner}"latency_ms": '
        f'{_scalar(round(latency, 3) if latency is not None else None, inner, step)},'
        f'{inner}"request": {_ref_values_text(request, inner, step)},'
        f'{inner}"response": {_ref_values_text(first, inner, step)},'
        f'{inner}"responses": {len(responses)}{nl}}}')


def _ref_values_text(ref: tuple | None, nl: str, step: str) -> str:
    """``_ref`` of a message reference given as ``(number, frames, ts_ns, kind, method)``,
    as the report writes it."""
    if ref is None:
        return "null"
    number, frames, ts_ns, kind, _method = ref
    inner = nl + step
    return (f'{{{inner}"message": {_scalar(number, inner, step)},{inner}"frames": '
            f'{_ints(frames, inner, step)},{inner}"frame": '
            f'{_scalar(max(frames) if frames else None, inner, step)},{inner}"kind": '
            f'{_scalar(kind, inner, step)},{inner}"time": '
            f'{_scalar(ts_ns / 1e9, inner, step)}{nl}}}')


def _transaction_rows(transactions: Sequence[Transaction]) -> Rows:
    """The report's transaction rows: a transaction log's (a :class:`TransactionLog`, a
    split capture's log of renumbered ones) written from its values."""
    if isinstance(transactions, _ValuesLog):
        return Rows(_LogValues(transactions), transaction_values_text, _compiled_rows)
    return Rows(transactions, transaction_text)


def new_row_spool() -> RowSpool:
    """A spool of transaction rows for where :func:`render` writes a file's transactions
    (see :mod:`cvipsniff.report.rowspool`)."""
    return RowSpool(transaction_values_text, _ROWS_NL, _STEP, _compiled_rows)


def _file_rows(result: FileResult) -> Rows | SpooledRows:
    """``result``'s transaction rows, copied from its spool where it has one."""
    rows = _transaction_rows(result.transactions)
    spool = result.row_spool
    if spool is None or result.selected_transactions is not None:
        return rows
    return spool.rows(result.transactions, rows)


@runtime_checkable
class _ValuesLog(Protocol):
    """A transaction log that gives its transactions' values (never made objects)."""

    def __len__(self) -> int: ...

    def iter_values(self) -> Iterator[tuple]: ...


class _LogValues:
    """A transaction log as the sequence of its values :class:`Rows` iterates."""

    __slots__ = ("log",)

    def __init__(self, log: _ValuesLog) -> None:
        self.log = log

    def __len__(self) -> int:
        return len(self.log)

    def __iter__(self) -> Iterator[tuple]:
        return self.log.iter_values()


def _scalar(value: Any, nl: str, step: str) -> str:
    """:func:`value_text` with the row's usual types (exactly ``int``, ``str``, None, a
    finite ``float``) tried first: a row has a dozen such values, and the general
    dispatch was a third of the cost of a row."""
    t = type(value)
    if t is int:
        return int.__repr__(value)
    if t is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if t is float and value - value == 0.0:  # finite (NaN and infinities are spelt apart)
        return float.__repr__(value)
    return value_text(value, nl, step)


def _ints(numbers: tuple[int, ...], nl: str, step: str) -> str:
    """A tuple of frame numbers as ``value_text(list(numbers))`` writes it."""
    if not numbers:
        return "[]"
    inner = nl + step
    parts = []
    for n in numbers:
        if type(n) is not int:
            return value_text(list(numbers), nl, step)
        parts.append(int.__repr__(n))
    return "[" + inner + ("," + inner).join(parts) + nl + "]"


# The state of a request whose answer the one-pass output cannot know yet.
PENDING = "pending"


def pairing_json(txn: Transaction | None, *, final: bool) -> dict[str, Any] | None:
    """The message's transaction as the report renders it (``state``, ``method``,
    ``latency_ms``, ``request``/``response`` references with message and frames).

    ``final`` is True after a first pass (``-2``): the transaction is complete. In one
    pass a response knows its request, but a request is written before its answer: its
    state is ``pending`` (and a request answered by several devices, a broadcast ping,
    is ``answered`` as soon as one answer came, not when the capture ends)."""
    if txn is None:
        return None
    out = transaction_json(txn)
    if not final and txn.state == UNANSWERED:
        out["state"] = "answered" if txn.responses else PENDING
    return out


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity,
        "message": f.message,
        "spec": f.spec,
        "frames": f.frames,
        "transaction": f.transaction,
        "flow": f.flow,
        "protocol": f.protocol,
        "notes": list(f.notes),
    }


def _finding_text(f: Finding, nl: str, step: str) -> str:
    """A finding row as :class:`Rows` renders it: its dict made and encoded one at a time
    (a capture with hundreds of thousands of findings never holds them all as dicts)."""
    return value_text(finding_json(f), nl, step)


def file_json(result: FileResult, *, rows: bool = False) -> dict[str, Any]:
    """One file's part of the report; ``rows``: transactions as :class:`Rows` rendered
    straight from the objects (only :func:`render` writes those)."""
    out: dict[str, Any] = {"path": result.path}
    if result.error is not None or result.analysis is None:
        out["error"] = result.error or "not analysed"
        out["summary"] = None
        out["transactions"] = []
        out["findings"] = []
        return out
    summary = result.summary()
    summary["baseline_excused"] = result.excused
    out["summary"] = summary
    if result.narrowed is not None:  # summary, transactions, findings, srt: the selection
        out["display_filter"] = result.narrowed.filter
    out["transactions"] = _file_rows(result) if rows \
        else [transaction_json(t) for t in result.transactions]
    out["findings"] = Rows(result.findings, _finding_text) if rows \
        else [finding_json(f) for f in result.findings]
    out["srt"] = result.srt_table()
    return out


# Where a file's part sits in the report: an item of "files" in the top object, with
# indent 1 (render's): its lines start with this, and what render opens of it is 2 deep.
_FILE_NL = "\n  "
_FILE_DEPTH = 2
_STEP = " "
# The line start of a file's "transactions" array (a member of the file's object).
_ROWS_NL = _FILE_NL + _STEP


def report_json(results: list[FileResult], fail_on: str, *,
                rows: bool = False) -> dict[str, Any]:
    return {"version": VERSION, "fail_on": fail_on,
            "files": [Spliced(r.rendered, _FILE_NL) if rows and r.rendered is not None
                      else file_json(r, rows=rows) for r in results]}


def file_pieces(result: FileResult) -> Iterator[str | bytes]:
    """``result``'s part of :func:`render`'s output (an item of its ``files``), for
    rendering it where it was analysed (:attr:`FileResult.rendered`)."""
    return iter_indented_at(file_json(result, rows=True), _FILE_NL, _FILE_DEPTH)


def render(results: list[FileResult], fail_on: str) -> Iterator[str | bytes]:
    """The report as written, in pieces: ``json.dumps(report, indent=1,
    ensure_ascii=False)`` and a newline, through the fast encoder. Written as it is made,
    a large report (mostly transactions) never exists as one string. The parts workers
    rendered come as their UTF-8 bytes (:func:`cvipsniff.report.joined` makes one
    string of it all)."""
    yield from iter_indented(report_json(results, fail_on, rows=True), 1)
    yield "\n"
