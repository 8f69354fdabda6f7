"""What a live capture backend is to the rest of the tool: a source of frames.

A backend opens an interface with a BPF capture filter and hands over
:class:`~cvipsniff.model.Frame` values exactly as an offline reader does (numbered from 1,
nanosecond timestamps, captured and original lengths, link type), so the pipeline, the
``-w`` writer and the analysis cannot tell live frames from a file's. It also says how many
frames were lost before it could read them (drops), which no frame can tell.

Two backends implement :class:`FrameSource`:

* ``scapy`` (:mod:`cvipsniff.live.packet_socket`): a Linux packet socket in this process;
  needs root or CAP_NET_RAW; drop counts are current.
* ``dumpcap`` (:mod:`cvipsniff.live.dumpcap`): Wireshark's capture helper in a child
  process, its pcapng stream parsed here; works for a normal user once dumpcap has its
  capabilities; drop counts arrive when it stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cvipsniff.model import Frame, TransportNote

__all__ = ["BACKENDS", "FrameSource", "SourceOptions", "SourceStats", "open_frame_source"]

BACKENDS = ("scapy", "dumpcap")
DEFAULT_SNAPLEN = 262144  # what tcpdump and dumpcap capture per packet by default


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How to capture, independent of the backend (tshark's -s, -p and -B)."""

    snaplen: int = DEFAULT_SNAPLEN
    promiscuous: bool = True
    buffer_mb: int = 2


@dataclass(frozen=True, slots=True)
class SourceStats:
    """What the backend knows about loss.

    ``dropped`` counts frames that matched the filter but were lost before we could read
    them (the kernel's socket buffer or dumpcap's ring was full); ``interface_dropped``
    counts what the interface or driver itself reported lost (dumpcap only).
    ``final`` is False while a backend can only report drops at the end (dumpcap): the
    numbers are then the last known, not the current ones.
    """

    dropped: int = 0
    interface_dropped: int = 0
    final: bool = True


class FrameSource(Protocol):
    """One capture on one interface. Used from a single thread (the session's).

    Life cycle: ``open()`` (raises :class:`~cvipsniff.live.errors.LiveCaptureError`
    naming the fix), then ``read()`` until ``ended``; ``stop()`` asks the capture to end,
    after which ``read()`` returns what was already captured and then ``ended`` becomes
    True; ``close()`` releases everything and may be called at any time, more than once.
    """

    backend: str
    interface: str
    capture_filter: str
    # How long after its timestamp a frame may still reach read() (buffering in the
    # backend); timeouts measured against the wall clock allow for it.
    latency_ns: int
    # Set when the capture failed while running (the interface went away, dumpcap died).
    error: Exception | None

    def open(self) -> None: ...

    def read(self, timeout_s: float) -> list[Frame]:
        """Frames captured so far, waiting at most ``timeout_s`` for the first one."""
        ...

    def stop(self) -> None: ...

    @property
    def ended(self) -> bool: ...

    def stats(self) -> SourceStats: ...

    def take_notes(self) -> list[TransportNote]:
        """Problems the backend saw in its own input (e.g. a corrupt pcapng block)."""
        ...

    def close(self) -> None: ...


SourceFactory = Callable[[str, str, SourceOptions], FrameSource]


def open_frame_source(backend: str, interface: str, capture_filter: str,
                      options: SourceOptions | None = None) -> FrameSource:
    """A new, not yet opened source of the named backend (``"scapy"`` or ``"dumpcap"``).

    Backends are imported here, on demand: the scapy backend costs scapy's import time,
    which a dumpcap capture (or any offline command) should not pay.
    """
    options = options or SourceOptions()
    if backend == "scapy":
        from cvipsniff.live.packet_socket import PacketSocketSource

        return PacketSocketSource(interface, capture_filter, options)
    if backend == "dumpcap":
        from cvipsniff.live.dumpcap import DumpcapSource

        return DumpcapSource(interface, capture_filter, options)
    raise ValueError(f"unknown capture backend {backend!r} (known: {', '.join(BACKENDS)})")
