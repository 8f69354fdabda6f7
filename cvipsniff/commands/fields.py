"""``cvipsniff fields``: every display-filter field, like ``tshark -G fields``."""

from __future__ import annotations

import argparse
import sys

from cvipsniff.filter import default_registry, format_fields_listing


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fields", help="list every display-filter field",
                       description=__doc__)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(format_fields_listing(default_registry()))
    return 0
