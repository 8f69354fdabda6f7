"""Statistics: message and transaction counts, and service response times per method
(Wireshark's SRT table: calls, min, mean, p95, max) with a latency histogram of the
selected method drawn with its axes (counts, milliseconds). Any column sorts (``o`` the
next one, ``O`` reverses).

The table is computed from the transaction columns in a worker thread (reading arrays
is safe while the UI thread appends), so opening this view on a million messages does
not freeze the UI.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from cvipsniff.analysis.stats import MethodTimes, ServiceResponseTimes
from cvipsniff.render import PROTOCOL_LABELS
from cvipsniff.tui.histogram import histogram_lines
from cvipsniff.tui.screens.base import SessionScreen
from cvipsniff.tui.session import Ingested
from cvipsniff.tui.widgets.tabs import ViewTabs

HISTOGRAM_BUCKETS = 40


class StatsScreen(SessionScreen):
    """Counts and service response times."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "recompute", "Refresh"),
        Binding("o", "sort_next", "Sort", show=False),
        Binding("O", "sort_reverse", "Reverse sort", show=False),
    ]
    COLUMNS = ("Protocol", "Method", "Calls", "Min ms", "Mean ms", "P95 ms", "Max ms")

    DEFAULT_CSS = """
    StatsScreen #stats-summary { height: auto; padding: 0 1; background: $panel; }
    StatsScreen #srt { height: 1fr; }
    StatsScreen #histogram-title { height: 1; padding: 0 1; color: $text-muted; }
    StatsScreen #histogram { height: 6; margin: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.methods: list[MethodTimes] = []
        self._computed_for: tuple[int, bool] | None = None
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.histogram_counts: list[int] = []  # what the chart shows, per bucket

    def compose(self) -> ComposeResult:
        yield Static(id="stats-summary")
        table: DataTable = DataTable(id="srt", cursor_type="row", zebra_stripes=True)
        for title in self.COLUMNS:
            table.add_column(title, key=title)
        yield table
        yield Static(id="histogram-title")
        yield Static(id="histogram")
        yield ViewTabs("stats")
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
        for number, entry in enumerate(self.methods):
            s = entry.summary()
            table.add_row(PROTOCOL_LABELS.get(entry.protocol, entry.protocol), entry.method,
                          f"{s['count']:,}", f"{s['min_ms']:.3f}", f"{s['mean_ms']:.3f}",
                          f"{s['p95_ms']:.3f}", f"{s['max_ms']:.3f}", key=str(number))
        if self.sort_column is not None:
            self._sort()
        self._histogram(self._method_at(table.cursor_row))

    def _method_at(self, row: int) -> int:
        """Index in :attr:`methods` of the table's row ``row`` (rows may be sorted)."""
        table = self.query_one("#srt", DataTable)
        if not 0 <= row < table.row_count:
            return -1
        return int(table.coordinate_to_cell_key((row, 0)).row_key.value or -1)

    @on(DataTable.RowHighlighted, "#srt")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        self._histogram(int(event.row_key.value or -1))

    # ---- sorting --------------------------------------------------------------------

    def action_sort_next(self) -> None:
        titles = self.COLUMNS
        i = titles.index(self.sort_column) + 1 if self.sort_column in titles else 0
        self.sort_column = titles[i] if i < len(titles) else None
        self.sort_reverse = False
        self._sort()

    def action_sort_reverse(self) -> None:
        if self.sort_column is None:
            self.action_sort_next()
            return
        self.sort_reverse = not self.sort_reverse
        self._sort()

    def _sort(self) -> None:
        table = self.query_one("#srt", DataTable)
        column = self.sort_column or "Method"
        reverse = self.sort_reverse if self.sort_column else False

        def key(value: object) -> tuple:
            text = str(value).replace(",", "")
            try:
                return (0, float(text), "")
            except ValueError:
                return (1, 0.0, text.lower())

        if self.sort_column is None:  # back to protocol, method
            table.sort("Protocol", "Method")
        else:
            table.sort(column, key=key, reverse=reverse)
        for title in self.COLUMNS:
            arrow = ("▼" if reverse else "▲") if title == self.sort_column else ""
            table.columns[title].label = Text(title + arrow)
        table.refresh()
        self._histogram(self._method_at(table.cursor_row))

    def _histogram(self, row: int) -> None:
        title = self.query_one("#histogram-title", Static)
        chart = self.query_one("#histogram", Static)
        if not 0 <= row < len(self.methods):
            title.update("No answered requests: no latencies to show")
            self.histogram_counts = []
            chart.update("")
            return
        entry = self.methods[row]
        values = entry.latencies_ms
        title.update(f"Latency histogram of {entry.method} ({len(values):,} calls, "
                     "calls per bucket by latency)")
        buckets = max(8, min(HISTOGRAM_BUCKETS, chart.size.width - 12 or HISTOGRAM_BUCKETS))
        self.histogram_counts = entry.histogram(buckets)
        chart.update("\n".join(histogram_lines(self.histogram_counts, min(values),
                                                max(values))))
