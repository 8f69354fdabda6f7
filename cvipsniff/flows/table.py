"""The flow table: packets in, flow events out.

Every TCP connection and UDP conversation becomes a :class:`~cvipsniff.model.Flow`,
numbered from 0 in order of first appearance, like Wireshark's ``tcp.stream`` — except
that TCP and UDP share the one numbering here (tshark numbers TCP streams and UDP
streams separately), so a flow id names a flow whatever its transport.

Roles (direction 0 is client → server)
    TCP: the SYN sender is the client (a SYN/ACK seen first makes its *receiver* the
    client). A flow whose first packet is not a SYN is ``mid_session``; its client is the
    sender of that first packet, unless that packet's source port is in ``server_ports``
    and its destination port is not (then the sender is the server). UDP: the same port
    rule applied to the first datagram.

Speed
    The in-order TCP case — a segment starting exactly at the next expected sequence
    number, nothing buffered in either direction — is handled inline in :meth:`feed`:
    one dict lookup, a few int comparisons and counter updates, and one ``StreamData``
    holding the packet's payload object as is (no copy, no join). Everything else goes to
    :class:`~cvipsniff.flows.tcp.TcpConnection`, which keeps the fast path's
    precondition (``HalfStream.fast_seq``) current.

Bounded memory
    Out-of-order buffers are capped per flow and in total (see :mod:`.tcp`). The number
    of tracked flows is capped by ``max_flows``: opening one more evicts the least
    recently active flows (closed ones first, silently; open ones with their holes given
    up as ``cap`` gaps and ``FlowClosed("evicted")``), a sixteenth of the table at a time
    so eviction costs O(log n) per new flow, not a scan each. ``remember_flows`` keeps
    every :class:`Flow` (a few hundred bytes each, with its statistics) for
    :attr:`FlowTable.flows`; pass False for long live captures so memory follows the open
    flows only.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from cvipsniff.flows.addresses import endpoint, format_ip
from cvipsniff.flows.tcp import Budget, HalfStream, TcpConnection
from cvipsniff.flows.udp import UdpConversation
from cvipsniff.model import (
    ACK,
    SYN,
    TCP,
    UDP,
    Flow,
    FlowEvent,
    FlowOpened,
    Packet,
    StreamData,
    TransportNote,
)

MIB = 1 << 20
DEFAULT_MAX_FLOW_BUFFER = 4 * MIB
DEFAULT_MAX_TOTAL_BUFFER = 256 * MIB
DEFAULT_MAX_FLOWS = 65_536
DEFAULT_HOLE_TIMEOUT_NS = 5_000_000_000
# The ACK hold (see :mod:`.tcp`): how long, in capture time, and up to how many buffered
# bytes a hole the peer ACKed past still waits for its segment to show up in the capture.
# Capture reordering spans milliseconds and a few hundred segments at most.
DEFAULT_ACK_HOLD_NS = 500_000_000
DEFAULT_ACK_HOLD_BYTES = 1 * MIB

# Fast-path flag test: ACK set, SYN/FIN/RST clear (URG/PSH/ECN bits don't matter).
_CONTROL_MASK = 0x17
_PLAIN_ACK = 0x10

Conversation = TcpConnection | UdpConversation


def _eviction_order(conv: Conversation) -> tuple[bool, int, int]:
    """Closed flows go first, then the least recently active."""
    return conv.closed is None, conv.flow.last_ts_ns, conv.flow.id


class FlowTable:
    """Sans-I/O flow tracking and TCP reassembly for one capture or live session."""

    def __init__(
        self,
        *,
        server_ports: frozenset[int] = frozenset(),
        max_flow_buffer: int = DEFAULT_MAX_FLOW_BUFFER,
        max_total_buffer: int = DEFAULT_MAX_TOTAL_BUFFER,
        max_flows: int = DEFAULT_MAX_FLOWS,
        hole_timeout_ns: int = DEFAULT_HOLE_TIMEOUT_NS,
        ack_hold_ns: int = DEFAULT_ACK_HOLD_NS,
        ack_hold_bytes: int = DEFAULT_ACK_HOLD_BYTES,
        remember_flows: bool = True,
    ) -> None:
        self.server_ports = frozenset(server_ports)
        self._budget = Budget(max_flow_buffer, max_total_buffer, hole_timeout_ns,
                              ack_hold_ns, ack_hold_bytes)
        self._max_flows = max(1, max_flows)
        self._remember = remember_flows
        self._tcp: dict[tuple, HalfStream] = {}  # (src, sport, dst, dport) → sender's half
        self._udp: dict[tuple, tuple[UdpConversation, int]] = {}
        self._live: dict[int, Conversation] = {}  # flow id → tracked conversation
        self._history: list[Flow] = []
        self._next_id = 0

    # ---- public API ------------------------------------------------------------------

    def feed(self, packet: Packet) -> list[FlowEvent]:
        """Account one decoded packet; return the events it caused (often one)."""
        if packet.transport == 6:
            half = self._tcp.get((packet.src, packet.sport, packet.dst, packet.dport))
            if (
                half is not None
                and packet.seq == half.fast_seq
                and packet.flags & _CONTROL_MASK == _PLAIN_ACK
                and packet.window
                and not packet.missing
            ):
                # In-order fast path; mirrors HalfStream._deliver (keep them in step).
                ts_ns = packet.ts_ns
                flow = half.flow
                flow.last_ts_ns = ts_ns
                half.ack = packet.ack
                stats = half.stats
                stats.packets += 1
                payload = packet.payload
                n = len(payload)
                if not n:
                    return []
                stats.bytes += n
                stats.delivered += n
                offset = half.next_offset
                half.next_offset = offset + n
                half.next_seq = half.fast_seq = (packet.seq + n) & 0xFFFFFFFF
                half.last_frame = frame = packet.frame
                return [StreamData(flow, half.direction, offset, payload, frame, ts_ns)]
            return self._tcp_slow(packet, half)
        if packet.transport == 17:
            entry = self._udp.get((packet.src, packet.sport, packet.dst, packet.dport))
            if entry is None:
                events: list[FlowEvent] = []
                conv, direction = self._open_udp(packet, events)
                events.extend(conv.receive(direction, packet))
                return events
            conv, direction = entry
            return conv.receive(direction, packet)
        return []

    def close(self) -> list[FlowEvent]:
        """End of capture: flush every open flow (holes become gaps, buffered bytes are
        delivered) and close it with ``FlowClosed("end-of-capture")``."""
        return list(self.iter_close())

    def iter_close(self) -> Iterator[FlowEvent]:
        """:meth:`close` one flow at a time, in the order the flows opened: a capture
        ending with 100,000 open flows never has all their last events alive at once."""
        events: list[FlowEvent] = []
        for flow_id in list(self._live):
            conv = self._live.pop(flow_id)
            conv.close("end-of-capture", "end-of-capture", events)
            yield from events
            events.clear()
        self._tcp.clear()
        self._udp.clear()

    def expire(self, now_ns: int, idle_ns: int) -> list[FlowEvent]:
        """Live use: forget flows idle for ``idle_ns`` or more (open ones get
        ``FlowClosed("idle")``), and apply the hole timeout to the others."""
        events: list[FlowEvent] = []
        cutoff = now_ns - idle_ns
        for conv in list(self._live.values()):
            if conv.flow.last_ts_ns <= cutoff:
                self._forget(conv)
                conv.close("idle", "lost", events)
            elif isinstance(conv, TcpConnection) and conv.buffered:
                conv.settle(now_ns, events)
        return events

    @property
    def flows(self) -> Iterator[Flow]:
        """Every flow seen, in id order (only the tracked ones if ``remember_flows`` is
        False). Statistics are live: read them after :meth:`close` for the final
        figures."""
        if self._remember:
            return iter(self._history)
        return iter(sorted((conv.flow for conv in self._live.values()), key=lambda f: f.id))

    @property
    def tracked(self) -> int:
        """Flows currently held in the table (open, or closed and still absorbing late
        packets)."""
        return len(self._live)

    @property
    def buffered(self) -> int:
        """Out-of-order buffer cost across all flows (bytes plus per-piece overhead)."""
        return self._budget.total

    # ---- TCP -------------------------------------------------------------------------

    def _tcp_slow(self, packet: Packet, half: HalfStream | None) -> list[FlowEvent]:
        events: list[FlowEvent] = []
        if half is None:
            half = self._open_tcp(packet, events)
        else:
            conn = half.conn
            if (conn.syn_is_new(half, packet) if packet.flags & SYN
                    else conn.closed is not None and conn.has_new_bytes(half, packet)):
                old = conn.flow
                self._forget(conn)
                conn.close("reused", "lost", events)
                half = self._open_tcp(packet, events)
                new = half.flow
                events.append(TransportNote(
                    "tcp.port_reuse", "info",
                    f"{old.client[0]}:{old.client[1]} ↔ {old.server[0]}:{old.server[1]} of "
                    f"flow {old.id} reused by a new connection (flow {new.id})",
                    packet.frame, new, -1))
        half.conn.receive(half, packet, events)
        return events

    def _open_tcp(self, packet: Packet, events: list[FlowEvent]) -> HalfStream:
        flags = packet.flags
        if flags & SYN:
            mid_session = False
            sender_is_client = not flags & ACK  # a SYN/ACK comes from the server
        else:
            mid_session = True
            sender_is_client = self._sender_is_client(packet)
        flow, fwd, rev = self._new_flow(TCP, packet, sender_is_client, mid_session, events)
        keys = (fwd, rev) if sender_is_client else (rev, fwd)
        conn = TcpConnection(flow, self._budget, keys)
        self._live[flow.id] = conn
        client, server = conn.halves
        self._tcp[keys[1]] = server
        self._tcp[keys[0]] = client
        events.append(FlowOpened(flow))
        return client if sender_is_client else server

    # ---- UDP -------------------------------------------------------------------------

    def _open_udp(self, packet: Packet,
                  events: list[FlowEvent]) -> tuple[UdpConversation, int]:
        sender_is_client = self._sender_is_client(packet)
        flow, fwd, rev = self._new_flow(UDP, packet, sender_is_client, False, events)
        keys = (fwd, rev) if sender_is_client else (rev, fwd)
        conv = UdpConversation(flow, keys)
        self._live[flow.id] = conv
        self._udp[keys[1]] = (conv, 1)
        self._udp[keys[0]] = (conv, 0)
        events.append(FlowOpened(flow))
        return conv, 0 if sender_is_client else 1

    # ---- flows -----------------------------------------------------------------------

    def _sender_is_client(self, packet: Packet) -> bool:
        ports = self.server_ports
        return not (packet.sport in ports and packet.dport not in ports)

    def _new_flow(self, transport: str, packet: Packet, sender_is_client: bool,
                  mid_session: bool, events: list[FlowEvent]) -> tuple[Flow, tuple, tuple]:
        if len(self._live) >= self._max_flows:
            self._evict(events)
        # A server's endpoint is one shared tuple across its flows; a client's is its own.
        ports = self.server_ports
        src = (endpoint(packet.src, packet.sport) if packet.sport in ports
               else (format_ip(packet.src), packet.sport))
        dst = (endpoint(packet.dst, packet.dport) if packet.dport in ports
               else (format_ip(packet.dst), packet.dport))
        client, server = (src, dst) if sender_is_client else (dst, src)
        flow = Flow(self._next_id, transport, client, server, packet.frame, packet.ts_ns,
                    packet.ts_ns, mid_session)
        self._next_id += 1
        if self._remember:
            self._history.append(flow)
        fwd = (packet.src, packet.sport, packet.dst, packet.dport)
        rev = (packet.dst, packet.dport, packet.src, packet.sport)
        return flow, fwd, rev

    def _evict(self, events: list[FlowEvent]) -> None:
        count = max(1, self._max_flows // 16)
        for conv in heapq.nsmallest(count, self._live.values(), key=_eviction_order):
            self._forget(conv)
            conv.close("evicted", "cap", events)

    def _forget(self, conv: Conversation) -> None:
        """Remove a conversation's keys (those still pointing at it) and its entry."""
        self._live.pop(conv.flow.id, None)
        if isinstance(conv, TcpConnection):
            for key in conv.keys:
                half = self._tcp.get(key)
                if half is not None and half.conn is conv:
                    del self._tcp[key]
        else:
            for key in conv.keys:
                entry = self._udp.get(key)
                if entry is not None and entry[0] is conv:
                    del self._udp[key]
