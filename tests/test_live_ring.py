"""``-w`` for live capture: one pcapng file, or a ring of files named like dumpcap's that
rotates at a size and keeps the newest N."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from cvipsniff.capture import open_capture
from cvipsniff.errors import UsageError
from cvipsniff.live.ring import RingWriter, open_capture_writer
from cvipsniff.model import LINKTYPE_ETHERNET, Frame


def _frame(number: int, size: int = 1000) -> Frame:
    data = number.to_bytes(4, "big") * (size // 4)
    return Frame(number, 1_700_000_000_000_000_000 + number * 1000, len(data), len(data),
                 LINKTYPE_ETHERNET, data)


def _numbers(path: str) -> list[int]:
    with open_capture(path) as reader:
        return [int.from_bytes(f.data[:4], "big") for f in reader]


def test_a_ring_rotates_at_the_size_and_keeps_the_newest_files(tmp_path: Path) -> None:
    clock = time.gmtime(1_700_000_000)
    ring = RingWriter(str(tmp_path / "cap.pcapng"), size_bytes=5_000, files=3,
                      clock=lambda: clock)
    for n in range(1, 31):
        ring.write(_frame(n))
    ring.close()
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert len(kept) == 3 and kept == [Path(p).name for p in ring.paths]
    assert all(re.fullmatch(r"cap_\d{5}_20231114221320\.pcapng", name) for name in kept)
    numbers = [n for path in ring.paths for n in _numbers(path)]
    # Each file: header blocks plus frames until it passed 5000 bytes (5 frames of ~1 kB).
    assert numbers == list(range(16, 31))
    assert [len(_numbers(p)) for p in ring.paths] == [5, 5, 5]
    assert ring.frames_written == 30


def test_without_a_file_limit_every_file_is_kept(tmp_path: Path) -> None:
    ring = RingWriter(str(tmp_path / "all"), size_bytes=2_500)
    for n in range(1, 11):
        ring.write(_frame(n))
    ring.close()
    assert all(p.endswith(".pcapng") for p in ring.paths)
    assert [len(_numbers(p)) for p in ring.paths] == [3, 3, 3, 1]  # a file passes 2500 at 3
    assert [n for p in ring.paths for n in _numbers(p)] == list(range(1, 11))


def test_a_frame_larger_than_the_size_still_gets_written(tmp_path: Path) -> None:
    ring = RingWriter(str(tmp_path / "big.pcapng"), size_bytes=100, files=2)
    ring.write(_frame(1, size=4000))
    ring.write(_frame(2, size=4000))
    ring.close()
    assert [_numbers(p) for p in ring.paths] == [[1], [2]]


def test_open_capture_writer_choices(tmp_path: Path) -> None:
    plain = open_capture_writer(str(tmp_path / "one.pcapng"))
    plain.write(_frame(1))
    plain.close()
    assert _numbers(str(tmp_path / "one.pcapng")) == [1]
    ring = open_capture_writer(str(tmp_path / "r.pcapng"), ring_size_mb=1, ring_files=2)
    assert isinstance(ring, RingWriter) and ring.size_bytes == 1_000_000
    ring.close()
    with pytest.raises(UsageError, match="--ring-files needs --ring-size"):
        open_capture_writer(str(tmp_path / "x.pcapng"), ring_files=2)
    with pytest.raises(UsageError, match=r"cannot write .*: No such file or directory"):
        open_capture_writer(str(tmp_path / "missing" / "x.pcapng"))
    with pytest.raises(UsageError, match="cannot write"):
        open_capture_writer(str(tmp_path / "missing" / "x.pcapng"), ring_size_mb=1)
