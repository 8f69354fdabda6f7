"""Statistics: message and transaction counts, and service response times per method
(Wireshark's SRT table: calls, min, mean, p95, max) with a latency histogram of the
selected method drawn as a sparkline.

The table is computed from the transaction columns in a worker thread (reading arrays
is safe while the UI thread appends), so opening this view on a million messages does
not freeze the UI.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Sparkline, Static

from cvipsniff.analysis.stats import MethodTimes, ServiceResponseTimes
from cvipsniff.render import PROTOCOL_LABELS
from cvipsniff.tui.screens.base import SessionScreen
from cvipsniff.tui.session import Ingested

HISTOGRAM_BUCKETS = 40


class StatsScreen(SessionScreen):
    """Counts and service response times."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("f5", "recompute", "Refresh")]

    DEFAULT_CSS = """
    StatsScreen #stats-summary { height: auto; padding: 0 1; background: $panel; }
    StatsScreen #srt { height: 1fr; }
    StatsScreen #histogram-title { height: 1; padding: 0 1; color: $text-muted; }
    StatsScreen #histogram { height: 3; margin: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.methods: list[MethodTimes] = []
        self._computed_for: tuple[int, bool] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="stats-summary")
        table: DataTable = DataTable(id="srt", cursor_type="row", zebra_stripes=True)
        table.add_columns("Protocol", "Method", "Calls", "Min ms", "Mean ms", "P95 ms",
                          "Max ms")
        yield table
        yield Static(id="histogram-title")
        yield Sparkline([], id="histogram")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#srt", DataTable).focus()

    def session_changed(self, ingested: Ingested | None) -> None:
        session = self.session
        key = (len(session.transactions), session.load.done)
        if ingested is not None and not session.load.done:
            return  # recomputed when the view is opened again, or at the end of loading
        self._summary()
        if key != self._computed_for:
            self._computed_for = key
            self.action_recompute()

    def _summary(self) -> None:
        session = self.session
        counts = session.protocol_counts
        protocols = ", ".join(f"{PROTOCOL_LABELS.get(p, p)} {n:,}"
                              for p, n in sorted(counts.items())) or "none"
        states = session.transactions.state_counts()
        txns = ", ".join(f"{s} {n:,}" for s, n in states.items()) or "none"
        severities: dict[str, int] = {}
        for f in session.store.findings:
            severities[f.severity] = severities.get(f.severity, 0) + 1
        findings = ", ".join(f"{severities[s]:,} {s}" for s in ("error", "warning", "info")
                             if s in severities) or "none"
        loading = "" if session.load.done else "  (still loading)"
        self.query_one("#stats-summary", Static).update(
            f"Messages: {len(session):,} ({protocols}) in {len(session.flows):,} flows{loading}\n"
            f"Transactions: {txns}\nFindings: {findings}")

    def action_recompute(self) -> None:
        self._compute()

    @work(thread=True, exclusive=True, group="stats")
    def _compute(self) -> None:
        srt = self.session.transactions.service_response_times()
        self.app.call_from_thread(self._fill, srt)

    def _fill(self, srt: ServiceResponseTimes) -> None:
        table = self.query_one("#srt", DataTable)
        table.clear()
        self.methods = [srt.methods[k] for k in sorted(srt.methods)]
        for entry in self.methods:
            s = entry.summary()
            table.add_row(PROTOCOL_LABELS.get(entry.protocol, entry.protocol), entry.method,
                          f"{s['count']:,}", f"{s['min_ms']:.3f}", f"{s['mean_ms']:.3f}",
                          f"{s['p95_ms']:.3f}", f"{s['max_ms']:.3f}")
        self._histogram(0)

    @on(DataTable.RowHighlighted, "#srt")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        self._histogram(event.cursor_row)

    def _histogram(self, row: int) -> None:
        title = self.query_one("#histogram-title", Static)
        spark = self.query_one("#histogram", Sparkline)
        if not 0 <= row < len(self.methods):
            title.update("No answered requests: no latencies to show")
            spark.data = []
            return
        entry = self.methods[row]
        values = entry.latencies_ms
        title.update(f"Latency histogram of {entry.method} ({len(values):,} calls): "
                     f"{min(values):.3f} ms … {max(values):.3f} ms")
        spark.data = entry.histogram(HISTOGRAM_BUCKETS)
