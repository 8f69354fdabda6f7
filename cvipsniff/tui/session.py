"""Everything the UI knows about the capture it shows, independent of any widget.

A :class:`CaptureSession` is filled on the UI thread from the loader's batches
(:meth:`CaptureSession.ingest`) and read by every view: the message store (columns and
spilled bytes, :mod:`cvipsniff.store`), the per-message transaction numbers, the compact
transaction table, the flows, the marks and the list of displayed messages
(:class:`~cvipsniff.tui.view.MessageView`).

Single-threaded by design: only the UI thread touches a session (the store's spill file
has one file position; arrays and dicts are not shared with a writer thread), so no
locks. Work that is long over a big capture (filtering, search, export) is done in
chunks by the UI's workers, reading the session between chunks.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.model import Finding
from cvipsniff.model import Flow, Message
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.render import endpoint_text
from cvipsniff.store import MessageStore
from cvipsniff.tui.loader import Batch
from cvipsniff.tui.transactions import TransactionInfo, TransactionTable
from cvipsniff.tui.view import MessageView

if TYPE_CHECKING:
    from cvipsniff.tui.live import CaptureStatus


@dataclass(slots=True)
class FlowSummary:
    """A flow as the flows view lists it: known from its first message, completed by the
    pipeline's :class:`~cvipsniff.model.Flow` when the flow ends."""

    id: int
    transport: str
    client: tuple[str, int]
    server: tuple[str, int]
    first_frame: int
    first_ts_ns: int
    last_ts_ns: int
    messages: int = 0
    first_index: int = -1  # store index of its first message, -1 if none
    flow: Flow | None = None  # set when the flow ended (statistics, close reason)

    @property
    def closed(self) -> str | None:
        return self.flow.closed if self.flow is not None else None


@dataclass(slots=True)
class LoadState:
    """How far loading got: ``progress`` 0..1 (None when the size is unknown)."""

    done: bool = False
    error: str | None = None
    bytes_read: int = 0
    size: int | None = None
    notes: int = 0

    @property
    def progress(self) -> float | None:
        if self.size:
            return min(1.0, self.bytes_read / self.size)
        return None


@dataclass(slots=True)
class Ingested:
    """What one batch added: store indices ``[start, end)`` and the batch's messages."""

    start: int
    end: int
    messages: list[Message] = field(default_factory=list)
    findings: int = 0
    flows_changed: bool = False
    complete: bool = True  # the messages' records carry their dissection tree


class CaptureSession:
    """The capture being looked at, as the views need it."""

    def __init__(self, path: str, config: PipelineConfig | None = None,
                 analysis_config: AnalysisConfig | None = None) -> None:
        self.path = path
        self.config = config or PipelineConfig(keep_data=True)
        self.analysis_config = analysis_config
        # Set for a live capture (``tui -i``): what the status line shows instead of the
        # loading progress. ``path`` is then the file the capture is written to.
        self.capture: CaptureStatus | None = None
        self._start_empty(generation=0)

    def _start_empty(self, generation: int) -> None:
        self.store = MessageStore(self.config.dissector_options)
        self.transactions = TransactionTable()
        self._txn_of = array("l")  # per store index: transaction number, 0 for none
        self.flows: dict[int, FlowSummary] = {}
        self.marks: set[int] = set()  # store indices
        self.protocol_counts: Counter[str] = Counter()
        self.endpoint_cells = 0  # the longest endpoint text, for the list's columns
        self.load = LoadState()
        self.view = MessageView(self.store)
        self.view.generation = generation

    def close(self) -> None:
        self.store.close()

    def reset(self) -> None:
        """Forget every message (a live capture restarted): an empty session again, whose
        view's generation moves on so that every list redraws."""
        generation = self.view.generation + 1
        self.store.close()
        self._start_empty(generation)

    @property
    def first_ts_ns(self) -> int:
        return self.store.first_ts_ns or 0

    # ---- filling (UI thread) -----------------------------------------------------------

    def ingest(self, batch: Batch) -> Ingested:
        """Take one loader batch: messages first, then the transactions created and the
        findings emitted meanwhile (a finding refers to a message of this batch or an
        earlier one), then ended flows."""
        store = self.store
        if batch.start_ns is not None and store.first_ts_ns is None:
            store.first_ts_ns = batch.start_ns  # the capture's first frame, not message
        start = len(store)
        messages = [msg for msg, _ in batch.messages]
        store.extend(messages, keep_record=batch.complete)
        if messages:
            self.transactions.messages_seen = messages[-1].number
        self._txn_of.extend([txn for _, txn in batch.messages])
        self._note_flows(messages, start)
        self.protocol_counts.update([msg.record.protocol for msg in messages])
        self.transactions.extend(batch.transactions)
        self.transactions.settle(everything=batch.done and batch.error is None)
        for finding in batch.findings:
            store.add_finding(finding)
        for flow in batch.flows:
            self._end_flow(flow)
        if batch.done:
            self._settle_flows()
        state = self.load
        state.bytes_read, state.size = batch.progress
        state.notes += batch.notes
        if batch.done:
            state.done = True
            state.error = batch.error
        self.view.extend_to(len(store))
        return Ingested(start, len(store), messages, len(batch.findings), bool(batch.flows),
                        batch.complete)

    def _note_flows(self, messages: list[Message], start: int) -> None:
        """Count the messages (store indices from ``start``) in their flows' summaries;
        a flow first seen here gets its summary from its first message."""
        flows = self.flows
        for index, msg in enumerate(messages, start):
            summary = flows.get(msg.flow)
            if summary is None:
                client, server = ((msg.src, msg.dst) if msg.direction == 0
                                  else (msg.dst, msg.src))
                summary = flows[msg.flow] = FlowSummary(
                    msg.flow, msg.transport, client, server, min(msg.frames, default=0),
                    msg.first_ts_ns or msg.ts_ns, msg.ts_ns, first_index=index)
                self.endpoint_cells = max(self.endpoint_cells, len(endpoint_text(client)),
                                          len(endpoint_text(server)))
            elif msg.src != summary.client and msg.src != summary.server:
                # A UDP flow answered from another address (a broadcast ping's replies).
                self.endpoint_cells = max(self.endpoint_cells, len(endpoint_text(msg.src)))
            summary.messages += 1
            if summary.first_index < 0:
                summary.first_index = index
            if msg.ts_ns > summary.last_ts_ns:
                summary.last_ts_ns = msg.ts_ns

    def _end_flow(self, flow: Flow) -> None:
        summary = self.flows.get(flow.id)
        if summary is None:
            summary = self.flows[flow.id] = FlowSummary(
                flow.id, flow.transport, flow.client, flow.server, flow.first_frame,
                flow.first_ts_ns, flow.last_ts_ns)
        else:  # the flow knows its endpoints and first frame better than its messages
            summary.client, summary.server = flow.client, flow.server
            summary.first_frame, summary.first_ts_ns = flow.first_frame, flow.first_ts_ns
            summary.last_ts_ns = max(summary.last_ts_ns, flow.last_ts_ns)
        summary.flow = flow

    def _settle_flows(self) -> None:
        """The load is complete: each ended flow's summary takes its flow's final time.
        A closed flow goes on absorbing late packets (the last ACK) into the same
        object, so what a summary read when its flow ended depends on when that batch
        was taken; at the end it is the same however the capture was loaded."""
        for summary in self.flows.values():
            flow = summary.flow
            if flow is not None and flow.last_ts_ns > summary.last_ts_ns:
                summary.last_ts_ns = flow.last_ts_ns

    # ---- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.store)

    def transaction_number(self, index: int) -> int:
        return self._txn_of[index]

    def transaction_at(self, index: int) -> TransactionInfo | None:
        """The transaction the message at store ``index`` belongs to."""
        number = self._txn_of[index]
        return self.transactions.get(number) if number else None

    def partner(self, index: int) -> int | None:
        """Request ↔ response: for a request, the store index of its first answer; for
        an answer, its request's. None when the other side is not in the capture."""
        txn = self.transaction_at(index)
        if txn is None:
            return None
        number = self.store.number(index)
        if txn.request == number:
            target = txn.response
        else:
            target = txn.request
        return self.store.index_of_number(target) if target is not None else None

    def index_of_finding(self, finding: Finding) -> int | None:
        """The message a finding is about: its own message, else the first message of
        one of its frames."""
        if finding.message_number is not None:
            index = self.store.index_of_number(finding.message_number)
            if index is not None:
                return index
        for frame in finding.frames:
            index = self.store.index_of_frame(frame)
            if index is not None and frame in self.store.frames(index):
                return index
        return None

    def flow_of(self, flow_id: int) -> Flow | None:
        summary = self.flows.get(flow_id)
        return summary.flow if summary is not None else None

    def toggle_mark(self, index: int) -> bool:
        """Mark or unmark a message; returns whether it is now marked."""
        if index in self.marks:
            self.marks.discard(index)
            return False
        self.marks.add(index)
        return True

    def frames_of(self, indices: Iterable[int]) -> bytearray:
        """A bitmap (one byte per frame number) of the frames carrying these messages,
        compact enough for a million messages."""
        store = self.store
        bitmap = bytearray()
        for index in indices:
            for frame in store.frames(index):
                if frame >= len(bitmap):
                    bitmap.extend(bytes(frame + 1 - len(bitmap) + 4096))
                bitmap[frame] = 1
        return bitmap
