"""Classic pcap reading: every magic variant, numbering, timestamps, lengths, and damaged
files (truncated last record, corrupt record with resync)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from cvipsniff.capture import open_capture
from cvipsniff.model import Frame, TransportNote

BASE = 1_700_000_000


def pcap_bytes(records: list[tuple[int, int, bytes, int]], *, order: str = "<",
               magic: int = 0xA1B2C3D4, snaplen: int = 65535, linktype: int = 1,
               extra: bytes = b"") -> bytes:
    """A pcap file from (seconds, fraction, data, origlen) records; ``extra`` is the
    8-byte tail of each record header in the modified format."""
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for sec, frac, data, origlen in records:
        out.append(struct.pack(order + "IIII", sec, frac, len(data), origlen) + extra + data)
    return b"".join(out)


def read(path: Path) -> tuple[list[Frame], list[TransportNote]]:
    notes: list[TransportNote] = []
    with open_capture(str(path), on_note=notes.append) as reader:
        assert reader.format == "pcap"
        return list(reader), notes


def records(count: int) -> list[tuple[int, int, bytes, int]]:
    return [(BASE + i, i * 1000, bytes([i]) * (20 + i), 20 + i) for i in range(count)]


def test_scapy_written_file(tmp_path: Path) -> None:
    packets = [Ether() / IP(dst="10.1.1.1") / TCP(dport=7110) / bytes(i) for i in range(4)]
    for i, packet in enumerate(packets):
        packet.time = BASE + i * 0.5
    path = tmp_path / "scapy.pcap"
    wrpcap(str(path), packets)
    frames, notes = read(path)
    assert notes == []
    assert [f.number for f in frames] == [1, 2, 3, 4]
    assert [f.ts_ns for f in frames] == [(BASE * 2 + i) * 500_000_000 for i in range(4)]
    assert [f.data for f in frames] == [bytes(p) for p in packets]
    assert all(f.caplen == f.origlen == len(f.data) and f.linktype == 1 for f in frames)


@pytest.mark.parametrize(
    ("order", "magic", "scale"),
    [("<", 0xA1B2C3D4, 1000), (">", 0xA1B2C3D4, 1000),
     ("<", 0xA1B23C4D, 1), (">", 0xA1B23C4D, 1)],
    ids=["usec-le", "usec-be", "nsec-le", "nsec-be"],
)
def test_magic_variants(tmp_path: Path, order: str, magic: int, scale: int) -> None:
    path = tmp_path / "v.pcap"
    path.write_bytes(pcap_bytes([(BASE, 999_999, b"abc", 3), (BASE + 1, 1, b"defg", 1514)],
                                order=order, magic=magic, linktype=101))
    frames, notes = read(path)
    assert notes == []
    assert [(f.number, f.ts_ns, f.caplen, f.origlen, f.linktype, f.data) for f in frames] == [
        (1, BASE * 10**9 + 999_999 * scale, 3, 3, 101, b"abc"),
        (2, (BASE + 1) * 10**9 + scale, 4, 1514, 101, b"defg"),
    ]


def test_modified_pcap_format(tmp_path: Path) -> None:
    path = tmp_path / "kuznetzov.pcap"
    path.write_bytes(pcap_bytes(records(3), magic=0xA1B2CD34, extra=b"\x01" * 8))
    frames, notes = read(path)
    assert notes == []
    assert [f.data for f in frames] == [r[2] for r in records(3)]


def test_fcs_bits_of_the_linktype_field_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "fcs.pcap"
    path.write_bytes(pcap_bytes(records(1), linktype=0x14000000 | 1))
    frames, _ = read(path)
    assert frames[0].linktype == 1


def test_empty_capture_has_no_frames_and_no_notes(tmp_path: Path) -> None:
    path = tmp_path / "header-only.pcap"
    path.write_bytes(pcap_bytes([]))
    assert read(path) == ([], [])


def test_truncated_last_record_data(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcap"
    path.write_bytes(pcap_bytes(records(3))[:-5])
    frames, notes = read(path)
    assert [f.number for f in frames] == [1, 2]
    assert [(n.kind, n.severity, n.frame) for n in notes] == [
        ("capture.truncated_record", "warning", 2)]
    assert "17 of 22 captured bytes" in notes[0].message


def test_truncated_inside_record_header(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcap"
    path.write_bytes(pcap_bytes(records(2)) + b"\x00" * 7)
    frames, notes = read(path)
    assert len(frames) == 2
    assert [n.kind for n in notes] == ["capture.truncated_record"]
    assert "7 bytes of a record header" in notes[0].message


def test_truncated_global_header_is_fatal(tmp_path: Path) -> None:
    from cvipsniff.capture import CaptureError

    path = tmp_path / "stub.pcap"
    path.write_bytes(pcap_bytes([])[:10])
    with pytest.raises(CaptureError, match="header cut short"):
        open_capture(str(path))


def test_corrupt_record_in_the_middle_resyncs(tmp_path: Path) -> None:
    good = records(6)
    data = bytearray(pcap_bytes(good))
    third = 24 + sum(16 + len(r[2]) for r in good[:2])
    data[third + 8 : third + 12] = struct.pack("<I", 0x7FFF0000)  # absurd captured length
    path = tmp_path / "corrupt.pcap"
    path.write_bytes(bytes(data))
    frames, notes = read(path)
    # The corrupt record is lost; the next one is found and numbering goes on from 3.
    assert [f.data for f in frames] == [good[i][2] for i in (0, 1, 3, 4, 5)]
    assert [f.number for f in frames] == [1, 2, 3, 4, 5]
    assert [(n.kind, n.severity, n.frame) for n in notes] == [
        ("capture.corrupt_block", "error", 2)]
    assert f"skipped {16 + len(good[2][2])} bytes" in notes[0].message


def test_corrupt_first_record_resyncs_without_a_reference_time(tmp_path: Path) -> None:
    good = records(4)
    data = bytearray(pcap_bytes(good))
    data[24 + 8 : 24 + 12] = struct.pack("<I", 0xFFFFFFFF)
    path = tmp_path / "corrupt-first.pcap"
    path.write_bytes(bytes(data))
    frames, notes = read(path)
    assert [f.data for f in frames] == [r[2] for r in good[1:]]
    assert [n.kind for n in notes] == ["capture.corrupt_block"]


def test_corrupt_tail_without_any_plausible_record_stops(tmp_path: Path) -> None:
    path = tmp_path / "garbage-tail.pcap"
    path.write_bytes(pcap_bytes(records(2)) + b"\xff" * 5000)
    frames, notes = read(path)
    assert len(frames) == 2
    assert [n.kind for n in notes] == ["capture.corrupt_block"]
    assert "reading stopped" in notes[0].message


def test_large_declared_snaplen_allows_large_records(tmp_path: Path) -> None:
    big = bytes(300_000)
    path = tmp_path / "jumbo.pcap"
    path.write_bytes(pcap_bytes([(BASE, 0, big, len(big))], snaplen=0x7FFFFFFF))
    frames, notes = read(path)
    assert notes == [] and frames[0].caplen == 300_000


def test_many_records_across_read_chunks(tmp_path: Path) -> None:
    many = [(BASE + i // 1000, i % 1000, bytes([i % 251]) * ((i * 37) % 1600), 1600)
            for i in range(3000)]
    path = tmp_path / "many.pcap"
    path.write_bytes(pcap_bytes(many))
    frames, notes = read(path)
    assert notes == []
    assert [f.number for f in frames] == list(range(1, 3001))
    assert [f.data for f in frames] == [r[2] for r in many]


@pytest.mark.tshark
def test_matches_tshark(tmp_path: Path, tshark: str) -> None:
    path = tmp_path / "ns-be.pcap"
    path.write_bytes(pcap_bytes(
        [(BASE, 123_456_789, bytes(60), 60), (BASE + 2, 5, bytes(54), 1514),
         (BASE + 2, 6, bytes(42), 42)],
        order=">", magic=0xA1B23C4D, snaplen=54))
    frames, notes = read(path)
    assert notes == []
    out = subprocess.run(
        [tshark, "-r", str(path), "-T", "fields", "-e", "frame.number", "-e",
         "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    rows = [line.split("\t") for line in out.splitlines() if line]
    assert [int(r[0]) for r in rows] == [f.number for f in frames]
    assert [r[1] for r in rows] == [f"{f.ts_ns // 10**9}.{f.ts_ns % 10**9:09d}" for f in frames]
    assert [(int(r[2]), int(r[3])) for r in rows] == [(f.origlen, f.caplen) for f in frames]
