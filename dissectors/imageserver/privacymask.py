"""The ``PrivacyMask`` header (section "Privacy mask"): ``none``, the simple grid form
``grid;WxH;row;row;...`` (``'1'`` for each cell not to be shown), or a base64 encoded XML
document (``<mask>`` with ``<methods>`` and ``<grid size="WxH">`` rows whose digits name
a method by its ``value``).

``WxH`` is read as columns x rows in both forms: each row has W cells and there are H
rows (the document's 3x3 and 8x8 examples cannot tell; this is the reading that matches
image sizes elsewhere). In the XML form each cell is a byte written as two hex digits
("The byte value indicates which method to use"; the example's rows are 16 characters for
8 columns), 00 meaning unmasked. XML row ``index`` values are accepted from 0 to H, since
the document's example (1 and 3 of 8) does not say whether they count from 0 or 1.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from . import rules
from .options import DissectOptions
from .tables import PRIVACYMASK_GRID_PREFIX, PRIVACYMASK_NONE, PRIVACYMASK_ROOT
from .xmltree import parse

_SIZE = re.compile(r"([0-9]{1,4})x([0-9]{1,4})")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")
_MAX_CELLS = 1 << 16


@dataclass(slots=True)
class Method:
    value: str
    name: str
    removable: str | None


@dataclass(slots=True)
class PrivacyMask:
    kind: str  # "none", "grid", "xml" or "invalid"
    width: int | None = None
    height: int | None = None
    rows: list[str] = field(default_factory=list)
    masked: int = 0
    methods: list[Method] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    forbidden: bool = False  # the embedded XML declared a DTD / entities


def decode(value: str, options: DissectOptions) -> PrivacyMask:
    if value == PRIVACYMASK_NONE:
        return PrivacyMask("none")
    if value.startswith(PRIVACYMASK_GRID_PREFIX):
        return _grid(value)
    return _xml(value, options)


def _size(text: str, mask: PrivacyMask) -> bool:
    m = _SIZE.fullmatch(text)
    if m is None:
        mask.problems.append(f"grid size {text!r} is not WxH")
        return False
    mask.width, mask.height = int(m.group(1)), int(m.group(2))
    if not mask.width or not mask.height or mask.width * mask.height > _MAX_CELLS:
        mask.problems.append(f"grid size {text} is empty or implausibly large")
        return False
    return True


def _grid(value: str) -> PrivacyMask:
    mask = PrivacyMask("grid")
    parts = value.split(";")
    if len(parts) < 2 or not _size(parts[1], mask):
        if len(parts) < 2:
            mask.problems.append("grid form without a size")
        return mask
    assert mask.width is not None and mask.height is not None
    mask.rows = parts[2:]
    if len(mask.rows) != mask.height:
        mask.problems.append(f"{len(mask.rows)} rows for a grid {mask.height} rows high")
    for i, row in enumerate(mask.rows, 1):
        if len(row) != mask.width:
            mask.problems.append(f"row {i} has {len(row)} cells, not {mask.width}")
        if row.strip("01"):
            mask.problems.append(f"row {i} has cells other than 0 and 1: {row!r}")
        mask.masked += row.count("1")
    return mask


def _xml(value: str, options: DissectOptions) -> PrivacyMask:
    mask = PrivacyMask("xml")
    try:
        raw = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        mask.kind = "invalid"
        mask.problems.append("neither none, grid;WxH;... nor base64")
        return mask
    doc = parse(raw, 0, options)
    mask.forbidden = doc.forbidden
    for p in doc.problems:
        if p.rule != rules.XML_FORBIDDEN:
            mask.problems.append(f"embedded mask XML: {p.message}")
    root = doc.root
    if root is None or root.name != PRIVACYMASK_ROOT:
        mask.problems.append("base64 content is not a <mask> document")
        return mask
    values: set[str] = set()
    method_values: set[int] = set()
    grid = None
    for child in root.children:
        if child.name == "methods":
            for method in child.children:
                v = method.attribute("value")
                removable = method.attribute("removable")
                if v is None:
                    mask.problems.append(f"method <{method.name}> has no value attribute")
                    continue
                if v.value in values:
                    mask.problems.append(f"method value {v.value!r} is not unique")
                values.add(v.value)
                if v.value.isdigit() and int(v.value) < 256:
                    method_values.add(int(v.value))
                else:
                    mask.problems.append(f"method value {v.value!r} is not a byte value")
                if removable is not None and removable.value not in ("true", "false"):
                    mask.problems.append(f"removable={removable.value!r} is not true/false")
                mask.methods.append(Method(v.value, method.name,
                                           removable.value if removable else None))
        elif child.name == "grid":
            grid = child
    if grid is None:
        mask.problems.append("<mask> has no <grid>")
        return mask
    size = grid.attribute("size")
    if size is None:
        mask.problems.append("<grid> has no size attribute")
        return mask
    if not _size(size.value, mask):
        return mask
    assert mask.width is not None and mask.height is not None
    seen: set[str] = set()
    for row in grid.children:
        if row.name != "row":
            mask.problems.append(f"<{row.name}> inside <grid>")
            continue
        index, cells = row.attribute("index"), row.attribute("values")
        if index is None or cells is None:
            mask.problems.append("<row> without index or values")
            continue
        if not index.value.isdigit() or int(index.value) > mask.height:
            mask.problems.append(f"row index {index.value!r} outside 0..{mask.height}")
        if index.value in seen:
            mask.problems.append(f"row index {index.value} given twice")
        seen.add(index.value)
        cells_hex = cells.value
        if len(cells_hex) != 2 * mask.width or not _HEX.fullmatch(cells_hex):
            mask.problems.append(
                f"row {index.value} values {cells_hex[:40]!r} are not {mask.width} cells of two "
                "hex digits")
            mask.rows.append(cells_hex)
            continue
        cell_values = bytes.fromhex(cells_hex)
        for cell in sorted(set(cell_values) - {0}):
            if cell not in method_values:
                mask.problems.append(f"row {index.value} uses method {cell}, which no method "
                                     "has as its value")
        mask.rows.append(cells_hex)
        mask.masked += sum(1 for c in cell_values if c)
    return mask
