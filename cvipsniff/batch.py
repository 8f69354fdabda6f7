"""Where ``report``'s captures are analysed: in this process, in worker processes (one
file each, or one large file split by flow), or on a Dask cluster.

Whatever runs them, results come back in the order of the inputs and each is exactly what
one process would have made, so a report is the same byte for byte whatever ``--jobs``
or ``--cluster`` say. A file whose analysis fails in a worker (a bug, a lost worker) is
that file's error in the report, not the run's.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.progress import Progress
from cvipsniff.report import FileResult
from dissectors.accel import COMPILED

MIB = 1 << 20
NEVER_SPLIT = sys.maxsize
# Below this a capture is analysed by one process: it is read in less time than workers
# that each read the whole file take to pay for themselves (the TUI's load uses it too).
SPLIT_ABOVE = 32 * MIB


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def busy_cores() -> float:
    """How many cores other programs keep busy now: the smaller of the 1-minute load
    average and the count of other runnable processes at this instant
    (``/proc/loadavg``). Why both: the average still counts a job that ended seconds
    ago (a CI step just before this one: the load sits near 1 for a minute after it),
    the instant count a process that happens to be awake this moment; a program that
    really competes for the CPU shows in both."""
    try:
        average = os.getloadavg()[0]
    except OSError:
        average = 0.0
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            running = int(fh.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return average
    return min(average, max(0, running - 1))  # less this process, runnable itself


def idle_cores() -> int:
    """The cores nobody else keeps busy now, as ``make -l`` judges it: this process's
    cores less :func:`busy_cores` (rounded), at least 1.

    Why it decides whether one capture is split by default: a split costs about a
    quarter more CPU in all (every worker reads and decodes the whole file, outputs
    cross a pipe), which pays only where cores are free; Linux shares a busy machine's
    CPU between sessions, not processes, so there more processes only share one
    session's part."""
    cores = default_jobs()
    return max(1, min(cores, int(cores - busy_cores() + 0.5)))


def weighs_flows() -> bool:
    """Whether a split is planned by a weighing pass over the file (the compiled
    accelerator's): only then is a capture known not to be worth splitting (as many
    flows as the flow table's cap, whose split would be redone in one process) before
    any worker starts."""
    return COMPILED


def split_jobs(path: str, jobs: int | None = None) -> int:
    """How many processes analyse the single capture ``path`` when nobody said how to
    split it: ``jobs`` (as asked) or the idle cores for a capture of at least
    :data:`SPLIT_ABOVE` bytes, one process for a smaller one, on a busy machine, or
    on the pure-Python path (no weighing pass: a capture of a million tiny flows would
    be split, found inexact and analysed again, ten times one process's time)."""
    if _size(path) < SPLIT_ABOVE:
        return 1
    if jobs is not None:
        return max(1, jobs)
    if not weighs_flows():
        return 1
    idle = idle_cores()
    return idle if idle >= 2 else 1


@dataclass(slots=True, frozen=True)
class AnalyseTask:
    """One capture's analysis as a picklable call (for worker processes and Dask): the
    settings travel, the display filter as its text (compiled where it runs)."""

    config: AnalysisConfig
    pipeline_config: PipelineConfig
    filter_text: str | None = None
    # A folder this machine's report reads: each file's part of the JSON report is
    # rendered into it where the file was analysed (see FileResult.rendered).
    render_into: str | None = None
    # The report is JSON: a split capture's workers render the rows of the transactions
    # they followed (see cvipsniff.report.rowspool).
    spool_rows: bool = False

    def __call__(self, path: str, progress: Progress | None = None) -> FileResult:
        from cvipsniff.commands.filtering import compile_user_filter
        from cvipsniff.commands.report import analyse_path

        flt = compile_user_filter(self.filter_text) if self.filter_text else None
        result = analyse_path(path, self.config, self.pipeline_config, progress, flt,
                              self.filter_text)
        if self.render_into is not None:
            result.rendered = render_part(result, self.render_into)
            result.shed_transactions()
        return result

    def split(self, path: str, workers: int) -> FileResult:
        """One capture over ``workers`` processes by flow: each analysing what it
        follows where that is exact (:mod:`cvipsniff.split_analysis`), else merged into
        one analysis (:mod:`cvipsniff.split`), else in one process."""
        from cvipsniff.report.json_report import new_row_spool
        from cvipsniff.split import analyse_split
        from cvipsniff.split_analysis import Unsplittable, analyse_distributed

        started = time.perf_counter()
        spool = new_row_spool() if self.spool_rows else None
        try:
            analysis = analyse_distributed(path, self.config, self.pipeline_config,
                                           workers, spool)
            if analysis is None:
                analysis = analyse_split(path, self.config, self.pipeline_config, workers)
        except Unsplittable:
            analysis = None
        if analysis is None:
            if spool is not None:
                spool.close()
            return self(path)
        return FileResult(path, analysis, findings=list(analysis.findings),
                          elapsed_s=time.perf_counter() - started, row_spool=spool)


def render_part(result: FileResult, folder: str) -> str:
    """Write ``result``'s part of the JSON report to a new file in ``folder``; its path.
    Why here and not in the parent: with several files over a pool, rendering the
    reports one after the other once all were analysed was the run's serial tail (about
    a tenth of a 2-file run), while each worker can render its own beside the others."""
    from cvipsniff.report import chunked, write_pieces
    from cvipsniff.report.json_report import file_pieces

    fd, name = tempfile.mkstemp(suffix=".json", dir=folder)
    with open(fd, "w", encoding="utf-8") as fh:
        write_pieces(fh, chunked(file_pieces(result)))
    return name


def failed(path: str, exc: BaseException) -> FileResult:
    """A file whose analysis raised where it ran: its error, the run goes on."""
    return FileResult(path, None, error=f"analysis failed: {type(exc).__name__}: {exc}")


def analyse_files(paths: list[str], task: AnalyseTask, *, jobs: int = 1,
                  split_above: int = NEVER_SPLIT,
                  progress: Progress | None = None) -> list[FileResult]:
    """Every path's result, in the order given.

    ``jobs`` > 1: several files go to a pool of that many processes; a single capture of
    at least ``split_above`` bytes (with no display filter, which needs a second pass
    over the whole file) is split by flow over ``jobs`` processes.
    """
    if jobs <= 1:
        return [task(path, progress) for path in paths]
    if len(paths) == 1:
        path = paths[0]
        # A regular file only: every worker opens and reads it (a pipe would be shared).
        if task.filter_text is None and os.path.isfile(path) and _size(path) >= split_above:
            return [task.split(path, jobs)]
        return [task(path, progress)]
    return _pool(paths, task, min(jobs, len(paths)), progress)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path) if os.path.isfile(path) else 0
    except OSError:
        return 0


def _pool(paths: list[str], task: AnalyseTask, workers: int,
          progress: Progress | None) -> list[FileResult]:
    """Files over a process pool; the progress bar counts files done."""
    ctx = multiprocessing.get_context("fork")
    bar = progress.start(f"{len(paths)} captures, {workers} jobs") if progress else None
    done = 0
    results: list[FileResult] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(task, path) for path in paths]
        for path, future in zip(paths, futures, strict=True):
            try:
                results.append(future.result())
            except Exception as exc:  # a worker's bug or death is this file's error
                results.append(failed(path, exc))
            done += 1
            if progress:
                progress.update(bar, done, len(paths))
    if progress:
        progress.finish(bar)
    return results

