"""The findings gate works out a rule's verdict once per rule id: the cached verdicts are
the configuration's own (globs, re-grades, actions), finding after finding."""

from __future__ import annotations

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.engine import Analysis
from cvipsniff.analysis.model import Finding
from cvipsniff.analysis.rules import CATALOGUE


def _config() -> AnalysisConfig:
    cfg = AnalysisConfig()
    cfg.disable = ["cvip.method.*", "udp.duplicate"]
    cfg.severity = {"cvip.header.*": "info", "tcp.gap": "error"}
    cfg.action["cvip.txn.*"] = "once"
    cfg.action["imageserver.field.*"] = "ignore"
    return cfg


def _finding(rule: str, flow: int) -> Finding:
    return Finding(rule=rule, severity="warning", message=rule, spec="", frames=[flow + 1],
                   flow=flow)


def test_cached_verdicts_are_the_configurations_own() -> None:
    cfg = _config()
    analysis = Analysis(cfg)
    rules = [*sorted(CATALOGUE), "dissector.added.rule"]
    for _ in range(2):  # the second round is served from the cache
        for flow in range(3):
            analysis._emit([_finding(rule, flow) for rule in rules])
    expected: list[tuple[str, str, int | None]] = []
    seen_once: set[str] = set()
    seen_flow: set[tuple[str, int]] = set()
    for _ in range(2):
        for flow in range(3):
            for rule in rules:
                if not cfg.enabled(rule):
                    continue
                severity = cfg.severity_of(rule, "warning")  # the finding's own unless re-graded
                action = cfg.action_of(rule)
                if action == "ignore":
                    continue
                if action == "once":
                    if rule in seen_once:
                        continue
                    seen_once.add(rule)
                elif action == "per_flow":
                    if (rule, flow) in seen_flow:
                        continue
                    seen_flow.add((rule, flow))
                expected.append((rule, severity, flow))
    got = [(f.rule, f.severity, f.flow) for f in analysis.findings]
    assert got == expected
    assert ("tcp.gap", "error", 0) in got
    assert not any(r.startswith("cvip.method.") for r, _, _ in got)
    assert sum(1 for r, _, _ in got if r == "cvip.txn.duplicate") == 1
