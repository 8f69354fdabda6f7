"""pcapng reading: interfaces and their timestamp resolutions/offsets, EPB/SPB/OPB,
skipped blocks, sections in both byte orders, and damaged files."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import PcapNgWriter

from cvipsniff.capture import open_capture
from cvipsniff.model import Frame, TransportNote

# ---- hand-built blocks (scapy cannot write SPB/OPB, big-endian, or odd resolutions) ----


def option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def end_of_options(order: str) -> bytes:
    return struct.pack(order + "HH", 0, 0)


def block(order: str, block_type: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack(order + "II", block_type, total) + body + struct.pack(order + "I", total)


def shb(order: str = "<", major: int = 1) -> bytes:
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, major, 0, -1))


def idb(order: str, linktype: int, snaplen: int = 0, tsresol: int | None = None,
        tsoffset: int | None = None) -> bytes:
    options = b""
    if tsresol is not None:
        options += option(order, 9, bytes([tsresol]))
    if tsoffset is not None:
        options += option(order, 14, struct.pack(order + "q", tsoffset))
    if options:
        options += end_of_options(order)
    return block(order, 1, struct.pack(order + "HHI", linktype, 0, snaplen) + options)


def epb(order: str, if_id: int, ts: int, data: bytes, origlen: int | None = None,
        options: bytes = b"") -> bytes:
    body = struct.pack(order + "IIIII", if_id, ts >> 32, ts & 0xFFFFFFFF, len(data),
                       len(data) if origlen is None else origlen)
    body += data + b"\0" * (-len(data) % 4) + options
    return block(order, 6, body)


def spb(order: str, data: bytes, origlen: int | None = None) -> bytes:
    return block(order, 3, struct.pack(order + "I", len(data) if origlen is None else origlen)
                 + data)


def opb(order: str, if_id: int, ts: int, data: bytes) -> bytes:
    body = struct.pack(order + "HHIIII", if_id, 0, ts >> 32, ts & 0xFFFFFFFF, len(data),
                       len(data))
    return block(order, 2, body + data)


def read(path: Path) -> tuple[list[Frame], list[TransportNote]]:
    notes: list[TransportNote] = []
    with open_capture(str(path), on_note=notes.append) as reader:
        assert reader.format == "pcapng"
        return list(reader), notes


def write(tmp_path: Path, *blocks: bytes, name: str = "t.pcapng") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(blocks))
    return path


# ---- tests -------------------------------------------------------------------------


def test_scapy_written_file(tmp_path: Path) -> None:
    path = tmp_path / "scapy.pcapng"
    writer = PcapNgWriter(str(path))
    for i in range(3):
        packet = Ether() / IP(dst="10.0.0.2") / UDP(dport=9990) / bytes(i)
        packet.time = 1_700_000_000 + i / 4
        writer.write(packet)
    writer.close()
    frames, notes = read(path)
    assert notes == []
    assert [f.number for f in frames] == [1, 2, 3]
    assert [f.ts_ns for f in frames] == [1_700_000_000_000_000_000, 1_700_000_000_250_000_000,
                                         1_700_000_000_500_000_000]
    assert [f.caplen for f in frames] == [42, 43, 44]
    assert all(f.linktype == 1 and f.interface == 0 for f in frames)


def test_interfaces_with_own_linktype_resolution_and_offset(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        shb(),
        idb("<", 1, 65535),  # default resolution: microseconds
        idb("<", 101, 1500, tsresol=9),  # nanoseconds
        idb("<", 276, 0, tsresol=0x80 | 20),  # 2^-20 s
        idb("<", 113, 0, tsresol=3, tsoffset=1_600_000_000),  # milliseconds + offset
        idb("<", 1, 0, tsresol=12),  # picoseconds (finer than ns: divided)
        epb("<", 0, 1_700_000_000_123_456, b"a" * 14),
        epb("<", 1, 1_700_000_000_123_456_789, b"\x45" + b"b" * 19),
        epb("<", 2, 3 << 20 | 1 << 19, b"c" * 20),  # 3.5 s
        epb("<", 3, 2_500, b"d" * 16),
        epb("<", 4, 123_456_789_123, b"e" * 14),
    )
    frames, notes = read(path)
    assert notes == []
    assert [(f.number, f.linktype, f.interface) for f in frames] == [
        (1, 1, 0), (2, 101, 1), (3, 276, 2), (4, 113, 3), (5, 1, 4)]
    assert [f.ts_ns for f in frames] == [
        1_700_000_000_123_456_000,
        1_700_000_000_123_456_789,
        3_500_000_000,
        1_600_000_002_500_000_000,
        123_456_789,
    ]
    assert frames[1].data == b"\x45" + b"b" * 19


def test_spb_uses_interface_zero_and_its_snaplen(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        shb(),
        idb("<", 1, 8),
        idb("<", 101, 0),
        epb("<", 1, 5_000_000, b"\x45" * 20),
        spb("<", b"0123456789", origlen=10),  # longer than snaplen 8: cut to it
        spb("<", b"abc"),
    )
    frames, notes = read(path)
    assert notes == []
    assert [(f.linktype, f.interface) for f in frames] == [(101, 1), (1, 0), (1, 0)]
    assert frames[1].data == b"01234567" and frames[1].origlen == 10
    assert frames[2].data == b"abc" and frames[2].caplen == 3
    # An SPB has no timestamp: it inherits the previous frame's.
    assert frames[1].ts_ns == frames[2].ts_ns == 5_000_000_000


def test_obsolete_packet_block(tmp_path: Path) -> None:
    path = write(tmp_path, shb(), idb("<", 1, 0, tsresol=9), opb("<", 0, 42, b"x" * 60))
    frames, notes = read(path)
    assert notes == []
    assert [(f.ts_ns, f.caplen, f.data) for f in frames] == [(42, 60, b"x" * 60)]


def test_unknown_custom_and_statistics_blocks_are_skipped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        shb(),
        block("<", 0x00000BAD, b"\x00\x00\x7f\x00custom data"),  # custom block, PEN 32512
        idb("<", 1, 0),
        block("<", 4, b"\x00\x00\x00\x00"),  # name resolution, empty
        epb("<", 0, 1, b"p1", options=option("<", 1, b"a comment") + end_of_options("<")),
        block("<", 5, struct.pack("<III", 0, 0, 0)),  # interface statistics
        block("<", 0x12345678, b"never heard of it"),
        block("<", 0x40000BAD, b"\x00\x00\x7f\x00do not copy"),
        epb("<", 0, 2, b"p2"),
    )
    frames, notes = read(path)
    assert notes == []
    assert [(f.number, f.data) for f in frames] == [(1, b"p1"), (2, b"p2")]


def test_sections_in_both_byte_orders_number_interfaces_across(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        shb("<"), idb("<", 1, 0), epb("<", 0, 10, b"le-1"),
        shb(">"), idb(">", 101, 0, tsresol=9), idb(">", 1, 0),
        epb(">", 1, 20, b"be-2"), epb(">", 0, 30, b"\x45be3"),
        shb("<"), idb("<", 113, 0), epb("<", 0, 40, b"le-4"),
    )
    frames, notes = read(path)
    assert notes == []
    assert [(f.number, f.data, f.linktype, f.interface, f.ts_ns) for f in frames] == [
        (1, b"le-1", 1, 0, 10_000),
        (2, b"be-2", 1, 2, 20_000),
        (3, b"\x45be3", 101, 1, 30),
        (4, b"le-4", 113, 3, 40_000),
    ]


def test_big_endian_file(tmp_path: Path) -> None:
    path = write(tmp_path, shb(">"), idb(">", 1, 0, tsresol=9),
                 epb(">", 0, 1_700_000_000_000_000_001, b"z" * 61, origlen=1514))
    frames, notes = read(path)
    assert notes == []
    (frame,) = frames
    assert (frame.ts_ns, frame.caplen, frame.origlen, frame.data) == (
        1_700_000_000_000_000_001, 61, 1514, b"z" * 61)


def test_truncated_last_block(tmp_path: Path) -> None:
    whole = shb() + idb("<", 1, 0) + epb("<", 0, 1, b"first") + epb("<", 0, 2, b"x" * 100)
    path = write(tmp_path, whole[:-30])
    frames, notes = read(path)
    assert [f.data for f in frames] == [b"first"]
    assert [(n.kind, n.frame) for n in notes] == [("capture.truncated_record", 1)]
    assert "cut short" in notes[0].message


def test_truncated_inside_block_header(tmp_path: Path) -> None:
    path = write(tmp_path, shb(), idb("<", 1, 0), epb("<", 0, 1, b"a"), b"\x06\x00\x00")
    frames, notes = read(path)
    assert len(frames) == 1
    assert [n.kind for n in notes] == ["capture.truncated_record"]


@pytest.mark.parametrize("damage", ["absurd_length", "trailer_mismatch", "unaligned_length"])
def test_corrupt_block_in_the_middle_resyncs(tmp_path: Path, damage: str) -> None:
    good = [epb("<", 0, i, bytes([65 + i]) * (10 + i)) for i in range(4)]
    bad = bytearray(epb("<", 0, 99, b"B" * 40))
    if damage == "absurd_length":
        bad[4:8] = struct.pack("<I", 0xFFFFFFF0)
    elif damage == "trailer_mismatch":
        bad[-4:] = struct.pack("<I", 12)
    else:
        bad[4:8] = struct.pack("<I", len(bad) + 2)
    path = write(tmp_path, shb(), idb("<", 1, 0), good[0], good[1], bytes(bad), good[2],
                 good[3])
    frames, notes = read(path)
    assert [f.data[:1] for f in frames] == [b"A", b"B", b"C", b"D"]
    assert [f.number for f in frames] == [1, 2, 3, 4]
    assert [(n.kind, n.severity, n.frame) for n in notes] == [
        ("capture.corrupt_block", "error", 2)]
    assert f"skipped {len(bad)} bytes" in notes[0].message


def test_corrupt_tail_stops_cleanly(tmp_path: Path) -> None:
    path = write(tmp_path, shb(), idb("<", 1, 0), epb("<", 0, 1, b"ok"),
                 struct.pack("<II", 6, 0x7FFFFFFC) + bytes(range(256)) * 4)
    frames, notes = read(path)
    assert [f.data for f in frames] == [b"ok"]
    assert [n.kind for n in notes] == ["capture.corrupt_block"]
    assert "reading stopped" in notes[0].message


def test_packet_blocks_that_cannot_be_used_are_skipped_with_a_note(tmp_path: Path) -> None:
    lying = bytearray(epb("<", 0, 1, b"q" * 8))
    lying[20:24] = struct.pack("<I", 4000)  # captured length beyond its block
    path = write(tmp_path, shb(), spb("<", b"no interface yet"), idb("<", 1, 0),
                 epb("<", 7, 1, b"unknown interface"), bytes(lying), epb("<", 0, 2, b"fine"))
    frames, notes = read(path)
    assert [f.data for f in frames] == [b"fine"]
    assert [n.kind for n in notes] == ["capture.corrupt_block"] * 3
    assert "interface 7" in notes[1].message


def test_unsupported_version_is_noted_and_read(tmp_path: Path) -> None:
    path = write(tmp_path, shb(major=2), idb("<", 1, 0), epb("<", 0, 1, b"v2"))
    frames, notes = read(path)
    assert [f.data for f in frames] == [b"v2"]
    assert "version 2.0" in notes[0].message


def test_frames_straddling_read_chunks(tmp_path: Path) -> None:
    # 3 MiB of frames of awkward sizes: many land across the 1 MiB read boundaries.
    blocks = [shb(), idb("<", 1, 0, tsresol=9)]
    sizes = [(i * 7919) % 9000 + 1 for i in range(700)]
    blocks += [epb("<", 0, i, bytes([i % 256]) * size) for i, size in enumerate(sizes)]
    frames, notes = read(write(tmp_path, *blocks))
    assert notes == []
    assert [f.caplen for f in frames] == sizes
    assert all(f.data == bytes([i % 256]) * sizes[i] for i, f in enumerate(frames))
    assert [f.ts_ns for f in frames] == list(range(700))


@pytest.mark.tshark
def test_matches_tshark(tmp_path: Path, tshark: str) -> None:
    path = write(
        tmp_path,
        shb(),
        idb("<", 1, 0, tsresol=9),
        idb("<", 1, 0, tsresol=0x80 | 20, tsoffset=1_000),
        epb("<", 0, 1_700_000_000_123_456_789, bytes(60), origlen=1514),
        epb("<", 1, 7 << 19, bytes(42)),
        shb(">"),
        idb(">", 1, 0),
        epb(">", 0, 1_700_000_001_000_001, bytes(70)),
    )
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


# ---- timestamps no calendar can show (issue 14) -------------------------------------------


@pytest.mark.parametrize(("tsresol", "tsoffset"), [(0x86, None), (6, 1 << 62), (6, -(1 << 40))])
def test_impossible_timestamps_are_kept_and_reported_once(tmp_path: Path, tsresol: int,
                                                          tsoffset: int | None) -> None:
    # A time in 2023 in microseconds; 0x86 is one flipped bit of the default resolution
    # (2^-6 s instead of 10^-6 s); a huge or negative offset.
    udp = bytes(Ether() / IP() / UDP(sport=1, dport=2) / b"x")
    when = 1_700_000_000_000_000
    path = write(tmp_path, shb(), idb("<", 1, 0, tsresol=tsresol, tsoffset=tsoffset),
                 epb("<", 0, when, udp), epb("<", 0, when + 1, udp))
    frames, notes = read(path)
    assert len(frames) == 2
    assert [n.kind for n in notes] == ["capture.timestamp_range"]
    assert notes[0].frame == 1


def test_read_absolute_time_shows_an_impossible_time_raw(tmp_path: Path, capsys) -> None:
    from cvipsniff.cli import main

    udp = bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5000, dport=7110)
                / bytes.fromhex("43560100010203040010"))
    path = write(tmp_path, shb(), idb("<", 1, 0, tsresol=0x89),
                 epb("<", 0, 1_700_000_000_000_000_000, udp))
    code = main(["read", "-r", str(path), "-t", "a"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "ns(out-of-range)" in out
