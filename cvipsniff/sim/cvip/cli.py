"""``cvip-server`` and ``cvip-client`` subcommands, mounted by the main CLI under
``cvipsniff sim``.

    cvipsniff sim cvip-server --role nvr --duration 60
    cvipsniff sim cvip-client --role nvr --scenario all

Exit status: 0 when every scenario step got the spec's answer (or the server ran and
stopped cleanly), 1 when a step failed, 2 on a usage or network error (one line on
stderr, no traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from typing import Any

from cvipsniff.sim.cvip.catalogue import ROLES
from cvipsniff.sim.cvip.client import ClientConfig, run_client
from cvipsniff.sim.cvip.constants import COMMON_PORT, DEFAULT_PORT
from cvipsniff.sim.cvip.script import SCRIPTS, ScenarioResult
from cvipsniff.sim.cvip.server import ServerConfig, run_server


def _port(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("seconds must not be negative")
    return value


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on / connect to (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"CVIP port, TCP and UDP (default {DEFAULT_PORT})")
    parser.add_argument("--ping-port", type=_port, default=COMMON_PORT,
                        help=f"common port that accepts only ping (default {COMMON_PORT})")
    parser.add_argument("--role", choices=ROLES, default="device",
                        help="unit played by the server / expected by the client")
    parser.add_argument("--broadcast", action="store_true",
                        help="allow UDP broadcast pings")


def register(subparsers: Any) -> None:
    """Add ``cvip-server`` and ``cvip-client`` to an argparse subparsers object."""
    server = subparsers.add_parser(
        "cvip-server", help="run a CVIP reference unit (device, NVR or master server)",
        description="Serve CVIPv2 on TCP/UDP (CVIP port and ping-only common port).")
    _common_options(server)
    server.add_argument("--duration", type=_seconds, default=None,
                        help="stop after this many seconds (default: until interrupted)")
    server.add_argument("--event-interval", type=_seconds, default=1.0,
                        help="seconds between simulated events (0: none; default 1)")
    server.add_argument("--advertise-ip", default=None,
                        help="IP address announced in ping responses (default: --host)")
    server.add_argument("--seed", type=int, default=1, help="seed of the unit's identity")
    server.add_argument("-v", "--verbose", action="store_true", help="log connections")
    server.set_defaults(run=run, cvip_command="server")

    client = subparsers.add_parser(
        "cvip-client", help="run scripted CVIP scenarios against a unit and check answers",
        description="Run the spec's use cases as scripted scenarios; every step is checked "
                    "against the answer the spec describes.")
    _common_options(client)
    client.add_argument("--scenario", choices=[*SCRIPTS, "all"], default="all",
                        help="scenario to run (default: all that apply to --role)")
    client.add_argument("--duration", type=_seconds, default=None,
                        help="time budget for the whole run in seconds")
    client.add_argument("--timeout", type=_seconds, default=5.0,
                        help="seconds to wait for each answer (default 5)")
    client.add_argument("--event-timeout", type=_seconds, default=10.0,
                        help="seconds to wait for event notifications (default 10)")
    client.add_argument("-T", "--format", choices=("text", "json"), default="text",
                        dest="output_format", help="output format (default text)")
    client.set_defaults(run=run, cvip_command="client")


def run(args: argparse.Namespace) -> int:
    """Run the subcommand ``args`` was parsed for; returns the exit status."""
    try:
        if args.cvip_command == "server":
            return _run_server(args)
        return _run_client(args)
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"cvipsniff: {exc}", file=sys.stderr)
        return 2


def _run_server(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(message)s", stream=sys.stderr)
    config = ServerConfig(
        host=args.host, port=args.port, ping_port=args.ping_port, role=args.role,
        seed=args.seed, advertise_ip=args.advertise_ip, broadcast=args.broadcast,
        event_interval=args.event_interval,
    )
    asyncio.run(run_server(config, args.duration))
    return 0


def _run_client(args: argparse.Namespace) -> int:
    config = ClientConfig(
        host=args.host, port=args.port, ping_port=args.ping_port, role=args.role,
        timeout=args.timeout, event_timeout=args.event_timeout, broadcast=args.broadcast,
    )
    problem = asyncio.run(_unreachable(config))
    if problem:
        print(f"cvipsniff: cannot connect to {args.host}:{args.port}: {problem}",
              file=sys.stderr)
        return 2
    try:
        results = asyncio.run(run_client(config, args.scenario, args.duration))
    except KeyError as exc:
        print(f"cvipsniff: unknown scenario {exc}", file=sys.stderr)
        return 2
    if args.output_format == "json":
        json.dump([r.to_jsonable() for r in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_results(results))
    return 0 if results and all(r.ok for r in results) else 1


async def _unreachable(config: ClientConfig) -> str | None:
    """Why the unit's CVIP port cannot be reached, or None if it can."""
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(config.host, config.port), config.timeout)
    except (OSError, TimeoutError) as exc:
        return str(exc) or "timed out"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


def format_results(results: list[ScenarioResult]) -> str:
    """A readable summary: one line per scenario, the failed steps under it."""
    lines = []
    for result in results:
        verdict = "PASS" if result.ok else "FAIL"
        passed = sum(1 for s in result.steps if s.ok)
        lines.append(f"{verdict} {result.name} ({passed}/{len(result.steps)} steps)")
        if result.error:
            lines.append(f"  error: {result.error}")
        for step in result.failures():
            lines.append(f"  x {step.name}: {step.detail}")
    total = sum(len(r.steps) for r in results)
    failed = sum(len(r.failures()) for r in results) + sum(1 for r in results if r.error)
    lines.append(f"{len(results)} scenario(s), {total} step(s), {failed} failure(s)")
    return "\n".join(lines) + "\n"
