"""The split's placement of flows (``cvipsniff/split.py``: ``plan_split``, ``balance``,
``Plan``) and its compiled pass (``accel/src/flowweights.rs``).

The contract: whichever worker follows a flow, the report is byte for byte the single
process's. So every bundled capture, and a generated one with a few heavy image flows,
is split under several plans (by hash, weighed, and deliberately lopsided ones) over 2,
3 and 4 workers, on the compiled path and with its functions replaced by the
pure-Python stand-ins (the whole suite also runs under ``CVIPSNIFF_PURE_PYTHON=1``).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from cvipsniff import split
from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.capture import open_capture
from cvipsniff.commands.report import analyse_path
from cvipsniff.packets import PacketDecoder
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.report import FileResult, json_report
from cvipsniff.split import Plan, analyse_split, balance, flow_key, plan_split, shard_bounds
from dissectors.accel import COMPILED
from tests.cli_helpers import BUNDLED_CAPTURES, ROOT

CAPTURES = BUNDLED_CAPTURES
PIPELINE = PipelineConfig(keep_data=False, tree=False)
DEMO = str(ROOT / "captures" / "demo.pcapng")
HASH_SPACE = 1 << 32
needs_compiled = pytest.mark.skipif(not COMPILED, reason="compiled accelerator not built")


def _json(path: str, analysis) -> str:
    return "".join(json_report.render([FileResult(path, analysis,
                                                   findings=list(analysis.findings))],
                                      "warning"))


def _single(path: str) -> str:
    result = analyse_path(path, AnalysisConfig(), PIPELINE)
    return "".join(json_report.render([result], "warning"))


@pytest.fixture(scope="module")
def few_heavy(tmp_path_factory) -> str:
    """A small capture of the bench's images mix: 30 flows of 75 KB images beside 300
    light CVIP flows (the shape that a hash shares unevenly)."""
    import importlib.util
    import sys

    # The bench script, under a name of its own (``bench`` is also the folder's package);
    # it imports its neighbours from its folder.
    spec = importlib.util.spec_from_file_location("_split_bench_script",
                                                  ROOT / "bench" / "bench.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        spec.loader.exec_module(script)
    finally:
        sys.path.remove(str(ROOT / "bench"))
    path = tmp_path_factory.mktemp("split") / "few-heavy.pcap"
    script.generate(path, 2)
    return str(path)


def _tcp_flows(path: str) -> dict[bytes, int]:
    """Every TCP flow key of a capture with its packets, from the reference decoder."""
    decoder = PacketDecoder(on_note=lambda note: None)
    flows: dict[bytes, int] = {}
    with open_capture(path) as reader:
        for frame in reader:
            packet = decoder.decode(frame)
            if packet is not None and packet.transport == 6:
                key = flow_key(packet)
                flows[key] = flows.get(key, 0) + 1
    return flows


# ---- the compiled pass keys and hashes flows as the workers do ---------------------------

@needs_compiled
@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_pass_names_the_flows_the_decoder_finds(capture) -> None:
    import cvipsniff_accel

    path = str(capture)
    found = cvipsniff_accel.flow_weights(path, 1, 0, 0, 1 << 17, 1 << 20)
    if found is None:  # a compressed capture: the split goes by hash
        assert path.endswith((".gz", ".bz2", ".xz")) or capture.read_bytes()[:2] == b"\x1f\x8b"
        return
    heavy, buckets, (frames, _pushes, _datagrams, _bytes, seen) = found
    assert sum(buckets) == 0  # every flow by name: none was folded
    flows = _tcp_flows(path)
    assert seen == len(heavy) <= len(flows)  # nothing folded: each flow counted once
    with open_capture(path) as reader:
        assert frames <= sum(1 for _ in reader)
    # 1 per packet plus the payload bytes: at least 1. Each flow the pass read is one
    # the decoder found (it may leave some out: fragments, IPv6 extension headers).
    for key, weight in heavy:
        assert key in flows
        assert weight >= 1


@needs_compiled
@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_frame_hash_is_the_hash_of_its_decoded_flow(capture) -> None:
    import cvipsniff_accel

    decoder = PacketDecoder(on_note=lambda note: None)
    hashed = 0
    with open_capture(str(capture)) as reader:
        for frame in reader:
            digest = cvipsniff_accel.flow_digest(frame)
            if digest < 0:
                continue
            packet = decoder.decode(frame)  # the fast path: no state, no notes
            assert packet is not None and packet.transport == 6
            assert digest == zlib.crc32(flow_key(packet))
            hashed += 1
    if capture.name == "demo.pcapng":
        assert hashed > 1000


@needs_compiled
def test_the_pass_weighs_payload_and_messages(few_heavy) -> None:
    import cvipsniff_accel

    by_bytes = dict(cvipsniff_accel.flow_weights(few_heavy, 0, 0, 0, 1 << 17, 1000)[0])
    by_push = dict(cvipsniff_accel.flow_weights(few_heavy, 0, 0, 1_000_000, 1 << 17, 1000)[0])
    images = [key for key in by_bytes if key.endswith((7563).to_bytes(2, "big"))
              or (7563).to_bytes(2, "big") in (key[4:6], key[10:12])]
    assert len(images) == 30
    # An image flow carries far more bytes than a CVIP flow, but fewer messages.
    assert min(by_bytes[k] for k in images) > max(v for k, v in by_bytes.items()
                                                  if k not in images)
    pushes = {k: (by_push[k] - by_bytes[k]) // 1_000_000 for k in by_bytes}
    assert all(pushes[k] >= 1 for k in by_bytes)


# ---- balance --------------------------------------------------------------------------------

def _loads(plan: Plan, heavy: list[tuple[bytes, int]], buckets: list[int], workers: int,
           first: float = 0.0) -> list[float]:
    """Each worker's load under ``plan`` (buckets whole: their bounds are bucket bounds)."""
    loads = [float(first)] + [0.0] * (workers - 1)
    for key, weight in heavy:
        loads[plan.owner(zlib.crc32(key))] += weight
    for bucket, weight in enumerate(buckets):
        loads[plan.owner(bucket << 16)] += weight
    return loads


def _synthetic(seed: int, heavy_flows: int, light_weight: int) -> tuple[list, list[int]]:
    import random

    rng = random.Random(seed)
    heavy = sorted(((rng.randbytes(12), rng.randint(1_000_000, 9_000_000))
                    for _ in range(heavy_flows)), key=lambda kv: -kv[1])
    buckets = [0] * (1 << 16)
    for _ in range(5000):
        buckets[rng.randrange(1 << 16)] += rng.randint(1, 2 * light_weight // 5000)
    return heavy, buckets


@pytest.mark.parametrize("workers", [2, 3, 4])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_balance_evens_out_a_few_heavy_flows(workers: int, seed: int) -> None:
    heavy, buckets = _synthetic(seed, 12, 20_000_000)
    plan = balance(heavy, buckets, workers, first=3_000_000)
    assert plan is not None
    assert list(plan.bounds) == sorted(plan.bounds) and plan.bounds[-1] == HASH_SPACE
    loads = _loads(plan, heavy, buckets, workers, first=3_000_000)
    # Even to within the lightest bucket cut (the light flows are many and small) ...
    assert max(loads) - min(loads) < 0.02 * sum(loads)
    # ... where the hash alone is far off.
    by_hash = _loads(Plan(shard_bounds(workers, 1.0)), heavy, buckets, workers,
                     first=3_000_000)
    assert max(by_hash) - min(by_hash) > max(loads) - min(loads)


def test_a_worker_loaded_beyond_the_level_gets_no_light_flows() -> None:
    heavy, buckets = _synthetic(4, 0, 1_000_000)
    plan = balance(heavy, buckets, 3, first=10 * sum(buckets))
    assert plan is not None and plan.bounds[0] == 0  # worker 0: no part of the hash space
    loads = _loads(plan, heavy, buckets, 3, first=10 * sum(buckets))
    assert abs(loads[1] - loads[2]) < 0.02 * sum(buckets)


def test_one_flow_heavier_than_all_others_gets_a_worker_to_itself() -> None:
    heavy = [(b"k" * 12, 50_000_000), (b"j" * 12, 1_000_000)]
    buckets = [0] * (1 << 16)
    buckets[7] = 2_000_000
    plan = balance(heavy, buckets, 2)
    assert plan is not None
    big, small = (plan.owner(zlib.crc32(k)) for k, _ in heavy)
    assert big != small and plan.owner(7 << 16) == small


def test_nothing_to_weigh_is_no_plan() -> None:
    assert balance([], [0] * (1 << 16), 2, first=5) is None


def test_without_the_pass_the_plan_is_the_hash_split(monkeypatch) -> None:
    """The pure-Python path (and a capture the pass cannot read): today's hash shares."""
    monkeypatch.setattr(split, "_flow_weights", split._no_weights)
    assert plan_split(DEMO, 2) == Plan(shard_bounds(2))
    assert plan_split(DEMO, 3, local=False) == Plan(shard_bounds(3, 1.0))


@needs_compiled
def test_the_weighed_plan_names_the_heavy_flows(few_heavy) -> None:
    # The TUI's plan (no parent merging): in `report`'s, the parent's merging of all 660
    # messages outweighs each image flow of this small capture, so none is named there.
    plan = plan_split(few_heavy, 2, local=False)
    assert 1 <= len(plan.named) <= 256
    assert set(plan.named.values()) == {0, 1}


# ---- any plan gives the single-process report ------------------------------------------

def _lopsided(workers: int) -> list[Plan]:
    everything_to_0 = Plan((HASH_SPACE,) * workers)
    everything_to_last = Plan((0,) * (workers - 1) + (HASH_SPACE,))
    return [everything_to_0, everything_to_last]


def _split_with(monkeypatch, path: str, workers: int, plan: Plan | None) -> str:
    if plan is not None:
        monkeypatch.setattr(split, "plan_split", lambda *args, **kwargs: plan)
    analysis = analyse_split(path, AnalysisConfig(), PIPELINE, workers)
    monkeypatch.undo()
    assert analysis is not None, "split fell back to one process"
    return _json(path, analysis)


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_capture_reports_the_same_whoever_follows_its_flows(monkeypatch, capture) -> None:
    path = str(capture)
    one = _single(path)
    for workers in (2, 3):
        for plan in [None, *_lopsided(workers)]:  # None: plan_split's own (weighed)
            assert _split_with(monkeypatch, path, workers, plan) == one, (workers, plan)


@pytest.mark.parametrize("pure", [False, True], ids=["compiled", "stand-ins"])
def test_a_capture_of_few_heavy_flows_reports_the_same_over_any_workers(
        monkeypatch, few_heavy, pure: bool) -> None:
    one = _single(few_heavy)
    for workers in (2, 3, 4):
        if pure:
            monkeypatch.setattr(split, "_flow_weights", split._no_weights)
            monkeypatch.setattr(split, "_flow_digest", split._no_digest)
        plan = plan_split(few_heavy, workers)
        assert _split_with(monkeypatch, few_heavy, workers, plan) == one
        # The TUI's weighing names this capture's image flows (see above): placed by name.
        plan = plan_split(few_heavy, workers, local=False)
        if not pure and COMPILED:
            assert plan.named
        assert _split_with(monkeypatch, few_heavy, workers, plan) == one
        # A plan that names flows onto other workers than their hash would pick.
        named = {digest: (owner + 1) % workers for digest, owner in plan.named.items()}
        shifted = Plan(plan.bounds, named)
        assert _split_with(monkeypatch, few_heavy, workers, shifted) == one


def test_report_jobs_2_splits_a_capture_of_few_heavy_flows_as_one_process(few_heavy) -> None:
    from tests.cli_helpers import run_cli

    def report(*args: str) -> str:
        result = run_cli("report", "--format", "json", "--fail-on", "never", *args,
                         few_heavy, timeout=600)
        assert result.code == 0, result.stderr
        return result.stdout

    assert report("--jobs", "2", "--split-above", "0") == report("--jobs", "1")


def test_notes_of_a_damaged_capture_keep_their_place_when_frames_are_skipped(
        monkeypatch, few_heavy, tmp_path) -> None:
    """A reader's note (a corrupt record) goes out at the frame read after it, by worker
    0, even where that frame is another worker's (which worker 0 otherwise skips)."""
    import struct

    data = bytearray(Path(few_heavy).read_bytes())
    pos, record = 24, 0
    while pos + 16 <= len(data):
        incl = struct.unpack_from("<I", data, pos + 8)[0]
        if record % 97 == 50:
            struct.pack_into("<I", data, pos + 8, 0x7FFFFFF0)  # resync past it
        pos += 16 + incl
        record += 1
    damaged = tmp_path / "damaged.pcap"
    damaged.write_bytes(bytes(data))
    path = str(damaged)
    one = _single(path)
    assert '"capture.corrupt_block"' in one
    for workers in (2, 3):
        for plan in [None, *_lopsided(workers)]:
            assert _split_with(monkeypatch, path, workers, plan) == one, (workers, plan)


def test_a_pipe_is_analysed_by_one_process_even_when_told_to_split(tmp_path) -> None:
    """Every worker of a split opens the file: a FIFO would be shared between them (and
    the weighing pass would drain it), so it is read once, by one process."""
    import os
    import threading

    from cvipsniff.batch import AnalyseTask, analyse_files

    fifo = tmp_path / "capture.fifo"
    os.mkfifo(fifo)
    payload = Path(DEMO).read_bytes()

    def write() -> None:
        with open(fifo, "wb") as fh:
            fh.write(payload)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    task = AnalyseTask(AnalysisConfig(), PIPELINE)
    results: list = []
    # In a thread: a split would leave its workers waiting on the pipe for ever.
    run = threading.Thread(target=lambda: results.extend(
        analyse_files([str(fifo)], task, jobs=2, split_above=0)), daemon=True)
    run.start()
    run.join(timeout=120)
    assert results, "the analysis of a pipe did not finish"
    writer.join()
    assert results[0].error is None
    assert _json(DEMO, results[0].analysis) == _single(DEMO)


def _syn_flood(path, count: int) -> None:
    """A classic pcap of ``count`` lone SYNs to the CVIP port, each its own flow."""
    import struct

    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    records = []
    for n in range(count):
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0,
                         bytes([10, 1, n >> 8 & 255, n & 255]), bytes([10, 0, 0, 1]))
        tcp = struct.pack("!HHIIBBHHH", 1024 + n % 60000, 7110, 0, 0, 0x50, 0x02, 65535, 0, 0)
        frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp
        records.append(struct.pack("<IIII", 1, n, len(frame), len(frame)) + frame)
    path.write_bytes(header + b"".join(records))


@needs_compiled
def test_no_split_is_started_where_the_flow_cap_is_in_reach(tmp_path, monkeypatch) -> None:
    """A capture with as many flows as the flow table's cap: the split could not be exact
    (it used to run whole and then be redone in one process), so none is started and the
    report is the one process's."""
    path = tmp_path / "syn-flood.pcap"
    _syn_flood(path, 300)
    monkeypatch.setattr(split, "DEFAULT_MAX_FLOWS", 300)
    plan = split.plan_split(str(path), 2)
    assert plan.single
    run = split.SplitRun(str(path), PipelineConfig(keep_data=False, tree=False), 2)
    assert list(run) == [] and run.exact is False and not run._procs
    assert analyse_split(str(path), AnalysisConfig(), PipelineConfig(keep_data=False,
                                                                      tree=False), 2) is None
    monkeypatch.setattr(split, "DEFAULT_MAX_FLOWS", 301)
    assert not split.plan_split(str(path), 2).single  # one flow short of the cap: split
