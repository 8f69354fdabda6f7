"""``cvipsniff report`` end to end on the bundled captures: the JSON contract (schema),
JUnit loadable by a real JUnit parser, Markdown, exit statuses, config and baselines."""

from __future__ import annotations

import json

import jsonschema
import pytest
from junitparser import JUnitXml

from cvipsniff.analysis.rules import CATALOGUE
from tests.cli_helpers import ROOT, run_cli

DEMO = ROOT / "captures" / "demo.pcapng"
CLEAN = ROOT / "captures" / "scenarios" / "imageserver-browse.pcapng"

_FRAMES = {"type": "array", "items": {"type": "integer", "minimum": 1}}
_REF = {"anyOf": [{"type": "null"}, {"type": "object", "required": ["frames"],
                                     "properties": {"frames": _FRAMES}}]}
REPORT_SCHEMA = {
    "type": "object",
    "required": ["version", "files"],
    "properties": {
        "version": {"const": 1},
        "files": {"type": "array", "items": {
            "type": "object",
            "required": ["path", "summary", "transactions", "findings"],
            "properties": {
                "path": {"type": "string"},
                "summary": {"type": "object", "required": ["messages", "transactions"],
                            "properties": {"messages": {
                                "type": "object",
                                "required": ["cvip", "cvip-ping", "imageserver"],
                                "additionalProperties": {"type": "integer"}},
                                "transactions": {"type": "object",
                                                 "additionalProperties": {"type": "integer"}}}},
                "transactions": {"type": "array", "items": {
                    "type": "object",
                    "required": ["protocol", "id", "method", "state", "latency_ms",
                                 "request", "response"],
                    "properties": {
                        "protocol": {"enum": ["cvip", "cvip-ping", "imageserver"]},
                        "state": {"enum": ["answered", "unanswered", "orphan", "duplicate",
                                           "event", "oneway", "answer_lost",
                                           "request_before_capture"]},
                        "latency_ms": {"type": ["number", "null"]},
                        "request": _REF, "response": _REF}}},
                "findings": {"type": "array", "items": {
                    "type": "object",
                    "required": ["rule", "severity", "message", "spec", "frames", "transaction"],
                    "properties": {
                        "rule": {"type": "string"},
                        "severity": {"enum": ["error", "warning", "info"]},
                        "message": {"type": "string"},
                        "spec": {"type": "string"},
                        "frames": _FRAMES,
                        "transaction": {"type": ["integer", "null"]}}}},
            }}},
    },
}


def _report(*args: str, cwd=None):
    return run_cli("report", *args, cwd=cwd)


def test_json_report_follows_the_documented_contract() -> None:
    result = _report("--format", "json", str(DEMO))
    assert result.code == 1, result.stderr  # the demo carries deliberate errors
    data = json.loads(result.stdout)
    jsonschema.validate(data, REPORT_SCHEMA)
    (file,) = data["files"]
    assert sum(file["summary"]["messages"].values()) > 100
    assert file["findings"] and file["transactions"]
    numbers = {t["number"] for t in file["transactions"]}
    assert all(f["transaction"] in numbers for f in file["findings"] if f["transaction"])


def test_junit_report_loads_in_a_junit_parser_with_a_case_per_rule() -> None:
    result = _report("--format", "junit", str(DEMO), str(CLEAN))
    assert result.code == 1
    xml = JUnitXml.fromstring(result.stdout.encode("utf-8"))
    suites = list(xml)
    assert [s.name for s in suites] == [str(DEMO), str(CLEAN)]
    demo_cases = {case.name: case for case in suites[0]}
    assert set(CATALOGUE) <= set(demo_cases)
    failed = {name for name, case in demo_cases.items() if not case.is_passed}
    assert failed, "the demo's deliberate errors fail their rules"
    assert suites[0].failures == len(failed)


def test_markdown_report_is_a_job_summary() -> None:
    result = _report("--format", "markdown", "--fail-on", "never", str(DEMO))
    assert result.code == 0
    assert result.stdout.startswith("# cvipsniff conformance report")
    assert "| Capture | Messages |" in result.stdout
    assert "`cvip." in result.stdout


def test_report_over_a_directory_lists_every_capture(tmp_path) -> None:
    out = tmp_path / "report.txt"
    result = _report(str(ROOT / "captures" / "scenarios"), "-o", str(out))
    assert result.code in (0, 1), result.stderr
    text = out.read_text()
    for capture in (ROOT / "captures" / "scenarios").glob("*.pcapng"):
        assert f"== {capture}" in text


def test_fail_on_threshold_sets_the_exit_status() -> None:
    assert _report("--fail-on", "never", str(DEMO)).code == 0
    assert _report("--fail-on", "error", str(DEMO)).code == 1


def test_baseline_excuses_accepted_findings(tmp_path) -> None:
    baseline = tmp_path / "baseline.json"
    first = _report("--write-baseline", str(baseline), "--format", "json", str(DEMO))
    assert first.code == 0  # written: the baseline is what was asked for
    accepted = json.loads(baseline.read_text())["findings"]
    assert accepted
    second = _report("--baseline", str(baseline), "--format", "json", str(DEMO))
    assert second.code == 0, second.stdout[-500:]
    summary = json.loads(second.stdout)["files"][0]["summary"]
    assert summary["baseline_excused"] == len(accepted)


def test_config_disables_rules_and_regrades_severities(tmp_path) -> None:
    data = json.loads(_report("--format", "json", str(DEMO)).stdout)
    rules = {f["rule"] for f in data["files"][0]["findings"] if f["severity"] == "error"}
    (tmp_path / "cvipsniff.toml").write_text(
        "[rules]\ndisable = [\"cvip.xml.*\"]\n[rules.severity]\n"
        + "".join(f'"{r}" = "warning"\n' for r in sorted(rules) if not r.startswith("cvip.xml."))
        + "[report]\nfail_on = \"error\"\n")
    result = _report("--format", "json", str(DEMO), cwd=tmp_path)
    assert result.code == 0, result.stdout[-800:]
    findings = json.loads(result.stdout)["files"][0]["findings"]
    assert not any(f["rule"].startswith("cvip.xml.") for f in findings)
    assert not any(f["severity"] == "error" for f in findings)


def test_rule_selection_from_the_command_line() -> None:
    result = _report("--format", "json", "--rule", "cvip.txn.*", str(DEMO))
    rules = {f["rule"] for f in json.loads(result.stdout)["files"][0]["findings"]}
    assert rules and all(r.startswith("cvip.txn.") for r in rules)


def test_display_filter_narrows_the_report() -> None:
    everything = json.loads(_report("--format", "json", str(DEMO)).stdout)["files"][0]
    narrowed = json.loads(_report("--format", "json", "-Y", "imageserver",
                                  str(DEMO)).stdout)["files"][0]
    assert narrowed["transactions"]
    assert {t["protocol"] for t in narrowed["transactions"]} == {"imageserver"}
    assert len(narrowed["transactions"]) < len(everything["transactions"])
    assert all(f["protocol"] == "imageserver" for f in narrowed["findings"])


def test_bad_display_filter_is_a_usage_error() -> None:
    result = _report("-Y", "cvip.method ==", str(DEMO))
    assert result.code == 2
    assert result.stderr.startswith("cvipsniff: bad display filter:")


def test_no_arguments_runs_the_demo_report() -> None:
    result = run_cli()
    assert result.code == 0, result.stderr
    assert f"== {DEMO}" in result.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "markdown"])
def test_every_format_writes_to_a_file(fmt: str, tmp_path) -> None:
    out = tmp_path / f"r.{fmt}"
    result = _report("--format", fmt, "--fail-on", "never", "-o", str(out), str(CLEAN))
    assert result.code == 0 and result.stdout == ""
    assert out.stat().st_size > 100
