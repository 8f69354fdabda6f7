"""What a capture held when no CVIP or ImageServer message was found in it.

A capture of the wrong port, file or interface has no violations to report; without this
it would pass every gate. The analysis counts the flows it is told about (every flow
closes, claimed by a protocol or not) and, when no message came, reports
``capture.no_protocol_traffic`` naming what was there and how to decode it, so a CI job
fails instead of passing on nothing.
"""

from __future__ import annotations

from collections import Counter

from cvipsniff.analysis.model import Finding
from cvipsniff.model import Flow

RULE = "capture.no_protocol_traffic"
_PORTS_SHOWN = 8


class TrafficSeen:
    """Flows by transport and server port (bounded: at most two transports × 65536
    ports, whatever the capture's size)."""

    def __init__(self) -> None:
        self.ports: dict[str, Counter[int]] = {"tcp": Counter(), "udp": Counter()}

    def flow(self, flow: Flow) -> None:
        ports = self.ports.get(flow.transport)
        if ports is None:  # (not setdefault: that builds a Counter on every call)
            ports = self.ports[flow.transport] = Counter()
        ports[flow.server[1]] += 1

    def describe(self) -> str:
        parts = []
        for transport, ports in self.ports.items():
            flows = sum(ports.values())
            if not flows:
                continue
            listed = [str(port) for port, _ in ports.most_common(_PORTS_SHOWN)]
            more = f" and {len(ports) - _PORTS_SHOWN} more" if len(ports) > _PORTS_SHOWN else ""
            parts.append(f"{flows} {transport.upper()} flow{'s' if flows != 1 else ''} on "
                         f"port{'s' if len(ports) != 1 else ''} {', '.join(listed)}{more}")
        return "; ".join(parts) if parts else "no TCP or UDP traffic at all"

    def finding(self) -> Finding:
        seen = self.describe()
        transport = "udp" if not sum(self.ports["tcp"].values()) \
            and sum(self.ports["udp"].values()) else "tcp"
        return Finding(
            rule=RULE, severity="error",
            message=f"no CVIP or ImageServer message found: {seen}; if one of these is "
            f"CVIP or ImageServer on a port of its own, try -d {transport}.port==N,cvip "
            f"(or ,imageserver)",
            spec="", frames=[], protocol="capture")
