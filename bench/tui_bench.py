"""Benchmark: the terminal UI on a capture of a million messages.

    .venv/bin/python bench/tui_bench.py                     # generate once, then measure
    .venv/bin/python bench/tui_bench.py --messages 100000   # a smaller capture
    .venv/bin/python bench/tui_bench.py --regenerate
    .venv/bin/python bench/tui_bench.py --against ../old --jobs 1 --jobs 2 --rounds 2

Generates ``bench/out/tui-<N>.pcap`` (deterministic): conformant CVIP request/answer
exchanges (the small ones of the reference peers' scenarios, renumbered) over 500 TCP
connections, laid out by the project's capture synthesizer in consecutive chunks so the
generator's own memory stays flat. Then runs the TUI headless (``App.run_test``) in a
fresh process and reports:

* time to first paint: from process start, and from app start, until the message list
  has drawn a screen of messages (the target is 1 s whatever the capture size);
* full load time (every message listed, pairing and findings done);
* peak RSS of that process (kernel rusage), and per 100k messages listed (target: under
  50 MB per 100k);
* scrolling: page-down, jump to the end and back, cursor steps (time per key press,
  rendering included);
* filtering: applying an engine-field filter and a record-field filter to every message.

``--jobs N`` (repeatable) loads with N processes (``tui --jobs``; by default the TUI's
own choice). ``--against DIR`` measures the cvipsniff of the checkout in DIR too (an
older version of the TUI, by this script's measurement), interleaved round by round with
this one on the same capture, and prints the ratios: on a shared machine only figures
taken side by side compare. CPU seconds are printed beside wall time: on a machine
whose other users keep the cores busy (Linux shares the CPU between sessions, however
many processes each runs), they are what the code costs.

Timings are never asserted by the test suite; record them with the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
# --root DIR (set by --against): measure the cvipsniff of another checkout, with this
# script's measurement, so both sides report the same figures.
sys.path.insert(0, sys.argv[sys.argv.index("--root") + 1] if "--root" in sys.argv
                else str(ROOT))

from exchanges import cvip_exchanges, with_txn  # noqa: E402  (bench/, the script's folder)

OUT = ROOT / "bench" / "out"
FLOWS = 500
CHUNK_FLOWS = 50
MAX_MESSAGE = 300  # bytes: "small CVIP messages"


# ---- the capture --------------------------------------------------------------------


def _chunk(first_flow: int, flows: int, messages_per_flow: int, exchanges, rng):
    from cvipsniff.sim.transcript import Conversation, MessageTruth, Scenario, WireMessage

    scenario = Scenario("tui-bench", "small conformant CVIP exchanges")
    for f in range(first_flow, first_flow + flows):
        conv = Conversation("tcp", (f"10.0.{f // 250}.{f % 250 + 1}", 20000 + f),
                            ("10.1.0.1", 7110))
        t = rng.random() * 5.0
        txn = 1
        while len(conv.messages) < messages_per_flow:
            for direction, data, truth in exchanges[rng.randrange(len(exchanges))]:
                conv.messages.append(WireMessage(
                    direction, with_txn(data, txn), t,
                    MessageTruth(truth.protocol, truth.kind, txn, truth.method,
                                 truth.is_response)))
                t += 0.5 + rng.random() * (2.0 if direction else 8.0)
            txn = txn % 0x7FFF + 1
        scenario.conversations.append(conv)
    return scenario


def generate(path: Path, messages: int, seed: int = 11) -> None:
    """Write ``messages`` CVIP messages (rounded to whole exchanges) over FLOWS
    connections, CHUNK_FLOWS connections at a time, each chunk after the previous one on
    the timeline."""
    from cvipsniff.capture import PcapWriter
    from cvipsniff.sim.synth import BASE_EPOCH_NS, Synthesizer

    rng = random.Random(seed)
    exchanges = cvip_exchanges(seed, max_message=MAX_MESSAGE, conformant_only=True)
    per_flow = max(2, messages // FLOWS)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    start_ns = BASE_EPOCH_NS
    with tmp.open("wb") as fh:
        writer = PcapWriter(fh, 1, snaplen=262144, nanosecond=True)
        for first in range(0, FLOWS, CHUNK_FLOWS):
            scenario = _chunk(first, min(CHUNK_FLOWS, FLOWS - first), per_flow, exchanges, rng)
            synth = Synthesizer(scenario, seed=seed + first, start_ns=start_ns)
            last = start_ns
            for frame in synth.frames():
                writer.write(frame)
                last = frame.ts_ns
            start_ns = last + 1_000_000
        writer.close()
    tmp.replace(path)


# ---- measuring (in a fresh process, so RSS is the UI's own) -------------------------


def _process_age() -> float:
    """Seconds since this process started (Linux: /proc), so "time to first paint"
    includes the interpreter's start-up and imports, as a user waits for them."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start / ticks
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - START


def _rss_mb() -> float:
    """Current resident set size."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return float("nan")


def _peak_rss_mb() -> float:
    """Peak resident set size of this process's own memory (VmHWM). Not ``ru_maxrss``:
    Linux carries the parent's peak over fork and exec into it, so a parent that had
    just generated the capture made the demo baseline look like 279 MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _drawn_rows(lst) -> int:
    """How many rows of the list's first screen have been rendered by the compositor
    (they sit in its line cache, keyed by row number first)."""
    visible = min(lst.row_count(), lst.size.height - 1)
    drawn = {key[0] for key in list(lst._lines.keys()) if key[4] == lst.generation}
    return sum(1 for row in range(visible) if row in drawn)


async def _measure(path: str, record_filter_s: float, jobs: int | None = None,
                   ) -> dict[str, float]:
    from cvipsniff.tui.app import CvipsniffApp

    results: dict[str, float] = {}
    imported_at = _process_age()
    app = CvipsniffApp(path, jobs=jobs) if jobs is not None else CvipsniffApp(path)
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.messages_screen
        lst = screen.message_list
        # First paint: a screenful of messages in the list, drawn. (Not pilot.pause():
        # it waits for an idle CPU, up to 1 s, and the loader keeps the CPU busy.)
        while lst.row_count() < lst.size.height - 1 and not app.session.load.done:
            await asyncio.sleep(0.002)
        while _drawn_rows(lst) < min(lst.row_count(), lst.size.height - 1):
            await asyncio.sleep(0.002)
        results["first_paint_from_app_start_s"] = time.perf_counter() - started
        results["first_paint_from_process_start_s"] = _process_age()
        await pilot.pause()
        lines = [lst.render_line(y).text for y in range(lst.size.height)]
        assert sum(1 for line in lines[1:] if line.strip()) >= min(len(app.session),
                                                                  lst.size.height - 1)
        results["imports_s"] = imported_at
        # Full load, sampling the memory as it grows.
        while not app.session.load.done:
            await asyncio.sleep(0.25)
        results["load_s"] = time.perf_counter() - started
        results["messages"] = len(app.session)
        results["transactions"] = len(app.session.transactions)
        results["rss_after_load_mb"] = _rss_mb()
        results["peak_rss_after_load_mb"] = _peak_rss_mb()
        results["cpu_s"] = time.process_time()
        # Worker processes' CPU and peak RSS (a split load), once they have ended.
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        results["workers_cpu_s"] = children.ru_utime + children.ru_stime
        results["workers_peak_rss_mb"] = children.ru_maxrss / 1024

        # Scrolling: what one key costs the UI (cursor move, every visible line
        # rendered, details and bytes rebuilt), without the pilot's idle waits.
        def render_screen() -> None:
            lst._lines.clear()  # nothing from the cache: the worst case
            for y in range(lst.size.height):
                lst.render_line(y)

        def timed(action, repeat: int) -> float:
            t = time.perf_counter()
            for _ in range(repeat):
                action()
                render_screen()
                screen.refresh_details()
            return (time.perf_counter() - t) / repeat

        results["page_down_ms"] = 1000 * timed(lambda: lst.action_page(1), 50)
        results["cursor_down_ms"] = 1000 * timed(lambda: lst.action_cursor(1), 50)
        results["jump_to_end_ms"] = 1000 * timed(lst.action_last, 5)
        results["jump_to_start_ms"] = 1000 * timed(lst.action_first, 5)
        # The same keys through Textual (pilot), screen refresh included.
        t = time.perf_counter()
        await pilot.press(*["pagedown"] * 10)
        results["pilot_page_down_ms"] = 1000 * (time.perf_counter() - t) / 10

        # Filtering: engine fields only (answered from the store's columns) ...
        t = time.perf_counter()
        screen.apply_filter("direction == 1 && cvip.txn <= 100")
        first_match = None
        while screen.filter_job is not None and not screen.filter_job.caught_up:
            if first_match is None and len(app.session.view):
                first_match = time.perf_counter() - t
            await asyncio.sleep(0.01)
        while any(w.is_running for w in app.workers if w.group == "filter"):
            await asyncio.sleep(0.01)
        results["engine_filter_s"] = time.perf_counter() - t
        results["engine_filter_first_match_s"] = first_match or results["engine_filter_s"]
        results["engine_filter_matches"] = len(app.session.view)
        results["engine_filter_msgs_per_s"] = len(app.session) / results["engine_filter_s"]
        # ... and a field of the dissection tree (every message re-dissected), for a
        # bounded time: its rate says how long a whole capture takes.
        t = time.perf_counter()
        screen.apply_filter('cvip.method == "cviUnit.describe"')
        while screen.filter_job is not None and not screen.filter_job.caught_up \
                and time.perf_counter() - t < record_filter_s:
            await asyncio.sleep(0.05)
        job = screen.filter_job
        elapsed = time.perf_counter() - t
        results["record_filter_msgs_per_s"] = job.next / elapsed if job else 0.0
        results["record_filter_done"] = float(bool(job and job.caught_up))
        results["record_filter_s"] = elapsed
        results["peak_rss_mb"] = _peak_rss_mb()
        await pilot.press("q")
    return results


def measure(path: Path, record_filter_s: float, jobs: int | None = None,
            root: Path = ROOT) -> dict[str, float]:
    """Run the measurement in a fresh interpreter (of the checkout at ``root``) and
    return its figures."""
    command = [sys.executable, __file__, "--measure", str(path),
               "--record-filter-seconds", str(record_filter_s), "--root", str(root)]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    # Cached bytecode written and used, as an installed program's (see bench.py).
    env = {key: value for key, value in os.environ.items()
           if key != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _baseline() -> float:
    """Peak RSS of the TUI on the tiny demo capture: what Python and Textual cost."""
    demo = ROOT / "captures" / "demo.pcapng"
    return measure(demo, 1.0)["peak_rss_mb"]


def report(figures: dict[str, float], baseline_mb: float) -> None:
    n = figures["messages"]
    per_100k = figures["peak_rss_mb"] / (n / 100_000)
    above = (figures["peak_rss_mb"] - baseline_mb) / (n / 100_000)
    print(f"  messages listed            {n:>12,.0f}   transactions {figures['transactions']:,.0f}")
    print(f"  imports (process start)    {figures['imports_s']:>12.2f} s")
    print(f"  first paint, from start    {figures['first_paint_from_process_start_s']:>12.2f} s"
          "   (target ≤ 1 s)")
    print(f"  first paint, from app      {figures['first_paint_from_app_start_s']:>12.2f} s")
    print(f"  full load                  {figures['load_s']:>12.1f} s"
          f"   ({n / figures['load_s']:,.0f} messages/s)")
    if "cpu_s" in figures:
        print(f"  CPU: UI process / workers  {figures['cpu_s']:>9.1f} s / "
              f"{figures['workers_cpu_s']:.1f} s   (workers' peak RSS "
              f"{figures['workers_peak_rss_mb']:.0f} MB)")
    print(f"  RSS after load             {figures['rss_after_load_mb']:>12.1f} MB")
    print(f"  peak RSS                   {figures['peak_rss_mb']:>12.1f} MB"
          f"   = {per_100k:.1f} MB per 100k messages (target < 50)")
    print(f"  peak RSS above baseline    {figures['peak_rss_mb'] - baseline_mb:>12.1f} MB"
          f"   = {above:.1f} MB per 100k (baseline: demo capture {baseline_mb:.1f} MB)")
    print(f"  page down                  {figures['page_down_ms']:>12.2f} ms"
          "   (cursor, all visible lines uncached, details and bytes)")
    print(f"  cursor down                {figures['cursor_down_ms']:>12.2f} ms")
    print(f"  jump to end / start        {figures['jump_to_end_ms']:>9.2f} / "
          f"{figures['jump_to_start_ms']:.2f} ms")
    print(f"  page down via pilot        {figures['pilot_page_down_ms']:>12.1f} ms"
          "   (Textual's key handling and screen refresh included)")
    print(f"  engine-field filter        {figures['engine_filter_s']:>12.2f} s"
          f"   ({figures['engine_filter_msgs_per_s']:,.0f} msgs/s, first match after "
          f"{figures['engine_filter_first_match_s']:.2f} s, "
          f"{figures['engine_filter_matches']:,.0f} shown)")
    state = ("all" if figures["record_filter_done"]
             else f"stopped after {figures['record_filter_s']:.0f} s")
    print(f"  tree-field filter          {figures['record_filter_msgs_per_s']:>12,.0f} msgs/s"
          f"   ({state}; every message re-dissected)")


def _as_the_program_runs() -> None:
    """Set the process up as ``cvipsniff tui`` sets itself up before the app starts (its
    garbage collector settings, :func:`cvipsniff.cli.tune_garbage_collector`), where the
    measured checkout has such a step: the figures are the program's, not those of an
    app started bare (an older checkout without it is measured as it ran)."""
    from cvipsniff import cli

    tune = getattr(cli, "tune_garbage_collector", None)
    if tune is not None:
        tune()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--record-filter-seconds", type=float, default=30.0,
                        help="how long to let the tree-field filter run (default 30)")
    parser.add_argument("--jobs", type=int, action="append",
                        help="load with N processes (repeatable: each is measured)")
    parser.add_argument("--against", metavar="DIR", type=Path,
                        help="also measure the checkout in DIR, interleaved with this one")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--measure", metavar="CAPTURE", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        jobs = args.jobs[0] if args.jobs else None
        _as_the_program_runs()
        figures = asyncio.run(_measure(args.measure, args.record_filter_seconds, jobs))
        print(json.dumps(figures))
        return 0
    path = OUT / f"tui-{args.messages}.pcap"
    if args.regenerate or not path.exists():
        print(f"generating {path} ...", flush=True)
        t = time.perf_counter()
        generate(path, args.messages)
        print(f"  generated in {time.perf_counter() - t:.1f} s", flush=True)
    print(f"capture: {path} — {path.stat().st_size / 1e6:.1f} MB", flush=True)
    baseline = _baseline()
    if not args.against and not args.jobs and args.rounds == 1:
        report(measure(path, args.record_filter_seconds), baseline)
        return 0
    runs: list[tuple[str, Path, int | None]] = []
    if args.against:
        runs.append((f"old ({args.against})", args.against.resolve(), None))
    for jobs in args.jobs or [None]:
        runs.append((f"new, jobs={jobs if jobs is not None else 'default'}", ROOT, jobs))
    figures: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in runs}
    for round_ in range(args.rounds):
        for name, root, jobs in runs:
            load = os.getloadavg()[0]
            result = measure(path, args.record_filter_seconds, jobs, root)
            figures[name].append(result)
            print(f"round {round_ + 1}: {name}: full load {result['load_s']:.1f} s, first "
                  f"paint {result['first_paint_from_process_start_s']:.2f} s, peak RSS "
                  f"{result['peak_rss_mb']:.0f} MB (load average before: {load:.1f})",
                  flush=True)
    for name, _, _ in runs:
        print(f"{name} (best of {args.rounds}):")
        report(min(figures[name], key=lambda f: f["load_s"]), baseline)
    if args.against:
        old = min(f["load_s"] for f in figures[runs[0][0]])
        for name, _, _ in runs[1:]:
            new = min(f["load_s"] for f in figures[name])
            print(f"full load, {name}: {old / new:.2f}x faster than old "
                  f"({old:.1f} s -> {new:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
