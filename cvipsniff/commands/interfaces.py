"""``cvipsniff interfaces``: the interfaces a live capture can use, like ``tshark -D``,
with their addresses and whether they are up (``-T json`` for programs).

The list is the kernel's (what the default scapy backend opens) or, with ``--backend
dumpcap``, dumpcap's own (which adds pseudo interfaces such as ``any`` and ``nflog``).
"""

from __future__ import annotations

import argparse
import json
import sys

from cvipsniff.live.interfaces import dumpcap_interfaces, interface_line, kernel_interfaces
from cvipsniff.live.source import BACKENDS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("interfaces", help="list capture interfaces (like tshark -D)",
                       description=__doc__)
    p.add_argument("--backend", choices=BACKENDS, default="scapy",
                   help="whose list: the kernel's (scapy, default) or dumpcap's")
    p.add_argument("-T", "--output-format", dest="format", choices=("text", "json"),
                   default="text", help="output format (default text)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    found = dumpcap_interfaces() if args.backend == "dumpcap" else kernel_interfaces()
    if args.format == "json":
        json.dump([info.to_json() for info in found], sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for info in found:
            sys.stdout.write(interface_line(info) + "\n")
    return 0
