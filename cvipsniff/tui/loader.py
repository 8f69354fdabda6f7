"""Reading a capture for the UI: the pipeline and the analysis, run off the UI thread.

:func:`load` is the body of the UI's loading worker, written without Textual so that it
can be tested (and benchmarked) on its own: it reads the capture front to back, pairs
and checks every message, and hands the results to ``deliver`` in :class:`Batch` es.

Batching is what keeps a million-message capture from flooding the UI: the first batch
goes out after a few hundred messages (the first screen of the list appears at once),
the next ones every ``interval`` seconds or ``size`` messages, so the UI thread gets a
handful of hand-overs per second whatever the capture size. After the first seconds
(``settle_after``: the first screens are there, what follows moves the scroll bar and
the progress) the interval is ``LATE_INTERVAL``: each hand-over costs the UI a layout
and a repaint (about 10 ms), which over a long load is otherwise a tenth of the CPU.
(Bigger batches would save more repaints, but a batch's messages and transactions cost
about 3 KB each until the UI has taken them: twice the size measured +13 MB peak.)
``deliver`` is expected to block until the UI has taken the batch (Textual's
``call_from_thread``), which bounds the memory held in flight to one batch.

The pipeline runs without building dissection trees (``tree=False``, the dissectors'
lean mode: same kind, txn, method, info, attrs and problems, about a third less work)
nor the attributes nobody here reads (``attrs=False``: the CVIP ones; the analysis
reads only ImageServer ones): the store keeps only the summary columns anyway and
re-dissects a message when it is shown. Batches say so (``Batch.complete``), so that
nobody takes their records for full ones.

A large capture is read by several processes (:func:`load_jobs`): split by flow as
``report --jobs`` splits one, with every share in a worker process (this process keeps
the UI, the merge, the pairing and the checks), merged back in the single-process order
(:class:`cvipsniff.split.SplitRun`), so the list, transactions and findings are the same
whatever the number of workers.

Nothing raises out of :func:`load`: an unreadable file or an internal error ends the
load with a batch whose ``error`` says what happened.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.engine import ANALYSIS_ATTRS, Analysis
from cvipsniff.analysis.model import Finding, Transaction
from cvipsniff.batch import split_jobs
from cvipsniff.capture import CaptureError, open_capture
from cvipsniff.model import Flow, FlowClosed, Message, TransportNote
from cvipsniff.pipeline import PipelineConfig, PipelineOutput, iter_capture
from cvipsniff.split import FlowUpdate, SplitRun

FIRST_BATCH = 256
BATCH_SIZE = 4096
BATCH_INTERVAL = 0.15  # seconds
SETTLE_AFTER = 2.0  # seconds of loading before batches come less often
LATE_INTERVAL = 0.5  # seconds
# Batches (of 512 outputs) a worker may run ahead of the merge: bounds the memory held.
SPLIT_DEPTH = 8


@dataclass(slots=True)
class Batch:
    """What the analysis produced since the previous batch, in capture order.

    ``messages`` pairs each message with the number of its transaction (0: none), known
    as soon as the pairer has seen it. ``transactions`` are the transactions created
    since the last batch (numbered on from the previous ones), ``findings`` the findings
    emitted, ``flows`` the flows that ended. ``progress`` is (bytes read, file size or
    None). ``complete`` is False when the records carry no dissection tree (lean mode).
    ``start_ns`` is the capture time of the capture's first frame, once known (relative
    times count from it, as tshark's do). ``restart``: forget everything delivered so
    far (a split load that was not exact), the capture is loaded again.
    """

    messages: list[tuple[Message, int]] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    notes: int = 0
    progress: tuple[int, int | None] = (0, None)
    done: bool = False
    error: str | None = None
    complete: bool = True
    start_ns: int | None = None
    restart: bool = False

    def __len__(self) -> int:
        return len(self.messages)


def load_jobs(path: str, jobs: int | None = None) -> int:
    """How many processes load ``path``: ``jobs`` when given; else, for a capture of at
    least :data:`~cvipsniff.batch.SPLIT_ABOVE` bytes (smaller ones load in less time
    than the workers take to start), the machine's idle cores
    (:func:`~cvipsniff.batch.idle_cores`), and one process otherwise."""
    if jobs is not None:
        return max(1, jobs)
    return split_jobs(path)


def load(path: str, config: PipelineConfig, deliver: Callable[[Batch], object], *,
         analysis_config: AnalysisConfig | None = None,
         cancelled: Callable[[], bool] = lambda: False,
         first_batch: int = FIRST_BATCH, size: int = BATCH_SIZE,
         interval: float = BATCH_INTERVAL, jobs: int = 1,
         settle_after: float = SETTLE_AFTER) -> None:
    """Analyse ``path`` and deliver the results in batches; the last has ``done`` set.

    ``jobs`` > 1: the capture is split by flow over that many worker processes
    (:class:`cvipsniff.split.SplitRun`) and merged back in the single-process order, so
    the batches hold the same messages, transactions and findings. Should the split turn
    out not to be exact (a worker failed, a global cap may have been met), a batch with
    ``restart`` set says to forget what came so far, and the capture is loaded again in
    this process.
    """
    config = replace(config, tree=False, attrs=False)
    options = {"analysis_config": analysis_config, "cancelled": cancelled,
               "first_batch": first_batch, "size": size, "interval": interval,
               "settle_after": settle_after}
    if jobs > 1:
        if _load_split(path, config, deliver, jobs, **options):
            return
        if cancelled():
            return
        deliver(Batch(restart=True, complete=False))

    def outputs(on_progress: Callable[[int, int | None], None],
                on_start: Callable[[int], None]) -> Iterable[PipelineOutput]:
        return iter_capture(path, config, on_progress=on_progress, on_start=on_start)

    _analyse(outputs, deliver, **options)


def _load_split(path: str, config: PipelineConfig, deliver: Callable[[Batch], object],
                jobs: int, **options: Any) -> bool:
    """The load over ``jobs`` worker processes; False when it was not exact (nothing
    delivered is then to be kept) or was cancelled."""
    runs: list[SplitRun] = []

    def outputs(on_progress: Callable[[int, int | None], None],
                on_start: Callable[[int], None]) -> Iterable[PipelineOutput]:
        first = _first_frame_ns(path)
        if first is not None:
            on_start(first)
        # Of each record's attributes, only those the analysis reads cross the pipes: the
        # store keeps columns and re-dissects a message to show it (lean mode, above).
        run = SplitRun(path, config, jobs, local=False, depth=SPLIT_DEPTH,
                       final_flows=True, on_progress=on_progress, attrs=ANALYSIS_ATTRS)
        runs.append(run)
        return run

    try:
        finished = _analyse(outputs, deliver, exact=lambda: bool(runs and runs[0].exact),
                            **options)
    finally:
        for run in runs:
            run.close()
    return finished


def _first_frame_ns(path: str) -> int | None:
    """The capture time of the file's first frame (the relative times' zero), or None."""
    try:
        with open_capture(path) as reader:
            for frame in reader:
                return frame.ts_ns
    except CaptureError:
        pass
    return None


def _analyse(outputs: Callable[..., Iterable[PipelineOutput]],
             deliver: Callable[[Batch], object], *,
             analysis_config: AnalysisConfig | None, cancelled: Callable[[], bool],
             first_batch: int, size: int, interval: float, settle_after: float,
             exact: Callable[[], bool] | None = None) -> bool:
    """Pair and check ``outputs`` and deliver them in batches. Returns False without a
    final batch when ``exact`` says (after the last output) that they must not be kept,
    or when cancelled; True once the final batch went out."""
    analysis = Analysis(analysis_config)
    pairer = analysis.pairer
    progress: list[tuple[int, int | None]] = [(0, None)]

    def on_progress(done_bytes: int, total: int | None) -> None:
        progress[0] = (done_bytes, total)

    def on_start(ts_ns: int) -> None:
        batch.start_ns = ts_ns

    batch = Batch()
    limit = first_batch
    last = time.monotonic()
    settle_at = last + settle_after

    def hand_over(final: bool = False, error: str | None = None) -> Batch:
        nonlocal limit, last, interval, settle_at
        # The pairer's output list is drained into the batch: the UI keeps transactions
        # as columns (cvipsniff.tui.transactions), not as objects.
        batch.transactions.extend(pairer.transactions)
        pairer.transactions.clear()
        batch.progress = progress[0]
        batch.done = final
        batch.error = error
        batch.complete = False
        deliver(batch)
        last = time.monotonic()
        if last >= settle_at:  # past the first screens: fewer hand-overs
            interval, settle_at = max(interval, LATE_INTERVAL), math.inf
        limit = size
        return Batch()

    try:
        for item in outputs(on_progress, on_start):
            found = analysis.add(item)
            if type(item) is Message:
                batch.messages.append((item, pairer.transaction_of(item.number) or 0))
            elif type(item) is TransportNote:
                batch.notes += 1
            elif type(item) is FlowClosed or type(item) is FlowUpdate:
                batch.flows.append(item.flow)
            if found:
                batch.findings.extend(found)
            if len(batch.messages) >= limit or time.monotonic() - last >= interval:
                if cancelled():
                    return False
                batch = hand_over()
        if exact is not None and not exact():
            return False
        batch.findings.extend(analysis.finish())
    except CaptureError as exc:
        hand_over(final=True, error=str(exc))
        return True
    except Exception as exc:  # the UI must survive any bug below it, and say so
        if exact is not None:
            return False  # a split that went wrong: one process says what it was
        hand_over(final=True, error=f"internal error: {type(exc).__name__}: {exc}")
        return True
    if cancelled():
        return False
    hand_over(final=True)
    return True
