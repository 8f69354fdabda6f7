"""Handshake records and the eviction heap of the flow table (issue 14: a million SYN-only
flows took minutes, nearly all of it the garbage collector walking ten objects per flow).

The records must be invisible: every event naming a flow, in the same order, with the
same ids, statistics, close reasons and eviction victims as the full path (records off),
on hand-made sequences, on random packet sequences over a few 4-tuples, and on every
bundled capture through the pipeline. The one allowed difference is when ``FlowOpened``
comes (when the :class:`Flow` is made; none for a flow closed while still a record)."""

from __future__ import annotations

import dataclasses
import gc
import heapq
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvipsniff.capture import open_capture
from cvipsniff.flows import FlowTable
from cvipsniff.flows.table import _eviction_order
from cvipsniff.model import (
    ACK,
    FIN,
    PSH,
    RST,
    SYN,
    Flow,
    FlowClosed,
    FlowEvent,
    FlowOpened,
    Packet,
    StreamData,
    TransportNote,
)
from cvipsniff.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent
SERVER = (b"\x0a\x00\x00\x01", 7110)
CLIENTS = [(b"\x0a\x00\x00\x02", 40000), (b"\x0a\x00\x00\x03", 40001),
           (b"\x0a\x00\x00\x02", 40002)]


def _render(event: FlowEvent) -> tuple:
    """An event as plain values at the moment it was emitted (flows are mutable)."""
    fields = []
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if type(value) is Flow:
            value = repr(value)  # id, roles, times, close reason and statistics
        fields.append(value)
    return (type(event).__name__, *fields)


def _run(packets: list[Packet], *, records: bool, max_flows: int = 65_536,
         expire_at: int | None = None) -> tuple[list[tuple], list[FlowEvent]]:
    """Feed the packets (and an ``expire`` after ``expire_at`` of them), then close.
    Returns the rendered events other than ``FlowOpened``, and all raw events."""
    table = FlowTable(server_ports=frozenset({7110}), max_flows=max_flows,
                      remember_flows=False, handshake_records=records)
    assert table.handshake_records is records
    raw: list[FlowEvent] = []
    rendered: list[tuple] = []

    def take(events: list[FlowEvent]) -> None:
        for event in events:
            raw.append(event)
            if type(event) is not FlowOpened:
                rendered.append(_render(event))

    for i, packet in enumerate(packets):
        take(table.feed(packet))
        if expire_at is not None and i == expire_at:
            take(table.expire(packet.ts_ns, 5_000))
            rendered.append(("tracked", table.tracked,
                             [repr(f) for f in table.flows]))
    take(table.close())
    return rendered, raw


def _assert_same(packets: list[Packet], **kwargs) -> list[FlowEvent]:
    full, full_raw = _run(packets, records=False, **kwargs)
    light, light_raw = _run(packets, records=True, **kwargs)
    assert light == full
    # FlowOpened: once per flow in the full path, first; with records at most once,
    # before anything else of its flow, and absent only for a flow closed as a record.
    seen: set[int] = set()
    for event in light_raw:
        flow_id = event.flow.id
        if type(event) is FlowOpened:
            assert flow_id not in seen
            seen.add(flow_id)
        elif flow_id not in seen:
            assert type(event) is FlowClosed
            assert dataclasses.astuple(event.flow.stats[0])[1:] == (0,) * 8
            assert dataclasses.astuple(event.flow.stats[1])[1:] == (0,) * 8
            seen.add(flow_id)
    assert seen == {e.flow.id for e in full_raw if type(e) is FlowOpened}
    return light_raw


class Talk:
    """Packets between clients and the server, frames numbered, time moving on."""

    def __init__(self) -> None:
        self.packets: list[Packet] = []
        self.ts_ns = 1_000_000

    def send(self, client: int, to_server: bool, flags: int, *, seq: int = 0, ack: int = 0,
             payload: bytes = b"", window: int = 1024, dt: int = 1000,
             missing: int = 0) -> Talk:
        self.ts_ns += dt
        (caddr, cport), (saddr, sport) = CLIENTS[client], SERVER
        src, sp, dst, dp = ((caddr, cport, saddr, sport) if to_server
                            else (saddr, sport, caddr, cport))
        self.packets.append(Packet(len(self.packets) + 1, self.ts_ns, 4, src, dst, 6, sp, dp,
                                   payload, missing, seq, ack, flags, window))
        return self


C, S = True, False  # to the server, to the client


@pytest.mark.parametrize("name", [
    "syn_only", "syn_retransmitted", "syn_ack_first", "rst_after_syn", "handshake_then_data",
    "handshake_only", "port_reuse_after_syn", "port_reuse_same_isn", "fin_after_handshake",
    "ack_first_mid_session", "syn_with_payload", "zero_window_ack", "many_acks",
    "time_goes_back", "simultaneous_open", "truncated_syn",
])
def test_records_change_nothing_on_handshake_shapes(name: str) -> None:
    t = Talk()
    if name == "syn_only":
        t.send(0, C, SYN, seq=100)
    elif name == "syn_retransmitted":
        t.send(0, C, SYN, seq=100).send(0, C, SYN, seq=100)
    elif name == "syn_ack_first":
        t.send(0, S, SYN | ACK, seq=500, ack=101).send(0, C, ACK, seq=101, ack=501)
    elif name == "rst_after_syn":
        t.send(0, C, SYN, seq=100).send(0, S, RST | ACK, seq=0, ack=101)
    elif name == "handshake_then_data":
        (t.send(0, C, SYN, seq=100).send(0, S, SYN | ACK, seq=500, ack=101)
         .send(0, C, ACK, seq=101, ack=501)
         .send(0, C, ACK | PSH, seq=101, ack=501, payload=b"hello")
         .send(0, S, ACK | PSH, seq=501, ack=106, payload=b"world"))
    elif name == "handshake_only":
        (t.send(0, C, SYN, seq=100).send(0, S, SYN | ACK, seq=500, ack=101)
         .send(0, C, ACK, seq=101, ack=501))
    elif name == "port_reuse_after_syn":
        t.send(0, C, SYN, seq=100).send(0, C, SYN, seq=9000).send(0, S, SYN | ACK, seq=1,
                                                                   ack=9001)
    elif name == "port_reuse_same_isn":
        (t.send(0, C, SYN, seq=100).send(0, S, SYN | ACK, seq=500, ack=101)
         .send(0, C, SYN, seq=100))
    elif name == "fin_after_handshake":
        (t.send(0, C, SYN, seq=100).send(0, S, SYN | ACK, seq=500, ack=101)
         .send(0, C, FIN | ACK, seq=101, ack=501).send(0, S, FIN | ACK, seq=501, ack=102)
         .send(0, C, ACK, seq=102, ack=502).send(0, C, ACK, seq=102, ack=502))
    elif name == "ack_first_mid_session":
        t.send(0, S, ACK, seq=700, ack=300).send(0, C, SYN, seq=299)
    elif name == "syn_with_payload":
        t.send(0, C, SYN, seq=100, payload=b"early").send(0, C, ACK, seq=106)
    elif name == "zero_window_ack":
        (t.send(0, C, SYN, seq=100).send(0, S, SYN | ACK, seq=500, ack=101, window=0)
         .send(0, C, ACK, seq=101, ack=501, window=0)
         .send(0, C, ACK, seq=101, ack=501, payload=b"p")
         .send(0, S, ACK, seq=501, ack=102, window=100))
    elif name == "many_acks":
        t.send(0, C, SYN, seq=100)
        for _ in range(7):
            t.send(0, S, ACK, seq=5, ack=101)
        t.send(0, S, ACK, seq=5, ack=101, payload=b"after")
    elif name == "time_goes_back":
        t.send(0, C, SYN, seq=100).send(1, C, SYN, seq=7).send(0, S, ACK, seq=1, ack=101,
                                                               dt=-500_000)
    elif name == "simultaneous_open":
        t.send(0, C, SYN, seq=100).send(0, S, SYN, seq=500).send(0, S, SYN | ACK, seq=500,
                                                                  ack=101)
    elif name == "truncated_syn":
        t.send(0, C, SYN, seq=100, missing=4).send(0, C, ACK, seq=105)
    _assert_same(t.packets)


def test_a_syn_only_flow_is_one_record_the_collector_does_not_track() -> None:
    """The point of the records: nothing per quiet flow for the garbage collector."""
    table = FlowTable(server_ports=frozenset({7110}), remember_flows=False)
    t = Talk().send(0, C, SYN, seq=100).send(0, S, SYN | ACK, seq=500, ack=101)
    for packet in t.packets:
        assert table.feed(packet) == []
    gc.collect()
    (record,) = table._live.values()
    assert type(record) is tuple and not gc.is_tracked(record)
    (flow,) = table.flows  # shown as it stands
    assert (flow.id, flow.stats[0].packets, flow.stats[1].packets) == (0, 1, 1)
    (closed,) = table.close()
    assert type(closed) is FlowClosed and closed.reason == "end-of-capture"
    assert closed.flow.client == ("10.0.0.2", 40000) and closed.flow.server[1] == 7110


def test_remembered_flows_never_use_records() -> None:
    table = FlowTable(handshake_records=True)  # remember_flows=True wins
    assert not table.handshake_records
    events = table.feed(Talk().send(0, C, SYN, seq=1).packets[0])
    assert [type(e) for e in events] == [FlowOpened]


def test_ids_follow_first_appearance_across_records_and_full_flows() -> None:
    t = Talk().send(0, C, SYN, seq=1).send(1, C, ACK | PSH, seq=5, payload=b"data")
    t.send(2, C, SYN, seq=9).send(0, C, ACK | PSH, seq=2, payload=b"late")
    events = _assert_same(t.packets)
    assert [e.flow.id for e in events if type(e) is StreamData] == [1, 0]


# ---- random sequences ------------------------------------------------------------------

_FLAGS = [SYN, SYN, SYN | ACK, ACK, ACK, ACK | PSH, RST, RST | ACK, FIN | ACK, 0]


@st.composite
def conversations(draw: st.DrawFn) -> list[Packet]:
    isns = [draw(st.sampled_from([0, 100, 0xFFFFFFFF])) for _ in range(2)]
    t = Talk()
    for _ in range(draw(st.integers(1, 24))):
        client = draw(st.integers(0, len(CLIENTS) - 1))
        to_server = draw(st.booleans())
        flags = draw(st.sampled_from(_FLAGS))
        base = isns[0] if to_server else isns[1]
        seq = (base + draw(st.sampled_from([0, 1, 2, 6, 50]))) & 0xFFFFFFFF
        ack = (isns[1] if to_server else isns[0]) + draw(st.sampled_from([0, 1, 6]))
        payload = draw(st.sampled_from([b"", b"", b"", b"x", b"hello"]))
        t.send(client, to_server, flags, seq=seq, ack=ack & 0xFFFFFFFF, payload=payload,
               window=draw(st.sampled_from([0, 1024, 1024])),
               dt=draw(st.sampled_from([1000, 1000, 0, -3000, 10_000])),
               missing=draw(st.sampled_from([0, 0, 0, 0, 3])))
    return t.packets


@settings(max_examples=400, deadline=None)
@given(conversations(), st.sampled_from([1, 2, 3, 65_536]), st.booleans(), st.data())
def test_records_change_nothing_on_random_packets(packets, max_flows, expire, data) -> None:
    expire_at = data.draw(st.integers(0, len(packets) - 1)) if expire else None
    _assert_same(packets, max_flows=max_flows, expire_at=expire_at)


class _RankedTable(FlowTable):
    """The eviction as it was before the heap: rank every tracked flow each time."""

    def _evict(self, events: list[FlowEvent]) -> None:
        count = max(1, self._max_flows // 16)
        for conv in heapq.nsmallest(count, self._live.values(), key=_eviction_order):
            self._forget(conv)
            if type(conv) is tuple:
                self._close_handshake(conv, "evicted", events)
            else:
                conv.close("evicted", "cap", events)


@settings(max_examples=200, deadline=None)
@given(conversations(), st.sampled_from([1, 2, 16, 32]), st.booleans())
def test_the_eviction_heap_evicts_what_ranking_every_flow_would(packets, max_flows,
                                                               records) -> None:
    """Victims and their order, with closed flows, time going backwards and stale keys."""
    # More 4-tuples than the table holds: the same packets again from other clients.
    many = []
    for n, p in enumerate(packets * 3):
        host = bytes([10, 9, n % 7, 1])  # the client's address, one of seven
        many.append(dataclasses.replace(p, frame=n + 1, src=host) if p.dport == 7110
                    else dataclasses.replace(p, frame=n + 1, dst=host))
    outputs = []
    for cls in (FlowTable, _RankedTable):
        table = cls(server_ports=frozenset({7110}), max_flows=max_flows,
                    remember_flows=False, handshake_records=records)
        out = []
        for p in many:
            out += [_render(e) for e in table.feed(p)]
        out += [_render(e) for e in table.close()]
        outputs.append(out)
    assert outputs[0] == outputs[1]


def test_the_eviction_heap_stays_bounded_without_evictions() -> None:
    """Keys pushed as time goes back and forth are dropped when mostly stale."""
    table = FlowTable(remember_flows=False)
    t = Talk().send(0, C, SYN, seq=1).send(0, S, SYN | ACK, seq=9, ack=2)
    t.send(0, C, ACK, seq=2, ack=10)
    for i in range(5000):
        t.send(0, C, ACK | PSH, seq=2 + i, ack=10, payload=b"x", dt=-10 if i % 2 else 20)
    for packet in t.packets:
        table.feed(packet)
    assert len(table._order) <= 2 * table.tracked + 1025


# ---- the pipeline on every bundled capture ----------------------------------------------

CAPTURES = sorted(p for p in (ROOT / "captures").rglob("*")
                  if p.suffix in {".pcap", ".pcapng"})


def _pipeline_outputs(path: Path, records: bool) -> list[str]:
    pipeline = Pipeline()
    pipeline.flow_table.handshake_records = records
    out: list[str] = []
    with open_capture(str(path), on_note=lambda note: out.append(repr(note))) as reader:
        for frame in reader:
            out += map(repr, pipeline.feed(frame))
    out += map(repr, pipeline.finish())
    return out


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pipeline_outputs_are_the_same_with_and_without_records(path: Path) -> None:
    assert _pipeline_outputs(path, True) == _pipeline_outputs(path, False)


def _victims(packets: list[Packet], max_flows: int, records: bool) -> list[int]:
    table = FlowTable(server_ports=frozenset({7110}), max_flows=max_flows,
                      remember_flows=False, handshake_records=records)
    closed = []
    for packet in packets:
        closed += [e.flow.id for e in table.feed(packet) if type(e) is FlowClosed]
    return closed


@pytest.mark.parametrize("records", [True, False])
def test_a_flow_whose_time_went_back_is_evicted_by_its_last_time(records: bool) -> None:
    """Flow 0 is last active (by its timestamps) before flow 1, whatever the arrival
    order: the in-order fast path and a record's packets both move its key down."""
    t = Talk()
    t.ts_ns = 30_000
    (t.send(0, C, SYN, seq=100).send(0, S, SYN | ACK, seq=500, ack=101)
     .send(0, C, ACK, seq=101, ack=501).send(0, C, ACK, seq=101, ack=501, payload=b"ab"))
    t.send(1, C, SYN, seq=7, dt=-10_000)  # flow 1 at 23,000
    t.send(0, C, ACK, seq=103, ack=501, payload=b"cd", dt=-20_000)  # flow 0 at 3,000
    t.send(2, C, SYN, seq=9, dt=30_000)  # the table (of 2) is full: one goes
    assert _victims(t.packets, 2, records) == [0]
    t = Talk()
    t.ts_ns = 30_000
    t.send(0, C, SYN, seq=100).send(1, C, SYN, seq=7, dt=-10_000)
    t.send(0, S, SYN | ACK, seq=500, ack=101, dt=-10_000)  # flow 0 (a record) at 11,000
    t.send(2, C, SYN, seq=9, dt=30_000)
    assert _victims(t.packets, 2, records) == [0]


def test_a_total_cap_already_exceeded_is_noted_on_quiet_packets_too() -> None:
    """With no room at all for out-of-order bytes, the full path notes the cap on every
    packet, a SYN included; a record would have swallowed it."""
    t = Talk().send(0, C, SYN, seq=100).send(0, S, SYN | ACK, seq=500, ack=101)
    for records in (True, False):
        table = FlowTable(max_total_buffer=-1, remember_flows=False,
                          handshake_records=records)
        kinds = [e.kind for p in t.packets for e in table.feed(p)
                 if type(e) is TransportNote]
        assert kinds == ["tcp.cap_total", "tcp.cap_total"]


def test_a_udp_conversation_whose_time_went_back_is_evicted_by_its_last_time() -> None:
    def datagram(frame: int, client: int, ts_ns: int) -> Packet:
        (addr, port), (saddr, sport) = CLIENTS[client], SERVER
        return Packet(frame, ts_ns, 4, addr, saddr, 17, port, sport, b"u")

    packets = [datagram(1, 0, 30_000), datagram(2, 1, 23_000), datagram(3, 0, 3_000),
               datagram(4, 2, 40_000)]
    assert _victims(packets, 2, True) == [0]
