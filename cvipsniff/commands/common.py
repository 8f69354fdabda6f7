"""Options and helpers shared by the commands that read captures."""

from __future__ import annotations

import argparse
import os
import re

from cvipsniff.analysis.config import AnalysisConfig, load_config
from cvipsniff.errors import UsageError
from cvipsniff.pipeline import PipelineConfig
from dissectors import registry

_DECODE_AS = re.compile(r"^(tcp|udp)\.port\s*==\s*(\d{1,5})\s*,\s*([\w-]+)$")


def add_input_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("-r", "--read-file", dest="file", metavar="FILE", required=required,
                        help="capture to read: pcap or pcapng, optionally gzip-compressed "
                        "('-' for standard input)")
    add_decode_options(parser)
    add_config_option(parser)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="TOML",
                        help="settings file: dissector settings, decode-as, rules (default "
                        "./cvipsniff.toml or pyproject.toml's [tool.cvipsniff])")


def settings(args: argparse.Namespace) -> AnalysisConfig:
    """The settings file of a command (``--config``, else the default files), loaded once
    per command line: every command that dissects honours its dissector settings."""
    loaded = getattr(args, "_settings", None)
    if loaded is None:
        loaded = load_config(getattr(args, "config", None))
        args._settings = loaded
    return loaded


def add_decode_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--decode-as", action="append", default=[], metavar="RULE",
                        help="decode a port as a protocol, like tshark -d: "
                        "'tcp.port==8000,cvip' (repeatable)")
    parser.add_argument("--no-heuristics", action="store_true",
                        help="only decode the protocols' default and --decode-as ports")


def parse_decode_as(rules: list[str]) -> dict[tuple[str, int], str]:
    """``tcp.port==8000,cvip`` → ``{("tcp", 8000): "cvip"}``; a bad rule is a UsageError."""
    known = registry()
    mapping: dict[tuple[str, int], str] = {}
    for rule in rules:
        m = _DECODE_AS.match(rule.strip())
        if not m:
            raise UsageError(f"bad --decode-as rule {rule!r}: expected e.g. 'tcp.port==8000,cvip'")
        transport, port, proto = m.group(1), int(m.group(2)), m.group(3)
        if proto not in known:
            raise UsageError(f"bad --decode-as rule {rule!r}: unknown protocol {proto!r} "
                             f"(known: {', '.join(sorted(known))})")
        if not 0 < port < 65536:
            raise UsageError(f"bad --decode-as rule {rule!r}: port out of range")
        mapping[(transport, port)] = proto
    return mapping


def pipeline_config(args: argparse.Namespace, *, keep_data: bool = False) -> PipelineConfig:
    """The pipeline as the command line and its settings file ask: decode-as rules from
    both (the command line's last), the dissector settings from the file."""
    config = settings(args)
    return PipelineConfig(
        decode_as=parse_decode_as(config.decode_as + list(getattr(args, "decode_as", []) or [])),
        heuristics=not getattr(args, "no_heuristics", False),
        keep_data=keep_data,
        dissector_options=config.dissector_options,
    )


def check_readable(path: str) -> None:
    """Fail early, in one line, on a path that cannot be a capture file."""
    if path == "-":
        return
    if not os.path.exists(path):
        raise UsageError(f"cannot read {path!r}: no such file")
    if os.path.isdir(path):
        raise UsageError(f"cannot read {path!r}: is a directory")
