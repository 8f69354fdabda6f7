"""The seam's choice of path: a compiled module built from other sources is set aside
(with one line on stderr) rather than failing on the first class it lacks."""

from __future__ import annotations

import os
import subprocess
import sys
import types

from dissectors import accel
from tests.cli_helpers import ROOT


def test_only_a_module_of_this_interface_is_used() -> None:
    assert accel.usable(types.SimpleNamespace(API_VERSION=accel.API_VERSION))
    assert not accel.usable(types.SimpleNamespace(API_VERSION=accel.API_VERSION - 1))
    assert not accel.usable(types.SimpleNamespace())  # built before the number existed


def test_a_stale_build_falls_back_to_pure_python(tmp_path) -> None:
    """An old build in the virtualenv (no API_VERSION, none of today's classes): every
    command still works, on the pure-Python path, and says so once."""
    stale = tmp_path / "cvipsniff_accel"
    stale.mkdir()
    (stale / "__init__.py").write_text("def fast_packet(*args):\n    raise AssertionError\n")
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    env.pop("CVIPSNIFF_PURE_PYTHON", None)
    proc = subprocess.run(
        [sys.executable, "-m", "cvipsniff", "read", "-r",
         str(ROOT / "captures" / "demo.pcapng"), "-c", "3"],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 3
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "using the pure-Python path" in lines[0]
    assert "bootstrap.sh" in lines[0]
