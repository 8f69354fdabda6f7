"""The shapes of the CVIPv2 spec tables.

The tables themselves (:mod:`.enums`, :mod:`.methods`, :mod:`.services`) are plain data
built from these frozen dataclasses; the checks in :mod:`dissectors.cvip.checks` read them
and never restate what they say. Every entry carries ``section``: where in
``cvipv2-protocol.txt`` a reader finds it, using the document's own numbering and headings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

SPEC = "CVIPv2 §"

# XML-RPC type *classes* a field may accept. ``int`` covers <int>, <i4>, <i8> and the CVIP
# extension <uint>; ``string`` covers <string> and an untyped <value>text</value>.
TypeClass = Literal["int", "double", "boolean", "string", "datetime", "base64", "struct",
                    "array", "nil"]

# Formats a string field may have to follow (see dissectors/cvip/formats.py).
Format = Literal["guid", "time14", "datetime19", "ipv4", "range3", "md5", "numeric",
                 "service_id"]

# How a method is answered.
Answer = Literal["ack", "response", "event", "unspecified"]


@dataclass(frozen=True, slots=True)
class EnumSpec:
    """A table of codes: each value names one thing (PTZ command type, media type...)."""

    name: str
    title: str
    values: Mapping[int, str]
    section: str
    descriptions: Mapping[int, str] = field(default_factory=dict)

    def name_of(self, value: int) -> str | None:
        return self.values.get(value)


@dataclass(frozen=True, slots=True)
class BitSetSpec:
    """A table of bits that may be OR-ed together (event types, user privileges)."""

    name: str
    title: str
    bits: Mapping[int, str]
    section: str

    @property
    def mask(self) -> int:
        out = 0
        for bit in self.bits:
            out |= bit
        return out

    def names_of(self, value: int) -> list[str]:
        return [name for bit, name in self.bits.items() if value & bit]

    def unknown_bits(self, value: int) -> int:
        return value & ~self.mask


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One row of a request or response table.

    ``name`` is spelled as the table spells it, with the PDF conversion's misread letters
    fixed (``destlp`` → ``destIp``; see DECISIONS.md). ``types`` lists the accepted
    :data:`TypeClass` es; the spec almost never states a type, so this is the decision in
    DECISIONS.md §Field types (empty = anything). ``magnitude`` bounds ``abs(value)``
    (PTZ ``CmdData``: "a signed value between 1 and 16"), ``range`` the value itself.
    """

    name: str
    details: str = ""
    types: tuple[str, ...] = ()
    required: bool = True
    enum: str | None = None
    bits: str | None = None
    range: tuple[int, int] | None = None
    magnitude: tuple[int, int] | None = None
    fmt: str | None = None
    # (field, value): 0 is also accepted when that other field has that value (PTZ
    # CmdData 0 with CmdType Stop, where no speed applies).
    zero_when: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class ExtraFields:
    """Fields beyond the fixed rows, whose names depend on a type id in the message:
    ``<ProfileProperty>`` depends on ``ProfileTypeID``, ``<EntityProperty>`` on
    ``EntityTypeID``, ``<ApplicationProperty>`` on ``ApplicationTypeID``,
    ``<ServiceProfile>`` (a member named after the service's profile) on ``ServiceID``.

    ``table`` names a mapping in :mod:`.services` (type id → admitted names);
    ``selector`` is the field whose value picks the row; ``placeholder`` is the table row
    as printed (a member of that name may also hold the names); ``where`` says which
    direction carries them (the list methods return them in their response records)."""

    table: str
    selector: str
    placeholder: str
    where: str = "request"


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One method of the catalogue.

    ``service`` is the base service name as the document's section spells it
    (``cviStream``), or ``"*"`` for the generic discovery/configuration methods every
    service may offer (``<Service>.describe``). ``request``/``response`` are ``None`` when
    the document gives no table for that direction (the list methods print only their
    response): such parameters are shown by name but not judged; ``()`` means "no
    parameters" (the examples send ``<params/>``). ``shape`` tells how the request's
    parameters are laid out when the catalogue can say more than "a struct of fields":
    ``property_ids`` (getProperties: a list of property ids), ``property_values``
    (setProperties: property id → value), ``method_name`` (listParameters: one string);
    ``response_shape`` likewise for the response (getProperties answers property id →
    value). ``response_list``: the response is a list of records (an array of structs).
    """

    service: str
    name: str
    title: str
    section: str
    request: tuple[FieldSpec, ...] | None
    response: tuple[FieldSpec, ...] | None
    answer: Answer
    response_list: bool = False
    shape: str = "fields"
    response_shape: str = "fields"
    extra: ExtraFields | None = None
    note: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.service}.{self.name}"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A service: a row of §Service and Properties 1. Service, or a service that only
    the command details define (``cviPlayback``). ``spellings`` are the ways the document
    itself writes the name (``cviNVR`` in the table, ``cviNvr`` in the examples).
    ``instances`` says whether the name takes instance numbers (``cviVideo.01.1``):
    0 none, 1 ``.n``, 2 ``.n`` or ``.n.m``. ``listed_instances`` are the instances the
    service table enumerates (an 8-input NVR), for the strict instance check.
    """

    name: str
    use_case: str
    property_support: bool | None
    function_support: bool | None
    section: str
    spellings: tuple[str, ...] = ()
    instances: int = 0
    listed_instances: tuple[str, ...] = ()


Access = Literal["rw", "ro"]


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """A row of §Service and Properties 2. Properties."""

    service: str  # pattern: "cviUnit", "cviNetwork.<n>", "cviVideo.<n>.<m>"
    id: str
    access: Access
    section: str
