"""Hardened, offset-keeping, tolerant XML parsing for CVIPv2 bodies.

lxml parses every body, configured so that nothing hostile can happen: no entity
resolution, no DTD loading, no network, libxml2's own size/depth protections on
(``huge_tree=False``). On top of that:

* DOCTYPE / ENTITY declarations are refused before lxml sees them (``cvip.xml.forbidden``):
  they are blanked out byte for byte (offsets stay true), so a billion-laughs body can
  never expand.
* Size, depth and element-count caps (``cvip.xml.limits``) bound memory and work; a
  100k-deep nesting is cut at the depth cap by an iterative pass, never by recursion.
* lxml gives line numbers, not byte offsets, so a small tokenizer pass pairs each element
  with the bytes of its tags; the hex pane can highlight the exact value a field was
  read from.
* A body that is not well-formed is *repaired* rather than dropped: a token pass that
  knows which element may contain which (a :class:`Schema`) rebuilds a balanced tree the
  way a reader of the document would (a ``<methodName>`` that should have been
  ``</methodName>``, ``</value></struct>`` in the wrong order, runaway closing tags,
  missing ones at the end) and lxml then parses the repaired text with ``recover=True``.
  The first lxml error is reported as ``cvip.xml.malformed`` and each repair as a note.

The result is a small tree of :class:`Node`\\ s (tag, decoded text, byte spans), which
:mod:`dissectors.cvip.xmlrpc` turns into XML-RPC values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from lxml import etree

from dissectors.base import Problem
from dissectors.cvip.tables.model import SPEC

XML_SECTION = SPEC + "Protocol Basics 4. XML-RPC"
DOCUMENT = "#document"

_TOKEN = re.compile(
    rb"<!--.*?-->"  # comment
    rb"|<!\[CDATA\[.*?\]\]>"  # CDATA section
    rb"|<\?.*?\?>"  # processing instruction / XML declaration
    rb"|</\s*(?P<end>[A-Za-z_:][-\w.:]*)\s*>"  # end tag (blanks tolerated, then reported)
    rb"|<(?P<start>[A-Za-z_:][-\w.:]*)(?:\s[^<>]*?)?(?P<empty>/?)>"  # start or empty tag
    rb"|<",  # a "<" that starts nothing
    re.S,
)
# The same grammar reduced to what pairing needs (tags; skipping what may hide a "<"):
# the hot path for well-formed bodies, one regex match per tag and no token objects.
_TAGS = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|</([A-Za-z_:][-\w.:]*)\s*>"
    rb"|<([A-Za-z_:][-\w.:]*)(?:\s[^<>]*?)?(/?)>",
    re.S,
)
_FORBIDDEN = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.I)
_BLANK = frozenset(b" \t\r\n")


class Schema(Protocol):
    """What the repair pass needs to know about the vocabulary."""

    def is_leaf(self, tag: str) -> bool:
        """Elements that hold only text (``methodName``, ``name``, ``int``...)."""
        ...

    def allows(self, parent: str, child: str) -> bool:
        """Whether ``child`` may appear inside ``parent`` (``#document`` for the root)."""
        ...

    def wrapper(self, parent: str, child: str) -> str | None:
        """An element to supply between ``parent`` and ``child`` when the document left
        it out (``<data>`` between ``<array>`` and ``<value>``), or None."""
        ...


@dataclass(slots=True)
class Node:
    """An element of a parsed body. Offsets are into the body bytes; ``-1`` when the
    element was supplied by the repair pass or could not be located."""

    tag: str
    text: str = ""
    start: int = -1
    inner_start: int = -1
    inner_end: int = -1
    end: int = -1
    children: list[Node] = field(default_factory=list)
    synthetic: bool = False

    @property
    def span(self) -> tuple[int, int]:
        """Where the whole element is."""
        if self.start < 0 or self.end < self.start:
            return (-1, 0)
        return (self.start, self.end - self.start)

    @property
    def inner_span(self) -> tuple[int, int]:
        """Where the element's content (a value's literal) is."""
        if self.inner_start < 0 or self.inner_end < self.inner_start:
            return self.span
        return (self.inner_start, self.inner_end - self.inner_start)


@dataclass(frozen=True, slots=True)
class Limits:
    size: int
    depth: int
    elements: int


@dataclass(slots=True)
class ParsedBody:
    root: Node | None
    problems: list[Problem]
    well_formed: bool
    repaired: bool = False


@dataclass(slots=True)
class _Tok:
    kind: str  # start, empty, end, text, cdata, lt, pi, comment
    start: int
    end: int
    name: str = ""
    odd: bool = False  # an end tag written with blanks ("</ xml >")


@dataclass(slots=True)
class _Span:
    """Where an element's tags are, in start-tag order."""

    tag: str
    start: int
    inner_start: int
    inner_end: int = -1
    end: int = -1
    synthetic: bool = False


def _tokens(body: bytes) -> Iterator[_Tok]:
    pos = 0
    for m in _TOKEN.finditer(body):
        if m.start() > pos:
            yield _Tok("text", pos, m.start())
        pos = m.end()
        raw = m.group(0)
        if m.group("start") is not None:
            name = m.group("start").decode("ascii")
            yield _Tok("empty" if m.group("empty") else "start", m.start(), m.end(), name)
        elif m.group("end") is not None:
            name = m.group("end").decode("ascii")
            yield _Tok("end", m.start(), m.end(), name,
                       odd=raw != b"</" + m.group("end") + b">")
        elif raw.startswith(b"<![CDATA["):
            yield _Tok("cdata", m.start(), m.end())
        elif raw.startswith(b"<?"):
            yield _Tok("pi", m.start(), m.end())
        elif raw.startswith(b"<!--"):
            yield _Tok("comment", m.start(), m.end())
        else:
            yield _Tok("lt", m.start(), m.end())
    if pos < len(body):
        yield _Tok("text", pos, len(body))


def _parser(recover: bool) -> etree.XMLParser:
    # A fresh parser per body: lxml parsers must not be shared between threads, and the
    # cost is small next to the parse.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, recover=recover, remove_comments=False,
                           remove_pis=True, strip_cdata=True, collect_ids=False)


def _line_offsets(body: bytes) -> list[int]:
    starts = [0]
    i = body.find(b"\n")
    while i >= 0:
        starts.append(i + 1)
        i = body.find(b"\n", i + 1)
    return starts


def _offset_of(body: bytes, line: int | None, column: int | None) -> int:
    if not line:
        return -1
    starts = _line_offsets(body)
    if line - 1 >= len(starts):
        return len(body)
    return min(len(body), starts[line - 1] + max(0, (column or 1) - 1))


def _blank_forbidden(body: bytes, problems: list[Problem]) -> bytes:
    """Replace DTD and entity declarations with blanks (same length, offsets kept)."""
    m = _FORBIDDEN.search(body)
    if m is None:
        return body
    out = bytearray(body)
    while m is not None:
        end = _declaration_end(body, m.start())
        out[m.start():end] = b" " * (end - m.start())
        problems.append(Problem(
            "cvip.xml.forbidden", "error",
            "DTD/entity declaration refused (not parsed, entities not expanded)",
            XML_SECTION, m.start(), end - m.start()))
        m = _FORBIDDEN.search(body, end)
    return bytes(out)


def _declaration_end(body: bytes, start: int) -> int:
    """End of a ``<!DOCTYPE ... [ ... ]>`` declaration, aware of quotes and the internal
    subset; the end of the body if it never closes."""
    depth = 0
    quote = 0
    i = start + 2
    n = len(body)
    while i < n:
        c = body[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):
            quote = c
        elif c == 0x5B:  # [
            depth += 1
        elif c == 0x5D:  # ]
            depth = max(0, depth - 1)
        elif c == 0x3E and depth == 0:  # >
            return i + 1
        i += 1
    return n


def parse_body(body: bytes, schema: Schema, limits: Limits) -> ParsedBody:
    """Parse a CVIP body into a :class:`Node` tree; never raises."""
    problems: list[Problem] = []
    if len(body) > limits.size:
        problems.append(Problem(
            "cvip.xml.limits", "error",
            f"XML body of {len(body)} bytes is beyond the {limits.size}-byte cap; not parsed",
            XML_SECTION, 0, len(body)))
        return ParsedBody(None, problems, well_formed=False)
    body = _blank_forbidden(body, problems)
    spans, depth, count = _pair(body, limits)
    over = depth > limits.depth or count > limits.elements
    error: etree.XMLSyntaxError | None = None
    if not over:
        try:
            root = etree.fromstring(body, _parser(recover=False))
        except etree.XMLSyntaxError as exc:
            error = exc
        except (ValueError, TypeError) as exc:  # e.g. an unsupported encoding declaration
            error = etree.XMLSyntaxError(str(exc), None, 1, 1)
        else:
            return ParsedBody(_to_nodes(root, spans), problems, well_formed=True)
    if over:
        problems.append(Problem(
            "cvip.xml.limits", "error",
            f"XML nesting depth {depth} / {count} elements beyond the caps "
            f"({limits.depth} / {limits.elements}); the tree is cut there",
            XML_SECTION, 0, len(body)))
    if error is not None:
        where = _offset_of(body, error.lineno, error.offset)
        msg = (error.msg or str(error)).splitlines()[0]
        problems.append(Problem(
            "cvip.xml.malformed", "error",
            f"body XML not well-formed: {msg} (line {error.lineno}); repaired as shown",
            XML_SECTION, where, 1 if 0 <= where < len(body) else 0))
    return _repair(body, _tokens(body), schema, limits, problems)


# ---- well-formed bodies: pair tags with lxml's elements ----------------------------------


def _pair(body: bytes, limits: Limits) -> tuple[list[_Span] | None, int, int]:
    """Start-tag-ordered element spans of a (hopefully) well-formed body, with the maximum
    depth and element count. Spans are None if the tags do not balance. Stops as soon as a
    cap is exceeded (the caller then cuts the tree)."""
    spans: list[_Span] = []
    stack: list[_Span] = []
    ok = True
    depth = 0
    max_depth, max_elements = limits.depth, limits.elements
    for m in _TAGS.finditer(body):
        name = m.group(2)
        if name is not None:
            if m.group(3):  # <empty/>
                end = m.end()
                spans.append(_Span(name.decode("ascii"), m.start(), end, end, end))
                if len(stack) + 1 > depth:
                    depth = len(stack) + 1
            else:
                span = _Span(name.decode("ascii"), m.start(), m.end())
                spans.append(span)
                stack.append(span)
                if len(stack) > depth:
                    depth = len(stack)
            if depth > max_depth or len(spans) > max_elements:
                return None, depth, len(spans)
            continue
        name = m.group(1)
        if name is None:
            continue  # comment, CDATA, processing instruction
        if stack and stack[-1].tag == name.decode("ascii"):
            span = stack.pop()
            span.inner_end, span.end = m.start(), m.end()
        else:
            ok = False
    return (spans if ok and not stack else None), depth, len(spans)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2] if tag[0] == "{" else tag


def _leaf_text(el: etree._Element) -> str:
    """The text of an element, across comments and kept entity references."""
    if not len(el):
        return el.text or ""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child, etree._Entity):
            parts.append(child.text or "")
        parts.append(child.tail or "")
    return "".join(parts)


def _to_nodes(root: etree._Element, spans: list[_Span] | None) -> Node:
    """Node tree from lxml's tree, with the spans of the tags when they line up.

    Elements are visited in document order (pre-order), the order of the spans; the walk
    is iterative: depth is capped, but recursion is never needed."""
    order = iter(spans or ())
    aligned = spans is not None
    top = Node(_local(root.tag))
    work: list[tuple[etree._Element, Node]] = [(root, top)]
    while work:
        el, node = work.pop()
        node.text = _leaf_text(el)
        if aligned:
            span = next(order, None)
            if span is None or (span.tag != node.tag and span.tag.rpartition(":")[2] != node.tag):
                aligned = False
            else:
                node.start, node.inner_start = span.start, span.inner_start
                node.inner_end, node.end = span.inner_end, span.end
                node.synthetic = span.synthetic
        pending: list[tuple[etree._Element, Node]] = []
        for kid in el:
            tag = kid.tag
            if isinstance(tag, str):
                child = Node(_local(tag))
                node.children.append(child)
                pending.append((kid, child))
        work.extend(reversed(pending))
    return top


# ---- malformed bodies: schema-aware repair ---------------------------------------------


@dataclass(slots=True)
class _RNode:
    tag: str
    start: int
    inner_start: int
    inner_end: int = -1
    end: int = -1
    children: list[_RNode] = field(default_factory=list)
    texts: list[tuple[int, int]] = field(default_factory=list)
    synthetic: bool = False


class _Notes:
    """Repair notes, consecutive repeats folded into one ("x287")."""

    def __init__(self) -> None:
        self.items: list[list] = []  # [message, offset, end, count]

    def add(self, message: str, start: int, end: int) -> None:
        last = self.items[-1] if self.items else None
        if last is not None and last[0] == message:
            last[2] = max(last[2], end)
            last[3] += 1
        else:
            self.items.append([message, start, end, 1])

    def problems(self) -> list[Problem]:
        out = []
        for message, start, end, count in self.items[:50]:
            text = message + (f" (x{count})" if count > 1 else "")
            out.append(Problem("cvip.xml.malformed", "info", "repair: " + text, XML_SECTION,
                               start, max(0, end - start)))
        if len(self.items) > 50:
            out.append(Problem("cvip.xml.malformed", "info",
                               f"repair: {len(self.items) - 50} more repairs not listed",
                               XML_SECTION))
        return out


def _repair(body: bytes, tokens: Iterator[_Tok], schema: Schema, limits: Limits,
            problems: list[Problem]) -> ParsedBody:
    notes = _Notes()
    doc = _RNode(DOCUMENT, 0, 0)
    stack: list[_RNode] = [doc]
    declaration: bytes = b""
    skipping = 0  # depth inside a second root element, which is dropped
    just_closed: list[str] = []  # elements the last end tag closed implicitly
    count = 0

    def close(node: _RNode, at: int, end: int | None = None) -> None:
        node.inner_end = at
        node.end = at if end is None else end

    def pop_to(index: int, at: int) -> None:
        while len(stack) > index:
            node = stack.pop()
            if not node.synthetic:
                notes.add(f"<{node.tag}> not closed; closed here", at, at)
            close(node, at)

    budget = 4 * limits.elements  # tokens looked at, so a hostile body costs bounded work
    for tok in tokens:
        budget -= 1
        if budget < 0:
            notes.add("token budget exhausted; the rest of the body is not shown", tok.start,
                      len(body))
            break
        kind = tok.kind
        if skipping:
            if kind == "start":
                skipping += 1
            elif kind == "end":
                skipping -= 1
            continue
        top = stack[-1]
        if kind in ("text", "cdata", "lt"):
            blank = kind == "text" and all(b in _BLANK for b in body[tok.start:tok.end])
            if blank:
                if top is not doc and (schema.is_leaf(top.tag) or top.tag == "value"):
                    top.texts.append((tok.start, tok.end))
                continue
            if kind != "lt" and top is not doc and (schema.is_leaf(top.tag)
                                                    or (top.tag == "value" and not top.children)):
                top.texts.append((tok.start, tok.end))
            else:
                snippet = body[tok.start:tok.end][:24].decode("utf-8", "replace").strip()
                where = f"inside <{top.tag}>" if top is not doc else "outside the root"
                notes.add(f"stray text {snippet!r} {where} dropped", tok.start, tok.end)
            continue
        if kind == "pi":
            if not declaration and count == 0 and body[tok.start:tok.start + 5] == b"<?xml":
                declaration = body[tok.start:tok.end]
            continue
        if kind == "comment":
            continue
        if kind == "end":
            if tok.odd:
                notes.add(f"end tag </{tok.name}> written with blanks", tok.start, tok.end)
            if tok.name != top.tag and tok.name in just_closed:
                # "</value></struct>": the end tag of an element the previous end tag had
                # to close implicitly; the two were written in the wrong order.
                just_closed.remove(tok.name)
                notes.add(f"</{tok.name}> comes after its parent's end tag; taken as "
                          "swapped", tok.start, tok.end)
                continue
            just_closed = []
            for index in range(len(stack) - 1, 0, -1):
                if stack[index].tag == tok.name:
                    just_closed = [n.tag for n in stack[index + 1:]]
                    pop_to(index + 1, tok.start)
                    close(stack.pop(), tok.start, tok.end)
                    break
            else:
                notes.add(f"</{tok.name}> closes nothing open; ignored", tok.start, tok.end)
            continue
        just_closed = []
        # A start or empty tag.
        name = tok.name
        if top is not doc and schema.is_leaf(top.tag):
            if name == top.tag and kind == "start":
                notes.add(f"<{name}> where </{name}> was meant", tok.start, tok.end)
                close(stack.pop(), tok.start, tok.end)
                continue
            notes.add(f"<{top.tag}> not closed before <{name}>", tok.start, tok.start)
            close(stack.pop(), tok.start)
            top = stack[-1]
        if top is doc and doc.children:
            notes.add(f"second root element <{name}> dropped", tok.start, tok.end)
            skipping = 1 if kind == "start" else 0
            continue
        if top is not doc and not schema.allows(top.tag, name):
            wrapper = schema.wrapper(top.tag, name)
            if wrapper is not None:
                notes.add(f"<{wrapper}> missing around <{name}>", tok.start, tok.start)
                synth = _RNode(wrapper, tok.start, tok.start, synthetic=True)
                top.children.append(synth)
                stack.append(synth)
                top = synth
            else:
                for index in range(len(stack) - 2, -1, -1):
                    if schema.allows(stack[index].tag, name):
                        pop_to(index + 1, tok.start)
                        top = stack[-1]
                        break
        if count >= limits.elements:
            notes.add("element cap reached; the rest of the body is not shown", tok.start,
                      len(body))
            break
        if len(stack) > limits.depth:
            notes.add("depth cap reached; the rest of the body is not shown", tok.start,
                      len(body))
            break
        node = _RNode(name, tok.start, tok.end)
        count += 1
        top.children.append(node)
        if kind == "empty":
            close(node, tok.end)
        else:
            stack.append(node)
    for node in reversed(stack[1:]):
        if not node.synthetic:
            notes.add(f"<{node.tag}> never closed", len(body), len(body))
        close(node, len(body))
    if not doc.children:
        problems.extend(notes.problems())
        problems.append(Problem("cvip.xmlrpc.structure", "error", "no XML element in the body",
                                XML_SECTION, 0, len(body)))
        return ParsedBody(None, problems, well_formed=False, repaired=True)
    text, spans = _serialize(body, doc.children[0], declaration, notes)
    problems.extend(notes.problems())
    try:
        root = etree.fromstring(text, _parser(recover=True))
    except (etree.XMLSyntaxError, ValueError, TypeError):
        root = None
    if root is None:
        return ParsedBody(None, problems, well_formed=False, repaired=True)
    return ParsedBody(_to_nodes(root, spans), problems, well_formed=False, repaired=True)


def _serialize(body: bytes, root: _RNode, declaration: bytes,
               notes: _Notes) -> tuple[bytes, list[_Span]]:
    """The repaired tree as well-formed bytes (leaf text copied raw, so lxml decodes
    entities and character references) and the spans of its elements in order."""
    out = bytearray(declaration)
    spans: list[_Span] = []
    work: list[tuple[_RNode, bool]] = [(root, False)]
    while work:
        node, closing = work.pop()
        if closing:
            out += b"</" + node.tag.encode("ascii") + b">"
            continue
        spans.append(_Span(node.tag, node.start, node.inner_start, node.inner_end, node.end,
                           node.synthetic))
        out += b"<" + node.tag.encode("ascii") + b">"
        if node.children:
            for s, e in node.texts:
                if any(b not in _BLANK for b in body[s:e]):
                    notes.add(f"text beside elements in <{node.tag}> dropped", s, e)
        else:
            for s, e in node.texts:
                out += body[s:e]
        work.append((node, True))
        work.extend((child, False) for child in reversed(node.children))
    return bytes(out), spans
