"""The JSON report: the documented contract (README, "JSON report"), version 1.

Extended freely, never broken: keys are only ever added.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cvipsniff.analysis.model import Finding, MessageRef, Transaction
from cvipsniff.report import FileResult
from cvipsniff.report.jsontext import iter_indented

VERSION = 1


def _ref(ref: MessageRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"message": ref.number, "frames": list(ref.frames),
            "frame": max(ref.frames) if ref.frames else None, "kind": ref.kind,
            "time": ref.ts_ns / 1e9}


def transaction_json(t: Transaction) -> dict[str, Any]:
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
    }


def file_json(result: FileResult) -> dict[str, Any]:
    out: dict[str, Any] = {"path": result.path}
    if result.error is not None or result.analysis is None:
        out["error"] = result.error or "not analysed"
        out["summary"] = None
        out["transactions"] = []
        out["findings"] = []
        return out
    a = result.analysis
    summary = a.summary()
    summary["baseline_excused"] = result.excused
    counts = {"error": 0, "warning": 0, "info": 0}
    for f in result.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    summary["findings"] = counts
    out["summary"] = summary
    out["transactions"] = [transaction_json(t) for t in result.transactions]
    out["findings"] = [finding_json(f) for f in result.findings]
    out["srt"] = a.srt.table()
    return out


def report_json(results: list[FileResult], fail_on: str) -> dict[str, Any]:
    return {"version": VERSION, "fail_on": fail_on, "files": [file_json(r) for r in results]}


def render(results: list[FileResult], fail_on: str) -> Iterator[str]:
    """The report as written, in pieces: ``json.dumps(report, indent=1,
    ensure_ascii=False)`` and a newline, through the fast encoder. Written as it is made,
    a large report (mostly transactions) never exists as one string."""
    yield from iter_indented(report_json(results, fail_on), 1)
    yield "\n"
