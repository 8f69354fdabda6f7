"""Scenario → frames: the capture synthesizer's main loop.

Each conversation is laid out on its own (:mod:`.tcp` or :mod:`.udp`, with its
impairments), then all conversations are merged on the scenario's timeline and every
packet is encapsulated (TCP/UDP → IPv4/IPv6, fragmented if asked → Ethernet with VLAN
tags or Linux cooked) into numbered :class:`~cvipsniff.model.Frame` values. A
:class:`~.truth.TruthRecorder` watches every frame, so the truth file states which frames
carry which message.

Deterministic: all randomness comes from ``random.Random`` seeded by a string of
(seed, scenario name, conversation index) — string seeds are hashed with SHA-512 by
``random``, independent of ``PYTHONHASHSEED`` — and timestamps start at a fixed epoch.

Streaming: frames are produced one at a time from the merged per-conversation segment
lists (which hold slices of the scenario's own message bytes, not copies), so writing a
capture of hundreds of megabytes does not hold its frames in memory.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cvipsniff.model import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_LINUX_SLL2,
    Frame,
)
from cvipsniff.sim.synth import layers, tcp, udp
from cvipsniff.sim.synth.checksum import partial_sum
from cvipsniff.sim.synth.impairments import ImpairmentError, Impairments, coerce
from cvipsniff.sim.synth.truth import TruthRecorder
from cvipsniff.sim.transcript import Conversation, Scenario

# 2024-05-01 12:00:00 UTC. Fixed, so regenerating a capture gives identical bytes.
BASE_EPOCH_NS = 1_714_564_800 * 1_000_000_000

LINKTYPES = {"ethernet": LINKTYPE_ETHERNET, "sll": LINKTYPE_LINUX_SLL,
             "sll2": LINKTYPE_LINUX_SLL2}
CLIENT_TTL = 64  # a Linux or embedded client
SERVER_TTL = 128  # XProtect recording servers run Windows

Endpoint = tuple[str, int]


class ScenarioError(ValueError):
    """A scenario the synthesizer cannot lay out (bad address, port, transport)."""


@dataclass(slots=True)
class _Plan:
    """One conversation ready to emit: endpoints as they appear on the wire (IPv6-mapped
    when asked), its laid-out packets and per-direction IP identification counters."""

    index: int
    transport: str
    client: Endpoint
    server: Endpoint
    impairments: Impairments
    tcp: tcp.TcpLayout | None = None
    udp: udp.UdpLayout | None = None
    ip_ident: list[int] = field(default_factory=lambda: [0, 0])

    def packets(self) -> list[Any]:
        if self.tcp is not None:
            return self.tcp.segments
        assert self.udp is not None
        return self.udp.datagrams


@dataclass(slots=True)
class Synthesis:
    """An in-memory synthesis: the frames and the truth document."""

    frames: list[Frame]
    truth: dict[str, Any]
    linktype: int
    snaplen: int


class Synthesizer:
    """Lays out one scenario. Iterate :meth:`frames` once, then read :meth:`truth`.

    ``impairments`` apply to every conversation; ``per_conversation`` maps a
    conversation index to its own additional impairments (combined with the
    scenario-wide ones, its settings winning). Strings or :class:`Impairments`.
    """

    def __init__(self, scenario: Scenario,
                 impairments: Impairments | str | None = None,
                 per_conversation: Mapping[int, Impairments | str] | None = None,
                 seed: int = 0, start_ns: int = BASE_EPOCH_NS) -> None:
        self.scenario = scenario
        self.seed = seed
        self.start_ns = start_ns
        self.impairments = coerce(impairments)
        self.per_conversation = {int(k): coerce(v) for k, v in (per_conversation or {}).items()}
        for index in self.per_conversation:
            if not 0 <= index < len(scenario.conversations):
                raise ScenarioError(f"no conversation {index} in scenario {scenario.name!r}")
        self.linktype = LINKTYPES[self.impairments.link]
        self.snaplen = self.impairments.snaplen
        self.recorder = TruthRecorder(scenario, seed, self._impairment_summary())
        self.recorder.linktype = self.linktype
        self.recorder.snaplen = self.snaplen
        self._packed: dict[str, bytes] = {}
        # Per flow direction constants, computed once: the hot path only looks them up.
        self._address_sums: dict[tuple[bytes, bytes], int] = {}
        self._links: dict[tuple[int, bytes, bytes, int, tuple[int, ...]], bytes] = {}
        self._done = False

    def _impairment_summary(self) -> dict[str, Any]:
        wide = self.impairments
        capture = [item for item in wide.spec() if item.split("=")[0] in ("sll", "sll2",
                                                                           "snaplen")]
        scenario = [item for item in wide.spec() if item not in capture]
        return {
            "capture": capture,
            "scenario": scenario,
            "conversations": {str(k): v.spec() for k, v in sorted(self.per_conversation.items())},
        }

    # ---- planning ---------------------------------------------------------------------------

    def _rng(self, index: int) -> random.Random:
        return random.Random(f"cvipsniff.synth/{self.seed}/{self.scenario.name}/{index}")

    def _endpoint(self, endpoint: Any, ipv6: bool, where: str) -> Endpoint:
        try:
            host, port = endpoint
            ip = ipaddress.ip_address(host)
        except (TypeError, ValueError):
            raise ScenarioError(f"{where}: bad endpoint {endpoint!r}") from None
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ScenarioError(f"{where}: bad port in {endpoint!r}")
        text = layers.ipv6_for(str(ip)) if ipv6 else str(ip)
        return text, port

    def _plan(self, index: int, conv: Conversation) -> _Plan:
        where = f"scenario {self.scenario.name!r} conversation {index}"
        imp = self.impairments
        if index in self.per_conversation:
            try:
                imp = imp.combined(self.per_conversation[index])
            except ImpairmentError as exc:
                raise ScenarioError(f"{where}: {exc}") from None
        client = self._endpoint(conv.client, imp.ipv6, where)
        server = self._endpoint(conv.server, imp.ipv6, where)
        rng = self._rng(index)
        plan = _Plan(index, conv.transport, client, server, imp,
                     ip_ident=[rng.randrange(1 << 16), rng.randrange(1 << 16)])
        offsets: list[int] = []
        if conv.transport == "tcp":
            if _version(client[0]) != _version(server[0]):
                raise ScenarioError(f"{where}: client and server use different IP versions")
            outgoing = [tcp.Outgoing(m.direction, _ns(m.t_ms), bytes(m.data))
                        for m in conv.messages]
            for m in conv.messages:
                if m.direction not in (0, 1):
                    raise ScenarioError(f"{where}: message direction {m.direction!r}")
            offsets = tcp.message_offsets(outgoing)
            plan.tcp = tcp.layout(outgoing, imp, rng, start_ns=_ns(conv.messages[0].t_ms)
                                  if conv.messages else 0)
            layout: tcp.TcpLayout | udp.UdpLayout = plan.tcp
        elif conv.transport == "udp":
            datagrams = []
            for m_index, m in enumerate(conv.messages):
                if m.direction not in (0, 1):
                    raise ScenarioError(f"{where}: message direction {m.direction!r}")
                src = m.src or (conv.client if m.direction == 0 else conv.server)
                dst = m.dst or (conv.server if m.direction == 0 else conv.client)
                src_ep = self._endpoint(src, imp.ipv6, where)
                dst_ep = self._endpoint(dst, imp.ipv6, where)
                if _version(src_ep[0]) != _version(dst_ep[0]):
                    raise ScenarioError(f"{where}: message {m_index} mixes IP versions")
                datagrams.append(udp.Datagram(m_index, m.direction,
                                              _ns(m.t_ms) + rng.randrange(0, 150_000),
                                              src_ep, dst_ep, bytes(m.data)))
            for earlier, later in itertools.pairwise(datagrams):
                later.t_ns = max(later.t_ns, earlier.t_ns + tcp.WRITE_GAP_NS)
            plan.udp = udp.layout(datagrams, imp, rng)
            layout = plan.udp
        else:
            raise ScenarioError(f"{where}: transport {conv.transport!r} is not tcp or udp")
        self.recorder.conversation(index, client, server, layout, offsets, imp.spec())
        return plan

    # ---- emitting ---------------------------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        """Every frame of the capture, numbered from 1, in timestamp order."""
        if self._done:
            raise RuntimeError("a Synthesizer produces its frames once")
        self._done = True
        plans = [self._plan(i, conv) for i, conv in enumerate(self.scenario.conversations)]
        streams = [_timeline(plan) for plan in plans]
        number = 0
        for _, _, _, plan, packet in heapq.merge(*streams, key=lambda item: item[:3]):
            if not packet.captured:
                continue
            if plan.tcp is not None:
                built = self._tcp_frames(plan, packet, number)
            else:
                built = self._udp_frames(plan, packet, number)
            number += len(built)
            yield from built
        self.recorder.frame_count = number

    def truth(self) -> dict[str, Any]:
        if not self._done:
            raise RuntimeError("truth() is known once the frames have been produced")
        return self.recorder.render()

    def _packed_address(self, text: str) -> bytes:
        packed = self._packed.get(text)
        if packed is None:
            packed = ipaddress.ip_address(text).packed
            self._packed[text] = packed
        return packed

    def _tcp_frames(self, plan: _Plan, segment: tcp.Segment, number: int) -> list[Frame]:
        d = segment.direction
        src, dst = (plan.client, plan.server) if d == 0 else (plan.server, plan.client)
        src_ip, dst_ip = self._packed_address(src[0]), self._packed_address(dst[0])
        addresses_sum = self._address_sums.get((src_ip, dst_ip))
        if addresses_sum is None:
            addresses_sum = partial_sum(src_ip + dst_ip)
            self._address_sums[(src_ip, dst_ip)] = addresses_sum
        wire = layers.tcp_segment(src_ip, dst_ip, src[1], dst[1], segment.seq, segment.ack,
                                  segment.flags, segment.window, segment.payload,
                                  segment.options, addresses_sum)
        transport_header = len(wire) - len(segment.payload)
        frames, payload_captured, header_cut = self._encapsulate(
            plan, d, src_ip, dst_ip, layers.IPPROTO_TCP, wire, transport_header,
            segment.t_ns, number, dont_fragment=True)
        segment.frames = tuple(f.number for f in frames)
        segment.frame = segment.frames[-1]
        self.recorder.tcp_segment(plan.index, segment, payload_captured, header_cut)
        return frames

    def _udp_frames(self, plan: _Plan, datagram: udp.Datagram, number: int) -> list[Frame]:
        src_ip = self._packed_address(datagram.src[0])
        dst_ip = self._packed_address(datagram.dst[0])
        wire = layers.udp_datagram(src_ip, dst_ip, datagram.src[1], datagram.dst[1],
                                   datagram.payload)
        frames, payload_captured, _ = self._encapsulate(
            plan, datagram.direction, src_ip, dst_ip, layers.IPPROTO_UDP, wire,
            layers.UDP_HEADER_LEN, datagram.t_ns, number, dont_fragment=False)
        datagram.frames = tuple(f.number for f in frames)
        datagram.frame = datagram.frames[-1]
        self.recorder.udp_datagram(plan.index, datagram, payload_captured)
        return frames

    def _encapsulate(self, plan: _Plan, direction: int, src_ip: bytes, dst_ip: bytes,
                     protocol: int, wire: bytes, transport_header: int, t_ns: int,
                     number: int, dont_fragment: bool) -> tuple[list[Frame], int, bool]:
        """IP (fragmented if asked) and link layer around one transport segment.

        Returns the frames, how many transport payload bytes the capture holds (all or
        nothing for a fragmented datagram: a reassembler needs every fragment whole) and
        whether snaplen cut into the transport header itself.
        """
        imp = plan.impairments
        ttl = CLIENT_TTL if direction == 0 else SERVER_TTL
        ident = plan.ip_ident[direction]
        plan.ip_ident[direction] = (ident + 1) & 0xFFFF
        v6 = len(src_ip) == 16
        ip_header_len = layers.IPV6_HEADER_LEN if v6 else layers.IPV4_HEADER_LEN
        mtu = imp.ipfrag
        if mtu and ip_header_len + len(wire) > mtu:
            datagrams = self._fragments(v6, src_ip, dst_ip, protocol, wire, ident, ttl, mtu)
        else:
            if v6:
                header = layers.ipv6_header(src_ip, dst_ip, protocol, len(wire), ttl)
            else:
                header = layers.ipv4_header(src_ip, dst_ip, protocol, len(wire), ident, ttl,
                                            dont_fragment=dont_fragment and not mtu)
            datagrams = [header + wire]
        ethertype = layers.ETHERTYPE_IPV6 if v6 else layers.ETHERTYPE_IPV4
        key = (direction, src_ip, dst_ip, ethertype, imp.vlans)
        link = self._links.get(key)
        if link is None:
            link = self._link_header(direction, src_ip, dst_ip, ethertype, imp.vlans)
            self._links[key] = link
        ts_ns = self.start_ns + t_ns
        frames = []
        whole = True
        payload_captured = len(wire) - transport_header
        header_cut = False
        for i, datagram in enumerate(datagrams):
            data = link + datagram
            cut = data
            if self.snaplen and len(data) > self.snaplen:
                cut = data[: self.snaplen]
                whole = False
                if len(datagrams) == 1:
                    payload_room = self.snaplen - len(link) - ip_header_len - transport_header
                    header_cut = payload_room < 0
                    payload_captured = max(0, payload_room)
            frames.append(Frame(number + i + 1, ts_ns, len(cut), len(data), self.linktype,
                                cut))
        if len(datagrams) > 1 and not whole:
            payload_captured = 0
        return frames, payload_captured, header_cut

    def _fragments(self, v6: bool, src_ip: bytes, dst_ip: bytes, protocol: int, wire: bytes,
                   ident: int, ttl: int, mtu: int) -> list[bytes]:
        out = []
        position = 0
        if v6:
            room = mtu - layers.IPV6_HEADER_LEN - layers.IPV6_FRAGMENT_HEADER_LEN
            sizes = layers.fragment_sizes(len(wire), room)
            for n, size in enumerate(sizes):
                more = n < len(sizes) - 1
                frag = layers.ipv6_fragment_header(protocol, position, more, ident)
                header = layers.ipv6_header(src_ip, dst_ip, layers.IPPROTO_IPV6_FRAGMENT,
                                            len(frag) + size, ttl)
                out.append(header + frag + wire[position:position + size])
                position += size
        else:
            sizes = layers.fragment_sizes(len(wire), mtu - layers.IPV4_HEADER_LEN)
            for n, size in enumerate(sizes):
                more = n < len(sizes) - 1
                header = layers.ipv4_header(src_ip, dst_ip, protocol, size, ident, ttl,
                                            fragment_offset=position, more_fragments=more)
                out.append(header + wire[position:position + size])
                position += size
        return out

    def _link_header(self, direction: int, src_ip: bytes, dst_ip: bytes, ethertype: int,
                     vlans: tuple[int, ...]) -> bytes:
        src_mac = layers.mac_for(src_ip)
        if self.linktype == LINKTYPE_ETHERNET:
            return layers.ethernet(layers.mac_for(dst_ip), src_mac, ethertype, vlans)
        # Cooked captures are taken on the client host: its packets are outgoing.
        if direction == 0:
            packet_type = layers.SLL_OUTGOING
        elif layers.is_group_address(dst_ip):
            packet_type = layers.SLL_BROADCAST if dst_ip[-1] == 0xFF else layers.SLL_MULTICAST
        else:
            packet_type = layers.SLL_HOST
        if self.linktype == LINKTYPE_LINUX_SLL:
            return layers.linux_sll(packet_type, src_mac, ethertype, vlans)
        return layers.linux_sll2(packet_type, src_mac, ethertype, vlans=vlans)


def _timeline(plan: _Plan) -> Iterator[tuple[int, int, int, _Plan, Any]]:
    """A conversation's packets keyed for merging: (time, conversation, position)."""
    for n, packet in enumerate(plan.packets()):
        yield packet.t_ns, plan.index, n, plan, packet


def _ns(t_ms: float) -> int:
    return round(t_ms * 1_000_000)


def _version(address: str) -> int:
    return ipaddress.ip_address(address).version


def synthesize(scenario: Scenario, impairments: Impairments | str | None = None,
               per_conversation: Mapping[int, Impairments | str] | None = None,
               seed: int = 0, start_ns: int = BASE_EPOCH_NS) -> Synthesis:
    """Lay out a scenario in memory (tests, small captures)."""
    synth = Synthesizer(scenario, impairments, per_conversation, seed, start_ns)
    frames = list(synth.frames())
    return Synthesis(frames, synth.truth(), synth.linktype, synth.snaplen)
