"""The flow table: keying, roles, numbering, UDP, port reuse, eviction, expiry, close."""

from __future__ import annotations

import ipaddress

import pytest

from cvipsniff.flows import FlowTable, format_ip
from cvipsniff.flows.seqnum import seq_add, seq_diff
from cvipsniff.model import (
    ACK,
    FIN,
    RST,
    SYN,
    Datagram,
    FlowClosed,
    FlowEvent,
    FlowOpened,
    Packet,
    StreamData,
    TransportNote,
)

A = ("10.1.1.1", 50000)
B = ("10.1.1.2", 7110)


class Wire:
    """Builds packets between arbitrary endpoints, numbering frames, and feeds a table."""

    def __init__(self, table: FlowTable) -> None:
        self.table = table
        self.frame = 0
        self.ts_ns = 0
        self.events: list[FlowEvent] = []

    def packet(self, src: tuple[str, int], dst: tuple[str, int], payload: bytes = b"", *,
               transport: int = 6, seq: int = 0, ack: int = 0, flags: int = ACK,
               missing: int = 0, ts_ns: int | None = None) -> Packet:
        self.frame += 1
        self.ts_ns = self.ts_ns + 1000 if ts_ns is None else ts_ns
        s, d = ipaddress.ip_address(src[0]), ipaddress.ip_address(dst[0])
        return Packet(self.frame, self.ts_ns, s.version, s.packed, d.packed, transport,
                      src[1], dst[1], payload, missing, seq, ack, flags, window=1024)

    def send(self, *args, **kwargs) -> list[FlowEvent]:
        events = self.table.feed(self.packet(*args, **kwargs))
        self.events += events
        return events

    def opened(self) -> list[int]:
        return [e.flow.id for e in self.events if isinstance(e, FlowOpened)]


def data(events: list[FlowEvent]) -> list[tuple[int, int, bytes]]:
    return [(e.flow.id, e.direction, e.data) for e in events
            if isinstance(e, StreamData | Datagram)]


def kinds(events: list[FlowEvent]) -> list[str]:
    return [e.kind for e in events if isinstance(e, TransportNote)]


# ---- helpers -------------------------------------------------------------------------


def test_sequence_arithmetic_is_modular_and_signed() -> None:
    assert seq_add(0xFFFFFFFF, 2) == 1
    assert seq_diff(1, 0xFFFFFFFF) == 2
    assert seq_diff(0xFFFFFFFF, 1) == -2
    assert seq_diff(0x7FFFFFFF, 0) == 0x7FFFFFFF
    assert seq_diff(0x80000000, 0) == -0x80000000


@pytest.mark.parametrize(("text", "shown"), [
    ("127.0.0.1", "127.0.0.1"),
    ("::1", "::1"),
    ("2001:DB8:0:0:8:800:200C:417A", "2001:db8::8:800:200c:417a"),
    ("fe80:0::1", "fe80::1"),
    ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  # RFC 5952: the first longest run
    ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),  # IPv4-mapped shown dotted, as Wireshark does
])
def test_addresses_are_formatted_like_wireshark(text: str, shown: str) -> None:
    assert format_ip(ipaddress.ip_address(text).packed) == shown


def test_malformed_address_length_does_not_raise() -> None:
    assert format_ip(b"\x01\x02") == "0102"
    assert format_ip(b"") == "?"


# ---- roles and numbering ---------------------------------------------------------------


def test_syn_sender_is_the_client_whatever_the_ports() -> None:
    wire = Wire(FlowTable(server_ports=frozenset({50000})))
    wire.send(A, B, seq=10, flags=SYN)
    flow = wire.events[0].flow
    assert (flow.client, flow.server, flow.mid_session) == (A, B, False)
    assert (flow.transport, flow.first_frame, flow.first_ts_ns) == ("tcp", 1, 1000)


def test_syn_ack_seen_first_makes_its_receiver_the_client() -> None:
    wire = Wire(FlowTable())
    wire.send(B, A, seq=500, ack=11, flags=SYN | ACK)
    wire.send(A, B, b"hi", seq=11, ack=501)
    events = wire.send(B, A, b"yo", seq=501, ack=13)
    flow = wire.events[0].flow
    assert (flow.client, flow.server, flow.mid_session) == (A, B, False)
    assert data(wire.events) == [(0, 0, b"hi"), (0, 1, b"yo")]
    assert [e.offset for e in events if isinstance(e, StreamData)] == [0]


@pytest.mark.parametrize(
    ("ports", "first_from_a", "client"),
    [
        (frozenset(), True, A),  # no port knowledge: the first sender is the client
        (frozenset(), False, B),
        (frozenset({7110}), False, A),  # B answers from a server port: A is the client
        (frozenset({7110}), True, A),
        (frozenset({7110, 50000}), False, B),  # both ports are server ports: first sender
    ],
)
def test_mid_session_roles_follow_the_server_ports_rule(
        ports: frozenset[int], first_from_a: bool, client: tuple[str, int]) -> None:
    wire = Wire(FlowTable(server_ports=ports))
    src, dst = (A, B) if first_from_a else (B, A)
    wire.send(src, dst, b"first", seq=1000, ack=2000)
    wire.send(dst, src, b"second", seq=2000, ack=1005)
    flow = wire.events[0].flow
    assert flow.mid_session and flow.client == client
    sender_direction = 0 if src == client else 1
    assert data(wire.events) == [(0, sender_direction, b"first"),
                                 (0, 1 - sender_direction, b"second")]


def test_flows_are_numbered_in_order_of_appearance_across_tcp_and_udp() -> None:
    wire = Wire(FlowTable())
    wire.send(A, B, seq=1, flags=SYN)
    wire.send(("10.1.1.1", 5353), ("224.0.0.251", 9990), b"ping", transport=17)
    wire.send(("10.1.1.3", 40000), B, seq=7, flags=SYN)
    wire.send(B, A, seq=9, ack=2, flags=SYN | ACK)  # existing flow 0
    assert wire.opened() == [0, 1, 2]
    assert [(f.id, f.transport) for f in wire.table.flows] == [(0, "tcp"), (1, "udp"),
                                                             (2, "tcp")]


def test_ipv6_endpoints_are_formatted_once_per_flow() -> None:
    wire = Wire(FlowTable())
    client, server = ("2001:db8::1", 40000), ("2001:db8:0:0:0:0:0:a", 7563)
    wire.send(client, server, seq=100, flags=SYN)
    wire.send(server, client, seq=900, ack=101, flags=SYN | ACK)
    wire.send(client, server, b"<methodcall/>", seq=101, ack=901)
    flow = next(wire.table.flows)
    assert flow.client == ("2001:db8::1", 40000)
    assert flow.server == ("2001:db8::a", 7563)
    assert flow.endpoint(1) == (flow.server, flow.client)
    assert data(wire.events) == [(0, 0, b"<methodcall/>")]


def test_flow_statistics_per_direction_and_timestamps() -> None:
    wire = Wire(FlowTable())
    wire.send(A, B, seq=1, flags=SYN, ts_ns=10)
    wire.send(B, A, seq=50, ack=2, flags=SYN | ACK, ts_ns=20)
    wire.send(A, B, b"abc", seq=2, ack=51, ts_ns=30)
    wire.send(A, B, b"abc", seq=2, ack=51, ts_ns=40)  # retransmission
    wire.send(B, A, b"xy", seq=51, ack=5, ts_ns=50)
    flow = next(wire.table.flows)
    a, b = flow.stats
    assert (a.packets, a.bytes, a.delivered, a.retransmissions) == (3, 6, 3, 1)
    assert (b.packets, b.bytes, b.delivered, b.retransmissions) == (2, 2, 2, 0)
    assert (flow.first_ts_ns, flow.last_ts_ns) == (10, 50)


# ---- UDP -------------------------------------------------------------------------------


def test_udp_datagrams_become_datagram_events_on_a_conversation() -> None:
    wire = Wire(FlowTable(server_ports=frozenset({9990})))
    cam, nvr = ("192.168.0.20", 9990), ("192.168.0.5", 61000)
    first = wire.send(cam, nvr, b"pong-1", transport=17)  # from the server port first
    wire.send(nvr, cam, b"ping", transport=17)
    wire.send(cam, nvr, b"pong-2", transport=17)
    assert isinstance(first[0], FlowOpened) and isinstance(first[1], Datagram)
    flow = first[0].flow
    assert (flow.transport, flow.client, flow.server) == ("udp", nvr, cam)
    assert data(wire.events) == [(0, 1, b"pong-1"), (0, 0, b"ping"), (0, 1, b"pong-2")]
    assert [e.frame for e in wire.events if isinstance(e, Datagram)] == [1, 2, 3]
    assert (flow.stats[0].packets, flow.stats[1].packets, flow.stats[1].bytes) == (1, 2, 12)


def test_udp_datagram_cut_by_snaplen_is_delivered_with_a_note() -> None:
    wire = Wire(FlowTable())
    events = wire.send(A, B, b"abc", transport=17, missing=100)
    assert data(events) == [(0, 0, b"abc")]
    assert kinds(events) == ["udp.truncated"]
    stats = events[0].flow.stats[0]
    assert (stats.bytes, stats.delivered, stats.gap_bytes) == (103, 3, 100)


def test_udp_and_tcp_on_the_same_ports_are_different_flows() -> None:
    wire = Wire(FlowTable())
    wire.send(A, B, b"t", seq=1)
    wire.send(A, B, b"u", transport=17)
    assert wire.opened() == [0, 1]


def test_other_transports_are_ignored() -> None:
    wire = Wire(FlowTable())
    assert wire.send(A, B, b"icmp?", transport=1) == []
    assert list(wire.table.flows) == []


# ---- port reuse --------------------------------------------------------------------------


def test_new_syn_after_fin_opens_a_new_flow_with_a_note() -> None:
    wire = Wire(FlowTable())
    wire.send(A, B, seq=100, flags=SYN)
    wire.send(B, A, seq=900, ack=101, flags=SYN | ACK)
    wire.send(A, B, b"one", seq=101, ack=901, flags=ACK | FIN)
    wire.send(B, A, seq=901, ack=105, flags=ACK | FIN)
    wire.send(A, B, seq=105, ack=902)
    events = wire.send(A, B, seq=777777, flags=SYN)  # same 4-tuple, new ISN
    assert [type(e).__name__ for e in events] == ["FlowOpened", "TransportNote"]
    assert kinds(events) == ["tcp.port_reuse"] and "flow 0" in events[1].message
    assert wire.opened() == [0, 1]
    old, new = wire.table.flows
    assert (old.closed, new.closed, new.mid_session) == ("fin", None, False)
    wire.send(A, B, b"two", seq=777778, ack=1)
    assert data(wire.events) == [(0, 0, b"one"), (1, 0, b"two")]


def test_syn_with_different_isn_on_an_open_flow_closes_it_as_reused() -> None:
    wire = Wire(FlowTable())
    wire.send(A, B, seq=100, flags=SYN)
    wire.send(A, B, b"x", seq=101)
    wire.send(A, B, b"z", seq=103)  # hole at 102
    events = wire.send(A, B, seq=5000, flags=SYN)
    closed = [e for e in events if isinstance(e, FlowClosed)]
    assert [(e.flow.id, e.reason) for e in closed] == [(0, "reused")]
    assert data(events) == [(0, 0, b"z")]  # buffered bytes flushed, not dropped
    assert wire.table.buffered == 0


def test_syn_on_a_flow_picked_up_mid_session_is_a_new_connection() -> None:
    wire = Wire(FlowTable())
    wire.send(A, B, b"mid", seq=100)
    wire.send(A, B, seq=100, flags=SYN)  # even with the same sequence number
    assert wire.opened() == [0, 1]


def test_new_bytes_after_rst_start_a_new_mid_session_flow() -> None:
    wire = Wire(FlowTable())
    wire.send(A, B, seq=100, flags=SYN)
    wire.send(A, B, b"abc", seq=101)
    wire.send(B, A, seq=0, flags=RST)
    late = wire.send(A, B, b"abc", seq=101)  # a late retransmission: absorbed
    assert data(late) == [] and kinds(late) == ["tcp.retransmission"]
    events = wire.send(A, B, b"def", seq=104)
    assert kinds(events) == ["tcp.port_reuse"]
    new = events[0].flow
    assert (new.id, new.mid_session, new.client) == (1, True, A)
    assert data(events) == [(1, 0, b"def")]


# ---- eviction, expiry, close -------------------------------------------------------------


def test_flow_count_is_bounded_by_evicting_the_least_recently_active() -> None:
    wire = Wire(FlowTable(max_flows=32))
    for i in range(32):
        wire.send(("10.2.0.1", 1000 + i), B, b"x", seq=1)
    wire.send(("10.2.0.1", 1000), B, b"y", seq=2)  # flow 0 is active again
    events = wire.send(("10.2.0.9", 9), B, b"new", seq=1)
    evicted = [e.flow.id for e in events if isinstance(e, FlowClosed)]
    assert [e.reason for e in events if isinstance(e, FlowClosed)] == ["evicted", "evicted"]
    assert evicted == [1, 2]  # a sixteenth of the table, oldest first, not flow 0
    assert wire.table.tracked == 31
    # An evicted 4-tuple that speaks again is a new flow.
    wire.send(("10.2.0.1", 1001), B, b"again", seq=2)
    assert wire.opened()[-1] == 33


def test_closed_flows_are_evicted_first_and_silently() -> None:
    wire = Wire(FlowTable(max_flows=2))
    wire.send(A, B, b"x", seq=1)
    wire.send(("10.3.0.1", 1), B, b"x", seq=1)
    wire.send(("10.3.0.1", 1), B, seq=2, flags=RST)  # flow 1 closed but still tracked
    events = wire.send(("10.3.0.2", 2), B, b"x", seq=1)
    assert [e for e in events if isinstance(e, FlowClosed)] == []
    assert [f.closed for f in wire.table.flows] == [None, "rst", None]


def test_millions_of_tiny_flows_stay_bounded() -> None:
    wire = Wire(FlowTable(max_flows=1000, remember_flows=False))
    table = wire.table
    for i in range(20000):
        table.feed(wire.packet((f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}", 1), B,
                               transport=17 if i & 1 else 6, payload=b"x"))
    assert table.tracked <= 1000
    assert len(list(table.flows)) == table.tracked


def test_expire_closes_idle_flows_and_keeps_active_ones() -> None:
    wire = Wire(FlowTable())
    wire.send(A, B, b"old", seq=1, ts_ns=1_000)
    wire.send(("10.9.9.9", 1), B, b"new", transport=17, ts_ns=50_000)
    events = wire.table.expire(60_000, idle_ns=20_000)
    assert [(e.flow.id, e.reason) for e in events if isinstance(e, FlowClosed)] == [(0, "idle")]
    assert wire.table.tracked == 1


def test_close_ends_every_open_flow_in_id_order() -> None:
    wire = Wire(FlowTable())
    wire.send(A, B, b"a", seq=1)
    wire.send(("10.9.9.9", 1), B, b"u", transport=17)
    wire.send(("10.9.9.8", 1), B, seq=1, flags=RST)
    events = wire.table.close()
    assert [(e.flow.id, e.reason) for e in events if isinstance(e, FlowClosed)] == [
        (0, "end-of-capture"), (1, "end-of-capture")]
    assert [f.closed for f in wire.table.flows] == ["end-of-capture", "end-of-capture", "rst"]
    assert wire.table.tracked == 0 and wire.table.close() == []


def test_udp_capture_duplicate_is_noted_not_delivered() -> None:
    """A datagram seen twice within 1 ms is a capture artefact; a later resend is data."""
    from cvipsniff.model import Datagram, Packet, TransportNote

    table = FlowTable()

    def udp(frame: int, ts_ns: int, payload: bytes) -> list:
        return table.feed(Packet(frame=frame, ts_ns=ts_ns, ip_version=4, src=b"\x0a\0\0\1",
                                 dst=b"\x0a\0\0\2", transport=17, sport=5000, dport=7110,
                                 payload=payload))

    first = udp(1, 1_000_000, b"ping")
    dup = udp(2, 1_000_500, b"ping")
    retry = udp(3, 900_000_000, b"ping")
    assert [type(e) for e in first if type(e) is Datagram] == [Datagram]
    assert [e.kind for e in dup if type(e) is TransportNote] == ["udp.duplicate"]
    assert not any(type(e) is Datagram for e in dup)
    assert any(type(e) is Datagram for e in retry)


# ---- closed connections leave after TIME-WAIT --------------------------------------

SECOND = 1_000_000_000


def _closed_exchange(wire: Wire, client: tuple[str, int], start_ns: int) -> None:
    """A whole connection (handshake, one request, FIN both ways) from ``start_ns``."""
    wire.send(client, B, seq=100, flags=SYN, ts_ns=start_ns)
    wire.send(B, client, seq=900, ack=101, flags=SYN | ACK, ts_ns=start_ns + 1)
    wire.send(client, B, b"req", seq=101, ack=901, flags=ACK | FIN, ts_ns=start_ns + 2)
    wire.send(B, client, seq=901, ack=105, flags=ACK | FIN, ts_ns=start_ns + 3)


def test_a_closed_connection_takes_late_retransmissions_within_time_wait() -> None:
    wire = Wire(FlowTable(closed_linger_ns=240 * SECOND))
    _closed_exchange(wire, A, 0)
    events = wire.send(A, B, b"req", seq=101, ack=901, flags=ACK | FIN,
                       ts_ns=239 * SECOND)
    assert kinds(events) == ["tcp.retransmission"] and wire.opened() == [0]


def test_a_packet_after_time_wait_is_a_new_connection() -> None:
    """The hosts would have forgotten the connection: so does the table (no reuse note,
    as there is nothing left to reuse)."""
    wire = Wire(FlowTable(closed_linger_ns=240 * SECOND))
    _closed_exchange(wire, A, 0)
    events = wire.send(A, B, b"more", seq=105, ack=902, ts_ns=240 * SECOND + 3)
    assert wire.opened() == [0, 1] and kinds(events) == []
    assert data(events) == [(1, 0, b"more")]
    assert [f.mid_session for f in wire.table.flows] == [False, True]


@pytest.mark.parametrize("records", [False, True])
def test_closed_connections_are_forgotten_once_silent_past_time_wait(records) -> None:
    """Memory only: a long capture of short connections keeps the recent ones, and the
    events are exactly those of a table that never forgets (late packets included)."""
    def run(linger_ns: int, forget: bool) -> tuple[list[str], int]:
        table = FlowTable(closed_linger_ns=linger_ns, remember_flows=not records)
        if not forget:
            table._retire = lambda now_ns: None  # type: ignore[method-assign]
        wire = Wire(table)
        for i in range(200):
            client = (f"10.9.{i >> 8}.{i & 255}", 40000 + i % 7)
            _closed_exchange(wire, client, i * 10 * SECOND)
            if i % 13 == 0:  # a retransmission well inside TIME-WAIT ...
                wire.send(client, B, b"req", seq=101, ack=901, flags=ACK | FIN,
                          ts_ns=i * 10 * SECOND + 30 * SECOND)
            if i % 17 == 0 and i >= 40:  # ... and bytes on a 4-tuple long closed
                old = (f"10.9.{(i - 40) >> 8}.{(i - 40) & 255}", 40000 + (i - 40) % 7)
                wire.send(old, B, b"late", seq=105, ack=902, ts_ns=i * 10 * SECOND + 5)
        wire.events += table.close()
        shown = [f"{type(e).__name__} {getattr(e, 'flow', None) and e.flow.id} "
                 f"{getattr(e, 'kind', '')} {getattr(e, 'data', b'')!r}" for e in wire.events]
        return shown, table.tracked

    forgetting, _ = run(240 * SECOND, forget=True)
    keeping, _ = run(240 * SECOND, forget=False)
    assert forgetting == keeping
    table = FlowTable(closed_linger_ns=240 * SECOND, remember_flows=not records)
    wire = Wire(table)
    for i in range(200):
        _closed_exchange(wire, (f"10.8.{i >> 8}.{i & 255}", 40000), i * 10 * SECOND)
    assert table.tracked <= 26  # the last 240 s of connections, not all 200
