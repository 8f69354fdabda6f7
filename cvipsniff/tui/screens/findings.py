"""The findings view: what is wrong, grouped by severity and rule like Wireshark's Expert
Information, each group with its spec section and requirement level. Enter on a finding
opens its message (or its first frame's message) in the list."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static, Tree
from textual.widgets.tree import TreeNode

from cvipsniff.analysis.rules import CATALOGUE
from cvipsniff.tui.screens.base import SessionScreen
from cvipsniff.tui.session import Ingested
from cvipsniff.tui.widgets.tabs import ViewTabs

SEVERITY_ORDER = ("error", "warning", "info")
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
MAX_LISTED = 1000  # findings listed per rule; the rest are counted


@dataclass(slots=True, frozen=True)
class FindingNode:
    """A group (``finding`` None) or one finding (its position in the store's list)."""

    rule: str
    finding: int | None = None


def group_findings(findings) -> dict[tuple[str, str], list[int]]:
    """(severity, rule) → positions in ``findings``, most severe first, then by rule."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for position, f in enumerate(findings):
        groups[(f.severity, f.rule)].append(position)

    def order(key: tuple[str, str]) -> tuple[int, str]:
        severity, rule = key
        rank = SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else 3
        return rank, rule

    return {key: groups[key] for key in sorted(groups, key=order)}


class FindingsTree(Tree[FindingNode]):
    DEFAULT_CSS = "FindingsTree { height: 1fr; background: $surface; }"

    def process_label(self, label: str | Text) -> Text:  # type: ignore[override]
        """Labels are data (messages quoting the capture), never Rich markup."""
        return Text(label) if isinstance(label, str) else label


class FindingsScreen(SessionScreen):
    """Findings by severity and rule."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open message"),
    ]

    DEFAULT_CSS = """
    FindingsScreen #findings-title { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown = -1  # how many findings the tree was built from
        self._groups: dict[tuple[str, str], list[int]] = {}
        self._pending: dict[int, tuple[str, str]] = {}  # node id → group to fill

    def compose(self) -> ComposeResult:
        yield Static(id="findings-title")
        tree = FindingsTree("Findings", id="findings")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree
        yield ViewTabs("findings")
        yield Footer()

    @property
    def tree(self) -> FindingsTree:
        return self.query_one(FindingsTree)

    def on_mount(self) -> None:
        self.tree.focus()

    def session_changed(self, ingested: Ingested | None) -> None:
        findings = self.session.store.findings
        if len(findings) == self._shown:
            return
        self._shown = len(findings)
        self._rebuild()

    def _rebuild(self) -> None:
        findings = self.session.store.findings
        tree = self.tree
        cursor = tree.cursor_node.data if tree.cursor_node is not None else None
        tree.clear()
        self._pending.clear()
        self._groups = group_findings(findings)
        counts = {s: 0 for s in SEVERITY_ORDER}
        for (severity, rule), positions in self._groups.items():
            counts[severity] = counts.get(severity, 0) + len(positions)
            catalogued = CATALOGUE.get(rule)
            label = Text(f"{severity:<7} ", style=_STYLE.get(severity, ""))
            label.append(f"{rule}", style="bold")
            label.append(f" ×{len(positions)}")
            if catalogued is not None:
                label.append(f" — {catalogued.description}")
                label.append(f"  [{catalogued.level}: {catalogued.spec}]", style="dim")
            elif findings[positions[0]].spec:
                label.append(f"  [{findings[positions[0]].spec}]", style="dim")
            node = tree.root.add(label, FindingNode(rule))
            self._pending[node.id] = (severity, rule)
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        self.query_one("#findings-title", Static).update(
            f"Findings: {len(findings):,}" + (f" ({summary})" if summary else "")
            + "   Enter: open message")
        if cursor is not None:
            for i, node in enumerate(tree.root.children):
                if node.data is not None and node.data.rule == cursor.rule:
                    tree.move_cursor_to_line(i)
                    break
        elif tree.root.children:
            tree.move_cursor_to_line(0)

    def _fill(self, node: TreeNode[FindingNode]) -> None:
        key = self._pending.pop(node.id, None)
        if key is None:
            return
        findings = self.session.store.findings
        positions = self._groups.get(key, [])
        for position in positions[:MAX_LISTED]:
            f = findings[position]
            where = f"frame {', '.join(str(n) for n in f.frames[:6])}" if f.frames else "capture"
            if len(f.frames) > 6:
                where += " …"
            text = Text(f"{where}: ", style="bold")
            text.append(f.message)
            node.add_leaf(text, FindingNode(f.rule, position))
        if len(positions) > MAX_LISTED:
            node.add_leaf(f"… {len(positions) - MAX_LISTED} more: filter the list with "
                          f'finding.rule == "{key[1]}"', FindingNode(key[1]))

    @on(Tree.NodeExpanded, "#findings")
    def _expanded(self, event: Tree.NodeExpanded[FindingNode]) -> None:
        self._fill(event.node)

    @on(Tree.NodeSelected, "#findings")
    async def _selected(self, event: Tree.NodeSelected[FindingNode]) -> None:
        await self._open(event.node)

    async def action_open(self) -> None:
        node = self.tree.cursor_node
        if node is not None:
            await self._open(node)

    async def _open(self, node: TreeNode[FindingNode]) -> None:
        data = node.data
        if data is None:
            return
        if data.finding is None:  # a group: Enter expands it (Tree does that itself)
            self._fill(node)
            return
        finding = self.session.store.findings[data.finding]
        index = self.session.index_of_finding(finding)
        if index is None:
            self.notify("This finding is about frames that carry no message "
                        f"({', '.join(map(str, finding.frames)) or 'whole capture'})",
                        severity="warning", timeout=4)
            return
        await self.cvipsniff.show_message(index)
