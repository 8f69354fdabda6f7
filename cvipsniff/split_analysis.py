"""A split capture's report analysed where its flows are followed, numbered at the end.

Why: in :class:`cvipsniff.split.SplitRun` every message a worker finds crosses a pipe to
the parent, which runs the one analysis over them all: however many workers there are,
the parent pairs, checks and counts every message (about a third of one process's work
on the bench's sessions mix) and unpacks each one sent to it, a floor no number of cores
lowers. Yet nearly all of an analysis is per flow: pairing keys are a flow's (a ping's
are its requester's endpoint), the connection check is per flow, counts add up. What is
global is numbering (messages, flows, transactions) and what depends on order across
flows (the ``once`` action, the per-capture caps, the first and last message, what the
end of the analysis settles, the ports the "no traffic" finding names).

So here each worker analyses what it follows and the parent puts the results together:

1. Each worker (worker 0 in this process, the others forked) follows its share of the
   flows as :func:`cvipsniff.split.iter_worker` does and feeds its outputs, in capture
   order, to its own :class:`ShareAnalysis`, which numbers messages, flows and
   transactions as that worker meets them and keeps, besides the counts, the capture
   position of each message and flow, and every finding unjudged with the position of
   what raised it.
2. The parent ranks all workers' positions (:func:`number_all`): a message's number is
   its rank among every worker's messages, a flow's id its rank among flows, a
   transaction's number the rank of the message that made it (one process numbers a
   transaction as that message arrives, and a message makes at most one). Each worker
   is sent its share of those numbers.
3. For a JSON report each worker renders its transactions' rows with them, side by side,
   into a file of its own (:func:`render_rows`; the parent interleaves them:
   :mod:`cvipsniff.report.rowspool`); the parent judges the findings in capture order
   through the one gate (:meth:`Analysis._emit`: enabled rules, severities, ``once``,
   ``per_flow``, the caps) and adds up the counts (:func:`combine`). The transactions
   themselves stay as each worker numbered them, renumbered as they are read
   (:class:`RenumberedLog`).

The report is byte for byte a single process's (tests: every bundled capture over two and
three workers, and made-up outputs whose findings are settled at the end by several
workers). Where that cannot be known to hold, :func:`analyse_distributed` says so and
the caller analyses the file another way: None where a worker failed or two workers
followed pings of one requester (pings pair by endpoint, and a TCP ping's connection may
be anyone's); :class:`Unsplittable` where the workers' shares of a global cap could have
reached it (as :class:`~cvipsniff.split.SplitRun`).
"""

from __future__ import annotations

import multiprocessing
import signal
import tempfile
import threading
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import IO, TYPE_CHECKING, Any

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.coverage import TrafficSeen
from cvipsniff.analysis.engine import Analysis
from cvipsniff.analysis.model import Finding, Transaction
from cvipsniff.analysis.stats import ServiceResponseTimes
from cvipsniff.analysis.txnlog import TransactionLog, transaction_of
from cvipsniff.analysis.txnlog import values as values_of
from cvipsniff.model import Flow, Message, TransportNote
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.split import (
    END,
    FLOW_IN_TEXT,
    WorkerEnd,
    flow_of,
    iter_worker,
    plan_split,
    widen_pipe,
    within_caps,
)
from dissectors.accel import accelerated

if TYPE_CHECKING:
    from cvipsniff.report.rowspool import RowSpool

_ROWS_BATCH = 512  # rows a worker renders at once
_FINISH = (END + 1,)  # the position of what the end of the analysis settles: after all
# Sort keys of positions at the end of the capture (see _key): after any frame's.
_TAIL = 1 << 256
_WORKER_BITS = 8
_PRUNE_FLOOR = 4096  # notes of opened keys kept at least before pruning them (opened_at)


def _key(position: tuple) -> int:
    """A message's or a flow's capture position (:mod:`cvipsniff.split`'s tuples) as an
    int in the same order among all workers', worker in the low bits: ranking a few
    hundred thousand ints is a sort of a few sorted runs in C, where the tuples cost a
    comparison each in Python. While the capture is read, what a frame made is one
    worker's (a frame is one flow's) and all in phase 1: the frame and the worker
    place it (a worker's own come in order; the ranking keeps it). At its end, every
    part of the position counts (frame indexes, flow ids and sequences stay below
    2**48)."""
    frame = position[0]
    if frame != END:
        return frame << _WORKER_BITS | position[-1]
    _end, phase, (announced, owner, flow), seq, worker = position
    return _TAIL + ((((((phase + 1) << 48 | announced) << _WORKER_BITS | owner) << 48
                      | flow) << 48 | seq) << _WORKER_BITS | worker)


class ShareAnalysis(Analysis):
    """One worker's analysis of the flows it follows, numbered as it sees them, its
    findings kept unjudged with the capture position of what raised them."""

    def __init__(self, config: AnalysisConfig, worker: int) -> None:
        super().__init__(config)
        self.worker = worker
        # Per local message number - 1, its key (see _key): those read before the end of
        # the capture as machine integers (8 bytes a message, as the pairer's index of
        # them), then the end's (few, and larger than any machine integer).
        self.message_keys = array("Q")
        self.end_keys: list[int] = []
        self.flow_keys: list[tuple[int, int]] = []  # (key, the worker's flow id)
        # (position, sequence, finding, raised by a transport note)
        self.raw: list[tuple[tuple, int, Finding, bool]] = []
        self._position: tuple = ()
        self._from_note = False
        # Per key of the pairer's outstanding-request queues, the capture position at
        # which it was last opened: what the end of the analysis settles comes in that
        # order in one process, so the parent orders the workers' by it. Only openings
        # are told (every request passes there): a key closed keeps its note until it is
        # opened again, which notes it anew, or the notes are pruned to the open keys'
        # once they are twice as many (memory stays flat).
        self.opened_at: dict[tuple, tuple] = {}
        self._prune_above = _PRUNE_FLOOR
        self.pairer.on_open = self._opened
        # The requesters' endpoints of the CVIP pings seen: what the pairer keys them by
        # (not by flow).
        self.ping_endpoints: set[tuple] = set()
        # Where each (transport, server port) of the flows that ended was first met: the
        # "no traffic" finding names them in that order.
        self.first_ports: list[tuple[tuple, str, int]] = []

    def feed(self, position: tuple, item: Any) -> None:
        kind = type(item)
        if kind is Message:
            frame = position[0]
            if frame != END:  # _key's first case inline: every message passes here
                self.message_keys.append(frame << _WORKER_BITS | self.worker)
            else:
                self.end_keys.append(_key(position))
            self._keyed_message(position, item)
        elif kind is Flow:
            self.flow_keys.append((_key(position), item.id))
        elif kind is TransportNote:
            self._position = position
            self._from_note = True
            try:
                self.add(item)
            finally:
                self._from_note = False
        else:
            self._position = position
            self.add(item)

    def _keyed_message(self, position: tuple, item: Message) -> None:
        """A message whose key was just kept: numbered in capture order (as the parent
        ranks them), then analysed at ``position``."""
        item.number = len(self.message_keys) + len(self.end_keys)
        self._position = position
        record = item.record
        if record.protocol == "cvip-ping":  # keyed by the requester's endpoint
            self.ping_endpoints.add(item.dst if record.is_response else item.src)
        self._message(item)

    def take(self, i: int, flows: list[Flow], outputs: list,
             notes: list[TransportNote]) -> None:
        """What frame ``i`` made, as :meth:`feed` would take it from a sorted batch of
        :func:`~cvipsniff.split.iter_worker` (as its sink): each output at the position
        the batch gives it, ``(i, phase, sequence, worker)``, the sequence counting the
        flows the frame opened, then its outputs (phase 0: an output of no flow, 1: a
        flow or an output of one, 2: a reader's note; outputs of no flow and notes are
        worker 0's alone)."""
        worker = self.worker
        key = i << _WORKER_BITS | worker  # _key of this frame's positions in phase 1
        if len(outputs) == 1 and not flows and not notes:  # most frames: one message
            item = outputs[0]
            if type(item) is Message:
                self.message_keys.append(key)
                self._keyed_message((i, 1, 0, worker), item)
                return
        flow_keys = self.flow_keys
        for flow in flows:
            flow_keys.append((key, flow.id))
        base = len(flows)
        first = worker == 0
        if first:
            for seq, item in enumerate(outputs, base):
                if type(item) is not Message and flow_of(item) is None:
                    self.feed((i, 0, seq, worker), item)
        message_keys, keyed = self.message_keys, self._keyed_message
        for seq, item in enumerate(outputs, base):
            if type(item) is Message:
                message_keys.append(key)
                keyed((i, 1, seq, worker), item)
            elif flow_of(item) is not None:
                self.feed((i, 1, seq, worker), item)
        if first:
            for seq, note in enumerate(notes, base + len(outputs)):
                self.feed((i, 2, seq, worker), note)

    def _opened(self, key: tuple) -> None:
        opened_at = self.opened_at
        if len(opened_at) >= self._prune_above:
            still_open = self.pairer._open
            self.opened_at = opened_at = {
                open_key: opened_at[open_key] for open_key in still_open if open_key != key}
            self._prune_above = max(_PRUNE_FLOOR, 2 * len(still_open))
        opened_at[key] = self._position

    def _flow_closed(self, flow: Flow) -> list[Finding]:
        ports = self.seen.ports.get(flow.transport)
        if ports is None or flow.server[1] not in ports:
            self.first_ports.append((self._position, flow.transport, flow.server[1]))
        return super()._flow_closed(flow)

    def _emit(self, findings: list[Finding]) -> list[Finding]:
        raw, position, note = self.raw, self._position, self._from_note
        for f in findings:
            raw.append((position, len(raw), f, note))
        return findings

    def finish(self) -> list[Finding]:
        """Settle what is still open, as :meth:`Pairer.finish` does, each queue's
        findings placed by when its key was added; the rest of one process's finish (the
        "no traffic" finding, the per-capture overflow) is the parent's."""
        pairer = self.pairer
        opened = pairer._open
        for key, queue in opened.items():
            self._position = (*_FINISH, self.opened_at[key])
            for entry in queue:
                self._emit(pairer._settle_unanswered(entry))
        opened.clear()
        self.opened_at.clear()
        pairer._flow_keys.clear()
        pairer._live.clear()
        self._collect_latencies()
        return []

    def summary(self, end: WorkerEnd) -> ShareSummary:
        """What the parent is told once the share is read and finished."""
        log = self.pairer.transactions
        if log.spill_above is not None:
            # Every transaction is settled now: all to the file (their response times
            # were counted by the finish, not to be counted again as they are written).
            log.on_spill = None
            log.spill(set())
        return ShareSummary(
            self.worker, end, self.message_keys, self.end_keys, self.flow_keys,
            self.creators(), self.raw,
            self.messages, self.flows, self.silent_flows, dict(self.pairer.states),
            self.srt, self.first_ts_ns, self.last_ts_ns, self.ping_endpoints,
            self.first_ports, self.seen, log)

    def creators(self) -> array:
        """Per local transaction, the local number of the message that made it (the
        first message the pairer mapped to it: transactions are made by messages, at
        most one each, and answers come after)."""
        numbers = self.pairer._by_message.numbers
        if self.pairer._by_message._sparse:
            raise ValueError("messages numbered out of order")
        out = array("q", bytes(8 * self.pairer.count))
        seen = 0
        for message, txn in enumerate(numbers):
            if txn > seen:
                if txn != seen + 1:
                    raise ValueError("transactions made out of order")
                out[seen] = message
                seen = txn
        if seen != self.pairer.count:
            raise ValueError("a transaction no message made")
        return out


@dataclass(slots=True)
class ShareSummary:
    """What a worker tells the parent once it has read the capture (step 1)."""

    worker: int
    end: WorkerEnd
    message_keys: array = field(default_factory=lambda: array("Q"))
    end_keys: list[int] = field(default_factory=list)
    flow_keys: list[tuple[int, int]] = field(default_factory=list)
    creators: array = field(default_factory=lambda: array("q"))
    raw: list[tuple[tuple, int, Finding, bool]] = field(default_factory=list)
    messages: Counter[str] = field(default_factory=Counter)
    flows_with_messages: set[int] = field(default_factory=set)
    silent_flows: int = 0
    states: dict[str, int] = field(default_factory=dict)
    srt: ServiceResponseTimes = field(default_factory=ServiceResponseTimes)
    first_ts_ns: int | None = None
    last_ts_ns: int | None = None
    ping_endpoints: set[tuple] = field(default_factory=set)
    first_ports: list[tuple[tuple, str, int]] = field(default_factory=list)
    seen: TrafficSeen = field(default_factory=TrafficSeen)
    # The worker's transactions as it numbered them (written out: crosses as bytes).
    transactions: TransactionLog = field(default_factory=TransactionLog)

    @property
    def message_count(self) -> int:
        return len(self.message_keys) + len(self.end_keys)

    def keys(self) -> Iterator[int]:
        """Every message's key, in the worker's (capture) order."""
        yield from self.message_keys
        yield from self.end_keys


@dataclass(slots=True)
class Numbers:
    """A worker's share of the global numbers (step 2): per local message number - 1 and
    per local transaction number - 1 the global one; flow ids by the worker's."""

    messages: array
    transactions: array
    flows: dict[int, int]


def follow(path: str, pipeline_config: PipelineConfig, config: AnalysisConfig,
           worker: int, workers: int, plan: Any) -> tuple[ShareAnalysis, ShareSummary]:
    """Worker ``worker``'s share of the capture, analysed (step 1)."""
    share = ShareAnalysis(config, worker)
    end = WorkerEnd(error="no end")
    feed = share.feed
    # What a frame makes goes to the analysis as it comes; only the end of the capture's
    # outputs come in a batch.
    for batch in iter_worker(path, pipeline_config, worker, workers, pack=False, plan=plan,
                             sink=share.take):
        if isinstance(batch, WorkerEnd):
            end = batch
            break
        # In capture order (the end of the capture's outputs come in flow order).
        batch.sort(key=_position_of)
        for position, item in batch:
            feed(position, item)
    share.finish()
    return share, share.summary(end)


def _position_of(entry: tuple) -> tuple:
    return entry[0]


def renumbered(values: tuple, numbers: Numbers) -> tuple:
    """A transaction's values (:func:`~cvipsniff.analysis.txnlog.values`) as a worker
    numbered them, with the global numbers: its own, its flow's and its messages'."""
    messages = numbers.messages
    number, protocol, id_, flow, method, state, request, responses, expects = values
    if request is not None:
        request = (messages[request[0] - 1], request[1], request[2], request[3], request[4])
    return (numbers.transactions[number - 1], protocol, id_, numbers.flows[flow], method,
            state, request, [(messages[r[0] - 1], r[1], r[2], r[3], r[4]) for r in responses],
            expects)


def renumbered_values(log: TransactionLog, numbers: Numbers) -> Iterator[tuple]:
    """A worker's transactions' values with the global numbers, in its order."""
    for values in log.iter_values():
        yield renumbered(values, numbers)


def _no_row_numbers(messages: array, transactions: array, flows: array) -> None:
    return None


# The compiled row writer with a worker's numbers (accel/src/pyrows.rs): ``rows(batch,
# nl, step)`` writes the rows of values as the worker numbered them with the global
# numbers, as renumbered() and RowSpool.rows_bytes do (or declines a batch with None);
# None on the pure-Python path.
_RowNumbers = accelerated("RowNumbers", _no_row_numbers)


def render_rows(log: TransactionLog, numbers: Numbers, spool: RowSpool,
                rows_file: IO[bytes]) -> array:
    """Step 3, for a JSON report: the worker's transactions' rows with the global
    numbers, written one after another to ``rows_file``; their sizes."""
    sizes = array("I")
    flows = array("q", [-1]) * (max(numbers.flows, default=-1) + 1)
    for local, global_id in numbers.flows.items():
        flows[local] = global_id
    compiled = _RowNumbers(numbers.messages, numbers.transactions, flows)
    batch: list[tuple] = []
    for values in log.iter_values():
        batch.append(values)
        if len(batch) >= _ROWS_BATCH:
            rows_file.write(_rows(batch, numbers, compiled, spool, sizes))
            batch.clear()
    rows_file.write(_rows(batch, numbers, compiled, spool, sizes))
    rows_file.flush()
    return sizes


def _rows(batch: list[tuple], numbers: Numbers, compiled: Any, spool: RowSpool,
          sizes: array) -> bytes:
    """A batch of the worker's transactions' rows (values as it numbered them)."""
    if compiled is not None and batch:
        done = compiled.rows(batch, spool.inner, spool.step)
        if done is not None:
            data, row_sizes = done
            sizes.extend(row_sizes)
            return data
    return spool.rows_bytes([renumbered(values, numbers) for values in batch], sizes)


def rank(keys_per_worker: list[Sequence[int]]) -> list[array]:
    """Per worker, the 1-based rank of each of its keys among all workers' (each
    worker's keys in order, the worker's number in their low bits: keys equal are one
    worker's, ranked in its order)."""
    out = [array("q", bytes(8 * len(keys))) for keys in keys_per_worker]
    if len(out) > 1 << _WORKER_BITS:
        raise ValueError(f"at most {1 << _WORKER_BITS} workers")
    filled = [0] * len(out)
    mask = (1 << _WORKER_BITS) - 1
    merged = sorted(key for keys in keys_per_worker for key in keys)
    for number, key in enumerate(merged, 1):
        worker = key & mask
        out[worker][filled[worker]] = number
        filled[worker] += 1
    return out


def _no_rank_runs(runs: list[array]) -> None:
    return None


# rank() of runs of machine integers each in order, merged in Rust (accel/src/rank.rs):
# per run, the bytes of its ranks as an array("q"); None where a run is out of order, and
# on the pure-Python path.
_rank_runs = accelerated("rank_runs", _no_rank_runs)


def rank_runs(runs: list[array]) -> list[array]:
    """:func:`rank` of ``runs`` (``array("Q")`` each, in the worker's order), compiled
    where it can be: merging a few sorted runs once, where the reference sorts every key
    and walks them all in Python (~0.07 s on the bench's sessions mix, while the workers
    wait for their numbers). Raises ValueError where a run is out of order."""
    ranked = _rank_runs(runs)
    if ranked is not None:
        out = []
        for data in ranked:
            ranks = array("q")
            ranks.frombytes(data)
            out.append(ranks)
        return out
    return rank(_in_order(runs))


def _in_order(runs: list[Sequence[int]]) -> list[Sequence[int]]:
    """``runs``, each checked to be in capture order (ValueError where one is not)."""
    for run in runs:
        if any(a > b for a, b in pairwise(run)):
            raise ValueError("a worker's keys out of capture order")
    return runs


def number_all(summaries: list[ShareSummary]) -> list[Numbers]:
    """Step 2: every worker's share of the global numbers."""
    # Messages read before the end of the capture rank among themselves (machine
    # integers, in order); the end's come after every one of those.
    messages = rank_runs([s.message_keys for s in summaries])
    before_end = sum(len(s.message_keys) for s in summaries)
    end_ranks = rank(_in_order([s.end_keys for s in summaries]))
    for mine, ranks in zip(messages, end_ranks, strict=True):
        mine.extend(before_end + r for r in ranks)
    flow_ranks = rank([[key for key, _ in s.flow_keys] for s in summaries])
    flows = [{local: flow_ranks[w][i] - 1 for i, (_, local) in enumerate(s.flow_keys)}
             for w, s in enumerate(summaries)]
    # A transaction's place: the global number of the message that made it (in the
    # worker's order: it numbers transactions as their messages come).
    made_by = [array("Q", [messages[w][local - 1] << _WORKER_BITS | w
                           for local in s.creators])
               for w, s in enumerate(summaries)]
    transactions = rank_runs(made_by)
    return [Numbers(messages[w], transactions[w], flows[w]) for w in range(len(summaries))]


class RenumberedLog:
    """The transactions of every worker in global number order, renumbered as they are
    read: a report that lists them (JSON) reads them once, through its rows, which the
    workers render themselves where they can; the others (text, JUnit, Markdown) only
    count them. Read-only, and list-like where a report reads a log: its length,
    indexing, iteration in number order and ``iter_values``, as
    :class:`TransactionLog`'s."""

    __slots__ = ("_at", "_logs", "_numbers", "_owner")

    def __init__(self, logs: list[TransactionLog], numbers: list[Numbers]) -> None:
        self._logs = logs
        self._numbers = numbers
        total = sum(len(log) for log in logs)
        # Per global number - 1: the worker, and the transaction's place in its log.
        self._owner = array("B", bytes(total))
        self._at = array("q", bytes(8 * total))
        for worker, mine in enumerate(numbers):
            for local, number in enumerate(mine.transactions):
                self._owner[number - 1] = worker
                self._at[number - 1] = local

    def __len__(self) -> int:
        return len(self._owner)

    def __bool__(self) -> bool:
        return bool(self._owner)

    def iter_values(self) -> Iterator[tuple]:
        """Every transaction's values in number order."""
        readers = [renumbered_values(log, numbers)
                   for log, numbers in zip(self._logs, self._numbers, strict=True)]
        for worker in self._owner:
            yield next(readers[worker])

    def __iter__(self) -> Iterator[Transaction]:
        for values in self.iter_values():
            yield transaction_of(values)

    def __getitem__(self, index: int) -> Transaction:
        if index < 0:
            index += len(self._owner)
        if not 0 <= index < len(self._owner):
            raise IndexError("transaction index out of range")
        worker = self._owner[index]
        one = self._logs[worker][self._at[index]]
        numbers = self._numbers[worker]
        return transaction_of(renumbered(values_of(one), numbers))

    def clear(self) -> None:
        for log in self._logs:
            log.clear()
        self._owner = array("B")
        self._at = array("q")


def combine(config: AnalysisConfig, summaries: list[ShareSummary],
            numbers: list[Numbers]) -> Analysis:
    """The parent's analysis, as one process's over the whole capture (step 3)."""
    analysis = Analysis(config)
    log = RenumberedLog([s.transactions for s in summaries], numbers)
    analysis.pairer.transactions = log  # type: ignore[assignment]
    analysis.pairer.count = len(log)
    states: Counter[str] = Counter()
    for s in summaries:
        states.update(s.states)
        analysis.messages.update(s.messages)
        analysis.message_count += s.message_count
        analysis.silent_flows += s.silent_flows
        analysis.flows.update(numbers[s.worker].flows[f] for f in s.flows_with_messages)
        for key, times in s.srt.methods.items():
            mine = analysis.srt.methods.get(key)
            if mine is None:
                analysis.srt.methods[key] = times
            else:
                mine.latencies_ms.extend(times.latencies_ms)
    analysis.pairer.states = dict(states)
    spoken = [s for s in summaries if s.message_count]
    if spoken:
        first = min(spoken, key=lambda s: next(s.keys()))
        last = max(spoken, key=lambda s: (s.end_keys or s.message_keys)[-1])
        analysis.first_ts_ns, analysis.last_ts_ns = first.first_ts_ns, last.last_ts_ns
    analysis._emit([_renumbered_finding(f, note, numbers[w])
                    for _, w, _, f, note in sorted(
                        (position, s.worker, seq, f, note)
                        for s in summaries for position, seq, f, note in s.raw)])
    if not analysis.message_count:  # nothing analysed is not a pass (Analysis.finish)
        analysis.seen = traffic_seen(summaries)
        analysis._emit([analysis.seen.finding()])
    analysis._capture_overflow()
    return analysis


def traffic_seen(summaries: list[ShareSummary]) -> TrafficSeen:
    """Every worker's flows by transport and port, each first met where one process
    would have first met it (the finding lists ports with equal counts in that order)."""
    seen = TrafficSeen()
    for _position, _worker, transport, port in sorted(
            (position, s.worker, transport, port)
            for s in summaries for position, transport, port in s.first_ports):
        ports = seen.ports.get(transport)
        if ports is None:
            ports = seen.ports[transport] = Counter()
        ports.setdefault(port, 0)
    for s in summaries:
        for transport, counts in s.seen.ports.items():
            ports = seen.ports.get(transport)
            if ports is None:
                ports = seen.ports[transport] = Counter()
            ports.update(counts)
    return seen


def _renumbered_finding(f: Finding, from_note: bool, numbers: Numbers) -> Finding:
    if f.transaction is not None:
        f.transaction = numbers.transactions[f.transaction - 1]
    if f.message_number is not None:
        f.message_number = numbers.messages[f.message_number - 1]
    if f.flow is not None:
        f.flow = numbers.flows[f.flow]
    if from_note:
        flows = numbers.flows
        f.message = FLOW_IN_TEXT.sub(
            lambda m: str(flows.get(int(m.group(1)), m.group(1))), f.message)
    return f


class Unsplittable(Exception):
    """The capture must be analysed in one process: the workers' shares of a global cap
    (tracked flows, reassembly buffer) could reach it, so no split is exact."""


def _exact(summaries: list[ShareSummary], pipeline_config: PipelineConfig) -> bool:
    """Whether the workers' results put together are what one process makes (False:
    a worker failed, or two followed pings of one requester); raises
    :class:`Unsplittable` where the caps could have been reached."""
    ends = [s.end for s in summaries]
    if any(e.error for e in ends):
        return False
    if not within_caps(ends, pipeline_config):
        raise Unsplittable("a global cap could have been reached")
    pinged: set[tuple] = set()
    for s in summaries:
        if not pinged.isdisjoint(s.ping_endpoints):
            return False  # pings of one endpoint followed by two workers could pair
        pinged |= s.ping_endpoints
    return True


def _child(path: str, pipeline_config: PipelineConfig, config: AnalysisConfig,
           worker: int, workers: int, plan: Any, conn: Any, spool: RowSpool | None,
           rows_file: IO[bytes] | None) -> None:
    """A forked worker: its summary, then (told its numbers) its rows' sizes."""
    try:
        try:
            share, summary = follow(path, pipeline_config, config, worker, workers, plan)
            conn.send(summary)
            numbers = conn.recv()
            if numbers is None:  # the parent gave up on the split
                return
            sizes = render_rows(share.pairer.transactions, numbers, spool, rows_file) \
                if spool is not None and rows_file is not None else array("I")
            conn.send(sizes)
        except BaseException as exc:  # the parent then analyses the file another way
            conn.send(WorkerEnd(error=f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def analyse_distributed(path: str, config: AnalysisConfig, pipeline_config: PipelineConfig,
                        workers: int, spool: RowSpool | None = None) -> Analysis | None:
    """``path``'s analysis by ``workers`` processes, each analysing the flows it follows
    (see the module's docstring); the workers render the JSON rows of their
    transactions into ``spool`` where given. None where the result could differ from
    one process's (the spool is left as it was then; :func:`cvipsniff.split.analyse_split`
    may still split it); :class:`Unsplittable` where no split can be exact."""
    # Flows shared out evenly: what the parent does besides its share (ranking, putting
    # together) comes while the other workers wait for their numbers or after they are
    # done, so it is not weighed against its share (measured: any share taken off the
    # parent for it made both bench mixes slower).
    plan = plan_split(path, workers, local=False)
    if plan.single:
        raise Unsplittable("as many flows as the flow table's cap")
    ctx = multiprocessing.get_context("fork")
    conns: list[Any] = []
    procs: list[Any] = []
    told: set[Any] = set()  # the workers sent their numbers
    # Each worker's rows file, made before the fork: a forked worker writes to it, the
    # parent reads it (the spool keeps and closes those it takes).
    rows_files: list[IO[bytes] | None] = [
        tempfile.TemporaryFile(prefix="cvipsniff-rows-")  # noqa: SIM115
        for _ in range(workers)] if spool is not None else [None] * workers
    adopted = False
    try:
        for worker in range(1, workers):
            parent_conn, child_conn = ctx.Pipe(duplex=True)
            widen_pipe(parent_conn)
            proc = ctx.Process(target=_child, daemon=True,
                               args=(path, pipeline_config, config, worker, workers, plan,
                                     child_conn, spool, rows_files[worker]))
            proc.start()
            child_conn.close()
            procs.append(proc)
            conns.append(parent_conn)
        own, own_summary = follow(path, pipeline_config, config, 0, workers, plan)
        summaries = [own_summary]
        for conn in conns:
            got = _receive(conn)
            if not isinstance(got, ShareSummary):
                return None
            summaries.append(got)
        if not _exact(summaries, pipeline_config):
            return None
        numbers = number_all(summaries)
        for conn, mine in zip(conns, numbers[1:], strict=True):
            if not _send(conn, mine):
                return None
            told.add(conn)
        row_sizes = [render_rows(own.pairer.transactions, numbers[0], spool, rows_files[0])
                     if spool is not None and rows_files[0] is not None else array("I")]
        analysis = combine(config, summaries, numbers)
        for conn in conns:
            got = _receive(conn)
            if not isinstance(got, array):
                return None
            row_sizes.append(got)
        if spool is not None:
            for file, sizes, mine in zip(rows_files, row_sizes, numbers, strict=True):
                assert file is not None
                spool.add_part(file, sizes, mine.transactions)
            adopted = True
        return analysis
    except Unsplittable:
        raise
    except Exception:  # a bug or a lost worker: the file is analysed another way
        return None
    finally:
        for conn in conns:
            if conn not in told:
                _send(conn, None)  # a worker waiting for its numbers: there are none
            conn.close()
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        if not adopted:
            for file in rows_files:
                if file is not None:
                    file.close()


def _send(conn: Any, message: Any) -> bool:
    """Send ``message`` to a worker; False if it is gone. With SIGPIPE ignored meanwhile:
    the command line restores its default action (a report piped into ``head`` ends
    quietly), which would end this process, not the split, if a worker had died."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGPIPE, signal.SIG_IGN) if main else None
    try:
        conn.send(message)
        return True
    except OSError:
        return False
    finally:
        if main:
            signal.signal(signal.SIGPIPE, previous)


def _receive(conn: Any) -> Any:
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None
