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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from dissectors.accel import xmlrpc_decoder
from dissectors.base import Problem
from dissectors.cvip.tables.enums import TYPE_TYPOS
from dissectors.cvip.xmlparse import DOCUMENT, XML_SECTION, Offsets, Tree, element_text

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
        kind = self.type
        if kind == "struct":
            out: dict[str, Any] = {}
            for m in self.value:
                key = m.name
                if key in out:
                    n = 2
                    while f"{m.name}#{n}" in out:
                        n += 1
                    key = f"{m.name}#{n}"
                v = m.value
                out[key] = None if v is None else v.plain() if v.type in CONTAINER_TYPES \
                    else v.value
            return out
        if kind == "array":
            return [v.plain() if v.type in CONTAINER_TYPES else v.value for v in self.value]
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


_NOWHERE = (-1, 0)


class _Builder:
    """One walk over a parsed body's elements (a normalised lxml tree: every child is an
    element with its local tag). Tags are read once per element and handed down; offsets
    are looked up only when the tree carries spans (full mode)."""

    def __init__(self, base: int, spans: dict[etree._Element, Offsets] | None) -> None:
        self.base = base
        self.spans = spans
        self.problems: list[Problem] = []

    def whole(self, el: etree._Element) -> tuple[int, int]:
        """Message offset and length of the whole element (``(-1, 0)`` if unknown)."""
        found = self.spans.get(el) if self.spans is not None else None
        if found is None or found[0] < 0:
            return _NOWHERE
        return (found[0] + self.base, found[1])

    def inner(self, el: etree._Element) -> tuple[int, int]:
        """Message offset and length of the element's content."""
        found = self.spans.get(el) if self.spans is not None else None
        if found is None or found[2] < 0:
            return _NOWHERE
        return (found[2] + self.base, found[3])

    def report(self, rule: str, severity: str, message: str,
               el: etree._Element | None) -> None:
        offset, length = self.whole(el) if el is not None else _NOWHERE
        self.problems.append(Problem(rule, severity, message, XML_SECTION, offset,  # type: ignore[arg-type]
                                     length))

    # ---- values -------------------------------------------------------------------------

    def value_of(self, el: etree._Element, tag: str, context: str = "") -> Value:
        """A ``<value>`` element, or a bare typed element standing in for one."""
        if tag != "value":
            return self.typed(el, tag, context)
        kids = el[:]
        if not kids:
            text = el.text or ""
            if self.spans is None:
                return Value("", text, text)
            offset, length = self.inner(el)
            return Value("", text, text, offset, length)
        first = kids[0]
        if len(kids) > 1:
            self.report("cvip.xmlrpc.structure", "warning",
                        f"<value> holds {len(kids)} elements; the first is used", el)
            beside = element_text(el)
        else:
            beside = (el.text or "") + (first.tail or "")
        if beside and not beside.isspace():
            self.report("cvip.xmlrpc.structure", "warning",
                        "text beside the typed element in <value> ignored", el)
        return self.typed(first, first.tag, context)

    def typed(self, el: etree._Element, tag: str, context: str) -> Value:
        """A typed element (``<int>``, ``<struct>``...)."""
        if tag == "struct":
            return self.struct(el)
        if tag == "array":
            return self.array(el)
        read = _PLAIN_SCALARS.get(tag)
        if read is not None and not len(el):  # the common case: nothing to report
            text = el.text or ""
            value, problem = read(text)
            if problem is None:
                if self.spans is None:
                    return Value(tag, value, text)
                offset, length = self.inner(el)
                return Value(tag, value, text, offset, length)
        return self.scalar(el, tag, context)

    def scalar(self, el: etree._Element, tag: str, context: str) -> Value:
        """A scalar (or unknown) typed element, with everything there is to report."""
        offset, length = self.inner(el)
        if len(el):
            text = element_text(el)
            self.report("cvip.xmlrpc.structure", "warning",
                        f"<{tag}> holds elements; only its text is used", el)
        else:
            text = el.text or ""
        canonical, read = _SCALARS.get(tag) or (tag, None)
        if canonical != tag:
            self.report("cvip.xmlrpc.value_type", "warning",
                        f"unknown type <{tag}> read as <{canonical}> (a typo)", el)
        if read is None:
            self.report("cvip.xmlrpc.value_type", "error",
                        f"unknown XML-RPC type <{tag}>; kept as text", el)
            return Value(tag, text, text, offset, length, ok=False)
        value, problem = read(text)
        if problem and not (context == "valueType" and not text.strip()):
            # An empty typed element under "valueType" names a type (listParameters idiom).
            self.report("cvip.xmlrpc.value_type", "error", f"<{tag}> {problem}", el)
            return Value(tag, value, text, offset, length, ok=False)
        return Value(tag, value, text, offset, length)

    def struct(self, el: etree._Element) -> Value:
        members: list[Member] = []
        for kid in el:
            tag = kid.tag
            if tag != "member":
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<{tag}> inside <struct> is not a <member>; ignored", kid)
                continue
            members.append(self.member(kid))
        offset, length = self.whole(el)
        return Value("struct", members, "", offset, length)

    def member(self, el: etree._Element) -> Member:
        kids = el[:]
        if len(kids) == 2:  # the usual <name/><value/>: no list of candidates to build
            name_el, value_el = kids
            value_tag = value_el.tag
            if name_el.tag == "name" and value_tag != "name":
                name = (element_text(name_el) if len(name_el) else name_el.text or "").strip()
                if value_tag != "value":
                    self.report("cvip.xmlrpc.structure", "warning",
                                f"<{value_tag}> in <member> {name!r} without <value>", value_el)
                value = self.value_of(value_el, value_tag, name)
                if self.spans is None:
                    return Member(name, value)
                return Member(name, value, *self.inner(name_el))
        name_el = None
        values: list[tuple[etree._Element, str]] = []
        for kid in kids:
            tag = kid.tag
            if tag != "name":
                values.append((kid, tag))
            elif name_el is None:
                name_el = kid
        if name_el is None:
            self.report("cvip.xmlrpc.structure", "error", "<member> without <name>", el)
            name, (offset, length) = "", self.whole(el)
        else:
            name = element_text(name_el).strip()
            offset, length = self.inner(name_el)
        first_value: Value | None = None
        if not values:
            self.report("cvip.xmlrpc.structure", "error",
                        f"<member> {name!r} without a <value>", el)
        else:
            first, tag = values[0]
            if tag != "value":
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<{tag}> in <member> {name!r} without <value>", first)
            if len(values) > 1:
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<member> {name!r} holds {len(values)} values; the first "
                            "is used", el)
            first_value = self.value_of(first, tag, name)
        return Member(name, first_value, offset, length)

    def array(self, el: etree._Element) -> Value:
        items: list[Value] = []
        for kid in el:
            tag = kid.tag
            if tag == "data":
                for item in kid:
                    items.append(self.item(item, item.tag))
            else:
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<{tag}> directly in <array>, without <data>", kid)
                items.append(self.item(kid, tag))
        offset, length = self.whole(el)
        return Value("array", items, "", offset, length)

    def item(self, el: etree._Element, tag: str) -> Value:
        if tag != "value":
            self.report("cvip.xmlrpc.structure", "warning",
                        f"<{tag}> in an array without <value>", el)
        return self.value_of(el, tag)

    def params(self, el: etree._Element) -> list[Value]:
        out: list[Value] = []
        for param in el:
            tag = param.tag
            if tag != "param":
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<{tag}> inside <params> is not a <param>; ignored", param)
                continue
            count = len(param)
            if not count:
                self.report("cvip.xmlrpc.structure", "error", "<param> without a value", param)
                continue
            if count > 1:
                self.report("cvip.xmlrpc.structure", "warning",
                            f"<param> holds {count} values; each is read as a "
                            "parameter of its own", param)
            for kid in param:
                kid_tag = kid.tag
                if kid_tag != "value":
                    self.report("cvip.xmlrpc.structure", "warning",
                                f"<{kid_tag}> in <param> without <value>", kid)
                out.append(self.value_of(kid, kid_tag))
        return out


# ---- scalar literals: one reader per type, looked up once per value ----------------------

Reading = tuple[Any, str | None]  # the value, and what is wrong with the literal (or None)


def _int_reader(tag: str) -> Callable[[str], Reading]:
    low, high = INT_RANGES[tag]
    fullmatch = _INT.fullmatch

    def read(text: str) -> Reading:
        stripped = text.strip()
        if not fullmatch(stripped):
            return None, f"{text!r} is not an integer"
        number = int(stripped)
        if not low <= number <= high:
            return number, f"{number} is outside the {tag} range {low}..{high}"
        return number, None

    return read


def _boolean(text: str) -> Reading:
    stripped = text.strip()
    if stripped in ("0", "1"):
        return stripped == "1", None
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true", f"{text!r}: XML-RPC booleans are 0 or 1"
    return None, f"{text!r} is not a boolean (0 or 1)"


def _double(text: str) -> Reading:
    try:
        return float(text.strip()), None
    except ValueError:
        return None, f"{text!r} is not a double"


def _datetime(text: str) -> Reading:
    if not _ISO8601.fullmatch(text.strip()):
        return text, f"{text!r} is not an ISO 8601 date-time"
    return text, None


def _base64(text: str) -> Reading:
    try:
        base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return text, "is not valid base64"
    return text, None


def _nil(text: str) -> Reading:
    return None, None if not text.strip() else "<nil/> must be empty"


def _string(text: str) -> Reading:
    return text, None


_READERS: dict[str, Callable[[str], Reading]] = {
    **{tag: _int_reader(tag) for tag in INT_RANGES},
    "boolean": _boolean, "double": _double, "dateTime.iso8601": _datetime,
    "base64": _base64, "nil": _nil, "string": _string,
}
# The standard scalar types (and <uint>) by element name: the fast path of a well-formed value.
_PLAIN_SCALARS = _READERS
# Element name as sent → (the type it is read as, its reader or None if that is no scalar
# type); the document's typos included.
_SCALARS: dict[str, tuple[str, Callable[[str], Reading] | None]] = {
    tag: (TYPE_TYPOS.get(tag, tag), _READERS.get(TYPE_TYPOS.get(tag, tag)))
    for tag in (*SCALAR_TYPES, *TYPE_TYPOS)
}


def decode(tree: Tree | None, base: int) -> XmlRpcBody:
    """The XML-RPC content of a parsed body; ``base`` is the body's offset in the message."""
    b = _Builder(base, tree.spans if tree is not None else None)
    if tree is None:
        return XmlRpcBody("", problems=b.problems)
    root = tree.root
    tag = root.tag
    if tag == WRAPPER_ROOT:
        inner = next((k for k in root if k.tag in ROOTS), None)
        b.report("cvip.xmlrpc.structure", "warning",
                 f"<{tag}> wraps the message" + ("" if inner is not None else " but holds none"),
                 root)
        if inner is None:
            return XmlRpcBody(tag, problems=b.problems)
        root, tag = inner, inner.tag
    out = XmlRpcBody(tag)
    if tag not in ROOTS:
        b.report("cvip.xmlrpc.structure", "error",
                 f"root element <{tag}> is not methodCall, methodResponse or AnalyticsData",
                 root)
        out.problems = b.problems
        return out
    for kid in root:
        kid_tag = kid.tag
        if kid_tag == "methodName":
            if out.method_name is None:
                out.method_name = element_text(kid).strip()
                out.method_offset, out.method_length = b.inner(kid)
        elif kid_tag == "params":
            out.params.extend(b.params(kid))
        elif kid_tag == "fault":
            if not len(kid):
                b.report("cvip.xmlrpc.structure", "error", "<fault> without a value", kid)
            else:
                value_el = kid[0]
                out.fault = b.value_of(value_el, value_el.tag)
        elif tag == "AnalyticsData" and kid_tag in ("DataSourceGUID", "DataTime"):
            offset, length = b.inner(kid)
            out.extras[kid_tag] = (element_text(kid).strip(), offset, length)
        else:
            b.report("cvip.xmlrpc.structure", "warning",
                     f"<{kid_tag}> is not expected in <{tag}>; ignored", kid)
    if tag == "methodCall" and out.method_name is None:
        b.report("cvip.xmlrpc.structure", "error", "<methodCall> without <methodName>", root)
    if tag == "methodCall" and out.method_name == "":
        b.report("cvip.xmlrpc.structure", "error", "empty <methodName>", root)
    if tag == "methodResponse" and out.fault is not None and out.params:
        b.report("cvip.xmlrpc.structure", "error",
                 "<methodResponse> holds both <fault> and <params>", root)
    out.problems = b.problems
    return out


# The compiled twin of lean parse + decode for plain bodies (None: take the lxml path).
decode_plain = xmlrpc_decoder(Value, Member, XmlRpcBody, _READERS)
