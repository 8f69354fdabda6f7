"""The transactions view: every request with its answer, latency and state (Wireshark's
"response in frame" links as a table). Enter opens the request in the message list,
``r`` the response."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from cvipsniff.tui.columns import SHORT_PROTOCOLS, Column, fit, spread
from cvipsniff.tui.screens.base import SessionScreen
from cvipsniff.tui.session import CaptureSession, Ingested
from cvipsniff.tui.transactions import TransactionInfo
from cvipsniff.tui.widgets.table import VirtualTable
from cvipsniff.tui.widgets.tabs import ViewTabs

_STATE_CLASSES = {"unanswered": "transaction-list--problem",
                  "orphan": "transaction-list--problem",
                  "duplicate": "transaction-list--problem",
                  "event": "transaction-list--quiet", "oneway": "transaction-list--quiet",
                  # the capture lost a side: not the peers' doing
                  "answer_lost": "transaction-list--quiet",
                  "request_before_capture": "transaction-list--quiet"}


class TransactionList(VirtualTable):
    """One row per transaction, numbered as the pairer numbers them."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *VirtualTable.COMPONENT_CLASSES,
        "transaction-list--problem",
        "transaction-list--quiet",
    }

    DEFAULT_CSS = """
    TransactionList { height: 1fr; }
    TransactionList > .transaction-list--problem { background: $warning 25%; }
    TransactionList > .transaction-list--quiet { color: $text-muted; }
    """

    def __init__(self, session: CaptureSession, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session

    def row_count(self) -> int:
        return len(self.session.transactions)

    def transaction(self, row: int) -> TransactionInfo | None:
        return self.session.transactions.get(row + 1)

    def columns(self, width: int) -> Sequence[Column]:
        fixed = [("#", 5, True), ("Protocol", 9, False), ("Id", 5, True),
                 ("Req", 6, True), ("Resp", 8, True), ("Latency", 8, True),
                 ("State", 10, False)]
        if width >= 100:
            fixed.insert(3, ("Flow", 5, True))
        columns = spread(width, fixed, "Method", minimum=8)
        # The method reads best right after the protocol.
        method = columns.pop()
        columns.insert(2, method)
        return columns

    def _frame_of(self, number: int | None) -> str:
        if number is None:
            return ""
        index = self.session.store.index_of_number(number)
        return str(self.session.store.frame(index)) if index is not None else "?"

    def cells(self, row: int, columns: Sequence[Column]) -> Sequence[str]:
        txn = self.transaction(row)
        if txn is None:
            raise IndexError(row)
        response = self._frame_of(txn.response)
        if len(txn.responses) > 1:
            response += f"+{len(txn.responses) - 1}"
        values = {
            "#": str(txn.number),
            "Protocol": SHORT_PROTOCOLS.get(txn.protocol, txn.protocol),
            "Method": txn.method or ("ping" if txn.protocol == "cvip-ping" else ""),
            "Id": "" if txn.id is None else str(txn.id),
            "Flow": str(txn.flow),
            "Req": self._frame_of(txn.request),
            "Resp": response,
            "Latency": "" if txn.latency_ms is None else f"{txn.latency_ms:.3f}",
            "State": txn.state,
        }
        return [fit(values[c.title], c.width, right=c.right) for c in columns]

    def row_style(self, row: int) -> Style | None:
        txn = self.transaction(row)
        name = _STATE_CLASSES.get(txn.state) if txn is not None else None
        return self.get_component_rich_style(name) if name else None


class TransactionsScreen(SessionScreen):
    """All transactions; jump to a request or its response."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_request", "Request"),
        Binding("r", "open_response", "Response"),
    ]

    DEFAULT_CSS = """
    TransactionsScreen #txn-title { height: 1; background: $panel; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="txn-title")
        yield TransactionList(self.session, id="transactions")
        yield ViewTabs("transactions")
        yield Footer()

    @property
    def table(self) -> TransactionList:
        return self.query_one(TransactionList)

    def on_mount(self) -> None:
        self.table.focus()

    def session_changed(self, ingested: Ingested | None) -> None:
        table = self.table
        table.invalidate()
        table.move_cursor(table.cursor, announce=False)
        txns = self.session.transactions
        pending = f", {txns.pending:,} open" if txns.pending else ""
        self.query_one("#txn-title", Static).update(
            f"Transactions: {len(txns):,}{pending}   latency in ms   Enter: request   "
            "r: response   o/O: sort")

    @on(VirtualTable.Selected, "#transactions")
    async def action_open_request(self) -> None:
        await self._open(response=False)

    async def action_open_response(self) -> None:
        await self._open(response=True)

    async def _open(self, *, response: bool) -> None:
        txn = self.table.transaction(self.table.source(self.table.cursor))
        if txn is None:
            return
        number = txn.response if response else txn.request
        if number is None:
            self.notify("This transaction has no " + ("response" if response else "request"),
                        severity="warning", timeout=3)
            return
        index = self.session.store.index_of_number(number)
        if index is not None:
            await self.cvipsniff.show_message(index)
