"""``report --jobs`` and ``--cluster``: the same report, byte for byte, whatever runs it.

The contract is the single-process report; every bundled capture is compared against it
split by flow over two workers (the demo over three too), as files over a process pool,
and on a local Dask cluster (loopback only, started and stopped by the test).
"""

from __future__ import annotations

import sys

import pytest

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.batch import AnalyseTask, analyse_files
from cvipsniff.commands.report import analyse_path
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.report import FileResult, joined, json_report, text
from cvipsniff.split import analyse_split
from tests.cli_helpers import BUNDLED_CAPTURES, ROOT, assert_clean_error, run_cli

CAPTURES = BUNDLED_CAPTURES
PIPELINE = PipelineConfig(keep_data=False, tree=False)


def _json(result: FileResult) -> str:
    return joined(json_report.render([result], "warning"))


def _single(path: str) -> FileResult:
    return analyse_path(path, AnalysisConfig(), PIPELINE)


def test_the_corpus_is_there() -> None:
    assert len(CAPTURES) > 20


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_capture_split_by_flow_reports_as_one_process_does(capture) -> None:
    path = str(capture)
    one = _single(path)
    for workers in (2, 3) if capture.name == "demo.pcapng" else (2,):
        analysis = analyse_split(path, AnalysisConfig(), PIPELINE, workers)
        assert analysis is not None, "split fell back to one process"
        split = FileResult(path, analysis, findings=list(analysis.findings))
        assert _json(split) == _json(one)
        assert text.render([split], "warning") == text.render([one], "warning")


def test_the_split_spreads_flows_over_the_workers() -> None:
    """Not a degenerate split: on the demo capture each of two workers follows flows."""
    from cvipsniff.capture import open_capture
    from cvipsniff.packets import PacketDecoder
    from cvipsniff.split import shard_of

    decoder = PacketDecoder(on_note=lambda note: None)
    shards = set()
    with open_capture(str(ROOT / "captures" / "demo.pcapng")) as reader:
        for frame in reader:
            packet = decoder.decode(frame)
            if packet is not None and packet.transport == 6:
                shards.add(shard_of(packet, 2))
    assert shards == {0, 1}


def test_a_split_that_could_meet_a_global_cap_falls_back_to_one_process() -> None:
    """The total reassembly cap is one budget for all flows: a worker sees only its
    share, so a split near the cap is not exact and the file is analysed whole."""
    path = str(ROOT / "captures" / "demo.pcapng")
    tight = PipelineConfig(keep_data=False, tree=False, max_total_buffer=1)
    assert analyse_split(path, AnalysisConfig(), tight, 2) is None
    task = AnalyseTask(AnalysisConfig(), tight)
    assert _json(task.split(path, 2)) == _json(task(path))


def test_an_unreadable_capture_is_reported_as_by_one_process(tmp_path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all" * 10)
    task = AnalyseTask(AnalysisConfig(), PIPELINE)
    assert analyse_split(str(bad), AnalysisConfig(), PIPELINE, 2) is None
    split = analyse_files([str(bad)], task, jobs=2, split_above=0)[0]
    assert split.error is not None and split.error == task(str(bad)).error


class _Exploding(AnalyseTask):
    """A task with a bug for one file, as a worker would meet it."""

    def __call__(self, path, progress=None):
        if path.endswith("boom.pcap"):
            raise RuntimeError("injected failure")
        return super().__call__(path, progress)


def test_a_worker_failure_is_that_files_error_not_the_runs() -> None:
    task = _Exploding(AnalysisConfig(), PIPELINE)
    demo = str(ROOT / "captures" / "demo.pcapng")
    results = analyse_files([demo, "/nowhere/boom.pcap", demo], task, jobs=2)
    assert [r.path for r in results] == [demo, "/nowhere/boom.pcap", demo]
    assert results[1].error == "analysis failed: RuntimeError: injected failure"
    assert results[0].error is None and _json(results[0]) == _json(_single(demo))


def test_parts_rendered_by_the_workers_make_the_same_report(tmp_path) -> None:
    """``report --jobs`` over several files: each worker renders its file's part of the
    JSON report into a file, and the report copies them; byte for byte what one process
    renders, a failed worker's file rendered by the parent."""
    paths = [str(p) for p in CAPTURES[:6]] + ["/nowhere/boom.pcap", str(CAPTURES[0])]
    task = _Exploding(AnalysisConfig(), PIPELINE, render_into=str(tmp_path))
    results = analyse_files(paths, task, jobs=2)
    rendered = [r.rendered for r in results]
    assert rendered[6] is None and all(p is not None for p in rendered[:6] + rendered[7:])
    assert all(p.startswith(str(tmp_path)) for p in rendered if p is not None)
    plain = [_single(p) for p in paths[:6]] + [results[6]] + [_single(paths[7])]
    assert joined(json_report.render(results, "warning")) \
        == joined(json_report.render(plain, "warning"))
    # What crossed back holds the findings (exit status, baseline) but not the
    # transactions the part was rendered from.
    got = [r for r in results if r.rendered is not None]
    assert all(len(r.transactions) == 0 for r in got)
    assert [r.findings for r in got] == [r.findings for r in plain[:6] + plain[7:]]
    assert any(len(r.transactions) for r in plain)


def test_the_folder_of_rendered_parts_is_removed_after_the_report(tmp_path) -> None:
    import os
    import subprocess

    env = dict(os.environ, TMPDIR=str(tmp_path),
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-m", "cvipsniff", "report", "--format", "json",
                          "--jobs", "2", "--fail-on", "never", "captures/demo.pcapng",
                          "captures/demo.pcapng"], cwd=ROOT, env=env, capture_output=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count(b'"path": "captures/demo.pcapng"') == 2
    assert list(tmp_path.iterdir()) == []


def _report_json(*args: str) -> str:
    result = run_cli("report", "--format", "json", "--fail-on", "never", *args,
                     timeout=600)
    assert result.code == 0, result.stderr
    return result.stdout


def test_report_jobs_equals_one_process_over_the_corpus() -> None:
    one = _report_json("--jobs", "1", "captures")
    assert _report_json("--jobs", "2", "captures") == one
    assert '"path": "captures/demo.pcapng"' in one


def test_report_jobs_splits_one_capture_with_the_same_output() -> None:
    demo = "captures/demo.pcapng"
    one = _report_json("--jobs", "1", demo)
    assert _report_json("--jobs", "2", "--split-above", "0", demo) == one


try:
    import distributed  # noqa: F401  (the optional 'cluster' extra; in the test extras)
    HAVE_DASK = True
except ImportError:
    HAVE_DASK = False
needs_dask = pytest.mark.skipif(not HAVE_DASK, reason="dask[distributed] not installed")


@needs_dask
def test_report_on_a_local_dask_cluster_equals_one_process_over_the_corpus() -> None:
    one = _report_json("--jobs", "1", "captures")
    assert _report_json("--cluster", "local:2", "captures") == one


@needs_dask
def test_a_failing_task_on_the_cluster_is_that_files_error() -> None:
    import cloudpickle

    from cvipsniff.cluster import analyse_on_cluster

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        task = _Exploding(AnalysisConfig(), PIPELINE)
        demo = str(ROOT / "captures" / "demo.pcapng")
        results = analyse_on_cluster([demo, "/nowhere/boom.pcap"], task, "local:1")
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert results[1].error == "analysis failed: RuntimeError: injected failure"
    assert _json(results[0]) == _json(_single(demo))


@pytest.mark.parametrize("address", ["nonsense", "local:0", "local:x"])
def test_a_bad_cluster_address_is_a_usage_error(address: str) -> None:
    assert_clean_error(run_cli("report", "--cluster", address, "captures/demo.pcapng"),
                       "--cluster")


def test_standard_input_cannot_go_to_a_cluster() -> None:
    result = run_cli("report", "--cluster", "local:1", "-",
                     stdin=(ROOT / "captures" / "demo.pcapng").read_bytes())
    assert_clean_error(result, "standard input")


def test_the_parent_takes_a_smaller_share_of_the_hash_space() -> None:
    """Worker 0 (the parent) also merges and analyses: it follows fewer flows, every
    worker gets a part, and the parts cover the whole 32-bit hash space in order."""
    from cvipsniff.split import shard_bounds

    for workers in (1, 2, 3, 8):
        bounds = shard_bounds(workers)
        assert len(bounds) == workers and bounds[-1] == 1 << 32
        parts = [hi - lo for lo, hi in zip((0, *bounds[:-1]), bounds, strict=True)]
        assert all(part > 0 for part in parts)
        if workers > 1:
            assert parts[0] < min(parts[1:])
        # Where worker 0 is forked like the others (the TUI's split), equal parts.
        even = shard_bounds(workers, 1.0)
        assert even == tuple((1 << 32) * (i + 1) // workers for i in range(workers))


def test_one_large_capture_is_split_over_the_idle_cores_by_default(monkeypatch) -> None:
    """Without --split-above: a capture from SPLIT_ABOVE on is split over the cores the
    load average leaves idle (or the --jobs asked for); a small one, a busy machine or
    several files are not split."""
    import cvipsniff.batch as batch

    demo = str(ROOT / "captures" / "demo.pcapng")
    monkeypatch.setattr(batch, "default_jobs", lambda: 4)
    monkeypatch.setattr(batch, "weighs_flows", lambda: True)  # as on the compiled path
    monkeypatch.setattr(batch, "busy_cores", lambda: 0.3)
    assert batch.split_jobs(demo) == 1  # smaller than SPLIT_ABOVE
    assert batch.split_jobs(demo, 3) == 1
    monkeypatch.setattr(batch, "SPLIT_ABOVE", 1)
    assert batch.split_jobs(demo) == 4
    assert batch.split_jobs(demo, 3) == 3  # as asked
    monkeypatch.setattr(batch, "busy_cores", lambda: 2.6)
    assert batch.split_jobs(demo) == 1  # a busy machine: one process
    assert batch.split_jobs(demo, 2) == 2  # unless asked
    monkeypatch.setattr(batch, "busy_cores", lambda: 0.3)
    monkeypatch.setattr(batch, "weighs_flows", lambda: False)
    assert batch.split_jobs(demo) == 1  # pure Python: no weighing pass, no split unasked
    assert batch.split_jobs(demo, 2) == 2
    monkeypatch.setattr(batch, "weighs_flows", lambda: True)

    # The report command takes that decision: it splits, and the output is the same.
    from cvipsniff import cli

    monkeypatch.setattr(batch, "busy_cores", lambda: 0.3)
    splits: list[tuple[str, int]] = []
    real_split = AnalyseTask.split

    def spying_split(self, path, workers):
        splits.append((path, workers))
        return real_split(self, path, workers)

    monkeypatch.setattr(AnalyseTask, "split", spying_split)

    def report(*args: str) -> str:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = cli.main(["report", "--format", "json", "--fail-on", "never", *args])
        assert code == 0
        return out.getvalue()

    default = report(demo)
    assert splits == [(demo, 4)]
    assert report("--jobs", "1", demo) == default
    assert splits == [(demo, 4)]  # --jobs 1: one process
    assert report("--split-above", "1000", demo) == default
    assert len(splits) == 1  # an explicit threshold the capture is below
    report(demo, demo)
    assert len(splits) == 1  # several files go to the pool, one each


def test_busy_cores_counts_what_competes_now(monkeypatch, tmp_path) -> None:
    """The smaller of the load average and the other runnable processes of this instant:
    a job that ended a moment ago (the average still high) leaves the cores idle."""
    import builtins

    import cvipsniff.batch as batch

    loadavg = tmp_path / "loadavg"
    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        return real_open(loadavg if path == "/proc/loadavg" else path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(batch.os, "getloadavg", lambda: (1.4, 1.0, 0.5))
    loadavg.write_text("1.40 1.00 0.50 1/321 4242\n")  # only this process runs now
    assert batch.busy_cores() == 0
    loadavg.write_text("1.40 1.00 0.50 3/321 4242\n")
    assert batch.busy_cores() == 1.4  # two others run: the average is the smaller
    loadavg.write_text("0.30 1.00 0.50 3/321 4242\n")
    monkeypatch.setattr(batch.os, "getloadavg", lambda: (0.3, 1.0, 0.5))
    assert batch.busy_cores() == 0.3  # a moment's wake-up: the average says idle
    loadavg.write_text("garbage")
    assert batch.busy_cores() == 0.3  # unreadable: the average alone
