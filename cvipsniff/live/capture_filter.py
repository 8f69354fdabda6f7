"""The default capture filter: the protocols' ports, and the ports the user mapped.

Capturing only what could be ours keeps the kernel doing the filtering (BPF) and Python
out of unrelated traffic. ``-f ''`` captures everything, for the heuristics to find the
protocols on ports nobody told us about.

Later IP fragments carry no ports, so a port filter alone would lose the tail of a
fragmented datagram; the filter keeps fragments (IPv4 with a fragment offset, IPv6 with a
fragment header right after the fixed header) for the reassembler to rebuild.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dissectors import registry

__all__ = ["default_capture_filter"]

_FRAGMENTS = "(ip[6:2] & 0x1fff != 0) or (ip6[6] == 44)"


def default_capture_filter(decode_as: Mapping[tuple[str, int], str] | None = None,
                           extra: Iterable[tuple[str, int]] = ()) -> str:
    """A BPF filter for every port a protocol claims by default or by ``decode_as``
    (``{("tcp", 8000): "cvip"}``), plus ``extra`` ``(transport, port)`` pairs.

    A port used on both TCP and UDP is written once as ``port N``, like tcpdump users
    write it; the result is stable (sorted) so it reads the same on every run.
    """
    tcp: set[int] = set()
    udp: set[int] = set()
    for spec in registry().values():
        tcp.update(spec.tcp_ports)
        udp.update(spec.udp_ports)
    for transport, port in [*(decode_as or {}), *extra]:
        (tcp if transport == "tcp" else udp).add(port)
    terms: list[str] = []
    for port in sorted(tcp | udp):
        if port in tcp and port in udp:
            terms.append(f"port {port}")
        elif port in tcp:
            terms.append(f"tcp port {port}")
        else:
            terms.append(f"udp port {port}")
    return " or ".join([*terms, _FRAGMENTS])
