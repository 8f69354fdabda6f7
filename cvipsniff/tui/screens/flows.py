"""The flows view: every TCP connection and UDP conversation (Wireshark's
Conversations), with its message count and how it ended. Enter follows the stream,
``f`` filters the message list to the flow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from cvipsniff.render import endpoint_text
from cvipsniff.tui.columns import Column, fit, fit_endpoint, spread
from cvipsniff.tui.screens.base import SessionScreen
from cvipsniff.tui.session import CaptureSession, FlowSummary, Ingested
from cvipsniff.tui.widgets.table import VirtualTable
from cvipsniff.tui.widgets.tabs import ViewTabs


class FlowList(VirtualTable):
    """Flows by id (order of first appearance)."""

    DEFAULT_CSS = "FlowList { height: 1fr; }"

    def __init__(self, session: CaptureSession, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.ids: list[int] = []

    def reload(self) -> None:
        self.ids = sorted(self.session.flows)
        self.invalidate()

    def row_count(self) -> int:
        return len(self.ids)

    def flow(self, row: int) -> FlowSummary | None:
        if 0 <= row < len(self.ids):
            return self.session.flows.get(self.ids[row])
        return None

    def columns(self, width: int) -> Sequence[Column]:
        endpoint = 22 if width >= 100 else 18
        fixed = [("Flow", 5, True), ("Proto", 5, False), ("Client", endpoint, False),
                 ("Server", endpoint, False), ("Msgs", 6, True), ("Frame", 7, True),
                 ("Duration", 9, True)]
        return spread(width, fixed, "End", minimum=6)

    def cells(self, row: int, columns: Sequence[Column]) -> Sequence[str]:
        flow = self.flow(row)
        if flow is None:
            raise IndexError(row)
        duration = max(0, flow.last_ts_ns - flow.first_ts_ns) / 1e9
        values = [str(flow.id), flow.transport, endpoint_text(flow.client),
                  endpoint_text(flow.server), str(flow.messages), str(flow.first_frame),
                  f"{duration:.3f}", flow.closed or "open"]
        return [fit_endpoint(v, c.width) if c.title in ("Client", "Server")
                else fit(v, c.width, right=c.right)
                for v, c in zip(values, columns, strict=True)]


class FlowsScreen(SessionScreen):
    """All flows; follow one, or filter the list to it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "follow", "Follow stream"),
        Binding("f", "filter", "Filter messages"),
    ]

    DEFAULT_CSS = """
    FlowsScreen #flows-title { height: 1; background: $panel; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="flows-title")
        yield FlowList(self.session, id="flows")
        yield ViewTabs("flows")
        yield Footer()

    @property
    def table(self) -> FlowList:
        return self.query_one(FlowList)

    def on_mount(self) -> None:
        self.table.focus()

    def session_changed(self, ingested: Ingested | None) -> None:
        if ingested is not None and not ingested.flows_changed and \
                len(self.session.flows) == len(self.table.ids):
            return
        self.table.reload()
        self.table.move_cursor(self.table.cursor, announce=False)
        self.query_one("#flows-title", Static).update(
            f"Flows: {len(self.session.flows):,}   Enter: follow stream   f: filter messages"
            "   o/O: sort")

    @on(VirtualTable.Selected, "#flows")
    def action_follow(self) -> None:
        flow = self.table.flow(self.table.source(self.table.cursor))
        if flow is not None:
            self.cvipsniff.follow_flow(flow.id)

    async def action_filter(self) -> None:
        flow = self.table.flow(self.table.source(self.table.cursor))
        if flow is None:
            return
        flows = answer_flows(self.session, flow.id)
        if len(flows) == 1:
            await self.cvipsniff.filter_messages(f"flow == {flow.id}")
        else:  # a broadcast ping: its answers come back as conversations of their own
            await self.cvipsniff.filter_messages(
                "flow in {" + " ".join(str(f) for f in sorted(flows)) + "}")


def answer_flows(session: CaptureSession, flow_id: int) -> set[int]:
    """``flow_id`` and the flows of the answers to its requests (a broadcast ping is
    sent to 255.255.255.255 and answered from each device's own address)."""
    flows = {flow_id}
    store, transactions = session.store, session.transactions
    for number in range(1, len(transactions) + 1):
        txn = transactions.get(number)
        if txn is None or txn.flow != flow_id:
            continue
        for response in txn.responses:
            index = store.index_of_number(response)
            if index is not None:
                flows.add(store.flow(index))
    return flows
