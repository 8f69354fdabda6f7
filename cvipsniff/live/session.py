"""The live capture engine: interface → frames → pipeline → analysis → outputs.

:class:`LiveSession` is what ``cvipsniff sniff`` runs and what the live TUI builds on. It
owns one capture at a time and everything fed from it: the frame source (a backend), the
optional ``-w`` writer, a :class:`~cvipsniff.pipeline.Pipeline` and an
:class:`~cvipsniff.analysis.engine.Analysis`. Frames go through exactly the same stages
as a file's, in the same order, so the analysis of the file written with ``-w`` is the
analysis seen live — except that live, time passes even when no packet comes:

* every ``tick_s`` (0.5 s) the session calls ``analysis.expire(now)``, so a request that
  got no answer within ``unanswered_timeout_s`` becomes a finding while the capture is
  still running, and ``pipeline.expire(now, idle)`` so flows idle for ``idle_timeout_s``
  are closed and forgotten (bounded memory on a long capture);
* "now" is the wall clock less the backend's delivery latency, so a request is never
  called unanswered while its answer is still in the backend's buffers.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.analysis.engine import Analysis
from cvipsniff.analysis.model import Finding
from cvipsniff.capture import PcapngWriter
from cvipsniff.live.errors import capture_failed
from cvipsniff.live.ring import CaptureWriter, open_capture_writer
from cvipsniff.live.source import FrameSource, SourceFactory, SourceOptions, open_frame_source
from cvipsniff.model import FlowClosed, Frame, Message, TransportNote
from cvipsniff.pipeline import Pipeline, PipelineConfig

__all__ = ["CaptureStats", "LiveOutput", "LiveSession", "SessionEnded", "StopConditions"]

DEFAULT_TICK_S = 0.5
DEFAULT_IDLE_TIMEOUT_S = 300.0  # Zeek's TCP inactivity timeout
STOP_GRACE_S = 5.0  # after stop(): how long the backend may take to hand over the rest


@dataclass(frozen=True, slots=True)
class CaptureStats:
    """How the capture is going; a new snapshot every tick and one at the end.

    ``packets``/``bytes`` count frames captured and analysed (the frames written with
    ``-w``); ``dropped`` the frames lost before we could read them (kernel buffer or
    dumpcap), ``interface_dropped`` those the interface itself lost (dumpcap only).
    ``drops_final`` is False while the backend reports drops only when it stops.
    """

    interface: str
    backend: str
    capture_filter: str
    packets: int = 0
    bytes: int = 0
    dropped: int = 0
    interface_dropped: int = 0
    drops_final: bool = True
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "interface": self.interface,
            "backend": self.backend,
            "capture_filter": self.capture_filter,
            "packets": self.packets,
            "bytes": self.bytes,
            "dropped": self.dropped if self.drops_final else None,
            "interface_dropped": self.interface_dropped if self.drops_final else None,
            "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """The last output of a capture. ``reason``: ``"stopped"`` (stop() or Ctrl-C),
    ``"count"`` or ``"duration"`` (a stop condition), ``"error"`` (``error`` says
    what; the analysis of what was captured up to then is complete nonetheless)."""

    reason: str
    stats: CaptureStats
    error: Exception | None = None


@dataclass(frozen=True, slots=True)
class StopConditions:
    """tshark's ``-c COUNT`` and ``-a packets:N`` / ``-a duration:SECONDS``."""

    packets: int | None = None
    duration_s: float | None = None


LiveOutput = Message | TransportNote | FlowClosed | Finding | CaptureStats | SessionEnded


@dataclass(slots=True)
class _Counters:
    packets: int = 0
    bytes: int = 0
    started: float = 0.0
    reason: str = "stopped"
    error: Exception | None = None
    stopping_since: float | None = None


class LiveSession:
    """A live capture and its analysis, run in the caller's thread or in the background.

    ::

        session = LiveSession("lo", "tcp port 7110", backend="scapy",
                              analysis_config=load_config(None), write_to="out.pcapng",
                              on_output=handle)          # or read session.outputs
        session.start()        # opens the interface: raises LiveCaptureError naming the fix
        ...
        session.stop()         # thread-safe; also what Ctrl-C should call
        ended = session.join() # SessionEnded once everything is flushed

    **Outputs**, in capture order: each :class:`~cvipsniff.model.Message` as it completes,
    each :class:`~cvipsniff.model.TransportNote` and
    :class:`~cvipsniff.model.FlowClosed` from the pipeline, each
    :class:`~cvipsniff.analysis.model.Finding` right after the item that produced it (or
    at a tick, for a timeout), a :class:`CaptureStats` snapshot every tick, and finally
    one :class:`SessionEnded`. They go to ``on_output(item)`` if given — called in the
    capture thread, right after the item was analysed, so it may consult
    ``session.analysis`` (e.g. which request a response answers); it must be quick and
    must not block (a UI hands the item over with ``call_from_thread`` or
    ``post_message``) — otherwise to the unbounded ``session.outputs`` queue.

    **Threads**: ``start()`` runs the capture in a daemon thread; ``run()`` runs it in the
    calling thread until a stop condition or ``stop()`` (from a signal handler or another
    thread) and returns the :class:`SessionEnded`. ``pipeline`` and ``analysis`` belong to
    the capture thread while it runs and may be read freely once it has ended.

    **Restart**: after a capture ended, ``start()``/``run()`` begin a new one on the same
    interface with a fresh pipeline and analysis (frame numbers from 1; ``-w`` rewrites
    the file); ``restart()`` stops the current capture first.

    ``backend`` is ``"scapy"``, ``"dumpcap"``, or a factory
    ``(interface, capture_filter, SourceOptions) -> FrameSource`` for other sources.
    ``clock`` (nanoseconds since the epoch) is the time timeouts are measured against.
    """

    def __init__(
        self,
        interface: str,
        capture_filter: str,
        backend: str | SourceFactory = "scapy",
        *,
        pipeline_config: PipelineConfig | None = None,
        analysis_config: AnalysisConfig | None = None,
        write_to: str | None = None,
        ring_size_mb: float | None = None,
        ring_files: int = 0,
        stop_conditions: StopConditions | None = None,
        source_options: SourceOptions | None = None,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        tick_s: float = DEFAULT_TICK_S,
        on_output: Callable[[LiveOutput], object] | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.interface = interface
        self.capture_filter = capture_filter
        self.backend = backend
        self.pipeline_config = pipeline_config or PipelineConfig(keep_data=False)
        self.analysis_config = analysis_config or AnalysisConfig()
        self.write_to = write_to
        self.ring_size_mb = ring_size_mb
        self.ring_files = ring_files
        self.stop_conditions = stop_conditions or StopConditions()
        self.source_options = source_options or SourceOptions()
        self.idle_timeout_s = idle_timeout_s
        self.tick_s = tick_s
        self.on_output = on_output
        self.clock = clock
        self.outputs: queue.Queue[LiveOutput] = queue.Queue()
        self.pipeline = Pipeline(self.pipeline_config)
        self.analysis = Analysis(self.analysis_config)
        self.ended: SessionEnded | None = None
        self._source: FrameSource | None = None
        self._writer: CaptureWriter | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._done.set()  # nothing running yet
        self._counters = _Counters()
        self._stats = CaptureStats(interface, self._backend_name(), capture_filter)

    # ---- public API ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    @property
    def stats(self) -> CaptureStats:
        """The latest snapshot (an immutable object: safe to read from any thread)."""
        return self._stats

    @property
    def source(self) -> FrameSource | None:
        return self._source

    def start(self) -> None:
        """Open the capture (raising its error here) and run it in a background thread."""
        self._open()
        self._thread = threading.Thread(target=self._run_opened, name="cvipsniff-live",
                                        daemon=True)
        self._thread.start()

    def run(self) -> SessionEnded:
        """Open the capture and run it in this thread until it ends."""
        self._open()
        return self._run_opened(raise_errors=True)

    def stop(self) -> None:
        """Ask the capture to end (thread-safe, signal-safe, idempotent)."""
        self._stop.set()

    def abort(self) -> None:
        """Stop at once, without waiting for the backend to hand over what it still
        holds: closes the source from the calling thread (a second Ctrl-C). The capture
        thread then ends as after a stop, with what it had."""
        self._stop.set()
        source = self._source
        if source is not None:
            source.close()

    def join(self, timeout: float | None = None) -> SessionEnded | None:
        """Wait for the capture to end; its :class:`SessionEnded`, or None on timeout."""
        if not self._done.wait(timeout):
            return None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        return self.ended

    def restart(self) -> None:
        """Stop the current capture (if any) and start a fresh one."""
        self.stop()
        self.join()
        self.start()

    # ---- opening and closing ---------------------------------------------------------

    def _backend_name(self) -> str:
        if isinstance(self.backend, str):
            return self.backend
        return getattr(self.backend, "backend", getattr(self.backend, "__name__", "custom"))

    def _new_source(self) -> FrameSource:
        if isinstance(self.backend, str):
            return open_frame_source(self.backend, self.interface, self.capture_filter,
                                     self.source_options)
        return self.backend(self.interface, self.capture_filter, self.source_options)

    def _open(self) -> None:
        if self.running:
            raise RuntimeError("this live session is already capturing")
        self._stop.clear()
        self.ended = None
        self.pipeline = Pipeline(self.pipeline_config)
        self.analysis = Analysis(self.analysis_config)
        self._counters = _Counters()
        writer = self._open_writer()
        source: FrameSource | None = None
        try:
            source = self._new_source()
            source.open()
        except BaseException:
            if source is not None:
                source.close()
            if writer is not None:
                writer.close()
            raise
        self._writer = writer
        self._source = source
        self._counters.started = time.monotonic()
        self._stats = CaptureStats(source.interface, source.backend, source.capture_filter)
        self._done.clear()

    def _open_writer(self) -> CaptureWriter | None:
        if self.write_to is None:
            return None
        if self.write_to == "-":
            return PcapngWriter(sys.stdout.buffer)
        return open_capture_writer(self.write_to, self.ring_size_mb, self.ring_files)

    def _run_opened(self, raise_errors: bool = False) -> SessionEnded:
        crash: BaseException | None = None
        try:
            self._loop()
        except BaseException as exc:  # our bug, a sink's error, or KeyboardInterrupt
            crash = exc
            if self._counters.error is None:
                self._counters.error = exc
            self._counters.reason = "error"
        try:
            ended = self._finish(emit=crash is None or not raise_errors)
        except BaseException as exc:  # the flush failed too; resources are closed
            if raise_errors:
                raise
            ended = self.ended = SessionEnded("error", self._stats, exc)
        finally:
            self._done.set()
        if crash is not None and raise_errors:
            raise crash
        return ended

    # ---- the capture loop ------------------------------------------------------------

    def _loop(self) -> None:
        source = self._source
        assert source is not None
        counters = self._counters
        limit = self.stop_conditions.packets
        deadline = (counters.started + self.stop_conditions.duration_s
                    if self.stop_conditions.duration_s else None)
        next_tick = time.monotonic() + self.tick_s
        while True:
            if self._stop.is_set() and counters.stopping_since is None:
                self._begin_stop(source, "stopped")
            now = time.monotonic()
            wait = next_tick - now
            if counters.stopping_since is not None:
                wait = min(wait, 0.1)  # only collecting what the backend still holds
            elif deadline is not None:
                wait = min(wait, deadline - now)
            frames = source.read(max(0.0, wait))
            for frame in frames:
                if limit is not None and counters.packets >= limit:
                    break
                self._frame(frame)
            for note in source.take_notes():
                self._analyse(note)
            if limit is not None and counters.packets >= limit:
                counters.reason = "count"
                break  # frames beyond the count are neither analysed nor written
            if source.error is not None:
                counters.error = source.error
                counters.reason = "error"
                break
            if source.ended:
                break
            now = time.monotonic()
            if now >= next_tick:
                self._tick(source)
                next_tick = now + self.tick_s
            if deadline is not None and now >= deadline and counters.stopping_since is None:
                self._begin_stop(source, "duration")
            if counters.stopping_since is not None \
                    and now - counters.stopping_since > STOP_GRACE_S:
                break

    def _begin_stop(self, source: FrameSource, reason: str) -> None:
        self._counters.reason = reason
        self._counters.stopping_since = time.monotonic()
        source.stop()

    def _frame(self, frame: Frame) -> None:
        counters = self._counters
        counters.packets += 1
        counters.bytes += frame.caplen
        if self._writer is not None:
            try:
                self._writer.write(frame)
            except (OSError, ValueError) as exc:
                self._writer_failed(exc)
        for item in self.pipeline.feed(frame):
            self._analyse(item)

    def _writer_failed(self, exc: Exception) -> None:
        """The disk is full or the file went away: capture and analysis go on, the
        capture ends with this error so nobody trusts an incomplete file."""
        reason = getattr(exc, "strerror", None) or str(exc)
        error = capture_failed(self.interface, f"cannot write {self.write_to!r}: {reason}")
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(OSError, ValueError):
                writer.close()
        self._counters.error = error
        self.stop()

    def _analyse(self, item: Message | TransportNote | FlowClosed) -> None:
        findings = self.analysis.add(item)
        self._emit(item)
        for finding in findings:
            self._emit(finding)

    def _tick(self, source: FrameSource) -> None:
        now_ns = self.clock() - source.latency_ns
        for item in self.pipeline.expire(now_ns, int(self.idle_timeout_s * 1e9)):
            self._analyse(item)
        for finding in self.analysis.expire(now_ns):
            self._emit(finding)
        if self._writer is not None:
            try:
                self._writer.flush()
            except (OSError, ValueError) as exc:
                self._writer_failed(exc)
        self._stats = self._snapshot(source)
        self._emit(self._stats)

    def _snapshot(self, source: FrameSource) -> CaptureStats:
        counters = self._counters
        drops = source.stats()
        return CaptureStats(
            interface=source.interface, backend=source.backend,
            capture_filter=source.capture_filter, packets=counters.packets,
            bytes=counters.bytes, dropped=drops.dropped,
            interface_dropped=drops.interface_dropped, drops_final=drops.final,
            elapsed_s=time.monotonic() - counters.started)

    def _finish(self, emit: bool = True) -> SessionEnded:
        """Flush flows and framers, settle what is still open, close everything."""
        source, writer = self._source, self._writer
        self._source = self._writer = None
        counters = self._counters
        try:
            if emit:
                for item in self.pipeline.finish():
                    self._analyse(item)
                for finding in self.analysis.finish():
                    self._emit(finding)
        finally:
            if writer is not None:
                try:
                    writer.close()
                except (OSError, ValueError) as exc:
                    counters.error = counters.error or capture_failed(
                        self.interface, f"cannot write {self.write_to!r}: {exc}")
            if source is not None:
                source.close()  # dumpcap's drop figures are final once it has exited
                self._stats = self._snapshot(source)
        if counters.error is not None:
            counters.reason = "error"
        self.ended = SessionEnded(counters.reason, self._stats, counters.error)
        if emit:
            self._emit(self._stats)
            self._emit(self.ended)
        return self.ended

    def _emit(self, item: LiveOutput) -> None:
        if self.on_output is not None:
            self.on_output(item)
        else:
            self.outputs.put(item)
