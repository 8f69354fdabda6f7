"""The ``cvipsniff`` command line (tshark conventions where users already know them).

Exit status: 0 clean, 1 findings at or above the fail threshold, 2 usage or input error.
Errors are one clear line on stderr, never a traceback (set ``CVIPSNIFF_DEBUG=1`` to see
one when reporting a bug).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import signal
import sys
from collections.abc import Sequence

from cvipsniff import __version__
from cvipsniff.errors import UsageError

# Sub-commands and their modules, in the order `--help` lists them. Each module has
# register() and run(). Only the module of the command being run is imported, so a quick
# command does not pay for the TUI or the simulator.
COMMANDS = {
    "read": "cvipsniff.commands.read",
    "report": "cvipsniff.commands.report",
    "flows": "cvipsniff.commands.flows",
    "follow": "cvipsniff.commands.follow",
    "tui": "cvipsniff.commands.tui",
    "sniff": "cvipsniff.commands.sniff",
    "interfaces": "cvipsniff.commands.interfaces",
    "rules": "cvipsniff.commands.rules",
    "fields": "cvipsniff.commands.fields",
    "sim": "cvipsniff.commands.sim",
    "fixtures": "cvipsniff.commands.fixtures",
    "replay": "cvipsniff.commands.replay",
    "serve": "cvipsniff.commands.serve",
    "diff": "cvipsniff.commands.diff",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with ``only`` just that sub-command's (faster start-up)."""
    parser = _Parser(
        prog="cvipsniff",
        description="Protocol analyzer for CVIPv2 and Milestone XProtect ImageServer: "
        "captures, reassembly, dissection, pairing, conformance and a terminal UI. "
        "With no command, analyses the bundled demo capture; 'cvipsniff FILE' opens FILE "
        "in the terminal UI.",
    )
    parser.add_argument("--version", action="version", version=f"cvipsniff {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command, name in COMMANDS.items():
        if only is not None and command != only:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # command not built in this version
                continue
            raise
        module.register(sub)
    return parser


def _normalise(argv: list[str]) -> list[str]:
    """``cvipsniff`` alone → the default job; ``cvipsniff FILE`` → ``tui -r FILE``."""
    if not argv:
        return ["report", "--default"]
    first = argv[0]
    if first not in COMMANDS and not first.startswith("-") and os.path.exists(first):
        return ["tui", "-r", *argv]
    return argv


def tune_garbage_collector() -> None:
    """Set the cyclic collector for an analysis rather than a short script.

    CPython's defaults (a young collection every 700 allocations, a full one whenever a
    quarter of the old objects are new) suit programs whose objects die young. An
    analysis keeps many objects for a while — every open flow, the rule and spec tables,
    tens of thousands of closed flows announced at once by an eviction — and the full
    collections walked them again and again: a quarter of the time of a report on a
    million SYN-only flows. So what the imports made is frozen (never walked again) and
    the young generation is collected every 200,000 allocations (net of the objects
    freed). Why that many: a report's working set of objects alive for a while (the
    transactions not yet spilled, their message references, open flows) is some tens of
    thousands, so a collection every 50,000 walked most of it each time, 47 times over
    a 200 MB capture of small sessions (0.10 s, 3% of the report), while at 200,000 the
    net growth stays below the threshold and none runs. Cycles are still collected (the
    flow table breaks its own as flows leave), and memory is no higher on either bench
    mix or the hostile set; only how often it looks changes. Only when run as a
    program: a test calling :func:`main` keeps its own.
    """
    gc.freeze()
    gc.set_threshold(200_000, 20, 10)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = bool(os.environ.get("CVIPSNIFF_DEBUG"))
    if argv is None and hasattr(signal, "SIGPIPE"):
        # Run as a program: behave like a Unix filter when piped into `head`.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        args_list = _normalise(args_list)
        parser = build_parser(args_list[0] if args_list[0] in COMMANDS else None)
        args = parser.parse_args(args_list)
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        if argv is None:
            tune_garbage_collector()
        return int(args.run(args) or 0)
    except UsageError as exc:
        print(f"cvipsniff: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        from cvipsniff.capture import CaptureError

        if isinstance(exc, CaptureError):
            print(f"cvipsniff: {exc}", file=sys.stderr)
            return 2
        if debug:
            raise
        print(
            f"cvipsniff: internal error: {type(exc).__name__}: {exc} "
            "(rerun with CVIPSNIFF_DEBUG=1 for details and report it)",
            file=sys.stderr,
        )
        return 3

