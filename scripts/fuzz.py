"""Run the fuzz targets of ``tests/fuzz_targets.py`` for a given time (``scripts/fuzz.sh``).

    .venv/bin/python scripts/fuzz.py 600                 # ten minutes over every target
    .venv/bin/python scripts/fuzz.py 120 --target cvip-framer

The time is shared equally between the targets, in rounds. Each input must hold the
targets' promise within bounded time (``--max-seconds`` per input) and memory (the
process's peak RSS stays under ``--max-rss-mb``). A failing input (shrunk by hypothesis)
is saved to ``tests/corpus/<kind>/`` where the suite replays it from then on. At the end:
inputs tried per target, the slowest input of each (saved under ``bench/out/fuzz/``) and
its time; ``bench/out/fuzz/summary.json`` holds the same. Exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.fuzz_targets import TARGETS, Target  # noqa: E402
from tests.fuzzing import CORPUS  # noqa: E402

OUT = ROOT / "bench" / "out" / "fuzz"


@dataclass
class Stats:
    tried: int = 0
    seconds: float = 0.0  # inside the target
    wall: float = 0.0  # with hypothesis's own work: sizes the next batch
    slowest: float = 0.0
    slowest_input: bytes = b""
    failure: str | None = None
    saved: str | None = None
    last: object = None
    batches: list[int] = field(default_factory=list)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_batch(target: Target, stats: Stats, examples: int, max_seconds: float,
              max_rss_mb: float) -> None:
    def body(data: object) -> None:
        stats.tried += 1
        stats.last = data
        start = time.perf_counter()
        target.run(data)
        took = time.perf_counter() - start
        stats.seconds += took
        if took > stats.slowest:
            stats.slowest, stats.slowest_input = took, target.to_bytes(data)
        if took > max_seconds:
            raise AssertionError(f"one input took {took:.1f} s (bound {max_seconds} s)")
        rss = _peak_rss_mb()
        if rss > max_rss_mb:
            raise AssertionError(f"peak RSS {rss:.0f} MB (bound {max_rss_mb} MB)")

    test = settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))(given(target.strategy)(body))
    try:
        test()
    except Exception as exc:  # the target broke its promise: keep the (shrunk) input
        stats.failure = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if stats.last is not None:
            stats.saved = str(save_failure(target, target.to_bytes(stats.last)))


def save_failure(target: Target, data: bytes) -> Path:
    digest = hashlib.sha1(data).hexdigest()[:12]
    suffix = ".pcapng" if target.kind == "capture" else ".bin"
    path = CORPUS / target.kind / f"found-{target.name}-{digest}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", type=float, help="seconds to fuzz, all targets together")
    parser.add_argument("--target", action="append", choices=[t.name for t in TARGETS])
    parser.add_argument("--max-seconds", type=float, default=30.0,
                        help="bound on one input's time (default 30)")
    parser.add_argument("--max-rss-mb", type=float, default=1024.0,
                        help="bound on the process's peak RSS (default 1024)")
    args = parser.parse_args()
    targets = [t for t in TARGETS if not args.target or t.name in args.target]
    stats = {t.name: Stats() for t in targets}
    end = time.monotonic() + args.duration
    share = max(5.0, min(60.0, args.duration / len(targets) / 4))  # seconds per turn
    while time.monotonic() < end:
        live = [t for t in targets if stats[t.name].failure is None]
        if not live:
            break
        for target in live:
            if time.monotonic() >= end:
                break
            s = stats[target.name]
            per_input = s.wall / s.tried if s.tried else 0.05
            budget = min(share, end - time.monotonic())
            examples = max(1, int(budget / max(per_input, 1e-4)))
            s.batches.append(examples)
            start = time.monotonic()
            run_batch(target, s, examples, args.max_seconds, args.max_rss_mb)
            s.wall += time.monotonic() - start
            _print_line(target.name, s)
    OUT.mkdir(parents=True, exist_ok=True)
    summary = {}
    print(f"\n{'target':<28} {'inputs':>9} {'slowest s':>10}  result")
    for name, s in stats.items():
        slow_path = OUT / f"slowest-{name}.bin"
        slow_path.write_bytes(s.slowest_input)
        print(f"{name:<28} {s.tried:>9} {s.slowest:>10.3f}  "
              f"{'FAILED ' + (s.failure or '') + ' -> ' + (s.saved or '') if s.failure else 'ok'}")
        summary[name] = {"inputs": s.tried, "seconds": round(s.seconds, 1),
                         "slowest_s": round(s.slowest, 4), "slowest_input": str(slow_path),
                         "failure": s.failure, "saved": s.saved}
    summary["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    print(f"peak RSS of the fuzzing process: {summary['peak_rss_mb']} MB")
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 1 if any(s.failure for s in stats.values()) else 0


def _print_line(name: str, s: Stats) -> None:
    print(f"  {name}: {s.tried} inputs, slowest {s.slowest:.3f} s"
          + (f", FAILED: {s.failure}" if s.failure else ""), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
