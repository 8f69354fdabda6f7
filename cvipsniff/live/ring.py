"""``-w`` for live capture: one pcapng file, or a ring buffer of them.

A ring buffer (``--ring-size MB`` with ``--ring-files N``) is what dumpcap's ``-b
filesize:… -b files:…`` does for captures that run for days: a new file is started when
the current one reaches the size, and only the newest N are kept. Files are named like
dumpcap's, ``out_00001_20250102030405.pcapng`` (sequence number, local start time), so
they sort in capture order and tools that know dumpcap's rings read them unchanged.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from pathlib import Path
from typing import BinaryIO, Protocol

from cvipsniff.capture import PcapngWriter
from cvipsniff.errors import UsageError
from cvipsniff.model import Frame

__all__ = ["CaptureWriter", "RingWriter", "open_capture_writer"]


class CaptureWriter(Protocol):
    """What the live session needs of a writer: PcapngWriter and RingWriter both are."""

    frames_written: int

    def write(self, frame: Frame) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def _open_for_writing(path: str) -> BinaryIO:
    try:
        return open(path, "wb")
    except OSError as exc:
        raise UsageError(f"cannot write {path!r}: {exc.strerror or exc}") from None


class RingWriter:
    """pcapng files of about ``size_bytes`` each; at most ``files`` kept (0: keep all).

    A file is closed once it holds at least ``size_bytes`` (never before its first frame,
    so a frame bigger than the size still gets a file). ``paths`` lists the files still
    on disk, oldest first.
    """

    def __init__(self, path: str, size_bytes: int, files: int = 0,
                 clock=time.localtime) -> None:
        if size_bytes <= 0:
            raise ValueError("ring file size must be positive")
        if files < 0:
            raise ValueError("number of ring files must not be negative")
        target = Path(path)
        suffix = target.suffix if target.suffix else ".pcapng"
        self._pattern = str(target.with_suffix("")) + "_{index:05d}_{stamp}" + suffix
        self.size_bytes = size_bytes
        self.files = files
        self._clock = clock
        self.paths: deque[str] = deque()
        self._index = 0
        self._file: BinaryIO | None = None
        self._writer: PcapngWriter | None = None
        self.frames_written = 0
        self.closed = False
        self._start_file()  # fail now, not at the first packet, if the place is unwritable

    def _start_file(self) -> None:
        self._index += 1
        stamp = time.strftime("%Y%m%d%H%M%S", self._clock())
        path = self._pattern.format(index=self._index, stamp=stamp)
        self._file = _open_for_writing(path)
        self._writer = PcapngWriter(self._file)
        self.paths.append(path)
        while self.files and len(self.paths) > self.files:
            old = self.paths.popleft()
            with contextlib.suppress(FileNotFoundError):
                os.remove(old)

    def _finish_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._file is not None:
            self._file.close()
        self._writer = None
        self._file = None

    def write(self, frame: Frame) -> None:
        if self.closed:
            raise ValueError("write to a closed ring writer")
        assert self._writer is not None and self._file is not None
        if self._writer.frames_written and self._file.tell() >= self.size_bytes:
            self._finish_file()
            self._start_file()
            assert self._writer is not None
        self._writer.write(frame)
        self.frames_written += 1

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._finish_file()


def open_capture_writer(path: str, ring_size_mb: float | None = None,
                        ring_files: int = 0) -> CaptureWriter:
    """The writer for ``-w path``: a plain pcapng file, or a ring when a size is given.
    An unwritable place is a UsageError (one line) before any packet is captured."""
    if ring_size_mb:
        return RingWriter(path, int(ring_size_mb * 1_000_000), ring_files)
    if ring_files:
        raise UsageError("--ring-files needs --ring-size (the size at which a new file starts)")
    return _OwnedPcapngWriter(path)


class _OwnedPcapngWriter(PcapngWriter):
    """A PcapngWriter on a file it opened itself, with the open error made one line."""

    def __init__(self, path: str) -> None:
        self._own_file = _open_for_writing(path)
        super().__init__(self._own_file)

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        self._own_file.close()
