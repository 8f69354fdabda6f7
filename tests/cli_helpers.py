"""Running the real ``cvipsniff`` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120,
            stdin: bytes | None = None) -> Result:
    env = dict(os.environ)
    env.pop("CVIPSNIFF_DEBUG", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "cvipsniff", *args], cwd=cwd or ROOT, env=env,
        input=stdin, capture_output=True, timeout=timeout, check=False,
    )
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"))


def assert_clean_error(result: Result, *needles: str) -> None:
    """Exit status 2, exactly one line on stderr naming the problem, no traceback."""
    assert result.code == 2, (result.code, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("cvipsniff: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
