"""Impairments: what can go wrong between two peers and a capture, as data.

An :class:`Impairments` value says which faults to inject; it is parsed from the
comma-separated form users type (``--impair loss,reorder=2,vlan=100,snaplen=96``) and
written back in the same canonical form into truth files, so a capture states exactly
how it was made.

Two scopes: most impairments apply per conversation (a scenario-wide set is combined
with per-conversation overrides); the link type (``sll``, ``sll2``) and ``snaplen`` are
properties of the whole capture file and may only be set scenario-wide.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

DEFAULT_MSS = 1448
DEFAULT_FRAGMENT_MTU = 576  # the IPv4 minimum every host must accept (RFC 791)
DEFAULT_SNAPLEN = 96
DEFAULT_MIDSTREAM = 3

# name → (what it does, how its value reads); the README's table is this table.
CATALOGUE: dict[str, tuple[str, str]] = {
    "split-header": ("cut each message's first segment inside its first 9 bytes "
                     "(inside the protocol header)", ""),
    "coalesce": ("send runs of consecutive same-direction messages in shared segments "
                 "(several messages per segment, boundaries mid-message)",
                 "most messages per run, default 4"),
    "reorder": ("swap a data segment with the next one of its direction", "count, default 1"),
    "duplicate": ("capture a data segment twice", "count, default 1"),
    "retransmit": ("repacketized retransmission overlapping old and new data, same bytes",
                   "count, default 1"),
    "conflict": ("overlapping retransmission whose overlapping bytes differ",
                 "count, default 1"),
    "loss": ("a data segment (or datagram) missing from the capture", "count, default 1"),
    "late": ("a data segment the capture shows only after the peer's ACK for it (capture "
             "reordering; the receiver had it in time)", "count, default 1"),
    "wrap": ("initial sequence numbers just below 2**32 so the stream crosses the wrap", ""),
    "midstream": ("capture starts after the handshake and the next N packets",
                  f"N, default {DEFAULT_MIDSTREAM}"),
    "ipv6": ("carry the conversation over IPv6 (IPv4 addresses mapped into 2001:db8::/32)",
             ""),
    "vlan": ("one 802.1Q tag", "VLAN id, default 100"),
    "qinq": ("stacked 802.1ad + 802.1Q tags", "OUTER:INNER ids, default 300:100"),
    "ipfrag": ("fragment IP datagrams larger than an MTU", f"MTU, default {DEFAULT_FRAGMENT_MTU}"),
    "mss": ("TCP maximum segment size", f"bytes, default {DEFAULT_MSS}"),
    "sll": ("capture-wide: Linux cooked capture v1 link layer", ""),
    "sll2": ("capture-wide: Linux cooked capture v2 link layer", ""),
    "snaplen": ("capture-wide: cut every frame to N bytes", f"N, default {DEFAULT_SNAPLEN}"),
}

CAPTURE_WIDE = frozenset({"sll", "sll2", "snaplen"})


class ImpairmentError(ValueError):
    """An impairment list that cannot be understood (bad name or value)."""


@dataclass(frozen=True, slots=True)
class Impairments:
    """A set of impairments. Counts of 0 and empty values mean "off"."""

    split_header: bool = False
    coalesce: int = 0
    reorder: int = 0
    duplicate: int = 0
    retransmit: int = 0
    conflict: int = 0
    loss: int = 0
    late: int = 0
    wrap: bool = False
    midstream: int | None = None  # packets dropped after the handshake; None = off
    ipv6: bool = False
    vlans: tuple[int, ...] = ()
    ipfrag: int = 0
    mss: int = DEFAULT_MSS
    link: str = "ethernet"  # capture-wide: "ethernet", "sll" or "sll2"
    snaplen: int = 0  # capture-wide; 0 = whole frames

    # ---- text form ----------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str | None) -> Impairments:
        """``"loss=2,reorder,vlan=100"`` → Impairments; raises :class:`ImpairmentError`."""
        result = cls()
        if not text:
            return result
        for item in text.split(","):
            item = item.strip()
            if not item:
                continue
            name, _, value = item.partition("=")
            result = result._with(name.strip().lower(), value.strip())
        return result

    def _with(self, name: str, value: str) -> Impairments:
        if name not in CATALOGUE:
            raise ImpairmentError(
                f"unknown impairment {name!r} (known: {', '.join(CATALOGUE)})")
        if name in ("split-header", "wrap", "ipv6", "sll", "sll2") and value:
            raise ImpairmentError(f"impairment {name!r} takes no value")
        match name:
            case "split-header":
                return replace(self, split_header=True)
            case "wrap":
                return replace(self, wrap=True)
            case "ipv6":
                return replace(self, ipv6=True)
            case "sll" | "sll2":
                return replace(self, link=name)
            case "vlan":
                return replace(self, vlans=(_number(name, value or "100", 1, 4094),))
            case "qinq":
                outer, _, inner = (value or "300:100").partition(":")
                return replace(self, vlans=(_number(name, outer, 1, 4094),
                                            _number(name, inner or "100", 1, 4094)))
            case "coalesce":
                return replace(self, coalesce=_number(name, value or "4", 2, 1000))
            case "midstream":
                return replace(self, midstream=_number(name, value or str(DEFAULT_MIDSTREAM),
                                                       0, 1_000_000))
            case "ipfrag":
                return replace(self, ipfrag=_number(name, value or str(DEFAULT_FRAGMENT_MTU),
                                                    68, 65535))
            case "mss":
                return replace(self, mss=_number(name, value, 16, 65495))
            case "snaplen":
                return replace(self, snaplen=_number(name, value or str(DEFAULT_SNAPLEN),
                                                     1, 262144))
            case _:  # the counted ones
                attr = name.replace("-", "_")
                return replace(self, **{attr: _number(name, value or "1", 1, 10_000)})

    def spec(self) -> list[str]:
        """The canonical list form (``["loss=2", "vlan=100"]``), as truth files record it."""
        out: list[str] = []
        if self.split_header:
            out.append("split-header")
        if self.coalesce:
            out.append(f"coalesce={self.coalesce}")
        for name in ("reorder", "duplicate", "retransmit", "conflict", "loss", "late"):
            count = getattr(self, name)
            if count:
                out.append(f"{name}={count}")
        if self.wrap:
            out.append("wrap")
        if self.midstream is not None:
            out.append(f"midstream={self.midstream}")
        if self.ipv6:
            out.append("ipv6")
        if len(self.vlans) == 1:
            out.append(f"vlan={self.vlans[0]}")
        elif len(self.vlans) > 1:
            out.append("qinq=" + ":".join(str(v) for v in self.vlans))
        if self.ipfrag:
            out.append(f"ipfrag={self.ipfrag}")
        if self.mss != DEFAULT_MSS:
            out.append(f"mss={self.mss}")
        if self.link != "ethernet":
            out.append(self.link)
        if self.snaplen:
            out.append(f"snaplen={self.snaplen}")
        return out

    def __str__(self) -> str:
        return ",".join(self.spec())

    # ---- scopes -------------------------------------------------------------------------

    def has_capture_wide(self) -> bool:
        return self.link != "ethernet" or bool(self.snaplen)

    def combined(self, override: Impairments) -> Impairments:
        """This scenario-wide set with a conversation's own set on top: every setting the
        override changes from the default wins."""
        if override.has_capture_wide():
            raise ImpairmentError(
                "sll, sll2 and snaplen describe the capture file: set them scenario-wide")
        default = Impairments()
        changes: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(override, f.name)
            if value != getattr(default, f.name):
                changes[f.name] = value
        return replace(self, **changes)


def _number(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise ImpairmentError(f"impairment {name!r}: {text!r} is not a number") from None
    if not low <= value <= high:
        raise ImpairmentError(f"impairment {name!r}: {value} not in {low}..{high}")
    return value


def coerce(value: Impairments | str | None) -> Impairments:
    """Accept either form wherever an impairment set is an argument."""
    if isinstance(value, Impairments):
        return value
    return Impairments.parse(value)
