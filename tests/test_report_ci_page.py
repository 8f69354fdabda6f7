"""Reports a CI page shows well: -Y narrows the summary and the response-time table too
(and says so), JUnit class names are ``capture-name.rule-group`` with ``time`` on suites
and cases, Markdown keeps relative paths relative, and ``--quiet`` text is the summary
and the failing rules only."""

from __future__ import annotations

import json

from junitparser import JUnitXml
from lxml import etree

from cvipsniff.cli import main
from tests.cli_helpers import ROOT

DEMO = str(ROOT / "captures" / "demo.pcapng")
FILTER = 'cvip.method == "cviStream.list"'


def _json(capsys, *args: str) -> dict:
    main(["report", "--format", "json", "--fail-on", "never", *args])
    return json.loads(capsys.readouterr().out)["files"][0]


def test_a_display_filter_narrows_summary_and_response_times(capsys) -> None:
    whole = _json(capsys, DEMO)
    narrowed = _json(capsys, "-Y", FILTER, DEMO)
    assert narrowed["display_filter"] == FILTER and "display_filter" not in whole
    main(["read", "-r", DEMO, "-Y", FILTER, "-T", "jsonl"])
    shown = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = narrowed["summary"]
    assert summary["messages"]["cvip"] == len(shown) > 0
    assert sum(summary["messages"].values()) == len(shown)
    assert summary["flows"] == len({m["flow"] for m in shown})
    assert sum(summary["transactions"].values()) == len(narrowed["transactions"])
    assert sum(summary["findings"].values()) == len(narrowed["findings"])
    assert {(r["protocol"], r["method"]) for r in narrowed["srt"]} == \
        {("cvip", "cviStream.list")}
    assert len(whole["srt"]) > 1
    assert summary["messages"] != whole["summary"]["messages"]


def test_text_and_markdown_say_the_figures_are_the_selection(capsys) -> None:
    main(["report", "-Y", FILTER, DEMO])
    text = capsys.readouterr().out
    assert f"display filter: {FILTER} (every figure below is of the messages it selects)" \
        in text
    assert "cviStream.list" in text and "cviDisplay.describe" not in text
    main(["report", "--format", "markdown", "-Y", FILTER, DEMO])
    assert f"Display filter: `{FILTER}`" in capsys.readouterr().out


def test_junit_class_names_and_times(capsys) -> None:
    path = ROOT / "captures" / "violations" / "cvip-violations-fields.pcapng"
    main(["report", "--format", "junit", str(path), DEMO])
    out = capsys.readouterr().out.encode()
    root = etree.fromstring(out)
    assert float(root.get("time")) > 0
    for suite, prefix in zip(root.findall("testsuite"), ("cvip-violations-fields", "demo"),
                             strict=True):
        assert float(suite.get("time")) > 0
        cases = suite.findall("testcase")
        assert cases
        for case in cases:
            group = case.get("classname")
            assert group.startswith(prefix + "."), group
            assert "/" not in group and "pcapng" not in group
            float(case.get("time"))
    classes = {c.get("classname") for c in root.iter("testcase")}
    assert "demo.cvip.header" in classes
    parsed = JUnitXml.fromstring(out)
    assert all(suite.time is not None for suite in parsed)


def test_markdown_keeps_a_relative_input_relative(capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    main(["report", "--format", "markdown", "captures/violations"])
    out = capsys.readouterr().out
    assert "| `captures/violations/cvip-violations-fields.pcapng` |" in out
    assert str(ROOT) not in out


def test_quiet_text_is_summary_and_failing_rules(capsys) -> None:
    main(["report", DEMO])
    full = capsys.readouterr().out
    assert main(["report", "--quiet", DEMO]) == 1
    quiet = capsys.readouterr().out
    assert "service response times" in full and "service response times" not in quiet
    assert "[warning]" in full and "[warning]" not in quiet  # below --fail-on error
    assert "[error  ] cvip.header.version" in quiet
    assert "findings: " in quiet and quiet.rstrip().endswith("failing at --fail-on error")
    assert len(quiet.splitlines()) < len(full.splitlines())
