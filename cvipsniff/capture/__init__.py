"""Offline capture files: reading pcap / pcapng (optionally gzip-compressed) as a stream
of :class:`~cvipsniff.model.Frame`, and writing them back out.

    with open_capture("x.pcapng", on_note=notes.append) as reader:
        for frame in reader:
            ...
"""

from cvipsniff.capture.errors import CaptureError
from cvipsniff.capture.reader import CaptureReader, open_capture
from cvipsniff.capture.writer import PcapngWriter, PcapWriter

__all__ = ["CaptureError", "CaptureReader", "PcapWriter", "PcapngWriter", "open_capture"]
