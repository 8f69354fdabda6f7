"""``open_capture``: one entry point for every offline capture the tool reads.

The format is decided by magic bytes, never by file name: pcap (any variant), pcapng, and
either of them gzip/bzip2/xz-compressed. Everything that makes the file unreadable as a
whole is raised at once, as :class:`CaptureError`, before the first frame — so a CLI can
print one line and exit 2. Everything found later is a note and reading goes on.

Link types are passed through as the file declares them; ``capture.unknown_linktype`` is
noted by :class:`cvipsniff.packets.PacketDecoder` (once per interface and link type),
since the decoder is what knows which link types it can decode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Self

from cvipsniff.capture.errors import CaptureError
from cvipsniff.capture.pcap import GLOBAL_HEADER_SIZE, iter_pcap, parse_pcap_header, pcap_magic
from cvipsniff.capture.pcapng import iter_pcapng, pcapng_magic
from cvipsniff.capture.source import ByteSource, open_source
from cvipsniff.model import Frame, TransportNote

__all__ = ["CaptureReader", "open_capture"]

NoteCallback = Callable[[TransportNote], object]

# Other capture formats people hand us by mistake, and what to tell them.
_OTHER_FORMATS: dict[bytes, str] = {
    b"snoop\0\0\0": "a Solaris snoop capture; convert it with editcap -F pcapng",
    b"GMBU": "a Microsoft Network Monitor capture; convert it with editcap -F pcapng",
    b"XCP\0": "a NetXray/Sniffer capture; convert it with editcap -F pcapng",
}


class CaptureReader:
    """An open capture: a context manager and an iterator of :class:`Frame`.

    Frames come in file order, numbered from 1 as Wireshark numbers them. ``bytes_read``
    and ``size`` (None when unknown, e.g. stdin) drive progress bars; both count raw file
    bytes, so they compare correctly for compressed captures too. Notes about corrupt or
    truncated records go to ``on_note``, or, when none was given, collect in ``notes``.
    """

    def __init__(self, source: ByteSource, file_format: str, frames: Iterator[Frame],
                 notes: list[TransportNote]) -> None:
        self._source = source
        self._frames = frames
        self.format = file_format
        self.notes = notes

    @property
    def path(self) -> str:
        return self._source.path

    @property
    def compression(self) -> str | None:
        """"gzip", "bzip2", "xz" or None."""
        return self._source.compression

    @property
    def size(self) -> int | None:
        return self._source.size

    @property
    def bytes_read(self) -> int:
        return self._source.bytes_read

    def __iter__(self) -> Iterator[Frame]:
        # The generator itself: `for frame in reader` then costs no extra call per frame.
        return self._frames

    def __next__(self) -> Frame:
        return next(self._frames)

    def close(self) -> None:
        """Release the file. Idempotent; iteration afterwards yields nothing more."""
        close = getattr(self._frames, "close", None)
        if close is not None:
            close()
        self._source.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _not_a_capture(path: str, head: bytes, compression: str | None) -> CaptureError:
    for magic, explanation in _OTHER_FORMATS.items():
        if head.startswith(magic):
            return CaptureError(path, explanation)
    shown = " ".join(f"{b:02x}" for b in head[:8])
    what = "not a pcap or pcapng file"
    if compression:
        what = f"{compression}-compressed, but {what}"
    return CaptureError(path, f"{what} (starts with {shown})")


def open_capture(path: str, on_note: NoteCallback | None = None,
                 wanted: object | None = None, packet_type: type | None = None,
                 lane: object | None = None) -> CaptureReader:
    """Open a capture file (``-`` for stdin) for streaming.

    ``wanted``: a worker of a split's compiled ``FlowShare``: the frames of other
    workers' flows may be left out (never where the reader notes something); the frames
    that come keep their numbers in the capture.

    ``packet_type`` (:class:`cvipsniff.model.Packet`): where the compiled record walk is
    built, a record the packet decoder's fast path reads comes as that Packet (exactly
    what ``PacketDecoder.decode`` would return for its Frame, which is then never made);
    every other record still comes as its Frame. Why: the reader and the decoder were
    two Python steps and a copy of every frame's bytes on the hot path of an analysis
    (``cvipsniff.pipeline.iter_capture`` feeds Packets straight to the flow table). On
    the pure-Python path every record comes as a Frame, as without it.

    ``lane`` (with ``packet_type``; a compiled ``FastLane``, which only the compiled path
    has): the in-order segments of connections the flow table lent it are taken in the
    record walk: such a record comes as the ``(state, direction state, direction,
    events)`` its framer finished, or not at all (see ``accel/src/pylane.rs``).

    Raises :class:`CaptureError` if the file is missing, a directory, unreadable, empty
    or not a capture; never anything else.
    """
    source = open_source(path)
    try:
        collected: list[TransportNote] = []
        sink: NoteCallback = on_note if on_note is not None else collected.append

        def note(kind: str, severity: str, message: str, frame: int) -> None:
            sink(TransportNote(kind=kind, severity=severity, message=message, frame=frame))

        head = source.fill(b"", 0, GLOBAL_HEADER_SIZE)
        if not head:
            reason = source.read_error or "empty file"
            if source.compression and source.read_error is None:
                reason = f"empty {source.compression} stream"
            raise CaptureError(path, reason)
        frames: Iterator[Frame]
        if pcapng_magic(head):
            frames, file_format = iter_pcapng(source, head, note, wanted,
                                               packet_type, lane), "pcapng"
        elif pcap_magic(head):
            try:
                header = parse_pcap_header(head)
            except ValueError as exc:
                raise CaptureError(path, str(exc)) from None
            frames, file_format = iter_pcap(source, head, header, note, wanted,
                                             packet_type, lane), "pcap"
        elif source.read_error is not None and len(head) < 4:
            raise CaptureError(path, source.read_error)
        else:
            raise _not_a_capture(path, head, source.compression)
        return CaptureReader(source, file_format, frames, collected)
    except BaseException:
        source.close()
        raise
