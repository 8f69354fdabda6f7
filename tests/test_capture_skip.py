"""A split worker's reader (``open_capture(..., wanted=FlowShare)``): the compiled record
walks leave out frames of other workers' flows, and nothing else changes.

The contract, checked against the full read of the same file: the frames that come are
the full read's, with the same numbers and bytes, in order; every frame the share keeps
comes; the notes are the same, each before the same frame (the first frame after a note
always comes, since the note goes out with it). On every bundled capture as pcapng and
as classic pcap, and on damaged copies of both (resyncs, cut records, corrupt blocks).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from cvipsniff.capture import open_capture
from cvipsniff.capture.errors import CaptureError
from cvipsniff.split import Plan, _flow_share, plan_split, shard_bounds
from dissectors.accel import COMPILED
from tests.test_flows_fast import as_pcap

from .conftest import CAPTURES as FOLDER

CAPTURES = sorted(p for p in FOLDER.rglob("*") if p.name.endswith((".pcap", ".pcapng")))

pytestmark = pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built")


def _events(path: str, wanted: object | None) -> list[tuple]:
    """The read as one sequence: ("note", text) and ("frame", the frame) in the order
    the reader made them."""
    events: list[tuple] = []
    try:
        with open_capture(path, on_note=lambda n: events.append(("note", n.message)),
                          wanted=wanted) as reader:
            for frame in reader:
                events.append(("frame", tuple(frame)))
    except CaptureError as exc:
        events.append(("error", str(exc)))
    return events


def check(path: str, plan: Plan, workers: int) -> int:
    """The contract for every worker of ``plan``; the frames left out in all."""
    full = _events(path, None)
    skipped = 0
    for index in range(workers):
        share = _flow_share(index, list(plan.bounds), plan.named)
        got = _events(path, share)
        numbers = {e[1][0] for e in got if e[0] == "frame"}
        # The full read, less the frames that did not come: exactly what came.
        assert [e for e in full if e[0] != "frame" or e[1][0] in numbers] == got
        previous_was_note = False
        for event in full:
            if event[0] == "frame":
                number, linktype, data = event[1][0], event[1][4], event[1][5]
                if previous_was_note or share.keeps(linktype, data):
                    assert number in numbers, (index, number)
                skipped += number not in numbers
            previous_was_note = event[0] == "note"
    return skipped


def _plans(path: str, workers: int) -> list[Plan]:
    return [Plan(shard_bounds(workers)), plan_split(path, workers),
            Plan((0, 1 << 32)), Plan((1 << 32, 1 << 32))]


@pytest.fixture(scope="module")
def as_classic(tmp_path_factory) -> list[Path]:
    out = []
    folder = tmp_path_factory.mktemp("classic")
    for n, capture in enumerate(CAPTURES):
        dest = folder / f"{n}-{capture.stem}.pcap"
        if as_pcap(capture, dest) is not None:
            out.append(dest)
    return out


def test_bundled_captures_as_they_are(tmp_path: Path) -> None:
    skipped = 0
    for capture in CAPTURES:
        for workers in (2, 3):
            for plan in _plans(str(capture), workers):
                skipped += check(str(capture), plan, workers)
    assert skipped > 0  # the walks did leave frames out


def test_bundled_captures_as_classic_pcap(as_classic: list[Path]) -> None:
    assert len(as_classic) > 20
    skipped = 0
    for path in as_classic:
        for plan in _plans(str(path), 2):
            skipped += check(str(path), plan, 2)
    assert skipped > 0


def damaged_copies(sources: list[Path], folder: Path, suffix: str, seed: int,
                   count: int = 60) -> Iterator[Path]:
    """``count`` damaged copies of the larger ``sources``: random bytes changed, and
    about a third of them cut short (resyncs, cut records, corrupt blocks)."""
    rng = random.Random(seed)
    sources = [p for p in sources if p.stat().st_size > 4000]
    for n in range(count):
        data = bytearray(rng.choice(sources).read_bytes())
        for _ in range(rng.choice([1, 2, 4])):
            at = rng.randrange(24, len(data))
            data[at] = rng.choice([0, 0xFF, rng.randrange(256)])
        if rng.random() < 0.3:
            del data[rng.randrange(24, len(data)):]
        path = folder / f"d{n}{suffix}"
        path.write_bytes(bytes(data))
        yield path


@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
def test_damaged_copies(suffix: str, as_classic: list[Path], tmp_path: Path) -> None:
    """Random bytes changed, records cut: the notes and the frames after them as the
    full read has them."""
    noted = 0
    sources = as_classic if suffix == ".pcap" else CAPTURES
    for path in damaged_copies(sources, tmp_path, suffix, seed=17):
        check(str(path), Plan(shard_bounds(2)), 2)
        noted += any(e[0] == "note" for e in _events(str(path), None))
    assert noted > 10
