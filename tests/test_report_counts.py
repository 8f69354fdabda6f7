"""Counts mean violations: a repair note (how a malformed body was read) is part of the
finding it explains, so a malformed body is one finding in every count and format."""

from __future__ import annotations

import json

from lxml import etree

from cvipsniff.cli import main
from cvipsniff.model import Message
from cvipsniff.pipeline import PipelineConfig, iter_capture
from tests.cli_helpers import ROOT

DEMO = str(ROOT / "captures" / "demo.pcapng")


def _report(capsys, *args: str) -> str:
    main(["report", "--fail-on", "error", *args, DEMO])
    return capsys.readouterr().out


def test_a_malformed_body_is_one_finding_carrying_its_repairs(capsys) -> None:
    messages = [item for item in iter_capture(DEMO, PipelineConfig(keep_data=False))
                if isinstance(item, Message) and item.record.attrs.get("xml_repaired")]
    assert messages
    for msg in messages:
        malformed = [p for p in msg.record.problems if p.rule.startswith("cvip.xml.")]
        assert len(malformed) == 1, malformed
        assert malformed[0].severity == "error" and malformed[0].notes
        assert all(n.startswith("repair: ") for n in malformed[0].notes)
    data = json.loads(_report(capsys, "--format", "json"))["files"][0]
    found = [f for f in data["findings"] if f["rule"] == "cvip.xml.malformed"]
    assert [f["frames"] for f in found] == [list(m.frames) for m in messages]
    assert all(f["notes"] and f["severity"] == "error" for f in found)
    counts = data["summary"]["findings"]
    assert counts == {sev: sum(f["severity"] == sev for f in data["findings"])
                      for sev in ("error", "warning", "info")}


def test_text_markdown_and_junit_count_the_same_findings(capsys) -> None:
    data = json.loads(_report(capsys, "--format", "json"))["files"][0]
    counts = data["summary"]["findings"]
    malformed = sum(f["rule"] == "cvip.xml.malformed" for f in data["findings"])
    text = _report(capsys)
    assert (f"findings: {counts['error']} error, {counts['warning']} warning, "
            f"{counts['info']} info") in text
    assert f"cvip.xml.malformed ×{malformed} " in text
    assert "repair: " in text  # the notes are shown with their finding
    markdown = _report(capsys, "--format", "markdown")
    row = next(line for line in markdown.splitlines() if line.startswith("| `"))
    cells = [c.strip() for c in row.split("|")]
    assert cells[4:7] == [str(counts["error"]), str(counts["warning"]), str(counts["info"])]
    main(["report", "--format", "junit", DEMO])
    root = etree.fromstring(capsys.readouterr().out.encode())
    case = root.find(".//testcase[@name='cvip.xml.malformed']")
    failure = case.find("failure")
    assert failure.get("message").startswith(f"{malformed} finding(s): ")
    assert len(failure.text.splitlines()) == malformed
