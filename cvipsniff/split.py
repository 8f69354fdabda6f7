"""One capture over several processes, split by flow, merged back in capture order.

Why this shape: decoding, reassembly, framing and dissection (nearly all of the time)
depend only on the packets of one flow, while what a report numbers and counts (frames,
messages, flows, transactions, findings and the "once" gate, ping pairing across UDP
conversations) is global. So each worker reads the whole file (frame numbers stay the
file's own), decodes every packet (IP fragments are rebuilt before a packet is assigned)
and follows only the TCP connections its :class:`Plan` gives it; UDP conversations
(pings, whose broadcast answers come from other conversations) all go to worker 0, as do
the notes of no flow (capture and IP notes). A plain TCP frame of another worker's flow
is hashed and passed over without being decoded (compiled path). The plan
(:func:`plan_split`) places a flow by the CRC-32 of its unordered 4-tuple: with the
compiled accelerator, a quick pass weighs every flow first, so a few heavy flows do not
all land on one worker and the parent's own part (merge and analysis) is allowed for;
without it, the hash space is cut in fixed proportions. Worker 0 is the parent itself, run as the
merge asks for its outputs (one process fewer on the cores, nothing of its share
pickled); the others are forked and send batches over pipes. The parent merges the
outputs by capture position and runs the one :class:`~cvipsniff.analysis.engine.Analysis`,
numbering messages and flows as a single process would, so the report is byte for byte
the same whatever the number of workers. (That is the terminal UI's split, which shows
every message, and a report's where its workers cannot analyse their own flows: a
report's workers otherwise analyse what they follow and the parent only puts their
results together, :mod:`cvipsniff.split_analysis`; its workers run :func:`iter_worker`
as these do.)

Capture position of an output: ``(frame index, phase, sequence, worker)`` while reading —
phase 0 for the notes of no flow that a frame's decoding produced, 1 for what its packet
caused (one flow, so one worker), 2 for the reader's notes after it, 3 for a worker's
report of how far it has read (:class:`ReadProgress`, asked for by the TUI) — and at the
end of the capture ``(END, phase, flow order, sequence, worker)`` in the order
:meth:`Pipeline.finish` uses (flows still in the flow table by creation, then the
pipeline's remaining ones), after ``(END, -1, 0, worker)``, the last report of how far a
worker read, and before the flows' final states (:class:`FlowUpdate`, phase 3, asked for
by the TUI). A flow's order is ``(frame index that announced it, worker, worker's id)``,
and its global id its rank in that order; flows made by one frame (a reused port) are of
one 4-tuple, so of one worker, and keep their order. The worker's number last makes every
position unique across workers, so the merge is a sort of what every worker has sent up
to the lowest of their latest positions.

What cannot be split exactly: the flow table's global caps (total reassembly buffer,
number of tracked flows) see only one worker's share. Each worker reports its peaks; when
their sum could have reached a cap, the caller analyses the file in one process instead.
"""

from __future__ import annotations

import bisect
import functools
import multiprocessing
import os
import pickle
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import astuple, dataclass, field, fields, replace
from operator import attrgetter, itemgetter
from queue import Queue
from typing import Any

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.engine import ANALYSIS_ATTRS, Analysis
from cvipsniff.capture import open_capture
from cvipsniff.flows.table import DEFAULT_MAX_FLOWS, DEFAULT_MAX_TOTAL_BUFFER, FlowTable
from cvipsniff.model import Flow, FlowClosed, FlowOpened, Frame, Message, Packet, TransportNote
from cvipsniff.pipeline import Pipeline, PipelineConfig, PipelineOutput, new_lane
from dissectors.accel import accelerated
from dissectors.base import Record

END = 1 << 62  # frame index of the outputs made by the end of the capture
BATCH = 512  # outputs per message between a worker and the parent
# The first message is this small and each next one twice the size up to BATCH: the merge
# needs every worker's first outputs before it yields any (the TUI's first screen).
FIRST_BATCH = 32
# Slack for a cap reached inside one packet's handling (a segment and its bookkeeping)
# between two of the peaks a worker samples.
_PACKET_SLACK = 1 << 18
_PIPE_SIZE = 1 << 20  # bytes: Linux's default maximum for an unprivileged process
_PROGRESS_SHIFT = 12  # a progress report per 4096 frames (the first frame seen of each)
FLOW_IN_TEXT = re.compile(r"(?<=flow )(\d+)")  # a flow's id in a note's text


# Worker 0 is the parent: besides its share of the flows it reads and decodes every
# packet, unpickles the other workers' outputs and runs the one Analysis. Where flows are
# not weighed first (pure Python; see plan_split), it takes this share of the hash space
# relative to each forked worker's: measured on two cores (CPU seconds per process,
# `report --jobs 2 --split-above 0`, both bench mixes), an even split left the parent ~20%
# busier than the forked worker, which then idled. Any share gives the same report: the
# merge orders outputs by capture position and renumbers flows and messages, whoever
# followed them.
PARENT_WEIGHT = 0.7
_HASH_SPACE = 1 << 32


@functools.lru_cache(maxsize=8)
def shard_bounds(workers: int, first_weight: float = PARENT_WEIGHT) -> tuple[int, ...]:
    """Upper bounds of each worker's part of the 32-bit hash space (worker 0 first);
    ``first_weight``: worker 0's part relative to each other's (1.0 where worker 0 is a
    forked process like the others, as in the TUI's split)."""
    total = first_weight + (workers - 1)
    bounds = []
    for index in range(workers):
        share = first_weight + index
        bounds.append(_HASH_SPACE if index == workers - 1
                      else int(_HASH_SPACE * share / total))
    return tuple(bounds)


def flow_key(packet: Packet) -> bytes:
    """A TCP packet's flow, both directions alike: the lower of ``src + sport`` and
    ``dst + dport`` (ports big-endian), then the other (the compiled weighing pass,
    accel/src/flowweights.rs, builds the same bytes)."""
    a = packet.src + packet.sport.to_bytes(2, "big")
    b = packet.dst + packet.dport.to_bytes(2, "big")
    return a + b if a <= b else b + a


@dataclass(slots=True, frozen=True)
class Plan:
    """Which worker follows which TCP flow, by the CRC-32 of its :func:`flow_key`: the
    hashes in ``named`` (heavy flows) as they say, any other by where it falls among
    ``bounds`` (each worker's upper bound in the 32-bit hash space, as
    :func:`shard_bounds`). A function of the hash alone, so every worker, whether it
    decoded a frame or only hashed it (:func:`_flow_digest`), places a flow alike. Any
    plan gives the same report (see the module docstring). ``single``: the weighing
    pass saw as many TCP flows as the flow table's cap, so the workers' shares could
    reach it and the split would be redone in one process anyway (a million lone SYNs:
    54 s split and redone against 5 s in one process): none is started."""

    bounds: tuple[int, ...]
    named: dict[int, int] = field(default_factory=dict)
    single: bool = False

    def owner(self, digest: int) -> int:
        named = self.named.get(digest)
        return named if named is not None else bisect.bisect_right(self.bounds, digest)


def shard_of(packet: Packet, workers: int, first_weight: float = PARENT_WEIGHT,
             plan: Plan | None = None) -> int:
    """The worker that follows this packet's flow: TCP by ``plan`` (by default, a hash
    of the unordered 4-tuple cut by :func:`shard_bounds`: both directions alike, stable
    across processes), everything else 0."""
    if packet.transport != 6:
        return 0
    digest = zlib.crc32(flow_key(packet))
    if plan is None:
        return bisect.bisect_right(shard_bounds(workers, first_weight), digest)
    return plan.owner(digest)


class _Share:
    """Whether a packet is this worker's, remembered per 4-tuple (the hash once per
    direction of a flow, not per packet)."""

    __slots__ = ("cache", "first_weight", "index", "plan", "workers")

    def __init__(self, index: int, workers: int, first_weight: float = PARENT_WEIGHT,
                 plan: Plan | None = None) -> None:
        self.index = index
        self.workers = workers
        self.first_weight = first_weight
        self.plan = plan
        self.cache: dict[tuple, bool] = {}

    def __call__(self, packet: Packet) -> bool:
        if packet.transport != 6:
            return self.index == 0
        key = (packet.src, packet.sport, packet.dst, packet.dport)
        mine = self.cache.get(key)
        if mine is None:
            if len(self.cache) >= 1 << 16:  # bounded: millions of tiny flows
                self.cache.clear()
            mine = self.cache[key] = \
                shard_of(packet, self.workers, self.first_weight, self.plan) == self.index
        return mine


def _no_digest(frame: Frame) -> int:
    return -1


# A frame's flow hash where the packet decoder's fast path reads it as TCP, else -1
# (always, on the pure-Python path): a worker skips another's frames unread.
_flow_digest = accelerated("flow_digest", _no_digest)


def _no_share(index: int, bounds: list[int], named: dict[int, int]) -> None:
    return None


# What the compiled record walks skip (cvipsniff/capture): ``FlowShare(index, bounds,
# named)`` says, as :meth:`Plan.owner` with :func:`_flow_digest`, whether worker
# ``index`` follows a frame; None on the pure-Python path (every frame is built).
_flow_share = accelerated("FlowShare", _no_share)


# The weighing pass (compiled only; None on the pure-Python path, where flows go by hash
# alone): each flow's work as PACKET_COST per TCP packet, SEGMENT_COST more per packet
# with payload, PUSH_COST more per pushed one (PSH: a sender's write, about a message),
# plus its payload bytes. Fitted to CPU seconds of workers following chosen parts of the
# hash space on both bench mixes: about 45 us per message and 4 ns per byte
# (the per-packet costs could not be told apart from them; they are small). Since the
# fast lane (accel/src/pylane.rs) takes a calm connection's segments in the record walk,
# a payload byte costs far less beside a message: the per-packet and per-message costs
# are twice the first fit (a byte keeps its one unit), and the parent's merge is about
# three fifths of a message's cost (both chosen by the wall time of `report --jobs 2` on
# both bench mixes over a grid of the two, the last time once the compiled dissectors
# took connect requests, multipart answers and logins; see issue 17).
def _no_weights(path: str, packet_cost: int, segment_cost: int, push_cost: int,
                max_tracked: int, heavy: int) -> None:
    return None


_flow_weights = accelerated("flow_weights", _no_weights)
PACKET_COST = 500
SEGMENT_COST = 500
PUSH_COST = 21000
# What worker 0 (the parent) does per message besides its own flows: merging every
# worker's outputs and the one Analysis, in the same unit (fitted as the costs above).
MERGE_COST = 12000
_MAX_TRACKED = 1 << 17  # flows counted one by one in the pass (~10 MB); the rest in buckets
_MAX_NAMED = 256  # heavy flows placed by name
_BUCKET_BITS = 16  # the pass's buckets of the hash space (accel/src/flowweights.rs)


def plan_split(path: str, workers: int, local: bool = True) -> Plan:
    """Which worker follows which flow, for ``workers`` workers; ``local``: worker 0 is
    the parent, which also merges and analyses (a report's merged split), not a worker
    like the others (the TUI; a report whose workers analyse their own flows,
    :mod:`cvipsniff.split_analysis`).

    With the compiled accelerator, one quick pass over the file weighs every flow (and
    counts the messages, for the parent's part); the heaviest flows are placed largest
    first on the worker that would then finish first, and the hash space is then cut so
    the other flows fill each worker up to an even finish. Otherwise (pure Python, a
    compressed capture, no TCP) the hash space is cut in proportion:
    :func:`shard_bounds` with :data:`PARENT_WEIGHT` for the parent."""
    default = Plan(shard_bounds(workers, PARENT_WEIGHT if local else 1.0))
    if workers < 2 or not os.path.isfile(path):  # a pipe is not read twice
        return default
    found = _flow_weights(path, PACKET_COST, SEGMENT_COST, PUSH_COST, _MAX_TRACKED,
                          _MAX_NAMED)
    if found is None:
        return default
    heavy, buckets, (_frames, pushes, datagrams, datagram_bytes, flows) = found
    if flows >= DEFAULT_MAX_FLOWS:
        return replace(default, single=True)
    # Worker 0 follows every UDP datagram (pings) and, in the parent, merges all.
    first = datagrams * (PACKET_COST + SEGMENT_COST + PUSH_COST) + datagram_bytes
    if local:
        first += (pushes + datagrams) * MERGE_COST
    return balance(heavy, buckets, workers, first) or default


def balance(heavy: list[tuple[bytes, int]], buckets: list[int], workers: int,
            first: float = 0.0) -> Plan | None:
    """:func:`plan_split`'s placement from the pass's weights: ``heavy`` flows by key
    with their weights (heaviest first), every other flow's weight in ``buckets`` (by the
    top bits of its key's CRC-32), ``first``: worker 0's work besides TCP flows. None
    when there are no TCP flows to place."""
    flows = sum(weight for _, weight in heavy) + sum(buckets)
    if flows <= 0:
        return None
    loads = [float(first)] + [0.0] * (workers - 1)
    named: dict[int, int] = {}
    rest = list(buckets)
    shift = 32 - _BUCKET_BITS
    # A flow below this goes with the others, by hash: the cuts place it finely enough.
    floor = (flows + first) / (workers * 64)
    for key, weight in heavy:
        if weight < floor:
            rest[zlib.crc32(key) >> shift] += weight
            continue
        best = min(range(workers), key=lambda i: loads[i])
        loads[best] += weight
        named[zlib.crc32(key)] = best
    # Water-filling: the level every worker's load reaches once the other flows are
    # poured in; a worker already above it gets none of them.
    light = sum(rest)
    order = sorted(range(workers), key=lambda i: loads[i])
    level = 0.0
    for count in range(workers, 0, -1):
        level = (light + sum(loads[i] for i in order[:count])) / count
        if level >= loads[order[count - 1]]:
            break
    bounds: list[int] = []
    poured, bucket, target = 0.0, 0, 0.0
    for index in range(workers - 1):
        target += max(0.0, level - loads[index])
        # Take a bucket while at least half of it is still wanted.
        while bucket < len(rest) and poured + rest[bucket] / 2 < target:
            poured += rest[bucket]
            bucket += 1
        bounds.append(bucket << shift)
    bounds.append(_HASH_SPACE)
    return Plan(tuple(bounds), named)


@dataclass(slots=True)
class FlowUpdate:
    """A flow's final state, where it changed after its ``FlowClosed`` went out (a
    closed flow goes on counting the late packets it absorbs, such as the last ACK, in
    the same object; one process's reader of that object sees them, a copy sent from a
    worker would not). Sent at the end of the capture, when asked for (the TUI)."""

    flow: Flow


@dataclass(slots=True)
class WorkerEnd:
    """What a worker says when it is done: its peaks (for the cap check) or its error."""

    peak_tracked: int = 0
    peak_buffered: int = 0
    error: str | None = None


def within_caps(ends: list[WorkerEnd], config: PipelineConfig) -> bool:
    """Whether the workers' shares, added up, stayed clear of the flow table's global
    caps (tracked flows, total reassembly buffer): what one process would have met
    otherwise, no worker could see."""
    max_total = config.max_total_buffer or DEFAULT_MAX_TOTAL_BUFFER
    return not (sum(e.peak_tracked for e in ends) >= DEFAULT_MAX_FLOWS or
                sum(e.peak_buffered for e in ends) + len(ends) * _PACKET_SLACK > max_total)


class _WatchedTable:
    """The pipeline's flow table, watched: announces each new flow, samples the table's
    size after each packet and notes which flows the end of the capture closes.
    Everything else is the table's own."""

    def __init__(self, table: FlowTable, opened: list[Flow]) -> None:
        # Flows are numbered by the frame that announced them: each must be announced
        # with its first packet, so no handshake records (their FlowOpened comes later).
        table.handshake_records = False
        self.table = table
        self.opened = opened
        self.peak_tracked = 0
        self.peak_buffered = 0
        self.closing: set[int] = set()
        # The table's running buffer total, read directly per packet (its ``buffered``
        # property costs a call); the property where the table has no such object.
        self._budget = getattr(table, "_budget", None)
        if not hasattr(self._budget, "total"):
            self._budget = None
        # Called per TCP packet the fast lane may take: bound here, not looked up
        # through __getattr__ each time.
        self.lend = table.lend

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)

    def _watch(self, events: list) -> list:
        for event in events:
            if type(event) is FlowOpened:
                self.opened.append(event.flow)
        return events

    def feed(self, packet: Packet) -> list:
        events = self.table.feed(packet)
        # The buffered total can grow on any packet (a segment held out of order); the
        # number of tracked flows only when one opens.
        buffered = self._budget.total if self._budget is not None else self.table.buffered
        if buffered > self.peak_buffered:
            self.peak_buffered = buffered
        if events:
            for event in events:
                if type(event) is FlowOpened:
                    self.opened.append(event.flow)
                    tracked = self.table.tracked
                    if tracked > self.peak_tracked:
                        self.peak_tracked = tracked
        return events

    def iter_close(self) -> Iterator:
        for event in self.table.iter_close():
            if type(event) is FlowClosed:
                self.closing.add(event.flow.id)
            yield event

    def close(self) -> list:
        return list(self.iter_close())

    def expire(self, now_ns: int, idle_ns: int) -> list:
        return self._watch(self.table.expire(now_ns, idle_ns))


_MESSAGE_FIELDS = tuple(f.name for f in fields(Message))
_RECORD_FIELDS = tuple(f.name for f in fields(Record))
_RECORD_AT = _MESSAGE_FIELDS.index("record")
_ATTRS_AT = _RECORD_FIELDS.index("attrs")
_message_values = attrgetter(*_MESSAGE_FIELDS)
_record_values = attrgetter(*_RECORD_FIELDS)


def pack_message(msg: Message, attrs: frozenset[str] | None = None) -> tuple:
    """A message as plain values for the pipe: a third of the time to pickle, and less
    to unpickle, than the objects (most of what workers send is messages). ``attrs``:
    the record attributes the receiver reads (None: all). Why: in a report the analysis
    reads two of them, and the rest (a CVIP message's parameters, twice) were about
    three quarters of the bytes pickled on the image mix."""
    values = _message_values(msg)
    record = _record_values(msg.record)
    if attrs is not None:
        kept = record[_ATTRS_AT]
        record = (*record[:_ATTRS_AT], {k: v for k, v in kept.items() if k in attrs},
                  *record[_ATTRS_AT + 1:]) if kept else record
    return (*values[:_RECORD_AT], record, *values[_RECORD_AT + 1:])


def unpack_message(values: tuple) -> Message:
    fields_ = list(values)
    fields_[_RECORD_AT] = Record(*fields_[_RECORD_AT])
    return Message(*fields_)


def pack_for_analysis(msg: Message, attrs: frozenset[str] | None = None) -> tuple:
    """A message as a report's analysis reads it, for the pipe (:func:`analyse_split`):
    :func:`pack_message`'s values without what no analysis reads (the summary line, the
    field tree, the stream offset and length, the bytes) nor the worker's own message
    number (the parent numbers messages). About half the bytes, 40% less time to
    unpickle (sessions bench mix); ``tests/test_analysis_attrs.py`` checks on every
    bundled capture that an analysis of messages stripped so reports the same."""
    rec = msg.record
    kept = rec.attrs
    if attrs is not None and kept:
        kept = {k: v for k, v in kept.items() if k in attrs}
    return (msg.flow, msg.direction, msg.transport, msg.src, msg.dst, msg.frames,
            msg.ts_ns, msg.first_ts_ns, msg.mid_session, rec.protocol, rec.kind,
            rec.problems, rec.txn, rec.is_response, rec.method, kept)


def unpack_for_analysis(values: tuple, number: int, flow: int) -> Message:
    """:func:`pack_for_analysis`'s message, numbered ``number`` in flow ``flow`` (the
    single-process ones), with an empty summary, tree, offset and length."""
    v = values
    return Message(number, flow, v[1], v[2], v[3], v[4], v[5], v[6], v[7], 0, 0,
                   Record(v[9], v[10], "", [], v[11], v[12], v[13], v[14], v[15]),
                   None, v[8])


# iter_worker's sink: (frame index, flows opened, outputs, the reader's notes) → None.
FrameSink = Callable[[int, list[Flow], list, list[TransportNote]], None]


def flow_of(item: PipelineOutput) -> int | None:
    """The id of the flow an output is of; None for one of no flow."""
    if type(item) is Message:
        return item.flow
    flow = item.flow
    return flow.id if flow is not None else None


def iter_worker(path: str, config: PipelineConfig, index: int, workers: int, *,
                pack: bool = True, progress: bool = False,
                first_weight: float = PARENT_WEIGHT, final_flows: bool = False,
                plan: Plan | None = None, attrs: frozenset[str] | None = None,
                lean: bool = False, sink: FrameSink | None = None,
                ) -> Iterator[list[tuple[tuple, Any]] | WorkerEnd]:
    """Worker ``index`` of ``workers``: its share of the capture's outputs, in batches of
    ``(position, output)``, then its :class:`WorkerEnd`. New flows come as ``(position,
    Flow)`` before their outputs; ``pack``: messages as plain values (for a pipe);
    ``progress``: a :class:`ReadProgress` every few thousand frames and at the end;
    ``first_weight``: see :func:`shard_bounds`; ``final_flows``: a :class:`FlowUpdate`
    at the end for each flow that changed after it was sent closed; ``plan``: which
    flows are whose (every worker of a run must have the same; by default, by hash);
    ``attrs``: the record attributes packed messages keep (see :func:`pack_message`);
    ``lean``: messages packed as only an analysis reads them (:func:`pack_for_analysis`);
    ``sink``: what each frame makes while the capture is read goes to it rather than into
    the batches (only the end of the capture's outputs are batched then):
    ``sink(i, flows, outputs, notes)``, frame index ``i``, the flows it opened, its
    outputs and the reader's notes (whichever worker this is), the positions a batch
    would have given them left to the sink (see
    :meth:`cvipsniff.split_analysis.ShareAnalysis.take`)."""
    opened: list[Flow] = []
    reader_notes: list[TransportNote] = []
    if plan is None:
        plan = Plan(shard_bounds(workers, first_weight))
    # The fast lane takes the in-order segments of this worker's calm connections in the
    # record walk, as in one process (cvipsniff.pipeline.iter_capture).
    lane = new_lane()
    pipeline = Pipeline(config, packet_filter=_Share(index, workers, first_weight, plan),
                        lane=lane)
    watched = _WatchedTable(pipeline.flow_table, opened)
    pipeline.flow_table = watched  # type: ignore[assignment]
    batch: list[tuple[tuple, Any]] = []
    first = index == 0
    as_sent = functools.partial(pack_for_analysis if lean else pack_message,
                                attrs=attrs) if pack else _same
    # Flows sent closed while reading, with their state then (final_flows only).
    closed: dict[int, tuple[Flow, tuple]] = {}
    # The frame index that announced each flow: its place among all workers' flows.
    announced: dict[int, int] = {}

    def to_batch(i: int, outputs: list, notes: list) -> None:
        seq = 0
        for flow in opened:
            batch.append(((i, 1, seq, index), flow))
            announced[flow.id] = i
            seq += 1
        opened.clear()
        for item in outputs:
            if type(item) is Message:
                batch.append(((i, 1, seq, index), as_sent(item)))
            elif flow_of(item) is None:
                if first:  # decoding notes: before the packet's own outputs
                    batch.append(((i, 0, seq, index), item))
            else:
                batch.append(((i, 1, seq, index), item))
                if final_flows and type(item) is FlowClosed:
                    closed[item.flow.id] = (item.flow, astuple(item.flow))
            seq += 1
        if first:
            for note in notes:
                batch.append(((i, 2, seq, index), note))
                seq += 1
        notes.clear()

    def to_sink(i: int, outputs: list, notes: list) -> None:
        for flow in opened:
            announced[flow.id] = i
        sink(i, opened, outputs, notes)  # type: ignore[misc]
        opened.clear()
        notes.clear()

    emit = to_batch if sink is None else to_sink
    limit = FIRST_BATCH
    # The owner of each flow hash met, (bounded) cache of plan.owner.
    owners: dict[int, int] = {}
    owner = plan.owner
    digest_of = _flow_digest
    feed, feed_item = pipeline.feed, pipeline.feed_item
    shown = -1  # the last block of frames (i >> _PROGRESS_SHIFT) progress was reported for
    # Another worker's TCP frame, as the decoder's fast path reads it: what the pipeline
    # would do with it is nothing (the fast path keeps no state and notes nothing; the
    # filter turns the packet away), so it is not decoded. The compiled reader does not
    # even build it (``wanted``); a frame that comes anyway is hashed here. (Never where
    # the reader noted something: that goes out at this frame.) A frame's place among
    # all workers' outputs is its number in the capture.
    # With the lane, the reader hands on decoded packets (a packet of another worker's
    # flow that comes anyway, after a note, is turned away by the pipeline's filter, as
    # its Frame would be) and what the lane's framers finished, with the frame that
    # finished it; the rest as Frames.
    wanted = _flow_share(index, list(plan.bounds), plan.named)
    with open_capture(path, on_note=reader_notes.append, wanted=wanted,
                      packet_type=Packet if lane is not None else None, lane=lane) as reader:
        for item in reader:
            kind = type(item)
            i = (item.frame if kind is Packet else item[4] if kind is tuple else item[0]) - 1
            if progress and i >> _PROGRESS_SHIFT != shown:
                shown = i >> _PROGRESS_SHIFT
                batch.append(((i, 3, 0, index), ReadProgress(reader.bytes_read, reader.size)))
            if kind is Packet or kind is tuple:
                out = feed_item(item)
            else:
                digest = digest_of(item)
                if digest >= 0 and not reader_notes:
                    mine = owners.get(digest)
                    if mine is None:
                        if len(owners) >= 1 << 16:  # bounded: millions of tiny flows
                            owners.clear()
                        mine = owners[digest] = owner(digest)
                    if mine != index:
                        continue
                out = feed(item)
            if opened or reader_notes or (out and sink is None):
                emit(i, out, reader_notes)
            elif out:  # most frames: only outputs, nothing to note first for the sink
                sink(i, opened, out, reader_notes)  # type: ignore[misc]
            if len(batch) >= limit:
                yield batch
                batch = []
                limit = min(BATCH, 2 * limit)
        if progress:
            batch.append(((END, -1, 0, index), ReadProgress(reader.bytes_read, reader.size)))
    if lane is not None:
        pipeline.detach_lane(lane.consumed)
    seq = 0
    if first:  # notes of the reader's last records: before the end of the capture
        for note in reader_notes:
            batch.append(((END, 0, (-1, 0), seq, index), note))
            seq += 1
    out = pipeline.finish()
    for item in out:
        flow = flow_of(item)
        if flow is None:
            if first:
                batch.append(((END, 0, (0, 0), seq, index), item))
        else:
            phase = 1 if flow in watched.closing else 2
            batch.append(((END, phase, (announced[flow], index, flow), seq, index),
                          as_sent(item) if type(item) is Message else item))
        seq += 1
    # Phase 3: after everything else, in flows' order (not the order they closed in).
    for flow_id in sorted(closed, key=lambda flow_id: (announced[flow_id], flow_id)):
        flow, state = closed[flow_id]
        if astuple(flow) != state:
            batch.append(((END, 3, (announced[flow_id], index, flow_id), 0, index),
                          FlowUpdate(flow)))
    if batch:
        yield batch
    yield WorkerEnd(watched.peak_tracked, watched.peak_buffered)


def _same(item: Any) -> Any:
    return item


def _worker_main(path: str, config: PipelineConfig, index: int, workers: int,
                 conn: Any, progress: bool = False,
                 first_weight: float = PARENT_WEIGHT, final_flows: bool = False,
                 plan: Plan | None = None, attrs: frozenset[str] | None = None,
                 lean: bool = False) -> None:
    """Process entry: run the worker, send its batches and its end over ``conn``."""
    try:
        try:
            for batch in iter_worker(path, config, index, workers, progress=progress,
                                     first_weight=first_weight, final_flows=final_flows,
                                     plan=plan, attrs=attrs, lean=lean):
                conn.send(batch)
        except BaseException as exc:  # the parent falls back to one process
            conn.send(WorkerEnd(error=f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


class _Stream:
    """One worker's outputs as the parent reads them: a thread drains the pipe into a
    bounded queue (so the worker rarely waits) and the merge takes them in order.

    The thread only moves bytes (reading a pipe releases the interpreter lock); the
    merge unpickles them, so the two threads do not hand the lock back and forth over
    every batch's unpickling. Measured (``analyse_split`` in one process, 6 pairs on the
    bench's sessions mix): 6.6-8.9 s unpickling in the thread against 7.1-8.2 s here,
    and 5% less on the images mix; through ``report --jobs 2``, 3 pairs per mix, 1-2%,
    within the noise."""

    def __init__(self, conn: Any, depth: int = 256) -> None:
        self.queue: Queue[Any] = Queue(depth)
        self.end: WorkerEnd | None = None
        self._conn = conn
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        # Until the worker closes its end, after its WorkerEnd (a lost worker: the
        # same EOF, with no WorkerEnd before it).
        try:
            while True:
                self.queue.put(self._conn.recv_bytes())
        except (EOFError, OSError) as exc:
            self.queue.put(WorkerEnd(error=f"worker lost: {exc!r}"))

    def batches(self) -> Iterator[list[tuple[tuple, Any]]]:
        loads = pickle.loads
        while True:
            raw = self.queue.get()
            batch = loads(raw) if type(raw) is bytes else raw
            if isinstance(batch, WorkerEnd):
                self.end = batch
                return
            yield batch


def widen_pipe(conn: Any) -> None:
    """Give a worker's pipe room for a few batches (Linux; elsewhere it stays as it is).

    With the default 64 KB a batch takes several reads, and the parent's thread that
    drains the pipe waits for the interpreter lock before each (the merge holds it):
    the worker then spends most of its time blocked on a full pipe."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_SIZE)
    except (ImportError, OSError):
        pass


class _Local:
    """Worker 0's share, run in the parent itself as the merge asks for it: one process
    fewer on the cores and nothing of its share pickled."""

    def __init__(self, path: str, config: PipelineConfig, workers: int, *,
                 progress: bool = False, final_flows: bool = False,
                 plan: Plan | None = None) -> None:
        self.end: WorkerEnd | None = None
        self._batches = iter_worker(path, config, 0, workers, pack=False,
                                    progress=progress, final_flows=final_flows, plan=plan)

    def batches(self) -> Iterator[list[tuple[tuple, Any]]]:
        try:
            for batch in self._batches:
                if isinstance(batch, WorkerEnd):
                    self.end = batch
                    return
                yield batch
        except Exception as exc:  # the caller falls back to one process
            self.end = WorkerEnd(error=f"{type(exc).__name__}: {exc}")


def _merge(streams: list[_Stream | _Local]) -> Iterator[tuple[tuple, Any]]:
    """Every worker's ``(position, output)`` in position order.

    Each worker's outputs come in order and no two workers' positions are equal (each
    ends with the worker's number), so whatever lies at or before the lowest of the
    workers' last positions received is final: that part of every worker's pending
    outputs is sorted together (one sort of a few ordered runs, merged in C, instead of
    a heap step per output) and handed on."""
    batches = [iter(stream.batches()) for stream in streams]
    pending: list[list[tuple[tuple, Any]]] = [[] for _ in streams]
    live = set(range(len(streams)))
    position = itemgetter(0)
    while True:
        for worker in sorted(live):
            if not pending[worker]:
                batch = next(batches[worker], None)
                if batch is None:
                    live.discard(worker)
                else:
                    batch.sort(key=position)  # in order already: a check in C
                    pending[worker] = batch
        limit = min((pending[w][-1][0] for w in live), default=None)
        chunk: list[tuple[tuple, Any]] = []
        for worker, outputs in enumerate(pending):
            if not outputs:
                continue
            cut = len(outputs) if limit is None else \
                bisect.bisect_right(outputs, limit, key=position)
            if cut == len(outputs):
                chunk.extend(outputs)
                pending[worker] = []
            elif cut:
                chunk.extend(outputs[:cut])
                pending[worker] = outputs[cut:]
        if chunk:
            chunk.sort(key=position)
            yield from chunk
        elif not live:
            return


class _Renumber:
    """Worker-local flow ids and message numbers → the single-process ones."""

    def __init__(self) -> None:
        self.flow_ids: dict[tuple[int, int], int] = {}
        self.messages = 0

    def flow(self, worker: int, flow: Flow) -> None:
        self.flow_ids[(worker, flow.id)] = len(self.flow_ids)

    def apply(self, worker: int, item: PipelineOutput) -> PipelineOutput:
        ids = self.flow_ids
        if type(item) is Message:
            self.messages += 1
            item.number = self.messages
            item.flow = ids[(worker, item.flow)]
            return item
        flow = item.flow
        if flow is not None:
            # A copy: one Flow object may be shared by several outputs of a batch.
            item.flow = replace(flow, id=ids[(worker, flow.id)])
            if type(item) is TransportNote:
                item.message = FLOW_IN_TEXT.sub(
                    lambda m: str(ids.get((worker, int(m.group(1))), m.group(1))),
                    item.message)
        return item


@dataclass(slots=True, frozen=True)
class ReadProgress:
    """How far a worker has read the file (its reader's bytes, the file's size): sent in
    the merge order, so the parent's progress follows what it has merged, not how far a
    worker ran ahead."""

    bytes_read: int
    size: int | None


class SplitRun:
    """The outputs of one capture split over ``workers`` processes, merged back in the
    single-process order and renumbered (messages, flows) as one process numbers them.

    Iterate it once. ``local``: worker 0 runs in this process as the merge asks for its
    outputs (``report``: one process fewer on the cores); otherwise every share is a
    forked process and this one only merges (the TUI: its process also keeps the UI and
    the analysis busy). ``depth``: batches of a worker held in this process before the
    worker waits (memory: what a worker may run ahead of the merge). ``final_flows``:
    a :class:`FlowUpdate` output at the end for every flow whose state changed after
    its ``FlowClosed`` (what one process's flow objects show then). ``on_progress`` is
    called with (bytes read, file size) as the merge passes the points where a worker
    read them. ``balance``: flows placed by :func:`plan_split` (weighed first, where the
    accelerator is built), else by hash alone. ``attrs``: the record attributes the
    consumer reads of messages from forked workers (None: all, for a display);
    ``lean``: the consumer is an analysis, which reads only what
    :func:`pack_for_analysis` sends (not a display: no summary lines). After
    the iteration, :attr:`exact` says
    whether the outputs are what one process makes: False when a worker failed or the
    workers' share of a global cap could have reached it (the caller then analyses the
    file in one process).
    :meth:`close` stops the workers (the iteration's end does).
    """

    def __init__(self, path: str, pipeline_config: PipelineConfig, workers: int, *,
                 local: bool = True, depth: int = 256, final_flows: bool = False,
                 on_progress: Callable[[int, int | None], None] | None = None,
                 balance: bool = True, attrs: frozenset[str] | None = None,
                 lean: bool = False) -> None:
        self.path = path
        self.attrs = attrs
        self.lean = lean
        self.pipeline_config = pipeline_config
        self.workers = workers
        self.local = local
        self.depth = depth
        self.final_flows = final_flows
        self.on_progress = on_progress
        self.balance = balance
        self.exact: bool | None = None
        self._procs: list[Any] = []
        self._streams: list[_Stream | _Local] = []

    def __iter__(self) -> Iterator[PipelineOutput]:
        ctx = multiprocessing.get_context("fork")
        path, config, workers = self.path, self.pipeline_config, self.workers
        progress = self.on_progress is not None
        first_weight = PARENT_WEIGHT if self.local else 1.0
        try:
            # Before any worker starts: they must all follow the one plan.
            plan = plan_split(path, workers, self.local) if self.balance else None
            if plan is not None and plan.single:
                self.exact = False  # the caller analyses the file in one process
                return
            if self.local:
                self._streams.append(_Local(path, config, workers, progress=progress,
                                            final_flows=self.final_flows, plan=plan))
            for index in range(0 if not self.local else 1, workers):
                parent_conn, child_conn = ctx.Pipe(duplex=False)
                widen_pipe(parent_conn)
                proc = ctx.Process(target=_worker_main, daemon=True,
                                   args=(path, config, index, workers, child_conn,
                                         progress and index == workers - 1,
                                         first_weight, self.final_flows, plan,
                                         self.attrs, self.lean))
                proc.start()
                child_conn.close()
                self._procs.append(proc)
                self._streams.append(_Stream(parent_conn, self.depth))
            yield from self._merged()
            for proc in self._procs:
                proc.join()
        finally:
            self.close()
        self.exact = self._verdict()

    def _merged(self) -> Iterator[PipelineOutput]:
        renumber = _Renumber()
        on_progress = self.on_progress
        lean, flow_ids = self.lean, renumber.flow_ids
        for position, item in _merge(self._streams):
            worker = position[-1]
            kind = type(item)
            if kind is tuple and lean:  # most outputs: numbered as they are unpacked
                renumber.messages += 1
                yield unpack_for_analysis(item, renumber.messages,
                                          flow_ids[(worker, item[0])])
            elif kind is Flow:
                # Global ids in the order flows were made: by frame, and within a frame
                # (one worker's, a reused port) in that worker's order.
                renumber.flow(worker, item)
            elif kind is ReadProgress:
                if on_progress is not None:
                    on_progress(item.bytes_read, item.size)
            else:
                if kind is tuple:
                    item = unpack_message(item)
                yield renumber.apply(worker, item)

    def _verdict(self) -> bool:
        ends = [s.end or WorkerEnd(error="no end") for s in self._streams]
        if any(e.error for e in ends):
            return False
        return within_caps(ends, self.pipeline_config)

    def close(self) -> None:
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
                proc.join()


def analyse_split(path: str, config: AnalysisConfig, pipeline_config: PipelineConfig,
                  workers: int) -> Analysis | None:
    """The finished analysis of ``path`` computed by ``workers`` processes, equal to a
    single process's; None when it cannot be (a worker failed, or a global cap may have
    been reached): the caller then analyses the file in one process."""
    run = SplitRun(path, pipeline_config, workers, attrs=ANALYSIS_ATTRS, lean=True)
    analysis = Analysis(config)
    try:
        for item in run:
            analysis.add(item)
        analysis.finish()
    except Exception:  # a worker's output the merge could not take: one process then
        return None
    finally:
        run.close()
    return analysis if run.exact else None
