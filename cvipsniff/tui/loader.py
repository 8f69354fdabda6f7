"""Reading a capture for the UI: the pipeline and the analysis, run off the UI thread.

:func:`load` is the body of the UI's loading worker, written without Textual so that it
can be tested (and benchmarked) on its own: it reads the capture front to back, pairs
and checks every message, and hands the results to ``deliver`` in :class:`Batch` es.

Batching is what keeps a million-message capture from flooding the UI: the first batch
goes out after a few hundred messages (the first screen of the list appears at once),
the next ones every ``interval`` seconds or ``size`` messages, so the UI thread gets a
handful of hand-overs per second whatever the capture size. ``deliver`` is expected to
block until the UI has taken the batch (Textual's ``call_from_thread``), which bounds
the memory held in flight to one batch.

The pipeline runs without building dissection trees (``tree=False``, the dissectors'
lean mode: same kind, txn, method, info, attrs and problems, about a third less work):
the store keeps only the summary columns anyway and re-dissects a message when it is
shown. Batches say so (``Batch.complete``), so that nobody takes their records for full
ones.

Nothing raises out of :func:`load`: an unreadable file or an internal error ends the
load with a batch whose ``error`` says what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.engine import Analysis
from cvipsniff.analysis.model import Finding, Transaction
from cvipsniff.capture import CaptureError
from cvipsniff.model import Flow, FlowClosed, Message, TransportNote
from cvipsniff.pipeline import PipelineConfig, iter_capture

FIRST_BATCH = 256
BATCH_SIZE = 4096
BATCH_INTERVAL = 0.15  # seconds


@dataclass(slots=True)
class Batch:
    """What the analysis produced since the previous batch, in capture order.

    ``messages`` pairs each message with the number of its transaction (0: none), known
    as soon as the pairer has seen it. ``transactions`` are the transactions created
    since the last batch (numbered on from the previous ones), ``findings`` the findings
    emitted, ``flows`` the flows that ended. ``progress`` is (bytes read, file size or
    None). ``complete`` is False when the records carry no dissection tree (lean mode).
    ``start_ns`` is the capture time of the capture's first frame, once known (relative
    times count from it, as tshark's do).
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

    def __len__(self) -> int:
        return len(self.messages)


def load(path: str, config: PipelineConfig, deliver: Callable[[Batch], object], *,
         analysis_config: AnalysisConfig | None = None,
         cancelled: Callable[[], bool] = lambda: False,
         first_batch: int = FIRST_BATCH, size: int = BATCH_SIZE,
         interval: float = BATCH_INTERVAL) -> None:
    """Analyse ``path`` and deliver the results in batches; the last has ``done`` set."""
    config = replace(config, tree=False)
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

    def hand_over(final: bool = False, error: str | None = None) -> Batch:
        nonlocal limit, last
        # The pairer's output list is drained into the batch: the UI keeps transactions
        # as columns (cvipsniff.tui.transactions), not as objects.
        batch.transactions.extend(pairer.transactions)
        pairer.transactions.clear()
        batch.progress = progress[0]
        batch.done = final
        batch.error = error
        batch.complete = False
        deliver(batch)
        limit, last = size, time.monotonic()
        return Batch()

    try:
        for item in iter_capture(path, config, on_progress=on_progress, on_start=on_start):
            found = analysis.add(item)
            if type(item) is Message:
                batch.messages.append((item, pairer.transaction_of(item.number) or 0))
            elif type(item) is TransportNote:
                batch.notes += 1
            elif type(item) is FlowClosed:
                batch.flows.append(item.flow)
            if found:
                batch.findings.extend(found)
            if len(batch.messages) >= limit or time.monotonic() - last >= interval:
                if cancelled():
                    return
                batch = hand_over()
        batch.findings.extend(analysis.finish())
    except CaptureError as exc:
        hand_over(final=True, error=str(exc))
        return
    except Exception as exc:  # the UI must survive any bug below it, and say so
        hand_over(final=True, error=f"internal error: {type(exc).__name__}: {exc}")
        return
    if not cancelled():
        hand_over(final=True)
