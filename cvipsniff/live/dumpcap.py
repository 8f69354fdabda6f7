"""The ``dumpcap`` backend: Wireshark's capture helper in a child process.

``dumpcap -i IFACE -f FILTER -w -`` writes the capture as a pcapng stream to its standard
output, which we parse with the same reader as a capture file
(:func:`cvipsniff.capture.open_capture`), frame by frame as it arrives. dumpcap is the
only part that needs capture rights, and it can hold them itself
(``setcap cap_net_raw,cap_net_admin+eip``), so this backend lets a normal user capture.

Why not pyshark's ``LiveCapture``: it runs dumpcap *and* tshark and hands back tshark's
dissection of every packet (PDML or JSON). We need the frames themselves — exact bytes,
timestamps and lengths, to dissect with our own engine and to write with ``-w`` — which is
what dumpcap's pcapng stream is; a second full dissection per packet would only cost time.
pyshark does help with one thing: finding the dumpcap executable the way Wireshark users
configure it (its ``config.ini``, the Windows and macOS install locations, then PATH).

Drops: dumpcap reports them when it stops, on standard error
(``Packets received/dropped on interface 'lo': 3/0 (pcap:0/dumpcap:0/flushed:0/
ps_ifdrop:0)``); until then :meth:`DumpcapSource.stats` says the figures are not final.
Latency: dumpcap hands packets on in batches (libpcap's buffer timeout, ~250 ms), so a
frame may reach us up to about a second after its timestamp; ``latency_ns`` tells the
session to allow for it before calling a request unanswered.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterable

from cvipsniff.capture import CaptureError, open_capture
from cvipsniff.live.errors import (
    LiveCaptureError,
    backend_missing,
    bad_filter,
    capture_failed,
    interface_down,
    no_such_interface,
    permission_denied,
)
from cvipsniff.live.source import DEFAULT_SNAPLEN, SourceOptions, SourceStats
from cvipsniff.model import Frame, TransportNote

__all__ = ["DumpcapSource", "failure_from_stderr", "find_dumpcap", "parse_drop_stats"]

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
QUEUE_FRAMES = 8192  # frames parsed but not yet taken; a full queue pushes back on dumpcap
BATCH = 512
_KEEP_STDERR_LINES = 40
_END = object()

_STATS_LINE = re.compile(
    r"received/dropped on interface '.*?':\s*(\d+)/(\d+)"
    r"(?:\s*\(pcap:(\d+)/dumpcap:(\d+)/flushed:(\d+)/ps_ifdrop:(\d+)\))?")
_FILTER_DETAIL = re.compile(r"valid capture filter \((.*)\)\.?\s*$")


def find_dumpcap() -> str | None:
    """Where dumpcap is, as pyshark finds it (its config.ini, platform paths, PATH)."""
    try:
        from pyshark.tshark.tshark import TSharkNotFoundException, get_process_path
    except ImportError:  # pyshark is a dependency, but the backend works without it
        import shutil

        return shutil.which("dumpcap")
    try:
        path = get_process_path(process_name="dumpcap")
    except TSharkNotFoundException:
        return None
    return path if os.access(path, os.X_OK) else None


def parse_drop_stats(lines: Iterable[str]) -> tuple[int, int, int] | None:
    """(received, dropped, dropped by the interface) from dumpcap's closing statistics,
    summed over interfaces; None when dumpcap printed none (it was killed)."""
    found = False
    received = dropped = if_dropped = 0
    for line in lines:
        m = _STATS_LINE.search(line)
        if m is None:
            continue
        found = True
        received += int(m.group(1))
        dropped += int(m.group(2))
        if m.group(6) is not None:
            if_dropped += int(m.group(6))
    return (received, dropped, if_dropped) if found else None


def failure_from_stderr(interface: str, stderr: str, returncode: int | None
                        ) -> LiveCaptureError:
    """The one line (naming the fix) for what dumpcap said when it could not capture."""
    text = stderr.replace("\r", "\n")
    lower = text.lower()
    if ("no device named" in lower or "no such device" in lower
            or "no interface with that adapter index" in lower
            or "no interfaces on which a capture can be done" in lower):
        return no_such_interface(interface)
    if "permission" in lower or "operation not permitted" in lower:
        return permission_denied(interface, "dumpcap")
    if "that device is not up" in lower or " is not up." in lower:
        return interface_down(interface)
    if "invalid capture filter" in lower:
        detail = ""
        for line in text.splitlines():
            m = _FILTER_DETAIL.search(line.strip())
            if m:
                detail = m.group(1)
                break
        capture_filter = ""
        m = re.search(r'invalid capture filter "(.*?)"', text, re.IGNORECASE)
        if m:
            capture_filter = m.group(1)
        return bad_filter(interface, capture_filter, detail)
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("dumpcap: "):
            return capture_failed(interface, "dumpcap: " + line.removeprefix("dumpcap: "))
    status = f"exited with status {returncode}" if returncode is not None else "failed"
    return capture_failed(interface, f"dumpcap {status}")


class DumpcapSource:
    """A :class:`~cvipsniff.live.source.FrameSource` reading dumpcap's pcapng stream.

    Two helper threads: one parses standard output into frames (a bounded queue between
    it and :meth:`read`), one collects standard error (dumpcap's readiness, errors and
    closing statistics) so that dumpcap never blocks on a full pipe.
    """

    backend = "dumpcap"
    latency_ns = 1_000_000_000

    def __init__(self, interface: str, capture_filter: str,
                 options: SourceOptions | None = None, executable: str | None = None) -> None:
        self.interface = interface
        self.capture_filter = capture_filter
        self.options = options or SourceOptions()
        self.executable = executable
        self.error: Exception | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._frames: queue.Queue[object] = queue.Queue(QUEUE_FRAMES)
        self._stderr: deque[str] = deque(maxlen=_KEEP_STDERR_LINES)
        self._stats_lines: list[str] = []
        self._capturing = threading.Event()
        self._stderr_done = threading.Event()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._notes: list[TransportNote] = []
        self._notes_lock = threading.Lock()
        self._stopping = False
        self._ended = False

    # ---- opening ------------------------------------------------------------------------

    def command(self, executable: str) -> list[str]:
        opts = self.options
        argv = [executable, "-i", self.interface, "-w", "-"]
        if self.capture_filter:
            argv += ["-f", self.capture_filter]
        if opts.snaplen != DEFAULT_SNAPLEN:
            argv += ["-s", str(opts.snaplen)]
        if not opts.promiscuous:
            argv.append("-p")
        if opts.buffer_mb > 0:
            argv += ["-B", str(opts.buffer_mb)]
        return argv

    def open(self) -> None:
        executable = self.executable or find_dumpcap()
        if executable is None:
            raise backend_missing(self.interface, "dumpcap is not installed",
                                  "install it with 'apt-get install tshark', "
                                  "or use --backend scapy")
        try:
            # A session of its own: the terminal's Ctrl-C reaches us, and we stop dumpcap
            # in order (so it can flush its last packets and report drops).
            # stdin: an empty pipe rather than /dev/null (nothing to open, nothing read).
            proc = subprocess.Popen(self.command(executable), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except PermissionError:
            # Debian installs dumpcap executable by the 'wireshark' group only when
            # non-root capture is enabled.
            raise LiveCaptureError(
                self.interface, f"permission denied running {executable}", kind="permission",
                hint="add yourself to its group, e.g. 'sudo usermod -a -G wireshark $USER', "
                "and log in again; or run as root") from None
        except OSError as exc:
            raise backend_missing(self.interface,
                                  f"cannot run {executable}: {exc.strerror or exc}",
                                  "use --backend scapy") from None
        self._proc = proc
        # Whatever ends this process (an exception, a second Ctrl-C), dumpcap, which runs
        # in a session of its own, must not outlive it.
        atexit.register(self._kill)
        assert proc.stdin is not None
        proc.stdin.close()
        self._start(self._collect_stderr, "dumpcap-stderr")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (self._capturing.is_set() or self._stderr_done.is_set()):
            if time.monotonic() >= deadline:
                break
            self._capturing.wait(0.05)
        started = self._capturing.is_set() or self._stderr_done.is_set()
        if not self._capturing.is_set():
            self._kill()
            stderr = "\n".join(self._stderr)
            self.close()
            if not started:
                raise capture_failed(self.interface,
                                     f"dumpcap did not start within {START_TIMEOUT_S:.0f} s")
            raise failure_from_stderr(self.interface, stderr, proc.returncode)
        self._start(self._pump_frames, "dumpcap-frames")

    def _start(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _collect_stderr(self) -> None:
        """dumpcap's standard error: 'File: -' once capturing, progress counts (with
        carriage returns), error messages, the closing statistics."""
        proc = self._proc
        assert proc is not None and proc.stderr is not None
        pending = b""
        try:
            while True:
                chunk = proc.stderr.read1(4096)  # type: ignore[attr-defined]
                if not chunk:
                    break
                pending += chunk
                *lines, pending = re.split(rb"[\r\n]", pending)
                for raw in lines:
                    self._stderr_line(raw.decode("utf-8", "replace").strip())
            if pending:
                self._stderr_line(pending.decode("utf-8", "replace").strip())
        except (OSError, ValueError):
            pass
        finally:
            self._stderr_done.set()

    def _stderr_line(self, line: str) -> None:
        if not line or line.startswith("Packets:"):
            return  # progress counter, rewritten in place many times
        self._stderr.append(line)
        if line.startswith("File:"):
            self._capturing.set()
        elif "received/dropped" in line:
            self._stats_lines.append(line)

    def _pump_frames(self) -> None:
        """Parse dumpcap's pcapng stream, handing frames to read() through the queue."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        path = f"/proc/self/fd/{fd}" if os.path.isdir("/proc/self/fd") else f"/dev/fd/{fd}"
        failure: Exception | None = None
        try:
            with open_capture(path, on_note=self._note) as reader:
                for frame in reader:
                    if not self._put(frame):
                        return
        except CaptureError as exc:
            failure = exc  # no pcapng at all: dumpcap stopped before writing one
        except OSError as exc:
            failure = exc
        finally:
            self._put(failure if failure is not None else _END, final=True)

    def _put(self, item: object, final: bool = False) -> bool:
        while not self._closing.is_set():
            try:
                self._frames.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        if final:
            with contextlib.suppress(queue.Full):
                self._frames.put_nowait(item)
        return False

    def _note(self, note: TransportNote) -> None:
        with self._notes_lock:
            self._notes.append(note)

    # ---- reading ------------------------------------------------------------------------

    def read(self, timeout_s: float) -> list[Frame]:
        if self._ended or self._proc is None:
            return []
        try:
            item = self._frames.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return []
        frames: list[Frame] = []
        while True:
            if type(item) is Frame:
                frames.append(item)  # type: ignore[arg-type]
            else:
                self._finished(item)
                break
            if len(frames) >= BATCH:
                break
            try:
                item = self._frames.get_nowait()
            except queue.Empty:
                break
        return frames

    def _finished(self, item: object) -> None:
        """The stream ended: dumpcap stopped (asked to, or on its own)."""
        self._ended = True
        proc = self._proc
        assert proc is not None
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._kill()
        self._stderr_done.wait(STOP_TIMEOUT_S)
        if self._stopping and proc.returncode in (0, -signal.SIGINT, -signal.SIGTERM):
            return
        if proc.returncode or item is not _END:
            self.error = failure_from_stderr(self.interface, "\n".join(self._stderr),
                                             proc.returncode)
        else:
            self.error = capture_failed(self.interface, "dumpcap stopped capturing")

    def stop(self) -> None:
        """Ask dumpcap to finish: it writes what it holds, reports drops and exits."""
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)

    @property
    def ended(self) -> bool:
        return self._ended

    def stats(self) -> SourceStats:
        found = parse_drop_stats(self._stats_lines)
        if found is None:
            return SourceStats(final=False)
        _received, dropped, if_dropped = found
        return SourceStats(dropped=dropped, interface_dropped=if_dropped, final=True)

    def take_notes(self) -> list[TransportNote]:
        with self._notes_lock:
            notes, self._notes = self._notes, []
        return notes

    def _kill(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                proc.send_signal(sig)
                proc.wait(timeout=STOP_TIMEOUT_S)
                return
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                return

    def close(self) -> None:
        """Stop dumpcap if it still runs, and release the pipes and threads."""
        self._closing.set()
        self._kill()
        atexit.unregister(self._kill)
        for thread in self._threads:
            thread.join(STOP_TIMEOUT_S)
        self._threads.clear()
        proc = self._proc
        if proc is not None:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        self._ended = True
