"""The ImageServer framers alone on a capture's ImageServer streams: the reference
``ImageServerFramer`` against its compiled twin, in µs per message framed.

The capture runs once through the pipeline with the ImageServer framers' calls recorded
(every ``feed``/``gap``/``close`` of every flow direction, in order: see
``bench/framer_calls.py``); then the recorded calls are replayed into fresh framers of
each kind, best of ``--rounds``, the kinds interleaved round by round (a noisy machine
slows both alike), and the events of both are checked equal.

    .venv/bin/python bench/imageserver_framing.py bench/out/sessions-200mb.pcap
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dissectors.base import Framed
from dissectors.imageserver import framer as framer_module

if __package__:  # imported as bench.<module> (by the tests)
    from .framer_calls import Call, record_calls, replay
else:  # run as a script: bench/ is on sys.path, and its bench.py shadows the package
    from framer_calls import Call, record_calls, replay


def record_streams(path: str) -> list[list[Call]]:
    """Every ImageServer framer's calls during a pipeline run over ``path``, one list per
    framer (in creation order)."""
    return record_calls(path, framer_module, "ImageServerFramer")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", nargs="+")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if framer_module._compiled_framer is None:
        sys.exit("the compiled accelerator is not in use: nothing to compare")
    streams = [s for path in args.capture for s in record_streams(path)]
    reference = replay(streams, framer_module.ImageServerFramer)
    compiled = replay(streams, framer_module.new_framer)
    assert compiled == reference, "the compiled framer's events differ"
    messages = sum(1 for events in reference for ev in events if type(ev) is Framed)
    fed = sum(len(arg) for calls in streams for name, arg in calls  # type: ignore[arg-type]
              if name == "feed")
    print(f"{' + '.join(args.capture)}: {len(streams)} ImageServer stream directions, "
          f"{sum(len(s) for s in streams)} framer calls, {fed / 1e6:.1f} MB, "
          f"{messages} messages")
    makers = {"reference": framer_module.ImageServerFramer,
              "compiled": framer_module.new_framer}
    times: dict[str, list[float]] = {label: [] for label in makers}
    for _ in range(args.rounds):
        for label, make in makers.items():
            began = time.perf_counter()
            replay(streams, make)
            times[label].append(time.perf_counter() - began)
    for label, spent in times.items():
        seconds = min(spent)
        print(f"  {label:<10} {seconds:7.3f} s  {seconds / max(messages, 1) * 1e6:7.2f} "
              "µs/message")
    ratios = sorted(r / c for r, c in zip(times["reference"], times["compiled"], strict=True))
    print(f"  reference / compiled, per round: {', '.join(f'{r:.1f}' for r in ratios)} "
          f"(median {ratios[len(ratios) // 2]:.1f})")


if __name__ == "__main__":
    main()
