"""Options of the commands that capture live (``sniff -i``, ``tui -i``): one spelling,
tshark's, for the capture source, and the argument types they need."""

from __future__ import annotations

import argparse

from cvipsniff.live.source import BACKENDS, DEFAULT_SNAPLEN, SourceOptions


def count_arg(text: str) -> int:
    """A whole number ≥ 0 (``-c``, ``-s``, ``-B``, ``--ring-files``)."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def positive_float_arg(text: str) -> float:
    """A finite number > 0 (sizes and timeouts)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def add_capture_source_options(p: argparse.ArgumentParser) -> None:
    """``-f``, ``--backend``, ``-s``, ``-p``, ``-B`` (the interface option is the
    command's own: required for sniff, an alternative to ``-r`` for tui)."""
    p.add_argument("-f", "--capture-filter", dest="capture_filter", metavar="BPF",
                   help="capture filter in pcap-filter syntax (default: the protocols' "
                   "ports and --decode-as ports; '' captures everything)")
    p.add_argument("--backend", choices=BACKENDS, default="scapy",
                   help="scapy: packet socket in this process, needs root (default); "
                   "dumpcap: Wireshark's dumpcap, works for users once it has capabilities")
    p.add_argument("-s", "--snapshot-length", dest="snaplen", type=count_arg,
                   default=DEFAULT_SNAPLEN, metavar="BYTES",
                   help=f"bytes captured per packet (default {DEFAULT_SNAPLEN})")
    p.add_argument("-p", "--no-promiscuous-mode", dest="promiscuous", action="store_false",
                   help="do not put the interface into promiscuous mode")
    p.add_argument("-B", "--buffer-size", dest="buffer_mb", type=count_arg, default=2,
                   metavar="MB", help="kernel capture buffer in megabytes (default 2)")


def add_timeout_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--unanswered-timeout", type=positive_float_arg, metavar="SECONDS",
                   help="report a request unanswered after this long (default from config "
                   "live.unanswered_timeout_s, else 10)")
    p.add_argument("--idle-timeout", type=positive_float_arg, default=300.0, metavar="SECONDS",
                   help="close and forget flows idle this long (default 300)")


def source_options(args: argparse.Namespace) -> SourceOptions:
    return SourceOptions(snaplen=args.snaplen or DEFAULT_SNAPLEN,
                         promiscuous=args.promiscuous, buffer_mb=args.buffer_mb)
