"""The terminal UI application: five views of one capture, loaded in the background.

Views are Textual *modes* (each keeps its own screen and state): Messages (list, details,
bytes), Transactions, Findings, Flows and Statistics; Follow stream, export and help
are pushed on top. All of them read one :class:`~cvipsniff.tui.session.CaptureSession`.

Loading runs the pipeline and the analysis in a worker thread
(:func:`cvipsniff.tui.loader.load`); each batch is handed to the UI thread with
``call_from_thread``, which waits until the UI has taken it — so at most one batch is
in flight, however fast the file is read — and the session is only ever touched by the
UI thread.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import get_current_worker

from cvipsniff.analysis.config import AnalysisConfig
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.tui.loader import Batch, load, load_jobs
from cvipsniff.tui.screens.base import SessionScreen
from cvipsniff.tui.screens.findings import FindingsScreen
from cvipsniff.tui.screens.flows import FlowsScreen
from cvipsniff.tui.screens.follow import FollowScreen
from cvipsniff.tui.screens.help import HelpScreen
from cvipsniff.tui.screens.messages import MessagesScreen
from cvipsniff.tui.screens.stats import StatsScreen
from cvipsniff.tui.screens.transactions import TransactionsScreen
from cvipsniff.tui.session import CaptureSession

VIEWS = ("messages", "transactions", "findings", "flows", "stats")
THEMES = ("textual-dark", "textual-light")


class CvipsniffApp(App[int]):
    """``cvipsniff tui -r FILE``."""

    TITLE = "cvipsniff"
    SCREENS: ClassVar[dict] = {
        "messages": MessagesScreen,
        "transactions": TransactionsScreen,
        "findings": FindingsScreen,
        "flows": FlowsScreen,
        "stats": StatsScreen,
    }
    MODES: ClassVar[dict] = {name: name for name in VIEWS}
    DEFAULT_MODE = "messages"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "view('messages')", "Messages", show=False),
        Binding("2", "view('transactions')", "Transactions", show=False),
        Binding("3", "view('findings')", "Findings", show=False),
        Binding("4", "view('flows')", "Flows", show=False),
        Binding("5", "view('stats')", "Stats", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("T", "toggle_theme", "Theme", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, path: str, config: PipelineConfig | None = None,
                 analysis_config: AnalysisConfig | None = None, *,
                 theme: str = THEMES[0], batch_size: int | None = None,
                 jobs: int | None = None) -> None:
        super().__init__()
        self.session = CaptureSession(path, config or PipelineConfig(keep_data=True),
                                      analysis_config)
        self._initial_theme = theme
        self._batch_size = batch_size
        self._jobs = jobs
        self._closing = False

    def on_mount(self) -> None:
        self.theme = self._initial_theme
        self.sub_title = self.session.path
        self._load()

    def on_unmount(self) -> None:
        self._closing = True
        self.session.close()

    # ---- loading ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self) -> None:
        worker = get_current_worker()
        options = {"size": self._batch_size} if self._batch_size else {}
        path = self.session.path
        load(path, self.session.config, self._deliver,
             analysis_config=self.session.analysis_config,
             cancelled=lambda: worker.is_cancelled or self._closing,
             jobs=load_jobs(path, self._jobs), **options)

    def _deliver(self, batch: Batch) -> None:
        """Loader thread: hand a batch to the UI thread and wait until it is taken."""
        if self._closing:
            return
        try:
            self.call_from_thread(self._ingest, batch)
        except Exception:  # the app is closing under us: stop delivering
            self._closing = True

    def _ingest(self, batch: Batch) -> None:
        if self._closing:
            return
        messages = self.messages_screen
        if batch.restart:  # a split load that was not exact: loaded again, from scratch
            self.session.reset()
            if messages.is_mounted:
                messages.restarted()
            current = self.screen
            if current is not messages and isinstance(current, SessionScreen) \
                    and current.is_mounted:
                current.session_changed(None)
            return
        ingested = self.session.ingest(batch)
        if messages.is_mounted:
            messages.session_changed(ingested)
        current = self.screen
        if current is not messages and isinstance(current, SessionScreen) \
                and current.is_mounted:
            current.session_changed(ingested)

    @property
    def loaded(self) -> bool:
        return self.session.load.done

    # ---- navigation ------------------------------------------------------------------------

    @property
    def messages_screen(self) -> MessagesScreen:
        screen = self.get_screen("messages")
        assert isinstance(screen, MessagesScreen)
        return screen

    async def action_view(self, name: str) -> None:
        if self.current_mode != name:
            await self.switch_mode(name)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]

    async def show_message(self, index: int) -> None:
        """Open the message at store ``index`` in the Messages view."""
        await self.action_view("messages")
        self.messages_screen.select_index(index)

    async def filter_messages(self, text: str) -> None:
        """Apply a display filter and show the Messages view."""
        await self.action_view("messages")
        self.messages_screen.apply_filter(text)

    def follow_flow(self, flow_id: int) -> None:
        flow = self.session.flows.get(flow_id)
        if flow is None:
            self.notify(f"Flow {flow_id} is not known (yet)", severity="warning")
            return
        self.push_screen(FollowScreen(self.session.path, flow))
