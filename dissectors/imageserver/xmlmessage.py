"""XML messages (``<methodcall>``, ``<methodresponse>``, ``<livepackage>``) → records.

The element tree is walked together with the layout from :mod:`.tables`: every element
becomes a :class:`~dissectors.base.Field` (attributes kept, values decoded by their form),
and the walk reports what the layout says is missing, unknown, repeated or malformed.
Message-level rules that relate two elements come from :mod:`.checks`.
"""

from __future__ import annotations

from typing import Any

from dissectors.base import Field, Problem, Record

from . import connectparam, rules, values
from . import fields as keys
from .checks import CHECKS
from .options import DissectOptions
from .tables import (
    ANSWER_COMMON,
    COMMON,
    LIVEPACKAGE,
    METHODS,
    ROOTS,
    S_INTRO,
    STATUS_ITEMS,
    Attribute,
    Element,
    Form,
    Shape,
    answer_for,
    is_adaptive_streaming_only,
    request_shape,
)
from .values import format_ms
from .xmlplain import parse_plain
from .xmltree import XmlAttribute, XmlDocument, XmlNode, parse

PROTOCOL = "imageserver"

# Enum members bound once: ``Form.X`` is a slow class-attribute lookup, done per element.
_CONTAINER = Form.CONTAINER
_EMPTY = Form.EMPTY
_FREE = Form.FREE
_CONNECTPARAM = Form.CONNECTPARAM
_SECRET = Form.SECRET


def base_attrs() -> dict[str, Any]:
    """The attrs every ImageServer record carries (``None`` where not applicable)."""
    return {"requestid": None, "methodname": None, "content_length": None,
            "body_kind": None, "parts": 0}


def _first(node: XmlNode, name: str) -> XmlNode | None:
    for child in node.children:
        if child.name == name:
            return child
    return None


# Layout tuples (static tables) → their entries by name, built once per tuple. Keyed by
# id with the tuple kept alongside, so an id is never taken for another tuple's.
_BY_NAME: dict[int, tuple[tuple[Element | Attribute, ...], dict[str, Any]]] = {}
_BY_NAME_MAX = 1024


def _by_name(specs: tuple[Element | Attribute, ...]) -> dict[str, Any]:
    """``{spec.name: spec}`` for a layout tuple (read only: it is shared)."""
    hit = _BY_NAME.get(id(specs))
    if hit is not None and hit[0] is specs:
        return hit[1]
    index = {spec.name: spec for spec in specs}
    if len(_BY_NAME) >= _BY_NAME_MAX:  # only static tables come here; a bound all the same
        _BY_NAME.clear()
    _BY_NAME[id(specs)] = (specs, index)
    return index


def _case_hint(name: str, known: list[str] | tuple[str, ...]) -> str:
    for k in known:
        if k.lower() == name.lower() and k != name:
            return f" (names are case-sensitive: <{k}>?)"
    return ""


class _Walker:
    """Walks elements against their layout, collecting fields and problems.

    In lean mode (``options.tree`` False) the walk judges exactly the same things but
    builds no fields: :meth:`element` returns None and the lists stay empty."""

    def __init__(self, data: bytes, options: DissectOptions, problems: list[Problem]) -> None:
        self.data = data
        self.options = options
        self.problems = problems
        self.tree = options.tree

    def report(self, rule: str, message: str, spec: str, offset: int, length: int,
               severity=None) -> None:
        self.problems.append(rules.problem(rule, message, spec, offset, length, severity))

    # ---- elements -------------------------------------------------------------------------

    def children(self, node: XmlNode, specs: tuple[Element, ...], path: tuple[str, ...],
                 sec: str, *, report_unknown: bool = True, choice: bool = False) -> list[Field]:
        if not node.children and not specs and not choice:
            return []  # nothing to judge (most elements: a leaf whose layout has none)
        out: list[Field] = []
        by_name = _by_name(specs)
        counts: dict[str, int] = {}
        for child in node.children:
            spec = by_name.get(child.name)
            if spec is None:
                if report_unknown and child.closed:  # an open element's name may be cut
                    self.report(rules.FIELD_UNKNOWN,
                                f"<{child.name}> is not defined inside <{node.name}>"
                                + _case_hint(child.name, list(by_name)),
                                sec, child.start, child.end - child.start)
                if self.tree:
                    out.append(self.generic(child))
                continue
            counts[child.name] = counts.get(child.name, 0) + 1
            if counts[child.name] == 2 and not spec.repeated:
                self.report(spec.rule or rules.FIELD_DUPLICATE,
                            f"<{child.name}> given more than once in <{node.name}>",
                            sec, child.start, child.end - child.start)
            # The path names fields only: lean mode builds none, so it keeps the parent's.
            field = self.element(child, spec, (*path, child.name) if self.tree else path, sec)
            if field is not None:
                out.append(field)
        if not node.closed:
            return out  # cut short: what is missing may just not have arrived
        for spec in specs:
            if spec.name in counts:
                continue
            if spec.required:
                rule = spec.rule or spec.missing_rule or rules.FIELD_MISSING
                self.report(rule, f"<{node.name}> has no <{spec.name}>", sec,
                            node.start, node.end - node.start, self.options.graded(rule))
            elif spec.recommended and self.options.report_recommended:
                self.report(rules.FIELD_MISSING,
                            f"<{node.name}> has no <{spec.name}> (recommended)", sec,
                            node.start, node.end - node.start, severity="info")
        if choice:
            present = [s.name for s in specs if s.name in counts]
            options = ", ".join(f"<{s.name}>" for s in specs)
            if not present:
                self.report(rules.FIELD_MISSING,
                            f"<{node.name}> must hold one of {options}", sec,
                            node.start, node.end - node.start)
            elif len(present) > 1:
                self.report(rules.FIELD_DUPLICATE,
                            f"<{node.name}> holds {', '.join(present)}; only one option "
                            "may be supplied", sec, node.start, node.end - node.start)
        return out

    def element(self, node: XmlNode, spec: Element, path: tuple[str, ...],
                sec: str) -> Field | None:
        """Judge an element against its layout; its field (None in lean mode)."""
        form = spec.form
        kids: list[Field] = []
        value: Any = None
        display = ""
        if form is _CONTAINER:
            self.no_text(node, sec)
            kids = self.children(node, spec.children, path, sec, choice=spec.choice)
        elif form is _EMPTY:
            self.no_text(node, sec)
            kids = self.children(node, (), path, sec)
            value, display = True, "present"
        elif form is _FREE:
            if self.tree:  # shown as it is, never judged
                value = display = node.text
                kids = [self.generic(c) for c in node.children]
        elif form is _CONNECTPARAM:
            if self.tree:  # its keys are judged by the connectparam check
                value, display, kids = self._connectparam(node)
        else:
            kids = self.children(node, (), path, sec)
            if form is _SECRET:
                value = node.text if self.options.reveal_secrets else connectparam.mask(node.text)
                display = value
            else:
                decoded = values.parse(form, node.text, self.options, values=spec.values,
                                       minimum=spec.minimum, maximum=spec.maximum,
                                       rule=spec.rule, describe=self.tree)
                value, display = decoded.value, decoded.display
                if decoded.problem is not None and node.closed:
                    rule, message, severity = decoded.problem
                    offset, length = self._text_span(node)
                    self.report(rule, f"<{node.name}>: {message}", sec, offset, length,
                                severity)
        kids[:0] = self.attributes(node, spec.attributes, path, sec)
        if not self.tree:
            return None
        field = Field(keys.key(*path), node.name, value, display, node.start,
                      node.end - node.start, kids)
        if path == ("status", "statusitem"):  # full mode only: lean returned above
            _describe_status_item(field)
        return field

    def attributes(self, node: XmlNode, specs: tuple[Attribute, ...], path: tuple[str, ...],
                   sec: str) -> list[Field]:
        if not specs and not node.attributes and not node.junk:
            return []  # nothing to judge or show
        out: list[Field] = []
        by_name = _by_name(specs)
        seen: set[str] = set()
        judge = node.closed  # a start tag cut short is shown, not judged
        for attr in node.attributes:
            spec = by_name.get(attr.name)
            if spec is None:
                if judge:
                    self.report(rules.FIELD_UNKNOWN,
                                f"attribute {attr.name!r} is not defined for <{node.name}>"
                                + _case_hint(attr.name, list(by_name)),
                                sec, attr.offset, attr.length)
                if self.tree:
                    out.append(_generic_attribute(attr))
                continue
            seen.add(attr.name)
            decoded = values.parse(spec.form, attr.value.strip(), self.options,
                                   values=spec.values, minimum=spec.minimum,
                                   maximum=spec.maximum, rule=spec.rule, attribute=True,
                                   describe=self.tree)
            if decoded.problem is not None and judge:
                rule, message, severity = decoded.problem
                self.report(rule, f"<{node.name} {attr.name}>: {message}", sec, attr.offset,
                            attr.length, severity)
            if self.tree:
                out.append(Field(keys.key(*path, attr.name), attr.name, decoded.value,
                                 decoded.display, attr.offset, attr.length))
        for spec in specs:
            if spec.required and spec.name not in seen and judge:
                self.report(spec.rule or rules.FIELD_MISSING,
                            f"<{node.name}> has no {spec.name} attribute", sec, node.start,
                            node.end - node.start)
        if node.junk and self.tree:
            out.append(Field(keys.ATTRIBUTE, "unparsed tag content", node.junk, None,
                             node.start, node.end - node.start))
        return out

    def generic(self, node: XmlNode) -> Field:
        """An element the layout does not cover: shown as it is, never judged."""
        kids = [_generic_attribute(a) for a in node.attributes]
        kids.extend(self.generic(c) for c in node.children)
        return Field(keys.ELEMENT, node.name, node.text, None, node.start,
                     node.end - node.start, kids)

    # ---- helpers --------------------------------------------------------------------------

    def no_text(self, node: XmlNode, sec: str) -> None:
        if node.text:
            offset, length = self._text_span(node)
            self.report(rules.XML_STRUCTURE, f"text inside <{node.name}>, which holds none",
                        sec, offset, length, severity="warning")

    def _text_span(self, node: XmlNode) -> tuple[int, int]:
        if node.text_offset >= 0:
            return node.text_offset, node.text_length
        return node.start, node.end - node.start

    def _connectparam(self, node: XmlNode) -> tuple[str, str, list[Field]]:
        if node.text_offset < 0:
            return "", "", []
        raw = self.data[node.text_offset: node.text_offset + node.text_length]
        params = connectparam.split(raw)
        reveal = self.options.reveal_secrets
        value = node.text if reveal else connectparam.masked_text(params)
        kids = connectparam.fields(params, node.text_offset, reveal, keys.CONNECTPARAM)
        return value, value, kids


def _generic_attribute(attr: XmlAttribute) -> Field:
    return Field(keys.ATTRIBUTE, attr.name, attr.value, None, attr.offset, attr.length)


def _describe_status_item(field: Field) -> None:
    """Name a status item from the live status item table."""
    by_label = {c.label: c for c in field.children}
    item_id, item_value = by_label.get("id"), by_label.get("value")
    if item_id is None:
        return
    try:
        item = STATUS_ITEMS.get(int(item_id.value))
    except (TypeError, ValueError):
        item = None
    name = item.name if item else "unknown status item"
    field.children.append(Field(keys.key("status", "statusitem", "name"), "name", name))
    shown = item_value.value if item_value is not None else "?"
    field.value = item_id.value
    field.display = f"{item_id.value} {name} = {shown}"


# ---- records -------------------------------------------------------------------------------


def dissect_xml(data: bytes, start: int, options: DissectOptions, *,
                fast: bool = True) -> Record:
    """One XML message; ``start`` is where its markup begins (after BOM / whitespace).

    In lean mode a plain document is read from lxml's tree (:mod:`.xmlplain`, no
    offsets); its record stands only if nothing was reported, else the message is read
    again through the scanner, whose offsets every problem needs. ``fast=False`` always
    takes the scanner (the reference the fast path is tested against)."""
    if fast and not options.tree:
        plain = parse_plain(data, start, options)
        if plain is not None:
            record = _record(data, start, options, plain)
            if not record.problems:
                return record
    return _record(data, start, options, parse(data, start, options))


def _record(data: bytes, start: int, options: DissectOptions, doc: XmlDocument) -> Record:
    problems = list(doc.problems)
    suffix = " [incomplete]" if doc.cut else " [malformed]" if not doc.well_formed else ""
    root = doc.root
    attrs = base_attrs()
    if root is None:
        problems.append(rules.problem(rules.XML_STRUCTURE, "no root element", S_INTRO,
                                      start, len(data) - start))
        return Record(PROTOCOL, "unknown", "XML without an element",
                      [Field(keys.KIND, "Kind", "unknown")] if options.tree else [], problems,
                      attrs=attrs)
    walker = _Walker(data, options, problems)
    kind = ROOTS.get(root.name)
    if kind is None:
        problems.append(rules.problem(
            rules.XML_STRUCTURE,
            f"root element <{root.name}> is not methodcall, methodresponse or livepackage"
            + _case_hint(root.name, tuple(ROOTS)),
            S_INTRO, root.start, root.end - root.start))
        fields = [Field(keys.KIND, "Kind", "unknown"), walker.generic(root)] \
            if options.tree else []
        info = f"<{root.name}> (not an ImageServer message)"
        return Record(PROTOCOL, "unknown", info, fields, problems, attrs=attrs)
    if kind == "livepackage":
        return _livepackage(root, walker, problems, suffix, attrs)
    return _method_message(root, kind, data, walker, problems, suffix, attrs, options)


def _method_message(root: XmlNode, kind: str, data: bytes, walker: _Walker,
                    problems: list[Problem], suffix: str, attrs: dict[str, Any],
                    options: DissectOptions) -> Record:
    method_node = _first(root, "methodname")
    method = method_node.text if method_node is not None and method_node.text else None
    spec = METHODS.get(method) if method is not None else None
    names = root.child_names()
    if spec is None:
        if method is not None:
            problems.append(rules.problem(
                rules.METHOD_UNKNOWN,
                f"method {method!r} is not in the document" + _case_hint(method, tuple(METHODS)),
                S_INTRO, method_node.start, method_node.end - method_node.start))
        shape = Shape(S_INTRO, COMMON if kind == "request" else ANSWER_COMMON)
    elif kind == "request":
        shape = request_shape(spec, names)
    else:
        shape = spec.response or Shape(spec.response_section, ANSWER_COMMON)
    walker.no_text(root, shape.section)
    children = walker.children(root, shape.elements, (), shape.section,
                               report_unknown=spec is not None)
    if spec is not None and root.closed:
        for name in spec.checks:
            problems.extend(CHECKS[name](root, kind, data, options))

    txn = _requestid(root)
    attrs.update(requestid=txn, methodname=method)
    info = f"{method or '?'} {kind}"
    if txn is not None:
        info += f" id={txn}"
    if kind == "request":
        if method in ("connect", "connectupdate"):
            # The camera this connection is about: what a connectupdate must repeat.
            attrs["connectparam_id"] = connectparam.param_id(root, data)
        answer = answer_for(method, names)
        attrs["answered_by"] = str(answer) if answer is not None else None
        if method == "live":
            adaptive = is_adaptive_streaming_only(names)
            attrs["adaptive_only"] = adaptive
            if adaptive:
                info += " (adaptive streaming only)"
        if spec is not None and len(spec.requests) > 1 and shape.label:
            attrs["variant"] = shape.label
    else:
        connected = _first(root, "connected")
        if connected is not None and method in ("connect", "connectupdate"):
            attrs["connected"] = {"yes": True, "no": False}.get(connected.text.lower())
            info += f" connected={connected.text}"
        alarms = _first(root, "alarms")
        if alarms is not None and method == "alarms":
            count = sum(1 for c in alarms.children if c.name == "alarm")
            attrs["alarms"] = count
            info += f" {count} alarms"
    info += suffix
    fields: list[Field] = []
    if walker.tree:
        fields = [Field(keys.KIND, "Kind", kind),
                  Field(keys.key(root.name), root.name, method,
                        f"{root.name}: {method or '?'}", root.start, root.end - root.start,
                        children)]
    return Record(PROTOCOL, kind, info, fields, problems, txn=txn,
                  is_response=kind == "response", method=method, attrs=attrs)


def _requestid(root: XmlNode) -> int | str | None:
    node = _first(root, "requestid")
    if node is None or not node.text:
        return None
    decoded = values.parse_number(node.text)
    return decoded.value if decoded.problem is None else node.text


def _livepackage(root: XmlNode, walker: _Walker, problems: list[Problem], suffix: str,
                 attrs: dict[str, Any]) -> Record:
    walker.no_text(root, LIVEPACKAGE.section)
    children = walker.children(root, LIVEPACKAGE.elements, (), LIVEPACKAGE.section)
    status = _first(root, "status")
    items: list[dict[str, Any]] = []
    statustime: int | None = None
    if status is not None:
        times = [c for c in status.children if c.name == "statustime"]
        if times:
            decoded = values.parse_number(times[0].text)
            statustime = decoded.value if decoded.problem is None else None
        for c in status.children:
            if c.name != "statusitem":
                continue
            item_id, item_value = c.attribute("id"), c.attribute("value")
            items.append({"id": item_id.value if item_id else None,
                          "value": item_value.value if item_value else None})
    attrs.update(statustime=statustime, status_items=items)
    when = format_ms(statustime) if statustime is not None else None
    info = f"livepackage statustime={when or '?'} {len(items)} items"
    info += suffix
    fields: list[Field] = []
    if walker.tree:
        fields = [Field(keys.KIND, "Kind", "livepackage"),
                  Field(keys.key("livepackage"), "livepackage", len(items),
                        f"livepackage: {len(items)} status items", root.start,
                        root.end - root.start, children)]
    return Record(PROTOCOL, "livepackage", info, fields, problems, is_response=True,
                  attrs=attrs)

