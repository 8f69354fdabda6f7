"""Offline capture files: reading pcap / pcapng (optionally gzip-compressed) as a stream
of :class:`~cvipsniff.model.Frame`, and writing them back out."""

from cvipsniff.capture.writer import PcapngWriter, PcapWriter

__all__ = ["PcapWriter", "PcapngWriter"]
