"""``-z conv,tcp|udp``: conversations by address and port pair, counted the way tshark
counts them: every frame of the transport (handshakes and bare ACKs included) and its
bytes on the wire (``frame.len``). A is the source of the conversation's first frame;
rows are sorted by frames, then bytes, as tshark sorts them. Bytes are exact (tshark
abbreviates them: "161 kB")."""

from __future__ import annotations

from dataclasses import dataclass

from cvipsniff.model import Frame, Packet
from cvipsniff.packets.addresses import format_address
from cvipsniff.render import endpoint_text
from cvipsniff.taps.base import RULE, Tap

_PROTOCOLS = {"tcp": 6, "udp": 17}


@dataclass(slots=True)
class Conversation:
    a: tuple[str, int]
    b: tuple[str, int]
    a_raw: tuple[bytes, int]  # A as the packets carry it, to tell directions apart
    first_ns: int
    last_ns: int
    frames_ab: int = 0
    bytes_ab: int = 0
    frames_ba: int = 0
    bytes_ba: int = 0

    @property
    def frames(self) -> int:
        return self.frames_ab + self.frames_ba

    @property
    def bytes(self) -> int:
        return self.bytes_ab + self.bytes_ba


class ConvTap(Tap):
    wants_frames = True

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self._protocol = _PROTOCOLS[transport]
        self.conversations: dict[tuple, Conversation] = {}
        self.first_ns: int | None = None

    def frame(self, frame: Frame, packet: Packet | None) -> None:
        if self.first_ns is None:
            self.first_ns = frame.ts_ns
        if packet is None or packet.transport != self._protocol:
            return
        src = (packet.src, packet.sport)
        dst = (packet.dst, packet.dport)
        key = (src, dst) if src <= dst else (dst, src)
        conv = self.conversations.get(key)
        if conv is None:
            conv = self.conversations[key] = Conversation(
                (format_address(packet.src), packet.sport),
                (format_address(packet.dst), packet.dport), src, frame.ts_ns, frame.ts_ns)
        conv.last_ns = max(conv.last_ns, frame.ts_ns)
        if conv.a_raw == src:
            conv.frames_ab += 1
            conv.bytes_ab += frame.origlen
        else:
            conv.frames_ba += 1
            conv.bytes_ba += frame.origlen

    def rows(self) -> list[Conversation]:
        return sorted(self.conversations.values(),
                      key=lambda c: (-c.frames, -c.bytes, c.first_ns))

    def render(self) -> str:
        first = self.first_ns or 0
        lines = [RULE, f"{self.transport.upper()} Conversations", "Filter:<No Filter>",
                 f"{'':<50} | {'<-':^17} | | {'->':^17} | | {'Total':^17} | "
                 f"{'Relative':>12} | {'Duration':>10} |",
                 f"{'':<50} | {'Frames':>6} {'Bytes':>10} | | {'Frames':>6} {'Bytes':>10} | | "
                 f"{'Frames':>6} {'Bytes':>10} | {'Start':>12} | {'':>10} |"]
        for c in self.rows():
            ends = f"{endpoint_text(c.a):<23} <-> {endpoint_text(c.b):<23}"
            lines.append(f"{ends:<50}   {c.frames_ba:>6} {c.bytes_ba:>10}     "
                         f"{c.frames_ab:>6} {c.bytes_ab:>10}     {c.frames:>6} {c.bytes:>10}   "
                         f"{(c.first_ns - first) / 1e9:>12.9f}   "
                         f"{(c.last_ns - c.first_ns) / 1e9:>10.4f}")
        lines.append(RULE)
        return "\n".join(lines) + "\n"
