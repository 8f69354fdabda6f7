"""``cvipsniff read -r FILE``: one line per message like tshark, ``-V`` for the full tree,
``-T json|jsonl`` for records a program can read, ``-T fields -e`` for chosen values,
``-w`` for the frames of the displayed messages, ``-z`` for statistics.

The flags are tshark's where tshark has the notion (README, "tshark habits"); the unit
of a line is a protocol message, not a frame.
"""

from __future__ import annotations

import argparse
import os
import sys

from cvipsniff.analysis.engine import Analysis, imageserver_answer_kind
from cvipsniff.analysis.pairing import Pairer
from cvipsniff.capture.damage import DamageWatch
from cvipsniff.capture.subset import flag, format_for, write_frames
from cvipsniff.commands.common import add_input_options, check_readable, pipeline_config, settings
from cvipsniff.commands.filtering import (
    LATE_PREFIXES,
    AnalysisLookup,
    compile_user_filter,
    needs_analysis,
    reads_record_fields,
)
from cvipsniff.commands.read_sinks import FieldsSink, JsonSink, NullSink, TextSink
from cvipsniff.errors import UsageError
from cvipsniff.export_objects import ObjectExporter, parse_spec
from cvipsniff.fields_output import FieldsWriter, check_fields, parse_options
from cvipsniff.filter import Filter, MessageFieldSource
from cvipsniff.model import Message, TransportNote
from cvipsniff.pipeline import iter_capture
from cvipsniff.taps import TAP_HELP, parse_taps
from cvipsniff.taps.run import TapRunner
from cvipsniff.time_column import TIME_ALIASES, TIME_LETTERS, TimeColumn


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("read", help="print the messages of a capture (like tshark -r)",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_options(p)
    p.add_argument("-V", "--verbose", action="store_true",
                   help="print the full dissection tree of each message")
    p.add_argument("-T", "--output-format", dest="format", default="text",
                   choices=("text", "json", "jsonl", "fields"),
                   help="output format (default text); fields: the -e fields of each message")
    p.add_argument("-e", dest="fields", action="append", default=[], metavar="FIELD",
                   help="with -T fields: a field to print (any name 'cvipsniff fields' lists; "
                   "repeatable)")
    p.add_argument("-E", dest="field_options", action="append", default=[],
                   metavar="OPTION=VALUE",
                   help="with -T fields: header=y|n, separator=/t|/s|C, quote=d|s|n, "
                   "occurrence=f|l|a|N, aggregator=,|/s|C (repeatable)")
    p.add_argument("-t", "--time-format", dest="time_format", default="r",
                   choices=sorted(set(TIME_LETTERS) | set(TIME_ALIASES)),
                   help="time column, as tshark: "
                   + "; ".join(f"{k} {v}" for k, v in TIME_LETTERS.items()))
    p.add_argument("-Y", "--display-filter", dest="filter", metavar="FILTER",
                   help="show only messages matching this display filter (docs/FILTERS.md)")
    p.add_argument("-2", dest="two_pass", action="store_true",
                   help="two passes, like tshark -2: a request's line and record know their "
                   "answer (response frame, latency, final transaction state)")
    p.add_argument("-c", dest="count", type=_positive, metavar="N",
                   help="stop after N displayed messages")
    p.add_argument("-x", dest="hex_dump", action="store_true",
                   help="add the hex dump of each message's bytes")
    p.add_argument("-w", dest="write", metavar="OUT",
                   help="write the frames of the displayed messages (all frames of each "
                   "message) to OUT: pcap for .pcap, pcapng otherwise")
    p.add_argument("-z", dest="stats", action="append", default=[], metavar="STATISTICS",
                   help="statistics after the messages, with tshark's names: " + TAP_HELP
                   + " (repeatable)")
    p.add_argument("-q", dest="quiet", action="store_true",
                   help="print only the statistics (-z), no message lines")
    p.add_argument("--export-objects", dest="export_objects", metavar="imageserver,DIR",
                   help="save the images of the displayed ImageResponse messages (bodies, "
                   "multipart parts, decoded generic byte data payloads) in DIR, with a "
                   "manifest.csv, like tshark --export-objects")
    p.add_argument("--notes", action="store_true",
                   help="also print transport notes (gaps, skipped bytes, retransmissions)")
    p.set_defaults(run=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    check_readable(args.file)
    _check_args(args)
    exporter = _make_exporter(args.export_objects) if args.export_objects else None
    config = pipeline_config(args, keep_data=args.hex_dump or exporter is not None)
    flt = compile_user_filter(args.filter) if args.filter else None
    config.tree = needs_tree(args, flt)
    late_fields = [name for name in args.fields
                   if any(name == p or name.startswith(p + ".") for p in LATE_PREFIXES)]
    two_pass = args.two_pass or bool(late_fields) or (flt is not None and needs_analysis(flt))
    lookup: AnalysisLookup | None = None
    if two_pass:
        if args.file == "-":
            raise UsageError("two passes over the capture are needed (-2, or latency, "
                             "transaction or finding fields): read from a file")
        analysis = Analysis(settings(args))  # its rules, severities and actions
        for item in iter_capture(args.file, config):
            analysis.add(item)
        analysis.finish()
        lookup = AnalysisLookup(analysis)
    # Pairing runs alongside in one pass so a response can name its request (cheap: no
    # rules, only the transaction table).
    pairer = Pairer(imageserver_answer_kind)
    first_ts: list[int] = [0]
    sink = _make_sink(args, first_ts, final=lookup is not None)
    taps = TapRunner(parse_taps(args.stats)) if args.stats else None
    clock = TimeColumn(TIME_ALIASES.get(args.time_format, args.time_format))
    bitmap: bytearray | None = bytearray() if args.write else None
    shown = 0
    show_notes = args.notes or args.verbose
    damage = DamageWatch()  # one stderr line at the end for a cut or corrupt capture
    for item in iter_capture(args.file, config, on_start=_first_frame_time(first_ts)):
        damage.see(item)
        if taps is not None:
            taps.add(item)
        if isinstance(item, Message):
            pairer.feed(item)
            prev_captured = clock.captured(item.ts_ns, first_ts[0])
            if lookup is not None:
                source = lookup.source(item, first_ts[0])
                txn = source.transaction
            else:
                number = pairer.transaction_of(item.number)
                txn = pairer.transactions[number - 1] if number else None
                source = MessageFieldSource(item, transaction=txn, first_ts_ns=first_ts[0])
            if flt is not None and not flt.matches(source):
                continue
            sink.message(item, clock.text(item.ts_ns, prev_captured), txn, source)
            if bitmap is not None:
                flag(bitmap, item.frames)
            if exporter is not None:
                _export(exporter, item)
            shown += 1
            if args.count is not None and shown >= args.count:
                break
        elif isinstance(item, TransportNote) and flt is None:
            # A display filter selects messages; notes go with --notes (or -V) alone.
            sink.note(item, show_notes)
    sink.close()
    damage.warn(args.file)
    if exporter is not None:
        _close_exporter(exporter)
    if bitmap is not None:
        _write_subset(args.file, bitmap, args.write)
    if taps is not None:
        sys.stdout.write(taps.finish(args.file, stopped=args.count is not None
                                     and shown >= args.count))
    return 0


def _check_args(args: argparse.Namespace) -> None:
    if args.format == "fields":
        check_fields(args.fields)
    elif args.fields or args.field_options:
        raise UsageError("-e and -E go with -T fields")
    if args.file == "-" and any(tap.wants_frames for tap in parse_taps(args.stats)):
        raise UsageError("-z conv and io,stat count the capture's frames in a second "
                         "reading: read from a file, not standard input")
    if args.quiet and not args.stats and not args.write:
        raise UsageError("-q prints only statistics: give -z (or -w)")
    if args.write:
        if args.file == "-":
            raise UsageError("-w copies frames from the capture file: read from a file, "
                             "not standard input")
        if os.path.exists(args.write) and os.path.samefile(args.write, args.file):
            raise UsageError(f"-w {args.write!r} is the capture being read")


def _first_frame_time(first_ts: list[int]):
    """Relative times count from the capture's first frame, as tshark's do."""
    def start(ts_ns: int) -> None:
        first_ts[0] = ts_ns
    return start


def needs_tree(args: argparse.Namespace, flt: Filter | None) -> bool:
    """Whether anything asked for shows the dissection tree (the records' fields).

    The one-line output does not: it shows the summary, which the dissectors make alike
    with or without the tree (lean mode, as batch reports use), and building every
    message's tree costs about a quarter of ``read``'s time. The tree is kept for ``-V``,
    the JSON and fields formats, ``-z`` statistics, object export, and display filters on
    protocol fields."""
    if args.format != "text" or args.verbose or args.stats or args.export_objects:
        return True
    return flt is not None and reads_record_fields(flt)


def _make_sink(args: argparse.Namespace, first_ts: list[int], *, final: bool):
    out = sys.stdout
    if args.quiet:
        return NullSink()
    if args.format == "fields":
        writer = FieldsWriter(args.fields, parse_options(args.field_options), out)
        return FieldsSink(out, writer, hex_dump=args.hex_dump, first_ts=first_ts)
    if args.format in ("json", "jsonl"):
        return JsonSink(out, lines=args.format == "jsonl", hex_dump=args.hex_dump,
                        final=final, first_ts=first_ts)
    return TextSink(out, verbose=args.verbose, hex_dump=args.hex_dump)


def _make_exporter(spec: str) -> ObjectExporter:
    try:
        _, directory = parse_spec(spec)
        return ObjectExporter(directory)
    except ValueError as exc:
        raise UsageError(f"--export-objects {spec}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"--export-objects {spec}: {exc.strerror or exc}") from None


def _export(exporter: ObjectExporter, msg: Message) -> None:
    try:
        exporter.add(msg)
    except OSError as exc:
        raise UsageError(f"cannot export objects to {exporter.root!r}: "
                         f"{exc.strerror or exc}") from None


def _close_exporter(exporter: ObjectExporter) -> None:
    try:
        exporter.close()
    except OSError as exc:
        raise UsageError(f"cannot write the manifest in {exporter.root!r}: "
                         f"{exc.strerror or exc}") from None


def _write_subset(capture: str, bitmap: bytearray, out_path: str) -> None:
    try:
        write_frames(capture, bitmap, out_path, fmt=format_for(out_path))
    except OSError as exc:
        raise UsageError(f"cannot write {out_path!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"cannot write {out_path!r}: {exc}") from None
