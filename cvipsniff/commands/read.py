"""``cvipsniff read -r FILE``: one line per message like tshark, ``-V`` for the full tree,
``-T json|jsonl`` for records a program can read."""

from __future__ import annotations

import argparse
import json
import sys

from cvipsniff.analysis.engine import Analysis, imageserver_answer_kind
from cvipsniff.analysis.pairing import Pairer
from cvipsniff.commands.common import add_input_options, check_readable, pipeline_config
from cvipsniff.commands.filtering import AnalysisLookup, compile_user_filter, needs_analysis
from cvipsniff.errors import UsageError
from cvipsniff.filter import MessageFieldSource
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
    p.add_argument("-Y", "--display-filter", dest="filter", metavar="FILTER",
                   help="show only messages matching this display filter (docs/FILTERS.md)")
    p.add_argument("--notes", action="store_true",
                   help="also print transport notes (gaps, skipped bytes, retransmissions)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_readable(args.file)
    config = pipeline_config(args, keep_data=False)
    flt = compile_user_filter(args.filter) if args.filter else None
    lookup: AnalysisLookup | None = None
    if flt is not None and needs_analysis(flt):
        if args.file == "-":
            raise UsageError("this filter needs two passes over the capture "
                             "(latency, transaction or finding fields): read from a file")
        analysis = Analysis()
        for item in iter_capture(args.file, config):
            analysis.add(item)
        analysis.finish()
        lookup = AnalysisLookup(analysis)
    time_mode = _TIME_LETTERS.get(args.time_format, args.time_format)
    # Pairing runs alongside so a response's line can name its request (cheap: no rules
    # output, only the transaction table).
    pairer = Pairer(imageserver_answer_kind)
    out = sys.stdout
    first_ts: int | None = None
    prev_ts: int | None = None
    json_items: list[dict] = []
    for item in iter_capture(args.file, config):
        if isinstance(item, Message):
            pairer.feed(item)
            if first_ts is None:
                first_ts = item.first_ts_ns or item.ts_ns
            if flt is not None:
                source = (lookup.source(item, first_ts) if lookup is not None
                          else MessageFieldSource(item, first_ts_ns=first_ts))
                if not flt.matches(source):
                    continue
            if args.format == "text":
                if args.verbose:
                    out.write("\n".join(tree_lines(item)) + "\n\n")
                else:
                    method, request_frame = _request_of(pairer, item)
                    out.write(summary_line(item, first_ts, time_mode, prev_ts,
                                           request_method=method,
                                           request_frame=request_frame) + "\n")
            else:
                record = message_json(item, first_ts)
                if args.format == "jsonl":
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                else:
                    json_items.append(record)
            prev_ts = item.ts_ns
        elif isinstance(item, TransportNote):
            if flt is not None:
                continue  # a display filter selects messages; notes go with --notes alone
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


def _request_of(pairer: Pairer, msg: Message) -> tuple[str | None, int | None]:
    """For an answer: its request's method and completing frame, if pairing knows them."""
    if not msg.record.is_response:
        return None, None
    number = pairer.transaction_of(msg.number)
    if number is None:
        return None, None
    txn = pairer.transactions[number - 1]
    if txn.request is None:
        return None, None
    return txn.method, max(txn.request.frames)
