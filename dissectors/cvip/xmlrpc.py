"""XML-RPC documents of CVIPv2: the vocabulary (as a repair :class:`Schema`) and the value
model built from a parsed body.

Beyond the standard types the document uses ``<uint>`` throughout (a CVIP extension,
32-bit unsigned here) and once ``<iint>`` (a typo, read as ``<int>`` and reported). It
also leaves out ``<value>`` around a typed element in several examples
(``<param><struct>``) and ``<data>`` inside ``<array>``; both are decoded and reported as
structure problems, not refused. Struct members keep their order and repeated names
(the document's own listEvents example repeats ``id``).

Offsets in values are message offsets: the caller passes where the body starts.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from dissectors.base import Problem
from dissectors.cvip.tables.enums import TYPE_TYPOS
from dissectors.cvip.xmlparse import DOCUMENT, XML_SECTION, Node

SCALAR_TYPES = frozenset({"int", "i4", "i8", "uint", "double", "boolean", "string",
                          "dateTime.iso8601", "base64", "nil"})
CONTAINER_TYPES = frozenset({"struct", "array"})
TYPES = SCALAR_TYPES | CONTAINER_TYPES | frozenset(TYPE_TYPOS)
ROOTS = frozenset({"methodCall", "methodResponse", "AnalyticsData"})
WRAPPER_ROOT = "xml"  # the PTZ example wraps its methodCall in <xml>...</ xml >

TYPE_CLASS: dict[str, str] = {
    "int": "int", "i4": "int", "i8": "int", "uint": "int", "double": "double",
    "boolean": "boolean", "string": "string", "": "string", "dateTime.iso8601": "datetime",
    "base64": "base64", "nil": "nil", "struct": "struct", "array": "array",
}
INT_RANGES: dict[str, tuple[int, int]] = {
    "int": (-(2**31), 2**31 - 1), "i4": (-(2**31), 2**31 - 1), "i8": (-(2**63), 2**63 - 1),
    "uint": (0, 2**32 - 1),
}

_INT = re.compile(r"[+-]?\d+")
_ISO8601 = re.compile(r"\d{4}-?\d{2}-?\d{2}T\d{2}:?\d{2}:?\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
_CHILDREN: dict[str, frozenset[str]] = {
    DOCUMENT: ROOTS | {WRAPPER_ROOT},
    WRAPPER_ROOT: ROOTS,
    "methodCall": frozenset({"methodName", "params"}),
    "methodResponse": frozenset({"params", "fault", "methodName"}),
    "params": frozenset({"param"}),
    "param": TYPES | {"value"},
    "value": TYPES,
    "struct": frozenset({"member"}),
    "member": TYPES | {"name", "value"},
    "array": frozenset({"data", "value"}),
    "data": TYPES | {"value"},
    "fault": frozenset({"value", "struct"}),
    "AnalyticsData": frozenset({"DataSourceGUID", "DataTime", "params"}),
}
_LEAVES = SCALAR_TYPES | frozenset(TYPE_TYPOS) | {"methodName", "name", "DataSourceGUID",
                                                  "DataTime"}


class XmlRpcSchema:
    """Which XML-RPC element may hold which; drives the repair of malformed bodies."""

    def is_leaf(self, tag: str) -> bool:
        return tag in _LEAVES

    def allows(self, parent: str, child: str) -> bool:
        allowed = _CHILDREN.get(parent)
        return allowed is None or child in allowed

    def wrapper(self, parent: str, child: str) -> str | None:
        if parent == "struct" and child in ("name", "value"):
            return "member"
        return None


SCHEMA = XmlRpcSchema()


@dataclass(slots=True)
class Value:
    """One XML-RPC value. ``type`` is the element name as sent (``uint``, ``iint``, ``""``
    for an untyped ``<value>text</value>``); ``value`` the Python value (int, float, bool,
    str, None, ``list[Member]`` for a struct, ``list[Value]`` for an array); ``text`` the
    literal; ``offset``/``length`` the literal's bytes (the element's for containers)."""

    type: str
    value: Any
    text: str = ""
    offset: int = -1
    length: int = 0
    ok: bool = True

    @property
    def type_class(self) -> str:
        return TYPE_CLASS.get(TYPE_TYPOS.get(self.type, self.type), "unknown")

    def plain(self) -> Any:
        """A JSON-able rendering: structs as dicts (a repeated member name gets a ``#2``,
        ``#3``... suffix), arrays as lists, base64 as its text."""
        if self.type == "struct":
            out: dict[str, Any] = {}
            for m in self.value:
                key = m.name
                n = 2
                while key in out:
                    key = f"{m.name}#{n}"
                    n += 1
                out[key] = m.value.plain() if m.value is not None else None
            return out
        if self.type == "array":
            return [v.plain() for v in self.value]
        return self.value


@dataclass(slots=True)
class Member:
    name: str
    value: Value | None
    offset: int = -1  # of the name literal
    length: int = 0


@dataclass(slots=True)
class XmlRpcBody:
    """What the body says, before any CVIP meaning is attached."""

    root: str  # methodCall, methodResponse, AnalyticsData, or whatever the root was
    method_name: str | None = None
    method_offset: int = -1
    method_length: int = 0
    params: list[Value] = field(default_factory=list)
    fault: Value | None = None
    # AnalyticsData's own elements: name → (text, offset, length).
    extras: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class _Builder:
    def __init__(self, base: int) -> None:
        self.base = base
        self.problems: list[Problem] = []

    def at(self, span: tuple[int, int]) -> tuple[int, int]:
        offset, length = span
        return (offset + self.base, length) if offset >= 0 else (-1, 0)

    def report(self, rule: str, severity: str, message: str, node: Node | None) -> None:
        offset, length = self.at(node.span) if node is not None else (-1, 0)
        self.problems.append(Problem(rule, severity, message, XML_SECTION, offset,  # type: ignore[arg-type]
                                     length))

    # ---- values -------------------------------------------------------------------------

    def value_of(self, node: Node, context: str = "") -> Value:
        """A ``<value>`` element, or a bare typed element standing in for one."""
        if node.tag != "value":
            return self.typed(node, context)
        kids = node.children
        if not kids:
            offset, length = self.at(node.inner_span)
            return Value("", node.text, node.text, offset, length)
        if len(kids) > 1:
            self.report("cvip.xmlrpc.structure", "warning",
                        f"<value> holds {len(kids)} elements; the first is used", node)
        if node.text.strip():
            self.report("cvip.xmlrpc.structure", "warning",
                        "text beside the typed element in <value> ignored", node)
        return self.typed(kids[0], context)

    def typed(self, node: Node, context: str) -> Value:
        tag = node.tag
        if tag == "struct":
            return self.struct(node)
        if tag == "array":
            return self.array(node)
        offset, length = self.at(node.inner_span)
        text = node.text
        if node.children:
            self.report("cvip.xmlrpc.structure", "warning",
                        f"<{tag}> holds elements; only its text is used", node)
        canonical = TYPE_TYPOS.get(tag, tag)
        if canonical != tag:
            self.report("cvip.xmlrpc.value_type", "warning",
                        f"unknown type <{tag}> read as <{canonical}> (a typo)", node)
        if canonical not in SCALAR_TYPES:
            self.report("cvip.xmlrpc.value_type", "error",
                        f"unknown XML-RPC type <{tag}>; kept as text", node)
            return Value(tag, text, text, offset, length, ok=False)
        value, problem = _scalar(canonical, text)
        if problem and not (context == "valueType" and not text.strip()):
            # An empty typed element under "valueType" names a type (listParameters idiom).
            self.report("cvip.xmlrpc.value_type", "error", f"<{tag}> {problem}", node)
            return Value(tag, value, text, offset, length, ok=False)
        return Value(tag, value, text, offset, length)

    def struct(self, node: Node) -> Value:
        members: list[Member] = []
        for kid in node.children:
            if kid.tag != "member":
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<{kid.tag}> inside <struct> is not a <member>; ignored", kid)
                continue
            members.append(self.member(kid))
        offset, length = self.at(node.span)
        return Value("struct", members, "", offset, length)

    def member(self, node: Node) -> Member:
        name_node = next((k for k in node.children if k.tag == "name"), None)
        value_nodes = [k for k in node.children if k.tag != "name"]
        if name_node is None:
            self.report("cvip.xmlrpc.structure", "error", "<member> without <name>", node)
            name, (offset, length) = "", self.at(node.span)
        else:
            name = name_node.text.strip()
            offset, length = self.at(name_node.inner_span)
        value: Value | None = None
        if not value_nodes:
            self.report("cvip.xmlrpc.structure", "error",
                        f"<member> {name!r} without a <value>", node)
        else:
            first = value_nodes[0]
            if first.tag != "value":
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<{first.tag}> in <member> {name!r} without <value>", first)
            if len(value_nodes) > 1:
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<member> {name!r} holds {len(value_nodes)} values; the first "
                            "is used", node)
            value = self.value_of(first, name)
        return Member(name, value, offset, length)

    def array(self, node: Node) -> Value:
        items: list[Value] = []
        for kid in node.children:
            if kid.tag == "data":
                for item in kid.children:
                    items.append(self.item(item))
            else:
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<{kid.tag}> directly in <array>, without <data>", kid)
                items.append(self.item(kid))
        offset, length = self.at(node.span)
        return Value("array", items, "", offset, length)

    def item(self, node: Node) -> Value:
        if node.tag != "value":
            self.report("cvip.xmlrpc.structure", "warning",
                        f"<{node.tag}> in an array without <value>", node)
        return self.value_of(node)

    def params(self, node: Node) -> list[Value]:
        out: list[Value] = []
        for param in node.children:
            if param.tag != "param":
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<{param.tag}> inside <params> is not a <param>; ignored", param)
                continue
            if not param.children:
                self.report("cvip.xmlrpc.structure", "error", "<param> without a value", param)
                continue
            if len(param.children) > 1:
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<param> holds {len(param.children)} values; each is read as a "
                            "parameter of its own", param)
            for kid in param.children:
                if kid.tag != "value":
                    self.report("cvip.xmlrpc.structure", "warning",
                                f"<{kid.tag}> in <param> without <value>", kid)
                out.append(self.value_of(kid))
        return out


def _scalar(tag: str, text: str) -> tuple[Any, str | None]:
    """Decode a scalar literal; the value and what is wrong with it (None if nothing)."""
    if tag in INT_RANGES:
        stripped = text.strip()
        if not _INT.fullmatch(stripped):
            return None, f"{text!r} is not an integer"
        number = int(stripped)
        low, high = INT_RANGES[tag]
        if not low <= number <= high:
            return number, f"{number} is outside the {tag} range {low}..{high}"
        return number, None
    if tag == "boolean":
        stripped = text.strip()
        if stripped in ("0", "1"):
            return stripped == "1", None
        if stripped.lower() in ("true", "false"):
            return stripped.lower() == "true", f"{text!r}: XML-RPC booleans are 0 or 1"
        return None, f"{text!r} is not a boolean (0 or 1)"
    if tag == "double":
        try:
            return float(text.strip()), None
        except ValueError:
            return None, f"{text!r} is not a double"
    if tag == "dateTime.iso8601":
        if not _ISO8601.fullmatch(text.strip()):
            return text, f"{text!r} is not an ISO 8601 date-time"
        return text, None
    if tag == "base64":
        try:
            base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            return text, "is not valid base64"
        return text, None
    if tag == "nil":
        return None, None if not text.strip() else "<nil/> must be empty"
    return text, None


def decode(root: Node | None, base: int) -> XmlRpcBody:
    """The XML-RPC content of a parsed body; ``base`` is the body's offset in the message."""
    b = _Builder(base)
    if root is None:
        return XmlRpcBody("", problems=b.problems)
    if root.tag == WRAPPER_ROOT:
        inner = next((k for k in root.children if k.tag in ROOTS), None)
        b.report("cvip.xmlrpc.structure", "warning",
                 f"<{root.tag}> wraps the message" + ("" if inner else " but holds none"), root)
        if inner is None:
            return XmlRpcBody(root.tag, problems=b.problems)
        root = inner
    out = XmlRpcBody(root.tag)
    if root.tag not in ROOTS:
        b.report("cvip.xmlrpc.structure", "error",
                 f"root element <{root.tag}> is not methodCall, methodResponse or AnalyticsData",
                 root)
        out.problems = b.problems
        return out
    for kid in root.children:
        if kid.tag == "methodName":
            if out.method_name is None:
                out.method_name = kid.text.strip()
                out.method_offset, out.method_length = b.at(kid.inner_span)
        elif kid.tag == "params":
            out.params.extend(b.params(kid))
        elif kid.tag == "fault":
            value_node = kid.children[0] if kid.children else None
            if value_node is None:
                b.report("cvip.xmlrpc.structure", "error", "<fault> without a value", kid)
            else:
                out.fault = b.value_of(value_node)
        elif root.tag == "AnalyticsData" and kid.tag in ("DataSourceGUID", "DataTime"):
            offset, length = b.at(kid.inner_span)
            out.extras[kid.tag] = (kid.text.strip(), offset, length)
        else:
            b.report("cvip.xmlrpc.structure", "warning",
                     f"<{kid.tag}> is not expected in <{root.tag}>; ignored", kid)
    if root.tag == "methodCall" and out.method_name is None:
        b.report("cvip.xmlrpc.structure", "error", "<methodCall> without <methodName>", root)
    if root.tag == "methodCall" and out.method_name == "":
        b.report("cvip.xmlrpc.structure", "error", "empty <methodName>", root)
    if root.tag == "methodResponse" and out.fault is not None and out.params:
        b.report("cvip.xmlrpc.structure", "error",
                 "<methodResponse> holds both <fault> and <params>", root)
    out.problems = b.problems
    return out
