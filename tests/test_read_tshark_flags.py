"""``cvipsniff read`` with tshark's flags, checked against tshark on the same capture:
frame numbers and every ``-t`` time format, ``-T fields`` frame fields, and ``-w`` output
that both tshark and cvipsniff read back."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, run_cli

pytestmark = pytest.mark.tshark

DEMO = str(ROOT / "captures" / "demo.pcapng")
ZONE = "Asia/Kolkata"  # a zone with a half-hour offset: a wrong conversion cannot hide


def tshark_times(tshark: str, letter: str, tz: str = "UTC") -> dict[int, str]:
    env = dict(os.environ, TZ=tz)
    out = subprocess.run([tshark, "-r", DEMO, "-t", letter, "-T", "fields",
                          "-e", "frame.number", "-e", "_ws.col.Time"],
                         capture_output=True, text=True, env=env, check=True).stdout
    return {int(n): t for n, t in (line.split("\t") for line in out.splitlines())}


def cvip_times(letter: str, tz: str = "UTC") -> list[tuple[int, str]]:
    env_tz = os.environ.get("TZ")
    os.environ["TZ"] = tz
    try:
        result = run_cli("read", "-r", DEMO, "-t", letter)
    finally:
        if env_tz is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = env_tz
    assert result.code == 0, result.stderr
    rows = []
    for line in result.stdout.splitlines():
        parts = line.split()
        width = 2 if letter in ("ad", "ud") else 1
        rows.append((int(parts[0]), " ".join(parts[1:1 + width])))
    return rows


@pytest.mark.parametrize("letter,tz", [("r", "UTC"), ("e", "UTC"), ("a", ZONE), ("ad", ZONE),
                                       ("u", ZONE), ("ud", ZONE)])
def test_time_column_is_tsharks_truncated_to_microseconds(tshark: str, letter: str,
                                                          tz: str) -> None:
    theirs = tshark_times(tshark, letter, tz)
    ours = cvip_times(letter, tz)
    assert ours
    for frame, text in ours:
        # tshark prints nine decimals for a nanosecond capture; ours are its first six.
        assert theirs[frame][:-3] == text, (frame, letter)


def test_local_and_utc_differ_by_the_zone(tshark: str) -> None:
    local = dict(cvip_times("a", ZONE))
    utc = dict(cvip_times("u", ZONE))
    frame = next(iter(local))
    assert local[frame] != utc[frame]


def test_delta_displayed_counts_from_the_previous_line() -> None:
    rows = run_cli("read", "-r", DEMO, "-t", "dd", "-Y", "imageserver").stdout.splitlines()
    epochs = run_cli("read", "-r", DEMO, "-t", "e", "-Y", "imageserver").stdout.splitlines()
    deltas = [int(r.split()[1].replace(".", "")) for r in rows]  # microseconds
    times = [int(e.split()[1].replace(".", "")) for e in epochs]
    assert len(deltas) == len(times) > 10
    assert deltas[0] == 0
    for i in range(1, len(times)):  # each is truncated on its own: one unit apart at most
        assert abs(deltas[i] - (times[i] - times[i - 1])) <= 1


def test_fields_frame_numbers_and_times_equal_tsharks(tshark: str) -> None:
    fields = ("frame.number", "frame.time_epoch", "frame.time_relative")
    ours = run_cli("read", "-r", DEMO, "-T", "fields", *[a for f in fields for a in ("-e", f)])
    assert ours.code == 0, ours.stderr
    theirs = subprocess.run([tshark, "-r", DEMO, "-T", "fields",
                             *[a for f in fields for a in ("-e", f)]],
                            capture_output=True, text=True, check=True).stdout
    by_frame = {line.split("\t")[0]: line for line in theirs.splitlines()}
    lines = ours.stdout.splitlines()
    assert len(lines) > 100
    for line in lines:
        assert by_frame[line.split("\t")[0]] == line


def records(path: str, *extra: str) -> list[tuple]:
    result = run_cli("read", "-r", path, "-T", "jsonl", *extra)
    assert result.code == 0, result.stderr
    out = []
    for line in result.stdout.splitlines():
        r = json.loads(line)
        if r["type"] == "message":
            out.append((r["src"], r["dst"], r["protocol"], r["kind"], r["length"], r["info"],
                        r["time"]))
    return out


@pytest.mark.parametrize("suffix", ["pcapng", "pcap"])
def test_write_keeps_every_frame_of_the_displayed_messages(tmp_path: Path, tshark: str,
                                                           suffix: str) -> None:
    out = tmp_path / f"subset.{suffix}"
    flt = 'imageserver || cvip.method == "system.describe"'
    shown = run_cli("read", "-r", DEMO, "-Y", flt, "-w", str(out), "-T", "fields",
                    "-e", "frame")
    assert shown.code == 0, shown.stderr
    wanted = sorted({int(f) for line in shown.stdout.splitlines() for f in line.split(",")})
    # tshark reads the file: as many frames as the messages had, same times and lengths.
    theirs = subprocess.run([tshark, "-r", str(out), "-T", "fields", "-e", "frame.time_epoch",
                             "-e", "frame.len"], capture_output=True, text=True, check=True)
    original = subprocess.run([tshark, "-r", DEMO, "-T", "fields", "-e", "frame.number",
                               "-e", "frame.time_epoch", "-e", "frame.len"],
                              capture_output=True, text=True, check=True).stdout
    by_number = {int(n): f"{t}\t{n_len}" for n, t, n_len in
                 (line.split("\t") for line in original.splitlines())}
    assert theirs.stdout.splitlines() == [by_number[n] for n in wanted]
    # cvipsniff reads the same messages back (a message may complete at another point
    # of the stream without the handshakes and bare ACKs, so compare them as a set).
    assert sorted(records(str(out))) == sorted(records(DEMO, "-Y", flt))


def test_write_with_count_stops_after_n_messages(tmp_path: Path) -> None:
    out = tmp_path / "three.pcapng"
    result = run_cli("read", "-r", DEMO, "-c", "3", "-w", str(out))
    assert result.code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    assert len(records(str(out))) == 3
