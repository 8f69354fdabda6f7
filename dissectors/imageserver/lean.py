"""The compiled fast path of the lean dissection (``accel/src/islean.rs``), and the plain
values it reads the spec tables from.

In a batch report the dissector runs in lean mode (``DissectOptions(tree=False)``, the
rest default), and most messages come out of it without a problem. For those, one
compiled call gives the whole lean record; for anything else (a problem, a message that
may hold a secret, a shape or form it does not cover) it declines and :func:`.dissect`
runs as before. The Rust side restates no table: :func:`plain_tables` hands it
:mod:`.tables` (and the few constants of the modules it mirrors) as tuples, once, at
import, so the tables stay the single source of truth.

``tests/test_imageserver_lean_equivalence.py`` holds the answers equal to the reference's
records, attrs in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dissectors.accel import imageserver_lean
from dissectors.base import Record

from . import genericbytedata, jpeg, privacymask
from .imageresponse import MAX_HEADER_LINE
from .options import DEFAULT_OPTIONS, DissectOptions
from .tables import (
    _ADAPTIVE_ONLY,
    _ENVELOPE,
    ANSWER_COMMON,
    CONTENT_TYPES,
    IMAGE_FIRST_LINE,
    IMAGE_HEADERS,
    LIVEPACKAGE,
    METHODS,
    PART_CONTENT_TYPES,
    PART_HEADERS,
    PRIVACYMASK_GRID_PREFIX,
    PRIVACYMASK_NONE,
    PRIVACYMASK_ROOT,
    ROOTS,
    Attribute,
    Element,
)
from .xmlmessage import PROTOCOL

#: The options the fast path stands in for: the defaults, lean.
LEAN_DEFAULTS = replace(DEFAULT_OPTIONS, tree=False)


def _attribute(a: Attribute) -> tuple:
    return (a.name, str(a.form), a.required, list(a.values), a.minimum, a.maximum)


def _element(e: Element) -> tuple:
    return (e.name, str(e.form), e.required, e.repeated, list(e.values),
            [_element(c) for c in e.children], [_attribute(a) for a in e.attributes],
            e.minimum, e.maximum, e.choice)


def plain_tables(options: DissectOptions = LEAN_DEFAULTS) -> dict[str, Any]:
    """The spec tables and the options' caps as plain values (what the binding reads)."""
    methods = [
        (m.name,
         [(shape.label, [_element(e) for e in shape.elements]) for shape in m.requests],
         str(m.answered_by),
         [_element(e) for e in (m.response.elements if m.response else ANSWER_COMMON)],
         list(m.checks))
        for m in METHODS.values()
    ]
    def media_of(kind: str) -> str:
        named = [media for media, k in CONTENT_TYPES.items() if k == kind]
        return named[0] if len(named) == 1 else ""

    def header_rows(table: tuple) -> list[tuple]:
        return [(h.name.lower(), str(h.form), h.required, list(h.values)) for h in table]

    codecs = genericbytedata.VIDEO_BLOCK_CODECS
    return {
        "roots": list(ROOTS.items()),
        "methods": methods,
        "livepackage": [_element(e) for e in LIVEPACKAGE.elements],
        "envelope": sorted(_ENVELOPE),
        "adaptive_only": sorted(_ADAPTIVE_ONLY),
        "time_min": options.time_min_ms,
        "time_max": options.time_max_ms,
        "max_xml_bytes": options.max_xml_bytes,
        "max_xml_depth": options.max_xml_depth,
        "max_xml_elements": options.max_xml_elements,
        "max_header_lines": options.max_header_lines,
        "max_header_line": MAX_HEADER_LINE,
        "image_first_line": IMAGE_FIRST_LINE,
        "headers": header_rows(IMAGE_HEADERS),
        "jpeg_media": media_of("jpeg"),
        "sof_markers": sorted(jpeg.SOF_MARKERS),
        "jpeg_standalone": sorted(jpeg._STANDALONE),
        "privacymask_none": PRIVACYMASK_NONE,
        "privacymask_grid_prefix": PRIVACYMASK_GRID_PREFIX,
        "privacymask_max_cells": privacymask._MAX_CELLS,
        "privacymask_root": PRIVACYMASK_ROOT,
        "multipart_media": media_of("multipart"),
        "gbd_media": media_of("genericbytedata"),
        "part_headers": header_rows(PART_HEADERS),
        "part_media": list(PART_CONTENT_TYPES),
        "max_parts": options.max_parts,
        "gbd_video": genericbytedata.VIDEO,
        "gbd_multi": genericbytedata.MULTI,
        "gbd_data_types": list(genericbytedata.DATA_TYPES.items()),
        "gbd_video_block_codecs": (codecs.start, codecs.stop - 1),
        "gbd_codecs": list(genericbytedata.CODECS.items()),
        "gbd_max_packets": genericbytedata.MAX_PACKETS,
    }


#: ``fast(data)``: the lean record of a conformant message, or None (the reference
#: decides); always None on the pure-Python path.
fast: Callable[..., Record | None] = imageserver_lean(Record, PROTOCOL, plain_tables)

_lean_seen: DissectOptions = LEAN_DEFAULTS


def is_lean_default(options: DissectOptions) -> bool:
    """Whether ``options`` are :data:`LEAN_DEFAULTS`. The engine passes one object for a
    whole capture: once it compared equal, the identity test answers (frozen: it stays
    equal)."""
    global _lean_seen
    if options is _lean_seen:
        return True
    if options == LEAN_DEFAULTS:
        _lean_seen = options
        return True
    return False
