"""Installed like a user installs it: ``pip install <checkout>`` into a fresh virtual
environment gives a working ``cvipsniff`` whose no-argument run prints the report of the
demo capture shipped as package data (no ``captures/`` next to it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT

INSTALL_TIMEOUT_S = 900  # a first install downloads the dependencies
NETWORK_ERRORS = ("NewConnectionError", "Temporary failure in name resolution",
                  "No matching distribution found", "Could not find a version")


def _checkout_copy(dest: Path) -> Path:
    """The files of the checkout git knows about (tracked and new, not ignored): what a
    clone holds, without this worktree's .venv or build products."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=False, timeout=60)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    for name in listed.stdout.decode().split("\0"):
        if not name or name.startswith(("accel/", "bench/")):
            continue
        src, dst = ROOT / name, dest / name
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the work tree
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    return dest


@pytest.mark.slow
@pytest.mark.one_path  # the copy leaves accel/ out: the fresh venv is pure Python anyway
def test_pip_install_into_a_fresh_venv_runs_the_demo_report(tmp_path: Path) -> None:
    source = _checkout_copy(tmp_path / "checkout")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(source)],
                         capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                         check=False)
    if pip.returncode != 0 and any(e in pip.stderr for e in NETWORK_ERRORS):
        pytest.skip("the package index is not reachable: " + pip.stderr.strip()[-200:])
    assert pip.returncode == 0, pip.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"  # no checkout, no cvipsniff.toml around
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CVIPSNIFF_DEBUG")}
    run = subprocess.run([str(venv / "bin" / "cvipsniff")], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    first = run.stdout.splitlines()[0]
    assert first.startswith("== ") and first.endswith("cvipsniff/data/demo.pcapng"), first
    assert str(venv) in first  # the installed copy, not this checkout
    assert "542 messages" in run.stdout and "cvip.header.version" in run.stdout
