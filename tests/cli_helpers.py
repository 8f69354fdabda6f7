"""Running the real ``cvipsniff`` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Every bundled capture file (pcap and pcapng, not the compressed copies), in path order:
# the corpus the tests run through both paths, every split and every report writer.
BUNDLED_CAPTURES = sorted(p for p in (ROOT / "captures").rglob("*")
                          if p.is_file() and p.name.endswith((".pcap", ".pcapng")))


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


def run_in_terminal(argv: list[str], *, env: dict[str, str] | None = None,
                    preexec_fn=None, cwd: str | Path | None = None,
                    timeout: float = 60) -> Result:
    """Run ``argv`` with a pseudo-terminal as standard input and output (so a terminal
    UI believes it has one) and standard error on a pipe, the way a user sees an error
    line under the UI. Whatever the program drew on the terminal is returned as stdout."""
    import pty
    import select
    import time

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                env=env, cwd=cwd or ROOT, preexec_fn=preexec_fn,
                                close_fds=True)
    finally:
        os.close(slave)
    drawn = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"{argv} did not end within {timeout} s")
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    drawn += os.read(master, 65536)
                except OSError:  # the terminal's other side closed
                    break
        _, stderr = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
    return Result(proc.returncode, drawn.decode("utf-8", "replace"),
                  stderr.decode("utf-8", "replace"))


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CVIPSNIFF_DEBUG", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env
