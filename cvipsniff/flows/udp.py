"""UDP conversations: no reassembly, one ``Datagram`` event per payload.

UDP has no sequence numbers, so a datagram the capture saw twice (a switch mirroring
both directions, an interface captured twice) looks like a resend. Like editcap's
duplicate removal, a datagram identical to the previous one of the same direction and
arriving within ``DUPLICATE_WINDOW_NS`` is taken as a capture duplicate: counted and
noted (``udp.duplicate``), not handed on. An application's own retry comes after a
timeout far longer than that window, and is handed on as a new datagram.
"""

from __future__ import annotations

from cvipsniff.model import Datagram, Flow, FlowClosed, FlowEvent, Packet, TransportNote

DUPLICATE_WINDOW_NS = 1_000_000  # 1 ms


class UdpConversation:
    """The datagrams exchanged between two UDP endpoints (keyed by the 5-tuple)."""

    __slots__ = ("closed", "flow", "keys", "last")

    def __init__(self, flow: Flow, keys: tuple[tuple, tuple]) -> None:
        self.flow = flow
        self.keys = keys
        self.closed: str | None = None
        # Per direction: (payload, time) of the previous datagram, for duplicates.
        self.last: list[tuple[bytes, int] | None] = [None, None]

    def receive(self, direction: int, packet: Packet) -> list[FlowEvent]:
        flow = self.flow
        flow.last_ts_ns = packet.ts_ns
        payload = packet.payload
        stats = flow.stats[direction]
        stats.packets += 1
        stats.bytes += len(payload) + packet.missing
        previous = self.last[direction]
        self.last[direction] = (payload, packet.ts_ns)
        if previous is not None and previous[0] == payload \
                and 0 <= packet.ts_ns - previous[1] <= DUPLICATE_WINDOW_NS:
            stats.retransmissions += 1
            return [TransportNote(
                "udp.duplicate", "info",
                f"datagram identical to the previous one {packet.ts_ns - previous[1]} ns "
                "earlier: a capture duplicate, not handed on", packet.frame, flow, direction)]
        stats.delivered += len(payload)
        event = Datagram(flow, direction, payload, packet.frame, packet.ts_ns)
        if not packet.missing:
            return [event]
        # Cut by snaplen: the datagram is handed on as captured, and the loss is said.
        stats.gaps += 1
        stats.gap_bytes += packet.missing
        return [event, TransportNote(
            "udp.truncated", "warning",
            f"datagram cut by the capture's snaplen: {packet.missing} of "
            f"{len(payload) + packet.missing} bytes missing", packet.frame, flow, direction)]

    def close(self, reason: str, hole_reason: str, events: list[FlowEvent]) -> None:
        if self.closed is None:
            self.closed = self.flow.closed = reason
            events.append(FlowClosed(self.flow, reason))
