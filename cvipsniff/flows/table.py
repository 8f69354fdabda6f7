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
    up as ``cap`` gaps and ``FlowClosed("evicted")``), a sixteenth of the table at a time.
    The order is kept by a heap of ``(open, last activity, id)`` keys with lazy deletion
    (a key is pushed when a flow opens and whenever its key goes down: it closed, or a
    packet came with an earlier timestamp than the flow's last; a popped key that is out
    of date is pushed again as it now is), so an eviction pops about as many keys as it
    evicts instead of ranking the whole table: the victims and their order are exactly
    those of sorting every tracked flow by that key. ``remember_flows`` keeps every
    :class:`Flow` (a few hundred bytes each, with its statistics) for
    :attr:`FlowTable.flows`; pass False for long live captures so memory follows the open
    flows only.

Handshake records (``handshake_records``, on by default when ``remember_flows`` is False)
    Most flows of a scan or a SYN flood never carry a byte, yet each full connection is a
    :class:`Flow`, two statistics, a :class:`TcpConnection`, two :class:`HalfStream`
    objects and their buffers: about ten objects that the cyclic garbage collector walks
    again and again while the flow waits in the table (with a million SYN-only flows that
    walk was two thirds of the run time). So a TCP flow whose packets so far are all
    *quiet* is kept as one flat tuple of plain values instead: its id (reserved at its
    first packet, so ids still follow first appearance), its first packet's addresses and
    ports, and its packets' header fields (at most :data:`HANDSHAKE_PACKETS` of them). A
    packet is quiet when it carries no byte (none captured, none cut), has neither FIN
    nor RST, is not a SYN that the full path would call a retransmission or a new
    connection (a SYN is quiet only on a flow opened by a SYN, from a direction that has
    sent nothing and whose ISN no SYN/ACK has given yet), and no global buffer cap is
    exceeded (the full path would note it on this packet): exactly the packets on which
    the full path changes nothing but counters and handshake state and emits no event.
    The first packet that is not quiet *promotes* the record: the full connection is
    built and the stored packets are fed to it through the ordinary code (so every
    sequence number, window flag and counter is what the full path holds; they cannot
    emit events, and any would be handed on, not dropped), then the packet itself. A
    record that is evicted, expired or still open at the end of the capture becomes its
    :class:`Flow` only then, with the statistics the full path would have counted (one
    packet a direction per packet, no bytes), and is closed like any flow. The one
    visible difference: ``FlowOpened`` comes when a flow is promoted (before any other
    event of it), not with its first packet, and a flow closed while still a record has
    its ``FlowClosed`` only (announcing a flow in the same breath as its end would only
    make every consumer build state for it and drop it at once, a million times in a SYN
    flood). Every other event, its order, the ids, statistics, eviction order and close
    reasons are the full path's. Consumers that need ``FlowOpened`` with the first packet
    (the flow split of :mod:`cvipsniff.split` numbers flows by it) turn the records off
    before feeding.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from heapq import heapify, heappop, heappush
from typing import Any

from cvipsniff.flows.addresses import endpoint, format_ip
from cvipsniff.flows.tcp import Budget, HalfStream, TcpConnection
from cvipsniff.flows.udp import UdpConversation
from cvipsniff.model import (
    ACK,
    FIN,
    RST,
    SYN,
    TCP,
    UDP,
    DirectionStats,
    Flow,
    FlowClosed,
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
# How long a closed TCP connection stays in the table after its last packet, to take
# retransmissions of its last segments: twice the maximum segment lifetime (RFC 9293's
# MSL is 2 minutes), the TIME-WAIT of the specification. A packet of its 4-tuple after
# that is a new connection, as it would be for the hosts.
DEFAULT_CLOSED_LINGER_NS = 240_000_000_000
DEFAULT_HOLE_TIMEOUT_NS = 5_000_000_000
# The ACK hold (see :mod:`.tcp`): how long, in capture time, and up to how many buffered
# bytes a hole the peer ACKed past still waits for its segment to show up in the capture.
# Capture reordering spans milliseconds and a few hundred segments at most.
DEFAULT_ACK_HOLD_NS = 500_000_000
DEFAULT_ACK_HOLD_BYTES = 1 * MIB

# Fast-path flag test: ACK set, SYN/FIN/RST clear (URG/PSH/ECN bits don't matter).
_CONTROL_MASK = 0x17
_PLAIN_ACK = 0x10
# A handshake record holds at most this many packets (SYN, SYN/ACK, ACK and one more);
# the next quiet packet promotes it, so a record's size is bounded.
HANDSHAKE_PACKETS = 4
_UNQUIET = FIN | RST
_NO_CAP = 1 << 62  # the total buffer cap while a record's packets are fed again

Conversation = TcpConnection | UdpConversation
# A handshake record (see the module docstring): one flat tuple of plain values, (flow
# id, src, sport, dst, dport of the first packet) then per packet (frame, ts_ns, seq,
# ack, flags, window, sent in the first packet's direction). Flat, because the garbage
# collector stops tracking a tuple of untracked values at its first pass over it, while
# a nested one stays tracked (and counted towards full collections) a pass per level.
Handshake = tuple
_ID = 0
_HEAD = 5  # fields before the first packet's
_FRAME, _TS, _SEQ, _ACK, _FLAGS, _WINDOW, _FORWARD = range(7)
_FIELDS = 7  # per packet
_LAST_TS = _TS - _FIELDS  # the last packet's time, from the end


def _hand_packets(hand: Handshake) -> list[tuple]:
    """A record's packets, each (frame, ts_ns, seq, ack, flags, window, forward)."""
    return [hand[i:i + _FIELDS] for i in range(_HEAD, len(hand), _FIELDS)]


def _hand_keys(hand: Handshake) -> tuple[tuple, tuple]:
    """The table keys of a record's first packet's direction and of the other one."""
    src, sport, dst, dport = hand[1:_HEAD]
    return (src, sport, dst, dport), (dst, dport, src, sport)


def _eviction_order(conv: Conversation | Handshake) -> tuple[bool, int, int]:
    """Closed flows go first, then the least recently active (a handshake record is
    open, and active at its last packet)."""
    if type(conv) is tuple:
        return True, conv[_LAST_TS], conv[_ID]
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
        handshake_records: bool | None = None,
        closed_linger_ns: int = DEFAULT_CLOSED_LINGER_NS,
        lane: Any = None,
    ) -> None:
        """``handshake_records``: keep quiet TCP flows as plain tuples until they carry
        something (module docstring); None: on when ``remember_flows`` is False (a
        remembered flow must be one :class:`Flow` from its first packet on).

        ``lane``: a compiled ``FastLane`` (``accel/src/pylane.rs``) the reader's record
        walk shares: see :meth:`lend`."""
        self.server_ports = frozenset(server_ports)
        self._budget = Budget(max_flow_buffer, max_total_buffer, hole_timeout_ns,
                              ack_hold_ns, ack_hold_bytes)
        self._max_flows = max(1, max_flows)
        self._remember = remember_flows
        self._tcp: dict[tuple, HalfStream] = {}  # (src, sport, dst, dport) → sender's half
        self._udp: dict[tuple, tuple[UdpConversation, int]] = {}
        self._live: dict[int, Conversation | Handshake] = {}  # flow id → tracked flow
        self._history: list[Flow] = []
        self._next_id = 0
        # (Never with a negative per-flow cap: every packet would then be over it.)
        self.handshake_records = (not remember_flows if handshake_records is None
                                  else handshake_records and not remember_flows) \
            and max_flow_buffer >= 0
        self._hands: dict[tuple, Handshake] = {}  # both keys → the flow's record
        # Eviction keys (see the module docstring): every tracked flow has one here no
        # greater than its current key.
        self._order: list[tuple[bool, int, int]] = []
        # Closed connections by (last packet time, id), oldest first (see _retire).
        self._linger = closed_linger_ns
        self._closing: deque[tuple[int, int]] = deque()
        self._lane = lane

    # ---- public API ------------------------------------------------------------------

    def feed(self, packet: Packet) -> list[FlowEvent]:
        """Account one decoded packet; return the events it caused (often one)."""
        if packet.transport == 6:
            key = (packet.src, packet.sport, packet.dst, packet.dport)
            half = self._tcp.get(key)
            if half is not None and half.lent:
                self._reclaim(half.conn)
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
                if ts_ns < flow.last_ts_ns:  # the eviction key went down
                    self._push((True, ts_ns, flow.id))
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
            if half is None and self.handshake_records:
                return self._quiet(packet, key)
            return self._tcp_slow(packet, half)
        if packet.transport == 17:
            entry = self._udp.get((packet.src, packet.sport, packet.dst, packet.dport))
            if entry is None:
                events: list[FlowEvent] = []
                conv, direction = self._open_udp(packet, events)
                events.extend(conv.receive(direction, packet))
                return events
            conv, direction = entry
            flow = conv.flow
            if packet.ts_ns < flow.last_ts_ns:
                self._push((True, packet.ts_ns, flow.id))
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
            if type(conv) is tuple:
                self._close_handshake(conv, "end-of-capture", events)
            else:
                self._forget(conv)
                conv.close("end-of-capture", "end-of-capture", events)
                self._dispose(conv)
            yield from events
            events.clear()
        self._tcp.clear()
        self._udp.clear()
        self._hands.clear()
        self._order.clear()

    def expire(self, now_ns: int, idle_ns: int) -> list[FlowEvent]:
        """Live use: forget flows idle for ``idle_ns`` or more (open ones get
        ``FlowClosed("idle")``), and apply the hole timeout to the others."""
        events: list[FlowEvent] = []
        cutoff = now_ns - idle_ns
        for conv in list(self._live.values()):
            if type(conv) is tuple:
                if conv[_LAST_TS] <= cutoff:
                    self._forget(conv)
                    self._close_handshake(conv, "idle", events)
            elif conv.flow.last_ts_ns <= cutoff:
                self._forget(conv)
                conv.close("idle", "lost", events)
                self._dispose(conv)
            elif isinstance(conv, TcpConnection) and conv.buffered:
                conv.settle(now_ns, events)
        return events

    @property
    def flows(self) -> Iterator[Flow]:
        """Every flow seen, in id order (only the tracked ones if ``remember_flows`` is
        False). Statistics are live: read them after :meth:`close` for the final
        figures (a flow still held as a handshake record is shown as it stands)."""
        if self._remember:
            return iter(self._history)
        return iter(sorted((self._handshake_flow(conv, None) if type(conv) is tuple
                            else conv.flow for conv in self._live.values()),
                           key=lambda f: f.id))

    @property
    def tracked(self) -> int:
        """Flows currently held in the table (open, or closed and still absorbing late
        packets)."""
        return len(self._live)

    @property
    def buffered(self) -> int:
        """Out-of-order buffer cost across all flows (bytes plus per-piece overhead)."""
        return self._budget.total

    # ---- the compiled fast lane ------------------------------------------------------

    def lend(self, key: tuple, target: Callable[[int], tuple[Any, tuple]]) -> None:
        """Lend the connection of the packet with table key ``key`` to the fast lane,
        if the lane can take anything of it (``target(flow id)``: the pipeline's flow
        state and per-direction states, which the lane hands back with what its framers
        finish).

        Called only between packets, when this table's state is current. From then on
        the reader's record walk takes the connection's in-order segments itself, as
        :meth:`feed`'s fast path would, and writes back what that path changes before
        handing over anything else; this table takes the connection back (:meth:`_reclaim`)
        before it touches it again."""
        half = self._tcp.get(key)
        if half is None or half.lent:
            return
        conn = half.conn
        if conn.closed is not None or (half.fast_seq < 0 and half.peer.fast_seq < 0):
            return
        state, directions = target(conn.flow.id)
        if self._lane.lend(conn.flow.id, conn.flow, conn.keys, conn.halves, state,
                           directions):
            for h in conn.halves:
                h.lent = True

    def _reclaim(self, conn: TcpConnection) -> None:
        """Take a lent connection back from the fast lane (its state written back)."""
        self._lane.release(conn.flow.id)
        for h in conn.halves:
            h.lent = False

    def detach_lane(self) -> None:
        """The reader is done: take every lent connection back."""
        if self._lane is None:
            return
        for flow_id in self._lane.release_all():
            conn = self._live.get(flow_id)
            if type(conn) is TcpConnection:
                for h in conn.halves:
                    h.lent = False
        self._lane = None

    # ---- TCP -------------------------------------------------------------------------

    def _tcp_slow(self, packet: Packet, half: HalfStream | None) -> list[FlowEvent]:
        events: list[FlowEvent] = []
        if half is not None and half.conn.closed is not None \
                and packet.ts_ns - half.conn.flow.last_ts_ns >= self._linger:
            gone = half.conn
            self._forget(gone)  # closed and silent past TIME-WAIT: a new connection
            gone.dispose()
            half = self._tcp.get((packet.src, packet.sport, packet.dst, packet.dport))
            if half is None and self.handshake_records:
                return self._quiet(packet, (packet.src, packet.sport, packet.dst,
                                            packet.dport))
        if half is None:
            half = self._open_tcp(packet, events)
            before = half.conn
        else:
            before = conn = half.conn
            if (conn.syn_is_new(half, packet) if packet.flags & SYN
                    else conn.closed is not None and conn.has_new_bytes(half, packet)):
                old = conn.flow
                self._forget(conn)
                conn.close("reused", "lost", events)
                conn.dispose()
                half = self._open_tcp(packet, events)
                new = half.flow
                events.append(TransportNote(
                    "tcp.port_reuse", "info",
                    f"{old.client[0]}:{old.client[1]} ↔ {old.server[0]}:{old.server[1]} of "
                    f"flow {old.id} reused by a new connection (flow {new.id})",
                    packet.frame, new, -1))
        key = self._key(before)
        conn = half.conn
        was_open = conn.closed is None
        conn.receive(half, packet, events)
        if was_open and conn.closed is not None:
            self._closing.append((conn.flow.last_ts_ns, conn.flow.id))
        # The eviction key goes down when the flow closes or time goes backwards; a new
        # flow's key was pushed at its first packet's time.
        if conn is not before:
            key = (True, packet.ts_ns, conn.flow.id)
        now = self._key(conn)
        if now < key:
            self._push(now)
        return events

    @staticmethod
    def _key(conn: TcpConnection) -> tuple[bool, int, int]:
        flow = conn.flow
        return conn.closed is None, flow.last_ts_ns, flow.id

    def _open_tcp(self, packet: Packet, events: list[FlowEvent],
                  flow_id: int | None = None) -> HalfStream:
        """A new connection; ``flow_id``: the id a handshake record reserved."""
        mid_session, sender_is_client = self._roles(packet)
        flow, fwd, rev = self._new_flow(TCP, packet, sender_is_client, mid_session, events,
                                        flow_id)
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

    def _roles(self, packet: Packet) -> tuple[bool, bool]:
        """(mid_session, sender is the client) of a TCP flow opened by ``packet``."""
        flags = packet.flags
        if flags & SYN:
            return False, not flags & ACK  # a SYN/ACK comes from the server
        return True, self._sender_is_client(packet)

    def _endpoints(self, src: bytes, sport: int, dst: bytes,
                   dport: int) -> tuple[tuple[str, int], tuple[str, int]]:
        # A server's endpoint is one shared tuple across its flows; a client's is its own.
        ports = self.server_ports
        return ((endpoint(src, sport) if sport in ports else (format_ip(src), sport)),
                (endpoint(dst, dport) if dport in ports else (format_ip(dst), dport)))

    def _new_flow(self, transport: str, packet: Packet, sender_is_client: bool,
                  mid_session: bool, events: list[FlowEvent],
                  flow_id: int | None = None) -> tuple[Flow, tuple, tuple]:
        if flow_id is None:
            flow_id = self._reserve(packet.ts_ns, events)
        src, dst = self._endpoints(packet.src, packet.sport, packet.dst, packet.dport)
        client, server = (src, dst) if sender_is_client else (dst, src)
        flow = Flow(flow_id, transport, client, server, packet.frame, packet.ts_ns,
                    packet.ts_ns, mid_session)
        if self._remember:
            self._history.append(flow)
        fwd = (packet.src, packet.sport, packet.dst, packet.dport)
        rev = (packet.dst, packet.dport, packet.src, packet.sport)
        return flow, fwd, rev

    def _reserve(self, ts_ns: int, events: list[FlowEvent]) -> int:
        """The next flow id, after making room for its flow (whose eviction key, as of
        its first packet at ``ts_ns``, is pushed)."""
        closing = self._closing
        if closing and ts_ns - closing[0][0] >= self._linger:
            self._retire(ts_ns)
        if len(self._live) >= self._max_flows:
            self._evict(events)
        flow_id = self._next_id
        self._next_id += 1
        self._push((True, ts_ns, flow_id))
        return flow_id

    # ---- eviction --------------------------------------------------------------------

    def _retire(self, now_ns: int) -> None:
        """Forget the closed connections silent for ``closed_linger_ns`` by ``now_ns``.

        Memory only, never output: a packet of such a connection would be taken as a new
        connection anyway (in :meth:`_tcp_slow`, by the connection's own last packet
        time), so forgetting it now or then cannot be seen, and a flow's outputs still
        depend on its own packets only (the split by flow relies on it). Without this a
        long capture of many short connections kept every closed one until the flow cap:
        about 2 KB each, 131 MB for the 46,796 connections of a 1 GB capture.
        """
        closing = self._closing
        live = self._live
        linger = self._linger
        while closing and now_ns - closing[0][0] >= linger:
            _, flow_id = closing.popleft()
            conn = live.get(flow_id)
            if type(conn) is not TcpConnection or conn.closed is None:
                continue  # gone already, or not a closed connection
            last = conn.flow.last_ts_ns
            if now_ns - last >= linger:
                self._forget(conn)
                conn.dispose()
            else:  # late packets came after it closed: wait from the last of them
                closing.append((last, flow_id))

    def _push(self, key: tuple[bool, int, int]) -> None:
        order = self._order
        heappush(order, key)
        if len(order) > 2 * len(self._live) + 1024:
            self._compact(key)

    def _compact(self, key: tuple[bool, int, int]) -> None:
        """Mostly stale keys in the heap: start afresh from the table (and ``key``, just
        pushed for a flow that may not be in the table yet)."""
        order = self._order
        order[:] = [_eviction_order(conv) for conv in self._live.values()]
        order.append(key)
        heapify(order)

    def _evict(self, events: list[FlowEvent]) -> None:
        """Evict the ``max_flows // 16`` flows first in eviction order, in that order."""
        count = min(max(1, self._max_flows // 16), len(self._live))
        order = self._order
        live = self._live
        hands = self._hands
        while count and order:
            key = heappop(order)
            flow_id = key[2]
            conv = live.get(flow_id)
            if conv is None:
                continue  # gone already (evicted, reused, expired)
            if type(conv) is tuple and key[0] and key[1] == conv[_LAST_TS]:
                # A handshake record whose key is current (the hot case, inline): its
                # two keys point at it for as long as it is in the table.
                count -= 1
                del live[flow_id]
                src, sport, dst, dport = conv[1:_HEAD]
                del hands[(src, sport, dst, dport)], hands[(dst, dport, src, sport)]
                events.append(FlowClosed(self._handshake_flow(conv, "evicted"), "evicted"))
                continue
            now = _eviction_order(conv)
            if now != key:
                if now > key:  # out of date: it goes back as it now is
                    heappush(order, now)
                continue  # (a lower key of it is in the heap already)
            count -= 1
            self._forget(conv)
            conv.close("evicted", "cap", events)
            self._dispose(conv)

    @staticmethod
    def _dispose(conv: Conversation) -> None:
        """A conversation the table dropped (forgotten and closed): see
        :meth:`TcpConnection.dispose`."""
        if type(conv) is TcpConnection:
            conv.dispose()

    def _forget(self, conv: Conversation | Handshake) -> None:
        """Remove a conversation's keys (those still pointing at it) and its entry."""
        if type(conv) is tuple:
            flow_id = conv[_ID]
            self._live.pop(flow_id, None)
            for key in _hand_keys(conv):
                hand = self._hands.get(key)
                if hand is not None and hand[_ID] == flow_id:
                    del self._hands[key]
            return
        self._live.pop(conv.flow.id, None)
        if isinstance(conv, TcpConnection):
            if conv.halves and conv.halves[0].lent:
                self._reclaim(conv)
            for key in conv.keys:
                half = self._tcp.get(key)
                if half is not None and half.conn is conv:
                    del self._tcp[key]
        else:
            for key in conv.keys:
                entry = self._udp.get(key)
                if entry is not None and entry[0] is conv:
                    del self._udp[key]

    # ---- handshake records -------------------------------------------------------------

    def _quiet(self, packet: Packet, key: tuple) -> list[FlowEvent]:
        """A TCP packet of no full connection (``key``: its table key): kept in a
        handshake record while the flow is quiet, else handed to the full path
        (promoting the record first)."""
        hand = self._hands.get(key)
        flags = packet.flags
        quiet = (not flags & _UNQUIET and not packet.payload and not packet.missing
                 and self._budget.total <= self._budget.max_total)
        if hand is None:
            src, sport, dst, dport = key
            # (A 4-tuple that is its own reverse is left to the full path: both its
            # directions are one key there.)
            if not quiet or (sport == dport and src == dst):
                return self._tcp_slow(packet, None)
            events: list[FlowEvent] = []
            ts_ns = packet.ts_ns
            live = self._live
            closing = self._closing
            if closing and ts_ns - closing[0][0] >= self._linger:
                self._retire(ts_ns)
            if len(live) >= self._max_flows:
                self._evict(events)
            flow_id = self._next_id
            self._next_id = flow_id + 1
            order = self._order
            heappush(order, (True, ts_ns, flow_id))  # (``_reserve`` inline: the hot case)
            if len(order) > 2 * len(live) + 1024:
                self._compact((True, ts_ns, flow_id))
            hand = (flow_id, src, sport, dst, dport, packet.frame, ts_ns, packet.seq,
                    packet.ack, flags, packet.window, True)
            hands = self._hands
            hands[key] = hands[(dst, dport, src, sport)] = live[flow_id] = hand
            return events
        forward = key[0] == hand[1] and key[1] == hand[2]
        if quiet and len(hand) < _HEAD + HANDSHAKE_PACKETS * _FIELDS and (
                not flags & SYN or self._fresh_syn(hand, forward)):
            ts_ns = packet.ts_ns
            flow_id = hand[_ID]
            if ts_ns < hand[_LAST_TS]:
                self._push((True, ts_ns, flow_id))
            hand += (packet.frame, ts_ns, packet.seq, packet.ack, flags, packet.window,
                     forward)
            fwd, rev = _hand_keys(hand)
            self._hands[fwd] = self._hands[rev] = self._live[flow_id] = hand
            return []
        events = self._promote(hand)
        events.extend(self.feed(packet))
        return events

    @staticmethod
    def _fresh_syn(hand: Handshake, forward: bool) -> bool:
        """A SYN from this direction would be the full path's first SYN of it, not a
        retransmission or a new connection: the flow opened with a SYN, this direction
        sent nothing yet, and no SYN/ACK of the other direction gave its ISN."""
        if not hand[_HEAD + _FLAGS] & SYN:
            return False  # picked up mid-session: any SYN is a new connection
        for p in _hand_packets(hand):
            if p[_FORWARD] == forward or p[_FLAGS] & (SYN | ACK) == SYN | ACK:
                return False
        return True

    @staticmethod
    def _packet(hand: Handshake, p: tuple) -> Packet:
        """A stored packet as the full path takes it."""
        fwd, rev = _hand_keys(hand)
        src, sport, dst, dport = fwd if p[_FORWARD] else rev
        return Packet(p[_FRAME], p[_TS], 6 if len(src) == 16 else 4, src, dst, 6, sport,
                      dport, b"", 0, p[_SEQ], p[_ACK], p[_FLAGS], p[_WINDOW])

    def _promote(self, hand: Handshake) -> list[FlowEvent]:
        """Replace a handshake record by its full connection, fed its stored packets by
        the ordinary code; returns ``[FlowOpened]`` (the stored packets were quiet)."""
        flow_id = hand[_ID]
        packets = _hand_packets(hand)
        for key in _hand_keys(hand):
            del self._hands[key]
        budget = self._budget
        cap, budget.max_total = budget.max_total, _NO_CAP  # checked when each was seen
        try:
            events: list[FlowEvent] = []
            first = self._packet(hand, packets[0])
            half = self._open_tcp(first, events, flow_id)  # takes the record's place
            half.conn.receive(half, first, events)
            for p in packets[1:]:
                events.extend(self.feed(self._packet(hand, p)))
        finally:
            budget.max_total = cap
        return events

    def _handshake_flow(self, hand: Handshake, reason: str | None) -> Flow:
        """The :class:`Flow` the full path would hold for a handshake record."""
        flow_id, src, sport, dst, dport, frame, ts_ns = hand[:_HEAD + _TS + 1]
        flags = hand[_HEAD + _FLAGS]
        ports = self.server_ports
        if flags & SYN:  # as :meth:`_roles`
            mid_session, sender_is_client = False, not flags & ACK
        else:
            mid_session = True
            sender_is_client = not (sport in ports and dport not in ports)
        # As :meth:`_endpoints` (inline: a million of these may close in a row).
        a = endpoint(src, sport) if sport in ports else (format_ip(src), sport)
        b = endpoint(dst, dport) if dport in ports else (format_ip(dst), dport)
        if len(hand) == _HEAD + _FIELDS:  # one packet
            stats = ((DirectionStats(1), DirectionStats()) if sender_is_client
                     else (DirectionStats(), DirectionStats(1)))
            if sender_is_client:
                return Flow(flow_id, TCP, a, b, frame, ts_ns, ts_ns, mid_session, reason,
                            stats)
            return Flow(flow_id, TCP, b, a, frame, ts_ns, ts_ns, mid_session, reason, stats)
        count = (len(hand) - _HEAD) // _FIELDS
        to_server = sum(1 for i in range(_HEAD + _FORWARD, len(hand), _FIELDS)
                        if hand[i] == sender_is_client)
        stats = (DirectionStats(to_server), DirectionStats(count - to_server))
        client, server = (a, b) if sender_is_client else (b, a)
        return Flow(flow_id, TCP, client, server, frame, ts_ns, hand[_LAST_TS],
                    mid_session, reason, stats)

    def _close_handshake(self, hand: Handshake, reason: str,
                         events: list[FlowEvent]) -> None:
        """Close a record (already forgotten) as the full path closes a quiet flow: with
        nothing buffered, its only event is ``FlowClosed`` (no ``FlowOpened``: see the
        module docstring)."""
        flow = self._handshake_flow(hand, reason)
        events.append(FlowClosed(flow, reason))
