"""CVIPv2 spec tables as data, and the lookups the dissector needs over them.

The data lives in :mod:`.enums`, :mod:`.services` and :mod:`.methods`; this module only
indexes it. Name matching is tolerant by default (case, the spec's own spelling variants,
Cyrillic look-alike letters copied from the PDF) and exact with ``strict=True``; see
DECISIONS.md §Spelling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dissectors.cvip.tables.enums import BIT_SETS, ENUMS, TYPE_TYPOS
from dissectors.cvip.tables.methods import CATALOGUE, SPELLING_VARIANTS
from dissectors.cvip.tables.model import (
    BitSetSpec,
    EnumSpec,
    FieldSpec,
    MethodSpec,
    PropertySpec,
    ServiceSpec,
)
from dissectors.cvip.tables.services import PROPERTIES, PROPERTY_SETS, SERVICES

__all__ = [
    "BIT_SETS", "CATALOGUE", "ENUMS", "PROPERTIES", "SERVICES", "TYPE_TYPOS", "BitSetSpec",
    "EnumSpec", "FieldSpec", "MethodName", "MethodSpec", "PropertySpec", "ServiceSpec",
    "all_field_names", "field_index", "find_field", "find_methods", "find_property",
    "find_service", "fold", "properties_of", "split_method", "type_property_names",
]

# Cyrillic letters that look like Latin ones; the PDF prints "Туре" with a Cyrillic Т.
_HOMOGLYPHS = str.maketrans("АВЕКМНОРСТХаеорсухіІ", "ABEKMHOPCTXaeopcyxiI")


def fold(name: str) -> str:
    """The tolerant matching key of a name: look-alike letters to Latin, case folded, and
    the document's own spelling variants (``persistant``) mapped to one spelling.

    Every member name of every message is folded, and the names repeat (a few hundred in
    the catalogue), so keys are remembered; the memo is bounded (emptied when full) so a
    capture of random names cannot grow it."""
    key = _FOLDED.get(name)
    if key is None:
        key = name.translate(_HOMOGLYPHS).casefold()
        key = SPELLING_VARIANTS.get(key, key)
        if len(_FOLDED) >= _FOLD_MEMO_SIZE:
            _FOLDED.clear()
        _FOLDED[name] = key
    return key


_FOLDED: dict[str, str] = {}
_FOLD_MEMO_SIZE = 4096


@dataclass(frozen=True, slots=True)
class MethodName:
    """A full method name split the way the spec composes it:
    ``cviVideo.01.1.getProperties`` → service ``cviVideo.01.1`` (base ``cviVideo``,
    instance ``("01", "1")``), method ``getProperties``."""

    full: str
    service: str
    base: str
    instance: tuple[str, ...]
    method: str


def split_method(full: str) -> MethodName:
    name = full.strip()
    service, dot, method = name.rpartition(".")
    if not dot:
        return MethodName(full, "", "", (), name)
    base, *instance = service.split(".")
    return MethodName(full, service, base, tuple(instance), method)


_SERVICE_BY_KEY: dict[str, ServiceSpec] = {fold(s.name): s for s in SERVICES}
for _svc in SERVICES:
    for _spelling in _svc.spellings:
        _SERVICE_BY_KEY.setdefault(fold(_spelling), _svc)


def find_service(base: str, strict: bool = False) -> ServiceSpec | None:
    """The service a base name refers to; with ``strict`` only as the document spells it."""
    spec = _SERVICE_BY_KEY.get(fold(base))
    if spec is None:
        return None
    if strict and base not in (spec.name, *spec.spellings):
        return None
    return spec


_METHODS: dict[tuple[str, str], list[MethodSpec]] = {}
for _m in CATALOGUE:
    _METHODS.setdefault((fold(_m.service), fold(_m.name)), []).append(_m)


def find_methods(service: ServiceSpec | None, method: str,
                 strict: bool = False) -> tuple[MethodSpec, ...]:
    """Catalogue entries for ``<service>.<method>``: the service's own entries first, then
    the generic ``<Service>.<method>`` ones. Several entries can share a name
    (``cviPlayback.getstatus`` in 2.7 and 2.8)."""
    found: list[MethodSpec] = []
    if service is not None:
        found += _METHODS.get((fold(service.name), fold(method)), [])
    if not found and (service is None or service.name != "system"):
        found += _METHODS.get(("*", fold(method)), [])
    if strict:
        found = [m for m in found if m.name == method]
    return tuple(found)


def find_field(fields: Iterable[FieldSpec], name: str, strict: bool = False) -> FieldSpec | None:
    """The first field of ``fields`` with this name (tolerantly matched unless ``strict``)."""
    if strict:
        return next((f for f in fields if f.name == name), None)
    if isinstance(fields, tuple):
        return field_index(fields).get(fold(name))
    key = fold(name)
    return next((f for f in fields if fold(f.name) == key), None)


def field_index(fields: tuple[FieldSpec, ...]) -> dict[str, FieldSpec]:
    """Folded name → the first field of that name, for a tuple of fields (a catalogue
    entry's request or response table). Built once per tuple: the tables are static, so
    a message binds each member with one lookup instead of folding every field name."""
    entry = _FIELD_INDEX.get(id(fields))
    if entry is not None and entry[0] is fields:
        return entry[1]
    index: dict[str, FieldSpec] = {}
    for f in fields:
        index.setdefault(fold(f.name), f)
    if len(_FIELD_INDEX) >= _FIELD_INDEX_SIZE:
        _FIELD_INDEX.clear()
    # The tuple is kept with its index, so its id cannot be reused while the entry lives.
    _FIELD_INDEX[id(fields)] = (fields, index)
    return index


_FIELD_INDEX: dict[int, tuple[tuple[FieldSpec, ...], dict[str, FieldSpec]]] = {}
_FIELD_INDEX_SIZE = 1024


def _pattern_of(base: str, instance: tuple[str, ...]) -> str:
    return base + "".join((".<n>", ".<m>")[: len(instance)])


_PROPS_BY_PATTERN: dict[str, dict[str, PropertySpec]] = {}
for _p in PROPERTIES:
    _PROPS_BY_PATTERN.setdefault(fold(_p.service), {})[fold(_p.id)] = _p


def properties_of(service: ServiceSpec | None,
                  instance: tuple[str, ...]) -> dict[str, PropertySpec] | None:
    """The property table of a service instance (keyed by folded id), or None when the
    document lists no properties for it (so unknown ids cannot be judged)."""
    if service is None:
        return None
    return _PROPS_BY_PATTERN.get(fold(_pattern_of(service.name, instance)))


def find_property(table: dict[str, PropertySpec], pid: str,
                  strict: bool = False) -> PropertySpec | None:
    spec = table.get(fold(pid))
    if spec is not None and strict and spec.id != pid:
        return None
    return spec


def type_property_names(table: str, type_id: int | None) -> tuple[str, ...] | None:
    """Property names a ``<ProfileProperty>``-style placeholder may hold for ``type_id``
    (None when the type is unknown, so any name is accepted)."""
    rows, _section = PROPERTY_SETS[table]
    if type_id is None or type_id not in rows:
        return None
    return rows[type_id]


def all_field_names() -> tuple[str, ...]:
    """Every field and property name the tables define, for the filter-key list."""
    names: dict[str, None] = {}
    for m in CATALOGUE:
        for f in (*(m.request or ()), *(m.response or ())):
            names.setdefault(f.name, None)
    for p in PROPERTIES:
        names.setdefault(p.id, None)
    for rows, _section in PROPERTY_SETS.values():
        for props in rows.values():
            for n in props:
                names.setdefault(n, None)
    return tuple(names)
