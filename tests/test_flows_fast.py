"""``cvipsniff flows``' statistics-only pass (:mod:`cvipsniff.flowstats`, the compiled
``flow_stats``) against the reference pipeline (reader → decoder → ``FlowTable``).

Whenever the pass answers, its flows must equal the reference's field for field; when in
doubt it must decline. Checked on every bundled capture (pcapng) as it is and rewritten as
classic pcap, on mutated copies of plain captures (frames dropped, repeated, swapped,
delayed, flags and windows changed, the file cut; random bytes of a pcapng file changed),
on hand-made conversations of the cases the pass takes (handshakes from either side,
mid-session pick-ups, keep-alives, resets, sequence wrap-around, a 4-tuple reused after
TIME-WAIT, UDP, ARP/ICMP/... frames; pcapng byte orders, resolutions, offsets, sections
and skipped blocks) and of cases it must decline, and through the command line on both
paths (text, ``-T json``, ``--notes``), byte for byte, on every bundled capture.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cvipsniff.capture import open_capture
from cvipsniff.capture.writer import PcapWriter
from cvipsniff.commands.flows import _reference_flows, json_pieces, table_lines
from cvipsniff.flows import FlowTable
from cvipsniff.flows.table import DEFAULT_CLOSED_LINGER_NS
from cvipsniff.flowstats import plain_flows
from cvipsniff.model import Flow, Frame
from cvipsniff.pipeline import default_server_ports, iter_flow_events
from cvipsniff.render import flow_json
from dissectors.accel import COMPILED

from .conftest import CAPTURES, ROOT

compiled_only = pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built")

PORTS = default_server_ports()
SERVER_PORT = 7563 if 7563 in PORTS else min(PORTS)
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
CAPTURE_FILES = sorted(CAPTURES.rglob("*.pcap*"))


# ---- building captures ---------------------------------------------------------------

def tcp(src: int, sport: int, dst: int, dport: int, seq: int, ack: int, flags: int,
        payload: bytes = b"", window: int = 8192) -> bytes:
    """An Ethernet/IPv4/TCP frame between 10.0.0.<src> and 10.0.0.<dst>."""
    segment = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                          0x50, flags, window, 0, 0) + payload
    return _ipv4(src, dst, 6, segment)


def udp(src: int, sport: int, dst: int, dport: int, payload: bytes) -> bytes:
    return _ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
                 + payload)


def _ipv4(src: int, dst: int, protocol: int, body: bytes) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0x4000, 64, protocol, 0,
                     bytes([10, 0, 0, src]), bytes([10, 0, 0, dst]))
    frame = b"\x00" * 12 + b"\x08\x00" + ip + body
    return frame + b"\x00" * (60 - len(frame))  # Ethernet's minimum, as on the wire


def noise() -> list[bytes]:
    """Frames the reference decoder drops without a note: ARP, STP (802.3 LLC), LLDP,
    ICMP, ICMPv6 echo."""
    ipv6 = (b"\x00" * 12 + b"\x86\xdd" + struct.pack("!IHBB", 6 << 28, 8, 58, 64)
            + bytes(32) + b"\x80\x00" + bytes(6))
    return [b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + bytes(28),
            b"\x01\x80\xc2" + bytes(9) + b"\x00\x26\x42\x42\x03" + bytes(41),
            b"\x01\x80\xc2" + bytes(9) + b"\x88\xcc" + bytes(46),
            _ipv4(2, 1, 1, b"\x08\x00" + bytes(30)), ipv6]


def write_pcap(path: Path, frames: list[tuple[int, bytes]], linktype: int = 1) -> Path:
    """(time in ns, frame) pairs as a nanosecond classic pcap file (Ethernet frames
    unless ``linktype`` says otherwise)."""
    with PcapWriter(str(path), linktype, nanosecond=True) as writer:
        for number, (ts_ns, data) in enumerate(frames, 1):
            writer.write(Frame(number, ts_ns, len(data), len(data), linktype, data, 0))
    return path


def tagged(data: bytes, *tags: int) -> bytes:
    """An Ethernet frame with VLAN tags (TPIDs ``tags``, outermost first) inserted."""
    return data[:12] + b"".join(struct.pack("!HH", tpid, 7) for tpid in tags) + data[12:]


def as_pcap(capture: Path, dest: Path) -> list[tuple[int, bytes]] | None:
    """A bundled capture's frames rewritten as classic pcap (None: not all Ethernet)."""
    frames: list[tuple[int, bytes]] = []
    with open_capture(str(capture), on_note=lambda _note: None) as reader:
        for frame in reader:
            if frame.linktype != 1 or not 0 <= frame.ts_ns < 1 << 62:
                return None
            frames.append((frame.ts_ns, frame.data))
    write_pcap(dest, frames)
    return frames


def compare(path: Path) -> list[Flow] | None:
    """The fast pass's flows for ``path`` (None: declined), checked equal to the
    reference's whenever it answers."""
    found = plain_flows(str(path), PORTS)
    fast = None if found is None else list(found)
    if fast is not None:
        reference = _reference_flows(str(path), PORTS, None)
        assert fast == reference, path
    return fast


def compare_limits(path: Path, max_flows: int, linger_ns: int) -> list[Flow] | None:
    """:func:`compare` with a smaller flow table and TIME-WAIT than the defaults."""
    found = plain_flows(str(path), PORTS, max_flows=max_flows, closed_linger_ns=linger_ns)
    fast = None if found is None else list(found)
    if fast is not None:
        table = FlowTable(server_ports=PORTS, max_flows=max_flows,
                          closed_linger_ns=linger_ns)
        for _event in iter_flow_events(str(path), flow_table=table):
            pass
        assert fast == list(table.flows), path
    return fast


def conversation(client: int, cport: int, start_ns: int, isn: int = 1000,
                 server_isn: int = 5000, requests: int = 2, close: str = "fin",
                 keep_alive: bool = False) -> list[tuple[int, bytes]]:
    """A plain TCP conversation with SERVER_PORT of 10.0.0.1."""
    t = start_ns
    out = []

    def put(frame: bytes) -> None:
        nonlocal t
        out.append((t, frame))
        t += 1_000_000

    c, s = isn + 1, server_isn + 1
    put(tcp(client, cport, 1, SERVER_PORT, isn, 0, SYN))
    put(tcp(1, SERVER_PORT, client, cport, server_isn, c, SYN | ACK))
    put(tcp(client, cport, 1, SERVER_PORT, c, s, ACK))
    for i in range(requests):
        ask, answer = b"Q" * (10 + i), b"A" * (300 + i)
        put(tcp(client, cport, 1, SERVER_PORT, c, s, PSH | ACK, ask))
        c += len(ask)
        put(tcp(1, SERVER_PORT, client, cport, s, c, PSH | ACK, answer))
        s += len(answer)
        put(tcp(client, cport, 1, SERVER_PORT, c, s, ACK))
        if keep_alive:
            put(tcp(client, cport, 1, SERVER_PORT, c - 1, s, ACK, b"\x00"))
            put(tcp(1, SERVER_PORT, client, cport, s, c, ACK))
    if close == "fin":
        put(tcp(client, cport, 1, SERVER_PORT, c, s, FIN | ACK))
        put(tcp(1, SERVER_PORT, client, cport, s, c + 1, FIN | ACK))
        put(tcp(client, cport, 1, SERVER_PORT, c + 1, s + 1, ACK))
    elif close == "rst":
        put(tcp(client, cport, 1, SERVER_PORT, c, 0, RST, window=0))
    return out


# ---- the bundled captures ------------------------------------------------------------

@compiled_only
def test_bundled_captures(tmp_path: Path) -> None:
    """Every bundled capture, as it is (pcapng) and rewritten as classic pcap: the pass
    equals the reference or declines; it takes the plain ones and declines the impaired
    ones."""
    taken, declined = [], []
    for index, capture in enumerate(CAPTURE_FILES):
        (taken if compare(capture) is not None else declined).append(capture.name)
        dest = tmp_path / f"{index}.pcap"
        if as_pcap(capture, dest) is not None:
            compare(dest)
    assert taken and declined, (taken, declined)


@compiled_only
def test_compressed_files_and_stdin_decline(tmp_path: Path) -> None:
    """Only uncompressed files are walked: the reference reads everything else."""
    plain = write_pcap(tmp_path / "c.pcap", conversation(2, 40000, 10**18))
    assert compare(plain) is not None
    for source in (plain, CAPTURE_FILES[0]):
        gz = tmp_path / (source.name + ".gz")
        with gz.open("wb") as out:
            subprocess.run(["gzip", "-c", str(source)], stdout=out, check=True)
        assert plain_flows(str(gz), PORTS) is None
    assert plain_flows("-", PORTS) is None
    assert plain_flows(str(tmp_path / "missing.pcap"), PORTS) is None


# ---- pcapng blocks -------------------------------------------------------------------

def _block(order: str, btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(order + "II", btype, length) + body + struct.pack(order + "I", length)


def _option(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def pcapng(frames: list[tuple[int, bytes]], *, order: str = "<", tsresol: bytes | None = b"\x09",
           tsoffset: int | None = None, extra: bytes = b"", major: int = 1,
           idb_options: bytes | None = None) -> bytes:
    """A pcapng section: SHB, one Ethernet IDB (``if_tsresol``/``if_tsoffset`` options as
    given), ``extra`` blocks, then the frames as EPBs (times in ns converted)."""
    shb = _block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, major, 0, -1))
    if idb_options is None:
        idb_options = b""
        if tsresol is not None:
            idb_options += _option(order, 9, tsresol)
        if tsoffset is not None:
            idb_options += _option(order, 14, struct.pack(order + "q", tsoffset))
        if idb_options:
            idb_options += _option(order, 0, b"")
    idb = _block(order, 1, struct.pack(order + "HHI", 1, 0, 0) + idb_options)
    scale = 1 if tsresol == b"\x09" else 1000 if tsresol in (None, b"", b"\x06") else None
    out = [shb, idb, extra]
    for ts_ns, data in frames:
        raw = (ts_ns - (tsoffset or 0) * 10**9) // (scale or 1)
        out.append(_block(order, 6, struct.pack(order + "IIIII", 0, raw >> 32,
                                                  raw & 0xFFFFFFFF, len(data), len(data))
                          + data))
    return b"".join(out)


@compiled_only
@pytest.mark.parametrize("variant", ["plain", "big-endian", "microseconds", "default-resolution",
                                     "tsoffset", "other-blocks", "two-sections"])
def test_plain_pcapng_taken_and_equal(tmp_path: Path, variant: str) -> None:
    frames = conversation(2, 40000, 1_700_000_000 * 10**9)
    frames += [(frames[-1][0], f) for f in noise()]
    kwargs: dict = {}
    if variant == "big-endian":
        kwargs["order"] = ">"
    elif variant == "microseconds":
        kwargs["tsresol"] = b"\x06"
    elif variant == "default-resolution":
        kwargs["tsresol"] = None
    elif variant == "tsoffset":
        kwargs["tsoffset"] = 1_600_000_000
    elif variant == "other-blocks":  # name resolution, statistics, custom: skipped
        kwargs["extra"] = (_block("<", 4, bytes(4)) + _block("<", 5, bytes(12))
                           + _block("<", 0xBAD, b"\x00\x00\x7f\x00data"))
    data = pcapng(frames, **kwargs)
    if variant == "two-sections":
        data = pcapng(frames[:6]) + pcapng(frames[6:], order=">")
    path = tmp_path / "c.pcapng"
    path.write_bytes(data)
    assert compare(path) is not None


@compiled_only
@pytest.mark.parametrize("variant", ["cut", "trailing-length", "simple-packet-block",
                                     "bad-options", "version-2", "odd-time",
                                     "undeclared-interface", "huge-divisor"])
def test_unusual_pcapng_declined(tmp_path: Path, variant: str) -> None:
    frames = conversation(2, 40000, 1_700_000_000 * 10**9)
    data = pcapng(frames)
    if variant == "cut":
        data = data[:-5]
    elif variant == "trailing-length":
        data = data[:-1] + b"\x01"
    elif variant == "simple-packet-block":
        data += _block("<", 3, struct.pack("<I", 60) + frames[0][1])
    elif variant == "bad-options":
        data = pcapng(frames, idb_options=struct.pack("<HH", 9, 40) + b"\x09\x00\x00\x00")
    elif variant == "version-2":
        data = pcapng(frames, major=2)
    elif variant == "odd-time":  # before 1970 (noted once per interface)
        data = pcapng([], tsoffset=-10) + _block("<", 6, struct.pack(
            "<IIIII", 0, 0, 0, len(frames[0][1]), len(frames[0][1])) + frames[0][1])
    elif variant == "undeclared-interface":
        data += _block("<", 6, struct.pack("<IIIII", 1, 0, 0, len(frames[0][1]),
                                           len(frames[0][1])) + frames[0][1])
    else:
        data = pcapng([], tsresol=b"\xff") + _block("<", 6, struct.pack(
            "<IIIII", 0, 1, 0, len(frames[0][1]), len(frames[0][1])) + frames[0][1])
    path = tmp_path / "c.pcapng"
    path.write_bytes(data)
    assert plain_flows(str(path), PORTS) is None


@compiled_only
def test_damaged_pcapng(tmp_path: Path) -> None:
    """Random bytes of a plain pcapng file changed: equal to the reference or declined."""
    rng = random.Random(99)
    frames = sorted(conversation(2, 40000, 10**18) + conversation(3, 40001, 10**18 + 1)
                    + [(10**18 + 5, f) for f in noise()], key=lambda f: f[0])
    plain = pcapng(frames, extra=_block("<", 5, bytes(12)))
    answered = 0
    for n in range(150):
        data = bytearray(plain)
        for _ in range(rng.choice([1, 1, 2])):
            data[rng.randrange(len(data))] = rng.choice([0, 1, 0xFF, rng.randrange(256)])
        path = tmp_path / f"d{n}.pcapng"
        path.write_bytes(bytes(data))
        answered += compare(path) is not None
    assert 0 < answered < 150


# ---- mutations of plain captures -----------------------------------------------------

def _mutate(rng: random.Random, frames: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    frames = list(frames)
    for _ in range(rng.choice([1, 1, 2, 3])):
        i = rng.randrange(len(frames))
        ts, data = frames[i]
        kind = rng.choice(["drop", "repeat", "swap", "late", "flags", "window", "seq",
                           "byte"])
        if kind == "drop":
            del frames[i]
        elif kind == "repeat":
            frames.insert(i + 1, (ts, data))
        elif kind == "swap" and i + 1 < len(frames):
            frames[i], frames[i + 1] = (frames[i + 1][0], data), (ts, frames[i + 1][1])
        elif kind == "late":
            frames[i] = (max(0, ts - rng.choice([1, 10**9, 300 * 10**9])), data)
        elif len(data) > 54:
            at = {"flags": 47, "window": 48, "seq": 41, "byte": rng.randrange(len(data))}.get(
                kind, 47)
            value = rng.choice([0, 1, 2, 4, 0x11, 0x12, 0x14, 0xFF, data[at] ^ 1])
            frames[i] = (ts, data[:at] + bytes([value]) + data[at + 1:])
        if not frames:
            break
    return frames


@compiled_only
def test_mutated_plain_captures(tmp_path: Path) -> None:
    """Damaged copies of plain captures: equal to the reference whenever answered."""
    rng = random.Random(1717)
    made = sorted(conversation(2, 40000, 10**18, requests=3) + conversation(3, 40001, 10**18 + 1)
                  + [(10**18 + 2 * 10**7, udp(4, 5000, 1, SERVER_PORT, b"ping request"))]
                  + [(10**18 + 3 * 10**7, frame) for frame in noise()], key=lambda f: f[0])
    assert compare(write_pcap(tmp_path / "made.pcap", made)) is not None
    sources = [made, [(ts, tagged(data, 0x8100)) for ts, data in made]]
    for index, capture in enumerate(CAPTURE_FILES[:20]):
        frames = as_pcap(capture, tmp_path / f"src{index}.pcap")
        if frames and compare(tmp_path / f"src{index}.pcap") is not None:
            sources.append(frames)
    answered = declined = 0
    for n in range(160):
        frames = _mutate(rng, rng.choice(sources))
        if not frames:
            continue
        path = write_pcap(tmp_path / f"m{n}.pcap", frames)
        if n % 10 == 0:  # a cut file: a partial record at the end
            data = path.read_bytes()
            path.write_bytes(data[:rng.randrange(24, len(data))])
        if compare(path) is None:
            declined += 1
        else:
            answered += 1
    assert answered and declined, (answered, declined)


# ---- hand-made conversations ---------------------------------------------------------

@compiled_only
@pytest.mark.parametrize("name", ["fin", "rst", "open", "keep-alive", "wrap", "syn-ack-first",
                                  "mid-session", "reuse-after-linger", "udp", "noise", "vlan",
                                  "linux-cooked"])
def test_plain_cases_taken_and_equal(tmp_path: Path, name: str) -> None:
    t0 = 1_700_000_000 * 10**9
    if name in ("fin", "rst", "open"):
        frames = conversation(2, 40000, t0, close=name)
    elif name == "keep-alive":
        frames = conversation(2, 40000, t0, keep_alive=True)
    elif name == "wrap":
        frames = conversation(2, 40000, t0, isn=0xFFFFFFF0, server_isn=0xFFFFFF00,
                              requests=4)
    elif name == "syn-ack-first":
        frames = conversation(2, 40000, t0)[1:]
    elif name == "mid-session":
        frames = conversation(2, 40000, t0)[4:]
    elif name == "reuse-after-linger":
        frames = (conversation(2, 40000, t0)
                  + conversation(2, 40000, t0 + DEFAULT_CLOSED_LINGER_NS + 10**9, isn=9))
    elif name == "vlan":  # 802.1Q, QinQ, stacks: walked to the same packets
        frames = conversation(2, 40000, t0)
        frames = [(ts, tagged(data, *[(0x8100, 0x88A8, 0x9100)[j] for j in range(i % 4)]))
                  for i, (ts, data) in enumerate(frames)]
    elif name == "linux-cooked":  # `-i any`: a 16-byte header, the protocol at 14
        frames = [(ts, b"\x00\x00" + data) for ts, data in conversation(2, 40000, t0)]
        frames += [(t0 + 10**9, b"\x00\x00" + frame) for frame in noise()]
        flows = compare(write_pcap(tmp_path / "c.pcap", frames, linktype=113))
        assert flows is not None
        return
    elif name == "noise":
        frames = conversation(2, 40000, t0)
        for i, frame in enumerate(noise()):
            frames.insert(2 * i + 1, (frames[2 * i][0], frame))
    else:
        frames = [(t0 + i * 10**8, udp(2 + i % 2, 5000, 1, SERVER_PORT, b"x" * (12 + i % 3)))
                  for i in range(12)]
        frames.append((t0 + 12 * 10**8, udp(1, SERVER_PORT, 2, 5000, b"answer to them")))
    flows = compare(write_pcap(tmp_path / "c.pcap", frames))
    assert flows is not None, name
    if name == "reuse-after-linger":
        assert len(flows) == 2


@compiled_only
@pytest.mark.parametrize("name", ["retransmission", "hole", "zero-window", "port-reuse",
                                  "data-after-close", "udp-duplicate", "backwards",
                                  "nine-vlan-tags", "cut-vlan-tag", "bad-ip-header",
                                  "short-udp", "ipv6-extension"])
def test_unusual_cases_declined(tmp_path: Path, name: str) -> None:
    """Each of these has a note, a counter or a decision only the reference makes."""
    t0 = 1_700_000_000 * 10**9
    frames = conversation(2, 40000, t0)
    if name == "retransmission":
        frames.insert(5, frames[3])
    elif name == "hole":
        del frames[3]
    elif name == "zero-window":
        ts, _ = frames[5]
        frames[5] = (ts, tcp(2, 40000, 1, SERVER_PORT, 1011, 5301, ACK, window=0))
    elif name == "port-reuse":
        frames += conversation(2, 40000, t0 + 10**9, isn=77)
    elif name == "data-after-close":
        frames.append((t0 + 10**9, tcp(2, 40000, 1, SERVER_PORT, 5, 5, ACK, b"late")))
    elif name == "udp-duplicate":
        frames = [(t0, udp(2, 5000, 1, SERVER_PORT, b"same datagram")),
                  (t0 + 1000, udp(2, 5000, 1, SERVER_PORT, b"same datagram"))]
    elif name == "backwards":
        frames[4] = (t0 - 1, frames[4][1])
    elif name == "nine-vlan-tags":  # the reference stops at eight, with a note
        ts, data = frames[3]
        frames[3] = (ts, tagged(data, *[0x8100] * 9))
    elif name == "cut-vlan-tag":  # a frame that ends inside a tag: a note
        frames.insert(2, (frames[1][0], b"\x00" * 12 + b"\x81\x00\x00\x07\x81\x00"))
    elif name == "bad-ip-header":  # ICMP in an IPv4 header of length 16: a note
        frames.insert(2, (frames[1][0], _ipv4(2, 1, 1, bytes(30))[:14] + b"\x44"
                          + _ipv4(2, 1, 1, bytes(30))[15:]))
    elif name == "short-udp":  # a UDP datagram below the fast path's 40 IPv4 bytes
        frames.append((frames[-1][0], udp(2, 5000, 1, SERVER_PORT, b"hi")))
    else:  # ICMPv6 behind a hop-by-hop header: walked by the reference
        frames.append((frames[-1][0], b"\x00" * 12 + b"\x86\xdd"
                       + struct.pack("!IHBB", 6 << 28, 16, 0, 64) + bytes(32)
                       + bytes([58, 0]) + bytes(6) + b"\x80\x00" + bytes(6)))
    path = write_pcap(tmp_path / "c.pcap", frames)
    assert plain_flows(str(path), PORTS) is None


# ---- the flow table's cap and TIME-WAIT ----------------------------------------------

def _sessions(rng: random.Random, count: int, spacing_ns: int) -> list[tuple[int, bytes]]:
    """``count`` short conversations, a new one every ``spacing_ns``, some on the 4-tuple
    of the tenth before (a new flow if that one has lingered long enough, else a reuse the
    pass declines), closed by FIN or RST or left open."""
    frames: list[tuple[int, bytes]] = []
    for i in range(count):
        port = 40000 + (i - 10 if i >= 10 and rng.random() < 0.3 else i)
        frames += conversation(2, port, 10**18 + i * spacing_ns, isn=rng.randrange(1 << 32),
                               requests=rng.randrange(3),
                               close=rng.choice(["fin"] * 7 + ["rst"] * 2 + ["open"]))
    return sorted(frames, key=lambda f: f[0])


@compiled_only
def test_many_flows_over_time_taken_while_the_table_has_room(tmp_path: Path) -> None:
    """Far more flows than the table holds: closed connections are forgotten after
    TIME-WAIT as the reference forgets them, and a full table evicts as the reference's
    does (closed flows first, then the least recently active)."""
    frames: list[tuple[int, bytes]] = []
    for i in range(60):
        frames += conversation(2 + i % 3, 40000 + i, 10**18 + i * 50 * 10**6)
    path = write_pcap(tmp_path / "many.pcap", sorted(frames, key=lambda f: f[0]))
    assert compare_limits(path, 8, 100 * 10**6) is not None  # a few held at once
    assert compare_limits(path, 8, 10**9) is not None  # ~20 would be held: evictions
    assert compare_limits(path, 64, 10**9) is not None


@compiled_only
def test_a_full_table_evicts_as_the_reference(tmp_path: Path) -> None:
    """Lone SYNs (a flood), some answered, some ports coming back after their flow was
    evicted, mixed with UDP conversations, through small tables."""
    rng = random.Random(8)
    frames = []
    for i in range(300):
        # Mostly new ports; some the port of the 150th flow before, long evicted.
        port = 30000 + (i - 150 if i >= 150 and rng.random() < 0.2 else i)
        ts = 10**18 + i * 10**5
        if rng.random() < 0.2:
            frames.append((ts, udp(4, port, 1, SERVER_PORT, b"datagram %03d    " % i)))
            continue
        frames.append((ts, tcp(2, port, 1, SERVER_PORT, rng.randrange(1 << 32), 0, SYN)))
    path = write_pcap(tmp_path / "flood.pcap", frames)
    for cap in (16, 40, 100):
        flows = compare_limits(path, cap, 10**9)
        assert flows is not None and len(flows) == 300
        assert sum(f.closed == "evicted" for f in flows) > 300 - 2 * cap


@compiled_only
def test_time_wait_counts_from_the_last_late_packet(tmp_path: Path) -> None:
    """A closed connection that keeps receiving late ACKs is forgotten TIME-WAIT after
    the last of them, not after its close (``FlowTable._retire``): a late ACK within that
    time is still its own, not a new flow."""
    ms = 10**6
    first = conversation(2, 40000, 10**18)  # closed by FIN at +12 ms
    late_ack = tcp(2, 40000, 1, SERVER_PORT, 1013, 5302, ACK)
    frames = [*first, (10**18 + 60 * ms, late_ack),
              *conversation(3, 40001, 10**18 + 110 * ms),  # its SYN retires old flows
              (10**18 + 150 * ms, late_ack)]
    path = write_pcap(tmp_path / "late.pcap", sorted(frames, key=lambda f: f[0]))
    flows = compare_limits(path, 4, 100 * ms)
    assert flows is not None and len(flows) == 2
    assert flows[0].stats[0].packets == 10  # 8 of the conversation, both late ACKs


@compiled_only
def test_flow_table_limits_random(tmp_path: Path) -> None:
    """Random session mixes, caps and TIME-WAITs: equal to the reference or declined."""
    rng = random.Random(23)
    answered = declined = past_cap = 0
    for n in range(100):
        frames = _sessions(rng, rng.randrange(5, 60), rng.choice([10**6, 30 * 10**6]))
        if rng.random() < 0.3:
            frames = _mutate(rng, frames)
        path = write_pcap(tmp_path / f"s{n}.pcap", frames)
        cap = rng.choice([4, 8, 16, 64])
        result = compare_limits(path, cap, rng.choice([0, 5 * 10**6, 50 * 10**6, 10**9]))
        answered += result is not None
        declined += result is None
        past_cap += result is not None and len(result) > cap  # retired flows made room
    assert past_cap and declined, (answered, declined, past_cap)


# ---- the command line, both paths ----------------------------------------------------

def _cli(files: list[Path], pure: bool) -> list[bytes]:
    env = dict(os.environ)
    env.pop("CVIPSNIFF_PURE_PYTHON", None)
    if pure:
        env["CVIPSNIFF_PURE_PYTHON"] = "1"
    outputs = []
    for path in files:
        for extra in ([], ["-T", "json"], ["--notes"]):
            done = subprocess.run([sys.executable, "-m", "cvipsniff", "flows", "-r", str(path),
                                   *extra], cwd=ROOT, env=env, capture_output=True,
                                  timeout=300, check=False)
            outputs.append(done.stdout + b"\0" + done.stderr + bytes([done.returncode]))
    return outputs


@pytest.mark.one_path  # runs each path itself
def test_cli_same_output_on_both_paths(tmp_path: Path) -> None:
    """`flows` text, JSON and --notes byte for byte on the compiled and pure paths, on a
    plain pcap, an impaired one, a bundled pcapng and a cut file."""
    plain = write_pcap(tmp_path / "plain.pcap", conversation(2, 40000, 10**18)
                       + conversation(3, 40001, 10**18 + 5 * 10**6, close="rst"))
    frames = conversation(2, 40000, 10**18)
    frames.insert(5, frames[3])
    impaired = write_pcap(tmp_path / "impaired.pcap", frames)
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(plain.read_bytes()[:-7])
    files = [plain, impaired, cut, CAPTURE_FILES[0]]
    assert _cli(files, pure=False) == _cli(files, pure=True)


# One process per path runs `flows` three ways on every file given (the accelerator is
# chosen at import), each output into OUTDIR/<index>.<way>.
_CLI_ALL = """
import contextlib, io, sys
from pathlib import Path
from cvipsniff.cli import main
out = Path(sys.argv[1])
for index, capture in enumerate(sys.argv[2:]):
    for way, extra in (("text", []), ("json", ["-T", "json"]), ("notes", ["--notes"])):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(["flows", "-r", capture, *extra])
        (out / f"{index}.{way}").write_text(f"{code}\\n{buffer.getvalue()}")
"""


def test_cli_every_bundled_capture_same_on_both_paths(tmp_path: Path) -> None:
    """Every bundled capture (most of them taken by the compiled pass): `flows` text,
    JSON and --notes identical on both paths."""
    files = [str(p) for p in CAPTURE_FILES]
    outputs = {}
    for pure in (False, True):
        out = tmp_path / ("pure" if pure else "compiled")
        out.mkdir()
        env = dict(os.environ)
        env.pop("CVIPSNIFF_PURE_PYTHON", None)
        if pure:
            env["CVIPSNIFF_PURE_PYTHON"] = "1"
        subprocess.run([sys.executable, "-c", _CLI_ALL, str(out), *files], cwd=ROOT, env=env,
                       check=True, timeout=600)
        outputs[pure] = {p.name: p.read_text() for p in out.iterdir()}
    assert len(outputs[False]) == 3 * len(files)
    differ = sorted(name for name, text in outputs[False].items()
                    if outputs[True][name] != text)
    assert not differ, differ


def test_pure_python_path_always_declines(tmp_path: Path) -> None:
    """On the pure-Python path every file goes through the reference."""
    plain = write_pcap(tmp_path / "plain.pcap", conversation(2, 40000, 10**18))
    env = dict(os.environ, CVIPSNIFF_PURE_PYTHON="1")
    code = ("import sys; from cvipsniff.flowstats import plain_flows; "
            "from dissectors.accel import COMPILED; "
            "print(COMPILED, plain_flows(sys.argv[1], {7563}))")
    done = subprocess.run([sys.executable, "-c", code, str(plain)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["False", "None"]


@pytest.mark.parametrize("count", [0, 1, 3])
def test_json_written_flow_by_flow_as_json_dump_writes_it(tmp_path: Path, count: int) -> None:
    """`flows -T json` is written one flow at a time: the same bytes as one json.dump."""
    frames: list[tuple[int, bytes]] = []
    for i in range(count):
        frames += conversation(2 + i, 40000 + i, 10**18 + i * 10**9, close="rst")
    flows = _reference_flows(str(write_pcap(tmp_path / "c.pcap", frames)), PORTS, None)
    assert len(flows) == count
    expected = json.dumps({"flows": [flow_json(f) for f in flows]}, indent=1) + "\n"
    assert "".join(json_pieces(flows)) == expected
    table = "".join(table_lines(flows, min((f.first_ts_ns for f in flows), default=0)))
    assert table.endswith(f"\n{count} flows\n") and table.count("\n") == count + 3


def test_a_pipe_is_read_once(tmp_path: Path) -> None:
    """`flows -r FIFO` (or /dev/stdin, <(zcat ...)): the fast pass must not consume a
    stream the reference would then find empty (an impaired capture, which it declines)."""
    frames = conversation(2, 40000, 10**18)
    frames.insert(5, frames[3])
    impaired = write_pcap(tmp_path / "impaired.pcap", frames)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as out:
            out.write(impaired.read_bytes())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    done = subprocess.run([sys.executable, "-m", "cvipsniff", "flows", "-r", str(fifo)],
                          cwd=ROOT, capture_output=True, timeout=60, check=False)
    writer.join(timeout=5)
    expected = subprocess.run([sys.executable, "-m", "cvipsniff", "flows", "-r",
                               str(impaired)], cwd=ROOT, capture_output=True, timeout=120,
                              check=True)
    assert done.returncode == 0 and done.stdout == expected.stdout
