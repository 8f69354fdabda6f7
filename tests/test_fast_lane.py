"""The compiled fast lane (``accel/src/pylane.rs``): calm connections' in-order segments
taken in the record walk itself, and the compiled index of which frame carried which
stream bytes.

The contract: with the lane or without it, the analysis of a capture is the same. Every
output in the same order, each as it is yielded (a note's or closed flow's flow with its
statistics and last packet time then) and the notes and flows again at the end; the
flow table's whole state at each flow's end and where the reader ends; the same frame
count. Checked on
every bundled capture as it is and as classic pcap, on damaged copies, on both bench
mixes' generators with impairments of every kind, with time going backwards, with a flow
cap small enough to evict lent connections, and with the decoding reader turned off
(the lane then lends but never takes). Each check also asserts the lane took packets, so
a lane that declines everything cannot pass; and the index twin is held to the
reference on arbitrary call sequences.
"""

from __future__ import annotations

import importlib.util
import random
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import cvipsniff.pipeline as pipeline_module
from cvipsniff.flows import FlowTable
from cvipsniff.flows.tcp import HalfStream, TcpConnection
from cvipsniff.model import FlowClosed, Frame, Message
from cvipsniff.pipeline import OffsetIndex, PipelineConfig, iter_capture
from cvipsniff.sim.synth import BASE_EPOCH_NS
from dissectors.accel import COMPILED
from tests.test_capture_skip import CAPTURES, as_classic, damaged_copies  # noqa: F401  (a fixture)

pytestmark = pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built")

ROOT = Path(__file__).resolve().parent.parent


def _bench_module(name: str) -> ModuleType:
    """A module of bench/ (not a package: its scripts import each other by file name)."""
    if str(ROOT / "bench") not in sys.path:
        sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(f"_lane_bench_{name}",
                                                  ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Run:
    """One analysis of a capture: its outputs and what its lane took."""

    def __init__(self, path: Path, lane: bool, config: PipelineConfig,
                 monkeypatch: pytest.MonkeyPatch) -> None:
        lanes: list = []
        made = pipeline_module._FastLane

        def new_lane():
            lanes.append(made())
            return lanes[-1]

        pipelines: list = []
        real = pipeline_module.Pipeline
        self.state: list[tuple] = []
        self.finishing = False  # the reader is done: the pipeline flushes what it holds
        finish = real.iter_finish

        def new_pipeline(*args, **kwargs):
            pipelines.append(real(*args, **kwargs))
            return pipelines[-1]

        def iter_finish(pipeline):
            self.finishing = True
            self.state = _table_state(pipeline.flow_table)
            return finish(pipeline)

        with monkeypatch.context() as m:
            m.setattr(pipeline_module, "FAST_LANE", lane)
            m.setattr(pipeline_module, "_FastLane", new_lane)
            m.setattr(pipeline_module, "Pipeline", new_pipeline)
            m.setattr(real, "iter_finish", iter_finish)
            # Every output as it is yielded (a note's flow with its state then); the
            # notes and closed flows again at the end, with their flows' final state.
            self.yielded: list[str] = []
            kept: list = []
            # And the whole table's state at each flow's end, which a packet the lane
            # left to the table made: the state as of that packet (the lane wrote back
            # what it took before it), whatever the lane took before and after.
            self.closings: list[list[tuple]] = []
            for item in iter_capture(str(path), config):
                self.yielded.append(repr(item))
                if type(item) is not Message:
                    kept.append(item)
                    if type(item) is FlowClosed and not self.finishing:
                        self.closings.append(_table_state(pipelines[0].flow_table))
            self.kept = [repr(item) for item in kept]
        self.taken = lanes[0].consumed if lanes else 0
        self.frames = pipelines[0].frame_count if pipelines else None
        self.lent_left = len(lanes[0]) if lanes else 0


# What a connection's directions hold, but the objects compared elsewhere or with no
# value to compare (connection, peer, out-of-order buffer, held events) and the lending.
_HALF_FIELDS = [name for name in HalfStream.__slots__
                if name not in ("conn", "peer", "buffer", "outbox", "lent")]


def _table_state(table: FlowTable) -> list[tuple]:
    """Every open connection's state where the reader ended (before the last flush)."""
    return [tuple(repr(getattr(half, name)) for name in _HALF_FIELDS)
            for conv in table._live.values() if type(conv) is TcpConnection
            for half in conv.halves]


def same_with_and_without(path: Path, monkeypatch: pytest.MonkeyPatch,
                          config: PipelineConfig | None = None) -> int:
    """The contract on ``path``; the packets the lane took."""
    config = config or PipelineConfig(tree=False, attrs=False)
    with_lane = _Run(path, True, config, monkeypatch)
    without = _Run(path, False, config, monkeypatch)
    assert with_lane.yielded == without.yielded, path
    assert with_lane.kept == without.kept, path
    assert with_lane.frames == without.frames, path
    assert with_lane.state == without.state, path
    assert with_lane.closings == without.closings, path
    assert without.taken == 0 and with_lane.lent_left == 0
    return with_lane.taken


def test_bundled_captures(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = sum(same_with_and_without(p, monkeypatch) for p in CAPTURES)
    assert taken > 1000


def test_bundled_captures_as_classic_pcap(as_classic: list[Path],  # noqa: F811
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert sum(same_with_and_without(p, monkeypatch) for p in as_classic) > 1000


def test_full_dissection_and_kept_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The TUI's configuration (trees, attributes, each message's bytes)."""
    config = PipelineConfig(keep_data=True)
    assert sum(same_with_and_without(p, monkeypatch, config) for p in CAPTURES[:20]) > 100


@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
def test_damaged_copies(suffix: str, as_classic: list[Path],  # noqa: F811
                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = as_classic if suffix == ".pcap" else CAPTURES
    taken = sum(same_with_and_without(p, monkeypatch)
                for p in damaged_copies(sources, tmp_path, suffix, seed=29, count=40))
    assert taken > 1000


@pytest.fixture(scope="module")
def bench_captures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """About a megabyte of each bench mix."""
    folder = tmp_path_factory.mktemp("lane-bench")
    sessions, images = folder / "sessions.pcap", folder / "images.pcap"
    _bench_module("sessions").generate(sessions, 1)
    _bench_module("bench").generate(images, 1)
    return [sessions, images]


def test_bench_mixes(bench_captures: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    for path in bench_captures:
        assert same_with_and_without(path, monkeypatch) > 1000


def _small_table(**kwargs) -> FlowTable:
    return FlowTable(max_flows=5, **kwargs)


def test_a_flow_cap_that_evicts_lent_connections(bench_captures: list[Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Eviction reads every flow's last packet time and closes the oldest, lent or not."""
    monkeypatch.setattr(pipeline_module, "FlowTable", _small_table)
    for path in bench_captures:
        assert same_with_and_without(path, monkeypatch) > 500


def _classic_records(data: bytes) -> Iterator[int]:
    """Offsets of a nanosecond little-endian classic pcap's record headers."""
    at = 24
    while at + 16 <= len(data):
        yield at
        at += 16 + struct.unpack_from("<I", data, at + 8)[0]


def test_time_going_backwards(bench_captures: list[Path], tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Records whose time is before their flow's last packet: the reference pushes a new
    eviction key for them, so the lane leaves them to it (which only a flow cap that
    evicts can show)."""
    rng = random.Random(3)
    for n, source in enumerate(bench_captures):
        data = bytearray(source.read_bytes())
        records = list(_classic_records(bytes(data)))
        for at in rng.sample(records, len(records) // 8):
            sec, frac = struct.unpack_from("<II", data, at)
            ns = max(0, sec * 1_000_000_000 + frac - rng.choice([1, 1000, 10**6, 10**9]))
            struct.pack_into("<II", data, at, *divmod(ns, 1_000_000_000))
        path = tmp_path / f"back{n}.pcap"
        path.write_bytes(bytes(data))
        assert same_with_and_without(path, monkeypatch) > 500
        with monkeypatch.context() as m:
            m.setattr(pipeline_module, "FlowTable", _small_table)
            assert same_with_and_without(path, monkeypatch) > 500


def test_notes_of_the_reader_go_out_with_the_next_record(
        bench_captures: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A corrupt record's note goes out with the outputs of the record read after it
    (the reader resyncs): the lane hands that record on even where it would take it."""
    for n, source in enumerate(bench_captures):
        data = bytearray(source.read_bytes())
        for number, at in enumerate(list(_classic_records(bytes(data)))):
            if number % 97 == 50:
                struct.pack_into("<I", data, at + 8, 0x7FFFFFF0)
        path = tmp_path / f"corrupt{n}.pcap"
        path.write_bytes(bytes(data))
        assert same_with_and_without(path, monkeypatch) > 500


def test_zero_windows(bench_captures: list[Path], tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Segments advertising a zero window: the reference's fast path leaves them to the
    connection (the peer's next segments may be probes), so the lane does too."""
    rng = random.Random(4)
    for n, source in enumerate(bench_captures):
        data = bytearray(source.read_bytes())
        records = list(_classic_records(bytes(data)))
        # Some anywhere, and every one near the end (connections still open then).
        for at in [*rng.sample(records, 300), *records[-len(records) // 20:]]:
            frame = at + 16
            if data[frame + 12:frame + 14] == b"\x08\x00" and data[frame + 23] == 6:
                tcp = frame + 14 + (data[frame + 14] & 0x0F) * 4
                data[tcp + 14:tcp + 16] = b"\x00\x00"
        path = tmp_path / f"zero{n}.pcap"
        path.write_bytes(bytes(data))
        assert same_with_and_without(path, monkeypatch) > 500


@pytest.mark.parametrize("seed", range(6))
def test_impaired_synthetic_captures(seed: int, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference scenarios with random impairments (loss, reordering, duplicates,
    retransmissions, conflicts, late segments, wraps, mid-stream starts...): connections
    leave the fast path and come back to it again and again."""
    from cvipsniff.sim.cvip.scenarios import build_scenarios as cvip_scenarios
    from cvipsniff.sim.imageserver.scenarios import build_scenarios as is_scenarios
    from cvipsniff.sim.synth.output import write_capture

    rng = random.Random(seed)
    kinds = ["split-header", "coalesce", "reorder", "duplicate", "retransmit", "conflict",
             "loss", "late", "wrap", "midstream", "mss=200"]
    scenarios = [*cvip_scenarios(seed), *is_scenarios(seed)]
    taken = 0
    for n, scenario in enumerate(rng.sample(scenarios, 6)):
        impairments = ",".join(rng.sample(kinds, rng.randint(1, 3)))
        path = tmp_path / f"s{n}.pcap{'ng' if n % 2 else ''}"
        write_capture(scenario, path, impairments=impairments, seed=seed,
                      start_ns=BASE_EPOCH_NS, truth=False)
        taken += same_with_and_without(path, monkeypatch)
    assert taken > 20


def test_without_the_decoding_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader that hands Frames only (the walks not asked): connections are lent and
    taken back at every packet, and nothing changes."""
    from cvipsniff.capture import open_capture

    def plain_open(path, on_note=None, wanted=None, packet_type=None, lane=None):
        return open_capture(path, on_note=on_note, wanted=wanted)

    config = PipelineConfig(tree=False, attrs=False)
    for capture in CAPTURES[:15]:
        expected = _Run(capture, False, config, monkeypatch)
        monkeypatch.setattr(pipeline_module, "open_capture", plain_open)
        got = _Run(capture, True, config, monkeypatch)
        monkeypatch.undo()
        assert (got.yielded, got.kept) == (expected.yielded, expected.kept)
        assert got.taken == 0


# ---- the index twin ----------------------------------------------------------------------

_new_index = pipeline_module._new_index


def _ops() -> st.SearchStrategy[list[tuple]]:
    offsets = st.integers(-5, 3000)
    times = st.one_of(st.integers(-10, 10**6), st.integers(2**62, 2**70))
    return st.lists(st.one_of(
        st.tuples(st.just("note"), offsets, st.integers(0, 2**40), times),
        st.tuples(st.just("for"), offsets, offsets),
    ), max_size=80)


@settings(max_examples=400, deadline=None)
@given(_ops(), st.booleans())
def test_offset_index_twin(ops: list[tuple], ascending: bool) -> None:
    """Any sequence of notes and look-ups (also offsets out of order, and the stream
    order the pipeline keeps): the same frames, times and size."""
    reference, compiled = OffsetIndex(), _new_index()
    assert type(compiled) is not OffsetIndex
    at = 0
    for op in ops:
        if op[0] == "note":
            offset = op[1]
            if ascending:
                at += abs(offset)
                offset = at
            reference.note_bytes(offset, op[2], op[3])
            compiled.note_bytes(offset, op[2], op[3])
        else:
            assert compiled.frames_for(op[1], op[2]) == reference.frames_for(op[1], op[2])
        assert compiled.last_time() == reference.last_time()
        assert len(compiled) == len(reference)


def test_offset_index_compacts_as_the_reference() -> None:
    reference, compiled = OffsetIndex(), _new_index()
    for i in range(5000):
        reference.note_bytes(i * 10, i, 1000 + i)
        compiled.note_bytes(i * 10, i, 1000 + i)
        if i % 3 == 2:
            start = (i - 2) * 10
            assert compiled.frames_for(start, start + 25) == reference.frames_for(start,
                                                                                start + 25)
            assert len(compiled) == len(reference)
    assert len(reference) < 5000  # it did compact


# ---- generated connection stories ----------------------------------------------------------

def _streams() -> tuple[bytes, bytes]:
    """The two directions of the demo capture's longest CVIP connection, as its peers
    sent them (real messages for the framers to finish)."""
    from cvipsniff.model import StreamData
    from cvipsniff.pipeline import iter_flow_events

    sent: dict[int, dict[int, bytearray]] = {}
    for event in iter_flow_events(str(ROOT / "captures" / "demo.pcapng")):
        if type(event) is StreamData and event.flow.server[1] == 7110:
            sent.setdefault(event.flow.id, {0: bytearray(), 1: bytearray()})
            sent[event.flow.id][event.direction] += event.data
    longest = max(sent.values(), key=lambda d: len(d[0]) + len(d[1]))
    return bytes(longest[0]), bytes(longest[1])


_STREAMS: tuple[bytes, bytes] | None = None
_CLIENT, _SERVER = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


def _frame(number: int, ts_ns: int, sport: int, dport: int, src: bytes, dst: bytes,
           seq: int, ack: int, flags: int, window: int, payload: bytes) -> Frame:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, window, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), number & 0xFFFF,
                     0, 64, 6, 0, src, dst)
    data = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp + payload
    return Frame(number, ts_ns, len(data), len(data), 1, data)


# One step of a story: connection, direction, what happens, a size, a time step.
_STEP = st.tuples(st.integers(0, 2), st.integers(0, 1),
                  st.sampled_from(["data"] * 30 + ["ack"] * 10 + [
                      "retransmit", "hole", "zero-window", "fin", "rst", "syn", "back",
                      "push-ack-fin", "keepalive"]),
                  st.integers(1, 900), st.integers(0, 3_000_000))


_KINDS = ["retransmit", "hole", "zero-window", "fin", "rst", "syn", "back", "push-ack-fin",
          "keepalive"]


def _after_calm_traffic(kind: str) -> list[tuple]:
    """Calm in-order traffic on all three connections (lent by then), one ``kind`` step,
    then more traffic: each anomaly on a lent connection at least once."""
    calm = [(conn, i % 2, "data", 300, 1000) for i in range(6) for conn in range(3)]
    return [*calm, (1, 0, kind, 50, 1000), *calm, (1, 1, "ack", 1, 1000)]


def _with_examples(test):
    for kind in _KINDS:
        test = example(steps=_after_calm_traffic(kind))(test)
    return test


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(_STEP, min_size=5, max_size=200))
@_with_examples
def test_generated_connection_stories(tmp_path_factory: pytest.TempPathFactory,
                                      steps: list[tuple]) -> None:
    """Three connections to the CVIP port, each a handshake then random steps: in-order
    data of real CVIP streams, bare ACKs, retransmissions, holes, zero windows, FINs,
    resets, new SYNs on the same ports, time going backwards, keep-alives. The lane lends
    and takes back connections at every turn; the outputs and the table must not care."""
    from cvipsniff.capture import PcapWriter

    global _STREAMS
    if _STREAMS is None:
        _STREAMS = _streams()
    streams = _STREAMS
    frames: list[Frame] = []
    ts = BASE_EPOCH_NS
    seqs: list[list[int]] = []
    sent: list[list[int]] = []
    for conn in range(3):
        port = 40000 + conn
        isn = [1000 + conn * 7919, 2**32 - 300 + conn]  # one direction wraps
        seqs.append([isn[0] + 1, isn[1] + 1])
        sent.append([0, 0])
        for src, dst, sp, dp, seq, ack, flags in (
                (_CLIENT, _SERVER, port, 7110, isn[0], 0, 0x02),
                (_SERVER, _CLIENT, 7110, port, isn[1], isn[0] + 1, 0x12),
                (_CLIENT, _SERVER, port, 7110, isn[0] + 1, isn[1] + 1, 0x10)):
            ts += 1000
            frames.append(_frame(len(frames) + 1, ts, sp, dp, src, dst, seq, ack, flags,
                                 65535, b""))
    for conn, direction, kind, size, dt in steps:
        ts += dt
        port = 40000 + conn
        src, dst, sp, dp = ((_CLIENT, _SERVER, port, 7110) if direction == 0
                            else (_SERVER, _CLIENT, 7110, port))
        seq, peer = seqs[conn][direction], seqs[conn][1 - direction]
        stream = streams[direction]
        at = sent[conn][direction] % max(1, len(stream))
        payload = stream[at:at + size] or stream[:size]
        flags, window, when = 0x18, 65535, ts
        if kind == "data":
            seqs[conn][direction] += len(payload)
            sent[conn][direction] += len(payload)
        elif kind == "ack":
            payload, flags = b"", 0x10
        elif kind == "retransmit":
            seq -= min(size, 200)
            payload = b"\x00" * min(size, 200)
        elif kind == "hole":
            seq += size
            seqs[conn][direction] += size + len(payload)
            sent[conn][direction] += size + len(payload)
        elif kind == "zero-window":
            payload, flags, window = b"", 0x10, 0
        elif kind == "fin":
            payload, flags = b"", 0x11
            seqs[conn][direction] += 1
        elif kind == "push-ack-fin":
            flags = 0x19
            seqs[conn][direction] += len(payload) + 1
            sent[conn][direction] += len(payload)
        elif kind == "rst":
            payload, flags = b"", 0x14
        elif kind == "syn":
            payload, flags = b"", 0x02
            seq = seqs[conn][direction] = seq + 100_000
            seqs[conn][direction] += 1
        elif kind == "back":
            when = ts - 5_000_000
            seqs[conn][direction] += len(payload)
            sent[conn][direction] += len(payload)
        elif kind == "keepalive":
            seq, payload, flags = seq - 1, b"\x00", 0x10
        frames.append(_frame(len(frames) + 1, max(when, 0), sp, dp, src, dst, seq, peer,
                             flags, window, payload))
    path = tmp_path_factory.mktemp("story") / "story.pcap"
    with path.open("wb") as fh, PcapWriter(fh, 1, snaplen=65535, nanosecond=True) as writer:
        for frame in frames:
            writer.write(frame)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _STORY_TAKEN.append(same_with_and_without(path, monkeypatch))


_STORY_TAKEN: list[int] = []


def test_the_stories_gave_the_lane_work() -> None:
    """(After the stories, in file order:) most stories had packets the lane took, so
    the comparisons above were not of a lane that declines everything."""
    if not _STORY_TAKEN:
        pytest.skip("the stories did not run (selected out)")
    assert sum(1 for n in _STORY_TAKEN if n) > len(_STORY_TAKEN) // 2
