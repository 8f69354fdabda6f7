"""``cvipsniff tui -r FILE`` (also ``cvipsniff FILE``): browse a capture in the terminal;
``cvipsniff tui -i IFACE``: capture live into the same views.

A file loads in the background, the list is usable at once. A live capture shows
messages as they complete (the list follows them until you move up), a status line with
packets, bytes, drops and elapsed time, and findings as they arise — an unanswered
request after ``--unanswered-timeout`` seconds. Ctrl+E stops or starts the capture,
Ctrl+R restarts it, Ctrl+S saves it as pcapng; ``?`` lists every key.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import replace

from cvipsniff.analysis.config import AnalysisConfig, load_config
from cvipsniff.commands.common import add_decode_options, check_readable, parse_decode_as
from cvipsniff.commands.live_options import (
    add_capture_source_options,
    add_timeout_options,
    source_options,
)
from cvipsniff.errors import UsageError
from cvipsniff.pipeline import PipelineConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tui", help="browse a capture, or capture live, in a terminal UI "
                       "(Wireshark-like panes)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("-r", "--read-file", dest="file", metavar="FILE",
                        help="capture to open: pcap or pcapng, optionally compressed")
    source.add_argument("-i", "--interface", metavar="IFACE",
                        help="capture live on this interface ('cvipsniff interfaces')")
    add_decode_options(p)
    p.add_argument("--config", metavar="TOML",
                   help="analysis settings (default ./cvipsniff.toml or pyproject.toml)")
    p.add_argument("--light", action="store_true", help="start with the light theme")
    p.add_argument("-j", "--jobs", type=_positive, metavar="N",
                   help="processes that read a capture file, split by flow (default: the "
                   "cores other programs leave idle, for a capture of 32 MB or "
                   "more on the compiled path, else 1); the list is the same whatever N")
    live = p.add_argument_group("live capture (with -i)")
    live.add_argument("-w", "--write", dest="write", metavar="FILE",
                      help="write the captured frames to FILE as pcapng (default: a "
                      "temporary file, kept only if saved with Ctrl+S)")
    add_capture_source_options(live)
    add_timeout_options(live)
    p.set_defaults(run=run)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, not {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    if args.file == "-":
        raise UsageError("the terminal UI reads its keys from the terminal: give a capture "
                         "file, not standard input")
    if args.file is not None:
        check_readable(args.file)
    elif args.write == "-":
        raise UsageError("the terminal UI owns standard output: give -w a file name")
    analysis_config = load_config(args.config)
    if getattr(args, "unanswered_timeout", None) is not None:
        analysis_config.unanswered_timeout_s = args.unanswered_timeout
    config = PipelineConfig(
        decode_as=parse_decode_as(analysis_config.decode_as + list(args.decode_as)),
        heuristics=not args.no_heuristics, keep_data=True,
        dissector_options=analysis_config.dissector_options)
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        raise UsageError("the terminal UI needs a terminal; use 'cvipsniff read' or "
                         "'cvipsniff report' (or 'cvipsniff sniff' live) in pipes and scripts")
    if args.interface is not None:
        return _run_live(args, config, analysis_config)
    # Imported here: the CLI's other commands must not pay for Textual.
    from cvipsniff.tui.app import THEMES, CvipsniffApp

    app = CvipsniffApp(args.file, config, analysis_config,
                       theme=THEMES[1] if args.light else THEMES[0], jobs=args.jobs)
    app.run()
    return app.return_code or 0


def _run_live(args: argparse.Namespace, config: PipelineConfig,
              analysis_config: AnalysisConfig) -> int:
    from cvipsniff.live.capture_filter import default_capture_filter
    from cvipsniff.live.session import LiveSession
    from cvipsniff.tui.app import THEMES
    from cvipsniff.tui.live_app import LiveApp

    temporary_dir = None
    write_to = args.write
    if write_to is None:
        temporary_dir = tempfile.mkdtemp(prefix="cvipsniff-live-")
        write_to = os.path.join(temporary_dir, "capture.pcapng")
    capture_filter = (args.capture_filter if args.capture_filter is not None
                      else default_capture_filter(config.decode_as))
    try:
        live = LiveSession(args.interface, capture_filter, args.backend,
                           pipeline_config=replace(config, tree=False),
                           analysis_config=analysis_config,
                           write_to=write_to, source_options=source_options(args),
                           idle_timeout_s=args.idle_timeout)
        app = LiveApp(live, analysis_config, theme=THEMES[1] if args.light else THEMES[0],
                      temporary=temporary_dir is not None)
        # Opened before the UI starts: no interface, no permission, a bad filter or an
        # unwritable -w file are one line on stderr and exit status 2, not a screen.
        app.feed.start()
        app.run()
    finally:
        if temporary_dir is not None:
            shutil.rmtree(temporary_dir, ignore_errors=True)
    return app.return_code or 0
