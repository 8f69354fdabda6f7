"""The terminal sink of ``cvipsniff sniff``: the lines and records printed while a capture
runs are those ``cvipsniff read`` prints for the same frames, with findings in between."""

from __future__ import annotations

import io
import json

from cvipsniff.analysis.model import Finding
from cvipsniff.commands.filtering import compile_user_filter
from cvipsniff.live import CaptureStats, LiveSession
from cvipsniff.live.printer import LivePrinter, capture_line, finding_line
from cvipsniff.pipeline import PipelineConfig
from tests.cli_helpers import run_cli
from tests.conftest import CAPTURES
from tests.test_live_session import ScriptedSource, _frames

REAL = CAPTURES / "loopback-real.pcapng"
PAIRING = CAPTURES / "violations" / "cvip-violations-pairing.pcapng"


def _replay(path, output_format: str, flt: str | None = None, quiet: bool = False,
            verbose: bool = False) -> tuple[list[str], LivePrinter]:
    source = ScriptedSource(_frames(path), end_when_empty=True)
    out = io.StringIO()
    session: LiveSession
    printer = LivePrinter(out, output_format, lambda: session.analysis,
                          compile_user_filter(flt) if flt else None, verbose=verbose,
                          quiet=quiet, start=lambda: session.pipeline.first_ts_ns)
    session = LiveSession("test0", "", source, on_output=printer, tick_s=60.0,
                          pipeline_config=PipelineConfig(keep_data=False),
                          clock=lambda: source.last_ts)
    session.run()
    return out.getvalue().splitlines(), printer


def test_text_lines_are_reads_lines_with_findings_between() -> None:
    lines, _ = _replay(PAIRING, "text")
    read = run_cli("read", "-r", str(PAIRING))
    assert read.code == 0, read.stderr
    assert [ln for ln in lines if not ln.startswith("[")] == read.stdout.splitlines()
    findings = [ln for ln in lines if ln.startswith("[")]
    report = json.loads(run_cli("report", str(PAIRING), "--format", "json").stdout)
    assert len(findings) == len(report["files"][0]["findings"]) >= 3
    assert any("[request in " in ln for ln in lines)  # a response names its request


def test_jsonl_records_are_reads_records_plus_findings() -> None:
    lines, _ = _replay(REAL, "jsonl")
    records = [json.loads(ln) for ln in lines]
    read = run_cli("read", "-r", str(REAL), "-T", "jsonl")
    assert [r for r in records if r["type"] in ("message", "note")] == \
        [json.loads(ln) for ln in read.stdout.splitlines()]
    findings = [r for r in records if r["type"] == "finding"]
    assert findings and set(findings[0]) == {"type", "rule", "severity", "message", "spec",
                                             "frames", "transaction", "flow", "protocol",
                                             "notes"}


def test_a_display_filter_shows_matching_messages_and_their_findings_only() -> None:
    lines, printer = _replay(PAIRING, "jsonl", flt="cvip.txn == 323")
    records = [json.loads(ln) for ln in lines]
    read = run_cli("read", "-r", str(PAIRING), "-T", "jsonl", "-Y", "cvip.txn == 323")
    messages = [r for r in records if r["type"] == "message"]
    assert messages == [json.loads(ln) for ln in read.stdout.splitlines()]
    assert messages and printer.selected == {m["message"] for m in messages}
    assert not [r for r in records if r["type"] == "note"]
    findings = [r for r in records if r["type"] == "finding"]
    assert findings  # txn 323 is reused while outstanding: a duplicate
    assert {f["rule"] for f in findings} == {"cvip.txn.duplicate"}


def test_verbose_prints_trees_and_quiet_prints_nothing() -> None:
    verbose, _ = _replay(PAIRING, "text", verbose=True)
    assert sum(ln.startswith("Message ") for ln in verbose) >= 5
    quiet, _ = _replay(PAIRING, "text", quiet=True)
    assert quiet == []


def test_finding_and_capture_lines() -> None:
    one = Finding(rule="cvip.txn.unanswered", severity="warning", spec="",
                  message="x request id=1 was never answered", frames=[14])
    assert finding_line(one) == "[warning] cvip.txn.unanswered (frame 14): " \
        "x request id=1 was never answered"
    many = Finding(rule="r", severity="error", spec="", message="m", frames=list(range(1, 11)))
    assert finding_line(many) == "[error] r (frames 1, 2, 3, 4, 5, 6, 7, 8, … (+2)): m"
    assert finding_line(Finding(rule="r", severity="info", spec="", message="m",
                                frames=[])) == "[info] r (capture): m"
    stats = CaptureStats("lo", "dumpcap", "", packets=10, bytes=999, elapsed_s=2.25,
                         dropped=0, drops_final=False)
    assert capture_line(stats) == "capture on 'lo' (dumpcap): 10 packets, 999 bytes in " \
        "2.2 s; drops unknown"
    final = CaptureStats("eth0", "dumpcap", "", packets=5, dropped=2, interface_dropped=1)
    assert capture_line(final).endswith("; 2 dropped, 1 dropped by the interface")
