"""Export the displayed (or marked) messages: their frames as a pcapng file, or their
records as JSON (the same records as ``cvipsniff read -T json``).

A pcap subset is cut from the original capture, like Wireshark's "Export Specified
Packets": the frames that carried the chosen messages are collected in a bitmap (one
byte per frame number, so a million messages cost a few megabytes), then the capture is
read again front to back and those frames are written unchanged by
:func:`cvipsniff.capture.subset.write_frames` (shared with ``read -w``). Only the message
frames are written (no handshakes or bare ACKs): the result reopens as a capture starting
mid-session.

The parts that read the session run in time-boxed slices on the UI thread (the session
is single-threaded); re-reading the capture touches only the file and may run in a
worker thread (:func:`write_frames`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TextIO

from cvipsniff.capture.subset import flag, write_frames
from cvipsniff.export_objects import ObjectExporter
from cvipsniff.render import message_json
from cvipsniff.tui.session import CaptureSession

FORMATS = ("pcapng", "json", "objects")
__all__ = ["FORMATS", "FrameCollector", "JsonExporter", "ObjectsExporter", "write_frames"]


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
                flag(bitmap, store.frames(indices[position]))
            self.done = stop
            if time.perf_counter() >= deadline:
                break
        return self.done >= len(indices)


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


class ObjectsExporter:
    """Slice by slice, the ImageServer objects of the chosen messages into a directory
    (:class:`~cvipsniff.export_objects.ObjectExporter`, as ``read --export-objects``)."""

    CHECK_EVERY = 64

    def __init__(self, session: CaptureSession, indices: Sequence[int], directory: str) -> None:
        self.session = session
        self.indices = indices
        self.exporter = ObjectExporter(directory)
        self.done = 0

    def run(self, budget_s: float) -> bool:
        deadline = time.perf_counter() + budget_s
        store = self.session.store
        while self.done < len(self.indices):
            stop = min(len(self.indices), self.done + self.CHECK_EVERY)
            for position in range(self.done, stop):
                index = self.indices[position]
                if store.protocol(index) == "imageserver" \
                        and store.kind(index) == "imageresponse":
                    self.exporter.add(store.message(index))
            self.done = stop
            if time.perf_counter() >= deadline:
                break
        if self.done >= len(self.indices):
            self.exporter.close()
            return True
        return False
