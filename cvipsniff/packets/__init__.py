"""Packets: frames decoded through the link layer, IPv4/IPv6 (with fragment reassembly)
and TCP/UDP into :class:`~cvipsniff.model.Packet`.

    decoder = PacketDecoder(on_note=notes.append)
    for frame in reader:
        packet = decoder.decode(frame)
        ...
    decoder.flush()  # end of capture: report fragments that never completed
"""

from cvipsniff.packets.addresses import format_address
from cvipsniff.packets.decoder import SUPPORTED_LINKTYPES, PacketDecoder

__all__ = ["SUPPORTED_LINKTYPES", "PacketDecoder", "format_address"]
