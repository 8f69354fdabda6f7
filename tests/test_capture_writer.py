"""PcapWriter / PcapngWriter: files readable by independent readers (scapy, tshark) with
the exact timestamps, lengths and link types written."""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

import pytest
from scapy.utils import RawPcapNgReader, RawPcapReader

from cvipsniff.capture.writer import PcapngWriter, PcapWriter
from cvipsniff.model import LINKTYPE_ETHERNET, LINKTYPE_RAW, Frame

TS = 1_700_000_000_123_456_789  # ns, with a sub-microsecond part


def frame(number: int, data: bytes, *, ts_ns: int = TS, origlen: int | None = None,
          linktype: int = LINKTYPE_ETHERNET, interface: int = 0) -> Frame:
    return Frame(number, ts_ns, len(data), len(data) if origlen is None else origlen,
                 linktype, data, interface)


def test_pcap_global_header_usec() -> None:
    out = io.BytesIO()
    PcapWriter(out, LINKTYPE_ETHERNET).close()
    magic, major, minor, _zone, _sigfigs, snaplen, linktype = struct.unpack(
        "<IHHiIII", out.getvalue())
    assert (magic, major, minor, snaplen, linktype) == (0xA1B2C3D4, 2, 4, 262144, 1)


def test_pcap_record_microseconds_truncate() -> None:
    out = io.BytesIO()
    with PcapWriter(out, LINKTYPE_ETHERNET) as writer:
        writer.write(frame(1, b"abcdef", origlen=60))
    record = out.getvalue()[24:]
    sec, usec, incl, orig = struct.unpack_from("<IIII", record)
    assert (sec, usec, incl, orig) == (1_700_000_000, 123_456, 6, 60)
    assert record[16:] == b"abcdef"


def test_pcap_nanosecond_roundtrip_with_scapy(tmp_path: Path) -> None:
    path = tmp_path / "ns.pcap"
    with PcapWriter(str(path), LINKTYPE_RAW, nanosecond=True) as writer:
        writer.write(frame(1, b"\x45" + bytes(19), linktype=LINKTYPE_RAW))
        writer.write(frame(2, b"xyz", ts_ns=TS + 1, linktype=LINKTYPE_RAW))
    reader = RawPcapReader(str(path))
    assert reader.linktype == LINKTYPE_RAW
    packets = list(reader)
    reader.close()
    assert [p[0] for p in packets] == [b"\x45" + bytes(19), b"xyz"]
    meta = packets[1][1]
    assert (meta.sec, meta.usec) == (1_700_000_000, 123_456_790)  # scapy: usec holds ns


def test_pcap_snaplen_cuts_data_keeps_origlen() -> None:
    out = io.BytesIO()
    with PcapWriter(out, LINKTYPE_ETHERNET, snaplen=4) as writer:
        writer.write(frame(1, b"0123456789"))
    _sec, _frac, incl, orig = struct.unpack_from("<IIII", out.getvalue(), 24)
    assert (incl, orig) == (4, 10)
    assert out.getvalue()[40:] == b"0123"


def test_pcap_rejects_other_linktype_and_closed_writes() -> None:
    writer = PcapWriter(io.BytesIO(), LINKTYPE_ETHERNET)
    with pytest.raises(ValueError, match="link type"):
        writer.write(frame(1, b"x", linktype=LINKTYPE_RAW))
    writer.close()
    writer.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        writer.write(frame(2, b"x"))


def test_caller_owned_fileobj_stays_open_path_is_closed(tmp_path: Path) -> None:
    out = io.BytesIO()
    PcapWriter(out, LINKTYPE_ETHERNET).close()
    assert not out.closed
    path = tmp_path / "owned.pcapng"
    writer = PcapngWriter(path)
    writer.write(frame(1, b"x"))
    writer.close()
    assert writer._file.closed
    assert path.stat().st_size > 0


def test_pcapng_idb_per_linktype_and_interface() -> None:
    out = io.BytesIO()
    with PcapngWriter(out) as writer:
        writer.write(frame(1, b"a" * 14))
        writer.write(frame(2, b"\x45" * 20, linktype=LINKTYPE_RAW))
        writer.write(frame(3, b"b" * 14))
        writer.write(frame(4, b"c" * 14, interface=3))
    blocks = []
    data = out.getvalue()
    offset = 0
    while offset < len(data):
        block_type, length = struct.unpack_from("<II", data, offset)
        assert struct.unpack_from("<I", data, offset + length - 4)[0] == length
        assert length % 4 == 0
        blocks.append((block_type, data[offset + 8 : offset + length - 4]))
        offset += length
    kinds = [b[0] for b in blocks]
    assert kinds == [0x0A0D0D0A, 1, 6, 1, 6, 6, 1, 6]
    idb_linktypes = [struct.unpack_from("<H", body)[0] for kind, body in blocks if kind == 1]
    assert idb_linktypes == [LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_ETHERNET]
    epb_interfaces = [struct.unpack_from("<I", body)[0] for kind, body in blocks if kind == 6]
    assert epb_interfaces == [0, 1, 0, 2]


def test_pcapng_roundtrip_with_scapy_nanoseconds(tmp_path: Path) -> None:
    path = tmp_path / "out.pcapng"
    with PcapngWriter(path) as writer:
        writer.write(frame(1, b"hello", origlen=70))
        writer.write(frame(2, b"\x60" + bytes(39), ts_ns=TS + 7, linktype=LINKTYPE_RAW))
    reader = RawPcapNgReader(str(path))
    got = list(reader)
    reader.close()
    assert [g[0] for g in got] == [b"hello", b"\x60" + bytes(39)]
    first, second = got[0][1], got[1][1]
    assert (first.wirelen, first.linktype, first.tsresol) == (70, 1, 1_000_000_000)
    assert ((second.tshigh << 32) | second.tslow) == TS + 7
    assert second.linktype == LINKTYPE_RAW


def test_pcapng_microsecond_option() -> None:
    out = io.BytesIO()
    with PcapngWriter(out, nanosecond=False) as writer:
        writer.write(frame(1, b"x"))
    data = out.getvalue()
    shb_len = struct.unpack_from("<I", data, 4)[0]
    idb_len = struct.unpack_from("<I", data, shb_len + 4)[0]
    assert idb_len == 20  # no if_tsresol option: default microseconds
    epb = shb_len + idb_len
    high, low = struct.unpack_from("<II", data, epb + 12)
    assert (high << 32) | low == TS // 1000


@pytest.mark.tshark
def test_tshark_reads_both_formats(tmp_path: Path, tshark: str) -> None:
    frames = [frame(i + 1, bytes(range(i, i + 60)), ts_ns=TS + i * 1_000_001)
              for i in range(3)]
    pcap, pcapng = tmp_path / "a.pcap", tmp_path / "a.pcapng"
    with PcapWriter(pcap, LINKTYPE_ETHERNET, nanosecond=True) as w1, PcapngWriter(pcapng) as w2:
        for f in frames:
            w1.write(f)
            w2.write(f)
    for path in (pcap, pcapng):
        out = subprocess.run(
            [tshark, "-r", str(path), "-T", "fields", "-e", "frame.number",
             "-e", "frame.time_epoch", "-e", "frame.len"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout.split("\n")
        rows = [line.split("\t") for line in out if line]
        assert [r[0] for r in rows] == ["1", "2", "3"]
        assert [r[1] for r in rows] == [
            "1700000000.123456789", "1700000000.124456790", "1700000000.125456791"]
        assert [r[2] for r in rows] == ["60", "60", "60"]
