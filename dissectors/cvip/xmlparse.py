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
  The first lxml error is reported as ``cvip.xml.malformed``, carrying each repair as a
  note (part of that one finding, not a finding of its own).

The result is a :class:`Tree`: lxml's own element tree, normalised so that a walk needs no
per-node type tests (every child is an element named by its local name, comments folded
into the text around them), plus, in full mode, the byte spans of its elements.
:mod:`dissectors.cvip.xmlrpc` walks it once into XML-RPC values.

Two modes, one result (``parse_body(..., offsets=...)``):

* **full** (``offsets=True``, the tree the TUI and ``read -V`` show): the tag-pairing pass
  runs on every body, so every value knows its bytes;
* **lean** (``offsets=False``, batch reports): a well-formed body within the caps costs one
  lxml parse and nothing else in Python; no per-tag pass, no spans. A body that lxml
  refuses, or that may exceed a cap, takes the full path (rare, and the result is the
  same either way), so both modes report exactly the same problems and values; only the
  offsets differ (``-1`` in lean mode).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from lxml import etree

from dissectors.base import Problem
from dissectors.cvip.tables.model import SPEC
from dissectors.xmlcodec import (
    WideLayout,
    narrow_view,
    neutralise_declared_encoding,
    wide_blank,
    wide_layout,
)

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
class Tree:
    """A parsed body: lxml's root element and, in full mode, where each element's bytes are.

    The tree is normalised (:func:`_normalise`): every child is an element whose ``tag`` is
    its local name, and comments and kept entity references are folded into the text
    around them. That lets the XML-RPC walk read ``tag``, ``text`` and ``tail`` and iterate
    children directly, with no per-node type test on the hot path.

    ``spans`` maps an element to the bytes of its tags (offsets into the body); ``None`` in
    lean mode, and elements whose tags could not be located are simply absent.
    """

    root: etree._Element
    spans: dict[etree._Element, Offsets] | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    size: int
    depth: int
    elements: int


@dataclass(slots=True)
class ParsedBody:
    root: Tree | None
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


# Where an element's bytes are, as the tag pairing (or the repair) found them:
# [tag, start, inner_start, inner_end, end], offsets into the body, -1 where unknown.
SpanRecord = list
# What a full-mode tree keeps per element: (offset, length) of the whole element, then of
# its content (a value's literal); offsets into the body, -1 (length 0) where unknown.
Offsets = tuple[int, int, int, int]


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


def _new_parser(recover: bool) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, recover=recover, remove_comments=False,
                           remove_pis=True, strip_cdata=True, collect_ids=False)


class _Parsers(threading.local):
    """One strict and one recovering parser per thread: an lxml parser must not be shared
    between threads (the TUI dissects on a capture thread and the UI thread), and making
    one per body costs more than the parse of a small body."""

    def __init__(self) -> None:
        self.strict = _new_parser(recover=False)
        self.recovering = _new_parser(recover=True)


_PARSERS = _Parsers()


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


def _readable(body: bytes, problems: list[Problem]) -> tuple[bytes, WideLayout | None]:
    """The body as lxml may safely read it: a declared encoding that is no ASCII-compatible
    text codec blanked (read as the spec's UTF-8, with a finding), then DTD and entity
    declarations blanked in whatever layout lxml will read (UTF-16/32 included)."""
    body, bad = neutralise_declared_encoding(body)
    if bad is not None:
        problems.append(Problem(
            "cvip.xml.malformed", "error",
            f"XML declaration names encoding {bad.name!r}, not an ASCII-compatible text "
            "encoding a byte-level reader can trust; read as UTF-8 (the spec's encoding)",
            XML_SECTION, bad.offset, bad.length))
    layout = wide_layout(body)
    return _blank_forbidden(body, problems, layout), layout


def _blank_forbidden(body: bytes, problems: list[Problem],
                     layout: WideLayout | None = None) -> bytes:
    """Replace DTD and entity declarations with blanks (same length, offsets kept). A
    UTF-16/32 body is searched through its one-byte-per-unit view, so a ``<!DOCTYPE``
    written in two or four bytes per character is found and blanked too."""
    view = body if layout is None else narrow_view(body, layout)
    m = _FORBIDDEN.search(view)
    if m is None:
        return body
    unit, base = (1, 0) if layout is None else (layout.unit, layout.start)
    blank = b" " if layout is None else wide_blank(layout)
    out = bytearray(body)
    while m is not None:
        end = _declaration_end(view, m.start())
        start, stop = base + m.start() * unit, base + end * unit
        out[start:stop] = blank * (end - m.start())
        problems.append(Problem(
            "cvip.xml.forbidden", "error",
            "DTD/entity declaration refused (not parsed, entities not expanded)",
            XML_SECTION, start, stop - start))
        m = _FORBIDDEN.search(view, end)
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


def parse_body(body: bytes, schema: Schema, limits: Limits, offsets: bool = True) -> ParsedBody:
    """Parse a CVIP body into a :class:`Tree`; never raises.

    ``offsets=False`` is lean mode (see the module docstring): the same tree and problems,
    without spans, and without any Python pass over the bytes for a well-formed body.
    """
    if not offsets:
        lean = _parse_lean(body, limits)
        if lean is not None:
            return lean
    problems: list[Problem] = []
    if len(body) > limits.size:
        problems.append(_size_problem(body, limits))
        return ParsedBody(None, problems, well_formed=False)
    body, layout = _readable(body, problems)
    spans, depth, count = _pair(body, limits)
    over = depth > limits.depth or count > limits.elements
    error: etree.XMLSyntaxError | None = None
    if not over:
        try:
            root = etree.fromstring(body, _PARSERS.strict)
        except etree.XMLSyntaxError as exc:
            # Kept without its traceback: that holds this frame, which holds the error
            # (a reference cycle keeping every frame of the call, and the message's
            # bytes, alive until a full collection).
            error = exc.with_traceback(None)
        except (ValueError, TypeError) as exc:  # e.g. an unsupported encoding declaration
            error = etree.XMLSyntaxError(str(exc), None, 1, 1)
        else:
            if layout is None:
                return ParsedBody(_tree(root, body, spans), problems, well_formed=True)
            # UTF-16/32: the byte-level tag pass saw nothing, so lxml measures the caps.
            if _within_caps(body, root, limits):
                return ParsedBody(_tree(root, body, None), problems, well_formed=True)
            problems.append(Problem(
                "cvip.xml.limits", "error",
                f"XML nesting or element count beyond the caps ({limits.depth} / "
                f"{limits.elements}); not shown", XML_SECTION, 0, len(body)))
            return ParsedBody(None, problems, well_formed=False)
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


def _size_problem(body: bytes, limits: Limits) -> Problem:
    return Problem("cvip.xml.limits", "error",
                   f"XML body of {len(body)} bytes is beyond the {limits.size}-byte cap; "
                   "not parsed", XML_SECTION, 0, len(body))


def _parse_lean(body: bytes, limits: Limits) -> ParsedBody | None:
    """The lean fast path: one lxml parse of a well-formed body within the caps, or None
    when the body needs the full path (malformed, or a cap may be exceeded). Whatever
    needs the full path gets exactly the full path's result, so the modes cannot differ.
    """
    if len(body) > limits.size:
        return ParsedBody(None, [_size_problem(body, limits)], well_formed=False)
    markup = b"<!" in body  # a declaration, a comment or CDATA: worth a closer look
    if markup and _FORBIDDEN.search(body) is not None:
        return None  # refused declarations: reported (with their bytes) by the full path
    if wide_layout(body) is not None or (body.startswith(b"<?xml") and
                                         neutralise_declared_encoding(body)[1] is not None):
        return None  # UTF-16/32 or a refused encoding: the full path reads it safely
    try:
        root = etree.fromstring(body, _PARSERS.strict)
    except (etree.XMLSyntaxError, ValueError, TypeError):
        return None  # the error and the repair are the full path's
    if not _within_caps(body, root, limits):
        return None
    if (markup and b"<!--" in body) or _may_be_namespaced(body):
        _normalise(root)
    return ParsedBody(Tree(root), [], well_formed=True)


def _within_caps(body: bytes, root: etree._Element, limits: Limits) -> bool:
    """Whether a parsed body is within the depth and element caps.

    Every element starts with a ``<`` that does not start an end tag, so that count bounds
    both the element count and the depth; it settles almost every body with two C-level
    counts. Bigger bodies are measured by lxml itself (XPath, in C)."""
    starts = body.count(b"<") - body.count(b"</")
    if starts <= limits.depth and starts <= limits.elements:
        return True
    return bool(_caps_xpath(limits.depth, limits.elements)(root))


@functools.lru_cache(maxsize=8)
def _caps_xpath(depth: int, elements: int) -> etree.XPath:
    """``true()`` when the tree holds at most ``elements`` elements none deeper than
    ``depth`` (the root is at depth 1). Compiled once per pair of caps."""
    deeper = "/" + "/".join(["*"] * (depth + 1))
    return etree.XPath(f"count(//*) <= {elements} and not({deeper})")


# ---- well-formed bodies: pair tags with lxml's elements ----------------------------------


def _pair(body: bytes, limits: Limits) -> tuple[list[SpanRecord] | None, int, int]:
    """Start-tag-ordered element spans of a (hopefully) well-formed body, with the maximum
    depth and element count. Spans are None if the tags do not balance. Stops as soon as a
    cap is exceeded (the caller then cuts the tree).

    The one linear pass of full mode: a regex finds the tags (in C) and the loop does the
    least per tag (which alternative matched, its span, the name of a start tag)."""
    spans: list[SpanRecord] = []
    stack: list[SpanRecord] = []
    names: list[bytes] = []  # the open elements' names as bytes, to pair end tags
    ok = True
    depth = 0
    max_depth, max_elements = limits.depth, limits.elements
    for m in _TAGS.finditer(body):
        kind = m.lastindex  # 3: start or empty tag, 1: end tag, None: comment, CDATA, PI
        if kind == 3:
            start, end = m.span()
            raw = m.group(2)
            if body[end - 2] == 0x2F:  # "/>": an empty element
                spans.append([raw.decode("ascii"), start, end, end, end])
                level = len(stack) + 1
            else:
                span = [raw.decode("ascii"), start, end, -1, -1]
                spans.append(span)
                stack.append(span)
                names.append(raw)
                level = len(stack)
            if level > depth:
                depth = level
            if depth > max_depth or len(spans) > max_elements:
                return None, depth, len(spans)
        elif kind == 1:
            if names and names[-1] == m.group(1):
                span = stack.pop()
                names.pop()
                span[3], span[4] = m.span()
            else:
                ok = False
    return (spans if ok and not stack else None), depth, len(spans)


# ---- the tree -----------------------------------------------------------------------------


def _tree(root: etree._Element, body: bytes, spans: list[SpanRecord] | None) -> Tree:
    """:class:`Tree` of a parsed (or repaired) body; ``spans`` in start-tag order, as the
    pairing pass found them (None: offsets not wanted or the tags did not balance)."""
    if _needs_normalising(body):
        _normalise(root)
    if spans is None:
        return Tree(root, None)
    return Tree(root, _span_map(root, spans))


def _needs_normalising(body: bytes) -> bool:
    """Whether the tree may hold comments or namespaced tags. A well-formed body without
    a DTD cannot hold entity references (an undefined entity is fatal); a repaired one
    may, so :func:`_repair` always normalises."""
    return b"<!--" in body or _may_be_namespaced(body)


def _may_be_namespaced(body: bytes) -> bool:
    """A tag has a namespace only under an ``xmlns`` declaration or with the predeclared
    ``xml:`` prefix."""
    return b"xmlns" in body or b"<xml:" in body


def _normalise(root: etree._Element) -> None:
    """Make the tree plain: comments, processing instructions and kept entity references
    are removed, their text (an entity reference reads as itself) and their tails joined to
    the text around them; namespaced tags become their local names. The text an element
    reads as is unchanged (its own text and its children's tails, in order).

    Linear in the size of the tree: the text pieces of one element are collected and
    joined once, never appended to a growing string per removed node (200,000 undefined
    entity references in one ``<methodName>`` used to take quadratic time)."""
    for node in list(root.iter()):
        tag = node.tag
        if not isinstance(tag, str):
            continue  # folded into its parent below
        if tag[0] == "{":
            node.tag = tag.rpartition("}")[2]
        if len(node) and not all(isinstance(kid.tag, str) for kid in node):
            _fold_children(node)


def _fold_children(parent: etree._Element) -> None:
    """Remove the comments, PIs and entity references among ``parent``'s children, their
    text joined (once) into the text before them."""
    slot: etree._Element | None = None  # whose text gathers the pieces: None for parent
    pieces: list[str] = [parent.text or ""]
    for kid in list(parent):
        if isinstance(kid.tag, str):
            _set_slot(parent, slot, pieces)
            slot, pieces = kid, [kid.tail or ""]
            continue
        if isinstance(kid, etree._Entity):
            pieces.append(kid.text or "")
        pieces.append(kid.tail or "")
        parent.remove(kid)
    _set_slot(parent, slot, pieces)


def _set_slot(parent: etree._Element, slot: etree._Element | None, pieces: list[str]) -> None:
    text = "".join(pieces) or None
    if slot is None:
        parent.text = text
    else:
        slot.tail = text


def _span_map(root: etree._Element,
              spans: list[SpanRecord]) -> dict[etree._Element, Offsets]:
    """Elements (in document order, the order of the spans) to their offsets, as long as
    the tags line up; from the first element that does not, the rest have none."""
    out: dict[etree._Element, Offsets] = {}
    for el, (name, start, inner_start, inner_end, end) in zip(root.iter(), spans,
                                                               strict=False):
        tag = el.tag
        if name != tag and name.rpartition(":")[2] != tag:
            break
        length = end - start
        if start < 0 or length < 0:
            start, length = -1, 0
        inner_length = inner_end - inner_start
        if inner_start < 0 or inner_length < 0:  # no content located: the whole element
            inner_start, inner_length = start, length
        out[el] = (start, length, inner_start, inner_length)
    return out


def element_text(el: etree._Element) -> str:
    """The text of an element of a normalised tree: its own text and its children's tails
    (what an XML-RPC leaf reads as, across a comment)."""
    if not len(el):
        return el.text or ""
    return (el.text or "") + "".join(kid.tail or "" for kid in el)


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

    def texts(self) -> tuple[str, ...]:
        out = [message + (f" (x{count})" if count > 1 else "")
               for message, _start, _end, count in self.items[:50]]
        if len(self.items) > 50:
            out.append(f"{len(self.items) - 50} more repairs not listed")
        return tuple("repair: " + text for text in out)

    def attach(self, problems: list[Problem]) -> None:
        """Hang the repair notes on the problem they explain: the body's malformation
        (or cut at a cap), which ``_parse`` reported just before repairing."""
        if not self.items:
            return
        for i in range(len(problems) - 1, -1, -1):
            if problems[i].rule in ("cvip.xml.malformed", "cvip.xml.limits"):
                problems[i].notes += self.texts()
                return
        problems.append(Problem("cvip.xml.malformed", "error", "body XML repaired",
                                XML_SECTION, notes=self.texts()))


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
        notes.attach(problems)
        problems.append(Problem("cvip.xmlrpc.structure", "error", "no XML element in the body",
                                XML_SECTION, 0, len(body)))
        return ParsedBody(None, problems, well_formed=False, repaired=True)
    text, spans = _serialize(body, doc.children[0], declaration, notes)
    notes.attach(problems)
    try:
        root = etree.fromstring(text, _PARSERS.recovering)
    except (etree.XMLSyntaxError, ValueError, TypeError):
        root = None
    if root is None:
        return ParsedBody(None, problems, well_formed=False, repaired=True)
    _normalise(root)  # the repaired text carries leaf text raw: entity references too
    return ParsedBody(Tree(root, _span_map(root, spans)), problems, well_formed=False,
                      repaired=True)


def _serialize(body: bytes, root: _RNode, declaration: bytes,
               notes: _Notes) -> tuple[bytes, list[SpanRecord]]:
    """The repaired tree as well-formed bytes (leaf text copied raw, so lxml decodes
    entities and character references) and the spans of its elements in order."""
    out = bytearray(declaration)
    spans: list[SpanRecord] = []
    work: list[tuple[_RNode, bool]] = [(root, False)]
    while work:
        node, closing = work.pop()
        if closing:
            out += b"</" + node.tag.encode("ascii") + b">"
            continue
        spans.append([node.tag, node.start, node.inner_start, node.inner_end, node.end])
        out += b"<" + node.tag.encode("ascii") + b">"
        if node.children:
            for s, e in node.texts:
                if any(b not in _BLANK for b in body[s:e]):
                    notes.add(f"text beside elements in <{node.tag}> dropped", s, e)
        elif node.texts:
            # Joined before the check: pieces around a dropped "<" can form a reference.
            text = b"".join(body[s:e] for s, e in node.texts)
            out += _valid_references(text, node.texts[0][0], notes)
        work.append((node, True))
        work.extend((child, False) for child in reversed(node.children))
    return bytes(out), spans


_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9A-Fa-f]{1,8})|([0-9]{1,10}));")


def _valid_references(text: bytes, start: int, notes: _Notes) -> bytes:
    """A leaf's text (as serialised; ``start``: where it began in the body) with character
    references to characters XML forbids (a surrogate such as ``&#xD800;``, NUL, beyond
    U+10FFFF) replaced by ``&#xFFFD;``: lxml's recovering parser would otherwise keep them
    as bytes no UTF-8 decoder accepts, and reading the text would raise."""
    if b"&#" not in text:
        return text

    def fix(m: re.Match[bytes]) -> bytes:
        code = int(m.group(1), 16) if m.group(1) is not None else int(m.group(2))
        if _xml_char(code):
            return m.group(0)
        notes.add(f"character reference {m.group(0).decode('ascii')} names no XML "
                  "character; read as U+FFFD", start + m.start(), start + m.end())
        return b"&#xFFFD;"

    return _CHAR_REF.sub(fix, text)


def _xml_char(code: int) -> bool:
    """Whether ``code`` is a character XML 1.0 allows (its production ``Char``)."""
    return (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF)
