"""A live capture for the UI: :class:`~cvipsniff.live.session.LiveSession` outputs
gathered into the same :class:`~cvipsniff.tui.loader.Batch` es a file's loader hands over.

The capture thread calls :meth:`LiveFeed.on_output` for every message, note, finding and
status snapshot, right after the analysis has seen it — the only moment the pairer can
say which transaction a message belongs to and the only thread allowed to drain the
pairer's new transactions. The UI thread calls :meth:`LiveFeed.take` a few times a
second and ingests whatever accumulated, exactly as it ingests a file's batches; so the
views, filters, pairing and findings of a live capture are the offline ones, batch for
batch. A lock guards the one batch being filled; nothing else is shared.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from cvipsniff.analysis.model import Finding
from cvipsniff.live.session import CaptureStats, LiveOutput, LiveSession, SessionEnded
from cvipsniff.model import FlowClosed, Message, TransportNote
from cvipsniff.tui.loader import Batch


@dataclass(frozen=True, slots=True)
class CaptureStatus:
    """A live capture as the status line shows it: the latest statistics, whether it
    still runs, and how it ended."""

    stats: CaptureStats
    running: bool = True
    ended: SessionEnded | None = None

    @property
    def error(self) -> str | None:
        ended = self.ended
        return str(ended.error) if ended is not None and ended.error is not None else None


class LiveFeed:
    """Collects one :class:`LiveSession`'s outputs into batches for the UI; the UI
    restarts a capture only after taking the previous one's last batch."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        # Lean dissection (no tree) is what the UI wants: the store re-dissects a message
        # when it is shown. Batches say which kind of records they carry.
        self._complete = session.pipeline_config.tree
        self._lock = threading.Lock()
        self._batch = self._new_batch()
        self._status = CaptureStatus(session.stats)
        self._ended = False

    # ---- capture thread ------------------------------------------------------------------

    def on_output(self, item: LiveOutput) -> None:
        """Called by the capture thread after the analysis has seen ``item``."""
        pairer = self.session.analysis.pairer
        with self._lock:
            batch = self._batch
            kind = type(item)
            if kind is Message:
                batch.messages.append((item, pairer.transaction_of(item.number) or 0))
            elif kind is Finding:
                batch.findings.append(item)
            elif kind is TransportNote:
                batch.notes += 1
            elif kind is FlowClosed:
                batch.flows.append(item.flow)
            elif kind is CaptureStats:
                self._status = CaptureStatus(item, running=not self._ended)
                batch.progress = (item.bytes, None)
            elif kind is SessionEnded:
                self._ended = True
                self._status = CaptureStatus(item.stats, running=False, ended=item)
                batch.done = True
                if item.error is not None:
                    batch.error = f"capture ended: {item.error}"
            if pairer.transactions:
                batch.transactions.extend(pairer.transactions)
                pairer.transactions.clear()

    # ---- UI thread -----------------------------------------------------------------------

    @property
    def status(self) -> CaptureStatus:
        return self._status

    def take(self) -> Batch | None:
        """What accumulated since the last call, or None if nothing did."""
        with self._lock:
            batch = self._batch
            if not (batch.messages or batch.findings or batch.flows or batch.transactions
                    or batch.notes or batch.done):
                return None
            self._batch = self._new_batch(batch.progress)
            return batch

    def _new_batch(self, progress: tuple[int, int | None] = (0, None)) -> Batch:
        return Batch(progress=progress, complete=self._complete)

    def start(self) -> None:
        """Begin a (new) capture: raises the session's one-line error if it cannot."""
        with self._lock:
            self._batch = self._new_batch()
            self._ended = False
        self.session.start()
        with self._lock:
            self._status = CaptureStatus(self.session.stats)

    def stop(self) -> None:
        """Ask the capture to end; its last batch (``done``) follows shortly."""
        self.session.stop()


__all__ = ["CaptureStatus", "LiveFeed"]
