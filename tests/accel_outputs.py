"""Child process of tests/test_accel_equivalence.py: writes, for every capture given,
``report --format json`` and ``read -T jsonl`` into a directory, all in one process (the
accelerator is chosen at import, so each path needs a process of its own).

    python tests/accel_outputs.py OUTDIR CAPTURE...
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cvipsniff.cli import main  # noqa: E402
from dissectors.accel import COMPILED  # noqa: E402


def _to_file(path: Path, argv: list[str]) -> None:
    """Run the CLI with its standard output (file descriptor 1) going to ``path``."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(path, "wb") as out:
        os.dup2(out.fileno(), 1)
        try:
            main(argv)
            sys.stdout.flush()
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def run(outdir: Path, captures: list[str]) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "compiled").write_text(str(COMPILED))
    for index, capture in enumerate(captures):
        main(["report", "--format", "json", "-o", str(outdir / f"{index}.report.json"),
              capture])
        _to_file(outdir / f"{index}.read.jsonl", ["read", "-r", capture, "-T", "jsonl"])


if __name__ == "__main__":
    run(Path(sys.argv[1]), sys.argv[2:])
