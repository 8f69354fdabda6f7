"""Per-stage cost of the CVIP side of a capture: framing and dissection, in µs/message.

The capture runs once through the pipeline with the CVIP framer's calls recorded (every
``feed``/``gap``/``close`` of every flow direction, in order); then each stage is timed
alone on exactly those inputs, best of ``--rounds``:

* framing: the recorded calls replayed into fresh framers (the reference
  ``CvipFramer`` and, where built, the compiled one), per CVIP message framed;
* dissection: ``dissectors.cvip.dissect`` on every framed message, lean (``tree=False``),
  lean without attributes as batch reports run it (``tree=False, attrs=False``: where
  compiled, also with its lean fast path, ``accel/src/cviplean.rs``, switched off, the
  rounds of both interleaved) and with the tree (as ``read -V`` and the TUI do), on
  whichever path this process selected at import: run it once with
  ``CVIPSNIFF_PURE_PYTHON=1`` and once without).

    .venv/bin/python bench/cvip_stages.py bench/out/sessions-50mb.pcap
    CVIPSNIFF_PURE_PYTHON=1 .venv/bin/python bench/cvip_stages.py bench/out/sessions-50mb.pcap

Both stages also run inside ``report``; the figures say where the CVIP side's time goes
without the rest of the pipeline in the way.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dissectors.accel import COMPILED
from dissectors.base import Framed
from dissectors.cvip import framer as framer_module
from dissectors.cvip.dissect import dissect

if __package__:  # imported as bench.<module> (by the tests)
    from .framer_calls import Call, best, record_calls, replay
else:  # run as a script: bench/ is on sys.path, and its bench.py shadows the package
    from framer_calls import Call, best, record_calls, replay

__all__ = ["Call", "record_streams", "replay"]


def record_streams(path: str) -> list[list[Call]]:
    """Every CVIP framer's calls during a pipeline run over ``path``, one list per framer
    (in creation order)."""
    return record_calls(path, framer_module, "CvipFramer")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    streams = record_streams(args.capture)
    events = replay(streams, framer_module.CvipFramer)
    messages = [ev.data for evs in events for ev in evs if type(ev) is Framed]
    n = max(1, len(messages))
    calls = sum(len(s) for s in streams)
    print(f"{args.capture}: {len(streams)} CVIP stream directions, {calls} framer calls, "
          f"{len(messages)} messages; accelerator {'compiled' if COMPILED else 'off'}")
    framers = {"reference framer": framer_module.CvipFramer}
    if framer_module._compiled_framer is not None:
        framers["compiled framer"] = framer_module.new_framer
    for label, make in framers.items():
        seconds = best(args.rounds, lambda make=make: replay(streams, make))
        print(f"  {label:<18} {seconds:7.3f} s  {seconds / n * 1e6:7.2f} µs/message")
    for label, options in (("dissect (lean)", {"tree": False}), ("dissect (tree)", None)):
        seconds = best(args.rounds, lambda options=options: [dissect(m, "tcp", options)
                                                             for m in messages])
        print(f"  {label:<18} {seconds:7.3f} s  {seconds / n * 1e6:7.2f} µs/message")
    for label, seconds in report_dissection(messages, args.rounds).items():
        print(f"  {label:<18} {seconds:7.3f} s  {seconds / n * 1e6:7.2f} µs/message")


def report_dissection(messages: list[bytes], rounds: int) -> dict[str, float]:
    """Best times of the dissection batch reports run (``tree=False, attrs=False``):
    as selected, and (compiled only) with the lean fast path switched off; the rounds of
    the two alternate, so a busy machine slows both alike."""
    module = importlib.import_module("dissectors.cvip.dissect")
    options = {"tree": False, "attrs": False}
    fast = module._lean_record
    variants = {"dissect (report)": fast}
    if COMPILED:
        variants["  no lean path"] = lambda _data, _udp: None
    times: dict[str, list[float]] = {label: [] for label in variants}
    try:
        for _ in range(rounds):
            for label, lean in variants.items():
                module._lean_record = lean
                start = time.perf_counter()
                for m in messages:
                    dissect(m, "tcp", options)
                times[label].append(time.perf_counter() - start)
    finally:
        module._lean_record = fast
    return {label: min(found) for label, found in times.items()}


if __name__ == "__main__":
    main()
