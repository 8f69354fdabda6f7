"""``cvipsniff sim synth`` and ``cvipsniff sim captures`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cvipsniff.cli import main
from cvipsniff.sim.synth import truth_path_for


def test_list_names_the_producers_and_composed_scenarios(capsys) -> None:
    assert main(["sim", "synth", "--list"]) == 0
    names = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert {"demo", "transport-mix", "cvip-events", "imageserver-live"} <= set(names)
    assert any(name.startswith("imageserver-violation") for name in names)


def test_synth_writes_a_capture_and_its_truth(tmp_path: Path, capsys) -> None:
    out = tmp_path / "events.pcapng"
    status = main(["sim", "synth", "--scenario", "cvip-events", "--impair", "loss,vlan=7",
                   "--impair-conversation", "0:reorder", "--seed", "1", "-w", str(out)])
    assert status == 0
    assert "events.pcapng" in capsys.readouterr().out
    truth = json.loads(truth_path_for(out).read_text())
    assert truth["scenario"]["name"] == "cvip-events"
    assert truth["impairments"]["scenario"] == ["loss=1", "vlan=7"]
    assert truth["impairments"]["conversations"] == {"0": ["reorder=1"]}
    assert truth["flows"][0]["impairments"] == ["reorder=1", "loss=1", "vlan=7"]
    assert out.stat().st_size > 0


def test_synth_without_truth(tmp_path: Path) -> None:
    out = tmp_path / "demo.pcap.gz"
    assert main(["sim", "synth", "--scenario", "demo", "--no-truth", "-w", str(out)]) == 0
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert not truth_path_for(out).exists()


@pytest.mark.parametrize("argv, message", [
    (["--scenario", "no-such-scenario", "-w", "x.pcapng"], "no scenario 'no-such-scenario'"),
    (["--scenario", "cvip-events", "-w", "x.txt"], ".pcap or .pcapng"),
    (["--scenario", "cvip-events", "--impair", "lose", "-w", "x.pcap"], "unknown impairment"),
    (["--scenario", "cvip-events", "--impair-conversation", "zero:loss", "-w", "x.pcap"],
     "N:LIST"),
    (["--scenario", "cvip-events", "--impair-conversation", "5:loss", "-w", "x.pcap"],
     "no conversation 5"),
    (["--scenario", "cvip-events", "--impair-conversation", "0:sll", "-w", "x.pcap"],
     "scenario-wide"),
    (["--scenario", "cvip-events"], "needs --scenario NAME and -w OUT"),
])
def test_bad_arguments_are_one_line_and_status_2(tmp_path: Path, monkeypatch, capsys,
                                                 argv: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["sim", "synth", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_captures_builds_a_corpus_and_check_finds_a_changed_byte(tmp_path: Path,
                                                                 capsys) -> None:
    corpus = tmp_path / "captures"
    assert main(["sim", "captures", "--out", str(corpus)]) == 0
    manifest = json.loads((corpus / "manifest.json").read_text())
    assert (corpus / "demo.pcapng").is_file()
    assert len(manifest["captures"]) == len(list(corpus.rglob("*.truth.json")))
    capsys.readouterr()
    victim = corpus / "impairments" / "loss.pcapng"
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    (corpus / "scenarios" / "stale.pcapng").write_bytes(b"")
    assert main(["sim", "captures", "--out", str(corpus), "--check"]) == 1
    err = capsys.readouterr().err
    assert "differs: impairments/loss.pcapng" in err
    assert "not generated (stale?): scenarios/stale.pcapng" in err
