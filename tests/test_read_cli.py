"""``cvipsniff read`` end to end on the demo capture: summary lines, trees, JSON records,
display filters and time formats."""

from __future__ import annotations

import json

from tests.cli_helpers import ROOT, run_cli

DEMO = str(ROOT / "captures" / "demo.pcapng")
TRUTH = json.loads((ROOT / "captures" / "demo.truth.json").read_text())


def test_one_summary_line_per_message_with_the_request_link() -> None:
    result = run_cli("read", "-r", DEMO)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == sum(1 for m in TRUTH["messages"] if not m.get("lost"))
    describe = next(line for line in lines if "system.describe response" in line)
    request_frame = int(describe.rsplit("[request in ", 1)[1].rstrip("]"))
    assert any(line.split()[0] == str(request_frame) and "system.describe request" in line
               for line in lines)


def test_jsonl_records_follow_the_documented_shape() -> None:
    result = run_cli("read", "-r", DEMO, "-T", "jsonl")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    messages = [r for r in records if r["type"] == "message"]
    assert messages
    first = messages[0]
    for key in ("message", "frames", "frame", "time", "flow", "direction", "transport", "src",
                "dst", "offset", "length", "protocol", "kind", "info", "txn", "is_response",
                "method", "attrs", "fields", "problems"):
        assert key in first
    assert all(r["frame"] == max(r["frames"]) for r in messages)
    field = first["fields"][0]
    assert {"key", "label", "value"} <= set(field)


def test_verbose_tree_and_filter() -> None:
    result = run_cli("read", "-r", DEMO, "-V", "-Y", "imageserver.kind == \"imageresponse\"")
    assert result.code == 0, result.stderr
    assert "ImageServer imageresponse" in result.stdout
    assert "width: 160" in result.stdout  # from the JPEG SOF marker
    assert "CVIP Header 2.0" not in result.stdout


def test_filter_on_pairing_fields_takes_two_passes() -> None:
    result = run_cli("read", "-r", DEMO, "-Y", "txn.state == \"orphan\"")
    assert result.code == 0, result.stderr
    orphans = [t for t in TRUTH["transactions"] if t.get("orphan")]
    assert len(result.stdout.splitlines()) == len(orphans)


def test_time_formats() -> None:
    relative = run_cli("read", "-r", DEMO, "-t", "r").stdout.splitlines()[0].split()[1]
    absolute = run_cli("read", "-r", DEMO, "-t", "ud").stdout.splitlines()[0].split()
    time_only = run_cli("read", "-r", DEMO, "-t", "u").stdout.splitlines()[0].split()
    assert relative == "0.000000"
    assert absolute[1].startswith("2024-05-01") and absolute[2].startswith("12:00:")
    assert time_only[1] == absolute[2]  # tshark: u is the time of day, ud adds the date
