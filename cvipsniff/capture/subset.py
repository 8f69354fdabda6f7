"""Copy chosen frames of a capture to a new file, unchanged (Wireshark's "Export
Specified Packets", ``tshark -w`` after a display filter).

The frames are chosen by a bitmap indexed by frame number (one byte per frame, so a
million frames cost a megabyte); the capture is read again front to back and the flagged
frames are written with their timestamps, lengths and interface. The output format
follows the file name: ``.pcap`` (or ``.cap``/``.dmp``) writes classic pcap with
nanosecond timestamps, anything else pcapng.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cvipsniff.capture.reader import open_capture
from cvipsniff.capture.writer import PcapngWriter, PcapWriter
from cvipsniff.model import Frame

PCAP_SUFFIXES = (".pcap", ".cap", ".dmp")


def format_for(path: str) -> str:
    """``"pcap"`` or ``"pcapng"``, from the output file's extension."""
    return "pcap" if os.path.splitext(path)[1].lower() in PCAP_SUFFIXES else "pcapng"


def flag(bitmap: bytearray, frames: list[int] | tuple[int, ...]) -> None:
    """Mark ``frames`` in ``bitmap``, growing it in steps so marking stays cheap."""
    for number in frames:
        if number >= len(bitmap):
            bitmap.extend(bytes(number + 1 - len(bitmap) + 65536))
        bitmap[number] = 1


class _LazyPcap:
    """A pcap writer opened at the first frame (pcap needs its link type up front)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.writer: PcapWriter | None = None

    def write(self, frame: Frame) -> None:
        if self.writer is None:
            self.writer = PcapWriter(self.path, frame.linktype, nanosecond=True)
        self.writer.write(frame)

    def close(self) -> None:
        if self.writer is None:  # no frame chosen: still an empty, valid capture
            self.writer = PcapWriter(self.path, 1, nanosecond=True)
        self.writer.close()


def write_frames(capture: str, bitmap: bytearray | None, out_path: str,
                 cancelled: Callable[[], bool] = lambda: False, *,
                 fmt: str = "pcapng") -> int:
    """Copy the frames flagged in ``bitmap`` (every frame when None) from ``capture`` to
    ``out_path`` in ``fmt`` ("pcapng" or "pcap"); returns how many were written. A partly
    written last record of a capture still being written is left out, as by any reader.
    Raises OSError/CaptureError, and ValueError when pcap cannot hold a frame (a second
    link type: use pcapng)."""
    written = 0
    last = _last_flagged(bitmap) if bitmap is not None else None
    writer: PcapngWriter | _LazyPcap = (
        _LazyPcap(out_path) if fmt == "pcap" else PcapngWriter(out_path))
    try:
        with open_capture(capture) as reader:
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
    finally:
        writer.close()
    return written


def _last_flagged(bitmap: bytearray) -> int:
    """The highest frame number flagged (-1 if none): reading stops after it."""
    last = len(bitmap) - 1
    while last >= 0 and not bitmap[last]:
        last -= 1
    return last


def read_frames(capture: str, numbers: list[int] | tuple[int, ...]) -> dict[int, Frame]:
    """The frames ``numbers`` of ``capture`` as captured (the wire bytes behind one
    message); reading stops after the highest. Raises OSError/CaptureError."""
    wanted = set(numbers)
    found: dict[int, Frame] = {}
    if not wanted:
        return found
    last = max(wanted)
    with open_capture(capture) as reader:
        for frame in reader:
            if frame.number in wanted:
                found[frame.number] = frame
            if frame.number >= last:
                break
    return found
