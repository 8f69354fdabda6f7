"""The hostile set of issue 14: captures built to make an analyzer hang or blow up, and the
peak memory and time of ``report`` and ``read`` on each.

    .venv/bin/python bench/hostile.py                      # generate (once) and measure all
    .venv/bin/python bench/hostile.py --only partial-100k  # one capture
    .venv/bin/python bench/hostile.py --generate-only

Captures (written to ``bench/out/hostile/``, git-ignored; deterministic):

* ``syn-1m``: 1,000,000 TCP connections to the CVIP port, each a lone SYN (no payload);
* ``partial-100k``: 100,000 connections each holding the start of a message that never
  completes (half CVIP: a header declaring 4 KB and 100 bytes of body; half ImageServer:
  an XML request with no terminator);
* ``deep-xml``: CVIP and ImageServer messages nested 10,000 elements deep;
* ``declared-4gb``: a CVIP header and an ImageServer Content-length declaring 4 GB, each
  followed by 1 MB of bytes;
* ``jpeg-300mb``: one ImageServer ImageResponse carrying a 300 MB JPEG.

Each command runs as its own process; wall time and peak RSS (the kernel's rusage of the
child) are printed. Nothing is asserted: record the figures with the command.
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "hostile"
CLI = [sys.executable, "-m", "cvipsniff"]

_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
_ETH = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
SERVER = bytes([10, 0, 0, 1])
SYN, ACK_PSH = 0x02, 0x18


def _client(n: int) -> tuple[bytes, int]:
    """A distinct (address, port) per connection number."""
    host = 1 + n // 50_000
    return bytes([10, 1 + (host >> 16) % 250, (host >> 8) & 0xFF, host & 0xFF]), \
        1024 + n % 50_000


def _packet(src: bytes, sport: int, dst: bytes, dport: int, seq: int, flags: int,
            payload: bytes = b"") -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, src, dst)
    return _ETH + ip + tcp + payload


class _Pcap:
    def __init__(self, path: Path) -> None:
        self.fh = path.open("wb")
        self.fh.write(_PCAP_HEADER)
        self.usec = 1_700_000_000 * 1_000_000

    def write(self, frame: bytes) -> None:
        self.usec += 10
        sec, usec = divmod(self.usec, 1_000_000)
        self.fh.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)

    def stream(self, src: bytes, sport: int, dst: bytes, dport: int, data: bytes,
               seq: int = 1000, mss: int = 1448) -> None:
        for i in range(0, len(data), mss):
            self.write(_packet(src, sport, dst, dport, seq + i, ACK_PSH, data[i:i + mss]))

    def close(self) -> None:
        self.fh.close()


def _cvip_header(size: int, txn: int) -> bytes:
    from dissectors.cvip import encode_header

    return encode_header(size, txn)


def gen_syn(pcap: _Pcap, count: int = 1_000_000) -> None:
    for n in range(count):
        src, sport = _client(n)
        pcap.write(_packet(src, sport, SERVER, 7110, n, SYN))


def gen_partial(pcap: _Pcap, count: int = 100_000) -> None:
    head = _cvip_header(4096, 1)
    cvip = head + b"<methodCall><methodName>cviStream.list</methodName><params>" + b" " * 32
    imgs = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodcall><requestid>1</requestid>"
            b"<methodname>connect</methodname><username>u</username>")
    for n in range(count):
        src, sport = _client(n)
        if n % 2:
            pcap.write(_packet(src, sport, SERVER, 7563, 1, ACK_PSH, imgs))
        else:
            pcap.write(_packet(src, sport, SERVER, 7110, 1, ACK_PSH, cvip[:109]))


def gen_deep(pcap: _Pcap, depth: int = 10_000) -> None:
    body = (b"<methodCall><methodName>x.y</methodName><params><param><value>"
            + b"<array><data><value>" * depth + b"<int>1</int>"
            + b"</value></data></array>" * depth + b"</value></param></params></methodCall>")
    pcap.stream(bytes([10, 2, 0, 1]), 40000, SERVER, 7110, _cvip_header(9 + len(body), 1) + body)
    xml = (b"<methodcall><requestid>1</requestid><methodname>ptz</methodname>"
           + b"<a>" * depth + b"</a>" * depth + b"</methodcall>\r\n\r\n")
    pcap.stream(bytes([10, 2, 0, 2]), 40001, SERVER, 7563, xml)


def gen_declared(pcap: _Pcap) -> None:
    filler = bytes(range(256)) * 4096  # 1 MB
    pcap.stream(bytes([10, 3, 0, 1]), 40000, SERVER, 7110,
                _cvip_header(0xFFFFFFFF, 5) + b"<methodCall>" + filler)
    head = (b"ImageResponse\r\nRequestId: 1\r\nPrev: 1\r\nCurrent: 2\r\nNext: 3\r\n"
            b"Content-length: 4294967296\r\nContent-type: image/jpeg\r\n\r\n")
    pcap.stream(SERVER, 7563, bytes([10, 3, 0, 2]), 40001, head + b"\xff\xd8" + filler)


def gen_jpeg(pcap: _Pcap, size: int = 300 << 20) -> None:
    head = ("ImageResponse\r\nRequestId: 1\r\nPrev: 1\r\nCurrent: 2\r\nNext: 3\r\n"
            f"Content-length: {size}\r\nContent-type: image/jpeg\r\n\r\n").encode()
    client = bytes([10, 4, 0, 1])
    seq = 1000
    pcap.stream(SERVER, 7563, client, 40000, head, seq=seq)
    seq += len(head)
    chunk = b"\xff\xd8\xff\xe0" + bytes(1444)  # first segment starts the JPEG
    filler = bytes(range(1, 256)) * 6  # no 0xFF 0xD9 inside
    sent = 0
    while sent < size:
        part = chunk if sent == 0 else filler[: min(1448, size - sent)]
        if sent + len(part) >= size:
            part = part[: size - sent - 2] + b"\xff\xd9"
        pcap.write(_packet(SERVER, 7563, client, 40000, seq + sent, ACK_PSH, part))
        sent += len(part)
    pcap.write(_packet(SERVER, 7563, client, 40000, seq + sent, ACK_PSH, b"\r\n"))


CAPTURES: dict[str, Callable[[_Pcap], None]] = {
    "syn-1m": gen_syn,
    "partial-100k": gen_partial,
    "deep-xml": gen_deep,
    "declared-4gb": gen_declared,
    "jpeg-300mb": gen_jpeg,
}
COMMANDS = (
    ("report --format json", ["report", "--format", "json", "{path}"]),
    ("read -T json", ["read", "-r", "{path}", "-T", "json"]),
    ("read (text)", ["read", "-r", "{path}"]),
)

_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "wall = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(code, wall, rss)\n"
)


def generate(name: str, force: bool = False) -> Path:
    path = OUT / f"{name}.pcap"
    if path.exists() and not force:
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pcap = _Pcap(tmp)
    CAPTURES[name](pcap)
    pcap.close()
    tmp.replace(path)
    return path


def measure(argv: list[str], timeout: float) -> tuple[int, float, float]:
    """Exit status, wall seconds and peak RSS (MB) of ``argv`` as its own process."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True,
                         text=True, check=True, timeout=timeout).stdout.split()
    return int(out[0]), float(out[1]), int(out[2]) / 1024.0


def _rows(names: list[str], timeout: float) -> Iterator[str]:
    for name in names:
        path = generate(name)
        size = path.stat().st_size / 1e6
        for label, command in COMMANDS:
            argv = [*CLI, *(part.format(path=path) for part in command)]
            try:
                code, wall, rss = measure(argv, timeout)
                yield (f"{name:<14} {size:>8.1f} MB  {label:<22} exit {code}  "
                       f"{wall:>8.1f} s  peak RSS {rss:>7.1f} MB")
            except subprocess.TimeoutExpired:
                yield f"{name:<14} {size:>8.1f} MB  {label:<22} did not finish in {timeout} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(CAPTURES))
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--timeout", type=float, default=1200.0)
    args = parser.parse_args()
    names = args.only or list(CAPTURES)
    for name in names:
        generate(name, force=args.regenerate)
    if args.generate_only:
        return 0
    for row in _rows(names, args.timeout):
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
