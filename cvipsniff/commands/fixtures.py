"""``cvipsniff fixtures export CAPTURE... -o DIR``: captures → regression fixture sets.

One set per capture under ``DIR/NAME/`` (``index.json`` and ``flows/flow-NNNN.json``; the
format is docs/FIXTURES.md). Exit 0, or 2 on a usage or input error.
"""

from __future__ import annotations

import argparse
import sys

from cvipsniff.analysis.config import load_config
from cvipsniff.capture import CaptureError
from cvipsniff.commands.common import add_decode_options, parse_decode_as
from cvipsniff.commands.filtering import compile_user_filter
from cvipsniff.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fixtures", help="regression fixtures from captures",
                       description=__doc__)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    e = actions.add_parser("export", help="write one fixture set per capture",
                           description=__doc__)
    e.add_argument("inputs", nargs="+", metavar="CAPTURE",
                   help="captures, directories (searched recursively) or glob patterns")
    e.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="directory to write the sets into (DIR/NAME/ per capture)")
    e.add_argument("-Y", "--display-filter", dest="filter", metavar="FILTER",
                   help="export only the transactions with a message matching this filter")
    e.add_argument("--keep-secrets", action="store_true",
                   help="keep passwords and connection tokens in clear (masked by default)")
    e.add_argument("--config", metavar="TOML", help="settings file (rules, dissector "
                   "options; default ./cvipsniff.toml)")
    add_decode_options(e)
    e.set_defaults(run=run_export)
    v = actions.add_parser("validate", help="check fixture sets against the shipped schema")
    v.add_argument("sets", nargs="+", metavar="DIR")
    v.set_defaults(run=run_validate)
    p.set_defaults(run=lambda args: _no_action(p))


def _no_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_export(args: argparse.Namespace) -> int:
    from cvipsniff.commands.report import expand_inputs
    from cvipsniff.fixtures.build import build_set, set_name
    from cvipsniff.fixtures.model import write_set

    config = load_config(args.config)
    captures = expand_inputs(list(args.inputs))
    flt = compile_user_filter(args.filter) if args.filter else None
    decode_as = parse_decode_as(config.decode_as + list(args.decode_as))
    used: dict[str, int] = {}
    status = 0
    for capture in captures:
        name = set_name(capture)
        used[name] = used.get(name, 0) + 1
        if used[name] > 1:
            name = f"{name}-{used[name]}"
        try:
            fixtures = build_set(capture, display_filter=flt, keep_secrets=args.keep_secrets,
                                 config=config, decode_as=decode_as,
                                 heuristics=not args.no_heuristics,
                                 dissector_options=config.dissector_options)
        except CaptureError as exc:
            print(f"cvipsniff: cannot export {capture!r}: {exc}", file=sys.stderr)
            status = 2
            continue
        target = f"{args.output.rstrip('/')}/{name}"
        try:
            write_set(fixtures, target)
        except OSError as exc:
            raise UsageError(f"cannot write {target!r}: {exc.strerror}") from None
        txns = sum(len(f["transactions"]) for f in fixtures.flows)
        print(f"{target}: {len(fixtures.flows)} flow(s), {txns} transaction(s)"
              f"{'' if args.keep_secrets else ', secrets masked'}")
    return status


def run_validate(args: argparse.Namespace) -> int:
    from cvipsniff.fixtures.model import FixtureError, read_set, validate_set

    status = 0
    for path in args.sets:
        try:
            problems = validate_set(read_set(path, validate=False))
        except FixtureError as exc:
            print(f"cvipsniff: {exc}", file=sys.stderr)
            status = 2
            continue
        for line in problems:
            print(f"{path}: {line}")
        if problems:
            status = max(status, 1)
        else:
            print(f"{path}: valid")
    return status
