"""The Markdown report, fit for a CI job summary (e.g. GitHub's $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from collections import defaultdict

from cvipsniff.analysis.model import Finding
from cvipsniff.analysis.rules import rule_for
from cvipsniff.report import FileResult, failing

_ICON = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(results: list[FileResult], fail_on: str) -> str:
    out = ["# cvipsniff conformance report", "",
           f"Fail threshold: `{fail_on}`", "",
           *(f"Display filter: `{_cell(f)}` (figures and findings of the messages it "
             "selects)\n" for f in sorted({r.narrowed.filter for r in results
                                            if r.narrowed is not None})),
           "| Capture | Messages | Transactions | Errors | Warnings | Info | Result |",
           "|---|---:|---|---:|---:|---:|---|"]
    for r in results:
        if r.error is not None or r.analysis is None:
            out.append(f"| `{_cell(r.path)}` | – | – | – | – | – | unreadable: {_cell(r.error)} |")
            continue
        summary = r.summary()
        counts = summary["findings"]
        states = ", ".join(f"{k} {v}" for k, v in summary["transactions"].items())
        verdict = "**FAIL**" if failing(r.findings, fail_on) else "pass"
        out.append(f"| `{_cell(r.path)}` | {r.message_count} | {_cell(states)} | "
                   f"{counts['error']} | {counts['warning']} | {counts['info']} | {verdict} |")
    for r in results:
        if not r.findings:
            continue
        out += ["", f"## `{_cell(r.path)}`", "",
                "| | Rule | Count | Spec | Frames | Example |", "|---|---|---:|---|---|---|"]
        groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
        for f in r.findings:  # by rule and grade: each finding shown with its own severity
            groups[(f.rule, f.severity)].append(f)
        for (rule_id, severity), group in sorted(groups.items()):
            rule = rule_for(rule_id, severity, group[0].spec)
            frames = sorted({n for f in group for n in f.frames})
            shown = ", ".join(map(str, frames[:10])) + (" …" if len(frames) > 10 else "")
            out.append(f"| {_ICON.get(severity, '')} | `{rule_id}` | {len(group)} | "
                       f"{_cell(group[0].spec or rule.spec)} | {shown} | "
                       f"{_cell(group[0].message)} |")
    return "\n".join(out) + "\n"
