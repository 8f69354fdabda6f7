"""One severity per finding: over every bundled capture, each finding of ``report`` has the
grade ``read`` shows for the same rule, message and frames (the dissector's or rule's own
decision, never the catalogue's typical grade); ``[rules.severity]`` re-grades only the
rules it names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cvipsniff.analysis.rules import CATALOGUE
from cvipsniff.cli import main
from tests.cli_helpers import ROOT

CAPTURES = sorted(p for p in (ROOT / "captures").rglob("*")
                  if p.name.endswith((".pcap", ".pcapng", ".pcap.gz")))
# Decided across messages by the pairer: read prints one message at a time, so it has no
# line for them; their severity comes from pairing.py alone.
PAIRING_RULES = {rid for rid in CATALOGUE if ".txn." in rid} | {"cvip.ping.unanswered"}
MERGED = re.compile(r" \(×\d+\)$")
UNLISTED = re.compile(r"^\d+ more \S+ finding\(s\) (in this message )?not listed")


def _read(path: Path, capsys) -> dict[tuple[str, str, tuple[int, ...]], set[str]]:
    assert main(["read", "-r", str(path), "-T", "jsonl"]) == 0
    shown: dict[tuple[str, str, tuple[int, ...]], set[str]] = {}
    for line in capsys.readouterr().out.splitlines():
        item = json.loads(line)
        if item["type"] == "message":
            for p in item["problems"]:
                key = (p["rule"], p["message"], tuple(item["frames"]))
                shown.setdefault(key, set()).add(p["severity"])
        else:
            frames = (item["frame"],) if item["frame"] else ()
            shown.setdefault((item["kind"], item["message"], frames), set()).add(
                item["severity"])
    return shown


def _report(path: Path, capsys, *extra: str) -> list[dict]:
    assert main(["report", "--format", "json", "--fail-on", "never", *extra, str(path)]) == 0
    return json.loads(capsys.readouterr().out)["files"][0]["findings"]


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_report_and_read_agree_on_every_finding(path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(path.parent)  # no cvipsniff.toml of the checkout's own
    shown = _read(path, capsys)
    findings = _report(path, capsys)
    for f in findings:
        if f["rule"] in PAIRING_RULES:  # one grade per pairing rule: the catalogue's
            assert f["severity"] == CATALOGUE[f["rule"]].severity, f
            continue
        if UNLISTED.search(f["message"]):  # "N more ... not listed": graded as the first
            assert any(k[0] == f["rule"] and f["severity"] in v for k, v in shown.items())
            continue
        # identical problems of one message are one finding with a count
        key = (f["rule"], MERGED.sub("", f["message"]), tuple(f["frames"]))
        assert key in shown, f"report finding not shown by read: {key}"
        assert shown[key] == {f["severity"]}, (key, shown[key], f["severity"])


def test_severity_table_regrades_only_the_rules_it_names(tmp_path, capsys,
                                                         monkeypatch) -> None:
    path = ROOT / "captures" / "violations" / "cvip-violations-fields.pcapng"
    monkeypatch.chdir(tmp_path)
    before = _report(path, capsys)
    grades = {(f["rule"], f["severity"]) for f in before}
    # the dissector grades cvip.field.missing per occurrence (catalogue default: error)
    assert ("cvip.field.missing", "warning") in grades, grades
    (tmp_path / "cvipsniff.toml").write_text('[rules.severity]\n"cvip.field.enum" = "info"\n')
    after = _report(path, capsys)
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        expected = "info" if old["rule"] == "cvip.field.enum" else old["severity"]
        assert new["severity"] == expected, (old, new)
    assert any(f["rule"] == "cvip.field.enum" for f in after)
