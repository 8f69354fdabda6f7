"""``cvipsniff sim imageserver-server`` and ``cvipsniff sim imageserver-client``.

The server listens on 127.0.0.1:7563 by default and logs connections and what it ignored
to stderr. The client runs one script (``--scenario``) or all of them, one connection each,
prints a line per step (what was sent, whether the answer is what the document describes,
latency) and exits 0 when every step passed, 1 when one did not, 2 when it could not
connect.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace

from cvipsniff.sim.imageserver.client import run_scripts
from cvipsniff.sim.imageserver.scripts import SCRIPTS, ClientOptions
from cvipsniff.sim.imageserver.server import DEFAULT_HOST, DEFAULT_PORT, run_server
from cvipsniff.sim.imageserver.server_logic import DEFAULT_TOKEN, ServerConfig

SERVER_SCENARIOS = {
    "standard": "answers as the document describes",
    "live-metadata": "also sends SequenceNumber and MotionLevel in every ImageResponse",
}


def _common(p: argparse.ArgumentParser, token_help: str) -> None:
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address (default {DEFAULT_HOST}; keep traffic on loopback)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"TCP port (default {DEFAULT_PORT})")
    p.add_argument("--token", default=DEFAULT_TOKEN,
                   help=f"{token_help} (default {DEFAULT_TOKEN!r})")


def register(subparsers: argparse._SubParsersAction) -> None:
    server = subparsers.add_parser(
        "imageserver-server", help="reference XProtect recording server (ImageServer, TCP)",
        description="Serve the ImageServer protocol from a simulated recording: real JPEG "
        "pictures, live streams with livepackages, multipart browse, PTZ and outputs.")
    _common(server, "the only connection token the server accepts")
    server.add_argument("--scenario", choices=sorted(SERVER_SCENARIOS), default="standard",
                        help="server behaviour: " + "; ".join(
                            f"{k}: {v}" for k, v in SERVER_SCENARIOS.items()))
    server.add_argument("--duration", type=float, default=0.0,
                        help="seconds to serve, then exit (default 0: until interrupted)")
    server.set_defaults(run=run, imageserver_role="server")

    client = subparsers.add_parser(
        "imageserver-client", help="reference ImageServer client that checks every answer",
        description="Connect to an ImageServer, exercise every request type and check each "
        "answer against the protocol document.")
    _common(client, "connection token sent in connect and connectupdate")
    client.add_argument("--scenario", choices=["all", *SCRIPTS], default="all",
                        help="script to run (default all, each on its own connection)")
    client.add_argument("--duration", type=float, default=2.0,
                        help="seconds to watch the live stream (default 2)")
    client.set_defaults(run=run, imageserver_role="client")


def run(args: argparse.Namespace) -> int:
    """Run whichever peer the sub-command named; returns the exit status."""
    if args.imageserver_role == "server":
        return _run_server(args)
    return _run_client(args)


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _run_server(args: argparse.Namespace) -> int:
    config = replace(ServerConfig(), token=args.token)
    if args.scenario == "live-metadata":
        config = replace(config, send_sequence_numbers=True, send_motion_level=True)
    duration = args.duration if args.duration > 0 else None
    try:
        asyncio.run(run_server(args.host, args.port, config, duration, _log))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"cvipsniff: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    return 0


def _run_client(args: argparse.Namespace) -> int:
    if args.duration <= 0 or args.duration > 600:
        print("cvipsniff: --duration must be between 0 and 600 seconds", file=sys.stderr)
        return 2
    opts = ClientOptions(token=args.token, live_ms=args.duration * 1000.0)
    names = list(SCRIPTS) if args.scenario == "all" else [args.scenario]
    try:
        results = asyncio.run(run_scripts(args.host, args.port, names, opts))
    except (OSError, TimeoutError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        print(f"cvipsniff: cannot connect to {args.host}:{args.port}: {reason}",
              file=sys.stderr)
        return 2
    failed = 0
    for name, steps in results.items():
        print(f"# {name}")
        for result in steps:
            print(result.line())
            failed += not result.ok
    total = sum(len(s) for s in results.values())
    print(f"{total - failed}/{total} steps as specified")
    return 1 if failed else 0
