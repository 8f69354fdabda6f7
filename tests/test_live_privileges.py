"""Capture rights: without them ``cvipsniff sniff`` says so in one line naming the fix
(exit 2); with dumpcap holding the capabilities, a normal user captures.

The commands run as ``nobody`` (uid/gid dropped in the child before exec). The test
process's own interpreter may live where nobody cannot read (e.g. under /root), so the
child uses the first Python of the same version that nobody can run, importing the
project and its dependencies from their world-readable places.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import scapy

import cvipsniff
from cvipsniff.sim.cvip.encode import ping_request

pytestmark = pytest.mark.live

ROOT = Path(cvipsniff.__file__).resolve().parent.parent
SITE_PACKAGES = Path(scapy.__file__).resolve().parent.parent
NOBODY = 65534
PERMISSION_HINT = ("run as root, or grant dumpcap capabilities: "
                   "'sudo setcap cap_net_raw,cap_net_admin+eip $(which dumpcap)'")


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": "/nonexistent",
            "PYTHONPATH": f"{ROOT}{os.pathsep}{SITE_PACKAGES}",
            "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}


def _run_as_nobody(python: str, *args: str, cwd: str = "/", timeout: float = 60.0
                   ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, *args], preexec_fn=_as_nobody, env=_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def python_for_nobody() -> str:
    if os.geteuid() != 0:
        pytest.skip("dropping to another user needs root")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    probe = "import sys, cvipsniff.cli, scapy, lxml; print(sys.version_info[:2])"
    for candidate in (sys.executable, f"/usr/bin/python{version}", "/usr/bin/python3"):
        if not os.path.exists(candidate):
            continue
        try:
            done = _run_as_nobody(candidate, "-c", probe, timeout=30)
        except OSError:
            continue
        if done.returncode == 0 and done.stdout.strip() == str(sys.version_info[:2]):
            return candidate
    pytest.skip(f"no Python {version} that the user nobody can run with this project")


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_scapy_backend_without_rights_names_root_or_dumpcap(python_for_nobody: str) -> None:
    done = _run_as_nobody(python_for_nobody, "-m", "cvipsniff", "sniff", "-i", "lo",
                          "-a", "duration:5")
    assert _one_error_line(done) == (
        f"cvipsniff: cannot capture on 'lo': permission denied ({PERMISSION_HINT}, "
        "and use --backend dumpcap)")


def test_dumpcap_backend_without_capabilities_names_setcap(python_for_nobody: str) -> None:
    if shutil.which("dumpcap") is None:
        pytest.skip("dumpcap not installed")
    done = _run_as_nobody(python_for_nobody, "-m", "cvipsniff", "sniff", "-i", "lo",
                          "--backend", "dumpcap", "-a", "duration:5")
    assert _one_error_line(done) == (
        f"cvipsniff: cannot capture on 'lo': permission denied ({PERMISSION_HINT})")


@pytest.fixture
def dumpcap_with_capabilities() -> Iterator[Path]:
    """A copy of dumpcap with cap_net_raw and cap_net_admin, in a world-readable folder
    whose config.ini points pyshark (and so the backend) at it."""
    dumpcap, setcap = shutil.which("dumpcap"), shutil.which("setcap")
    if dumpcap is None or setcap is None:
        pytest.skip("needs dumpcap and setcap")
    folder = Path(tempfile.mkdtemp(prefix="cvipsniff-caps-", dir="/tmp"))
    try:
        folder.chmod(0o755)
        copy = folder / "dumpcap"
        shutil.copy2(dumpcap, copy)
        granted = subprocess.run([setcap, "cap_net_raw,cap_net_admin+eip", str(copy)],
                                 capture_output=True, text=True, check=False)
        if granted.returncode != 0:
            pytest.skip(f"cannot set file capabilities here: {granted.stderr.strip()}")
        (folder / "config.ini").write_text(f"[dumpcap]\ndumpcap_path = {copy}\n")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_normal_user_captures_once_dumpcap_has_capabilities(
        python_for_nobody: str, dumpcap_with_capabilities: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        child = subprocess.Popen(
            [python_for_nobody, "-m", "cvipsniff", "sniff", "-i", "lo", "--backend",
             "dumpcap", "-f", f"udp port {port}", "-d", f"udp.port=={port},cvip",
             "-T", "jsonl", "-a", "duration:20"],
            preexec_fn=_as_nobody, env=_env(), cwd=dumpcap_with_capabilities,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert child.stderr is not None
            ready = child.stderr.readline()  # blocks until capturing (or failure)
            assert ready.startswith("Capturing on 'lo' (dumpcap backend"), ready
            ping = ping_request(5, "127.0.0.1", port, 1)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                sender.sendto(ping, ("127.0.0.1", port))
            # dumpcap hands packets over in batches: wait for the message line itself,
            # however long a busy machine takes (the capture ends by itself after 20 s).
            assert child.stdout is not None
            lines: list[str] = []
            for line in child.stdout:
                lines.append(line)
                if '"type": "message"' in line:
                    break
            child.send_signal(signal.SIGINT)
            rest, err = child.communicate(timeout=30)
            out = "".join(lines) + rest
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
    assert child.returncode in (0, 1), err
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    messages = [r for r in records if r["type"] == "message"]
    assert [(m["protocol"], m["kind"], m["txn"]) for m in messages] == [
        ("cvip-ping", "ping-request", 5)]
    summary = records[-1]
    assert summary["type"] == "summary"
    assert summary["capture"]["packets"] == 1 and summary["capture"]["dropped"] == 0


def test_the_live_tui_without_rights_names_root_or_dumpcap(python_for_nobody: str) -> None:
    from tests.cli_helpers import run_in_terminal

    # From "/" as the other cases here: ``python -m`` puts the working folder first on
    # the import path, and a shared one like /tmp may hold any module name (a stray
    # dis.py there once broke this test).
    done = run_in_terminal([python_for_nobody, "-m", "cvipsniff", "tui", "-i", "lo"],
                           env=_env(), preexec_fn=_as_nobody, cwd="/")
    assert done.code == 2, (done.code, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"cvipsniff: cannot capture on 'lo': permission denied ({PERMISSION_HINT}, "
                     "and use --backend dumpcap)"], done.stderr
