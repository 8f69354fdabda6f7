"""``cvipsniff sim captures`` and ``cvipsniff sim synth``: the synthesizer's commands.

``captures`` regenerates the bundled corpus (``--check`` compares instead and exits 1 on
any difference, for CI); ``synth`` lays one scenario out with chosen impairments.
Mounted under ``sim`` by :mod:`cvipsniff.commands.sim`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cvipsniff.errors import UsageError
from cvipsniff.paths import CAPTURES_DIR
from cvipsniff.sim.synth.corpus import (
    DEFAULT_SEED,
    SIZE_BUDGET,
    CorpusError,
    Sources,
    build_corpus,
    check_corpus,
    corpus_size,
    demo_scenario,
    load_sources,
    transport_mix,
)
from cvipsniff.sim.synth.impairments import CATALOGUE, ImpairmentError, Impairments
from cvipsniff.sim.synth.output import capture_format, truth_path_for, write_capture
from cvipsniff.sim.synth.packetizer import ScenarioError
from cvipsniff.sim.transcript import Scenario

# Scenarios made here from the producers' ones, available to `synth --scenario` too.
COMPOSED = ("demo", "transport-mix")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("captures", help="regenerate the bundled capture corpus",
                       description="Regenerate captures/ (every synthesized capture, its "
                       "truth file and manifest.json) deterministically.")
    p.add_argument("--out", metavar="DIR", default=str(CAPTURES_DIR),
                   help=f"corpus directory (default {CAPTURES_DIR})")
    p.add_argument("--check", action="store_true",
                   help="compare a fresh generation with DIR instead of writing; "
                   "exit 1 on any difference")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"scenario and layout seed (default {DEFAULT_SEED})")
    p.set_defaults(run=run)

    impairment_help = "; ".join(f"{name}: {what}" for name, (what, _) in CATALOGUE.items())
    s = sub.add_parser("synth", help="synthesize one scenario into a capture",
                       description="Lay one scenario out as a capture with a truth file "
                       "(NAME.truth.json beside it).",
                       epilog=f"impairments: {impairment_help}")
    s.add_argument("--scenario", metavar="NAME", help="scenario name (see --list)")
    s.add_argument("--list", action="store_true", help="list the scenario names and exit")
    s.add_argument("--impair", metavar="LIST", default="",
                   help="comma-separated impairments for every conversation, e.g. "
                   "'loss,reorder=2,vlan=100,snaplen=96'")
    s.add_argument("--impair-conversation", metavar="N:LIST", action="append", default=[],
                   help="impairments for conversation N only (repeatable)")
    s.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"scenario and layout seed (default {DEFAULT_SEED})")
    s.add_argument("-w", dest="output", metavar="OUT",
                   help="capture to write: .pcap or .pcapng, optionally .gz")
    s.add_argument("--no-truth", action="store_true", help="do not write the truth file")
    s.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.sim_command == "captures":
            return _captures(args)
        return _synth(args)
    except (CorpusError, ScenarioError, ImpairmentError) as exc:
        raise UsageError(str(exc)) from None


def _captures(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.check:
        problems = check_corpus(out, args.seed)
        for problem in problems:
            print(f"captures: {problem}", file=sys.stderr)
        if problems:
            print(f"captures: {out} differs from a fresh generation "
                  "(run 'cvipsniff sim captures' to regenerate)", file=sys.stderr)
            return 1
        print(f"captures: {out} matches a fresh generation")
        return 0
    entries = build_corpus(out, args.seed)
    size = corpus_size(out)
    print(f"captures: wrote {len(entries)} captures to {out} ({size / 1e6:.1f} MB)")
    if size > SIZE_BUDGET:
        print(f"captures: warning: {size} bytes is over the {SIZE_BUDGET}-byte budget",
              file=sys.stderr)
    return 0


def scenario_by_name(sources: Sources, name: str) -> Scenario:
    if name == "demo":
        return demo_scenario(sources)
    if name == "transport-mix":
        return transport_mix(sources)
    found = sources.find(name)
    if found is None:
        raise UsageError(f"no scenario {name!r} (see 'cvipsniff sim synth --list')")
    return found


def _synth(args: argparse.Namespace) -> int:
    if args.list:
        sources = load_sources(args.seed)
        for name in COMPOSED:
            print(name)
        for scenario in (*sources.clean, *sources.violations):
            print(f"{scenario.name}\t{scenario.description}")
        return 0
    if not args.scenario or not args.output:
        raise UsageError("synth needs --scenario NAME and -w OUT (or --list)")
    try:
        capture_format(args.output)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    impairments = Impairments.parse(args.impair)
    per_conversation: dict[int, Impairments] = {}
    for item in args.impair_conversation:
        index, sep, spec = item.partition(":")
        if not sep or not index.strip().isdigit():
            raise UsageError(f"bad --impair-conversation {item!r}: expected N:LIST")
        per_conversation[int(index)] = Impairments.parse(spec)
    scenario = scenario_by_name(load_sources(args.seed), args.scenario)
    truth = write_capture(scenario, args.output, impairments=impairments,
                          per_conversation=per_conversation, seed=args.seed,
                          truth=not args.no_truth)
    where = "" if args.no_truth else f" (truth: {truth_path_for(args.output)})"
    print(f"synth: {args.output}: {truth['frame_count']} frames, "
          f"{len(truth['messages'])} messages{where}")
    return 0
