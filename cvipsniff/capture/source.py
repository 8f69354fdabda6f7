"""The byte stream under a capture reader: a file or stdin, transparently decompressed.

Reading is chunked (never the whole file), counts the *raw* bytes consumed so a progress
bar can compare :attr:`ByteSource.bytes_read` with :attr:`ByteSource.size`, and turns I/O
or decompression errors in the middle of the stream into an end of stream plus a message
in :attr:`ByteSource.read_error` — the format parser decides how to report it, knowing
where in the capture it happened.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import stat
import sys
import zlib
from collections.abc import Callable
from typing import BinaryIO, Protocol

from cvipsniff.capture.errors import CaptureError

__all__ = ["CHUNK_SIZE", "ByteSource", "NoteSink", "WatchedNotes", "open_source"]

# How parsers report a non-fatal problem: (kind, severity, message, frame number).
NoteSink = Callable[[str, str, str, int], None]


class WatchedNotes:
    """A :data:`NoteSink` passing notes on to ``sink`` and remembering (``noted``, which
    the reader clears) that one went out: a split worker's reader must then hand over
    the next frame whoever's it is, since that note goes out with it."""

    __slots__ = ("noted", "sink")

    def __init__(self, sink: NoteSink) -> None:
        self.sink = sink
        self.noted = False

    def __call__(self, kind: str, severity: str, message: str, frame: int) -> None:
        self.noted = True
        self.sink(kind, severity, message, frame)

# One read from the file or decompressor. Large enough that per-chunk overhead (and the
# copy of a record straddling two chunks) vanishes; small enough that memory stays flat.
CHUNK_SIZE = 1 << 20

_GZIP_MAGIC = b"\x1f\x8b"
_BZIP2_MAGIC = b"BZh"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_LZ4_MAGIC = b"\x04\x22\x4d\x18"

# Magic -> (name, decompressing reader over a raw stream); all three are in the stdlib.
_DECOMPRESSORS: dict[bytes, tuple[str, Callable[[_CountingReader], _Readable]]] = {
    _GZIP_MAGIC: ("gzip", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),  # type: ignore[arg-type]
    _BZIP2_MAGIC: ("bzip2", bz2.BZ2File),  # type: ignore[dict-item]
    _XZ_MAGIC: ("xz", lzma.LZMAFile),  # type: ignore[dict-item]
}

# What a broken compressed stream or a failing disk raises while reading.
_STREAM_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class _CountingReader:
    """Counts raw bytes read and replays the bytes peeked for format detection."""

    def __init__(self, raw: BinaryIO, prefix: bytes) -> None:
        self._raw = raw
        self._prefix = prefix
        self.count = len(prefix)
        # stdin is a BufferedReader whose read(n) waits for n bytes; read1 returns what
        # a pipe has now, so frames from `tcpdump -w - | cvipsniff -r -` flow at once.
        self._read = getattr(raw, "read1", raw.read)

    @property
    def pending(self) -> bool:
        """Whether peeked bytes are still to be replayed."""
        return bool(self._prefix)

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            cut = size if size > 0 else len(self._prefix)
            data, self._prefix = self._prefix[:cut], self._prefix[cut:]
            return data
        data = self._read(size if size > 0 else CHUNK_SIZE)
        self.count += len(data)
        return data


class ByteSource:
    """A readable stream of capture bytes with progress and error bookkeeping."""

    def __init__(
        self,
        path: str,
        raw: BinaryIO,
        counter: _CountingReader,
        stream: _Readable,
        size: int | None,
        compression: str | None,
        owned: bool,
    ) -> None:
        self.path = path
        self.size = size
        self.compression = compression
        self.read_error: str | None = None
        self.read_error_kind = "capture.corrupt_block"
        self._raw = raw
        self._counter = counter
        self._read = getattr(stream, "read1", stream.read)
        self._stream = stream
        self._owned = owned
        self.closed = False
        # A regular file read as it is (not decompressed): what must follow an unread tail
        # is read again from where the tail starts (os.pread: the kernel's one copy), not
        # read after it and joined with it into a third buffer (a second copy of every
        # byte: ~0.03 s of a 200 MB capture, paid by each worker of a split).
        self._fd = raw.fileno() if owned and size is not None and stream is counter else None

    @property
    def bytes_read(self) -> int:
        """Raw (compressed, if compressed) bytes consumed so far; compare with size."""
        return self._counter.count

    def read(self, size: int = CHUNK_SIZE) -> bytes:
        """One chunk of up to ``size`` bytes; ``b""`` at the end of the stream or after an
        error (then :attr:`read_error` says what went wrong)."""
        if self.read_error is not None or self.closed:
            return b""
        try:
            return self._read(size)
        except EOFError:
            self.read_error = f"{self.compression} stream ends early (compressed file cut short)"
            self.read_error_kind = "capture.truncated_record"
        except _STREAM_ERRORS as exc:
            what = f"corrupt {self.compression} data" if self.compression else "read error"
            self.read_error = f"{what}: {exc}"
        return b""

    def fill(self, buf: bytes, pos: int, need: int) -> bytes:
        """Return ``buf[pos:]`` extended by further reads until it holds at least ``need``
        bytes or the stream ends. Only the unread tail is copied, once per chunk."""
        rest = buf[pos:] if pos else buf
        if len(rest) >= need:
            return rest
        if self._fd is not None and not self._counter.pending and self.read_error is None \
                and not self.closed:
            again = self._read_again(len(rest), max(CHUNK_SIZE, need))
            if again is not None:
                return again
        parts = [rest]
        have = len(rest)
        while have < need:
            data = self.read(max(CHUNK_SIZE, need - have))
            if not data:
                break
            parts.append(data)
            have += len(data)
        return b"".join(parts)

    def _read_again(self, tail: int, size: int) -> bytes | None:
        """Up to ``size`` bytes of the file from ``tail`` bytes before where reading
        stands (the unread tail, then what follows), the file's position and the count
        moved past them; None where that fails (the usual reads then say why)."""
        start = self._counter.count - tail
        try:
            data = os.pread(self._fd, size, start)  # type: ignore[arg-type]
            if len(data) < tail:  # the file shrank under the tail: not what was read
                return None
            os.lseek(self._fd, start + len(data), os.SEEK_SET)  # type: ignore[arg-type]
        except OSError:
            return None
        self._counter.count = start + len(data)
        return data

    def report_end(self, note: NoteSink, frame: int, leftover: str | None) -> None:
        """Report why reading stopped, if not at a clean end: a read/decompression error
        (which explains any partial record), else ``leftover`` describing a partial record
        at the end of the capture."""
        if self.read_error is not None:
            note(self.read_error_kind, "error", f"{self.read_error} (after frame {frame})", frame)
        elif leftover:
            note("capture.truncated_record", "warning",
                 f"capture cut short after frame {frame}: {leftover}", frame)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._stream is not self._counter:
            close = getattr(self._stream, "close", None)
            if close is not None:
                with contextlib.suppress(_STREAM_ERRORS):
                    close()
        if self._owned:
            self._raw.close()


def _open_raw(path: str) -> tuple[BinaryIO, int | None, bool]:
    if path == "-":
        return sys.stdin.buffer, None, False
    try:
        raw = open(path, "rb", buffering=0)  # noqa: SIM115 - owned by ByteSource.close()
    except FileNotFoundError:
        raise CaptureError(path, "no such file") from None
    except IsADirectoryError:
        raise CaptureError(path, "is a directory, not a capture file") from None
    except PermissionError:
        raise CaptureError(path, "permission denied") from None
    except OSError as exc:
        raise CaptureError(path, exc.strerror or str(exc)) from None
    try:
        info = os.fstat(raw.fileno())
    except OSError as exc:
        raw.close()
        raise CaptureError(path, exc.strerror or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raw.close()
        raise CaptureError(path, "is a directory, not a capture file")
    size = info.st_size if stat.S_ISREG(info.st_mode) else None
    return raw, size, True  # type: ignore[return-value]


def _peek(raw: BinaryIO, path: str, count: int) -> bytes:
    read = getattr(raw, "read1", raw.read)
    data = b""
    try:
        while len(data) < count:
            more = read(count - len(data))
            if not more:
                break
            data += more
    except OSError as exc:
        raise CaptureError(path, exc.strerror or str(exc)) from None
    return data


def open_source(path: str) -> ByteSource:
    """Open ``path`` (``-`` for stdin) and detect compression by magic bytes.

    gzip, bzip2 and xz are decompressed on the fly (the stdlib has them); zstd and lz4
    are recognised and refused with a message saying how to decompress.
    """
    raw, size, owned = _open_raw(path)
    try:
        head = _peek(raw, path, 6)
        if not head:
            raise CaptureError(path, "empty file" if path != "-" else "no data")
        if head.startswith(_ZSTD_MAGIC):
            raise CaptureError(path, "zstd-compressed; decompress it first (zstd -d)")
        if head.startswith(_LZ4_MAGIC):
            raise CaptureError(path, "lz4-compressed; decompress it first (lz4 -d)")
        counter = _CountingReader(raw, head)
        stream: _Readable = counter
        compression: str | None = None
        for magic, (name, decompressor) in _DECOMPRESSORS.items():
            if head.startswith(magic):
                # Reads through the counter; ByteSource.close() closes it.
                stream, compression = decompressor(counter), name
                break
        return ByteSource(path, raw, counter, stream, size, compression, owned)
    except BaseException:
        if owned:
            raw.close()
        raise
