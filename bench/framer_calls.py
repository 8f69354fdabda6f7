"""The calls a protocol's framers receive while the pipeline reads a capture, recorded so
each framer can be timed alone, or two framers compared, on exactly those inputs.

A protocol module whose ``new_framer`` chooses between a compiled twin (its module-level
``_compiled_framer``, None on the pure-Python path) and a reference class is recorded
through the reference: the twin is set aside while the capture is read, and the
reference's ``feed``/``gap``/``close`` note every call, per framer, in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType

from cvipsniff.pipeline import iter_capture

Call = tuple[str, object]


def record_calls(path: str, framer_module: ModuleType, class_name: str) -> list[list[Call]]:
    """Every ``framer_module.<class_name>`` framer's calls during a pipeline run over
    ``path``, one list per framer (in creation order)."""
    cls = getattr(framer_module, class_name)
    streams: dict[int, list[Call]] = {}
    order: list[int] = []
    held: list[object] = []  # every framer recorded stays alive: no id() is reused
    originals = {name: getattr(cls, name) for name in ("feed", "gap", "close")}

    def recorder(name: str) -> Callable:
        original = originals[name]

        def call(self, *args):
            key = id(self)
            if key not in streams:
                streams[key] = []
                order.append(key)
                held.append(self)
            streams[key].append((name, args[0] if args else None))
            return original(self, *args)
        return call

    compiled = framer_module._compiled_framer
    for name in originals:
        setattr(cls, name, recorder(name))
    framer_module._compiled_framer = None  # new_framer makes the reference: record it
    try:
        _ = sum(1 for _ in iter_capture(path))
    finally:
        for name, original in originals.items():
            setattr(cls, name, original)
        framer_module._compiled_framer = compiled
    return [streams[key] for key in order]


def replay(streams: list[list[Call]], make: Callable[[], object]) -> list[list[object]]:
    """The events of every recorded stream replayed into framers made by ``make``."""
    out: list[list[object]] = []
    for calls in streams:
        framer = make()
        events: list[object] = []
        for name, arg in calls:
            if name == "feed":
                events += framer.feed(arg)  # type: ignore[attr-defined]
            elif name == "gap":
                events += framer.gap(arg)  # type: ignore[attr-defined]
            else:
                events += framer.close()  # type: ignore[attr-defined]
        out.append(events)
    return out


def best(rounds: int, run: Callable[[], object]) -> float:
    """The shortest of ``rounds`` wall-clock runs, in seconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)
