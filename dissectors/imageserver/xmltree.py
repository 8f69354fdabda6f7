"""XML of one ImageServer message: a safe well-formedness verdict and a tree with byte
offsets.

Two passes, each doing what it is good at:

* **lxml** gives the verdict. Its parser is configured so hostile documents cost nothing:
  entity resolution, DTD loading and network access off, libxml2's default size limits on.
  Documents that declare a DTD or entities are refused (reported) before anything else.
* **A small tolerant scanner** builds the tree. lxml reports only line numbers, but the hex
  pane needs the byte offset of every element and attribute, and for a malformed document
  (the document's own ``<widthhint>[number]<widthhint/>``) we still want to show what can
  be recovered rather than nothing. The scanner never expands entities other than the five
  predefined ones and character references, and stops at the depth / element caps.

Batch reports (lean mode, no field tree) read a plain, conformant document from lxml's
tree instead (:mod:`.xmlplain`); this scanner stays the reference it is tested against and
reads everything else, and any document with something to report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape as _html_unescape

from lxml import etree

from dissectors.base import Problem
from dissectors.xmlcodec import neutralise_declared_encoding, text_codec

from . import rules
from .options import DissectOptions
from .tables import section

_S_XML = section("ImageServer - requests and responses")

_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
_NAME = re.compile(rb"[A-Za-z_:][-\w.:]*")
_ATTRIBUTE = re.compile(rb"""\s*([^\s=/>"'<]+)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')""")
_END_TAG = re.compile(rb"</\s*([^\s>/]+)\s*>")
_REFERENCE = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|apos|quot);")
_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_HOSTILE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# Recovery notes kept per document: enough to locate the damage, not a flood.
_MAX_NOTES = 8


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


LXML_PARSER = _parser()


@dataclass(slots=True)
class XmlAttribute:
    name: str
    value: str
    offset: int  # first byte of the attribute (its name)
    length: int  # through the closing quote


@dataclass(slots=True)
class XmlNode:
    """An element with the byte span it was read from (``start`` is its ``<``, ``end`` one
    past the ``>`` of its end tag or of the self-closing tag)."""

    name: str
    start: int
    end: int = -1
    attributes: list[XmlAttribute] = field(default_factory=list)
    children: list[XmlNode] = field(default_factory=list)
    text: str = ""
    text_offset: int = -1
    text_length: int = 0
    closed: bool = False
    junk: str = ""  # start-tag content that is not an attribute (``<attributes [text]/>``)
    _pieces: list[tuple[int, int, str]] = field(default_factory=list, repr=False)

    def child_names(self) -> list[str]:
        return [c.name for c in self.children]

    def attribute(self, name: str) -> XmlAttribute | None:
        for a in self.attributes:
            if a.name == name:
                return a
        return None

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()


@dataclass(slots=True)
class XmlDocument:
    """``cut``: the bytes ended inside the root element (a message cut short, as by a gap
    or snaplen): elements left open are shown but not judged."""

    root: XmlNode | None
    problems: list[Problem]
    well_formed: bool
    forbidden: bool
    cut: bool = False


def skip_prolog_whitespace(data: bytes, pos: int = 0) -> int:
    """Index of the first byte after a UTF-8 BOM and leading whitespace (both tolerated
    before a message: see DECISIONS.md)."""
    if data.startswith(_BOM, pos):
        pos += len(_BOM)
    n = len(data)
    while pos < n and data[pos] in _WHITESPACE:
        pos += 1
    return pos


def _decode(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, errors="replace")


def unescape(text: str) -> str:
    """The five predefined entities and character references; nothing else is expanded."""
    if "&" not in text:
        return text
    return _REFERENCE.sub(lambda m: _html_unescape(m.group(0)), text)


def declared_encoding(data: bytes, start: int = 0) -> str | None:
    """The encoding name the XML declaration at ``start`` gives, if it has the form a
    byte-level reader can take (letters, digits, ``._-``), else None."""
    m = _ENCODING.match(data, start)
    return m.group(1).decode("ascii") if m else None


def _encoding_of(data: bytes, start: int) -> str:
    """The declared encoding if it is one a byte-level scanner can trust
    (:func:`dissectors.xmlcodec.text_codec`), else the spec's UTF-8."""
    declared = declared_encoding(data, start)
    if declared is not None:
        name = text_codec(declared)
        if name is not None:
            return name
    return "utf-8"


def parse(data: bytes, start: int, options: DissectOptions) -> XmlDocument:
    """Parse the XML message in ``data[start:]`` (``start`` after any BOM / whitespace).

    Offsets in the result index ``data``. Never raises.
    """
    problems: list[Problem] = []
    body, bad = neutralise_declared_encoding(data[start:])
    if bad is not None:
        problems.append(rules.problem(
            rules.XML_MALFORMED,
            f"XML declaration names encoding {bad.name!r}, not an ASCII-compatible text "
            "encoding; read as UTF-8 (the spec's encoding)",
            _S_XML, start + bad.offset, bad.length))
    forbidden = False
    hostile = _HOSTILE.search(body)
    if hostile is not None:
        forbidden = True
        problems.append(
            rules.problem(
                rules.XML_FORBIDDEN,
                "document declares a DTD or entities; refused (nothing from it is expanded)",
                _S_XML,
                start + hostile.start(),
                hostile.end() - hostile.start(),
            )
        )
    if len(body) > options.max_xml_bytes:
        problems.append(
            rules.problem(
                rules.XML_LIMITS,
                f"XML of {len(body)} bytes exceeds the {options.max_xml_bytes}-byte cap; "
                "only its beginning is shown",
                _S_XML,
                start,
                len(body),
            )
        )
        body = body[: options.max_xml_bytes]
        well_formed = False
    else:
        well_formed = _lxml_verdict(body, start, problems)
    scanner = _Scanner(data, start, start + len(body), options, recover=not well_formed)
    root = scanner.run()
    if scanner.cut and root is not None:
        for p in problems:
            if p.rule == rules.XML_MALFORMED:
                p.message = f"document ends inside <{root.name}> (cut short?); {p.message}"
                break
    if not well_formed:
        problems.extend(scanner.notes[:_MAX_NOTES])
    problems.extend(scanner.limits)
    return XmlDocument(root, problems, well_formed, forbidden, scanner.cut)


def _lxml_verdict(body: bytes, start: int, problems: list[Problem]) -> bool:
    try:
        etree.fromstring(body, LXML_PARSER)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (0, 0)
        offset = _offset_of(body, line, column)
        problems.append(
            rules.problem(
                rules.XML_MALFORMED,
                f"not well-formed: {exc.msg}",
                _S_XML,
                start + offset if offset >= 0 else -1,
                1 if offset >= 0 else 0,
            )
        )
        return False
    except (ValueError, MemoryError, RecursionError) as exc:  # lxml refusing input
        problems.append(rules.problem(rules.XML_MALFORMED, f"not parseable: {exc}", _S_XML))
        return False
    return True


def _offset_of(body: bytes, line: int, column: int) -> int:
    """Byte offset of lxml's (1-based line, 1-based column) position, or -1."""
    if line < 1:
        return -1
    pos = 0
    for _ in range(line - 1):
        nl = body.find(b"\n", pos)
        if nl < 0:
            return -1
        pos = nl + 1
    return min(pos + max(column - 1, 0), max(len(body) - 1, 0))


class _Scanner:
    """Tolerant element scanner over ``data[start:stop]``.

    With ``recover`` set (lxml said the document is malformed) it also applies the repairs
    the document's own examples need and notes each one; on a well-formed document it
    builds exactly the tree lxml would.
    """

    def __init__(self, data: bytes, start: int, stop: int, options: DissectOptions,
                 recover: bool) -> None:
        self.data = data
        self.pos = start
        self.stop = stop
        self.options = options
        self.recover = recover
        self.encoding = _encoding_of(data, start)
        self.stack: list[XmlNode] = []
        self.root: XmlNode | None = None
        self.count = 0
        self.notes: list[Problem] = []
        self.limits: list[Problem] = []
        self.cut = False

    def note(self, message: str, offset: int, length: int = 1) -> None:
        if len(self.notes) < _MAX_NOTES:
            self.notes.append(rules.problem(rules.XML_MALFORMED, message, _S_XML, offset,
                                            length))

    def run(self) -> XmlNode | None:
        data, stop = self.data, self.stop
        while self.pos < stop:
            lt = data.find(b"<", self.pos, stop)
            text_end = stop if lt < 0 else lt
            if text_end > self.pos:
                self._text(self.pos, text_end)
            if lt < 0:
                self.pos = stop
                break
            self.pos = lt
            if not self._markup(lt):
                break
        end = self.pos
        # Out of bytes with elements open: the document was cut short (lxml's verdict says
        # so once); a cap leaves elements open too, but that is no cut.
        self.cut = bool(self.stack) and not self.limits and end >= self.stop
        for node in reversed(self.stack):
            node.end = end
            if not self.cut:
                self.note(f"<{node.name}> is never closed", node.start, len(node.name) + 1)
            self._finish(node)
        self.stack.clear()
        return self.root

    # ---- pieces ---------------------------------------------------------------------------

    def _text(self, begin: int, end: int) -> None:
        raw = self.data[begin:end]
        if not self.stack:
            if raw.strip(_WHITESPACE):
                self.note("text outside the root element", begin, end - begin)
            return
        self.stack[-1]._pieces.append((begin, end, unescape(_decode(raw, self.encoding))))

    def _markup(self, lt: int) -> bool:
        """Handle the markup at ``lt``; False when the rest cannot be scanned."""
        data, stop = self.data, self.stop
        if data.startswith(b"<!--", lt):
            end = data.find(b"-->", lt + 4, stop)
            return self._skip_to(end, 3, "comment never closed", lt)
        if data.startswith(b"<![CDATA[", lt):
            end = data.find(b"]]>", lt + 9, stop)
            if end < 0:
                self.note("CDATA section never closed", lt, 9)
                return False
            if self.stack:
                text = _decode(data[lt + 9 : end], self.encoding)
                self.stack[-1]._pieces.append((lt, end + 3, text))
            self.pos = end + 3
            return True
        if data.startswith(b"<!", lt):
            return self._declaration(lt)
        if data.startswith(b"<?", lt):
            end = data.find(b"?>", lt + 2, stop)
            return self._skip_to(end, 2, "processing instruction never closed", lt)
        if data.startswith(b"</", lt):
            return self._end_tag(lt)
        return self._start_tag(lt)

    def _skip_to(self, end: int, length: int, message: str, lt: int) -> bool:
        if end < 0:
            self.note(message, lt, 2)
            return False
        self.pos = end + length
        return True

    def _declaration(self, lt: int) -> bool:
        """``<!DOCTYPE ...>`` with an optional internal subset: skipped (refused earlier)."""
        data, stop = self.data, self.stop
        gt = data.find(b">", lt, stop)
        bracket = data.find(b"[", lt, stop)
        if 0 <= bracket < gt or (gt < 0 <= bracket):
            close = data.find(b"]", bracket, stop)
            gt = data.find(b">", close, stop) if close >= 0 else -1
        return self._skip_to(gt, 1, "declaration never closed", lt)

    def _end_tag(self, lt: int) -> bool:
        m = _END_TAG.match(self.data, lt, self.stop)
        if m is None:
            gt = self.data.find(b">", lt, self.stop)
            self.note("malformed end tag", lt, 2)
            return self._skip_to(gt, 1, "end tag never closed", lt)
        name = m.group(1).decode(self.encoding, errors="replace")
        self.pos = m.end()
        names = [n.name for n in self.stack]
        if name not in names:
            self.note(f"</{name}> closes no open element", lt, m.end() - lt)
            return True
        while self.stack:
            node = self.stack.pop()
            node.end = m.end() if node.name == name else lt
            if node.name == name:
                node.closed = True
                self._finish(node)
                break
            self.note(f"<{node.name}> is closed by </{name}>", node.start, len(node.name) + 1)
            self._finish(node)
        return True

    def _start_tag(self, lt: int) -> bool:
        data, stop = self.data, self.stop
        m = _NAME.match(data, lt + 1, stop)
        if m is None:
            self.note("'<' that starts no tag", lt)
            if self.stack:
                self.stack[-1]._pieces.append((lt, lt + 1, "<"))
            self.pos = lt + 1
            return True
        name = m.group(0).decode(self.encoding, errors="replace")
        node = XmlNode(name=name, start=lt)
        pos = m.end()
        junk: list[str] = []
        self_closing = False
        while True:
            am = _ATTRIBUTE.match(data, pos, stop)
            if am is not None:
                value = am.group(2) if am.group(2) is not None else am.group(3)
                node.attributes.append(
                    XmlAttribute(
                        name=am.group(1).decode(self.encoding, errors="replace"),
                        value=unescape(_decode(value, self.encoding)),
                        offset=am.start(1),
                        length=am.end() - am.start(1),
                    )
                )
                pos = am.end()
                continue
            while pos < stop and data[pos] in _WHITESPACE:
                pos += 1
            if data.startswith(b"/>", pos):
                self_closing, pos = True, pos + 2
                break
            if data.startswith(b">", pos):
                pos += 1
                break
            # Not an attribute: keep the text up to the end of the tag, recovered.
            gt = data.find(b">", pos, stop)
            next_lt = data.find(b"<", pos, stop)
            if gt < 0 or (0 <= next_lt < gt):
                if next_lt >= 0:  # else the bytes simply end inside the tag: a cut
                    self.note(f"start tag <{name}> never closed", lt, pos - lt)
                self.pos = stop if next_lt < 0 else next_lt
                return self._open(node, lt) and next_lt >= 0
            chunk = data[pos:gt]
            self_closing = chunk.endswith(b"/")
            junk.append(_decode(chunk.rstrip(b"/"), self.encoding).strip())
            self.note(f"<{name}> has content that is not an attribute", pos, gt - pos)
            pos = gt + 1
            break
        node.junk = " ".join(j for j in junk if j)
        self.pos = pos
        if self_closing:
            top = self.stack[-1] if self.stack else None
            if (self.recover and top is not None and top.name == name and not top.children
                    and any(t.strip() for _, _, t in top._pieces)):
                # The document's <widthhint>[number]<widthhint/>: an end tag written as an
                # empty element. Read it as the end tag it was meant to be.
                self.note(f"<{name}/> used as the end tag of <{name}>", lt, pos - lt)
                self.stack.pop()
                top.end, top.closed = pos, True
                self._finish(top)
                return True
            node.end, node.closed = pos, True
            return self._add(node, lt, push=False)
        return self._open(node, lt)

    def _open(self, node: XmlNode, lt: int) -> bool:
        return self._add(node, lt, push=True)

    def _add(self, node: XmlNode, lt: int, push: bool) -> bool:
        self.count += 1
        if self.count > self.options.max_xml_elements:
            self.limits.append(rules.problem(
                rules.XML_LIMITS,
                f"more than {self.options.max_xml_elements} elements; the rest is not shown",
                _S_XML, lt, 1))
            return False
        if len(self.stack) >= self.options.max_xml_depth:
            self.limits.append(rules.problem(
                rules.XML_LIMITS,
                f"elements nested deeper than {self.options.max_xml_depth}; the rest is not "
                "shown", _S_XML, lt, 1))
            return False
        if self.stack:
            self.stack[-1].children.append(node)
        elif self.root is None:
            self.root = node
        else:
            self.note(f"second root element <{node.name}>", lt, len(node.name) + 1)
            return False
        if push:
            self.stack.append(node)
        else:
            self._finish(node)
        return True

    def _finish(self, node: XmlNode) -> None:
        """Join the node's character data; record the span of its trimmed text."""
        pieces = node._pieces
        node._pieces = []
        if not pieces:
            return
        text = "".join(t for _, _, t in pieces)
        stripped = text.strip()
        node.text = stripped
        if not stripped:
            return
        # Span: from the first piece holding non-blank text to the last one, trimmed.
        first = next(p for p in pieces if p[2].strip())
        last = next(p for p in reversed(pieces) if p[2].strip())
        begin, end = first[0], last[1]
        raw = self.data[begin:end]
        lead = len(raw) - len(raw.lstrip(_WHITESPACE))
        trail = len(raw) - len(raw.rstrip(_WHITESPACE))
        node.text_offset = begin + lead
        node.text_length = max(end - begin - lead - trail, 0)
