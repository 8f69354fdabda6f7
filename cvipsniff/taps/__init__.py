"""``read -z``: statistics with tshark's names, each a small *tap* fed as the capture is
read (tshark's word for a listener on the dissection).

* message taps (:mod:`.srt`, :mod:`.expert`, :mod:`.iostat`) see every message and the
  findings the analysis settles, whatever ``-Y`` shows — like tshark's taps, which count
  the whole capture unless given a filter of their own;
* frame taps (:mod:`.conv`, the frame columns of :mod:`.iostat`) need the capture's
  frames themselves, headers included, so they read the file once more (never the
  messages again): a capture on standard input cannot feed them.

:func:`parse_taps` turns the ``-z`` arguments into taps; each tap renders its own table.
"""

from __future__ import annotations

from collections.abc import Sequence

from cvipsniff.errors import UsageError
from cvipsniff.taps.base import Tap
from cvipsniff.taps.conv import ConvTap
from cvipsniff.taps.expert import ExpertTap
from cvipsniff.taps.iostat import IoStatTap
from cvipsniff.taps.srt import SrtTap

__all__ = ["TAP_HELP", "Tap", "parse_taps"]

TAP_HELP = ("srt[,cvip|imageserver] (service response times per method), conv,tcp|udp "
            "(conversations with frame bytes), expert[,error|warning|info] (findings by "
            "severity and rule), io,stat,INTERVAL (frames, bytes, messages, findings per "
            "interval in seconds)")


def parse_taps(specs: Sequence[str]) -> list[Tap]:
    """One tap per ``-z`` argument; anything unknown is a one-line UsageError."""
    return [_parse(spec) for spec in specs]


def _parse(spec: str) -> Tap:
    parts = [p.strip() for p in spec.split(",")]
    name = parts[0]
    if name == "srt" and len(parts) <= 2:
        protocol = parts[1] if len(parts) == 2 else None
        if protocol not in (None, "cvip", "cvip-ping", "imageserver"):
            raise UsageError(f"-z {spec}: unknown protocol {protocol!r} "
                             "(cvip, cvip-ping, imageserver)")
        return SrtTap(protocol)
    if name == "conv" and len(parts) == 2:
        if parts[1] not in ("tcp", "udp"):
            raise UsageError(f"-z {spec}: conversations are tcp or udp")
        return ConvTap(parts[1])
    if name == "expert" and len(parts) <= 2:
        level = parts[1] if len(parts) == 2 else "info"
        if level not in ("error", "warning", "warn", "info", "note", "chat"):
            raise UsageError(f"-z {spec}: level is error, warning or info")
        return ExpertTap({"warn": "warning", "note": "info", "chat": "info"}.get(level, level))
    if name == "io" and len(parts) == 3 and parts[1] == "stat":
        try:
            interval = float(parts[2])
        except ValueError:
            interval = 0.0
        if not interval > 0:
            raise UsageError(f"-z {spec}: the interval is a number of seconds > 0")
        return IoStatTap(interval)
    raise UsageError(f"-z {spec}: unknown statistics; known: {TAP_HELP}")
