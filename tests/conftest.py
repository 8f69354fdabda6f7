"""Shared pytest fixtures and paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
SPEC_DIR = ROOT.parent / "shared" / "spec"


@pytest.fixture
def tshark() -> str:
    """Path of tshark; the test is skipped only if set-up could not install it."""
    path = shutil.which("tshark")
    if path is None:
        pytest.skip("tshark not installed (scripts/bootstrap.sh installs it)")
    return path
