"""The fast path for XML messages in lean mode: a *plain* well-formed document's tree
built by lxml (C) instead of the byte scanner of :mod:`.xmltree`.

Why both exist: the scanner records the byte offset of every element, attribute and text
(the hex pane, and the offset of every problem) and recovers what it can from a broken
document; lxml reports neither. But batch reports run the dissector in lean mode
(``DissectOptions.tree`` False), where no field is shown, and most messages there are
conformant: nothing is reported, so no offset is ever read. For those, lxml's tree gives
the same names, texts and attribute values in a fraction of the time.

The contract that keeps the two paths byte-identical (tested message by message against
the scanner over every bundled capture and generated documents in
``tests/test_imageserver_lxml_equivalence.py``):

* :func:`parse_plain` answers only for a document where lxml and the scanner cannot
  differ in what they read: well-formed (lxml's verdict), ASCII, declared (if at all) as
  UTF-8 or ASCII, no character references (``&#``: the scanner expands them with HTML
  rules; the five predefined entities read alike, anything else is not well-formed), no
  comments, CDATA, DTDs or processing instructions inside it (``<!``, ``<?``), no
  namespaces, no carriage return inside it (XML folds ``\\r\\n``), no tab, newline or
  carriage return inside an attribute value (XML turns each into a space), within the
  element and depth caps. Anything else returns None and goes to the scanner.
* Its nodes carry no offsets (-1), except the text span of a ``<connectparam>``, whose
  check and camera id read the element's raw bytes: located by its tags when it is the
  only one, has no attributes and holds only text (else the scanner reads the document).
* The caller (:func:`.xmlmessage.dissect_xml`) keeps the record only when it holds no
  problem at all; otherwise it dissects the message again through the scanner, so every
  reported offset is the scanner's (offsets are computed lazily: only when something is
  reported).
"""

from __future__ import annotations

import re

from lxml import etree

from .options import DissectOptions
from .xmltree import LXML_PARSER, XmlAttribute, XmlDocument, XmlNode, declared_encoding

# What the scanner and lxml may read differently (see the module docstring).
_BLOCKERS = (b"&#", b"<!", b"xmlns", b"\x00")
_CONNECTPARAM = b"<connectparam"
_TRAILING = b" \t\r\n"
# A quoted value holding a tab or line break after an ``=``: where XML's attribute-value
# normalisation may have changed what the scanner reads (text holding ``="`` only makes
# this say yes where it need not: then the scanner reads the document, as it may).
_RAW_BREAK_IN_VALUE = re.compile(rb"""=\s*(?:"[^"]*[\t\n\r]|'[^']*[\t\n\r])""")
# Encodings read alike by Python's codec and libxml2 on ASCII bytes.
_PLAIN_ENCODINGS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


def is_plain(body: bytes, options: DissectOptions) -> bool:
    """Whether ``body`` (the bytes from the first ``<``) is one the lxml tree can stand
    for the scanner's, before the parse (the rest is checked while the tree is built)."""
    if len(body) > options.max_xml_bytes or not body.isascii():
        return False
    for blocker in _BLOCKERS:
        if blocker in body:
            return False
    if body.find(b"<?", 1) >= 0 or b"\r" in body.rstrip(_TRAILING):
        return False
    if body.startswith(b"<?xml"):
        end = body.find(b"?>")
        if end < 0:
            return False
        if b"encoding" in body[:end]:
            name = declared_encoding(body)
            return name is not None and name.lower() in _PLAIN_ENCODINGS
    return True


def parse_plain(data: bytes, start: int, options: DissectOptions) -> XmlDocument | None:
    """The document in ``data[start:]`` built from lxml's tree, or None when it is not
    plain (then :func:`.xmltree.parse` must read it). Never raises."""
    body = data[start:]
    if not is_plain(body, options):
        return None
    try:
        root = etree.fromstring(body, LXML_PARSER)
    except (etree.XMLSyntaxError, ValueError, MemoryError, RecursionError):
        return None
    builder = _Builder(options)
    node = builder.node(root, 1)
    if node is None or (builder.spaced and _RAW_BREAK_IN_VALUE.search(body)):
        return None
    if builder.connectparam is not None and not _locate_text(
            builder.connectparam, data, start, _CONNECTPARAM):
        return None
    return XmlDocument(node, [], True, False)


def _locate_text(node: XmlNode, data: bytes, start: int, tag: bytes) -> bool:
    """Give ``node`` (the one element whose start tag is ``tag``, no attributes, no
    children) the text span the scanner would (the trimmed bytes between its tags); False
    where that is not certain (the tag's bytes found twice)."""
    first = data.find(tag, start)
    if node.attributes or node.children or data.find(tag, first + 1) >= 0:
        return False
    if not node.text:
        return True  # blank or empty: no span, as the scanner leaves it
    begin = data.find(b">", first) + 1
    end = data.find(b"</", begin)
    raw = data[begin:end]
    lead = len(raw) - len(raw.lstrip(_TRAILING))
    node.text_offset = begin + lead
    node.text_length = len(raw.strip(_TRAILING))
    return True


class _Builder:
    """lxml elements → :class:`~.xmltree.XmlNode` without offsets; None (give up) on
    anything the scanner would read differently or that reaches a cap."""

    __slots__ = ("connectparam", "count", "max_count", "max_depth", "spaced")

    def __init__(self, options: DissectOptions) -> None:
        self.connectparam: XmlNode | None = None  # its check reads its raw bytes
        self.spaced = False  # an attribute value holds a space (normalised from a break?)
        self.count = 0
        self.max_count = options.max_xml_elements
        self.max_depth = options.max_xml_depth

    def node(self, el: etree._Element, depth: int) -> XmlNode | None:
        self.count += 1
        name = el.tag
        if (self.count > self.max_count or depth > self.max_depth
                or not isinstance(name, str) or ":" in name or "{" in name):
            return None
        text = el.text or ""
        children: list[XmlNode] = []
        for child in el:
            built = self.node(child, depth + 1)
            if built is None:
                return None
            children.append(built)
            tail = child.tail
            if tail:
                text += tail
        attributes: list[XmlAttribute] = []
        items = el.items()
        if items:
            for key, value in items:
                if ":" in key or "{" in key:
                    return None
                if " " in value:
                    self.spaced = True
                attributes.append(XmlAttribute(key, value, -1, 0))
        node = XmlNode(name, -1, -1, attributes, children, text.strip(), -1, 0, True)
        if name == "connectparam":
            self.connectparam = node
        return node
