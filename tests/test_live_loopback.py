"""Live capture on the loopback interface against the project's own peers.

The reference CVIP device and ImageServer run on 127.0.0.1 (ephemeral ports, mapped with
``-d``); ``cvipsniff sniff -i lo -w OUT.pcapng -T jsonl`` runs as a subprocess while the
scripted clients talk to them; after Ctrl-C, what was printed live (messages, notes,
findings, transactions, summary) must equal the offline analysis of the file written in the
same run (``read -T jsonl`` and ``report --format json``). Once per backend.

Needs root (capturing); bounded: ephemeral loopback ports, a safety ``-a duration:`` on
every sniff, deadlines on every wait.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cvipsniff.capture import open_capture
from cvipsniff.sim.cvip.encode import frame, method_call, ping_request
from tests.live_helpers import Peers, failures

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SAFETY_STOP_S = 90  # every sniff ends by itself after this, whatever happens
READY_TIMEOUT_S = 20.0


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CVIPSNIFF_DEBUG", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Sniffer:
    """``cvipsniff sniff`` in a subprocess; ``start()`` returns once it is capturing."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.args = args
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_lines: list[str] = []
        self.stdout_lines: list[str] = []
        self._ready = threading.Event()
        self._stdout_done = threading.Event()
        self._new_line = threading.Condition()

    def start(self) -> Sniffer:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cvipsniff", "sniff", *self.args,
             "-a", f"duration:{SAFETY_STOP_S}"],
            cwd=self.cwd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL)
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"sniff did not start: {self.stderr_lines}")
        return self

    def _pump_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stderr_lines.append(line)
            if line.startswith("Capturing on "):
                self._ready.set()

    def _pump_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._new_line:
                self.stdout_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._new_line.notify_all()
        self._stdout_done.set()

    def wait_for_line(self, predicate, timeout: float) -> str | None:
        """The first stdout line satisfying ``predicate`` (waiting up to ``timeout``)."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._new_line:
            while True:
                for line in self.stdout_lines[seen:]:
                    if predicate(line):
                        return line
                seen = len(self.stdout_lines)
                left = deadline - time.monotonic()
                if left <= 0 or self._stdout_done.is_set():
                    return None
                self._new_line.wait(min(left, 0.1))

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C, then wait for the summary and the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self._stdout_done.wait(10)
        return code

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


pytestmark = pytest.mark.live

BACKENDS = ["scapy", "dumpcap"]


def _needs_capture_rights(backend: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("capturing on lo needs root")
    if backend == "dumpcap" and shutil.which("dumpcap") is None:
        pytest.skip("dumpcap not installed (scripts/bootstrap.sh installs tshark)")


def _cli(*args: str, cwd: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cvipsniff", *args], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout, check=False)


def _records(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.strip()]


def _of_type(records: list[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("type") in types]


def _without_type(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "type"} for r in records]


@pytest.fixture
def peers() -> Peers:
    """Fresh peers per test: the scenarios change the device's state."""
    started = Peers.start()
    yield started
    started.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_live_output_equals_the_offline_analysis_of_the_written_capture(
        backend: str, peers: Peers, tmp_path: Path) -> None:
    _needs_capture_rights(backend)
    out = tmp_path / "live.pcapng"
    live_report = tmp_path / "live-report.json"
    sniffer = Sniffer(["-i", "lo", "--backend", backend, "-f", peers.capture_filter(),
                       *peers.decode_as(), "-w", str(out), "-T", "jsonl",
                       "--report", "json", "-o", str(live_report)], tmp_path).start()
    try:
        verdicts = peers.run_clients()
        _last_packets_shown(sniffer, peers)
        code = sniffer.interrupt()
    finally:
        sniffer.kill()
    assert verdicts and all(verdicts), failures(verdicts)
    live = _records(sniffer.stdout_lines)
    summary = _of_type(live, "summary")
    assert len(summary) == 1 and live[-1] is summary[0]

    read = _cli("read", "-r", str(out), "-T", "jsonl", *peers.decode_as(), cwd=tmp_path)
    assert read.returncode == 0, read.stderr
    offline_stream = _records(read.stdout.splitlines())
    assert _of_type(live, "message", "note") == offline_stream

    report = _cli("report", str(out), "--format", "json", *peers.decode_as(), cwd=tmp_path)
    offline = json.loads(report.stdout)["files"][0]
    assert _without_type(_of_type(live, "transaction")) == offline["transactions"]
    assert _without_type(_of_type(live, "finding")) == offline["findings"]
    # device-services calls a custom function the catalogue does not know: one warning
    assert "cvip.method.unknown_method" in {f["rule"] for f in offline["findings"]}
    assert code == report.returncode  # the same verdict at the same --fail-on
    analysis = summary[0]["analysis"]
    for key in ("messages", "transactions", "findings", "flows", "duration_s"):
        assert analysis[key] == offline["summary"][key], key
    assert summary[0]["srt"] == offline["srt"]
    # The --report written at the end is the batch report of the file, plus the capture.
    reported = json.loads(live_report.read_text())["files"][0]
    assert reported.pop("path") == "live capture on lo"
    assert reported.pop("capture") == summary[0]["capture"]
    offline.pop("path")
    assert reported == offline

    # What was captured is a real exchange of both protocols, seen once per packet.
    protocols = {m["protocol"] for m in _of_type(live, "message")}
    assert protocols == {"cvip", "cvip-ping", "imageserver"}
    assert analysis["transactions"].get("answered", 0) >= 30
    assert not any(f["rule"] in ("tcp.retransmission", "udp.duplicate", "tcp.gap")
                   for f in offline["findings"])
    with open_capture(str(out)) as reader:
        frames = sum(1 for _ in reader)
    capture = summary[0]["capture"]
    assert capture["packets"] == frames > 100
    assert capture["interface"] == "lo" and capture["backend"] == backend
    assert capture["dropped"] == 0
    assert any(line.startswith("Capturing on 'lo'") for line in sniffer.stderr_lines)
    assert _processes_running_with(peers.capture_filter()) == []  # dumpcap is gone too


# The transaction number of the ping that closes a run: none of the scenarios' own.
SENTINEL_TXN = 0x7ABC


def _last_packets_shown(sniffer: Sniffer, peers: Peers, timeout: float = 30.0) -> None:
    """Wait until the sniffer has shown every packet the clients caused: one more ping,
    answered, and its answer printed live. The sniffer handles packets in the order they
    were captured (and dumpcap hands them on in that order), so once the answer is shown
    everything before it has been. (The clients' last ACKs and FINs may still come after
    it; whatever is captured before Ctrl-C is in the file and in the live output alike,
    which is what the test compares.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.settimeout(timeout)
        sock.sendto(ping_request(SENTINEL_TXN, HOST, sock.getsockname()[1], 1),
                    (HOST, peers.ports["udp_common"]))
        sock.recvfrom(4096)  # the device answered: the answer is on the wire
    wanted = f'"txn": {SENTINEL_TXN}, "is_response": true'
    line = sniffer.wait_for_line(
        lambda text: '"kind": "ping-response"' in text and wanted in text, timeout)
    assert line is not None, "the sniffer never showed the closing ping's answer"


def _processes_running_with(text: str) -> list[int]:
    """Processes whose command line contains ``text`` (a capture filter of ours)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def _silent_cvip_server() -> tuple[socket.socket, int]:
    """A TCP listener that accepts and never answers: every request stays unanswered."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((HOST, 0))
    listener.listen(1)
    return listener, listener.getsockname()[1]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unanswered_request_is_reported_while_the_capture_runs(
        backend: str, tmp_path: Path) -> None:
    _needs_capture_rights(backend)
    listener, port = _silent_cvip_server()
    sniffer = Sniffer(["-i", "lo", "--backend", backend, "-f", f"tcp port {port}",
                       "-d", f"tcp.port=={port},cvip", "--unanswered-timeout", "1",
                       "--fail-on", "warning"], tmp_path).start()
    client = None
    try:
        client = socket.create_connection((HOST, port), timeout=5)
        server_side, _ = listener.accept()
        client.sendall(frame(method_call("system.describe"), 1))
        sent = time.monotonic()
        line = sniffer.wait_for_line(lambda text: "cvip.txn.unanswered" in text, 15.0)
        waited = time.monotonic() - sent
        assert line is not None, sniffer.stdout_lines
        assert sniffer.running  # reported live, not at the end of the capture
        assert waited >= 0.9  # not before the timeout
        assert line.startswith("[warning] cvip.txn.unanswered (frame ")
        assert line.endswith("system.describe request id=1 was never answered")
        code = sniffer.interrupt()
        server_side.close()
    finally:
        if client is not None:
            client.close()
        listener.close()
        sniffer.kill()
    assert code == 1  # a warning, and --fail-on warning
    assert _processes_running_with(f"tcp port {port}") == []
    text = "\n".join(sniffer.stdout_lines)
    assert sum("cvip.txn.unanswered" in ln for ln in sniffer.stdout_lines) == 2  # live + summary
    assert "== live capture on lo" in text
    assert "transactions: unanswered 1" in text
    assert "0 dropped" in text
