"""``cvipsniff read -r FILE``: one line per message like tshark, ``-V`` for the full tree,
``-T json|jsonl`` for records a program can read."""

from __future__ import annotations

import argparse
import json
import sys

from cvipsniff.commands.common import add_input_options, check_readable, pipeline_config
from cvipsniff.model import Message, TransportNote
from cvipsniff.pipeline import iter_capture
from cvipsniff.render import (
    TIME_FORMATS,
    message_json,
    note_json,
    note_line,
    summary_line,
    tree_lines,
)

# tshark's -t letters.
_TIME_LETTERS = {"r": "relative", "a": "absolute", "ad": "absolute", "d": "delta", "e": "epoch"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("read", help="print the messages of a capture (like tshark -r)",
                       description=__doc__)
    add_input_options(p)
    p.add_argument("-V", "--verbose", action="store_true",
                   help="print the full dissection tree of each message")
    p.add_argument("-T", "--output-format", dest="format", default="text",
                   choices=("text", "json", "jsonl"), help="output format (default text)")
    p.add_argument("-t", "--time-format", dest="time_format", default="r",
                   choices=sorted(set(_TIME_LETTERS) | set(TIME_FORMATS)),
                   help="time column: r relative (default), a absolute, d delta, e epoch")
    p.add_argument("--notes", action="store_true",
                   help="also print transport notes (gaps, skipped bytes, retransmissions)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_readable(args.file)
    config = pipeline_config(args, keep_data=False)
    time_mode = _TIME_LETTERS.get(args.time_format, args.time_format)
    out = sys.stdout
    first_ts: int | None = None
    prev_ts: int | None = None
    json_items: list[dict] = []
    for item in iter_capture(args.file, config):
        if isinstance(item, Message):
            if first_ts is None:
                first_ts = item.ts_ns
            if args.format == "text":
                if args.verbose:
                    out.write("\n".join(tree_lines(item)) + "\n\n")
                else:
                    out.write(summary_line(item, first_ts, time_mode, prev_ts) + "\n")
            else:
                record = message_json(item, first_ts)
                if args.format == "jsonl":
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                else:
                    json_items.append(record)
            prev_ts = item.ts_ns
        elif isinstance(item, TransportNote):
            if args.format == "text":
                if args.notes or args.verbose:
                    out.write(note_line(item) + "\n")
            elif args.format == "jsonl":
                out.write(json.dumps(note_json(item)) + "\n")
            else:
                json_items.append(note_json(item))
    if args.format == "json":
        json.dump(json_items, out, ensure_ascii=False, indent=1)
        out.write("\n")
    return 0
