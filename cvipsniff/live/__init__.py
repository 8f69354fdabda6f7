"""Live capture: backends that turn an interface into frames, and the session that runs
them through the pipeline and the analysis as traffic happens.

    from cvipsniff.live import LiveSession
    session = LiveSession("lo", default_capture_filter(), backend="scapy", on_output=print)
    session.start(); ...; session.stop(); session.join()

Modules: :mod:`~cvipsniff.live.session` (the engine, also used by the live TUI),
:mod:`~cvipsniff.live.source` (the backend interface), :mod:`~cvipsniff.live.packet_socket`
and :mod:`~cvipsniff.live.dumpcap` (the backends), :mod:`~cvipsniff.live.capture_filter`,
:mod:`~cvipsniff.live.ring` (``-w`` and ring buffers), :mod:`~cvipsniff.live.interfaces`,
:mod:`~cvipsniff.live.printer` (the terminal sink of ``cvipsniff sniff``) and
:mod:`~cvipsniff.live.errors`.
"""

from cvipsniff.live.capture_filter import default_capture_filter
from cvipsniff.live.errors import LiveCaptureError
from cvipsniff.live.session import (
    CaptureStats,
    LiveOutput,
    LiveSession,
    SessionEnded,
    StopConditions,
)
from cvipsniff.live.source import BACKENDS, FrameSource, SourceOptions, SourceStats

__all__ = [
    "BACKENDS",
    "CaptureStats",
    "FrameSource",
    "LiveCaptureError",
    "LiveOutput",
    "LiveSession",
    "SessionEnded",
    "SourceOptions",
    "SourceStats",
    "StopConditions",
    "default_capture_filter",
]
