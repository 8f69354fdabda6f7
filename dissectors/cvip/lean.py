"""The compiled fast path of the lean CVIP dissection (``accel/src/cviplean.rs``).

Batch reports and the TUI's load dissect with the default options but ``tree=False`` and
``attrs=False``; the record they get of a conformant message is five scalars and nothing
to report. :func:`lean_dissector` gives a callable that returns that exact ``Record`` for
a message the compiled code is sure the Python path would find nothing wrong with, and
None for anything else (then :func:`dissectors.cvip.dissect.dissect` runs as always).

The compiled code does not restate the spec tables: :func:`catalogue` reads them here,
from :mod:`dissectors.cvip.tables`, into plain values (names folded by the same
:func:`~dissectors.cvip.tables.fold` the Python checks use), once, at import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dissectors.accel import cvip_lean
from dissectors.base import Record
from dissectors.cvip import tables as T
from dissectors.cvip.checks import PROPERTY_METHODS
from dissectors.cvip.options import DEFAULT_OPTIONS
from dissectors.cvip.semantics import ACK_FIELDS, EVENT_METHOD
from dissectors.cvip.tables.enums import ACK_EVENT, ACK_RESPONSE, BIT_SETS, CONNECTION_TYPE, ENUMS
from dissectors.cvip.tables.methods import ACK_FIELD, CATALOGUE, EVENT_ACK_FIELD, SPELLING_VARIANTS
from dissectors.cvip.tables.model import FieldSpec, MethodSpec, ServiceSpec
from dissectors.cvip.tables.services import ENTITY_PROPERTY_CODES, PROPERTY_SETS, SERVICES
from dissectors.secrets import is_secret_name

fold = T.fold


class _Fields:
    """The field rows handed over, each once (by identity), and their indices."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self._index: dict[int, int] = {}
        self._keep: list[FieldSpec] = []  # the ids above stay valid while this lives

    def add(self, spec: FieldSpec) -> int:
        found = self._index.get(id(spec))
        if found is not None:
            return found
        zero_when = (fold(spec.zero_when[0]), spec.zero_when[1]) if spec.zero_when else None
        self.rows.append((fold(spec.name), list(spec.types), spec.required, spec.enum,
                          spec.bits, spec.range, spec.magnitude, spec.fmt, zero_when,
                          is_secret_name(spec.name)))
        self._index[id(spec)] = len(self.rows) - 1
        self._keep.append(spec)
        return len(self.rows) - 1

    def all(self, specs: tuple[FieldSpec, ...] | None) -> list[int] | None:
        return None if specs is None else [self.add(f) for f in specs]


def _method(m: MethodSpec, fields: _Fields) -> tuple[Any, ...]:
    extra = m.extra
    return (m.service == "*", fields.all(m.request), fields.all(m.response), m.response_list,
            m.shape, m.response_shape,
            (extra.table, fold(extra.selector), fold(extra.placeholder), extra.where)
            if extra is not None else None)


def _properties(service: ServiceSpec, parts: int) -> list[tuple[str, bool]] | None:
    """``properties_of`` for a method name with ``parts`` instance numbers."""
    table = T.properties_of(service, ("1",) * parts)
    return None if table is None else [(key, p.access == "ro") for key, p in table.items()]


def _service(s: ServiceSpec) -> tuple[Any, ...]:
    return (fold(s.name), s.name == "system", s.instances, s.property_support,
            s.function_support, *(_properties(s, n) for n in range(3)))


def catalogue() -> dict[str, Any]:
    """The spec tables as the compiled fast path reads them (see ``CatalogueSpec`` in
    ``accel/src/cviplean.rs``). The lookups are the ones :mod:`dissectors.cvip.tables`
    itself indexes (its service and method keys), so both paths resolve a name alike."""
    fields = _Fields()
    method_index = {id(m): i for i, m in enumerate(CATALOGUE)}
    service_index = {id(s): i for i, s in enumerate(SERVICES)}
    entity_codes = [
        (fold(prop), fields.add(FieldSpec(prop, types=("int",),
                                          enum=table if kind == "enum" else None,
                                          bits=table if kind == "bits" else None)))
        for prop, (kind, table) in ENTITY_PROPERTY_CODES.items()]
    return {
        "methods": [_method(m, fields) for m in CATALOGUE],
        "services": [_service(s) for s in SERVICES],
        "service_keys": [(key, service_index[id(s)]) for key, s in T._SERVICE_BY_KEY.items()],
        "method_keys": [(key, [method_index[id(m)] for m in found])
                        for key, found in T._METHODS.items()],
        "enums": [(name, list(e.values)) for name, e in ENUMS.items()],
        "bit_sets": [(name, b.mask) for name, b in BIT_SETS.items()],
        "ack_response": list(ACK_RESPONSE.values.items()),
        "ack_event": list(ACK_EVENT.values.items()),
        "ack_field": fields.add(ACK_FIELDS[fold(ACK_FIELD)]),
        "event_ack_field": fields.add(ACK_FIELDS[fold(EVENT_ACK_FIELD)]),
        "property_sets": [(table, [(type_id, [fold(n) for n in names])
                                   for type_id, names in rows.items()])
                          for table, (rows, _section) in PROPERTY_SETS.items()],
        "entity_codes": entity_codes,
        "variants": list(SPELLING_VARIANTS.items()),
        "event_method_key": fold(EVENT_METHOD),
        "property_methods": list(PROPERTY_METHODS),
        "limits": (DEFAULT_OPTIONS.xml_size_cap, DEFAULT_OPTIONS.xml_depth_cap,
                   DEFAULT_OPTIONS.xml_element_cap),
        "connection_types": list(CONNECTION_TYPE.values.items()),
        "fields": fields.rows,  # last: the entries above added theirs
    }


def lean_dissector() -> Callable[[bytes, bool], Record | None]:
    """``(data, udp) -> Record | None``: the lean record (default options, ``tree`` and
    ``attrs`` off) of a message the Python path finds nothing wrong with, or None. Always
    None on the pure-Python path."""
    return cvip_lean(Record, catalogue)
