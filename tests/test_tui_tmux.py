"""The real ``cvipsniff FILE`` in a real terminal: tmux runs it on the demo capture, keys
are sent as a user types them and the screen is read back with ``capture-pane``.

The tmux server runs in the foreground (``tmux -D``, a child of this test) on a private
socket, so nothing is left behind and no daemonising is needed; every wait is bounded
and the server is killed in a ``finally``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "captures" / "demo.pcapng"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")


class Terminal:
    """One tmux session on a private server."""

    def __init__(self, socket: Path) -> None:
        self.socket = str(socket)
        self.server: subprocess.Popen | None = None

    def tmux(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True,
                              text=True, timeout=10, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def start(self, command: str, width: int, height: int) -> None:
        self.server = subprocess.Popen(["tmux", "-D", "-S", self.socket],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket):
            if time.monotonic() > deadline or self.server.poll() is not None:
                pytest.skip("cannot start a tmux server here")
            time.sleep(0.05)
        # The size before the session exists, so the program never starts at 80x24.
        self.tmux("set-option", "-g", "default-size", f"{width}x{height}")
        self.tmux("new-session", "-d", "-s", "ui", "-x", str(width), "-y", str(height),
                  command)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "ui")

    def keys(self, *keys: str, literal: bool = False) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "ui", *(["-l"] if literal else []), key)
            time.sleep(0.15)  # a person's pace: each key is handled before the next

    def wait_for(self, test: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if test(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{screen}")

    def close(self) -> None:
        self.tmux("kill-server", check=False)
        if self.server is not None:
            try:
                self.server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=5)


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(tmp_path / "tmux.sock")
    try:
        yield term
    finally:
        term.close()


def test_the_real_tui_in_tmux_lists_filters_details_and_quits(terminal):
    # COLUMNS/LINES inherited from a test runner would override the pane's real size.
    env = f"-u COLUMNS -u LINES PYTHONPATH={ROOT} TERM=xterm-256color"
    command = (f"cd {ROOT} && env {env} {sys.executable} -m cvipsniff {DEMO}; "
               "echo EXIT=$?; sleep 60")
    terminal.start(command, 100, 30)

    # The status line can show the whole count a repaint before the details pane shows the
    # first message (seen under load on a clean-clone CI run): wait for both.
    first_details = "▶ Message 1: CVIP-Ping ping-request, 16 bytes"
    screen = terminal.wait_for(
        lambda s: "542 msgs" in s and any(line.startswith(first_details)
                                          for line in s.splitlines()),
        "the demo to load and its first message's details")
    lines = screen.splitlines()
    assert lines[0].lstrip().startswith("Filter:")
    assert lines[1].split()[:4] == ["No.", "Time", "Source", "Destination"]
    assert "192.0.2.100:53050" in lines[2] and "ping request txn=696" in lines[2]

    # A display filter, typed.
    terminal.keys("/")
    terminal.keys('cvip.method == "system.describe"', literal=True)
    terminal.keys("Enter")
    screen = terminal.wait_for(lambda s: "shown 6" in s, "the filter to apply")
    rows = [line for line in screen.splitlines() if "system.describe request" in line]
    assert len(rows) == 6 and rows[0].split()[0] == "21"

    # Its details: the transaction, then the method's bytes in the hex pane.
    screen = terminal.wait_for(lambda s: "Transaction #4 system.describe id=607" in s,
                               "the details of message 7")
    terminal.keys("Enter")
    for _ in range(12):
        terminal.keys("Down")
        if "Bytes: cvip.method [33:48]" in terminal.screen():
            break
    screen = terminal.wait_for(lambda s: "Bytes: cvip.method [33:48] (15 bytes)" in s,
                               "the method's bytes to be highlighted")
    assert "00000020  3e 73 79 73 74 65 6d 2e" in screen

    # Request → response with r, from the list.
    terminal.keys("Escape", "/", "Escape")  # back to the list, clear the filter
    terminal.wait_for(lambda s: "shown" not in s, "the filter to clear")
    terminal.keys("r")
    terminal.wait_for(lambda s: "Request: message 7 (frame 21)" in s, "the response's details")

    # Another view, the help, and quitting.
    terminal.keys("2")
    terminal.wait_for(lambda s: "Transactions: 265" in s, "the transactions view")
    terminal.keys("?")
    terminal.wait_for(lambda s: "cvipsniff — keys" in s, "the help screen")
    terminal.keys("Escape", "q")
    terminal.wait_for(lambda s: "EXIT=0" in s, "the program to exit cleanly", timeout=15)


@pytest.mark.skipif(os.geteuid() != 0, reason="capturing on lo needs root")
def test_the_real_live_tui_in_tmux_shows_the_peers_traffic_stops_and_quits(terminal,
                                                                           tmp_path):
    from tests.live_helpers import Peers, failures

    peers = Peers.start()
    try:
        written = tmp_path / "live.pcapng"
        rules = " ".join(f"'{rule}'" if rule != "-d" else rule for rule in peers.decode_as())
        env = f"-u COLUMNS -u LINES PYTHONPATH={ROOT} TERM=xterm-256color"
        command = (f"cd {ROOT} && env {env} {sys.executable} -m cvipsniff tui -i lo "
                   f"-f '{peers.capture_filter()}' {rules} -w {written}; "
                   "echo EXIT=$?; sleep 60")
        terminal.start(command, 110, 30)
        terminal.wait_for(lambda s: "● lo" in s and "following" in s, "the capture to start")
        verdicts = peers.run_clients()
        assert all(verdicts), failures(verdicts)
        screen = terminal.wait_for(lambda s: "ImageSrv" in s, "the peers' messages")
        assert "connectupdate" in screen or "ImageSrv" in screen
        terminal.keys("C-e")
        screen = terminal.wait_for(lambda s: "■ lo stopped" in s, "the capture to stop")
        terminal.keys("1", "Home")
        screen = terminal.wait_for(lambda s: "CVIP" in s, "the first (CVIP) messages")
        terminal.keys("q")
        terminal.wait_for(lambda s: "EXIT=0" in s, "the program to exit cleanly", timeout=15)
    finally:
        peers.close()
    assert written.stat().st_size > 0


def test_the_real_tui_at_80x24_keeps_a_third_for_details_and_takes_wiresharks_keys(terminal):
    env = f"-u COLUMNS -u LINES PYTHONPATH={ROOT} TERM=xterm-256color"
    command = (f"cd {ROOT} && env {env} {sys.executable} -m cvipsniff {DEMO}; "
               "echo EXIT=$?; sleep 60")
    terminal.start(command, 80, 24)
    # Loaded, and the first message's details and bytes drawn (the panes are laid out
    # and painted after the load's last batch on a quick run, not before it).
    screen = terminal.wait_for(lambda s: "542 msgs" in s and "\n▔Bytes" in s,
                               "the demo to load and its first message to be shown")
    lines = screen.splitlines()
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    assert any("1 Messages" in line and "5 Statistics" in line for line in lines)  # tabs
    top = next(i for i, line in enumerate(lines) if line.startswith("▔Details"))
    bottom = next(i for i, line in enumerate(lines) if line.startswith("▔Bytes"))
    assert bottom - top >= 24 // 3  # the details tree, its title line included
    assert "192…100:53050" in lines[2]  # elided in the middle, the port whole
    # Go to frame 25, make it the time reference.
    terminal.keys("C-g")
    terminal.wait_for(lambda s: "Go to frame" in s, "the go-to dialog")
    terminal.keys("25", literal=True)
    terminal.keys("Enter")
    terminal.wait_for(lambda s: "▶ Message 9: CVIP response" in s, "message 9 (frame 25)")
    terminal.keys("C-t")
    screen = terminal.wait_for(lambda s: "*REF*" in s, "the time reference")
    assert "ref 25" in screen
    terminal.keys("q")
    terminal.wait_for(lambda s: "EXIT=0" in s, "the program to exit cleanly", timeout=15)
