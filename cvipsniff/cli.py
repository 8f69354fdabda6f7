"""The ``cvipsniff`` command line (tshark conventions where users already know them).

Exit status: 0 clean, 1 findings at or above the fail threshold, 2 usage or input error.
Errors are one clear line on stderr, never a traceback (set ``CVIPSNIFF_DEBUG=1`` to see
one when reporting a bug).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence

from cvipsniff import __version__
from cvipsniff.errors import UsageError

# Sub-command modules, in the order `--help` lists them. Each has register() and run().
COMMANDS = (
    "cvipsniff.commands.read",
    "cvipsniff.commands.report",
    "cvipsniff.commands.flows",
    "cvipsniff.commands.follow",
    "cvipsniff.commands.tui",
    "cvipsniff.commands.sniff",
    "cvipsniff.commands.interfaces",
    "cvipsniff.commands.rules",
    "cvipsniff.commands.fields",
    "cvipsniff.commands.sim",
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cvipsniff",
        description="Protocol analyzer for CVIPv2 and Milestone XProtect ImageServer: "
        "captures, reassembly, dissection, pairing, conformance and a terminal UI. "
        "With no command, analyses the bundled demo capture; 'cvipsniff FILE' opens FILE "
        "in the terminal UI.",
    )
    parser.add_argument("--version", action="version", version=f"cvipsniff {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # command not built in this version
                continue
            raise
        module.register(sub)
    return parser


def _normalise(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``cvipsniff`` alone → the default job; ``cvipsniff FILE`` → ``tui -r FILE``."""
    if not argv:
        return ["report", "--default"]
    first = argv[0]
    commands = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands = set(action.choices)
    if first not in commands and not first.startswith("-") and os.path.exists(first):
        return ["tui", "-r", *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = bool(os.environ.get("CVIPSNIFF_DEBUG"))
    if argv is None and hasattr(signal, "SIGPIPE"):
        # Run as a program: behave like a Unix filter when piped into `head`.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        parser = build_parser()
        args = parser.parse_args(_normalise(args_list, parser))
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
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

