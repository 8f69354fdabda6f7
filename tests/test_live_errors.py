"""``cvipsniff sniff`` and ``cvipsniff interfaces`` when something is wrong: one line on
stderr that names the fix, exit status 2, no traceback, before any packet is captured.
Also the interface listing itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, assert_clean_error, run_cli

NO_SUCH = ("cvipsniff: cannot capture on 'eth9': no such interface "
           "(list interfaces with 'cvipsniff interfaces')")


def _needs_dumpcap_as_root() -> None:
    # dumpcap opens its capture socket before it looks the interface up, so without
    # rights every interface is "permission denied" (test_live_privileges covers that).
    if shutil.which("dumpcap") is None:
        pytest.skip("dumpcap not installed (scripts/bootstrap.sh installs tshark)")
    if os.geteuid() != 0:
        pytest.skip("dumpcap needs capture rights to tell a missing interface")


def _only_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_no_such_interface_with_scapy() -> None:
    result = run_cli("sniff", "-i", "eth9", "-a", "duration:5", timeout=60)
    assert_clean_error(result)
    assert _only_line(result.stderr) == NO_SUCH


def test_no_such_interface_index_with_scapy() -> None:
    result = run_cli("sniff", "-i", "99999", "-a", "duration:5", timeout=60)
    assert_clean_error(result, "cannot capture on '99999': no such interface")


def test_no_such_interface_with_dumpcap() -> None:
    _needs_dumpcap_as_root()
    result = run_cli("sniff", "-i", "eth9", "--backend", "dumpcap", "-a", "duration:5",
                     timeout=60)
    assert_clean_error(result)
    assert _only_line(result.stderr) == NO_SUCH


@pytest.mark.parametrize("backend", ["scapy", "dumpcap"])
def test_an_invalid_capture_filter_says_what_libpcap_objects_to(backend: str) -> None:
    if backend == "dumpcap":
        _needs_dumpcap_as_root()
    elif os.geteuid() != 0:
        pytest.skip("the scapy backend opens its socket before it compiles the filter")
    result = run_cli("sniff", "-i", "lo", "--backend", backend, "-f", "tcp port nope and",
                     "-a", "duration:5", timeout=60)
    assert_clean_error(result)
    assert _only_line(result.stderr) == (
        "cvipsniff: cannot capture on 'lo': invalid capture filter 'tcp port nope and': "
        "unknown port 'nope' (capture filters use the pcap-filter(7) syntax, "
        "e.g. 'tcp port 7110')")


def test_the_scapy_backend_sends_any_to_dumpcap() -> None:
    result = run_cli("sniff", "-i", "any", "-a", "duration:5", timeout=60)
    assert_clean_error(result, "cannot capture on 'any'", "--backend dumpcap")


def test_missing_dumpcap_names_the_package(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "cvipsniff", "sniff", "-i", "lo",
                           "--backend", "dumpcap", "-a", "duration:5"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert _only_line(done.stderr) == (
        "cvipsniff: cannot capture on 'lo': dumpcap is not installed "
        "(install it with 'apt-get install tshark', or use --backend scapy)")


@pytest.mark.parametrize(("args", "needle"), [
    (["-a", "filesize:10"], "bad -a 'filesize:10': expected duration:SECONDS or packets:N"),
    (["-a", "duration:soon"], "bad -a 'duration:soon': not a number"),
    (["--ring-files", "3"], "--ring-files needs --ring-size"),
    (["--ring-size", "1"], "--ring-size needs -w FILE"),
    (["-w", "/nonexistent-dir/out.pcapng"], "cannot write '/nonexistent-dir/out.pcapng'"),
    (["--report", "json", "-o", "/nonexistent-dir/r.json"],
     "cannot write '/nonexistent-dir/r.json'"),
    (["-o", "report.json"], "-o needs --report FORMAT"),
    (["-Y", "cvip.method =="], "bad display filter"),
    (["-d", "tcp.port==8000,nope"], "unknown protocol 'nope'"),
    (["--unanswered-timeout", "0"], "must be a positive number"),
])
def test_bad_options_fail_before_capturing(args: list[str], needle: str) -> None:
    result = run_cli("sniff", "-i", "lo", *args, "-a", "duration:5", timeout=60)
    assert_clean_error(result, needle)


def test_an_interface_is_required() -> None:
    result = run_cli("sniff", timeout=60)
    assert_clean_error(result, "-i/--interface")


def test_interfaces_lists_loopback_with_its_state_and_addresses() -> None:
    result = run_cli("interfaces", timeout=60)
    assert result.code == 0, result.stderr
    lo = [line for line in result.stdout.splitlines() if " lo " in f"{line} "]
    assert len(lo) == 1
    number, _, rest = lo[0].partition(". ")
    assert number.isdigit()
    assert rest.startswith("lo (Loopback) [up] ") and "127.0.0.1" in rest


def test_interfaces_as_json() -> None:
    result = run_cli("interfaces", "-T", "json", timeout=60)
    assert result.code == 0, result.stderr
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert listed["lo"]["up"] is True and listed["lo"]["loopback"] is True
    assert "127.0.0.1" in listed["lo"]["addresses"]
    assert all(set(entry) == {"number", "name", "description", "addresses", "up", "loopback"}
               for entry in listed.values())


def test_interfaces_as_dumpcap_sees_them() -> None:
    if shutil.which("dumpcap") is None:
        pytest.skip("dumpcap not installed")
    result = run_cli("interfaces", "--backend", "dumpcap", "-T", "json", timeout=60)
    assert result.code == 0, result.stderr
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert "any" in listed and listed["any"]["up"] is None  # a pseudo interface
    assert listed["lo"]["loopback"] and listed["lo"]["up"] is True
