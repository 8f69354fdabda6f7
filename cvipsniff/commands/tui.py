"""``cvipsniff tui -r FILE`` (also ``cvipsniff FILE``): browse a capture in the terminal.

The capture loads in the background, the list is usable at once; ``?`` lists the keys.
"""

from __future__ import annotations

import argparse
import sys

from cvipsniff.analysis.config import load_config
from cvipsniff.commands.common import add_decode_options, check_readable, pipeline_config
from cvipsniff.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tui", help="browse a capture in a terminal UI (Wireshark-like panes)",
                       description=__doc__)
    p.add_argument("-r", "--read-file", dest="file", metavar="FILE", required=True,
                   help="capture to open: pcap or pcapng, optionally compressed")
    add_decode_options(p)
    p.add_argument("--config", metavar="TOML",
                   help="analysis settings (default ./cvipsniff.toml or pyproject.toml)")
    p.add_argument("--light", action="store_true", help="start with the light theme")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.file == "-":
        raise UsageError("the terminal UI reads its keys from the terminal: give a capture "
                         "file, not standard input")
    check_readable(args.file)
    config = pipeline_config(args, keep_data=True)
    analysis_config = load_config(args.config)
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        raise UsageError("the terminal UI needs a terminal; use 'cvipsniff read' or "
                         "'cvipsniff report' in pipes and scripts")
    # Imported here: the CLI's other commands must not pay for Textual.
    from cvipsniff.tui.app import THEMES, CvipsniffApp

    app = CvipsniffApp(args.file, config, analysis_config,
                       theme=THEMES[1] if args.light else THEMES[0])
    app.run()
    return app.return_code or 0
