"""``cvipsniff replay FIXTURES|CAPTURE --target HOST:PORT``: play the recorded client side
against an implementation under test and judge each transaction (pass, differs, missing,
violation; docs/FIXTURES.md).

Exit status 0 when every transaction passes, 1 when one does not, 2 on a usage error or
when the target cannot be reached.
"""

from __future__ import annotations

import argparse
import sys

from cvipsniff.errors import UsageError


def parse_endpoint(text: str, option: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"bad {option} {text!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def parse_port_map(items: list[str]) -> dict[object, int]:
    """``[tcp:|udp:]RECORDED=LIVE`` → ``{RECORDED: LIVE}`` or ``{("udp", RECORDED): LIVE}``."""
    out: dict[object, int] = {}
    for item in items:
        a, sep, b = item.partition("=")
        transport, colon, port = a.rpartition(":")
        if not sep or not port.isdigit() or not b.isdigit() or \
                (colon and transport not in ("tcp", "udp")):
            raise UsageError(f"bad --port-map {item!r}: expected [tcp:|udp:]RECORDED=LIVE, "
                             "e.g. 9990=19990 or udp:7110=17110")
        out[(transport, int(port)) if colon else int(port)] = int(b)
    return out


def add_format_options(p: argparse.ArgumentParser) -> None:
    """``--format`` and ``-o``, shared by replay and serve."""
    p.add_argument("--format", default="text", choices=("text", "json", "junit"),
                   help="verdicts as text (default), JSON or JUnit XML (a case per transaction)")
    p.add_argument("-o", "--output", metavar="OUT", help="write the verdicts to OUT")


def add_output_options(p: argparse.ArgumentParser) -> None:
    add_format_options(p)
    p.add_argument("--protocol", choices=("cvip", "imageserver"),
                   help="only the flows of this protocol")
    p.add_argument("--timeout", type=float, default=3.0, metavar="S",
                   help="seconds to wait for each answer (default 3)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="replay recorded requests against a server under test",
                       description=__doc__)
    p.add_argument("source", metavar="FIXTURES|CAPTURE",
                   help="a fixture set, a directory of sets, or a capture")
    p.add_argument("--target", required=True, metavar="HOST:PORT",
                   help="the implementation under test (the recorded main server port is "
                   "mapped to PORT)")
    p.add_argument("--port-map", action="append", default=[],
                   metavar="[tcp:|udp:]RECORDED=LIVE",
                   help="send flows recorded to server port RECORDED to port LIVE, for "
                   "both transports or one (repeatable; e.g. the common port 9990=19990)")
    add_output_options(p)
    p.set_defaults(run=run)


def write_output(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {output!r}: {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    from cvipsniff.fixtures.load import load_sets
    from cvipsniff.fixtures.model import FixtureError
    from cvipsniff.fixtures.replay import PASS, Options, ReplayError, replay
    from cvipsniff.fixtures.verdicts import RENDERERS

    host, port = parse_endpoint(args.target, "--target")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    try:
        sets = load_sets(args.source)
    except FixtureError as exc:
        raise UsageError(str(exc)) from None
    options = Options(host, port, args.protocol, args.timeout, parse_port_map(args.port_map))
    try:
        verdicts, notes = replay(sets, options)
    except ReplayError as exc:
        print(f"cvipsniff: {exc}", file=sys.stderr)
        return 2
    write_output(RENDERERS[args.format](verdicts, notes, "replay"), args.output)
    return 0 if all(v.verdict == PASS for v in verdicts) else 1
