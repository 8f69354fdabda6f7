"""Writers for classic pcap and pcapng, the two formats every capture tool reads.

Used by live capture's ``-w`` write-through and by the capture synthesizer. Both write
little-endian files (what libpcap and dumpcap write on the machines we run on) and take
:class:`~cvipsniff.model.Frame` values, so a frame read from one capture can be written
to another unchanged.

Ownership: a writer given an open binary file object never closes it (the caller opened
it, the caller closes it — like :class:`gzip.GzipFile` with ``fileobj``); a writer given
a path opens the file itself and closes it on :meth:`close`.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO, Self

from cvipsniff.model import Frame

__all__ = ["PcapWriter", "PcapngWriter"]

PCAP_MAGIC_USEC = 0xA1B2C3D4
PCAP_MAGIC_NSEC = 0xA1B23C4D
DEFAULT_SNAPLEN = 262144

# pcapng block types and option codes (draft-ietf-opsawg-pcapng).
BT_SHB = 0x0A0D0D0A
BT_IDB = 0x00000001
BT_EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_ENDOFOPT = 0
SHB_USERAPPL = 4
IF_TSRESOL = 9

_PCAP_GLOBAL_HEADER = struct.Struct("<IHHiIII")
_PCAP_RECORD_HEADER = struct.Struct("<IIII")
_EPB_HEADER = struct.Struct("<IIIIIII")  # type, length, if id, ts high, ts low, caplen, origlen
_U32 = struct.Struct("<I")

Destination = BinaryIO | str | os.PathLike[str]


def _open(dest: Destination) -> tuple[BinaryIO, bool]:
    """Return (file object, whether we own it and must close it)."""
    if isinstance(dest, str | os.PathLike):
        return open(dest, "wb"), True  # closed by the writer's close()
    return dest, False


def _pad4(length: int) -> int:
    return -length % 4


def _option(code: int, value: bytes) -> bytes:
    """One pcapng option: code, length, value padded to 32 bits."""
    return struct.pack("<HH", code, len(value)) + value + b"\0" * _pad4(len(value))


def _block(block_type: int, body: bytes) -> bytes:
    """A pcapng block: the total length appears before and after the body."""
    total = 12 + len(body)
    return struct.pack("<II", block_type, total) + body + _U32.pack(total)


class _Writer:
    """Shared plumbing: ownership of the file object, close, context manager."""

    def __init__(self, dest: Destination) -> None:
        self._file, self._owned = _open(dest)
        self.closed = False
        self.frames_written = 0

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("write to a closed capture writer")

    def flush(self) -> None:
        """Push buffered records to the file (live capture calls this so a reader of
        the growing file sees whole records)."""
        if not self.closed:
            self._file.flush()

    def close(self) -> None:
        """Flush; close the file only if this writer opened it. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self._file.flush()
        if self._owned:
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PcapWriter(_Writer):
    """Classic libpcap format: one link type and one snaplen for the whole file.

    ``nanosecond=True`` writes the nanosecond magic (``a1b23c4d``) so timestamps keep full
    precision; otherwise they are truncated to microseconds as libpcap does. Frame data
    longer than ``snaplen`` is cut to it, with the original length kept.
    """

    def __init__(
        self,
        fileobj: Destination,
        linktype: int,
        snaplen: int = DEFAULT_SNAPLEN,
        nanosecond: bool = False,
    ) -> None:
        if not 0 < snaplen <= 0xFFFFFFFF:
            raise ValueError(f"snaplen out of range: {snaplen}")
        super().__init__(fileobj)
        self.linktype = linktype
        self.snaplen = snaplen
        self.nanosecond = nanosecond
        magic = PCAP_MAGIC_NSEC if nanosecond else PCAP_MAGIC_USEC
        self._file.write(_PCAP_GLOBAL_HEADER.pack(magic, 2, 4, 0, 0, snaplen, linktype))

    def write(self, frame: Frame) -> None:
        """Append one frame. Its link type must be the file's: pcap has only one."""
        self._check_open()
        if frame.linktype != self.linktype:
            raise ValueError(
                f"frame {frame.number} has link type {frame.linktype}, "
                f"this pcap file is link type {self.linktype}"
            )
        seconds, fraction_ns = divmod(frame.ts_ns, 1_000_000_000)
        if not 0 <= seconds <= 0xFFFFFFFF:
            raise ValueError(f"frame {frame.number}: timestamp not representable in pcap")
        fraction = fraction_ns if self.nanosecond else fraction_ns // 1000
        data = frame.data[: self.snaplen]
        origlen = max(frame.origlen, len(data))
        self._file.write(_PCAP_RECORD_HEADER.pack(seconds, fraction, len(data), origlen))
        self._file.write(data)
        self.frames_written += 1


class PcapngWriter(_Writer):
    """pcapng with one section; an Interface Description Block is added the first time a
    frame arrives for a new (interface, link type, snaplen), so frames of several link
    types (or several source interfaces) can share a file.

    Timestamps are written in nanoseconds (``if_tsresol`` = 9) unless ``nanosecond`` is
    False, in which case the pcapng default of microseconds applies. ``frame.interface``
    of the frames read back from the file is the index of the IDB, which equals the
    source interface when frames are written in their original order from one file.
    """

    def __init__(
        self,
        fileobj: Destination,
        snaplen: int = DEFAULT_SNAPLEN,
        nanosecond: bool = True,
        application: str = "cvipsniff",
    ) -> None:
        if not 0 <= snaplen <= 0xFFFFFFFF:
            raise ValueError(f"snaplen out of range: {snaplen}")
        super().__init__(fileobj)
        self.snaplen = snaplen
        self.nanosecond = nanosecond
        self._interfaces: dict[tuple[int, int, int], int] = {}
        options = b""
        if application:
            options = _option(SHB_USERAPPL, application.encode()) + _option(OPT_ENDOFOPT, b"")
        # Section length -1: unknown, so readers never rely on it to skip the section.
        shb_body = struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + options
        self._file.write(_block(BT_SHB, shb_body))

    def _interface_id(self, interface: int, linktype: int, snaplen: int) -> int:
        key = (interface, linktype, snaplen)
        found = self._interfaces.get(key)
        if found is not None:
            return found
        if not 0 <= linktype <= 0xFFFF:
            raise ValueError(f"link type out of range for pcapng: {linktype}")
        options = b""
        if self.nanosecond:
            options = _option(IF_TSRESOL, b"\x09") + _option(OPT_ENDOFOPT, b"")
        body = struct.pack("<HHI", linktype, 0, snaplen) + options
        self._file.write(_block(BT_IDB, body))
        new_id = len(self._interfaces)
        self._interfaces[key] = new_id
        return new_id

    def write(self, frame: Frame, snaplen: int | None = None) -> None:
        """Append one frame as an Enhanced Packet Block. ``snaplen`` overrides the
        writer's default for this frame's interface (0 means unlimited in pcapng)."""
        self._check_open()
        limit = self.snaplen if snaplen is None else snaplen
        if frame.ts_ns < 0:
            raise ValueError(f"frame {frame.number}: negative timestamp")
        ts = frame.ts_ns if self.nanosecond else frame.ts_ns // 1000
        if ts > 0xFFFFFFFFFFFFFFFF:
            raise ValueError(f"frame {frame.number}: timestamp not representable in pcapng")
        if_id = self._interface_id(frame.interface, frame.linktype, limit)
        data = frame.data[:limit] if limit else frame.data
        origlen = max(frame.origlen, len(data))
        padding = _pad4(len(data))
        total = _EPB_HEADER.size + len(data) + padding + 4
        self._file.write(
            _EPB_HEADER.pack(
                BT_EPB, total, if_id, ts >> 32, ts & 0xFFFFFFFF, len(data), origlen
            )
        )
        self._file.write(data)
        self._file.write(b"\0" * padding + _U32.pack(total))
        self.frames_written += 1
