"""Safe reading of the small XML documents the peers exchange.

Both peers parse what the other sends (the server its requests, the client the XML
answers). Neither trusts it: entity resolution, DTD loading and network access are off,
documents with a DOCTYPE are refused outright (an XML bomb needs one), and size is capped
before parsing. Failures come back as a reason string, never as an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

MAX_DOCUMENT = 256 * 1024


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


@dataclass(slots=True)
class XmlMessage:
    """A parsed document: root tag, and the first child of each tag by name.

    ``requestid``/``methodname`` are the texts of those children when present. Element
    access stays on the lxml tree (``root``) for nested structures.
    """

    root: etree._Element
    tag: str
    requestid: str | None = None
    methodname: str | None = None
    children: dict[str, etree._Element] = field(default_factory=dict)

    def text(self, tag: str) -> str | None:
        """Stripped text of the first child ``tag``, or None if absent."""
        elem = self.children.get(tag)
        if elem is None:
            return None
        return (elem.text or "").strip()

    def has(self, tag: str) -> bool:
        return tag in self.children


def parse_xml(data: bytes) -> XmlMessage | str:
    """An :class:`XmlMessage`, or the reason the bytes are not an acceptable document."""
    if len(data) > MAX_DOCUMENT:
        return f"document of {len(data)} bytes exceeds the {MAX_DOCUMENT}-byte cap"
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return "DTD or entity declaration refused"
    try:
        root = etree.fromstring(data.strip(), _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        return f"not well-formed XML: {exc}"
    if not isinstance(root.tag, str):
        return "no element root"
    children: dict[str, etree._Element] = {}
    for child in root:
        if isinstance(child.tag, str) and child.tag not in children:
            children[child.tag] = child
    msg = XmlMessage(root=root, tag=root.tag, children=children)
    msg.requestid = msg.text("requestid")
    msg.methodname = msg.text("methodname")
    return msg


def parse_int(text: str | None) -> int | None:
    """A decimal integer (optionally signed), or None; never raises."""
    if text is None:
        return None
    text = text.strip()
    body = text[1:] if text[:1] in "+-" else text
    if not body.isascii() or not body.isdigit() or len(body) > 19:
        return None
    return int(text)


def parse_yes_no(text: str | None) -> bool | None:
    """``yes``/``no`` as the document spells them; anything else is None."""
    if text == "yes":
        return True
    if text == "no":
        return False
    return None
