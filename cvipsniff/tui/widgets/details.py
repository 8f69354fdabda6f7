"""The details pane: the selected message's dissection as a tree.

Top to bottom, like Wireshark's packet details: where the message is (frames, flow,
stream offset), its transaction (with the other side one key away), the record's field
tree (header fields, XML-RPC values, ImageServer elements, headers and parts, decoded
enums) and the message's findings. Each node carries a :class:`NodeInfo` with the byte
range it was read from, which the hex pane highlights.

A hostile message can have tens of thousands of fields; building a widget node for each
would freeze the UI, so children are added when a node is first expanded and only the
first levels are expanded up front, within a budget of nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from cvipsniff.analysis.model import Finding
from cvipsniff.render import PROTOCOL_LABELS, endpoint_text
from cvipsniff.tui.session import CaptureSession
from dissectors.base import Field

EXPAND_BUDGET = 200  # nodes created up front when a message is shown
MAX_CHILDREN = 2000  # per node; the rest is summarised in one line
_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


@dataclass(slots=True, frozen=True)
class NodeInfo:
    """What a details node stands for: a field's filter ``key`` and ``value`` (what
    copying takes) and the bytes ``[offset, offset + length)`` of the message it was
    read from (``offset`` -1: synthesised, nothing to highlight). ``target`` is a store
    index to jump to (the request or response of a transaction node)."""

    key: str
    value: str
    offset: int = -1
    length: int = 0
    target: int | None = None


class DetailsTree(Tree[NodeInfo]):
    """The dissection tree of one message."""

    DEFAULT_CSS = """
    DetailsTree { background: $surface; scrollbar-size-vertical: 1; }
    """

    def __init__(self, session: CaptureSession, *, id: str | None = None) -> None:
        super().__init__("message", id=id)
        self.session = session
        self.show_root = False
        self.guide_depth = 2
        self.index: int | None = None
        self._pending: dict[int, tuple[Field, ...]] = {}  # node id → children not yet added

    def process_label(self, label: str | Text) -> Text:  # type: ignore[override]
        """Labels are data (field values, XML text), never Rich markup."""
        return Text(label) if isinstance(label, str) else label

    def show(self, index: int | None) -> None:
        """Show the message at store ``index`` (None: nothing)."""
        self.index = index
        self._pending.clear()
        self.clear()
        if index is None:
            return
        session = self.session
        store = session.store
        msg = store.message(index)
        rec = msg.record
        root = self.root
        proto = PROTOCOL_LABELS.get(rec.protocol, rec.protocol)
        frames = ", ".join(str(f) for f in msg.frames)
        root.set_label(f"Message {msg.number}")
        summary = root.add(
            f"Message {msg.number}: {proto} {rec.kind}, {msg.length} bytes, "
            f"frame{'s' if len(msg.frames) > 1 else ''} {frames}",
            NodeInfo("message", str(msg.number), 0, msg.length), expand=False)
        summary.add_leaf(f"Flow {msg.flow} ({msg.transport}): {endpoint_text(msg.src)} → "
                         f"{endpoint_text(msg.dst)}", NodeInfo("flow", str(msg.flow)))
        summary.add_leaf(f"Stream offset: {msg.offset}", NodeInfo("offset", str(msg.offset)))
        summary.add_leaf(f"Info: {rec.info}", NodeInfo("info", rec.info))
        self._add_transaction(index, root)
        budget = [EXPAND_BUDGET]
        for top in rec.fields:
            self._add_field(root, top, budget, depth=0)
        findings = store.findings_of(index)
        if findings:
            self._add_findings(root, findings)
        # Textual's Tree keeps its cursor line through clear() and moves (announcing the
        # highlighted node, which lights its bytes in the hex pane) only to another line:
        # reset first, so every message shown announces its first node, not just those
        # shown while the cursor was elsewhere (a race the snapshots caught on a busy
        # machine).
        self.move_cursor(None)
        self.move_cursor_to_line(0)

    # ---- building --------------------------------------------------------------------------

    def _add_transaction(self, index: int, root: TreeNode[NodeInfo]) -> None:
        session = self.session
        txn = session.transaction_at(index)
        if txn is None:
            return
        latency = f", latency {txn.latency_ms:.3f} ms" if txn.latency_ms is not None else ""
        method = f" {txn.method}" if txn.method else ""
        partner = session.partner(index)
        node = root.add(
            f"Transaction #{txn.number}{method} id={txn.id}: {txn.state}{latency}",
            NodeInfo("txn.id", str(txn.id), target=partner), expand=True)
        store = session.store
        number = store.number(index)
        if txn.request is not None and txn.request != number:
            req_index = store.index_of_number(txn.request)
            where = f" (frame {store.frame(req_index)})" if req_index is not None else ""
            node.add_leaf(f"Request: message {txn.request}{where}  [r]",
                          NodeInfo("txn.request", str(txn.request), target=req_index))
        answers = [n for n in txn.responses if n != number]
        for answer in answers[:20]:
            ans_index = store.index_of_number(answer)
            where = f" (frame {store.frame(ans_index)})" if ans_index is not None else ""
            node.add_leaf(f"Response: message {answer}{where}"
                          + ("  [r]" if answer == txn.response else ""),
                          NodeInfo("txn.response", str(answer), target=ans_index))
        if len(answers) > 20:
            node.add_leaf(f"… {len(answers) - 20} more responses",
                          NodeInfo("txn.response", ""))

    def _label(self, f: Field) -> Text:
        value = f.text()
        if value.startswith(f.label):  # a node whose summary already names it
            return Text(value, style="bold")
        text = Text(f"{f.label}: ", style="bold")
        text.append(value)
        return text

    def _add_field(self, parent: TreeNode[NodeInfo], f: Field, budget: list[int],
                   depth: int) -> None:
        info = NodeInfo(f.key, f.text(), f.offset, f.length)
        if not f.children:
            parent.add_leaf(self._label(f), info)
            budget[0] -= 1
            return
        expand = depth < 2 and budget[0] > 0
        node = parent.add(self._label(f), info, expand=expand)
        budget[0] -= 1
        if expand:
            self._add_children(node, f.children, budget, depth + 1)
        else:
            self._pending[node.id] = tuple(f.children)

    def _add_children(self, node: TreeNode[NodeInfo], children: list[Field] | tuple[Field, ...],
                      budget: list[int], depth: int) -> None:
        for child in children[:MAX_CHILDREN]:
            self._add_field(node, child, budget, depth)
        if len(children) > MAX_CHILDREN:
            node.add_leaf(f"… {len(children) - MAX_CHILDREN} more (use the display filter "
                          "or cvipsniff read -V)", NodeInfo("", ""))

    def _add_findings(self, root: TreeNode[NodeInfo], findings: list[Finding]) -> None:
        worst = max(findings, key=lambda f: ("info", "warning", "error").index(f.severity)
                    if f.severity in ("info", "warning", "error") else 0)
        label = Text(f"Findings ({len(findings)})", style=_SEVERITY_STYLE.get(worst.severity, ""))
        node = root.add(label, NodeInfo("finding", str(len(findings))), expand=True)
        rec = self.session.store.record(self.index) if self.index is not None else None
        problems = {(p.rule, p.message): p for p in rec.problems} if rec is not None else {}
        for f in findings:
            text = Text(f"[{f.severity}] ", style=_SEVERITY_STYLE.get(f.severity, ""))
            text.append(f"{f.rule}: {f.message}")
            if f.spec:
                text.append(f" ({f.spec})", style="dim")
            problem = problems.get((f.rule, f.message))
            node.add_leaf(text, NodeInfo(
                "finding.rule", f.rule,
                problem.offset if problem is not None else -1,
                problem.length if problem is not None else 0))
            for note in f.notes:  # how the finding's bytes were read: part of it
                node.add_leaf(Text(f"    {note}", style="dim"), NodeInfo("finding.note", note))

    # ---- lazy expansion --------------------------------------------------------------

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeInfo]) -> None:
        children = self._pending.pop(event.node.id, None)
        if children is not None:
            self._add_children(event.node, children, [EXPAND_BUDGET], depth=99)

    def subtree_text(self, node: TreeNode[NodeInfo] | None = None) -> str:
        """The selected node (or ``node``) and everything under it as indented text,
        children not yet built included (what Copy subtree takes)."""
        node = node if node is not None else self.cursor_node
        if node is None:
            return ""
        lines: list[str] = []
        self._node_lines(node, 0, lines)
        return "\n".join(lines)

    def _node_lines(self, node: TreeNode[NodeInfo], depth: int, lines: list[str]) -> None:
        lines.append("    " * depth + node.label.plain)
        for child in node.children:
            self._node_lines(child, depth + 1, lines)
        for f in self._pending.get(node.id, ()):
            _field_lines(f, depth + 1, lines)

    @property
    def selected_info(self) -> NodeInfo | None:
        node = self.cursor_node
        return node.data if node is not None else None


def _field_lines(f: Field, depth: int, lines: list[str]) -> None:
    lines.append("    " * depth + f"{f.label}: {f.text()}")
    for child in f.children:
        _field_lines(child, depth + 1, lines)
