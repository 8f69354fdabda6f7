"""The bundled captures/: exactly what the code generates, small, self-consistent, and
clean in tshark."""

from __future__ import annotations

import hashlib
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from scapy.utils import RawPcapReader

from cvipsniff.sim.synth.corpus import (
    MANIFEST,
    SIZE_BUDGET,
    Sources,
    check_corpus,
    corpus_size,
    demo_scenario,
    load_sources,
)
from cvipsniff.sim.synth.impairments import CATALOGUE
from cvipsniff.sim.synth.truth import TRUTH_FORMAT

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz")


@pytest.fixture(scope="module")
def sources() -> Sources:
    return load_sources()


def manifest() -> dict[str, Any]:
    return json.loads((CAPTURES / MANIFEST).read_text(encoding="utf-8"))


def entries(group: str | None = None) -> list[dict[str, Any]]:
    return [e for e in manifest()["captures"] if group is None or e["group"] == group]


def truth_of(entry: dict[str, Any]) -> dict[str, Any]:
    return json.loads((CAPTURES / entry["truth"]).read_text(encoding="utf-8"))


def test_regenerating_gives_the_committed_files_byte_for_byte(sources: Sources) -> None:
    assert check_corpus(CAPTURES, sources=sources) == []


def test_the_corpus_stays_under_ten_megabytes() -> None:
    assert corpus_size(CAPTURES) < SIZE_BUDGET


def test_the_manifest_lists_every_capture_with_its_checksums() -> None:
    listed = set()
    for entry in entries():
        capture = CAPTURES / entry["file"]
        assert hashlib.sha256(capture.read_bytes()).hexdigest() == entry["sha256"], entry["file"]
        assert capture.stat().st_size == entry["size"]
        truth = CAPTURES / entry["truth"]
        assert hashlib.sha256(truth.read_bytes()).hexdigest() == entry["truth_sha256"]
        listed |= {entry["file"], entry["truth"]}
        assert entry["reproducible"] == (entry["group"] != "recorded")
    on_disk = {p.relative_to(CAPTURES).as_posix() for p in CAPTURES.rglob("*")
               if p.name.endswith((*CAPTURE_SUFFIXES, ".truth.json"))}
    assert on_disk == listed


def test_frame_counts_match_the_files() -> None:
    for entry in entries():
        with RawPcapReader(str(CAPTURES / entry["file"])) as reader:
            count = sum(1 for _ in reader)
        assert count == entry["frames"], entry["file"]


def test_truth_files_are_self_consistent() -> None:
    for entry in entries():
        truth = truth_of(entry)
        assert truth["format"] == TRUTH_FORMAT
        assert truth["capture"] == Path(entry["file"]).name
        flows = truth["flows"]
        assert [f["id"] for f in flows] == list(range(len(flows)))
        recorded = not entry["reproducible"]
        for msg in truth["messages"]:
            if recorded:
                continue  # a recording's truth has no frame numbers
            assert len(set(msg["frames"])) == len(msg["frames"])
            assert all(1 <= f <= truth["frame_count"] for f in msg["frames"])
            if not msg["lost"]:
                assert msg["complete_frame"] == max(msg["frames"])
        indices = {m["index"] for m in truth["messages"]}
        for violation in truth["violations"]:
            assert violation["message"] in indices
            assert violation["rule"] in truth["messages"][violation["message"]]["violations"]
        for txn in truth["transactions"]:
            assert txn["request"] is None or txn["request"] in indices
            assert set(txn.get("responses", [])) <= indices  # a recording knows none


def test_the_demo_mixes_both_protocols_with_violations() -> None:
    (demo,) = entries("demo")
    assert demo["file"] == "demo.pcapng"
    truth = truth_of(demo)
    protocols = {m["protocol"] for m in truth["messages"]}
    assert protocols == {"cvip", "cvip-ping", "imageserver"}
    assert 200 <= len(truth["messages"]) <= 1000
    kinds = {m["kind"] for m in truth["messages"]}
    assert {"ping-request", "ping-response", "imageresponse", "event"} <= kinds
    assert any(f["transport"] == "udp" for f in truth["flows"])
    assert len(truth["violations"]) >= 3
    assert not any(m["lost"] for m in truth["messages"])


def test_every_scenario_and_violation_scenario_has_its_capture(sources: Sources) -> None:
    assert {e["scenario"] for e in entries("scenario")} == {s.name for s in sources.clean}
    assert {e["scenario"] for e in entries("violation")} == {s.name for s in sources.violations}
    for entry in entries("violation"):
        assert entry["expected"]["violations"], entry["file"]


def test_every_field_shape_scenario_has_its_capture(sources: Sources) -> None:
    assert {e["scenario"] for e in entries("field")} == {s.name for s in sources.field_shapes}
    assert all(e["file"].startswith("field/") for e in entries("field"))
    expected = {rule for e in entries("field") for rule in e["expected"]["violations"]}
    assert {"imageserver.connect.cameraid", "imageserver.connect.basic_credentials",
            "imageserver.connect.success_reason", "imageserver.response.requestid",
            "imageserver.image.empty", "imageserver.connect.guid",
            "imageserver.txn.connectupdate_id", "imageserver.txn.paired_by_order"} <= expected


def test_every_impairment_family_has_a_capture_that_shows_it() -> None:
    by_name = {Path(e["file"]).name.split(".")[0]: e for e in entries("impairment")}
    assert set(CATALOGUE) - {"mss"} <= set(by_name)  # mss is a setting, not a fault
    for name, entry in by_name.items():
        truth = truth_of(entry)
        transport = entry["expected"]["transport"]
        effective = {item.split("=")[0] for f in truth["flows"] for item in f["impairments"]}
        effective |= {item.split("=")[0] for item in truth["impairments"]["capture"]}
        expected_names = {item.split("=")[0] for item in entry["impairments"]}
        assert expected_names <= effective | {"sll", "sll2", "snaplen"}, name
        match name:
            case "loss":
                assert transport.get("tcp.gap") and entry["expected"]["lost_messages"]
            case "reorder":
                assert transport.get("tcp.out_of_order")
            case "late":  # bytes the capture shows late are still delivered: no gap
                assert transport.get("tcp.out_of_order") and not transport.get("tcp.gap")
                assert not entry["expected"]["lost_messages"]
            case "duplicate" | "retransmit":
                assert transport.get("tcp.retransmission")
            case "conflict":
                assert transport.get("tcp.overlap_conflict")
            case "snaplen":
                gaps = [f for f in truth["transport_findings"] if f["kind"] == "tcp.gap"]
                assert gaps and {g["reason"] for g in gaps} == {"snaplen"}
                assert 0 < entry["expected"]["lost_messages"] < entry["expected"]["messages"]
            case "midstream":
                assert all(f["mid_session"] for f in truth["flows"] if f["transport"] == "tcp")
            case "ipv6":
                assert all(":" in f["client"][0] for f in truth["flows"])
            case "sll" | "sll2":
                assert truth["linktype"] == {"sll": 113, "sll2": 276}[name]
            case "ipfrag":
                assert any("fragment_frames" in m for m in truth["messages"])


def test_the_readme_documents_every_impairment() -> None:
    readme = (CAPTURES / "README.md").read_text(encoding="utf-8")
    for name in CATALOGUE:
        assert f"| `{name}` |" in readme, name


def test_the_recording_is_marked_as_such() -> None:
    (entry,) = entries("recorded")
    assert entry["file"] == "loopback-real.pcapng" and not entry["reproducible"]
    truth = truth_of(entry)
    assert truth["recorded"] and truth["frame_count"] == entry["frames"]
    assert truth["messages"] and all(not m.get("frames") for m in truth["messages"])
    assert {m["protocol"] for m in truth["messages"]} == {"cvip", "cvip-ping", "imageserver"}
    assert all(t["as_specified"] for t in truth["transactions"])


def parse_follow(output: str) -> dict[int, tuple[bytes, bytes]]:
    """tcp.stream → (client bytes, server bytes) from ``-z follow,tcp,raw,N`` blocks
    (tshark prints them in reverse order of the options)."""
    streams = {}
    for block in output.split("Follow: tcp,raw")[1:]:
        number = int(block.split("tcp.stream eq ", 1)[1].split()[0])
        sides = [bytearray(), bytearray()]
        for line in block.split("Node 1:", 1)[1].split("\n")[1:]:
            if line.startswith("==="):
                break
            if line.strip():
                sides[1 if line.startswith("\t") else 0] += bytes.fromhex(line.strip())
        streams[number] = (bytes(sides[0]), bytes(sides[1]))
    return streams


@pytest.mark.tshark
def test_tshark_reads_the_demo_cleanly_and_follows_it_like_the_truth(
        tshark: str, sources: Sources) -> None:
    (demo,) = entries("demo")
    truth = truth_of(demo)
    data = [m.data for c in demo_scenario(sources).conversations for m in c.messages]
    tcp_flows = [f for f in truth["flows"] if f["transport"] == "tcp"]
    follow = [arg for n in range(len(tcp_flows)) for arg in ("-z", f"follow,tcp,raw,{n}")]
    result = subprocess.run([tshark, "-r", str(CAPTURES / demo["file"]), "-q", *follow],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    streams = parse_follow(result.stdout)
    assert sorted(streams) == list(range(len(tcp_flows)))
    for n, flow in enumerate(tcp_flows):  # tshark numbers TCP streams alone, same order
        sides = streams[n]
        for direction in (0, 1):
            msgs = sorted((m for m in truth["messages"] if m["flow"] == flow["id"]
                           and m["direction"] == direction), key=lambda m: m["offset"])
            assert bytes(sides[direction]) == b"".join(data[m["index"]] for m in msgs)


@pytest.mark.tshark
def test_tshark_opens_every_impairment_capture_without_malformed_packets(tshark: str) -> None:
    """Each link layer, IP version and fault once (the violation captures are ordinary
    layouts; test_synth_tshark covers those). Run side by side: tshark's start-up is
    most of the cost."""
    group = entries("impairment")

    def listing(entry: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([tshark, "-r", str(CAPTURES / entry["file"])],
                              capture_output=True, text=True, timeout=60, check=False)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(listing, group))
    for entry, result in zip(group, results, strict=True):
        assert result.returncode == 0, (entry["file"], result.stderr)
        assert len(result.stdout.splitlines()) == entry["frames"]
        assert "malformed" not in result.stdout.lower(), entry["file"]
        if "snaplen" not in entry["file"]:
            assert "cut short" not in result.stdout.lower(), entry["file"]
