"""``cvipsniff diff``: a run against itself is clean; against a changed run it lists
exactly the changes (a changed value, a transaction gone, a slower answer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cvipsniff.sim.cvip.inprocess import Recorder
from cvipsniff.sim.cvip.scenarios import run_in_process
from cvipsniff.sim.synth import write_capture
from tests.cli_helpers import assert_clean_error, run_cli


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The configure scenario as captured, and a changed run of it: one DNS server
    address different in the first listProperties answer, the last exchange missing."""
    root = tmp_path_factory.mktemp("runs")
    recorder = Recorder("configure", "the device configure scenario", 1)
    assert run_in_process(recorder, "configure", "device", 1, custom_functions=False).ok
    scenario = recorder.finish()
    write_capture(scenario, root / "a.pcapng", truth=False)
    messages = scenario.conversations[0].messages
    answer = messages[3]
    assert answer.truth.method == "cviNetwork.listProperties" and answer.direction == 1
    assert answer.data.count(b"192.0.2.53") == 1
    answer.data = answer.data.replace(b"192.0.2.53", b"192.0.2.54")
    assert messages[-2].truth.method == "cviVideo.01.1.setProperties"
    del messages[-2:]
    write_capture(scenario, root / "b.pcapng", truth=False)
    return root / "a.pcapng", root / "b.pcapng"


def test_a_run_against_itself_is_clean(runs: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = runs
    same = run_cli("diff", str(a), str(a))
    assert same.code == 0, same.stdout
    assert "no differences" in same.stdout
    exported = run_cli("fixtures", "export", str(a), "-o", str(tmp_path))
    assert exported.code == 0
    against_set = run_cli("diff", str(a), str(tmp_path / "a"), "--format", "json")
    assert against_set.code == 0
    assert json.loads(against_set.stdout)["clean"] is True


def test_a_changed_run_lists_exactly_the_changes(runs: tuple[Path, Path]) -> None:
    a, b = runs
    result = run_cli("diff", str(a), str(b), "--format", "json")
    assert result.code == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["clean"] is False
    (changes,) = doc["sets"]
    assert changes["missing"] == ["cvip cviVideo.01.1.setProperties #2"]
    assert changes["added"] == []
    assert changes["changed"] == [{
        "transaction": "cvip cviNetwork.listProperties #1",
        "differences": ["answer 1: ~ XML-RPC body/Parameters/#1/#4/value: "
                        "'192.0.2.53' → '192.0.2.54'"],
    }]
    assert changes["new_findings"] == changes["vanished_findings"] == []
    assert changes["latency"] == []
    text = run_cli("diff", str(a), str(b))
    assert text.code == 1
    assert "missing transactions (in A, not in B):" in text.stdout
    assert "cvip cviVideo.01.1.setProperties #2" in text.stdout
    markdown = run_cli("diff", str(a), str(b), "--format", "markdown")
    assert markdown.code == 1 and markdown.stdout.startswith("# cvipsniff diff")
    assert "### Changed transactions" in markdown.stdout


def test_latency_changes_beyond_the_method_threshold(runs: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    a, _ = runs
    assert run_cli("fixtures", "export", str(a), "-o", str(tmp_path / "x")).code == 0
    flow = tmp_path / "x" / "a" / "flows" / "flow-0000.json"
    doc = json.loads(flow.read_text())
    slow = doc["transactions"][1]
    assert slow["method"] == "cviNetwork.listProperties"
    slow["latency_ms"] += 25.0
    flow.write_text(json.dumps(doc))
    result = run_cli("diff", str(a), str(tmp_path / "x" / "a"))
    assert result.code == 1
    assert "latency changes:" in result.stdout
    assert "cvip cviNetwork.listProperties #1" in result.stdout and "+25.000 ms" in result.stdout
    relaxed = run_cli("diff", str(a), str(tmp_path / "x" / "a"),
                      "--latency-threshold", "cviNetwork.*=30")
    assert relaxed.code == 0, relaxed.stdout
    strict = run_cli("diff", str(a), str(tmp_path / "x" / "a"),
                     "--latency-threshold", "100", "--latency-threshold", "*.listProperties=5")
    assert strict.code == 1


def test_findings_that_appear_and_vanish(runs: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = runs
    assert run_cli("fixtures", "export", str(a), "-o", str(tmp_path)).code == 0
    flow = tmp_path / "a" / "flows" / "flow-0000.json"
    doc = json.loads(flow.read_text())
    doc["findings"].append({"rule": "cvip.header.version", "severity": "error",
                            "message": "m", "spec": "", "frames": [4], "transaction": 1,
                            "message_number": 1})
    flow.write_text(json.dumps(doc))
    result = run_cli("diff", str(a), str(tmp_path / "a"), "--format", "json")
    assert result.code == 1
    (changes,) = json.loads(result.stdout)["sets"]
    assert changes["new_findings"] == ["cvip.header.version (cvip system.listServices #1)"]
    back = run_cli("diff", str(tmp_path / "a"), str(a), "--format", "json")
    assert json.loads(back.stdout)["sets"][0]["vanished_findings"] == \
        ["cvip.header.version (cvip system.listServices #1)"]


def test_diff_usage_errors(runs: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = runs
    assert_clean_error(run_cli("diff", str(a), str(tmp_path / "none")), "no such file")
    assert_clean_error(run_cli("diff", str(a), str(a), "--latency-threshold", "x=y"),
                       "--latency-threshold")
