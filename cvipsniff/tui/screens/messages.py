"""The main view: filter bar, message list, details tree and hex pane (Wireshark's three
panes), a search line and the status line.

Long jobs over a big capture (filter, search, export) run as async workers in
time-boxed slices on the UI's event loop — the session is single-threaded — so the list
keeps scrolling while they run and a new filter simply cancels the previous one.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Sequence
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.widgets import Footer, Input, Label, Tree

from cvipsniff.capture.subset import read_frames
from cvipsniff.commands.follow import hexdump
from cvipsniff.filter import FilterError, compile_filter
from cvipsniff.tui.columns import Column
from cvipsniff.tui.export import FrameCollector, JsonExporter, ObjectsExporter, write_frames
from cvipsniff.tui.filtering import FilterJob
from cvipsniff.tui.live import CaptureStatus
from cvipsniff.tui.screens.base import SessionScreen
from cvipsniff.tui.screens.export import ExportDialog, ExportRequest
from cvipsniff.tui.screens.goto import GotoDialog
from cvipsniff.tui.search import MatchCounter, SearchJob
from cvipsniff.tui.session import Ingested
from cvipsniff.tui.transactions import TransactionInfo
from cvipsniff.tui.widgets.details import DetailsTree, NodeInfo
from cvipsniff.tui.widgets.filter_bar import FilterBar
from cvipsniff.tui.widgets.hexview import HexView
from cvipsniff.tui.widgets.message_list import MessageList
from cvipsniff.tui.widgets.status import StatusBar
from cvipsniff.tui.widgets.tabs import ViewTabs

SLICE_S = 0.03  # how long a filter/search/export slice may hold the event loop

def capture_status_parts(status: CaptureStatus, following: bool) -> list[str]:
    """The live capture's part of the status line, most important first (an 80-column
    terminal cuts the end): state and follow mode, time, packets, bytes, drops."""
    stats = status.stats
    elapsed = int(stats.elapsed_s)
    clock = f"{elapsed // 3600}:{elapsed // 60 % 60:02}:{elapsed % 60:02}"
    if status.running:
        state = f"● {stats.interface} " + ("following" if following else "paused (End)")
    elif status.error is not None:
        state = f"✖ {stats.interface} failed"
    else:
        state = f"■ {stats.interface} stopped"
    drops = f"{stats.dropped:,} dropped" if stats.drops_final else "drops at stop"
    if stats.interface_dropped:
        drops += f" (+{stats.interface_dropped:,} by the interface)"
    return [state, clock, f"{stats.packets:,} pkts", _size(stats.bytes), drops]


def _size(count: int) -> str:
    """Bytes as people read them: 950 B, 12.3 kB, 4.5 MB, 1.2 GB."""
    if count < 1000:
        return f"{count} B"
    value = float(count)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


_TIME_SHORT = {"relative": "rel", "delta": "delta", "absolute": "abs", "epoch": "epoch"}


class SearchInput(Input):
    """The Ctrl-F line: Enter finds the next message containing the text."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", show=False),
    ]

    def action_close(self) -> None:
        self.remove_class("-open")
        screen = self.screen
        if isinstance(screen, MessagesScreen):
            screen.query_one("#search-row").remove_class("-open")
            screen.message_list.focus()


class MessagesScreen(SessionScreen):
    """Message list, details and bytes of the selected message."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("ctrl+f", "search", "Find"),
        Binding("n", "search_next(1)", "Next match", show=False),
        Binding("N", "search_next(-1)", "Previous match", show=False),
        Binding("t", "time_format", "Time"),
        Binding("m", "mark", "Mark"),
        Binding("right_square_bracket", "next_mark(1)", "Next mark", show=False),
        Binding("left_square_bracket", "next_mark(-1)", "Previous mark", show=False),
        Binding("r", "partner", "Req↔Resp"),
        Binding("c", "copy", "Copy", show=False),
        Binding("C", "copy_subtree", "Copy tree", show=False),
        Binding("x", "copy_hex", "Copy hex", show=False),
        Binding("e", "export", "Export"),
        Binding("s", "follow", "Stream", show=False),
        Binding("escape", "focus_list", "List", show=False),
        Binding("ctrl+g", "goto_frame", "Go to frame", show=False),
        Binding("ctrl+t", "time_reference", "Time ref", show=False),
        Binding("z", "maximize_pane", "Maximize", show=False),
        Binding("F", "toggle_frame_bytes", "Frame bytes", show=False),
        Binding("plus,equals_sign", "resize_list(1)", "Grow list", show=False),
        Binding("minus", "resize_list(-1)", "Shrink list", show=False),
        Binding("b", "toggle_pane('hex')", "Bytes pane", show=False),
        Binding("d", "toggle_pane('details')", "Details pane", show=False),
    ]

    # The list's share of the height against the panes' (list:panes); +/- move it.
    LIST_SHARES = ((1, 4), (1, 3), (2, 3), (1, 1), (3, 2), (2, 1), (3, 1), (4, 1))

    DEFAULT_CSS = """
    MessagesScreen { layout: vertical; }
    MessagesScreen MessageList { height: 2fr; min-height: 4; }
    MessagesScreen #panes { height: 3fr; layout: vertical; }
    MessagesScreen.-wide #panes { layout: horizontal; }
    MessagesScreen #panes > DetailsTree, MessagesScreen #panes > HexView {
        border-top: hkey $primary-muted; border-title-color: $text-muted;
        height: 1fr;
    }
    MessagesScreen #panes > HexView { height: 4; }
    MessagesScreen #panes > .-collapsed { display: none; }
    MessagesScreen #panes > DetailsTree:focus, MessagesScreen #panes > HexView:focus {
        border-top: hkey $primary;
        border-title-color: $text;
    }
    MessagesScreen.-wide #panes > DetailsTree { width: 1fr; height: 100%; }
    MessagesScreen.-wide #panes > HexView { width: 78; height: 100%; }
    MessagesScreen #search-row { display: none; height: 1; }
    MessagesScreen #search-row.-open { display: block; }
    MessagesScreen #search-label { width: auto; padding: 0 1; background: $panel; }
    MessagesScreen SearchInput, MessagesScreen SearchInput:focus {
        border: none; height: 1; padding: 0 1; width: 1fr; background: $boost;
    }
    MessagesScreen #search-count { width: auto; min-width: 10; padding: 0 1;
                                   background: $panel; }
    """

    WIDE = 150  # columns from which details and bytes sit side by side

    def __init__(self) -> None:
        super().__init__()
        self.filter_job: FilterJob | None = None
        self.search_text = ""
        self.match_counter: MatchCounter | None = None
        self.frame_bytes = False  # the hex pane shows the frames as captured (F)
        self._details_pending = False
        self._shown_index: int | None = None
        self._shown_txn: TransactionInfo | None = None
        # Live: the cursor follows new messages while it sits on the last one (and that
        # row is on screen); moving up or scrolling away pauses, End resumes.
        self._follow = True
        # Cursor moves the follow made whose Highlighted events are not handled yet, and
        # the list's length when the last batch was shown.
        self._auto_moves: deque[int] = deque(maxlen=256)
        self._synced_rows = 0
        self._list_share = 2  # index in LIST_SHARES: 2:3 gives the details a third

    def compose(self) -> ComposeResult:
        yield FilterBar(id="filter-bar")
        yield MessageList(self.session, id="message-list")
        with Container(id="panes"):
            yield DetailsTree(self.session, id="details")
            yield HexView(id="hex")
        with Horizontal(id="search-row"):
            yield Label("Find:", id="search-label")
            yield SearchInput(placeholder="text in summaries and fields (Enter: next, Esc: close)",
                              id="search")
            yield Label("", id="search-count")
        yield StatusBar(id="status")
        yield ViewTabs("messages")
        yield Footer()

    # ---- parts ---------------------------------------------------------------------------

    @property
    def message_list(self) -> MessageList:
        return self.query_one(MessageList)

    @property
    def details(self) -> DetailsTree:
        return self.query_one(DetailsTree)

    @property
    def hex(self) -> HexView:
        return self.query_one(HexView)

    @property
    def filter_bar(self) -> FilterBar:
        return self.query_one(FilterBar)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def on_mount(self) -> None:
        self.details.border_title = "Details"
        self.hex.border_title = "Bytes"
        self.message_list.focus()
        self.session_changed(None)

    def on_resize(self) -> None:
        self.set_class(self.size.width >= self.WIDE, "-wide")

    # ---- the session grows -----------------------------------------------------------

    @property
    def following(self) -> bool:
        """Live only: whether new messages move the cursor along."""
        return self.session.capture is not None and self._follow

    def session_changed(self, ingested: Ingested | None) -> None:
        lst = self.message_list
        job = self.filter_job
        before = self._synced_rows
        # Follow only from what was the last row: a key that moved the cursor up is handled
        # before its Highlighted event, and a batch in between must not undo it.
        follow = self.following and (lst.row_count() == 0 or before == 0
                                     or (lst.cursor >= before - 1
                                         and self._cursor_on_screen()))
        if ingested is not None and job is not None and job.feed(ingested):
            self.session.view.touch()
        lst.sync()
        if ingested is not None and ingested.findings:
            lst.invalidate()  # findings recolour rows already on screen
        if follow and lst.row_count() and lst.cursor != lst.row_count() - 1:
            self._auto_moves.append(lst.row_count() - 1)
            lst.move_cursor(lst.row_count() - 1)
        elif self._shown_index is None and lst.row_count():
            self._auto_moves.append(lst.cursor)
            lst.move_cursor(lst.cursor)
        elif ingested is not None and self._shown_index is not None \
                and not self.details.has_focus \
                and self.session.transaction_at(self._shown_index) != self._shown_txn:
            self.refresh_details()  # its transaction got its answer meanwhile
        self._synced_rows = lst.row_count()
        self.update_status()
        load = self.session.load
        if ingested is not None and load.done:
            if load.error:
                self.notify(load.error, title="Capture", severity="error", timeout=10)
            if job is not None and job.late and self.session.view.filtered:
                # Pairing and checks are complete now: apply the filter again (tshark -2).
                self.apply_filter(job.filter.text, quiet=True)

    def _cursor_on_screen(self) -> bool:
        lst = self.message_list
        top = round(lst.scroll_y)
        return top <= lst.cursor < top + max(1, lst.size.height - 1)

    def restarted(self) -> None:
        """A live capture started afresh (the session was reset): forget the selection
        and run the display filter again over the new messages."""
        self.workers.cancel_group(self, "filter")
        self.workers.cancel_group(self, "search")
        self._shown_index = None
        self._follow = True
        self._synced_rows = 0
        self._auto_moves.clear()
        lst = self.message_list
        lst.cursor = 0
        lst.invalidate()
        text = self.filter_bar.text
        self.filter_job = None
        if text:
            self.apply_filter(text, quiet=True)
        lst.sync()
        self.refresh_details()
        self.update_status()

    def update_status(self) -> None:
        session = self.session
        view = session.view
        load = session.load
        if session.capture is not None:
            parts = capture_status_parts(session.capture, self._follow)
            parts.append(f"{len(session):,} msgs")
        else:
            parts = [os.path.basename(session.path), f"{len(session):,} msgs"]
        if view.filtered:
            parts.append(f"shown {len(view):,}")
        findings = len(session.store.findings)
        if findings:
            parts.append(f"{findings:,} finding{'s' if findings != 1 else ''}")
        if session.marks:
            parts.append(f"{len(session.marks)} marked")
        parts.append(f"time {_TIME_SHORT[self.message_list.time_mode]}")
        reference = self.message_list.time_reference
        if reference is not None and reference < len(session.store):
            parts.append(f"ref {session.store.frame(reference)}")
        busy: float | None = None
        if session.capture is None:  # live, the capture's state leads the line instead
            if not load.done:
                parts.append("loading…")
                busy = load.progress if load.progress is not None else 0.0
            elif load.error:
                parts.append("load failed")
        job = self.filter_job
        if job is not None and not job.caught_up:
            parts.append("filtering…")
            busy = job.progress
        self.status.set_text("  ".join(parts))
        self.status.set_progress(busy)

    # ---- details ----------------------------------------------------------------------

    @on(MessageList.Highlighted)
    def _cursor_moved(self, event: MessageList.Highlighted) -> None:
        if event.position in self._auto_moves:
            # The follow's own move: on a busy machine its event can arrive after the
            # next batch moved the cursor further, and its stale position (no longer the
            # last row) must not pause the follow. Moves and events come in order.
            while self._auto_moves.popleft() != event.position:
                pass
        elif self.session.capture is not None:
            following = event.position >= self.message_list.row_count() - 1
            if following != self._follow:
                self._follow = following
                self.update_status()
        # Holding a key down moves the cursor faster than a tree can be rebuilt: the
        # details follow once per refresh, for wherever the cursor is then.
        if not self._details_pending:
            self._details_pending = True
            self.call_after_refresh(self._show_details)

    def _show_details(self, force: bool = False) -> None:
        self._details_pending = False
        index = self.message_list.selected_index
        if index == self._shown_index and not force:
            return
        same = index == self._shown_index
        self._shown_index = index
        self._shown_txn = self.session.transaction_at(index) if index is not None else None
        self.details.show(index)
        # The same message shown again (its transaction changed): its bytes, their
        # highlight and the pane's title are still right, and must stay. Set again, the
        # title said only the length whenever the rebuilt tree did not announce its
        # first node anew (a snapshot test run first in its process caught it).
        if not same:
            self._show_bytes(index)

    def _show_bytes(self, index: int | None) -> None:
        """The hex pane: the message's reassembled bytes, or (``F``) the frames that
        carried it as captured, headers included, read back from the capture file."""
        if index is not None and self.frame_bytes:
            self._load_frames(index)
            return
        self.hex.show(self.session.store.data(index) if index is not None else b"")
        self.hex.border_title = "Bytes" if index is None else \
            f"Bytes: {self.session.store.row(index).length}"

    @work(exclusive=True, group="frame-bytes")
    async def _load_frames(self, index: int) -> None:
        numbers = self.session.store.frames(index)
        try:
            frames = await asyncio.to_thread(read_frames, self.session.path, numbers)
        except Exception as exc:  # a vanished or unreadable file: say so, show nothing
            self.hex.show(b"")
            self.hex.border_title = f"Frames: cannot read the capture ({exc})"
            return
        if self._shown_index != index or not self.frame_bytes:
            return  # the selection moved on meanwhile
        shown = [frames[n] for n in numbers if n in frames]
        self.hex.show(b"".join(f.data for f in shown))
        parts = " + ".join(f"{f.number} ({f.caplen} B)" for f in shown)
        self.hex.border_title = f"Frames {parts}: as captured (F: message bytes)"

    def action_toggle_frame_bytes(self) -> None:
        """``F``: the hex pane switches between the message's reassembled bytes and the
        bytes of the frames that carried it."""
        self.frame_bytes = not self.frame_bytes
        self._show_bytes(self._shown_index)
        self.notify("Bytes: frames as captured" if self.frame_bytes
                    else "Bytes: the message (reassembled)", timeout=1.5)

    def refresh_details(self) -> None:
        """Show the selected message now (tests and jumps don't wait for a refresh)."""
        self._show_details(force=True)

    @on(MessageList.Selected)
    def _open_message(self) -> None:
        self.set_focus(self.details)  # at once: the arrows that follow move in the tree

    @on(Tree.NodeHighlighted, "#details")
    def _node_highlighted(self, event: Tree.NodeHighlighted[NodeInfo]) -> None:
        info = event.node.data
        if info is None or self.frame_bytes:  # field offsets index the message's bytes
            return
        self.hex.set_highlight(info.offset, info.length)
        if info.offset >= 0 and info.length > 0:
            self.hex.border_title = (f"Bytes: {info.key} [{info.offset}:"
                                     f"{info.offset + info.length}] ({info.length} bytes)")
        elif self._shown_index is not None:
            self.hex.border_title = f"Bytes: {self.session.store.row(self._shown_index).length}"

    @on(Tree.NodeSelected, "#details")
    def _node_selected(self, event: Tree.NodeSelected[NodeInfo]) -> None:
        info = event.node.data
        if info is not None and info.target is not None:
            self.select_index(info.target)

    # ---- navigation --------------------------------------------------------------------

    def select_index(self, index: int) -> bool:
        """Show the message at store ``index`` (False, with a note, if filtered out)."""
        if self.message_list.select_index(index):
            self.message_list.focus()
            self.refresh_details()
            return True
        number = self.session.store.number(index)
        self.notify(f"Message {number} is hidden by the display filter "
                    "(Esc in the filter bar clears it)", severity="warning")
        return False

    def action_focus_filter(self) -> None:
        self.filter_bar.input.focus()

    def action_focus_list(self) -> None:
        if self.maximized is not None:
            self.minimize()
        self.message_list.focus()

    def action_goto_frame(self) -> None:
        self.app.push_screen(GotoDialog(), self._goto_chosen)

    def _goto_chosen(self, frame: int | None) -> None:
        if frame is not None:
            self.goto_frame(frame)

    def goto_frame(self, frame: int) -> bool:
        """Select the message that frame ``frame`` belongs to (Wireshark's Go to packet):
        a frame that carried no message bytes (a bare ACK) selects the next message."""
        store = self.session.store
        index = store.index_of_frame(frame)
        if index is None:
            self.notify(f"No message at or after frame {frame}", severity="warning", timeout=3)
            return False
        if frame not in store.frames(index) and store.frame(index) != frame:
            self.notify(f"Frame {frame} carries no message bytes: showing the next message "
                        f"(frame {store.frame(index)})", timeout=3)
        return self.select_index(index)

    def action_time_reference(self) -> None:
        """Ctrl+T: the selected message becomes (or stops being) the time reference:
        relative times count from it, its row shows *REF* (Wireshark's Ctrl+T)."""
        index = self.message_list.selected_index
        if index is None:
            return
        lst = self.message_list
        lst.time_reference = None if lst.time_reference == index else index
        if lst.time_mode != "relative" and lst.time_reference is not None:
            lst.time_mode = "relative"
        lst.invalidate()
        self.update_status()

    # ---- panes -------------------------------------------------------------------------

    def action_maximize_pane(self) -> None:
        """``z``: the focused pane fills the screen; ``z`` or Esc again restores it."""
        if self.maximized is not None:
            self.minimize()
            return
        focused = self.focused
        target = focused if focused in (self.message_list, self.details, self.hex) \
            else self.message_list
        self.maximize(target, container=False)

    def action_resize_list(self, step: int) -> None:
        """``+``/``-``: give the list more or fewer lines than the panes below it."""
        self._list_share = max(0, min(len(self.LIST_SHARES) - 1, self._list_share + step))
        self._apply_shares()
        top, bottom = self.LIST_SHARES[self._list_share]
        self.notify(f"List : panes = {top} : {bottom}", timeout=1.5)

    def _apply_shares(self) -> None:
        top, bottom = self.LIST_SHARES[self._list_share]
        self.message_list.styles.height = f"{top}fr"
        self.query_one("#panes").styles.height = f"{bottom}fr"

    def action_toggle_pane(self, which: str) -> None:
        """``b``/``d``: collapse or bring back the bytes or the details pane (never both:
        the other comes back), the one left takes the room."""
        pane = self.hex if which == "hex" else self.details
        other = self.details if which == "hex" else self.hex
        pane.display = not pane.display
        if not pane.display:
            other.display = True
            if pane.has_focus:
                self.message_list.focus()
        # The bytes pane has a fixed height under the details; alone, it fills the panes.
        self.hex.styles.height = "1fr" if not self.details.display else None

    def action_time_format(self) -> None:
        mode = self.message_list.cycle_time_mode()
        self.update_status()
        self.notify(f"Time column: {mode}", timeout=2)

    def action_mark(self) -> None:
        index = self.message_list.selected_index
        if index is None:
            return
        self.session.toggle_mark(index)
        self.message_list.invalidate()
        self.message_list.action_cursor(1)
        self.update_status()

    def action_next_mark(self, direction: int) -> None:
        marks = self.session.marks
        view = self.session.view
        positions = sorted(p for p in (view.position_of(i) for i in marks) if p is not None)
        if not positions:
            self.notify("No marked message is displayed", severity="warning", timeout=3)
            return
        here = self.message_list.cursor
        if direction > 0:
            target = next((p for p in positions if p > here), positions[0])
        else:
            target = next((p for p in reversed(positions) if p < here), positions[-1])
        self.message_list.move_cursor(target)

    def action_partner(self) -> None:
        index = self.message_list.selected_index
        if index is None:
            return
        target = self.session.partner(index)
        if target is None:
            txn = self.session.transaction_at(index)
            why = "not part of a transaction" if txn is None else f"transaction {txn.state}"
            self.notify(f"No request/response to jump to ({why})", severity="warning",
                        timeout=3)
            return
        self.select_index(target)

    def action_copy(self) -> None:
        """``c``: copy what the focused pane shows under its cursor: the list's row (as
        ``read`` prints it), the details' field value, or the bytes as a hex dump."""
        if self.hex.has_focus:
            self.action_copy_hex()
            return
        if self.details.has_focus:
            info = self.details.selected_info
            if info is None:
                return
            self.app.copy_to_clipboard(info.value)
            self.notify(f"{info.key} = {info.value}", title="Copied", timeout=3)
            return
        index = self.message_list.selected_index
        if index is None:
            return
        lst = self.message_list
        columns = [Column(c.title, 10_000, c.right) for c in lst.columns(200)]
        text = "  ".join(cell.strip() for cell in lst.cells(lst.cursor, columns))
        self.app.copy_to_clipboard(text)
        self.notify(text, title="Copied row", timeout=3)

    def action_copy_subtree(self) -> None:
        """``C``: the selected details node and all below it as indented text (the whole
        tree when the list has the focus)."""
        details = self.details
        if details.has_focus:
            text = details.subtree_text()
        else:
            text = "\n".join(details.subtree_text(node) for node in details.root.children)
        if text:
            self.app.copy_to_clipboard(text)
            self.notify(f"{len(text.splitlines())} lines", title="Copied tree", timeout=3)

    def action_copy_hex(self) -> None:
        """``x``: the message's bytes as a hex dump (offset, hex, ASCII)."""
        index = self.message_list.selected_index
        if index is None:
            return
        text = "\n".join(hexdump(self.session.store.data(index)))
        self.app.copy_to_clipboard(text)
        self.notify(f"{len(text.splitlines())} lines of hex", title="Copied bytes", timeout=3)

    def action_follow(self) -> None:
        index = self.message_list.selected_index
        if index is not None:
            self.cvipsniff.follow_flow(self.session.store.row(index).flow)

    # ---- filtering ----------------------------------------------------------------------

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        if self.apply_filter(event.text):
            # Type, Enter, then arrows: keyboard first. Focused now, not after the
            # refresh (Widget.focus defers): keys that follow at once go to the list.
            self.set_focus(self.message_list)

    def apply_filter(self, text: str, *, quiet: bool = False) -> bool:
        """Compile and apply ``text`` (empty: show everything). False on a syntax error,
        which is shown inline and leaves the list as it was."""
        bar = self.filter_bar
        if bar.text != text:
            bar.input.value = text
        try:
            flt = compile_filter(text)
        except FilterError as exc:
            bar.show_error(exc)
            return False
        lst = self.message_list
        keep = lst.selected_index
        self.workers.cancel_group(self, "filter")
        self.workers.cancel_group(self, "search-count")
        self.match_counter = None  # positions change with the view
        if flt.is_empty:
            self.filter_job = None
            self.session.view.apply("", None)
            bar.clear_error(active=False)
            self._after_filter(keep)
            return True
        bar.clear_error(active=True)
        job = self.filter_job = FilterJob(self.session, flt)
        self.session.view.apply(text, job.matched)
        lst.cursor = 0
        self._run_filter(job, keep, quiet)
        return True

    @work(exclusive=True, group="filter")
    async def _run_filter(self, job: FilterJob, keep: int | None, quiet: bool) -> None:
        while not job.run(SLICE_S):
            self.session.view.touch()
            self.message_list.sync()
            self.update_status()
            await asyncio.sleep(0)
        self.session.view.touch()
        self._after_filter(keep)
        if job.errors:
            self.notify(f"The filter failed on {job.errors} messages (counted as no match)",
                        severity="warning")
        elif not quiet and not job.matched:
            self.notify("No message matches the filter", timeout=3)

    def _after_filter(self, keep: int | None) -> None:
        lst = self.message_list
        lst.invalidate()
        view = self.session.view
        if len(view):
            lst.move_cursor(view.nearest_position(keep) if keep is not None else 0)
        else:
            lst.cursor = 0
        self.refresh_details()
        self.update_status()

    # ---- search ------------------------------------------------------------------------

    def action_search(self) -> None:
        search = self.query_one(SearchInput)
        search.add_class("-open")
        self.query_one("#search-row").add_class("-open")
        search.focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value != self.search_text or self.match_counter is None \
                or self.match_counter.total != len(self.session.view):
            self.search_text = event.value
            self.match_counter = MatchCounter(self.session, event.value)
            self._count_matches(self.match_counter)
        self.find(1)

    @work(exclusive=True, group="search-count")
    async def _count_matches(self, counter: MatchCounter) -> None:
        self._show_count()
        while not counter.run(SLICE_S):
            await asyncio.sleep(0)
        self._show_count()

    def _show_count(self) -> None:
        """The search line's "k of n" (n while counting is the matches so far)."""
        counter = self.match_counter
        label = self.query_one("#search-count", Label)
        if counter is None or not counter.needle:
            label.update("")
            return
        rank = counter.rank(self.message_list.cursor)
        n = len(counter.positions)
        total = f"{n:,}" if counter.finished else f"{n:,}+ (counting…)"
        label.update(f"{rank:,} of {total}" if rank is not None else f"{total} matches")

    def action_search_next(self, direction: int) -> None:
        if not self.search_text:
            self.action_search()
            return
        self.find(direction)

    def find(self, direction: int) -> None:
        """Look for the search text from the message after (or before) the cursor."""
        if not self.search_text or not len(self.session.view):
            return
        start = self.message_list.cursor + direction
        job = SearchJob(self.session, self.search_text, start % len(self.session.view),
                        forward=direction > 0)
        self._run_search(job)

    @work(exclusive=True, group="search")
    async def _run_search(self, job: SearchJob) -> None:
        while not job.run(SLICE_S):
            await asyncio.sleep(0)
        if job.found is None:
            self.notify(f"{job.needle!r} not found", severity="warning", timeout=3)
            return
        self.message_list.move_cursor(job.found)
        self.refresh_details()
        self._show_count()

    # ---- export --------------------------------------------------------------------------

    def action_export(self) -> None:
        capture = self.session.capture
        if capture is not None:  # live: the capture file may be a temporary one
            default = f"cvipsniff-{capture.stats.interface}-export"
        else:
            # The current directory, as any tool saves by default (the capture's own
            # directory may be read-only or far away).
            default = os.path.splitext(os.path.basename(self.session.path))[0] + "-export"
        self.app.push_screen(ExportDialog(default, bool(self.session.marks)),
                             self._export_chosen)

    def _export_chosen(self, request: ExportRequest | None) -> None:
        if request is not None:
            self.export(request)

    @work(exclusive=True, group="export")
    async def export(self, request: ExportRequest) -> None:
        """Write the displayed (or marked) messages as ``request`` says."""
        indices: Sequence[int] = (sorted(self.session.marks) if request.scope == "marked"
                                  else self.session.view.indices())
        try:
            if request.format == "objects":
                objects = ObjectsExporter(self.session, indices, request.path)
                while not objects.run(SLICE_S):
                    await asyncio.sleep(0)
                count = objects.exporter.files
                what = "objects (and manifest.csv)"
            elif request.format == "json":
                with open(request.path, "w", encoding="utf-8") as out:
                    exporter = JsonExporter(self.session, indices, out)
                    while not exporter.run(SLICE_S):
                        await asyncio.sleep(0)
                count = exporter.done
                what = "messages"
            else:
                collector = FrameCollector(self.session, indices)
                while not collector.run(SLICE_S):
                    await asyncio.sleep(0)
                count = await asyncio.to_thread(write_frames, self.session.path,
                                                collector.bitmap, request.path)
                what = "frames"
        except Exception as exc:  # an unwritable path, a vanished capture: say so
            self.notify(f"Export failed: {exc}", severity="error", timeout=8)
            return
        self.notify(f"{count:,} {what} written to {request.path}", title="Exported",
                    timeout=5)
