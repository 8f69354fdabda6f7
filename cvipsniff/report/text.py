"""The text report, for people: a summary per capture, findings grouped by rule (with
their frames, so they can be opened in Wireshark), and the service response time table."""

from __future__ import annotations

from collections import defaultdict

from cvipsniff.analysis.model import Finding
from cvipsniff.analysis.rules import rule_for
from cvipsniff.report import FileResult, failing

_MAX_FRAMES_LISTED = 12
_MAX_MESSAGES_LISTED = 3


def _frames_text(findings: list[Finding]) -> str:
    frames = sorted({n for f in findings for n in f.frames})
    shown = ", ".join(str(n) for n in frames[:_MAX_FRAMES_LISTED])
    more = len(frames) - _MAX_FRAMES_LISTED
    return shown + (f" … (+{more} more)" if more > 0 else "")


def render_file(result: FileResult, fail_on: str, *, quiet: bool = False) -> list[str]:
    """One capture's part. ``quiet``: the summary and the rules that fail the gate only
    (no passing rules, no response-time table), for a CI log."""
    lines = [f"== {result.path}"]
    if result.error is not None or result.analysis is None:
        lines.append(f"   error: {result.error}")
        return lines
    s = result.summary()
    msgs = s["messages"]
    if result.narrowed is not None:
        lines.append(f"   display filter: {result.narrowed.filter} (every figure below is of "
                     "the messages it selects)")
    lines.append(
        f"   {result.message_count} messages (CVIP {msgs['cvip']}, CVIP-Ping "
        f"{msgs['cvip-ping']}, ImageServer {msgs['imageserver']}) in {s['flows']} flows "
        f"over {s['duration_s']:.3f} s"
    )
    states = ", ".join(f"{k} {v}" for k, v in s["transactions"].items()) or "none"
    lines.append(f"   transactions: {states}")
    counts = s["findings"]
    bad = failing(result.findings, fail_on)
    verdict = "FAIL" if bad else "ok"
    lines.append(
        f"   findings: {counts['error']} error, {counts['warning']} warning, "
        f"{counts['info']} info" + (f"; {result.excused} excused by the baseline"
                                    if result.excused else "") + f"  [{verdict}]"
    )
    # Grouped by severity and rule: a rule may be an error in one message and a warning in
    # another, and each finding is shown with the grade it has.
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in bad if quiet else result.findings:
        groups[(f.severity, f.rule)].append(f)
    order = {"error": 0, "warning": 1, "info": 2}
    for severity, rule_id in sorted(groups, key=lambda k: (order.get(k[0], 3), k[1])):
        group = groups[(severity, rule_id)]
        rule = rule_for(rule_id, severity, group[0].spec)
        lines.append(f"   [{severity:7}] {rule_id} ×{len(group)} — {rule.description}")
        lines.append(f"             spec: {group[0].spec or rule.spec}")
        lines.append(f"             frames: {_frames_text(group)}")
        for f in group[:_MAX_MESSAGES_LISTED]:
            lines.append(f"             · {f.message}")
            lines.extend(f"               {note}" for note in f.notes[:_MAX_MESSAGES_LISTED])
            if len(f.notes) > _MAX_MESSAGES_LISTED:
                lines.append(f"               … {len(f.notes) - _MAX_MESSAGES_LISTED} more notes")
        if len(group) > _MAX_MESSAGES_LISTED:
            lines.append(f"             · … {len(group) - _MAX_MESSAGES_LISTED} more")
    if quiet:
        return lines
    for rule_id, n in s["suppressed"].items():
        lines.append(f"   (suppressed {n} repeated {rule_id})")
    table = result.srt_table()
    if table:
        lines.append("   service response times (ms):")
        lines.append(f"     {'protocol':12} {'method':40} {'count':>6} {'min':>9} {'mean':>9} "
                     f"{'p95':>9} {'max':>9}")
        for row in table:
            lines.append(
                f"     {row['protocol']:12} {str(row['method'])[:40]:40} {row['count']:>6} "
                f"{row['min_ms']:>9.3f} {row['mean_ms']:>9.3f} {row['p95_ms']:>9.3f} "
                f"{row['max_ms']:>9.3f}"
            )
    return lines


def render(results: list[FileResult], fail_on: str, *, quiet: bool = False) -> str:
    lines: list[str] = []
    for result in results:
        lines.extend(render_file(result, fail_on, quiet=quiet))
        lines.append("")
    failed = sum(1 for r in results if r.error is None and failing(r.findings, fail_on))
    errors = sum(1 for r in results if r.error is not None)
    lines.append(
        f"{len(results)} capture(s): {failed} failing at --fail-on {fail_on}"
        + (f", {errors} unreadable" if errors else "")
    )
    return "\n".join(lines) + "\n"
