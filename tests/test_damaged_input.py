"""Truncated or damaged input is visible: ``read`` prints one warning line on stderr (as
tshark does) and ``report`` shows it as a finding; ``--write-baseline`` exits 0 once it
wrote; ``report -`` reads a capture from standard input."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from tests.cli_helpers import ROOT, assert_clean_error, run_cli

CAPTURE = ROOT / "captures" / "scenarios" / "cvip-discovery.pcapng"
PCAP = ROOT / "captures" / "impairments" / "sll.pcap"
DEMO = ROOT / "captures" / "demo.pcapng"


def _cut(tmp_path: Path) -> Path:
    data = CAPTURE.read_bytes()
    path = tmp_path / "cut.pcapng"
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def _corrupt(tmp_path: Path) -> Path:
    """The classic pcap with one record header claiming an absurd length mid-file."""
    data = bytearray(PCAP.read_bytes())
    offset = 24  # first record header
    caplen = struct.unpack_from("<I", data, offset + 8)[0]
    second = offset + 16 + caplen
    struct.pack_into("<II", data, second + 8, 0x7FFFFFF0, 0x7FFFFFF0)
    path = tmp_path / "corrupt.pcap"
    path.write_bytes(bytes(data))
    return path


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_read_warns_once_on_stderr_for_a_capture_cut_short(tmp_path) -> None:
    path = _cut(tmp_path)
    result = run_cli("read", "-r", str(path))
    assert result.code == 0 and result.stdout
    assert _warnings(result.stderr) == [
        f"cvipsniff: warning: the capture {str(path)!r} appears to have been cut short in "
        "the middle of a packet"]
    intact = run_cli("read", "-r", str(CAPTURE))
    assert intact.code == 0 and intact.stderr == ""


def test_read_warns_for_a_corrupt_capture_and_report_shows_it(tmp_path) -> None:
    path = _corrupt(tmp_path)
    result = run_cli("read", "-r", str(path), "-T", "jsonl")
    lines = _warnings(result.stderr)
    assert len(lines) == 1 and "appears to be damaged or corrupt" in lines[0], result.stderr
    report = run_cli("report", "--format", "json", str(path))
    rules = {f["rule"] for f in json.loads(report.stdout)["files"][0]["findings"]}
    assert "capture.corrupt_block" in rules


def test_report_shows_a_cut_capture_as_a_finding(tmp_path) -> None:
    path = _cut(tmp_path)
    report = run_cli("report", "--format", "json", "--fail-on", "never", str(path))
    assert report.code == 0
    findings = json.loads(report.stdout)["files"][0]["findings"]
    assert "capture.truncated_record" in {f["rule"] for f in findings}


def test_write_baseline_exits_0_once_written(tmp_path) -> None:
    baseline = tmp_path / "baseline.json"
    result = run_cli("report", "--write-baseline", str(baseline), str(DEMO))
    assert result.code == 0, result.stderr
    written = json.loads(baseline.read_text())
    assert written["tool"] == "cvipsniff" and written["findings"]
    assert any(f["rule"] == "cvip.header.version" for f in written["findings"])
    # the same run without it fails the default gate: the exit 0 is the baseline's
    assert run_cli("report", str(DEMO)).code == 1
    again = run_cli("report", "--baseline", str(baseline), str(DEMO))
    assert again.code == 0


def test_report_reads_a_capture_from_standard_input() -> None:
    from_file = run_cli("report", "--format", "json", str(DEMO))
    from_stdin = run_cli("report", "--format", "json", "-", stdin=DEMO.read_bytes())
    assert from_stdin.code == from_file.code == 1, from_stdin.stderr
    file_report = json.loads(from_file.stdout)["files"][0]
    stdin_report = json.loads(from_stdin.stdout)["files"][0]
    assert stdin_report["path"] == "-"
    assert stdin_report["findings"] == file_report["findings"]
    assert stdin_report["summary"] == file_report["summary"]


def test_standard_input_goes_alone_and_without_a_display_filter() -> None:
    assert_clean_error(run_cli("report", "-", str(DEMO), stdin=b""), "give it alone")
    assert_clean_error(run_cli("report", "-Y", "cvip", "-", stdin=DEMO.read_bytes()),
                       "standard input")
    assert_clean_error(run_cli("report", "-", stdin=b"not a capture"), "standard input")
