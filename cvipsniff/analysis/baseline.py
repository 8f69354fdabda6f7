"""Baselines: findings a team has accepted, so CI fails only on new ones.

A finding is identified by the capture's file name, the rule and the frames it concerns;
that is stable for a committed regression capture and readable in a diff. Matching is a
multiset: two identical accepted findings excuse two occurrences, not more.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from cvipsniff.analysis.model import Finding
from cvipsniff.errors import UsageError

Key = tuple[str, str, tuple[int, ...]]
TOOL = "cvipsniff"  # written into every baseline, checked on reading


def finding_key(path: str, finding: Finding) -> Key:
    return (Path(path).name, finding.rule, tuple(finding.frames))


class Baseline:
    def __init__(self, keys: Counter[Key] | None = None) -> None:
        self.keys: Counter[Key] = keys or Counter()

    @classmethod
    def load(cls, path: str) -> Baseline:
        """A baseline this tool wrote; anything else (another tool's baseline, a report) is
        a UsageError, so a CI job never runs against a file that excuses nothing."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"baseline {path!r} not found") from None
        except (OSError, ValueError) as exc:
            raise UsageError(f"baseline {path!r} is not a cvipsniff baseline: {exc}") from None
        tool = data.get("tool", TOOL) if isinstance(data, dict) else None
        if tool != TOOL or not isinstance(data.get("findings"), list):
            what = f"written by {tool!r}" if isinstance(tool, str) and tool != TOOL \
                else "not one (no 'findings' list)"
            raise UsageError(f"baseline {path!r} is not a cvipsniff baseline: {what} "
                             "(write one with cvipsniff report --write-baseline FILE)")
        try:
            keys: Counter[Key] = Counter(
                (str(e["file"]), str(e["rule"]), tuple(int(n) for n in e["frames"]))
                for e in data["findings"]
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"baseline {path!r} is not a cvipsniff baseline: entry without "
                             f"{exc}") from None
        return cls(keys)

    def filter_new(self, path: str, findings: list[Finding]) -> tuple[list[Finding], int]:
        """The findings not excused by the baseline, and how many were excused."""
        budget = Counter(self.keys)
        new: list[Finding] = []
        excused = 0
        for f in findings:
            key = finding_key(path, f)
            if budget[key] > 0:
                budget[key] -= 1
                excused += 1
            else:
                new.append(f)
        return new, excused


def write_baseline(out_path: str, results: list[tuple[str, list[Finding]]]) -> int:
    entries = [
        {"file": Path(path).name, "rule": f.rule, "frames": f.frames, "message": f.message}
        for path, findings in results
        for f in findings
    ]
    text = json.dumps({"tool": TOOL, "version": 1, "findings": entries}, indent=1)
    Path(out_path).write_text(text + "\n", encoding="utf-8")
    return len(entries)
