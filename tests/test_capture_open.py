"""open_capture: format detection by magic, transparent decompression, stdin, progress
counters, and the one-line CaptureError for files that cannot be read at all."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from cvipsniff.capture import CaptureError, CaptureReader, PcapngWriter, PcapWriter, open_capture
from cvipsniff.model import Frame, TransportNote

ROOT = Path(__file__).resolve().parent.parent


def sample_frames(count: int = 5) -> list[Frame]:
    return [Frame(i + 1, 1_700_000_000_000_000_000 + i * 1_000_000, 60 + i, 60 + i, 1,
                  bytes([i % 256]) * (60 + i)) for i in range(count)]


def pcap_file(tmp_path: Path, name: str = "x.pcap", count: int = 5) -> Path:
    path = tmp_path / name
    with PcapWriter(path, 1, nanosecond=True) as writer:
        for frame in sample_frames(count):
            writer.write(frame)
    return path


def test_reader_is_context_manager_and_iterator(tmp_path: Path) -> None:
    path = pcap_file(tmp_path)
    with open_capture(str(path)) as reader:
        assert isinstance(reader, CaptureReader)
        first = next(reader)
        rest = list(reader)
    assert [first, *rest] == sample_frames()
    assert reader.bytes_read == reader.size == path.stat().st_size


def test_close_releases_file_and_stops_iteration(tmp_path: Path) -> None:
    reader = open_capture(str(pcap_file(tmp_path)))
    next(reader)
    reader.close()
    reader.close()
    assert list(reader) == []


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress],
                         ids=["gzip", "bzip2", "xz"])
@pytest.mark.parametrize("writer", [PcapWriter, PcapngWriter], ids=["pcap", "pcapng"])
def test_compressed_captures_are_read_transparently(tmp_path: Path, compress, writer) -> None:
    raw = io.BytesIO()
    w = writer(raw, 1, nanosecond=True) if writer is PcapWriter else writer(raw)
    for frame in sample_frames(50):
        w.write(frame)
    w.close()
    path = tmp_path / "x.cap.z"  # the name says nothing: detection is by magic
    path.write_bytes(compress(raw.getvalue()))
    with open_capture(str(path)) as reader:
        frames = list(reader)
        assert reader.compression is not None
        assert reader.bytes_read == reader.size == path.stat().st_size
    assert frames == sample_frames(50)


def test_truncated_gzip_gives_frames_then_a_note(tmp_path: Path) -> None:
    whole = gzip.compress(pcap_file(tmp_path, count=2000).read_bytes())
    path = tmp_path / "cut.pcap.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    notes: list[TransportNote] = []
    with open_capture(str(path), on_note=notes.append) as reader:
        frames = list(reader)
    assert 0 < len(frames) < 2000
    assert [f.number for f in frames] == list(range(1, len(frames) + 1))
    assert [n.kind for n in notes] == ["capture.truncated_record"]
    assert "gzip stream ends early" in notes[0].message


def test_corrupt_gzip_data_midway_is_a_note(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(os.urandom(1 << 16)
                                   + pcap_file(tmp_path, count=3).read_bytes()))
    path = tmp_path / "bad.gz"
    # A gzip of random bytes is not a capture: refused at open, not a note.
    path.write_bytes(bytes(data))
    with pytest.raises(CaptureError, match="gzip-compressed, but not a pcap"):
        open_capture(str(path))
    good = bytearray(gzip.compress(pcap_file(tmp_path, count=3000).read_bytes()))
    good[len(good) // 2 : len(good) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(good))
    notes: list[TransportNote] = []
    with open_capture(str(path), on_note=notes.append) as reader:
        frames = list(reader)
    assert len(frames) < 3000
    assert len(notes) == 1 and notes[0].severity == "error"


def test_notes_collect_on_the_reader_without_a_callback(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcap"
    path.write_bytes(pcap_file(tmp_path).read_bytes()[:-3])
    with open_capture(str(path)) as reader:
        assert len(list(reader)) == 4
    assert [n.kind for n in reader.notes] == ["capture.truncated_record"]


def test_stdin(tmp_path: Path) -> None:
    data = gzip.compress(pcap_file(tmp_path).read_bytes())
    script = (
        "from cvipsniff.capture import open_capture\n"
        "with open_capture('-') as r:\n"
        "    frames = list(r)\n"
        "    print(len(frames), frames[-1].number, r.size, r.bytes_read, r.compression)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True,
                         check=True, timeout=60, cwd=ROOT).stdout.decode().split()
    assert out == ["5", "5", "None", str(len(data)), "gzip"]


# ---- fatal problems: one line, CaptureError ----------------------------------------


def message(path: str) -> str:
    with pytest.raises(CaptureError) as info:
        open_capture(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith("cannot read ")
    return text


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.pcap")
    assert message(path) == f"cannot read {path!r}: no such file"


def test_directory(tmp_path: Path) -> None:
    assert message(str(tmp_path)).endswith("is a directory, not a capture file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied(tmp_path: Path) -> None:
    path = pcap_file(tmp_path)
    path.chmod(0)
    assert message(str(path)).endswith("permission denied")


def test_permission_denied_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same mapping, for runs as root (where chmod 0 does not stop reading)."""
    import cvipsniff.capture.source as source

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(source, "open", refuse, raising=False)
    assert message(str(pcap_file(tmp_path))).endswith("permission denied")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    assert message(str(path)).endswith(": empty file")


def test_empty_gzip(tmp_path: Path) -> None:
    path = tmp_path / "empty.gz"
    path.write_bytes(gzip.compress(b""))
    assert message(str(path)).endswith("empty gzip stream")


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "random.pcap"
    path.write_bytes(b"?*\x00\x00" + os.urandom(100))
    assert message(str(path)) == (
        f"cannot read {str(path)!r}: not a pcap or pcapng file (starts with 3f 2a 00 00 "
        + " ".join(f"{b:02x}" for b in path.read_bytes()[4:8]) + ")")


def test_tiny_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny"
    path.write_bytes(b"\xd4")
    assert message(str(path)).endswith("not a pcap or pcapng file (starts with d4)")


def test_other_capture_formats_get_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "x.snoop"
    path.write_bytes(b"snoop\0\0\0" + struct.pack(">II", 2, 4))
    assert "editcap" in message(str(path))


def test_zstd_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(20))
    assert message(str(path)).endswith("zstd-compressed; decompress it first (zstd -d)")


def _frames_and_notes(path: str) -> tuple[list[Frame], list[TransportNote]]:
    notes: list[TransportNote] = []
    with open_capture(path, on_note=notes.append) as reader:
        frames = list(reader)
    return frames, notes


@pytest.mark.parametrize("chunk", [7, 100, 4099])
def test_a_tail_read_again_from_the_file_gives_what_joining_gives(monkeypatch, chunk) -> None:
    """Chunks that end inside records, every bundled capture (pcap, pcapng, damaged
    ones): the tail read again with the next chunk (a plain file) gives the frames and
    notes that reading on and joining gives (as for a compressed file or a pipe), and the
    frames of reading the file whole."""
    from cvipsniff.capture import source
    from tests.cli_helpers import BUNDLED_CAPTURES as captures

    assert len(captures) > 20
    whole = {p: _frames_and_notes(str(p)) for p in captures}
    monkeypatch.setattr(source, "CHUNK_SIZE", chunk)
    again_used = []
    real_again = source.ByteSource._read_again

    def counted(self, tail: int, size: int) -> bytes | None:
        data = real_again(self, tail, size)
        again_used.append(data is not None)
        return data

    monkeypatch.setattr(source.ByteSource, "_read_again", counted)
    for path in captures:
        assert _frames_and_notes(str(path)) == whole[path], path
    assert again_used and all(again_used)
    monkeypatch.setattr(source.ByteSource, "_read_again", lambda self, tail, size: None)
    for path in captures[::3]:
        assert _frames_and_notes(str(path)) == whole[path], path


def test_a_file_cut_short_while_read_ends_with_a_note(tmp_path: Path, monkeypatch) -> None:
    """The file shrinks below the unread tail between two reads: the tail is not read
    again (it is no longer there) but kept; reading ends with the usual note on the cut
    record, every frame before it given."""
    from cvipsniff.capture import source

    monkeypatch.setattr(source, "CHUNK_SIZE", 200)
    path = pcap_file(tmp_path, count=40)
    notes: list[TransportNote] = []
    frames = []
    with open_capture(str(path), on_note=notes.append) as reader:
        for frame in reader:
            frames.append(frame)
            if len(frames) == 3:
                os.truncate(path, 100)  # below where the unread tail starts
    assert 3 <= len(frames) < 40
    assert [f.data for f in frames] == [f.data for f in sample_frames(40)[:len(frames)]]
    assert notes and notes[-1].kind == "capture.truncated_record"
    # the unread tail is still counted: the part of the last record that was read
    assert re.search(r"last record has [1-9]\d* of \d+ captured bytes", notes[-1].message)
