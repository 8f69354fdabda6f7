"""The statistics-only path of ``cvipsniff flows``: a whole-file pass that may decline.

``flows`` needs per flow only counters, times, roles and how it closed, yet the reference
(reader → :class:`~cvipsniff.packets.PacketDecoder` → :class:`~cvipsniff.flows.FlowTable`)
builds a Frame, a Packet and a flow event per packet, about 2 µs each. For a *plain*
classic pcap or pcapng file — every frame on the decoder's fast path (or one it drops
without a note: ARP, ICMP...), time never going backwards, every TCP segment exactly
where its receiver expects it — the compiled accelerator's
``flow_stats`` counts the same figures in one pass over the file
(``accel/src/flowstats.rs`` says exactly what it takes as plain). For anything else it
declines (None) and the caller runs the reference over the whole file, so the output is
always the reference's; on the pure-Python path this always declines.

A plain capture gives the reference no note, gap, retransmission or buffer to report, so
``--notes`` adds nothing to it either.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection, Iterable, Iterator

from cvipsniff.flows.addresses import endpoint, format_ip
from cvipsniff.flows.table import DEFAULT_CLOSED_LINGER_NS, DEFAULT_MAX_FLOWS
from cvipsniff.model import TCP, UDP, DirectionStats, Flow
from cvipsniff.timestamps import END_TS_NS, MIN_TS_NS
from dissectors.accel import accelerated

__all__ = ["plain_flows"]


def _decline(_path: str, _server_ports: list[int], _max_flows: int, _linger_ns: int,
             _min_ts: int, _end_ts: int) -> Iterable[tuple] | None:
    """The pure-Python stand-in: always the reference."""
    return None


# path, server ports, max flows, TIME-WAIT, time range -> rows (see _flows), or None.
_FlowStats = Callable[[str, list[int], int, int, int, int], Iterable[tuple] | None]
_flow_stats: _FlowStats = accelerated("flow_stats", _decline)


def plain_flows(path: str, server_ports: Collection[int], *,
                max_flows: int = DEFAULT_MAX_FLOWS,
                closed_linger_ns: int = DEFAULT_CLOSED_LINGER_NS) -> Iterator[Flow] | None:
    """The flows a :class:`~cvipsniff.flows.FlowTable` with these ``server_ports``,
    ``max_flows`` and ``closed_linger_ns`` (other limits default) would list after reading
    ``path`` through the reference pipeline (equal objects, in id order, built one at a
    time as they are consumed), or None where the fast pass declines (any capture but a
    plain, uncompressed classic pcap or pcapng regular file; stdin, pipes; the pure-Python
    path). The
    whole file is read before this returns. Time never goes backwards in a capture this
    answers for, so the flows are also in the order of their first packets' times."""
    if path == "-" or max_flows < 1 or closed_linger_ns < 0 or not _regular_file(path):
        return None
    rows = _flow_stats(path, sorted(server_ports), max_flows, closed_linger_ns, MIN_TS_NS,
                       END_TS_NS)
    if rows is None:
        return None
    return _flows(rows, frozenset(server_ports))


def _regular_file(path: str) -> bool:
    """Only a regular file can be read twice (a declined pass, then the reference): not a
    pipe, FIFO or device (``-r /dev/stdin``, ``-r <(zcat f.pcap.gz)``)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _flows(rows: Iterable[tuple], ports: frozenset[int]) -> Iterator[Flow]:
    """The compiled pass's rows — (tcp, client address, client port, server address,
    server port, first frame, first ts, last ts, mid_session, closed, (packets, bytes,
    delivered) client→server, the same server→client) — as Flows, ids in order."""
    for flow_id, row in enumerate(rows):
        (tcp, client_ip, client_port, server_ip, server_port, first_frame, first_ts,
         last_ts, mid_session, closed, a, b) = row
        yield Flow(
            flow_id, TCP if tcp else UDP, _endpoint(client_ip, client_port, ports),
            _endpoint(server_ip, server_port, ports), first_frame, first_ts, last_ts,
            mid_session, closed, (DirectionStats(*a), DirectionStats(*b)))


def _endpoint(raw: bytes, port: int, server_ports: frozenset[int]) -> tuple[str, int]:
    """As :meth:`FlowTable._endpoints`: a server's endpoint is one shared tuple."""
    return endpoint(raw, port) if port in server_ports else (format_ip(raw), port)
