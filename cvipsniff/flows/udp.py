"""UDP conversations: no reassembly, one ``Datagram`` event per payload."""

from __future__ import annotations

from cvipsniff.model import Datagram, Flow, FlowClosed, FlowEvent, Packet, TransportNote


class UdpConversation:
    """The datagrams exchanged between two UDP endpoints (keyed by the 5-tuple)."""

    __slots__ = ("closed", "flow", "keys")

    def __init__(self, flow: Flow, keys: tuple[tuple, tuple]) -> None:
        self.flow = flow
        self.keys = keys
        self.closed: str | None = None

    def receive(self, direction: int, packet: Packet) -> list[FlowEvent]:
        flow = self.flow
        flow.last_ts_ns = packet.ts_ns
        payload = packet.payload
        stats = flow.stats[direction]
        stats.packets += 1
        stats.bytes += len(payload) + packet.missing
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
