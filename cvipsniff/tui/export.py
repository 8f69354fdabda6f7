"""Export the displayed (or marked) messages: their frames as a pcapng file, or their
records as JSON (the same records as ``cvipsniff read -T json``).

A pcap subset is cut from the original capture, like Wireshark's "Export Specified
Packets": the frames that carried the chosen messages are collected in a bitmap (one
byte per frame number, so a million messages cost a few megabytes), then the capture is
read again front to back and those frames are written unchanged with
:class:`~cvipsniff.capture.PcapngWriter`. Only the message frames are written (no
handshakes or bare ACKs): the result reopens as a capture starting mid-session.

The parts that read the session run in time-boxed slices on the UI thread (the session
is single-threaded); re-reading the capture touches only the file and may run in a
worker thread (:func:`write_frames`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from cvipsniff.capture import PcapngWriter, open_capture
from cvipsniff.render import message_json
from cvipsniff.tui.session import CaptureSession

FORMATS = ("pcapng", "json")


class FrameCollector:
    """Slice by slice, the bitmap of the frames carrying ``indices`` (store indices)."""

    CHECK_EVERY = 1024

    def __init__(self, session: CaptureSession, indices: Sequence[int]) -> None:
        self.session = session
        self.indices = indices
        self.done = 0
        self.bitmap = bytearray()

    def run(self, budget_s: float) -> bool:
        deadline = time.perf_counter() + budget_s
        store, bitmap, indices = self.session.store, self.bitmap, self.indices
        while self.done < len(indices):
            stop = min(len(indices), self.done + self.CHECK_EVERY)
            for position in range(self.done, stop):
                for frame in store.frames(indices[position]):
                    if frame >= len(bitmap):
                        bitmap.extend(bytes(frame + 1 - len(bitmap) + 65536))
                    bitmap[frame] = 1
            self.done = stop
            if time.perf_counter() >= deadline:
                break
        return self.done >= len(indices)


def write_frames(capture: str, bitmap: bytearray | None, out_path: str,
                 cancelled: Callable[[], bool] = lambda: False) -> int:
    """Copy the frames flagged in ``bitmap`` (every frame when None) from ``capture`` to
    a pcapng file at ``out_path``; returns how many were written. A partly written last
    record of a capture still being written is left out, as by any reader. Raises
    OSError/CaptureError."""
    written = 0
    last = _last_flagged(bitmap) if bitmap is not None else None
    with open_capture(capture) as reader, PcapngWriter(out_path) as writer:
        for frame in reader:
            if bitmap is not None and last is not None:
                if frame.number > last:
                    break
                if not bitmap[frame.number]:
                    continue
            writer.write(frame)
            written += 1
            if not written & 0x3FF and cancelled():
                break
    return written


def _last_flagged(bitmap: bytearray) -> int:
    """The highest frame number flagged (-1 if none): reading stops after it."""
    last = len(bitmap) - 1
    while last >= 0 and not bitmap[last]:
        last -= 1
    return last


class JsonExporter:
    """Slice by slice, the chosen messages as a JSON array of message records."""

    CHECK_EVERY = 256

    def __init__(self, session: CaptureSession, indices: Sequence[int], out: TextIO) -> None:
        self.session = session
        self.indices = indices
        self.out = out
        self.done = 0

    def run(self, budget_s: float) -> bool:
        deadline = time.perf_counter() + budget_s
        store, out, first_ts = self.session.store, self.out, self.session.first_ts_ns
        if self.done == 0:
            out.write("[")
        while self.done < len(self.indices):
            stop = min(len(self.indices), self.done + self.CHECK_EVERY)
            for position in range(self.done, stop):
                record = message_json(store.message(self.indices[position]), first_ts)
                out.write(("\n" if position == 0 else ",\n")
                          + json.dumps(record, ensure_ascii=False))
            self.done = stop
            if time.perf_counter() >= deadline:
                break
        if self.done >= len(self.indices):
            out.write("\n]\n")
            return True
        return False
