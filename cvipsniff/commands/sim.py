"""``cvipsniff sim ...``: the reference peers and the capture synthesizer.

The peers and the synthesizer each provide ``register(subparsers)`` in their own package;
this command only mounts them under ``sim``.
"""

from __future__ import annotations

import argparse
import importlib

_PROVIDERS = (
    "cvipsniff.sim.cvip.cli",
    "cvipsniff.sim.imageserver.cli",
    "cvipsniff.sim.synth.cli",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="reference peers and capture synthesizer",
                       description=__doc__)
    sim_sub = p.add_subparsers(dest="sim_command", metavar="SIMCOMMAND",
                               parser_class=type(p))
    for name in _PROVIDERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that part of the simulator is not in this build
            raise
        module.register(sim_sub)
    p.set_defaults(run=lambda args: _missing(p))


def _missing(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2
