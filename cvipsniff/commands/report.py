"""``cvipsniff report FILE...``: batch conformance report over captures, for CI and people.

Exit status 0 when no finding reaches ``--fail-on``, 1 when one does, 2 on a usage or
input error (an unreadable capture is reported and counts as an input error).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cvipsniff.analysis.config import FAIL_ON, AnalysisConfig, load_config, select_rules
from cvipsniff.analysis.coverage import RULE as NO_TRAFFIC
from cvipsniff.analysis.engine import Analysis
from cvipsniff.batch import (
    MIB,
    NEVER_SPLIT,
    AnalyseTask,
    analyse_files,
    default_jobs,
    split_jobs,
)
from cvipsniff.capture import CaptureError
from cvipsniff.cluster import analyse_on_cluster
from cvipsniff.commands.common import add_decode_options, parse_decode_as
from cvipsniff.commands.filtering import AnalysisLookup, compile_user_filter, reads_record_fields
from cvipsniff.errors import UsageError
from cvipsniff.filter import Filter
from cvipsniff.model import Message
from cvipsniff.paths import default_capture
from cvipsniff.pipeline import PipelineConfig, iter_capture
from cvipsniff.progress import Progress
from cvipsniff.report import (
    FileResult,
    Narrowed,
    chunked,
    failing,
    json_report,
    junit,
    markdown,
    text,
    write_pieces,
)

if TYPE_CHECKING:  # a baseline is read only when one is asked for (10 ms of imports)
    from cvipsniff.analysis.baseline import Baseline

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="conformance report over captures (for CI)",
                       description=__doc__)
    p.add_argument("inputs", nargs="*", metavar="FILE",
                   help="captures, directories (searched recursively) or glob patterns; "
                   "'-' reads one capture from standard input")
    p.add_argument("--format", default="text", choices=("text", "json", "junit", "markdown"),
                   help="report format (default text)")
    p.add_argument("-o", "--output", metavar="OUT", help="write the report to OUT")
    p.add_argument("--fail-on", choices=FAIL_ON, default=None,
                   help="exit 1 when a finding of this severity or worse is reported "
                   "(default from config, else error)")
    p.add_argument("--config", metavar="TOML", help="settings file (default ./cvipsniff.toml "
                   "or [tool.cvipsniff] in ./pyproject.toml)")
    p.add_argument("--baseline", metavar="FILE", help="accepted findings: fail only on new ones")
    p.add_argument("--write-baseline", metavar="FILE",
                   help="write every finding of this run as the new baseline (exit status "
                   "0 once written, whatever the findings)")
    p.add_argument("--rule", action="append", default=[], metavar="ID",
                   help="run only this rule (id or glob; repeatable)")
    p.add_argument("--skip-rule", action="append", default=[], metavar="ID",
                   help="skip this rule (id or glob; repeatable)")
    p.add_argument("-Y", "--display-filter", dest="filter", metavar="FILTER",
                   help="report only on messages matching this display filter: their "
                   "findings and transactions (transport findings are left out)")
    p.add_argument("-j", "--jobs", type=_positive, default=None, metavar="N",
                   help="worker processes: files in parallel, one large capture split by "
                   "flow (default: the machine's cores; the report is the same whatever N)")
    p.add_argument("--split-above", type=_positive_or_zero, default=None, metavar="MB",
                   help="split a single capture by flow over the jobs when it is at least "
                   "this large (0: always; default: from 32 MB on the compiled path, over "
                   "the cores other programs leave idle, or over --jobs when given; see "
                   "the README)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="analyse the captures on a Dask cluster: tcp://SCHEDULER:PORT, or "
                   "local:N for N local workers (needs the 'cluster' extra)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="text format: each capture's summary and the rules that fail the "
                   "gate only (no passing rules, no response-time table)")
    p.add_argument("--default", action="store_true", help=argparse.SUPPRESS)
    add_decode_options(p)
    p.set_defaults(run=run)


def expand_inputs(inputs: list[str]) -> list[str]:
    """Files as given, directories searched for captures, glob patterns expanded."""
    paths: list[str] = []
    for item in inputs:
        if os.path.isdir(item):
            found = sorted(str(p) for p in Path(item).rglob("*")
                           if p.is_file() and p.name.endswith(CAPTURE_SUFFIXES))
            if not found:
                raise UsageError(f"no captures (*.pcap, *.pcapng, .gz) under {item!r}")
            paths.extend(found)
        elif any(ch in item for ch in "*?[") and not os.path.exists(item):
            found = sorted(glob.glob(item, recursive=True))
            if not found:
                raise UsageError(f"no file matches {item!r}")
            paths.extend(found)
        else:
            paths.append(item)
    return paths


def analyse_path(path: str, config: AnalysisConfig, pipeline_config: PipelineConfig,
                 progress: Progress | None = None, flt: Filter | None = None,
                 flt_text: str | None = None) -> FileResult:
    """One capture through the pipeline and the analysis; never raises on its content."""
    started = time.perf_counter()
    if path != "-" and not os.path.exists(path):  # "-": standard input
        return FileResult(path, None, error="no such file")
    if os.path.isdir(path):
        return FileResult(path, None, error="is a directory")
    analysis = Analysis(config)
    task = progress.start(path) if progress else None
    try:
        on_progress = (lambda done, total: progress.update(task, done, total)) \
            if progress else None
        for item in iter_capture(path, pipeline_config, on_progress=on_progress):
            analysis.add(item)
    except CaptureError as exc:
        return FileResult(path, None, error=str(exc))
    finally:
        if progress:
            progress.finish(task)
    analysis.finish()
    result = FileResult(path, analysis, findings=list(analysis.findings))
    if flt is not None:
        _narrow(result, analysis, flt, pipeline_config, flt_text or "")
    result.elapsed_s = time.perf_counter() - started
    return result


def _narrow(result: FileResult, analysis: Analysis, flt: Filter,
            pipeline_config: PipelineConfig, flt_text: str) -> None:
    """Second pass: keep the findings and transactions of the messages the filter selects,
    and count what it selects for the summary and the response-time table."""
    lookup = AnalysisLookup(analysis)
    selected: set[int] = set()
    narrowed = Narrowed(flt_text)
    first_ts = [0]  # the capture's first frame: frame.time_relative counts from it
    for item in iter_capture(result.path, pipeline_config,
                             on_start=lambda ts_ns: first_ts.__setitem__(0, ts_ns)):
        if isinstance(item, Message) and flt.matches(lookup.source(item, first_ts[0])):
            selected.add(item.number)
            narrowed.add(item)
    # A capture without any message fails whatever the filter: nothing selected is no pass.
    result.findings = [f for f in result.findings
                       if f.message_number in selected or f.rule == NO_TRAFFIC]
    result.selected_transactions = [
        t for t in analysis.transactions
        if (t.request is not None and t.request.number in selected)
        or any(r.number in selected for r in t.responses)
    ]
    narrowed.times(result.selected_transactions)
    result.narrowed = narrowed


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    select_rules(config, args.rule, args.skip_rule)
    fail_on = args.fail_on or config.fail_on
    inputs = list(args.inputs)
    if args.default and not inputs:
        demo = default_capture()
        if demo is None:
            raise UsageError("no capture given and none bundled in captures/")
        inputs = [str(demo)]
        if args.fail_on is None:
            fail_on = "never"  # the demo run shows the report; CI runs pass files explicitly
    if not inputs:
        raise UsageError("no capture given (usage: cvipsniff report FILE... )")
    paths = expand_inputs(inputs)
    stdin = "-" in paths
    if stdin and len(paths) > 1:
        raise UsageError("'-' reads one capture from standard input: give it alone")
    if stdin and args.filter:
        raise UsageError("a display filter takes two passes over the capture: "
                         "report on a file, not standard input")
    if stdin and args.cluster:
        raise UsageError("--cluster workers open the captures themselves: give paths they "
                         "can read, not standard input")
    decode_as = parse_decode_as(config.decode_as + list(args.decode_as))
    flt = compile_user_filter(args.filter) if args.filter else None
    # Without a display filter nothing reads a record's tree or (but for the few the
    # analysis reads, which are always made) its attributes.
    pipeline_config = PipelineConfig(decode_as=decode_as, heuristics=not args.no_heuristics,
                                     keep_data=False, dissector_options=config.dissector_options,
                                     tree=flt is not None and reads_record_fields(flt),
                                     attrs=flt is not None)
    baseline_path = args.baseline or config.baseline
    baseline = None
    if baseline_path:
        from cvipsniff.analysis.baseline import Baseline

        baseline = Baseline.load(baseline_path)

    with contextlib.ExitStack() as cleanup:
        return _report(args, paths, config, pipeline_config, baseline, fail_on, stdin,
                       cleanup)


def _report(args: argparse.Namespace, paths: list[str], config: AnalysisConfig,
            pipeline_config: PipelineConfig, baseline: Baseline | None, fail_on: str,
            stdin: bool, cleanup: contextlib.ExitStack) -> int:
    """Analyse, render and write; ``cleanup`` closes what the run made (the folder of
    files whose JSON parts workers rendered) once the report is written."""
    task = AnalyseTask(config, pipeline_config, args.filter,
                       spool_rows=args.format == "json" and not args.filter)
    if args.cluster:
        results = analyse_on_cluster(paths, task, args.cluster)
    else:
        jobs = 1 if stdin else args.jobs or default_jobs()  # stdin is read once, here
        if args.split_above is not None:
            split_above = int(args.split_above * MIB)
        elif len(paths) == 1 and not stdin:
            # One capture: split over the idle cores (or the --jobs asked for) from
            # batch.SPLIT_ABOVE on; on a busy machine the split's extra CPU would only slow it.
            jobs = split_jobs(paths[0], args.jobs)
            split_above = 0  # split_jobs has weighed the size: more than 1 job splits
        else:
            split_above = NEVER_SPLIT
        if args.format == "json" and baseline is None and jobs > 1 and len(paths) > 1:
            # Files over a pool: each worker renders its file's part as well (the
            # baseline, applied here afterwards, would change what it renders).
            folder = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="cvipsniff-"))
            task = replace(task, render_into=folder)
        with Progress.for_stderr() as progress:
            results = analyse_files(paths, task, jobs=jobs,
                                    split_above=split_above, progress=progress)
    if baseline is not None:
        for result in results:
            if result.analysis is not None:
                result.findings, result.excused = baseline.filter_new(result.path,
                                                                      result.findings)

    if args.write_baseline:
        from cvipsniff.analysis.baseline import write_baseline

        n = write_baseline(args.write_baseline,
                           [(r.path, r.findings) for r in results if r.analysis is not None])
        print(f"cvipsniff: wrote {n} finding(s) to baseline {args.write_baseline}",
              file=sys.stderr)

    payload: str | bytes | Iterator[str]
    if args.format == "json":
        payload = json_report.render(results, fail_on)
    elif args.format == "junit":
        payload = junit.render(results, fail_on, config)
    elif args.format == "markdown":
        payload = markdown.render(results, fail_on)
    else:
        payload = text.render(results, fail_on, quiet=args.quiet)
    _write(payload, args.output)

    for r in results:
        if r.error is not None:
            print(f"cvipsniff: cannot analyse {r.path!r}: {r.error}", file=sys.stderr)
    if any(r.error is not None for r in results):
        return 2
    if args.write_baseline:
        return 0  # the job asked for a baseline and got it; the findings are in it
    return 1 if any(failing(r.findings, fail_on) for r in results) else 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, not {text!r}")
    return int(text)


def _positive_or_zero(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a size in MB ≥ 0, not {text!r}")
    return value


def _write(payload: str | bytes | Iterator[str | bytes], output: str | None) -> None:
    """Write a report to ``output`` or stdout; an iterator's pieces as they come."""
    if isinstance(payload, bytes):
        pieces: Iterable[str | bytes] | None = None
    else:
        pieces = (payload,) if isinstance(payload, str) else chunked(payload)
    if output is None:
        if pieces is None:
            sys.stdout.buffer.write(payload)  # type: ignore[arg-type]
            sys.stdout.flush()
        else:
            write_pieces(sys.stdout, pieces)
        return
    try:
        mode = "wb" if pieces is None else "w"
        with open(output, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as fh:
            if pieces is None:
                fh.write(payload)
            else:
                write_pieces(fh, pieces)
    except OSError as exc:
        raise UsageError(f"cannot write {output!r}: {exc.strerror}") from None
