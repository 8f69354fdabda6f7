"""``dissect(data, transport, options=None) -> Record``: one ImageServer message.

Chooses the message shape from its first bytes (after an optional UTF-8 BOM and
whitespace, both tolerated) and hands it to the XML or the ImageResponse dissector.
Never raises: a bug caught here becomes a ``dissector_error`` problem on a record that
still carries the message, as Wireshark shows a malformed packet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from dissectors.accel import COMPILED
from dissectors.base import Field, Record
from dissectors.secrets import Scrubber, may_hold_secrets

from . import fields as keys
from . import lean, rules
from .imageresponse import dissect_image
from .options import DissectOptions
from .tables import IMAGE_FIRST_LINE, S_INTRO
from .xmlmessage import PROTOCOL, base_attrs, dissect_xml
from .xmltree import skip_prolog_whitespace

_IMAGE_FIRST = IMAGE_FIRST_LINE.encode()


def lean_for(options: object) -> Callable[[bytes, bool], Record | None] | None:
    """``ProtocolSpec.lean_for``: the compiled lean dissection :func:`dissect` itself
    tries first (:data:`.lean.fast`, which takes and ignores the transport), when
    ``options`` are the lean defaults and the accelerator is built."""
    if COMPILED and isinstance(options, DissectOptions) and lean.is_lean_default(options):
        return lean.fast
    return None


def dissect(data: bytes, transport: str = "tcp",
            options: DissectOptions | Mapping[str, Any] | None = None) -> Record:
    """Dissect one message framed by :class:`~.framer.ImageServerFramer` (or any bytes).

    ``options`` is a :class:`~.options.DissectOptions` or a mapping of its field names
    (see ``DECISIONS.md`` for the defaults and what each changes). With a batch report's
    options (lean, the rest default) a conformant message's record comes from one
    compiled call where the accelerator is built (:mod:`.lean`); the same record, held
    equal by ``tests/test_imageserver_lean_equivalence.py``.
    """
    try:
        data = bytes(data)
        opts = DissectOptions.from_any(options)
        if lean.is_lean_default(opts):  # a batch report: most messages are conformant
            record = lean.fast(data)
            if record is not None:
                return record
        start = skip_prolog_whitespace(data)
        if data.startswith(_IMAGE_FIRST, start):
            shape, named = dissect_image, named_part(data, start)
        elif data.startswith(b"<", start):
            shape, named = dissect_xml, data
        else:
            return _unknown(data, start, opts.tree)
        if opts.reveal_secrets or not may_hold_secrets(named):
            return shape(data, start, opts)
        if not opts.tree:
            # The tree names the values to mask (all a secret element or header holds,
            # even a malformed element's swallowed rest), so lean mode masks what full
            # mode does: the rare message that may hold a secret is dissected with it,
            # masked, then left without it.
            record = Scrubber().record(shape(data, start, replace(opts, tree=True)))
            record.fields = []
            return record
        return Scrubber().record(shape(data, start, opts))
    except Exception as exc:  # never let one message stop the analysis
        return Record(
            protocol=PROTOCOL,
            kind="unknown",
            info=f"[dissector error: {type(exc).__name__}]",
            fields=[Field(keys.KIND, "Kind", "unknown")] if _wants_tree(options) else [],
            problems=[rules.problem(rules.DISSECTOR_ERROR,
                                    f"imageserver dissector raised {type(exc).__name__}: {exc}")],
            attrs=base_attrs(),
        )


def named_part(data: bytes, start: int) -> bytes:
    """The bytes of an ImageResponse that can name a secret: its head (a header named
    like one), or all of it for a multipart body (each part has a head). A single body
    is image bytes: nothing in it is shown as text, and searching 80 KB of JPEG for the
    secret fragments cost more than the rest of its lean dissection."""
    ends = [i for i in (data.find(b"\r\n\r\n", start), data.find(b"\n\n", start)) if i >= 0]
    head = data[:min(ends)] if ends else data
    return data if b"multipart" in head.lower() else head


def _wants_tree(options: object) -> bool:
    """Whether the caller wants fields; read defensively (the dissector's last resort)."""
    if isinstance(options, DissectOptions):
        return options.tree
    return not (isinstance(options, Mapping) and options.get("tree") is False)


def _unknown(data: bytes, start: int, tree: bool) -> Record:
    what = "empty message" if start >= len(data) else "neither XML nor an ImageResponse"
    return Record(
        protocol=PROTOCOL,
        kind="unknown",
        info=f"[{what}, {len(data)} B]",
        fields=[Field(keys.KIND, "Kind", "unknown")] if tree else [],
        problems=[rules.problem(rules.XML_STRUCTURE, f"{what}", S_INTRO, start,
                                len(data) - start)],
        attrs=base_attrs(),
    )
