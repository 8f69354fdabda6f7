"""The display-filter language shared by ``cvipsniff read -Y``, ``report -Y`` and the TUI.

A safe, Wireshark-like expression language (docs/FILTERS.md)::

    flt = compile_filter('cvip.method == "cviStream.create" && latency_ms > 100')
    shown = [m for m in messages if flt.matches(MessageFieldSource(m))]

Text is tokenized and parsed by hand into a syntax tree, checked against a
:class:`FieldRegistry` and compiled into closures; no Python ``eval``/``exec``/``compile``
is involved, so a filter can never run code. Mistakes raise :class:`FilterError` with the
position of the offending text.
"""

from cvipsniff.filter.compiler import Filter, compile_filter
from cvipsniff.filter.errors import FilterError
from cvipsniff.filter.message_source import MessageFieldSource
from cvipsniff.filter.registry import (
    ENGINE_FIELDS,
    FieldRegistry,
    default_registry,
    format_fields_listing,
)
from cvipsniff.filter.source import FieldSource, MappingFieldSource

__all__ = [
    "ENGINE_FIELDS",
    "FieldRegistry",
    "FieldSource",
    "Filter",
    "FilterError",
    "MappingFieldSource",
    "MessageFieldSource",
    "compile_filter",
    "default_registry",
    "format_fields_listing",
]
