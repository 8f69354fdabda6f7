"""A split capture analysed where its flows are followed (``cvipsniff.split_analysis``):
the same report as one process, byte for byte, or a fallback that says why.

Every bundled capture is compared against the single-process report over two and three
workers, read from the renumbered log and from the rows the workers rendered, with the
transaction log spilling after every message too; then each case the module cannot make
exact is forced and must fall back: a worker that fails, two workers following pings of
one requester, a global cap within reach. The rows' spool has tests of its own.
"""

from __future__ import annotations

from array import array

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

import cvipsniff.split_analysis as split_analysis
from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.coverage import RULE as NO_TRAFFIC
from cvipsniff.analysis.txnlog import SPILL_ENV, values
from cvipsniff.batch import AnalyseTask
from cvipsniff.commands.report import analyse_path
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.report import FileResult, joined, json_report, text
from cvipsniff.report.jsontext import Rows
from cvipsniff.report.rowspool import RowSpool
from cvipsniff.split import WorkerEnd
from cvipsniff.split_analysis import (
    ShareSummary,
    Unsplittable,
    _exact,
    analyse_distributed,
)
from dissectors.accel import COMPILED
from tests.cli_helpers import BUNDLED_CAPTURES, ROOT

CAPTURES = BUNDLED_CAPTURES
PIPELINE = PipelineConfig(keep_data=False, tree=False)
DEMO = str(ROOT / "captures" / "demo.pcapng")


def _json(result: FileResult) -> str:
    return joined(json_report.render([result], "warning"))


def _one(path: str) -> FileResult:
    return analyse_path(path, AnalysisConfig(), PIPELINE)


def _distributed(path: str, workers: int, spool: RowSpool | None = None) -> FileResult:
    analysis = analyse_distributed(path, AnalysisConfig(), PIPELINE, workers, spool)
    assert analysis is not None, "fell back"
    return FileResult(path, analysis, findings=list(analysis.findings), row_spool=spool)


def test_the_corpus_is_there() -> None:
    assert len(CAPTURES) > 20


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_capture_reports_as_one_process_does(capture) -> None:
    """Over two and three workers; the transactions read from the renumbered log (every
    format) and from the rows the workers rendered (JSON), every row copied."""
    path = str(capture)
    one = _one(path)
    expected_json, expected_text = _json(one), text.render([one], "warning")
    for workers in (2, 3):
        split = _distributed(path, workers)
        assert _json(split) == expected_json
        assert text.render([split], "warning") == expected_text
        spool = json_report.new_row_spool()
        spooled = _distributed(path, workers, spool)
        assert _json(spooled) == expected_json
        assert spool.spooled == len(one.transactions)


def test_a_log_spilled_after_every_message_reports_the_same(monkeypatch) -> None:
    """Each worker's transactions all in its file: renumbered as read back from it."""
    monkeypatch.setenv(SPILL_ENV, "0")
    for path in [DEMO, *map(str, CAPTURES[::7])]:
        one = _one(path)
        spool = json_report.new_row_spool()
        assert _json(_distributed(path, 2, spool)) == _json(one)
        assert _json(_distributed(path, 3)) == _json(one)


def test_the_renumbered_log_reads_like_the_single_process_one() -> None:
    one = _one(DEMO).transactions
    split = _distributed(DEMO, 3).transactions
    assert len(split) == len(one) > 100
    assert list(split) == list(one)
    assert [split[i] for i in (0, 17, -1)] == [one[0], one[17], one[-1]]
    with pytest.raises(IndexError):
        split[len(one)]


def _no_protocol_capture(path) -> None:
    """Flows of no protocol cvipsniff speaks, on ports met as often as each other (the
    finding names the most common first, ties in the order they were met)."""
    packets = []
    for n, (dport, transport) in enumerate([(80, TCP), (443, TCP), (53, UDP), (80, TCP),
                                            (8080, TCP), (443, TCP), (123, UDP),
                                            (8443, TCP), (22, TCP), (8080, TCP)]):
        ip = IP(src=f"10.0.{n}.1", dst=f"10.1.{n}.2")
        if transport is TCP:
            packets += [Ether() / ip / TCP(sport=40000 + n, dport=dport, flags="S"),
                        Ether() / IP(src=ip.dst, dst=ip.src)
                        / TCP(sport=dport, dport=40000 + n, flags="SA")]
        else:
            packets.append(Ether() / ip / UDP(sport=40000 + n, dport=dport) / b"x")
    for t, packet in enumerate(packets):
        packet.time = 1_700_000_000 + t / 10
    wrpcap(str(path), packets)


def test_a_capture_of_no_protocol_traffic_names_its_ports_as_one_process(tmp_path) -> None:
    path = tmp_path / "other.pcap"
    _no_protocol_capture(path)
    one = _one(str(path))
    assert [f.rule for f in one.findings] == [NO_TRAFFIC]
    for workers in (2, 3):
        split = _distributed(str(path), workers)
        assert [f.message for f in split.findings] == [f.message for f in one.findings]
        assert _json(split) == _json(one)


def test_a_failed_worker_falls_back_to_the_merged_split(monkeypatch) -> None:
    """The forked worker inherits the failure; the parent's analysis then comes from the
    merge of every worker's messages (cvipsniff.split), the same report."""
    real = split_analysis.follow

    def failing(path, pipeline_config, config, worker, workers, plan):
        if worker == 1:
            raise RuntimeError("injected failure")
        return real(path, pipeline_config, config, worker, workers, plan)

    monkeypatch.setattr(split_analysis, "follow", failing)
    assert analyse_distributed(DEMO, AnalysisConfig(), PIPELINE, 2) is None
    task = AnalyseTask(AnalysisConfig(), PIPELINE, spool_rows=True)
    assert _json(task.split(DEMO, 2)) == _json(_one(DEMO))


def _summary(worker: int, endpoints: set[tuple]) -> ShareSummary:
    return ShareSummary(worker, WorkerEnd(), ping_endpoints=endpoints)


def test_pings_of_one_requester_followed_by_two_workers_are_not_put_together() -> None:
    """Pings pair by the requester's endpoint: two workers each holding pings of one
    requester (a TCP ping's flow hashed to worker 1, its endpoint's UDP pings on worker
    0) could have paired across them in one process."""
    requester = ("192.0.2.100", 40000)
    assert _exact([_summary(0, {requester}), _summary(1, {("192.0.2.101", 40000)})],
                  PIPELINE)
    assert not _exact([_summary(0, {requester}), _summary(1, {requester})], PIPELINE)
    failed = ShareSummary(1, WorkerEnd(error="lost"))
    assert not _exact([_summary(0, set()), failed], PIPELINE)


def test_a_global_cap_within_reach_is_analysed_in_one_process() -> None:
    tight = PipelineConfig(keep_data=False, tree=False, max_total_buffer=1)
    with pytest.raises(Unsplittable):
        analyse_distributed(DEMO, AnalysisConfig(), tight, 2)
    task = AnalyseTask(AnalysisConfig(), tight, spool_rows=True)
    assert _json(task.split(DEMO, 2)) == _json(task(DEMO))


def test_the_report_command_analyses_a_split_capture_where_its_flows_are(
        monkeypatch) -> None:
    """``report --jobs 2 --split-above 0``: the workers' analyses, put together (no
    fallback), and their rows copied."""
    results: list[object] = []
    real = split_analysis.analyse_distributed

    def spying(*args, **kwargs):
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(split_analysis, "analyse_distributed", spying)
    task = AnalyseTask(AnalysisConfig(), PIPELINE, spool_rows=True)
    result = task.split(DEMO, 2)
    assert results and results[0] is not None
    assert result.row_spool is not None and result.row_spool.spooled == \
        len(result.transactions)
    assert _json(result) == _json(_one(DEMO))


# ---- the rows' spool -----------------------------------------------------------------


def _rows(result: FileResult) -> tuple[RowSpool, list[tuple]]:
    spool = json_report.new_row_spool()
    return spool, [values(t) for t in result.transactions]


def _usual(spool: RowSpool, log) -> str:
    return "".join(json_report._transaction_rows(log).pieces(spool.nl, spool.step))


def test_a_batch_of_rows_is_cut_where_each_row_starts() -> None:
    """Rendered at once (compiled) or row by row: the same bytes, the same sizes."""
    spool, txn_values = _rows(_one(DEMO))
    sizes = array("I")
    data = spool.rows_bytes(txn_values, sizes)
    assert data == b"".join(spool.row_bytes(v) for v in txn_values)
    assert list(sizes) == [len(spool.row_bytes(v)) for v in txn_values]
    spool.render_batch = None
    again = array("I")
    assert spool.rows_bytes(txn_values, again) == data and again == sizes


@pytest.mark.parametrize("copy", ["compiled", "python"])
def test_rows_from_parts_and_from_the_log_make_the_usual_array(tmp_path, copy,
                                                              monkeypatch) -> None:
    """Two parts holding alternate runs of rows and a few rows no part holds (rendered
    from the log): the array the report would have rendered, in chunks of any size,
    copied by the compiled gatherer or in Python; a part cut short is an error."""
    import cvipsniff.report.rowspool as rowspool

    if copy == "compiled" and rowspool._RowGather(
            [], array("B"), array("q"), array("I")) is None:
        pytest.skip("the compiled accelerator is not built")
    if copy == "python":
        monkeypatch.setattr(rowspool, "_RowGather", rowspool._no_row_gather)
    one = _one(DEMO)
    log = one.transactions
    spool, txn_values = _rows(one)
    parts: dict[int, tuple[bytearray, array, array]] = {
        0: (bytearray(), array("I"), array("q")), 1: (bytearray(), array("I"), array("q"))}
    for index, v in enumerate(txn_values):
        if index % 11 == 5:
            continue  # not in any part
        data, sizes, numbers = parts[(index // 3) % 2]
        data += spool.rows_bytes([v], sizes)
        numbers.append(v[0])
    for part, (data, sizes, numbers) in parts.items():
        file = (tmp_path / f"part{part}").open("w+b")
        file.write(data)
        spool.add_part(file, sizes, numbers)
    fallback = json_report._transaction_rows(log)
    rows = spool.rows(log, fallback)
    expected = _usual(spool, log)
    for chunk in (1 << 20, 100, 7):
        monkeypatch.setattr(rowspool, "_CHUNK", chunk)
        pieces = list(rows.pieces(spool.nl, spool.step))
        assert joined(pieces) == expected
        if chunk == 100:  # about a chunk each, not a piece per row
            assert len(pieces) < len(expected) // 100 + len(log) // 11 + 4
    assert rows.copied == len(log) - len(range(5, len(log), 11))
    # Asked for at another place: rendered as usual there.
    assert joined(rows.pieces("\n", " ")) == "".join(fallback.pieces("\n", " "))
    spool._parts[1].truncate(len(parts[1][0]) - 2)
    with pytest.raises(OSError, match="ended early"):
        joined(rows.pieces(spool.nl, spool.step))
    spool.close()


def test_an_empty_log_and_an_empty_spool_render_as_usual() -> None:
    spool = json_report.new_row_spool()
    empty = Rows([], json_report.transaction_text)
    assert joined(spool.rows([], empty).pieces(spool.nl, spool.step)) == "[]"
    log = _one(DEMO).transactions
    fallback = json_report._transaction_rows(log)
    assert joined(spool.rows(log, fallback).pieces(spool.nl, spool.step)) == \
        _usual(spool, log)


# ---- putting workers' analyses together, on made-up outputs --------------------------


def _outputs(seed: int) -> list[tuple[int, int, object]]:
    """A made-up capture's outputs as (flow, frame, output) in capture order: TCP flows (each
    with its client endpoint) carrying CVIP requests answered, answered late, reused
    while outstanding and never answered, TCP pings never answered (pinged by
    endpoint, left open to the end), flows closed on the way and others left open.
    The flow of each message is its global id."""
    import random

    from cvipsniff.model import Flow, FlowClosed, Message
    from dissectors.base import Record

    rng = random.Random(seed)
    flows = [Flow(i, "tcp", (f"10.0.0.{i + 1}", 40000 + i), ("10.9.9.9", 7110), 1, 0)
             for i in range(8)]
    out: list[tuple[int, int, object]] = []
    frame = 0
    txn = [0] * len(flows)
    open_flows = list(range(len(flows)))
    for flow in flows:  # each made by a frame of its own, as in a capture
        frame += 1
        out.append((flow.id, frame, flow))
    for _ in range(160):
        frame += 1
        if not open_flows:
            break
        f = rng.choice(open_flows)
        flow = flows[f]
        roll = rng.random()
        if roll < 0.08 and len(open_flows) > 3:
            open_flows.remove(f)
            out.append((f, frame, FlowClosed(flow, "fin")))
            continue
        if roll < 0.25:
            record = Record("cvip-ping", "ping-request", "", txn=rng.randrange(3))
            src, dst, direction = flow.client, flow.server, 0
        else:
            answering = roll > 0.6 and txn[f] > 0
            if answering:
                record = Record("cvip", "ack", "", txn=rng.randrange(max(1, txn[f])) + 1,
                                is_response=True, method="cviVideo.getProperties")
                src, dst, direction = flow.server, flow.client, 1
            else:
                txn[f] += rng.random() < 0.8
                record = Record("cvip", "request", "", txn=txn[f] or 1,
                                method="cviVideo.getProperties")
                src, dst, direction = flow.client, flow.server, 0
        out.append((f, frame, Message(0, f, direction, "tcp", src, dst, [frame],
                               1_700_000_000_000_000_000 + frame * 1000, 0, 0, 0, record)))
    return out


@pytest.mark.parametrize("prune", [False, True], ids=["notes-kept", "notes-pruned"])
@pytest.mark.parametrize("seed", range(6))
def test_workers_analyses_put_together_equal_one_analysis(seed, prune, monkeypatch) -> None:
    """Outputs split by flow over two workers, each analysed alone, then put together:
    the findings (in order, with their numbers), transactions and counts one analysis
    of all outputs makes, including what the end of the analysis settles in both
    workers (requests and pings left open), in the order their queues were opened
    (``prune``: the notes of when each queue was opened pruned at every addition)."""
    import copy

    if prune:
        monkeypatch.setattr(split_analysis, "_PRUNE_FLOOR", 1)

    from cvipsniff.analysis.engine import Analysis
    from cvipsniff.model import Flow, FlowClosed, Message
    from cvipsniff.split_analysis import ShareAnalysis, combine, number_all

    outputs = _outputs(seed)
    one = Analysis(AnalysisConfig())
    number = 0
    for _, _, item in outputs:
        item = copy.deepcopy(item)
        if isinstance(item, Message):
            number += 1
            item.number = number
        if not isinstance(item, Flow):
            one.add(item)
    one.finish()

    shares = [ShareAnalysis(AnalysisConfig(), w) for w in (0, 1)]
    local: dict[int, int] = {}  # global flow id → the worker's
    for seq, (flow, frame, item) in enumerate(outputs):
        worker = flow % 2
        item = copy.deepcopy(item)
        position = (frame, 1, seq, worker)
        if isinstance(item, Flow):
            local[flow] = sum(1 for g in local if g % 2 == worker)
            item.id = local[flow]
        elif isinstance(item, FlowClosed):
            item.flow.id = local[flow]
        else:
            item.flow = local[flow]
        shares[worker].feed(position, item)
    summaries = []
    for share in shares:
        share.finish()
        summaries.append(share.summary(WorkerEnd()))
    assert any(p[0] == split_analysis.END + 1 for p, _, _, _ in summaries[0].raw)
    assert any(p[0] == split_analysis.END + 1 for p, _, _, _ in summaries[1].raw)
    together = combine(AnalysisConfig(), summaries, number_all(summaries))

    def described(findings):
        return [(f.rule, f.message, f.transaction, f.message_number, f.flow, f.frames)
                for f in findings]

    assert described(together.findings) == described(one.findings)
    assert list(together.transactions.iter_values()) == \
        [values(t) for t in one.transactions]
    assert together.summary() == one.summary()


def _frames(seed: int, worker: int) -> list[tuple[int, list, list, list]]:
    """Made-up frames of one worker as its reader loop meets them: (frame index, flows
    opened, outputs, the reader's notes), outputs mixing messages, flows closing and
    notes of no flow (decoding notes, only worker 0 is given them), notes of a flow, and
    reader notes after a frame's outputs."""
    import random

    from cvipsniff.model import Flow, FlowClosed, Message, TransportNote
    from dissectors.base import Record

    rng = random.Random(seed)
    flows: list[Flow] = []
    frames = []
    txn = 0
    for i in range(0, 400, rng.randrange(1, 4)):
        opened = []
        if not flows or rng.random() < 0.1:
            flow = Flow(len(flows), "tcp", ("10.0.0.1", 40000 + len(flows)),
                        ("10.9.9.9", 7110), 1, 0)
            flows.append(flow)
            opened.append(flow)
        outputs: list = []
        for _ in range(rng.randrange(0, 4)):
            flow = rng.choice(flows)
            roll = rng.random()
            if roll < 0.15:
                outputs.append(TransportNote("ip.fragment_incomplete", "warning",
                                             "a fragment", i))
            elif roll < 0.3:
                outputs.append(TransportNote("tcp.retransmission", "info",
                                             f"flow {flow.id}: again", i, flow, 0))
            elif roll < 0.35:
                outputs.append(FlowClosed(flow, "fin"))
            else:
                txn += rng.random() < 0.7
                record = Record("cvip", "request", "", txn=txn or 1,
                                method="cviVideo.getProperties")
                outputs.append(Message(0, flow.id, 0, "tcp", flow.client, flow.server, [i],
                                       1_700_000_000_000_000_000 + i * 1000, 0, 0, 0,
                                       record))
        notes = [TransportNote("capture.truncated", "warning", "cut short", i)
                 for _ in range(rng.random() < 0.1)]
        if opened or outputs or notes:
            frames.append((i, opened, outputs, notes))
    if worker:  # notes of no flow go to worker 0 alone
        frames = [(i, opened, [o for o in outputs if not isinstance(o, TransportNote)
                               or o.flow is not None], [])
                  for i, opened, outputs, notes in frames]
    return frames


@pytest.mark.parametrize(("seed", "worker"), [(seed, worker) for seed in range(4)
                                              for worker in (0, 1)])
def test_a_frame_taken_as_it_comes_is_analysed_as_from_a_sorted_batch(seed, worker) -> None:
    """ShareAnalysis.take (iter_worker's sink) against the batches iter_worker makes
    without one, sorted and fed one by one: the same positions on every finding (notes
    of no flow before the frame's messages, reader notes after them), the same keys of
    messages and flows, the same numbers."""
    import copy

    from cvipsniff.split_analysis import ShareAnalysis

    frames = _frames(seed, worker)
    taken = ShareAnalysis(AnalysisConfig(), worker)
    for i, opened, outputs, notes in copy.deepcopy(frames):
        taken.take(i, opened, outputs, notes)
    fed = ShareAnalysis(AnalysisConfig(), worker)
    batch: list[tuple[tuple, object]] = []
    for i, opened, outputs, notes in copy.deepcopy(frames):
        # As iter_worker's batches: flows first, then outputs, then the reader's notes.
        seq = 0
        for flow in opened:
            batch.append(((i, 1, seq, worker), flow))
            seq += 1
        for item in outputs:
            if split_analysis.flow_of(item) is not None or \
                    type(item).__name__ == "Message":
                batch.append(((i, 1, seq, worker), item))
            elif worker == 0:
                batch.append(((i, 0, seq, worker), item))
            seq += 1
        if worker == 0:
            for note in notes:
                batch.append(((i, 2, seq, worker), note))
                seq += 1
    batch.sort(key=lambda entry: entry[0])
    for position, item in batch:
        fed.feed(position, item)
    for share in (taken, fed):
        share.finish()
    assert len(taken.raw) > 20 and any(p[1] == 0 for p, _, _, _ in taken.raw) == (worker == 0)
    assert [(p, s, f.rule, f.message, f.message_number, note)
            for p, s, f, note in taken.raw] == \
        [(p, s, f.rule, f.message, f.message_number, note) for p, s, f, note in fed.raw]
    assert list(taken.message_keys) == list(fed.message_keys)
    assert taken.flow_keys == fed.flow_keys
    assert list(taken.creators()) == list(fed.creators())


@pytest.mark.skipif(not COMPILED, reason="pure-Python path: no compiled row writer")
def test_the_compiled_rows_with_a_workers_numbers_are_the_python_ones() -> None:
    """``RowNumbers.rows`` (accel/src/pyrows.rs) against its reference: the values
    renumbered in Python, then written by the spool; and it declines a number it has no
    global one for."""
    from cvipsniff.split import plan_split
    from cvipsniff.split_analysis import (
        _RowNumbers,
        follow,
        number_all,
        renumbered,
    )

    plan = plan_split(DEMO, 3, local=False)
    shares = [follow(DEMO, PIPELINE, AnalysisConfig(), w, 3, plan) for w in range(3)]
    numbers = number_all([summary for _, summary in shares])
    spool = json_report.new_row_spool()
    compared = 0
    for (share, _), mine in zip(shares, numbers, strict=True):
        batch = list(share.pairer.transactions.iter_values())
        flows = array("q", [-1]) * (max(mine.flows, default=-1) + 1)
        for local, global_id in mine.flows.items():
            flows[local] = global_id
        compiled = _RowNumbers(mine.messages, mine.transactions, flows)
        expected_sizes = array("I")
        expected = spool.rows_bytes([renumbered(v, mine) for v in batch], expected_sizes)
        done = compiled.rows(batch, spool.inner, spool.step)
        assert done is not None
        data, sizes = done
        assert data == expected and list(sizes) == list(expected_sizes)
        compared += len(batch)
        if batch:
            short = _RowNumbers(mine.messages, mine.transactions[:-1], flows)
            assert short.rows(batch, spool.inner, spool.step) is None
    assert compared == len(_one(DEMO).transactions)


def test_ranking_runs_equals_the_reference_and_refuses_disorder() -> None:
    """rank_runs (compiled where built) against rank(), on runs of keys as the workers
    make them (frame << 8 | worker, several of one frame, frames skipped), and a run out
    of order refused on both paths."""
    import random

    from cvipsniff.split_analysis import _rank_runs, rank, rank_runs

    rng = random.Random(5)
    for _ in range(200):
        workers = rng.randrange(1, 5)
        runs = [array("Q") for _ in range(workers)]
        frame = 0
        for _ in range(rng.randrange(0, 300)):
            frame += rng.randrange(3)
            worker = rng.randrange(workers)
            runs[worker].append(frame << 8 | worker)
        assert rank_runs(runs) == rank(runs)
    if COMPILED:
        assert _rank_runs([array("Q", [1 << 8, 2 << 8])]) is not None
    with pytest.raises(ValueError, match="out of capture order"):
        rank_runs([array("Q", [3 << 8, 1 << 8]), array("Q", [2 << 8 | 1])])
