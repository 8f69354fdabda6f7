"""``cvipsniff diff A B``: transaction-level differences between two runs (captures or
fixture sets): added, missing and changed transactions, new or vanished findings, latency
changes beyond a threshold per method. Exit status 0 when the runs agree, 1 when they
differ, 2 on a usage or input error.
"""

from __future__ import annotations

import argparse

from cvipsniff.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diff", help="transaction-level differences between two runs",
                       description=__doc__)
    p.add_argument("a", metavar="A", help="capture, fixture set or directory of sets")
    p.add_argument("b", metavar="B", help="capture, fixture set or directory of sets")
    p.add_argument("--format", default="text", choices=("text", "json", "markdown"),
                   help="text (default), JSON or Markdown")
    p.add_argument("-o", "--output", metavar="OUT", help="write the differences to OUT")
    p.add_argument("--latency-threshold", action="append", default=[],
                   metavar="[METHOD=]MS",
                   help="report a latency change beyond MS milliseconds (default 10); "
                   "METHOD=MS for one method or glob, e.g. 'cviStream.*=50' (repeatable)")
    p.set_defaults(run=run)


def parse_thresholds(items: list[str]):
    from cvipsniff.fixtures.diff import Thresholds

    out = Thresholds()
    for item in items:
        method, sep, ms = item.rpartition("=")
        try:
            value = float(ms)
        except ValueError:
            raise UsageError(f"bad --latency-threshold {item!r}: expected MS or "
                             "METHOD=MS") from None
        if value < 0:
            raise UsageError(f"bad --latency-threshold {item!r}: negative")
        if sep:
            out.methods.append((method, value))
        else:
            out.default = value
    return out


def run(args: argparse.Namespace) -> int:
    from cvipsniff.commands.replay import write_output
    from cvipsniff.fixtures.diff import RENDERERS, diff_sets, pair_sets
    from cvipsniff.fixtures.load import load_sets
    from cvipsniff.fixtures.model import FixtureError

    thresholds = parse_thresholds(args.latency_threshold)
    try:
        a = load_sets(args.a, keep_secrets=False)
        b = load_sets(args.b, keep_secrets=False)
    except FixtureError as exc:
        raise UsageError(str(exc)) from None
    diffs, unmatched = [], []
    for x, y in pair_sets(a, b):
        if x is None or y is None:
            side, s = ("B", y) if x is None else ("A", x)
            unmatched.append(f"fixture set {s.name!r} only in {side}")  # type: ignore[union-attr]
            continue
        diffs.append(diff_sets(x, y, thresholds))
    write_output(RENDERERS[args.format](diffs, unmatched), args.output)
    return 0 if all(d.clean for d in diffs) and not unmatched else 1
