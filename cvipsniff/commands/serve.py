"""``cvipsniff serve FIXTURES|CAPTURE --listen HOST:PORT``: play the recorded server
against a client under test (docs/FIXTURES.md).

Incoming requests are matched to recorded ones by method and parameters (volatile values
by type only) and answered with the recorded answers, pairing ids rewritten to the
client's. At the end, a verdict per request: pass, violation (the request breaks a rule the
recorded one did not), no-fixture (answered with the spec's error shape where it has one),
and not-sent for recorded requests the client never sent. Exit status 0 when every request
matched and every fixture was used, 1 otherwise, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from cvipsniff.commands.replay import add_format_options, parse_endpoint, write_output
from cvipsniff.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="answer a client under test with recorded answers",
                       description=__doc__)
    p.add_argument("source", metavar="FIXTURES|CAPTURE",
                   help="a fixture set, a directory of sets, or a capture")
    p.add_argument("--listen", required=True, metavar="HOST:PORT",
                   help="where to listen (TCP, and UDP for CVIP pings; port 0 picks one)")
    p.add_argument("--duration", type=float, metavar="S",
                   help="stop after S seconds (default: when the client is done)")
    p.add_argument("--linger", type=float, default=1.0, metavar="S",
                   help="after the last connection closes, wait S seconds for another "
                   "(default 1)")
    p.add_argument("--protocol", choices=("cvip", "imageserver"),
                   help="serve the flows of this protocol (default: the set's main one)")
    add_format_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cvipsniff.fixtures.load import load_sets
    from cvipsniff.fixtures.model import FixtureError
    from cvipsniff.fixtures.replay import PASS
    from cvipsniff.fixtures.serve import ServeOptions, serve
    from cvipsniff.fixtures.verdicts import RENDERERS

    host, port = parse_endpoint(args.listen, "--listen")
    if args.duration is not None and args.duration <= 0:
        raise UsageError("--duration must be positive")
    try:
        sets = load_sets(args.source)
    except FixtureError as exc:
        raise UsageError(str(exc)) from None
    options = ServeOptions(host, port, args.protocol, args.duration, max(args.linger, 0.0))

    def ready(address: tuple[str, int]) -> None:
        print(f"cvipsniff: serving {sum(len(s.flows) for s in sets)} recorded flow(s) on "
              f"{address[0]}:{address[1]}", file=sys.stderr, flush=True)

    try:
        verdicts, notes = asyncio.run(serve(sets, options, ready))
    except OSError as exc:
        print(f"cvipsniff: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    write_output(RENDERERS[args.format](verdicts, notes, "serve"), args.output)
    return 0 if all(v.verdict == PASS for v in verdicts) else 1
