"""``cvipsniff sniff -i IFACE``: live capture and analysis, like ``tshark -i``.

Messages are printed as they complete and findings as they arise (an unanswered request
after ``--unanswered-timeout`` seconds, while the capture goes on). Ctrl-C, ``-c COUNT``
or ``-a duration:SECONDS`` ends the capture: open flows are flushed, requests still open
are reported unanswered, and the summary (or the ``--report`` format) is printed. The
exit status is the report's: 0 clean, 1 findings at or above ``--fail-on``, 2 when the
capture could not start (no such interface, no permission, bad filter) or failed.

The default capture filter covers the protocols' ports (CVIP 7110 and 9990, ImageServer
7563) and every ``--decode-as`` port; ``-f ''`` captures everything, for the heuristics.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from cvipsniff.analysis.config import FAIL_ON, load_config, select_rules
from cvipsniff.analysis.coverage import RULE as NO_TRAFFIC
from cvipsniff.commands.common import add_decode_options, parse_decode_as
from cvipsniff.commands.filtering import compile_user_filter
from cvipsniff.commands.live_options import (
    add_capture_source_options,
    add_timeout_options,
    count_arg,
    positive_float_arg,
    source_options,
)
from cvipsniff.errors import UsageError
from cvipsniff.live.capture_filter import default_capture_filter
from cvipsniff.live.printer import LivePrinter, capture_line, summary_records
from cvipsniff.live.session import LiveSession, SessionEnded, StopConditions
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.report import FileResult, failing, json_report, junit, markdown, text
from cvipsniff.report.jsontext import dumps_indented

REPORT_FORMATS = ("text", "json", "junit", "markdown")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sniff", help="capture live and analyse as it happens (like tshark -i)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-i", "--interface", required=True, metavar="IFACE",
                   help="interface to capture on, by name or number ('cvipsniff interfaces')")
    p.add_argument("-w", "--write", dest="write", metavar="FILE",
                   help="also write the captured frames to FILE as pcapng ('-' for stdout)")
    p.add_argument("--ring-size", type=positive_float_arg, metavar="MB",
                   help="with -w: start a new file when the current one reaches MB megabytes")
    p.add_argument("--ring-files", type=count_arg, default=0, metavar="N",
                   help="with --ring-size: keep only the newest N files")
    p.add_argument("-T", "--output-format", dest="format", default="text",
                   choices=("text", "jsonl"), help="output format (default text)")
    p.add_argument("-V", "--verbose", action="store_true",
                   help="print the full dissection tree of each message")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print no messages or findings while capturing, only the summary")
    p.add_argument("-Y", "--display-filter", dest="filter", metavar="FILTER",
                   help="show only messages matching this display filter (docs/FILTERS.md) "
                   "and their findings; the summary covers them alone")
    p.add_argument("-c", "--count", type=count_arg, metavar="COUNT",
                   help="stop after COUNT packets")
    p.add_argument("-a", "--autostop", action="append", default=[], metavar="COND",
                   help="stop condition: duration:SECONDS or packets:N (repeatable)")
    p.add_argument("--report", choices=REPORT_FORMATS, metavar="FORMAT",
                   help="at the end, also produce this report (" + ", ".join(REPORT_FORMATS)
                   + "); on standard output it replaces the text summary")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write the --report to OUT instead of standard output")
    p.add_argument("--fail-on", choices=FAIL_ON, default=None,
                   help="exit 1 when a finding of this severity or worse was reported "
                   "(default from config, else error)")
    p.add_argument("--config", metavar="TOML", help="settings file (default ./cvipsniff.toml "
                   "or [tool.cvipsniff] in ./pyproject.toml)")
    p.add_argument("--rule", action="append", default=[], metavar="ID",
                   help="run only this rule (id or glob; repeatable)")
    p.add_argument("--skip-rule", action="append", default=[], metavar="ID",
                   help="skip this rule (id or glob; repeatable)")
    add_capture_source_options(p)
    add_timeout_options(p)
    add_decode_options(p)
    p.set_defaults(run=run)


def parse_autostop(conditions: list[str], count: int | None) -> StopConditions:
    """``-a duration:S`` / ``-a packets:N`` (tshark's spelling) and ``-c N``."""
    packets = count or None
    duration: float | None = None
    for condition in conditions:
        kind, _, value = condition.partition(":")
        try:
            if kind == "duration":
                duration = positive_float_arg(value)
            elif kind == "packets":
                packets = count_arg(value) or None
            else:
                raise UsageError(f"bad -a {condition!r}: expected duration:SECONDS or "
                                 "packets:N")
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"bad -a {condition!r}: {exc}") from None
    return StopConditions(packets=packets, duration_s=duration)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    select_rules(config, args.rule, args.skip_rule)
    if args.unanswered_timeout is not None:
        config.unanswered_timeout_s = args.unanswered_timeout
    fail_on = args.fail_on or config.fail_on
    decode_as = parse_decode_as(config.decode_as + list(args.decode_as))
    stop = parse_autostop(args.autostop, args.count)
    if args.ring_files and not args.ring_size:
        raise UsageError("--ring-files needs --ring-size (the size at which a new file starts)")
    if args.ring_size and (args.write is None or args.write == "-"):
        raise UsageError("--ring-size needs -w FILE (the ring's file name)")
    flt = compile_user_filter(args.filter) if args.filter else None
    if args.output is not None:
        if args.report is None:
            raise UsageError("-o needs --report FORMAT (the report it writes)")
        _check_writable(args.output)  # now, not after an hour of capture
    capture_filter = (args.capture_filter if args.capture_filter is not None
                      else default_capture_filter(decode_as))
    pipeline_config = PipelineConfig(
        decode_as=decode_as, heuristics=not args.no_heuristics, keep_data=False,
        dissector_options=config.dissector_options,
        tree=args.format == "jsonl" or args.verbose or flt is not None)

    to_stdout = args.write == "-"  # the pcapng stream owns standard output then
    stream: TextIO = sys.stderr if to_stdout else sys.stdout
    session: LiveSession | None = None
    printer = LivePrinter(stream, args.format, lambda: session.analysis if session else None,
                          flt, verbose=args.verbose, quiet=args.quiet or to_stdout,
                          start=lambda: session.pipeline.first_ts_ns if session else None)
    session = LiveSession(
        args.interface, capture_filter, args.backend, pipeline_config=pipeline_config,
        analysis_config=config, write_to=args.write, ring_size_mb=args.ring_size,
        ring_files=args.ring_files, stop_conditions=stop,
        source_options=source_options(args),
        idle_timeout_s=args.idle_timeout, on_output=printer)
    session.start()  # raises the one-line LiveCaptureError (exit 2) if it cannot capture
    described = repr(capture_filter) if capture_filter else "none"
    print(f"Capturing on {session.stats.interface!r} ({session.stats.backend} backend, "
          f"capture filter {described})", file=sys.stderr, flush=True)
    ended = _wait(session)

    result = FileResult(f"live capture on {ended.stats.interface}", session.analysis,
                        findings=list(session.analysis.findings),
                        elapsed_s=ended.stats.elapsed_s)
    if flt is not None:
        _narrow(result, printer.selected)
    _final_output(args, result, ended, fail_on, sys.stderr if to_stdout else sys.stdout)
    if ended.error is not None:
        if isinstance(ended.error, BrokenPipeError):
            raise ended.error
        print(f"cvipsniff: {ended.error}", file=sys.stderr)
        return 2
    return 1 if failing(result.findings, fail_on) else 0


def _wait(session: LiveSession) -> SessionEnded:
    """Wait for the capture to end; the first Ctrl-C (or SIGTERM) ends it cleanly, a
    second Ctrl-C gives up at once."""
    with _stopping_on_signals(session):
        try:
            while True:
                ended = session.join(0.25)
                if ended is not None:
                    return ended
        except KeyboardInterrupt:
            session.abort()
            session.join(5.0)
            raise


@contextlib.contextmanager
def _stopping_on_signals(session: LiveSession) -> Iterator[None]:
    def on_signal(signum: int, _frame: Any) -> None:
        session.stop()
        if signum == signal.SIGINT:  # a second Ctrl-C interrupts for real
            signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _narrow(result: FileResult, selected: set[int]) -> None:
    """Keep the findings and transactions of the messages the display filter showed."""
    result.findings = [f for f in result.findings  # no traffic at all fails whatever -Y is
                       if f.message_number in selected or f.rule == NO_TRAFFIC]
    assert result.analysis is not None
    result.selected_transactions = [
        t for t in result.analysis.transactions
        if (t.request is not None and t.request.number in selected)
        or any(r.number in selected for r in t.responses)]


def _final_output(args: argparse.Namespace, result: FileResult, ended: SessionEnded,
                  fail_on: str, stream: TextIO) -> None:
    """What ends the output: in JSON lines the transaction and summary records, always
    (they belong to the stream); in text the summary, unless a --report takes standard
    output instead. The --report goes to -o, else to standard output."""
    assert result.analysis is not None
    if args.format == "jsonl":
        _write("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in
                       summary_records(result.analysis, ended.stats, result.transactions)),
               None, stream)
    elif args.report is None or args.output is not None:
        _write(_text_summary(result, ended, fail_on), None, stream)
    if args.report is not None:
        _write(_report(args.report, result, ended, fail_on), args.output, stream)


def _text_summary(result: FileResult, ended: SessionEnded, fail_on: str) -> str:
    lines = text.render_file(result, fail_on)
    lines.insert(1, "   " + capture_line(ended.stats))
    return "\n".join(lines) + "\n"


def _report(report_format: str, result: FileResult, ended: SessionEnded, fail_on: str
            ) -> str | bytes:
    """The batch report's formats over the live capture (JSON adds a "capture" object
    with the capture's own figures: packets, bytes, drops, elapsed time)."""
    assert result.analysis is not None
    if report_format == "json":
        report = json_report.report_json([result], fail_on)
        report["files"][0]["capture"] = ended.stats.to_json()
        return dumps_indented(report, 1) + "\n"
    if report_format == "junit":
        return junit.render([result], fail_on, result.analysis.config)
    if report_format == "markdown":
        return markdown.render([result], fail_on)
    return _text_summary(result, ended, fail_on)


def _check_writable(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"cannot write {path!r}: is a directory")
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise UsageError(f"cannot write {path!r}: no such directory or not writable")


def _write(payload: str | bytes, output: str | None, stream: TextIO) -> None:
    if output is None:
        if isinstance(payload, bytes):
            stream.flush()
            stream.buffer.write(payload)
        else:
            stream.write(payload)
        stream.flush()
        return
    try:
        if isinstance(payload, bytes):
            with open(output, "wb") as fh:
                fh.write(payload)
        else:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(payload)
    except OSError as exc:
        raise UsageError(f"cannot write {output!r}: {exc.strerror}") from None
