"""The internal signal for a header that does not parse."""

from __future__ import annotations


class MalformedPacket(ValueError):
    """Raised by the header parsers of this package and caught by
    :meth:`~cvipsniff.packets.decoder.PacketDecoder.decode`, which turns it into an
    ``ip.malformed`` note. It never escapes the decoder."""
