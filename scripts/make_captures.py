#!/usr/bin/env python3
"""Regenerate the bundled capture corpus in captures/ (deterministic: running it twice
gives byte-identical files). ``--check`` compares instead of writing and exits 1 on any
difference; ``--out DIR`` writes elsewhere.

The same as ``cvipsniff sim captures``, and usable from a checkout without installing
the package. As a function: :func:`make_captures` (or
:func:`cvipsniff.sim.synth.corpus.build_corpus`, which does the work).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cvipsniff.cli import main
from cvipsniff.paths import CAPTURES_DIR
from cvipsniff.sim.synth.corpus import DEFAULT_SEED


def make_captures(out_dir: str | Path = CAPTURES_DIR, *, check: bool = False,
                  seed: int = DEFAULT_SEED) -> int:
    """Regenerate (or with ``check`` compare) the corpus; returns the exit status."""
    argv = ["sim", "captures", "--out", str(out_dir), "--seed", str(seed)]
    return main([*argv, "--check"] if check else argv)


if __name__ == "__main__":
    raise SystemExit(main(["sim", "captures", *sys.argv[1:]]))
