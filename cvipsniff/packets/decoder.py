"""Frame → :class:`~cvipsniff.model.Packet`: link layer, IP (with fragment reassembly),
then TCP or UDP.

This is the hot path of the tool, so it is plain code over the frame's bytes: one
``struct.unpack_from`` per header with precompiled structs, no intermediate objects
besides the returned Packet, addresses kept as the raw bytes the struct hands back.
Anything that does not parse raises :class:`MalformedPacket` internally and comes out as
an ``ip.malformed`` note; :meth:`PacketDecoder.decode` never raises.

Lengths come from the IP header, not the frame: Ethernet padding is trimmed, and bytes
the IP header announces but the capture lacks (snaplen) are counted in ``missing``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from cvipsniff.model import LINKTYPE_ETHERNET, Frame, Packet, TransportNote
from cvipsniff.packets.errors import MalformedPacket
from cvipsniff.packets.fragments import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DATAGRAMS,
    DEFAULT_TIMEOUT_NS,
    FragmentTable,
)
from cvipsniff.packets.ip import (
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPV4_HEADER,
    IPV6_EXTENSIONS,
    IPV6_HEADER,
    ipv6_extensions,
)
from cvipsniff.packets.link import ETHERTYPE_IPV4, ETHERTYPE_IPV6, LINK_LAYERS
from dissectors.accel import accelerated

__all__ = ["SUPPORTED_LINKTYPES", "PacketDecoder"]

SUPPORTED_LINKTYPES = frozenset(LINK_LAYERS)

_TCP_HEADER = struct.Struct("!HHIIBBH")  # ports, seq, ack, data offset, flags, window
_UDP_HEADER = struct.Struct("!HHH")  # ports, length
# What the fast path needs from a 54-byte Ethernet + IPv4 (no options) + TCP prefix, in
# one unpack: EtherType; IPv4 version/IHL, total length, flags/fragment offset, protocol,
# source, destination; TCP ports, seq, ack, data offset, flags, window.
_ETHERNET_IPV4_TRANSPORT = struct.Struct("!12xHBxH2xH1xB2x4s4sHHIIBBH").unpack_from
_IPV4_FRAGMENT_BITS = 0x3FFF  # MF flag and fragment offset
_IPV4_MORE_FRAGMENTS = 0x2000

NoteCallback = Callable[[TransportNote], object]


def _fast_packet(packet_type: type[Packet], frame: Frame) -> Packet | None:
    """The decoder's fast path, for the shape nearly every frame has: Ethernet, IPv4
    without options, not a fragment, complete in the frame, TCP or UDP with consistent
    lengths. One unpack reads Ethernet, IPv4 and the first 20 transport bytes at their
    fixed offsets. None for anything else, which takes the general path; that gives the
    same result for these frames (tests/test_packets_robustness.py checks both claims).
    The compiled twin (``fast_packet`` of the accelerator) answers exactly the same."""
    number, ts_ns, _caplen, _origlen, linktype, data, _interface = frame
    if linktype == LINKTYPE_ETHERNET and len(data) >= 54:
        (ethertype, version_ihl, total_length, fragment, protocol, src, dst, sport, dport,
         seq, ack, offset_byte, flags, window) = _ETHERNET_IPV4_TRANSPORT(data, 0)
        if (ethertype == ETHERTYPE_IPV4 and version_ihl == 0x45
                and not fragment & _IPV4_FRAGMENT_BITS
                and 40 <= total_length <= len(data) - 14):
            end = 14 + total_length
            if protocol == IPPROTO_TCP:
                header_length = (offset_byte >> 4) << 2
                if 20 <= header_length <= total_length - 20:
                    return packet_type(number, ts_ns, 4, src, dst, IPPROTO_TCP, sport, dport,
                                       data[34 + header_length : end], 0, seq, ack,
                                       flags | (offset_byte & 1) << 8, window, (), ())
            # For UDP the "seq" field holds the UDP length (high half) and checksum.
            elif protocol == IPPROTO_UDP and seq >> 16 == total_length - 20:
                return packet_type(number, ts_ns, 4, src, dst, IPPROTO_UDP, sport, dport,
                                   data[42:end], 0, 0, 0, 0, 0, (), ())
    return None


_fast = accelerated("fast_packet", _fast_packet)


class PacketDecoder:
    """Decodes frames to TCP/UDP packets; keeps only fragment reassembly state.

    Returns None for whatever is not TCP or UDP over IP (ARP, ICMP, ESP, ...) without a
    note, for a fragment that does not yet complete its datagram, and for malformed
    headers (with an ``ip.malformed`` note). Frames of a link type it does not know get
    one ``capture.unknown_linktype`` note per (interface, link type).
    Notes go to ``on_note``, or collect in :attr:`notes` when none is given.
    """

    def __init__(
        self,
        on_note: NoteCallback | None = None,
        *,
        fragment_timeout_ns: int = DEFAULT_TIMEOUT_NS,
        max_fragment_datagrams: int = DEFAULT_MAX_DATAGRAMS,
        max_fragment_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.notes: list[TransportNote] = []
        self._sink: NoteCallback = on_note if on_note is not None else self.notes.append
        self._links = dict(LINK_LAYERS)
        self._unknown_linktypes: set[tuple[int, int]] = set()
        self._fragments = FragmentTable(
            self._note,
            timeout_ns=fragment_timeout_ns,
            max_datagrams=max_fragment_datagrams,
            max_bytes=max_fragment_bytes,
        )

    def _note(self, kind: str, severity: str, message: str, frame: int) -> None:
        self._sink(TransportNote(kind=kind, severity=severity, message=message, frame=frame))

    @property
    def pending_fragments(self) -> int:
        """Datagrams waiting for more fragments."""
        return len(self._fragments)

    def decode(self, frame: Frame) -> Packet | None:
        """The TCP/UDP packet in ``frame``, or None (see the class docstring)."""
        packet = _fast(Packet, frame)
        return packet if packet is not None else self.decode_general(frame)

    def decode_general(self, frame: Frame) -> Packet | None:
        """:meth:`decode` without its fast path: every link type and IP shape."""
        parse_link = self._links.get(frame.linktype)
        if parse_link is None:
            self._unknown_linktype(frame)
            return None
        data = frame.data
        try:
            ethertype, offset, vlans = parse_link(data)
            if ethertype == ETHERTYPE_IPV4:
                return self._ipv4(frame, data, offset, vlans)
            if ethertype == ETHERTYPE_IPV6:
                return self._ipv6(frame, data, offset, vlans)
            return None
        except MalformedPacket as exc:
            self._note("ip.malformed", "warning", f"frame {frame.number}: {exc}", frame.number)
        except Exception as exc:  # a decoder bug must not stop the capture; say so
            self._note("ip.malformed", "error",
                       f"frame {frame.number}: packet decoder error {exc!r}", frame.number)
        return None

    def flush(self, now_ns: int | None = None) -> None:
        """Report fragments that will not complete: with ``now_ns``, those timed out at
        that capture time (for live capture); without, all of them (end of capture)."""
        if now_ns is None:
            self._fragments.flush()
        else:
            self._fragments.expire(now_ns)

    # ---- network layer -------------------------------------------------------------

    def _ipv4(self, frame: Frame, data: bytes, offset: int, vlans: tuple[int, ...]
              ) -> Packet | None:
        captured = len(data) - offset
        if captured < 20:
            raise MalformedPacket(f"IPv4 header cut short ({captured} bytes)")
        (version_ihl, _tos, total_length, identification, fragment, _ttl, protocol,
         _checksum, src, dst) = IPV4_HEADER.unpack_from(data, offset)
        header_length = (version_ihl & 0x0F) << 2
        if version_ihl >> 4 != 4:
            raise MalformedPacket(f"IP version {version_ihl >> 4} in an IPv4 packet")
        if header_length < 20:
            raise MalformedPacket(f"IPv4 header length {header_length} is below 20")
        if total_length == 0:
            total_length = captured  # TCP segmentation offload: the NIC fills it in later
        if total_length < header_length:
            raise MalformedPacket(
                f"IPv4 total length {total_length} is below its header length {header_length}")
        if header_length > captured:
            raise MalformedPacket(f"IPv4 options cut short ({captured} of {header_length})")
        if protocol != IPPROTO_TCP and protocol != IPPROTO_UDP:
            return None
        end = offset + total_length
        missing = end - len(data)
        if missing > 0:
            self._check_cut(frame, missing, "IPv4 total length")
            end = len(data)
        else:
            missing = 0  # the frame holds it all; anything after `end` is link padding
        start = offset + header_length
        if fragment & _IPV4_FRAGMENT_BITS:
            done = self._fragments.add(
                (4, src, dst, protocol, identification), (fragment & 0x1FFF) << 3,
                bool(fragment & _IPV4_MORE_FRAGMENTS), data[start:end], missing,
                frame.number, frame.ts_ns, protocol)
            if done is None:
                return None
            payload, missing, frames, _protocol = done
            return self._transport(frame, 4, src, dst, protocol, payload, 0, len(payload),
                                   missing, vlans, frames)
        return self._transport(frame, 4, src, dst, protocol, data, start, end, missing,
                               vlans, ())

    def _ipv6(self, frame: Frame, data: bytes, offset: int, vlans: tuple[int, ...]
              ) -> Packet | None:
        captured = len(data) - offset
        if captured < 40:
            raise MalformedPacket(f"IPv6 header cut short ({captured} bytes)")
        version_class_flow, payload_length, next_header, _hops, src, dst = (
            IPV6_HEADER.unpack_from(data, offset))
        if version_class_flow >> 28 != 6:
            raise MalformedPacket(f"IP version {version_class_flow >> 28} in an IPv6 packet")
        start = offset + 40
        if payload_length == 0:
            payload_length = captured - 40  # jumbogram or segmentation offload
        end = start + payload_length
        missing = end - len(data)
        if missing > 0:
            self._check_cut(frame, missing, "IPv6 payload length")
            end = len(data)
        else:
            missing = 0
        protocol = next_header
        if protocol != IPPROTO_TCP and protocol != IPPROTO_UDP:
            protocol, start, fragment_offset, more, identification = ipv6_extensions(
                data, start, end, next_header)
            if fragment_offset >= 0:
                if protocol != IPPROTO_TCP and protocol != IPPROTO_UDP and (
                        protocol not in IPV6_EXTENSIONS):
                    return None
                done = self._fragments.add(
                    (6, src, dst, identification), fragment_offset, more, data[start:end],
                    missing, frame.number, frame.ts_ns, protocol)
                if done is None:
                    return None
                payload, missing, frames, first_header = done
                protocol, start, fragment_offset, _more, _ident = ipv6_extensions(
                    payload, 0, len(payload), first_header)
                if fragment_offset >= 0:
                    raise MalformedPacket("IPv6 fragment header inside a reassembled datagram")
                if protocol != IPPROTO_TCP and protocol != IPPROTO_UDP:
                    return None
                return self._transport(frame, 6, src, dst, protocol, payload, start,
                                       len(payload), missing, vlans, frames)
            if protocol != IPPROTO_TCP and protocol != IPPROTO_UDP:
                return None
        return self._transport(frame, 6, src, dst, protocol, data, start, end, missing,
                               vlans, ())

    def _check_cut(self, frame: Frame, missing: int, what: str) -> None:
        """Bytes announced by the IP header but absent: fine when snaplen cut the frame;
        otherwise the header lies, which is worth a note (the bytes count as missing)."""
        if frame.origlen - frame.caplen < missing:
            self._note("ip.malformed", "warning",
                       f"frame {frame.number}: {what} announces {missing} more bytes than "
                       "the frame carried on the wire", frame.number)

    # ---- transport layer -----------------------------------------------------------

    def _transport(self, frame: Frame, version: int, src: bytes, dst: bytes, protocol: int,
                   data: bytes, start: int, end: int, missing: int, vlans: tuple[int, ...],
                   frames: tuple[int, ...]) -> Packet | None:
        """TCP or UDP segment in ``data[start:end]``; ``missing`` bytes of it were on the
        wire after ``end`` but not captured."""
        length = end - start
        if protocol == IPPROTO_TCP:
            if length < 20:
                raise MalformedPacket(self._short("TCP", length, missing))
            sport, dport, seq, ack, offset_byte, flags, window = _TCP_HEADER.unpack_from(
                data, start)
            header_length = (offset_byte >> 4) << 2
            if header_length < 20:
                raise MalformedPacket(f"TCP data offset {header_length} is below 20")
            if header_length > length:
                if header_length > length + missing:
                    raise MalformedPacket(
                        f"TCP data offset {header_length} exceeds the segment ({length} bytes)")
                # Options cut by snaplen: no payload captured, all of it missing.
                missing -= header_length - length
                header_length = length
            return Packet(frame.number, frame.ts_ns, version, src, dst, IPPROTO_TCP, sport,
                          dport, data[start + header_length : end], missing, seq, ack,
                          flags | (offset_byte & 1) << 8, window, frames, vlans)
        if length < 8:
            raise MalformedPacket(self._short("UDP", length, missing))
        sport, dport, udp_length = _UDP_HEADER.unpack_from(data, start)
        wire_length = length + missing
        if udp_length < wire_length and udp_length >= 8:
            # The UDP length is authoritative inside the IP payload: trim what follows.
            if udp_length <= length:
                end, missing = start + udp_length, 0
            else:
                missing = udp_length - length
        elif udp_length > wire_length:
            self._note("ip.malformed", "warning",
                       f"frame {frame.number}: UDP length {udp_length} exceeds the "
                       f"{wire_length} bytes the IP header gives it", frame.number)
        elif 0 < udp_length < 8:
            self._note("ip.malformed", "warning",
                       f"frame {frame.number}: UDP length {udp_length} is below 8",
                       frame.number)
        return Packet(frame.number, frame.ts_ns, version, src, dst, IPPROTO_UDP, sport, dport,
                      data[start + 8 : end], missing, 0, 0, 0, 0, frames, vlans)

    @staticmethod
    def _short(what: str, length: int, missing: int) -> str:
        if missing:
            return f"{what} header not captured (snaplen): {length} bytes present"
        return f"{what} header cut short ({length} bytes)"

    def _unknown_linktype(self, frame: Frame) -> None:
        key = (frame.interface, frame.linktype)
        if key in self._unknown_linktypes:
            return
        self._unknown_linktypes.add(key)
        self._note("capture.unknown_linktype", "warning",
                   f"interface {frame.interface}: link type {frame.linktype} is not decoded "
                   f"(first seen in frame {frame.number}); its frames are skipped",
                   frame.number)
