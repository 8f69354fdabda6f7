"""``read -z`` statistics with tshark's names, and ``-q``: conversation frame and byte
counts and io,stat frames/bytes equal tshark's on the same capture; srt and expert agree
with the report."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter

import pytest

from tests.cli_helpers import ROOT, assert_clean_error, run_cli

DEMO = str(ROOT / "captures" / "demo.pcapng")


def stats(*z: str) -> str:
    args = [a for spec in z for a in ("-z", spec)]
    result = run_cli("read", "-r", DEMO, "-q", *args)
    assert result.code == 0, result.stderr
    return result.stdout


def conv_rows(text: str) -> dict[frozenset, tuple[int, int, int, int]]:
    """{frozenset(A, B): (frames B→A, bytes B→A, frames A→B, bytes A→B)} of our table,
    oriented so that the key's order does not matter: (frames, bytes) per source."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"(\S+)\s+<->\s+(\S+)\s+(\d+) (?:\s*)(\d+)\s+(\d+)\s+(\d+)", line)
        if m:
            a, b = m.group(1), m.group(2)
            rows[frozenset((a, b))] = {b: (int(m.group(3)), int(m.group(4))),
                                       a: (int(m.group(5)), int(m.group(6)))}
    return rows


@pytest.mark.tshark
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_conversations_count_frames_and_bytes_like_tshark(tshark: str, transport: str) -> None:
    ours = conv_rows(stats(f"conv,{transport}"))
    fields = ["-e", "ip.src", "-e", f"{transport}.srcport", "-e", "ip.dst",
              "-e", f"{transport}.dstport", "-e", "frame.len"]
    out = subprocess.run([tshark, "-r", DEMO, "-Y", transport, "-T", "fields", *fields],
                         capture_output=True, text=True, check=True).stdout
    frames: Counter = Counter()
    sizes: Counter = Counter()
    pairs = {}
    for line in out.splitlines():
        src, sport, dst, dport, length = line.split("\t")
        a, b = f"{src}:{sport}", f"{dst}:{dport}"
        frames[(a, b)] += 1
        sizes[(a, b)] += int(length)
        pairs[frozenset((a, b))] = (a, b)
    assert set(ours) == set(pairs)
    for key, per_source in ours.items():
        for source, (n, size) in per_source.items():
            dest = next(iter(key - {source}), source)
            assert (n, size) == (frames[(source, dest)], sizes[(source, dest)]), key
    # tshark's own table agrees on the frame counts, row for row.
    theirs = subprocess.run([tshark, "-r", DEMO, "-q", "-z", f"conv,{transport}"],
                            capture_output=True, text=True, check=True).stdout
    for line in theirs.splitlines():
        m = re.match(r"(\S+)\s+<->\s+(\S+)\s+(\d+) .*?\s(\d+) (?:bytes|kB|MB)\s+(\d+) ", line)
        if m:
            key = frozenset((m.group(1), m.group(2)))
            assert ours[key][m.group(2)][0] == int(m.group(3))


@pytest.mark.tshark
def test_io_stat_frames_and_bytes_equal_tsharks(tshark: str) -> None:
    ours = stats("io,stat,1")
    theirs = subprocess.run([tshark, "-r", DEMO, "-q", "-z", "io,stat,1"],
                            capture_output=True, text=True, check=True).stdout
    pattern = re.compile(r"\|\s*(\d+) <> (\S+)\s*\|\s*(\d+) \|\s*(\d+) \|")
    their_rows = [m.groups() for m in map(pattern.match, theirs.splitlines()) if m]
    our_rows = [m.groups() for m in map(pattern.match, ours.splitlines()) if m]
    assert their_rows and our_rows == their_rows


def test_io_stat_counts_every_message_and_finding() -> None:
    report = json.loads(run_cli("report", DEMO, "--format", "json").stdout)["files"][0]
    rows = [line.split("|")[1:-1] for line in stats("io,stat,0.5").splitlines()
            if re.match(r"\| \d", line)]
    messages = sum(int(r[3]) for r in rows)
    findings = sum(int(r[5]) for r in rows)
    assert messages == sum(report["summary"]["messages"].values())
    assert findings == sum(report["summary"]["findings"].values())


def test_srt_and_expert_agree_with_the_report() -> None:
    report = json.loads(run_cli("report", DEMO, "--format", "json").stdout)["files"][0]
    text = stats("srt", "expert")
    for row in report["srt"]:
        line = next(line for line in text.splitlines()
                    if line.split()[:2] == [row["protocol"], row["method"]])
        calls, low, high = line.split()[2:5]
        assert int(calls) == row["count"]
        assert abs(float(low) * 1e3 - row["min_ms"]) < 0.002
        assert abs(float(high) * 1e3 - row["max_ms"]) < 0.002
    rules = Counter(f["rule"] for f in report["findings"])
    for rule, n in rules.items():
        assert re.search(rf"^\s+{n}\s+\S+\s+{re.escape(rule)}\s", text, re.MULTILINE), rule
    assert f"Errors ({report['summary']['findings']['error']})" in text
    only_cvip = stats("srt,imageserver")
    assert "cvip " not in only_cvip and "imageserver" in only_cvip


def test_quiet_prints_only_statistics_and_loud_prints_both() -> None:
    quiet = stats("expert")
    assert quiet.startswith("=")
    loud = run_cli("read", "-r", DEMO, "-z", "expert").stdout
    assert loud.endswith(quiet) and len(loud.splitlines()) > len(quiet.splitlines()) + 100


@pytest.mark.parametrize("spec,needle", [("conv,sctp", "tcp or udp"), ("io,stat,0", "> 0"),
                                         ("srt,http", "unknown protocol"), ("hosts", "known")])
def test_bad_statistics_are_one_line(spec: str, needle: str) -> None:
    assert_clean_error(run_cli("read", "-r", DEMO, "-z", spec), needle)


def test_quiet_without_statistics_is_refused() -> None:
    assert_clean_error(run_cli("read", "-r", DEMO, "-q"), "-z")
