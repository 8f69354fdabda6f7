"""Per-message conformance checks of CVIPv2, read from the spec tables.

Nothing here restates the document: which fields a method takes, their types, enums, bit
sets, ranges and formats, which services exist and which properties are read-only all
come from :mod:`dissectors.cvip.tables`; this module only compares a bound message
(:class:`dissectors.cvip.semantics.Meaning`) with them. Each finding is a ``Problem`` with
its rule id (docs/RULES.md), the section of the table it read, and the bytes concerned.
Cross-message rules (pairing, a response's method vs its request's) are not here: one
message cannot know them.
"""

from __future__ import annotations

from dissectors.base import Problem
from dissectors.cvip import tables as T
from dissectors.cvip.formats import FORMAT_NAMES, check_format
from dissectors.cvip.options import Options
from dissectors.cvip.semantics import Binding, Meaning, Param, as_int, as_type_id
from dissectors.cvip.tables.enums import BIT_SETS, ENUMS
from dissectors.cvip.tables.model import FieldSpec, MethodSpec
from dissectors.cvip.tables.services import (
    ENTITY_PROPERTY_CODES,
    PROPERTY_SETS,
    PROPERTY_TABLE,
    SERVICE_TABLE,
)

PROPERTY_METHODS = ("getproperties", "setproperties", "listproperties")
_METHOD_SECTION = SERVICE_TABLE


class Checker:
    """Collects the problems of one message."""

    def __init__(self, meaning: Meaning, opts: Options, method_span: tuple[int, int]):
        self.meaning = meaning
        self.opts = opts
        self.method_span = method_span
        self.problems: list[Problem] = []

    def add(self, rule: str, severity: str, message: str, section: str,
            span: tuple[int, int] = (-1, 0)) -> None:
        self.problems.append(Problem(rule, severity, message, section, span[0], span[1]))  # type: ignore[arg-type]

    def label(self, method: MethodSpec) -> str:
        """The method as the message names it (``cviVideo.1.getProperties``, not
        ``*.getProperties``)."""
        name = self.meaning.name
        return name.full.strip() if name is not None else method.full_name

    # ---- service and method -----------------------------------------------------------

    def check_method(self) -> None:
        m = self.meaning
        if m.name is None:
            return
        name = m.name
        if not name.base:
            self.add("cvip.method.unknown_service", "error",
                     f"method {name.full!r} names no service (<service>.<method>)",
                     _METHOD_SECTION, self.method_span)
            return
        service = m.service
        if service is None:
            hint = ""
            if self.opts.strict_spelling and T.find_service(name.base) is not None:
                hint = f" (spelled {T.find_service(name.base).name!r} in the document)"  # type: ignore[union-attr]
            self.add("cvip.method.unknown_service", "error",
                     f"service {name.base!r} is not in the spec's service tables{hint}",
                     _METHOD_SECTION, self.method_span)
            return
        self._check_instance(name, service)
        key = T.fold(name.method)
        generic = all(c.service == "*" for c in m.candidates)
        if key in PROPERTY_METHODS and service.property_support is False and generic:
            self.add("cvip.method.unknown_method", "warning",
                     f"{name.method!r} on {service.name}, which the service table lists "
                     "without property support", service.section, self.method_span)
            return
        if m.candidates:
            return
        hint = ""
        if self.opts.strict_spelling and T.find_methods(service, name.method):
            hint = " (differs from the document's spelling)"
        if service.function_support:
            self.add("cvip.method.unknown_method", "info",
                     f"{name.method!r} is not a catalogue method of {service.name}; it may be a "
                     f"custom function (listFunctions){hint}", service.section, self.method_span)
        else:
            self.add("cvip.method.unknown_method", "warning",
                     f"{name.method!r} is not a method of {service.name} in the spec{hint}",
                     service.section, self.method_span)

    def _check_instance(self, name: T.MethodName, service: T.ServiceSpec) -> None:
        instance = name.instance
        if not instance:
            return
        if len(instance) > service.instances or not all(p.isdigit() for p in instance):
            self.add("cvip.method.unknown_service", "warning",
                     f"{name.service!r}: {service.name} takes "
                     + ("no instance number" if service.instances == 0 else
                        "instance numbers like " + (".01.1" if service.instances == 2 else ".1")),
                     service.section, self.method_span)
            return
        if (self.opts.strict_instances and service.listed_instances
                and ".".join(instance) not in service.listed_instances):
            self.add("cvip.method.unknown_service", "warning",
                     f"{name.service!r} is not an instance the service table lists",
                     service.section, self.method_span)

    # ---- parameters ---------------------------------------------------------------------

    def check_binding(self, binding: Binding, direction: str) -> None:
        method = binding.method
        if method is None:
            return
        section = method.section
        if binding.shape in ("property_ids", "property_values"):
            self._check_properties(binding, method, direction)
            return
        if binding.shape == "records":
            self._check_records(binding, method)
            return
        if not binding.known:
            return  # no table for this direction in the document: nothing to judge
        self._check_fields(binding.params, binding.fields, method, direction, binding.shape)
        if binding.shape == "raw" and binding.params:
            self.add("cvip.xmlrpc.structure", "warning",
                     f"parameters of {self.label(method)} not in a shape the catalogue describes",
                     section)

    def _check_fields(self, params: list[Param], fields: tuple[FieldSpec, ...],
                      method: MethodSpec, direction: str, shape: str) -> None:
        section = method.section
        present: dict[str, Param] = {}
        allowed_extra = self._extra_names(params, method, direction)
        for p in params:
            if p.spec is not None:
                present.setdefault(T.fold(p.spec.name), p)
                self.check_value(p, p.spec, section, params)
                continue
            if (p.name is not None and method.extra is not None
                    and direction.startswith(method.extra.where)
                    and self._is_extra(p, method, allowed_extra)):
                continue
            what = (f"field {p.name!r}" if p.name is not None
                    else f"positional parameter {p.position} (the table has {len(fields)} fields)")
            hint = ""
            if p.name is not None and self.opts.strict_spelling:
                near = T.find_field(fields, p.name)
                if near is not None:
                    hint = f" (the document spells it {near.name!r})"
            extra = method.extra
            if p.name is not None and extra is not None and direction.startswith(extra.where):
                hint += f", nor admitted as {extra.placeholder} for this {extra.selector}"
            self.add("cvip.field.unknown", "warning",
                     f"{what} is not in the {self.label(method)} {direction} table{hint}", section,
                     self._name_span(p))
        if direction == "ack":
            return  # an ack may report a failure and carry nothing but its code
        if shape == "positional":
            given = len(params)
            for f in fields[given:]:
                if f.required:
                    self.add("cvip.field.missing", "warning",
                             f"{self.label(method)} {direction}: positional parameter for "
                             f"{f.name!r} missing ({given} of {len(fields)} given)", section)
            return
        for f in fields:
            if f.required and T.fold(f.name) not in present:
                self.add("cvip.field.missing", "warning",
                         f"{self.label(method)} {direction} without {f.name!r}", section)

    def _extra_names(self, params: list[Param], method: MethodSpec,
                     direction: str) -> set[str] | None:
        """Names a placeholder field (``<ProfileProperty>``...) allows here; None = any."""
        extra = method.extra
        if extra is None or not direction.startswith(extra.where):
            return set()
        selector = next((p for p in params if p.spec is not None
                         and T.fold(p.spec.name) == T.fold(extra.selector)), None)
        names = T.type_property_names(extra.table,
                                      as_type_id(selector.value) if selector else None)
        return None if names is None else {T.fold(n) for n in names}

    def _is_extra(self, p: Param, method: MethodSpec, allowed: set[str] | None) -> bool:
        extra = method.extra
        if extra is None or p.name is None:
            return False
        placeholder = T.fold(extra.placeholder)
        if T.fold(p.name) == placeholder:
            if p.value is not None and p.value.type == "struct":
                for member in p.value.value:
                    sub = Param(member.value, member.name, None, 0, member.offset, member.length)
                    if allowed is not None and T.fold(member.name) not in allowed:
                        self._unknown_extra(sub, method)
                    else:
                        self._check_entity_code(sub, method)
            return True
        if allowed is None or T.fold(p.name) in allowed:
            self._check_entity_code(p, method)
            return True
        return False

    def _unknown_extra(self, p: Param, method: MethodSpec) -> None:
        extra = method.extra
        assert extra is not None
        _rows, section = PROPERTY_SETS[extra.table]
        self.add("cvip.field.unknown", "warning",
                 f"{p.name!r} is not admitted as {extra.placeholder} for this {extra.selector}",
                 section, self._name_span(p))

    def _check_entity_code(self, p: Param, method: MethodSpec) -> None:
        if method.extra is None or method.extra.table != "entity" or p.name is None:
            return
        for prop, (kind, table) in ENTITY_PROPERTY_CODES.items():
            if T.fold(prop) == T.fold(p.name):
                spec = FieldSpec(prop, types=("int",), enum=table if kind == "enum" else None,
                                 bits=table if kind == "bits" else None)
                _rows, section = PROPERTY_SETS["entity"]
                self.check_value(p, spec, section, [])

    def _check_records(self, binding: Binding, method: MethodSpec) -> None:
        records: dict[int, list[Param]] = {}
        for p in binding.params:
            records.setdefault(p.record, []).append(p)
        for params in records.values():
            if all(p.name is None for p in params):
                continue  # plain values (listServices), nothing to bind
            self._check_fields(params, binding.fields, method, "response record", "named")

    def _check_properties(self, binding: Binding, method: MethodSpec, direction: str) -> None:
        m = self.meaning
        table = T.properties_of(m.service, m.name.instance if m.name else ())
        setting = binding.shape == "property_values" and direction == "request"
        for p in binding.params:
            if binding.shape == "property_ids":
                if p.value is None or p.value.type_class != "string":
                    self.add("cvip.field.type", "warning",
                             f"property id #{p.position} is not a string", method.section,
                             self._value_span(p))
                    continue
                pid, span = str(p.value.value).strip(), self._value_span(p)
            else:
                pid, span = p.name or "", self._name_span(p)
            if table is None:
                continue
            prop = T.find_property(table, pid, self.opts.strict_spelling)
            if prop is None:
                self.add("cvip.field.unknown", "warning",
                         f"property {pid!r} is not in the property table of "
                         f"{m.name.service if m.name else '?'}", PROPERTY_TABLE, span)
            elif setting and prop.access == "ro":
                self.add("cvip.property.read_only", "error",
                         f"setProperties on read-only property {prop.id!r}", prop.section, span)

    # ---- one value against one field ------------------------------------------------------

    def check_value(self, p: Param, spec: FieldSpec, section: str, siblings: list[Param]) -> None:
        value = p.value
        if value is None:
            return  # the XML layer reported the member without a value
        span = self._value_span(p)
        label = spec.name
        if not value.ok:
            return  # the literal itself is broken: reported as cvip.xmlrpc.value_type
        cls = value.type_class
        if spec.types and cls not in spec.types:
            expected = " or ".join(f"<{_TYPE_ELEMENT.get(t, t)}>" for t in spec.types)
            self.add("cvip.field.type", "warning",
                     f"{label} is <{value.type or 'string'}>, expected {expected}", section, span)
            return
        number = as_int(value) if cls in ("int", "boolean", "double") or spec.enum or spec.bits \
            else None
        if spec.enum and number is not None:
            enum = ENUMS[spec.enum]
            if number not in enum.values:
                self.add("cvip.field.enum", "error",
                         f"{label} {_hex(number)} is not in the {enum.title} table", enum.section,
                         span)
        if spec.bits and number is not None:
            bits = BIT_SETS[spec.bits]
            unknown = bits.unknown_bits(number)
            if unknown or number < 0:
                self.add("cvip.field.enum", "error",
                         f"{label} {_hex(number)} has bits outside the {bits.title} table "
                         f"({_hex(unknown)})", bits.section, span)
        if spec.range and number is not None:
            low, high = spec.range
            if not low <= number <= high:
                self.add("cvip.field.range", "error",
                         f"{label} {number} is outside {low}..{high}", section, span)
        if spec.magnitude and number is not None:
            low, high = spec.magnitude
            if not low <= abs(number) <= high and not self._zero_allowed(spec, number, siblings):
                self.add("cvip.field.range", "error",
                         f"{label} {number}: magnitude must be {low}..{high} (the sign is the "
                         "direction)", section, span)
        if spec.fmt and cls == "string" and isinstance(value.value, str):
            wrong = check_format(spec.fmt, value.value, self.opts.guid_format)
            if wrong:
                self.add("cvip.field.format", "warning",
                         f"{label}: {wrong} (expected {FORMAT_NAMES.get(spec.fmt, spec.fmt)})",
                         section, span)

    def _zero_allowed(self, spec: FieldSpec, number: int, siblings: list[Param]) -> bool:
        if number != 0 or spec.zero_when is None:
            return False
        other, wanted = spec.zero_when
        for s in siblings:
            if s.spec is not None and T.fold(s.spec.name) == T.fold(other):
                return as_int(s.value) == wanted
        return False

    # ---- spans ----------------------------------------------------------------------------

    @staticmethod
    def _value_span(p: Param) -> tuple[int, int]:
        if p.value is not None and p.value.offset >= 0:
            return p.value.offset, p.value.length
        return -1, 0

    def _name_span(self, p: Param) -> tuple[int, int]:
        if p.name_offset >= 0:
            return p.name_offset, p.name_length
        return self._value_span(p)


_TYPE_ELEMENT = {"datetime": "dateTime.iso8601"}


def _hex(n: int) -> str:
    return f"0x{n:02x}" if n >= 0 else str(n)


def check_message(meaning: Meaning, opts: Options, method_span: tuple[int, int]) -> list[Problem]:
    """Every per-message conformance problem of a bound body."""
    checker = Checker(meaning, opts, method_span)
    checker.check_method()
    direction = {"request": "request", "event": "request", "ack": "ack"}.get(meaning.kind,
                                                                           "response")
    checker.check_binding(meaning.binding, direction)
    ack = meaning.ack
    if ack is not None:
        span = (ack.value.offset, ack.value.length) if ack.value.offset >= 0 else (-1, 0)
        if ack.code is None:
            checker.add("cvip.field.type", "error",
                        f"ack code {ack.value.text!r} is not an integer", ack.table.section, span)
        elif ack.name is None:
            checker.add("cvip.ack.unknown_code", "error",
                        f"ack code 0x{ack.code:08x} is not in the {ack.table.title} table"
                        + (" (ack_table=either: neither table)" if opts.ack_table == "either"
                           else ""), ack.table.section, span)
    return checker.problems
