"""``cvipsniff tui -i IFACE``: the terminal UI on a live capture.

The same application as for a file, with a :class:`~cvipsniff.live.session.LiveSession`
as its loader: the capture thread fills a :class:`~cvipsniff.tui.live.LiveFeed`, and a
timer on the UI thread ingests what accumulated every ``POLL_S`` — so every view, filter
and jump works as offline while messages keep coming. The session writes every captured
frame to a pcapng file (``-w`` or a temporary one), which is what Follow stream, export
and Ctrl+S read.

Keys beyond the offline ones: Ctrl+E stops the capture (or starts a new one once
stopped), Ctrl+R restarts it (the messages so far are discarded, as in Wireshark), Ctrl+S
saves the frames captured so far.

Data stays safe: a (re)start never truncates the user's ``-w`` file that already holds
frames — the new capture goes to the next free numbered name beside it (``out-1.pcapng``,
``out-2.pcapng``); and ``q`` with frames only in the temporary file (no ``-w``, not saved
since) asks whether to save them first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import ClassVar

from textual import work
from textual.binding import Binding, BindingType

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.capture import CaptureError
from cvipsniff.errors import UsageError
from cvipsniff.live.session import LiveSession
from cvipsniff.tui.app import THEMES, CvipsniffApp
from cvipsniff.tui.export import write_frames
from cvipsniff.tui.live import LiveFeed
from cvipsniff.tui.screens.base import SessionScreen
from cvipsniff.tui.screens.quit import QuitDialog
from cvipsniff.tui.screens.save import SaveDialog

STOP_WAIT_S = 10.0  # how long a restart waits for the previous capture to flush


class LiveApp(CvipsniffApp):
    """The UI of a live capture. The caller starts the capture (``app.feed.start()``)
    before running the app, so that a capture that cannot start is a one-line error."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+e", "toggle_capture", "Stop/Start"),
        Binding("ctrl+r", "restart_capture", "Restart", show=False),
        Binding("ctrl+s", "save", "Save"),
    ]

    POLL_S = 0.2

    def __init__(self, live: LiveSession, analysis_config: AnalysisConfig | None = None, *,
                 theme: str = THEMES[0], temporary: bool = False) -> None:
        if live.write_to is None or live.write_to == "-":
            raise ValueError("the live UI needs the capture written to a file")
        super().__init__(live.write_to, live.pipeline_config, analysis_config, theme=theme)
        self.live = live
        self.feed = LiveFeed(live)
        live.on_output = self.feed.on_output
        self.session.capture = self.feed.status
        self._switching = False  # a stop/restart is under way
        # True when the frames are only in a temporary file (no -w): quitting asks.
        self.temporary = temporary
        self.saved_packets = 0  # frames of this capture already saved with Ctrl+S

    def on_mount(self) -> None:
        super().on_mount()
        stats = self.live.stats
        described = repr(stats.capture_filter) if stats.capture_filter else "none"
        self.sub_title = (f"live on {stats.interface} ({stats.backend}, capture filter "
                          f"{described})")

    def on_unmount(self) -> None:
        super().on_unmount()
        if self.live.running:  # quitting while capturing: end it, keeping the -w file whole
            self.live.abort()
            self.live.join(STOP_WAIT_S)

    def _load(self) -> None:  # type: ignore[override]
        """No loading worker: the capture thread is the loader; poll what it produced."""
        self.set_interval(self.POLL_S, self.poll)

    def poll(self) -> None:
        """Ingest what the capture produced since the last poll (UI thread)."""
        if self._closing:
            return
        batch = self.feed.take()
        self.session.capture = self.feed.status
        if batch is not None:
            self._ingest(batch)
        else:
            messages = self.messages_screen
            if messages.is_mounted:
                messages.update_status()  # the clock and the packet counts move on

    # ---- capture control ---------------------------------------------------------------

    async def action_toggle_capture(self) -> None:
        if self.live.running:
            self.feed.stop()
            self.notify("Stopping the capture…", timeout=2)
        else:
            await self.action_restart_capture()

    async def action_restart_capture(self) -> None:
        """Stop the capture if it runs, take its last batch, and start a fresh one."""
        if self._switching:
            return
        self._switching = True
        try:
            if self.live.running:
                self.feed.stop()
                ended = await asyncio.to_thread(self.live.join, STOP_WAIT_S)
                if ended is None:  # the backend did not hand over in time
                    self.live.abort()
                    await asyncio.to_thread(self.live.join, STOP_WAIT_S)
            self.poll()
            kept = self._new_write_target()
            self.session.reset()
            self.saved_packets = 0
            try:
                self.feed.start()
            except UsageError as exc:  # e.g. the interface went down meanwhile
                self.session.capture = self.feed.status
                self.notify(str(exc), title="Capture", severity="error", timeout=10)
                return
            finally:
                self._reset_views()
            where = (f" into {self.live.write_to} ({kept} kept)" if kept is not None else "")
            self.notify(f"Capturing on {self.live.stats.interface} again{where}",
                        timeout=4 if kept else 2)
        finally:
            self._switching = False

    def _new_write_target(self) -> str | None:
        """Before a new capture: if the -w file already holds frames, capture into the
        next free numbered name instead (returns the kept file's name); a temporary file
        is reused (what it held was discarded on purpose)."""
        current = self.live.write_to
        if self.temporary or current is None or current == "-":
            return None
        try:
            if os.path.getsize(current) == 0:
                return None
        except OSError:
            return None
        target = next_free_path(current)
        self.live.write_to = target
        self.session.path = target
        return current

    # ---- quitting ----------------------------------------------------------------------

    @property
    def unsaved_packets(self) -> int:
        """Frames only in the temporary file and not saved since (0 with -w)."""
        if not self.temporary:
            return 0
        return max(0, self.live.stats.packets - self.saved_packets)

    async def action_quit(self) -> None:
        unsaved = self.unsaved_packets
        if not unsaved:
            self.exit()
            return
        self.push_screen(QuitDialog(unsaved), self._quit_chosen)

    def _quit_chosen(self, choice: str | None) -> None:
        if choice == "quit":
            self.exit()
        elif choice == "save":
            self._quit_after_save = True
            self.action_save()

    _quit_after_save = False

    def _reset_views(self) -> None:
        self.session.capture = self.feed.status
        messages = self.messages_screen
        if messages.is_mounted:
            messages.restarted()
        current = self.screen
        if current is not messages and isinstance(current, SessionScreen) \
                and current.is_mounted:
            current.session_changed(None)

    # ---- saving ------------------------------------------------------------------------

    def action_save(self) -> None:
        stats = self.live.stats
        default = f"cvipsniff-{stats.interface}-{time.strftime('%Y%m%d-%H%M%S')}.pcapng"
        note = f"{stats.packets:,} frames captured"
        if self.live.running:
            note += " so far (the capture goes on)"
        self.push_screen(SaveDialog(default, note), self._save_chosen)

    def _save_chosen(self, path: str | None) -> None:
        if path is not None:
            self.save_to(path)
        else:
            self._quit_after_save = False

    @work(exclusive=True, group="save")
    async def save_to(self, path: str) -> None:
        """Copy the frames captured so far (the session's file, flushed every tick)
        into ``path`` (pcapng), whole frames only."""
        with contextlib.suppress(OSError):
            if os.path.samefile(path, self.session.path):
                self.notify(f"The capture is being written to {path} already",
                            severity="warning", timeout=5)
                return
        try:
            count = await asyncio.to_thread(write_frames, self.session.path, None, path)
        except (OSError, CaptureError) as exc:
            self._quit_after_save = False
            reason = getattr(exc, "strerror", None) or str(exc)
            self.notify(f"Save failed: {reason}", severity="error", timeout=8)
            return
        self.saved_packets = max(self.saved_packets, count)
        self.notify(f"{count:,} frames saved to {path}", title="Saved", timeout=5)
        if self._quit_after_save:
            self.exit()


def next_free_path(path: str) -> str:
    """``out-1.pcapng``, ``out-2.pcapng``, …: the first name beside ``path`` that does
    not exist yet."""
    stem, ext = os.path.splitext(path)
    number = 1
    while os.path.exists(f"{stem}-{number}{ext}"):
        number += 1
    return f"{stem}-{number}{ext}"
