"""The truth file: what a capture contains, frame by frame, as the synthesizer made it.

The packetizer reports every frame it writes to a :class:`TruthRecorder`; at the end the
recorder knows, for each message, which frames first carried its bytes, and for each flow
direction which bytes the capture is missing. The schema is documented in
``captures/README.md`` (section "Truth files"); ``TRUTH_FORMAT`` changes whenever it does.

Definitions that matter when comparing with an analyser:

* **flows** are numbered from 0 in order of their first captured packet, TCP and UDP
  together (like Wireshark's ``tcp.stream``, one numbering). A TCP conversation is one
  flow; UDP flows are keyed by their address/port pair, so a broadcast ping answered by
  three devices spans four flows. Direction 0 is client → server.
* a message's **frames** are those that *first* carried any of its bytes, in the order
  of the bytes they carried (Wireshark's "reassembled TCP segments" order; a duplicate
  or retransmission of bytes already seen is not listed; for a fragmented IP datagram the
  frame completing it). ``complete_frame`` is the highest of them, where an analyser
  completes the message.
* **offsets** count from the first byte after the SYN, or in a flow captured mid-session
  from the sequence number of the first packet seen in that direction.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from cvipsniff.sim.synth.tcp import (
    SEQ_MOD,
    TAG_AHEAD,
    TAG_CONFLICT,
    TAG_DUPLICATE,
    TAG_RETRANSMISSION,
    Event,
    Segment,
    TcpLayout,
)
from cvipsniff.sim.synth.udp import Datagram, UdpEvent, UdpLayout
from cvipsniff.sim.transcript import Scenario

TRUTH_FORMAT = "cvipsniff-truth/1"

Endpoint = tuple[str, int]

# Kinds that answer a request; everything else that is not a response opens a transaction.
_PUSHED_KINDS = frozenset({"imageresponse", "livepackage"})


@dataclass(slots=True)
class _FlowTruth:
    id: int
    transport: str
    client: Endpoint
    server: Endpoint
    first_frame: int
    conversation: int
    mid_session: bool


@dataclass(slots=True)
class _Direction:
    """What the capture holds of one direction of one TCP conversation."""

    pieces: list[tuple[int, int, int]] = field(default_factory=list)  # start, end, frame
    covered: list[list[int]] = field(default_factory=list)  # disjoint sorted [start, end]
    truncated: list[tuple[int, int, int]] = field(default_factory=list)  # start, end, frame
    packets: list[tuple[int, int]] = field(default_factory=list)  # seq offset, frame
    base: int | None = None
    fragments: dict[int, tuple[int, ...]] = field(default_factory=dict)  # frame → all
    _sorted: list[tuple[int, int, int]] | None = None

    def pieces_sorted(self) -> list[tuple[int, int, int]]:
        """Pieces by stream offset (sorted once, when the capture is complete)."""
        if self._sorted is None or len(self._sorted) != len(self.pieces):
            self._sorted = sorted(self.pieces)
        return self._sorted

    def add(self, start: int, end: int, frame: int) -> None:
        """Record bytes ``[start, end)`` seen in ``frame``; only never-seen parts count."""
        if end <= start:
            return
        covered = self.covered
        if not covered or start >= covered[-1][1]:  # the common case: in order
            if covered and start == covered[-1][1]:
                covered[-1][1] = end
            else:
                covered.append([start, end])
            self.pieces.append((start, end, frame))
            return
        i = bisect.bisect_right(covered, [start, SEQ_MOD << 8]) - 1
        i = max(i, 0)
        cursor = start
        new: list[tuple[int, int]] = []
        while cursor < end:
            if i < len(covered) and covered[i][0] <= cursor < covered[i][1]:
                cursor = covered[i][1]
                i += 1
                continue
            if i < len(covered) and covered[i][1] <= cursor:
                i += 1
                continue
            stop = min(end, covered[i][0]) if i < len(covered) else end
            new.append((cursor, stop))
            cursor = stop
        for s, e in new:
            self.pieces.append((s, e, frame))
            bisect.insort(covered, [s, e])
        merged: list[list[int]] = []
        for interval in covered:
            if merged and interval[0] <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], interval[1])
            else:
                merged.append(interval)
        self.covered = merged


class TruthRecorder:
    """Collects what the packetizer wrote and renders the truth document."""

    def __init__(self, scenario: Scenario, seed: int, impairments: dict[str, Any]) -> None:
        self.scenario = scenario
        self.seed = seed
        self.impairments = impairments
        self.flows: list[_FlowTruth] = []
        self._tcp_flows: dict[int, _FlowTruth] = {}
        self._udp_flows: dict[tuple[str, frozenset[Endpoint]], _FlowTruth] = {}
        self._directions: dict[tuple[int, int], _Direction] = defaultdict(_Direction)
        self._udp_frames: dict[tuple[int, int], list[Datagram]] = defaultdict(list)
        self._udp_captured: dict[int, int] = {}  # id(datagram) → payload bytes captured
        self._conversation_impairments: dict[int, list[str]] = {}
        self._endpoints: dict[int, tuple[Endpoint, Endpoint]] = {}
        self._layouts: dict[int, TcpLayout | UdpLayout] = {}
        self._offsets: dict[int, list[int]] = {}
        self.frame_count = 0
        self.linktype = 0
        self.snaplen = 0

    # ---- set-up -------------------------------------------------------------------------

    def conversation(self, index: int, client: Endpoint, server: Endpoint,
                     layout: TcpLayout | UdpLayout, offsets: list[int],
                     impairments: list[str]) -> None:
        self._endpoints[index] = (client, server)
        self._layouts[index] = layout
        self._offsets[index] = offsets
        self._conversation_impairments[index] = impairments

    # ---- per frame ------------------------------------------------------------------------

    def _tcp_flow(self, conversation: int, frame: int) -> _FlowTruth:
        flow = self._tcp_flows.get(conversation)
        if flow is None:
            client, server = self._endpoints[conversation]
            layout = self._layouts[conversation]
            flow = _FlowTruth(len(self.flows), "tcp", client, server, frame, conversation,
                              layout.mid_session)
            self.flows.append(flow)
            self._tcp_flows[conversation] = flow
        return flow

    def _udp_flow(self, conversation: int, datagram: Datagram, frame: int) -> _FlowTruth:
        key = ("udp", frozenset((datagram.src, datagram.dst)))
        flow = self._udp_flows.get(key)
        if flow is None:
            if datagram.direction == 0:
                client, server = datagram.src, datagram.dst
            else:
                client, server = datagram.dst, datagram.src
            # UDP has no handshake, so no UDP flow is "mid-session" (as the flow table).
            flow = _FlowTruth(len(self.flows), "udp", client, server, frame, conversation,
                              False)
            self.flows.append(flow)
            self._udp_flows[key] = flow
        return flow

    def tcp_segment(self, conversation: int, segment: Segment, captured_payload: int,
                    header_cut: bool) -> None:
        """A captured segment: ``captured_payload`` of its payload bytes are in the file
        (fewer than its length when snaplen cut the frame; 0 for a fragmented datagram
        that could not be captured whole). ``header_cut``: not even the TCP header."""
        self._tcp_flow(conversation, segment.frame)
        direction = self._directions[(conversation, segment.direction)]
        if not header_cut:
            # How far this packet shows the stream went: a data segment's end, a FIN's
            # or pure ACK's position (the next byte).
            position = max(segment.position, 0)
            if direction.base is None:
                direction.base = position
            direction.packets.append((position + len(segment.payload), segment.frame))
        if len(segment.frames) > 1:
            direction.fragments[segment.frame] = segment.frames
        payload_len = len(segment.payload)
        if captured_payload > 0 and not header_cut:
            direction.add(segment.offset, segment.offset + captured_payload, segment.frame)
        if captured_payload < payload_len:
            direction.truncated.append((segment.offset + max(captured_payload, 0),
                                        segment.offset + payload_len, segment.frame))

    def udp_datagram(self, conversation: int, datagram: Datagram, captured_payload: int) -> None:
        self._udp_flow(conversation, datagram, datagram.frame)
        self._udp_frames[(conversation, datagram.message)].append(datagram)
        self._udp_captured[id(datagram)] = captured_payload

    # ---- rendering --------------------------------------------------------------------------

    def render(self) -> dict[str, Any]:
        """The truth document (plain JSON data, deterministic order)."""
        messages = self._messages()
        doc: dict[str, Any] = {
            "format": TRUTH_FORMAT,
            "scenario": {
                "name": self.scenario.name,
                "description": self.scenario.description,
                "notes": _jsonable(self.scenario.notes),
            },
            "seed": self.seed,
            "linktype": self.linktype,
            "snaplen": self.snaplen,
            "frame_count": self.frame_count,
            "impairments": self.impairments,
            "flows": [self._flow_json(f) for f in self.flows],
            "messages": messages,
            "transactions": _transactions(messages),
            "violations": _violations(messages),
            "transport_findings": self._transport_findings(),
            "impairment_events": self._events(),
        }
        return doc

    def _flow_json(self, flow: _FlowTruth) -> dict[str, Any]:
        return {
            "id": flow.id,
            "transport": flow.transport,
            "client": list(flow.client),
            "server": list(flow.server),
            "first_frame": flow.first_frame,
            "mid_session": flow.mid_session,
            "conversation": flow.conversation,
            "impairments": self._conversation_impairments.get(flow.conversation, []),
        }

    def _messages(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        index = 0
        for c, conv in enumerate(self.scenario.conversations):
            client, server = self._endpoints[c]
            for m, msg in enumerate(conv.messages):
                truth = msg.truth
                entry: dict[str, Any] = {
                    "index": index,
                    "conversation": c,
                    "protocol": truth.protocol,
                    "kind": truth.kind,
                    "txn": truth.txn,
                    "method": truth.method,
                    "is_response": truth.is_response,
                    "violations": list(truth.violations),
                    "t_ms": msg.t_ms,
                    "length": len(msg.data),
                }
                if truth.answers is not None:
                    entry["answers"] = truth.answers
                if conv.transport == "tcp":
                    entry.update(self._tcp_message(c, m, msg.direction, len(msg.data),
                                                   client, server))
                else:
                    entry.update(self._udp_message(c, m, len(msg.data)))
                out.append(entry)
                index += 1
        return out

    def _tcp_message(self, c: int, m: int, direction: int, length: int, client: Endpoint,
                     server: Endpoint) -> dict[str, Any]:
        flow = self._tcp_flows.get(c)
        d = self._directions.get((c, direction))
        start = self._offsets[c][m]
        end = start + length
        src, dst = (client, server) if direction == 0 else (server, client)
        frames: list[int] = []
        captured = 0
        base = 0
        if d is not None:
            base = d.base or 0
            for s, e, frame in _overlapping(d.pieces_sorted(), start, end):
                captured += min(e, end) - max(s, start)
                frames.append(frame)
        frames = list(dict.fromkeys(frames))  # stream order, each frame once
        entry: dict[str, Any] = {
            "flow": flow.id if flow is not None else None,
            "direction": direction,
            "src": list(src),
            "dst": list(dst),
            "offset": start - base,
            "frames": frames,
            "complete_frame": max(frames) if frames and captured == length else None,
            "lost": captured < length,
        }
        if captured < length:
            entry["captured_bytes"] = captured
        if d is not None and d.fragments:
            all_frames = sorted({f for frame in frames for f in d.fragments.get(frame, (frame,))})
            if set(all_frames) != set(frames):
                entry["fragment_frames"] = all_frames
        return entry

    def _udp_message(self, c: int, m: int, length: int) -> dict[str, Any]:
        copies = self._udp_frames.get((c, m), [])
        layout = self._layouts[c]
        sent = [d for d in layout.datagrams if d.message == m]  # type: ignore[union-attr]
        first = sent[0] if sent else None
        entry: dict[str, Any] = {}
        if first is not None:
            flow = self._udp_flows.get(("udp", frozenset((first.src, first.dst))))
            entry["flow"] = flow.id if flow is not None else None
            entry["direction"] = first.direction
            entry["src"] = list(first.src)
            entry["dst"] = list(first.dst)
        entry["offset"] = 0
        if copies:
            primary = copies[0]
            captured = self._udp_captured.get(id(primary), 0)
            entry["frames"] = [primary.frame]
            entry["complete_frame"] = primary.frame if captured == length else None
            entry["lost"] = captured < length
            if captured < length:
                entry["captured_bytes"] = captured
            if len(primary.frames) > 1:
                entry["fragment_frames"] = list(primary.frames)
            if len(copies) > 1:
                entry["duplicate_frames"] = [d.frame for d in copies[1:]]
        else:
            entry.update(frames=[], complete_frame=None, lost=True, captured_bytes=0)
        return entry

    def _transport_findings(self) -> list[dict[str, Any]]:
        findings: list[dict[str, Any]] = []
        for c, layout in self._layouts.items():
            if not isinstance(layout, TcpLayout):
                continue
            flow = self._tcp_flows.get(c)
            if flow is None:
                continue
            for direction in (0, 1):
                d = self._directions.get((c, direction))
                if d is not None:
                    findings.extend(_gaps(d, flow.id, direction))
            for s in layout.segments:
                kind = _FINDING_OF_TAG.get(s.tag)
                if kind is None or not s.captured:
                    continue
                partner = _partner(layout.events, s)
                if partner is None or not partner.captured:
                    continue  # nothing to compare with in this capture
                findings.append({
                    "kind": kind,
                    "flow": flow.id,
                    "direction": s.direction,
                    "frame": s.frame,
                    "frames": sorted((partner.frame, s.frame)),
                    "offset": s.offset - self._base(c, s.direction),
                    "length": len(s.payload),
                })
        findings.sort(key=lambda f: (f["frame"], f["kind"]))
        return findings

    def _events(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for c, layout in self._layouts.items():
            if isinstance(layout, TcpLayout):
                flow = self._tcp_flows.get(c)
                for ev in layout.events:
                    entry: dict[str, Any] = {
                        "impairment": ev.name,
                        "conversation": c,
                        "flow": flow.id if flow is not None else None,
                        "direction": ev.direction,
                        "frames": [s.frame for s in ev.segments if s.captured],
                        "packets": len(ev.segments),
                    }
                    if ev.name != "midstream":
                        entry["offset"] = ev.offset - self._base(c, ev.direction)
                        entry["length"] = ev.length
                    out.append(entry)
            else:
                for uev in layout.events:
                    out.append(self._udp_event(c, uev))
        return out

    def _base(self, conversation: int, direction: int) -> int:
        """Where an analyser's offsets start in this direction (see module docstring)."""
        d = self._directions.get((conversation, direction))
        return (d.base or 0) if d is not None else 0

    def _udp_event(self, c: int, ev: UdpEvent) -> dict[str, Any]:
        flows = sorted({f.id for d in ev.datagrams
                        if (f := self._udp_flows.get(("udp", frozenset((d.src, d.dst)))))})
        return {
            "impairment": ev.name,
            "conversation": c,
            "flows": flows,
            "frames": [d.frame for d in ev.datagrams if d.captured],
            "packets": len(ev.datagrams),
        }


def _overlapping(pieces: list[tuple[int, int, int]], start: int,
                 end: int) -> list[tuple[int, int, int]]:
    """Pieces (sorted by start, disjoint) that overlap ``[start, end)``."""
    i = bisect.bisect_right(pieces, (start, SEQ_MOD << 8, 0)) - 1
    i = max(i, 0)
    out = []
    while i < len(pieces) and pieces[i][0] < end:
        if pieces[i][1] > start:
            out.append(pieces[i])
        i += 1
    return out


_FINDING_OF_TAG = {
    TAG_DUPLICATE: "tcp.retransmission",
    TAG_RETRANSMISSION: "tcp.retransmission",
    TAG_CONFLICT: "tcp.overlap_conflict",
    TAG_AHEAD: "tcp.out_of_order",
}


def _partner(events: list[Event], segment: Segment) -> Segment | None:
    """The segment a tagged one is noticed against: the first copy of re-sent bytes, or
    for out-of-order data the earlier bytes it overtook."""
    for ev in events:
        if segment not in ev.segments:
            continue
        if segment.tag == TAG_AHEAD:
            return ev.segments[-1]  # reorder: (ahead, late); conflict: (ahead, R, late)
        if ev.segments.index(segment) == 1:
            return ev.segments[0]
    return None


def _gaps(d: _Direction, flow: int, direction: int) -> list[dict[str, Any]]:
    """Bytes an analyser can tell are missing: holes between the first packet seen and
    the furthest sequence number seen in this direction."""
    if d.base is None:
        return []
    evidence = max((seq for seq, _ in d.packets), default=d.base)
    pieces = d.pieces_sorted()
    first_frame_at = {s: f for s, _, f in pieces}
    ends_at = {e: f for _, e, f in pieces}
    out = []
    cursor = d.base
    holes: list[tuple[int, int]] = []
    for interval in d.covered:
        if interval[0] > cursor:
            holes.append((cursor, interval[0]))
        cursor = max(cursor, interval[1])
    if evidence > cursor:
        holes.append((cursor, evidence))
    for start, end in holes:
        if end <= start or end <= d.base:
            continue
        start = max(start, d.base)
        cut_by = [f for s, e, f in d.truncated if s <= start and end <= e]
        frame_before = ends_at.get(start, 0)
        frame_after = first_frame_at.get(end, 0)
        if not frame_after:
            later = [f for seq, f in d.packets if seq >= end]
            frame_after = min(later) if later else 0
        reason = "snaplen" if cut_by else "lost"
        out.append({
            "kind": "tcp.gap",
            "flow": flow,
            "direction": direction,
            "offset": start - d.base,
            "length": end - start,
            "reason": reason,
            "frame": cut_by[0] if cut_by else frame_after,
            "frame_before": frame_before,
            "frame_after": frame_after,
        })
    return out


def _transactions(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requests paired with what answered them, per conversation, protocol, transaction
    number and requesting direction. An event (a unit-initiated call) is a transaction
    only when something answered it: events are often fire-and-forget notifications.

    Requests reusing a number queue behind each other: an answer goes to the oldest
    request still without one (first in, first out); once all have one, further answers
    join the newest (a live stream, a broadcast ping answered by several units)."""
    open_: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    out: list[dict[str, Any]] = []
    for msg in messages:
        txn_id = msg["txn"] if msg["txn"] is not None else msg.get("answers")
        if txn_id is None:
            continue
        requester = msg.get("direction", 0) if not msg["is_response"] else None
        if not msg["is_response"] and msg["kind"] not in _PUSHED_KINDS:
            txn = {
                "protocol": msg["protocol"],
                "txn": msg["txn"],
                "method": msg["method"],
                "conversation": msg["conversation"],
                "flow": msg.get("flow"),
                "request": msg["index"],
                "request_frame": msg.get("complete_frame"),
                "responses": [],
                "response_frames": [],
                "response_kinds": [],
                "answered": False,
            }
            key = (msg["conversation"], msg["protocol"], msg["txn"], requester)
            open_.setdefault(key, []).append(txn)
            out.append(txn)
            continue
        direction = msg.get("direction", 1)
        key = (msg["conversation"], msg["protocol"], txn_id, 1 - direction)
        queue = open_.get(key)
        if not queue:
            # UDP answers come from other flows: match on conversation only.
            queue = next((q for k, q in reversed(open_.items()) if k[:3] == key[:3] and q),
                         None)
        txn = None
        if queue:
            txn = next((t for t in queue if not t["answered"]), queue[-1])
        if txn is None:
            out.append({
                "protocol": msg["protocol"],
                "txn": msg["txn"],
                "method": msg["method"],
                "conversation": msg["conversation"],
                "flow": msg.get("flow"),
                "request": None,
                "request_frame": None,
                "responses": [msg["index"]],
                "response_frames": [msg.get("complete_frame")],
                "response_kinds": [msg["kind"]],
                "answered": True,
                "orphan": True,
            })
            continue
        txn["responses"].append(msg["index"])
        txn["response_frames"].append(msg.get("complete_frame"))
        txn["response_kinds"].append(msg["kind"])
        txn["answered"] = True
    by_index = {m["index"]: m for m in messages}
    return [t for t in out if t["answered"] or t["request"] is None
            or by_index[t["request"]]["kind"] != "event"]


def _violations(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for msg in messages:
        for rule in msg["violations"]:
            out.append({
                "rule": rule,
                "message": msg["index"],
                "protocol": msg["protocol"],
                "txn": msg["txn"],
                "flow": msg.get("flow"),
                "frames": msg["frames"],
                "complete_frame": msg["complete_frame"],
                "lost": msg["lost"],
            })
    return out


def _jsonable(value: Any) -> Any:
    """Scenario notes as JSON data: containers kept, anything else as its repr."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    return repr(value)
