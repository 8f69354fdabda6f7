"""What a CVIPv2 XML-RPC body *means*: its kind, service and method, its parameters by
name, the ack code, the fault, the analytics data.

* **Kind**: a methodCall is a ``request``, or an ``event`` for ``cviEvent.notify`` (the
  only message the server originates, Protocol Basics 3); a methodResponse is a
  ``fault``, an ``ack`` (its parameters carry ``ErrorCode``, or ``AckReturnCode`` for
  cviEvent.ack; or it is one bare integer in the ack code space), or a ``response``;
  ``AnalyticsData`` is an ``event`` (streamed, unsolicited).
* **Method**: ``cviVideo.01.1.getProperties`` → service ``cviVideo.01.1`` (base
  ``cviVideo``, instance ``01.1``), method ``getProperties``.
* **Parameters**: bound to the catalogue's fields whatever the shape: one struct of named
  members (most tables), positional ``<param>`` s in table order (the PTZ example), or an
  array of one-member structs (the startFirmwareUpdate example). Where a name has two
  catalogue entries (cviPlayback.getstatus, 2.7 and 2.8) the one whose fields fit best wins.

A response cannot know its request; it is bound only when it names its method (NOTES 7).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dissectors.cvip import tables as T
from dissectors.cvip.options import Options
from dissectors.cvip.tables.enums import ACK_EVENT, ACK_RESPONSE
from dissectors.cvip.tables.methods import ACK_FIELD, EVENT_ACK_FIELD
from dissectors.cvip.tables.model import EnumSpec, FieldSpec, MethodSpec, ServiceSpec
from dissectors.cvip.xmlrpc import Value, XmlRpcBody

EVENT_METHOD = "cviEvent.notify"
# The ack code fields; their codes are named and checked through :class:`Ack` (the table
# depends on the ack_table option), so the field specs carry no enum of their own.
ACK_FIELDS = {
    T.fold(ACK_FIELD): FieldSpec(ACK_FIELD, "The error code to indicate whether the request is "
                                 "acknowledged successfully.", ("int", "string")),
    T.fold(EVENT_ACK_FIELD): FieldSpec(EVENT_ACK_FIELD, "The acknowledge return code from the "
                                       "server", ("int", "string")),
}
_ACK_SPACE = 0x01000000  # every ack code of both tables is 0x010000xx


@dataclass(slots=True)
class Param:
    """A parameter (or a member of a list response's record) bound to the catalogue."""

    value: Value | None
    name: str | None = None  # as sent; None for a positional parameter
    spec: FieldSpec | None = None
    position: int = 0  # 1-based position of a positional parameter
    name_offset: int = -1
    name_length: int = 0
    record: int = -1  # index of the record in a list response

    @property
    def label(self) -> str:
        if self.name is not None:
            return self.name
        return self.spec.name if self.spec is not None else f"#{self.position}"


@dataclass(slots=True)
class Binding:
    """``shape``: none, named, struct_list, positional, property_ids, property_values,
    records (a list response), or raw (no catalogue entry to bind against)."""

    shape: str
    params: list[Param] = field(default_factory=list)
    method: MethodSpec | None = None
    fields: tuple[FieldSpec, ...] = ()
    known: bool = True  # False: the document gives no table for this direction


@dataclass(slots=True)
class Ack:
    code: int | None
    name: str | None
    table: EnumSpec
    field: str | None  # ErrorCode / AckReturnCode as sent, None for a bare value
    value: Value


@dataclass(slots=True)
class Meaning:
    kind: str
    name: T.MethodName | None = None
    service: ServiceSpec | None = None
    candidates: tuple[MethodSpec, ...] = ()
    binding: Binding = field(default_factory=lambda: Binding("none"))
    ack: Ack | None = None
    fault_code: int | None = None
    fault_string: str | None = None

    @property
    def method(self) -> MethodSpec | None:
        return self.binding.method


def as_int(value: Value | None) -> int | None:
    """An integer read from an int, boolean, integral double or numeric string value."""
    if value is None or not value.ok:
        return None
    v = value.value
    cls = value.type_class
    if cls == "int" and isinstance(v, int):
        return v
    if cls == "boolean" and isinstance(v, bool):
        return int(v)
    if cls == "double" and isinstance(v, float) and v.is_integer():
        return int(v)
    if cls == "string" and isinstance(v, str):
        try:
            return int(v.strip(), 0)
        except ValueError:
            return None
    return None


def as_type_id(value: Value | None) -> int | None:
    """A type id: an integer, or the id part of a string like ``0x03.1`` (Service ID with
    its instance, as the Service ID table writes it)."""
    number = as_int(value)
    if number is None and value is not None and value.ok and isinstance(value.value, str):
        try:
            return int(value.value.strip().split(".")[0], 0)
        except ValueError:
            return None
    return number


def interpret(body: XmlRpcBody, opts: Options) -> Meaning:
    """The meaning of a decoded body (never raises)."""
    if body.root == "AnalyticsData":
        return Meaning("event", binding=Binding("raw", _raw(body.params)))
    if body.root == "methodCall":
        return _call(body, opts)
    if body.root == "methodResponse":
        return _response(body, opts)
    return Meaning("unknown")


def _resolve(method_name: str | None, opts: Options) -> Meaning:
    if not method_name:
        return Meaning("request")
    key = (method_name, opts.strict_spelling)
    found = _RESOLVED.get(key)
    if found is None:
        name = T.split_method(method_name)
        service = T.find_service(name.base, opts.strict_spelling) if name.base else None
        candidates = T.find_methods(service, name.method, opts.strict_spelling) \
            if name.base else ()
        found = (name, service, candidates)
        if len(_RESOLVED) >= _RESOLVED_SIZE:
            _RESOLVED.clear()
        _RESOLVED[key] = found
    return Meaning("request", *found)


# Method name as sent → its split name, service and catalogue entries (all immutable). A
# capture repeats a few hundred names; the memo is bounded against one of random names.
_RESOLVED: dict[tuple[str, bool],
                tuple[T.MethodName, ServiceSpec | None, tuple[MethodSpec, ...]]] = {}
_RESOLVED_SIZE = 4096


def _call(body: XmlRpcBody, opts: Options) -> Meaning:
    meaning = _resolve(body.method_name, opts)
    if body.method_name and T.fold(body.method_name) == T.fold(EVENT_METHOD):
        meaning.kind = "event"
    meaning.binding = bind(meaning.candidates, body.params, "request", opts)
    return meaning


def _response(body: XmlRpcBody, opts: Options) -> Meaning:
    meaning = _resolve(body.method_name, opts) if body.method_name else Meaning("response")
    if body.fault is not None:
        meaning.kind = "fault"
        members = {T.fold(m.name): m.value for m in body.fault.value} if (
            body.fault.type == "struct") else {}
        meaning.fault_code = as_int(members.get("faultcode"))
        string = members.get("faultstring")
        meaning.fault_string = str(string.value) if string is not None else None
        meaning.binding = Binding("raw", _raw([body.fault]))
        return meaning
    ack = find_ack(body.params, opts)
    if ack is not None:
        # AckReturnCode is the data answer of cviEvent.ack (§5.4 4.4), not an Acknowledge
        # Response (§3.1): a response whose code is still named.
        meaning.kind = "ack" if not _is_event_ack(ack) else "response"
        meaning.ack = ack
        fields: tuple[FieldSpec, ...] = ()
        for spec in meaning.candidates:
            fields = spec.response or ()
            meaning.binding = _bind_fields(spec, (_ack_field(ack), *fields), body.params, opts)
            break
        else:
            meaning.binding = _bind_fields(None, (_ack_field(ack),), body.params, opts)
        return meaning
    meaning.kind = "response"
    meaning.binding = bind(meaning.candidates, body.params, "response", opts)
    return meaning


def _is_event_ack(ack: Ack) -> bool:
    return ack.field is not None and T.fold(ack.field) == T.fold(EVENT_ACK_FIELD)


def _ack_field(ack: Ack) -> FieldSpec:
    return ACK_FIELDS[T.fold(ack.field or ACK_FIELD)]


def find_ack(params: list[Value], opts: Options) -> Ack | None:
    """The acknowledge code of a methodResponse, if it is an ack (§3.1)."""
    if not params:
        return None
    first = params[0]
    if first.type == "struct":
        for member in first.value:
            key = T.fold(member.name)
            if key in ACK_FIELDS and member.value is not None:
                code = as_int(member.value)
                name, table = ack_name(code, member.name, opts)
                return Ack(code, name, table, member.name, member.value)
        return None
    if len(params) == 1 and first.type_class in ("int", "string"):
        code = as_int(first)
        if code is not None and code & 0xFFFFFF00 == _ACK_SPACE:
            name, table = ack_name(code, None, opts)
            return Ack(code, name, table, None, first)
    return None


def ack_name(code: int | None, field_name: str | None,
             opts: Options) -> tuple[str | None, EnumSpec]:
    """Name an ack code from the table the ``ack_table`` option selects (NOTES 4)."""
    choice = opts.ack_table
    if choice == "auto":
        event = field_name is not None and T.fold(field_name) == T.fold(EVENT_ACK_FIELD)
        choice = "event" if event else "response"
    if choice == "either":
        names = [t.name_of(code) for t in (ACK_RESPONSE, ACK_EVENT)] if code is not None else []
        found = [n for n in names if n]
        table = ACK_RESPONSE if names and names[0] else ACK_EVENT
        if not found:
            return None, ACK_RESPONSE
        return ("/".join(dict.fromkeys(found)), table)
    table = ACK_EVENT if choice == "event" else ACK_RESPONSE
    return (table.name_of(code) if code is not None else None), table


# ---- binding parameters to the catalogue ------------------------------------------------


def _raw(params: list[Value]) -> list[Param]:
    if len(params) == 1 and params[0].type == "struct":
        return _members(params[0], ())
    return [Param(v, position=i + 1) for i, v in enumerate(params)]


def _members(struct: Value, fields: tuple[FieldSpec, ...], strict: bool = False,
             record: int = -1) -> list[Param]:
    if not fields:
        return [Param(m.value, m.name, None, 0, m.offset, m.length, record)
                for m in struct.value]
    if strict:
        return [Param(m.value, m.name, T.find_field(fields, m.name, True), 0, m.offset,
                      m.length, record) for m in struct.value]
    index, fold = T.field_index(fields), T.fold
    return [Param(m.value, m.name, index.get(fold(m.name)), 0, m.offset, m.length, record)
            for m in struct.value]


def bind(candidates: tuple[MethodSpec, ...], params: list[Value], direction: str,
         opts: Options) -> Binding:
    """Bind parameters to the best-fitting catalogue entry (or to none)."""
    best: Binding | None = None
    best_score = 0
    for spec in candidates:
        fields = spec.request if direction == "request" else spec.response
        binding = _bind_spec(spec, fields or (), params, direction, opts)
        binding.known = fields is not None or (direction == "request" and spec.shape != "fields")
        score = sum(1 if p.spec is not None else -1 for p in binding.params)
        if best is None or score > best_score:
            best, best_score = binding, score
    if best is not None:
        return best
    if not params:
        return Binding("none")
    return Binding("raw", _raw(params))


def _bind_spec(spec: MethodSpec, fields: tuple[FieldSpec, ...], params: list[Value],
               direction: str, opts: Options) -> Binding:
    if direction == "request" and spec.shape == "property_ids":
        items = params
        if len(params) == 1 and params[0].type == "array":
            items = params[0].value
        return Binding("property_ids", [Param(v, position=i + 1) for i, v in enumerate(items)],
                       spec)
    if direction == "request" and spec.shape == "property_values":
        if len(params) == 1 and params[0].type == "struct":
            return Binding("property_values", _members(params[0], ()), spec)
        return Binding("raw", _raw(params), spec)
    if direction == "response" and spec.response_shape == "property_values":
        if len(params) == 1 and params[0].type == "struct":
            return Binding("property_values", _members(params[0], ()), spec)
        return Binding("raw", _raw(params), spec)
    if direction == "response" and spec.response_list:
        return _bind_records(spec, fields, params, opts)
    return _bind_fields(spec, fields, params, opts)


def _bind_fields(spec: MethodSpec | None, fields: tuple[FieldSpec, ...], params: list[Value],
                 opts: Options) -> Binding:
    strict = opts.strict_spelling
    if not params:
        return Binding("none", [], spec, fields)
    if len(params) == 1 and params[0].type == "struct":
        return Binding("named", _members(params[0], fields, strict), spec, fields)
    if (len(params) == 1 and params[0].type == "array" and params[0].value and fields
            and all(v.type == "struct" for v in params[0].value)
            and all(T.find_field(fields, m.name, strict) is not None
                    for v in params[0].value for m in v.value)):
        merged = [p for v in params[0].value for p in _members(v, fields, strict)]
        return Binding("struct_list", merged, spec, fields)
    positional = [Param(v, None, fields[i] if i < len(fields) else None, i + 1)
                  for i, v in enumerate(params)]
    return Binding("positional", positional, spec, fields)


def _bind_records(spec: MethodSpec, fields: tuple[FieldSpec, ...], params: list[Value],
                  opts: Options) -> Binding:
    """A list response: one array whose items are records (structs) or plain values."""
    items = params[0].value if len(params) == 1 and params[0].type == "array" else params
    out: list[Param] = []
    for i, item in enumerate(items):
        if item.type == "struct":
            out += _members(item, fields, opts.strict_spelling, record=i)
        else:
            out.append(Param(item, None, None, i + 1, record=i))
    return Binding("records", out, spec, fields)


def params_plain(binding: Binding, params: list[Value]) -> object:
    """``attrs["params"]``: a dict for named parameters (one struct), a list for
    positional ones."""
    if len(params) == 1 and params[0].type == "struct":
        return params[0].plain()
    if binding.shape == "struct_list":
        out: dict[str, object] = {}
        for p in binding.params:
            key, n = p.label, 2
            while key in out:
                key, n = f"{p.label}#{n}", n + 1
            out[key] = p.value.plain() if p.value is not None else None
        return out
    if binding.shape == "property_ids" and len(params) == 1 and params[0].type == "array":
        return params[0].plain()
    return [v.plain() for v in params]


def params_by_name(binding: Binding) -> dict[str, object]:
    """Catalogue name → value for every parameter the catalogue names (both shapes)."""
    out: dict[str, object] = {}
    for p in binding.params:
        if p.spec is not None and p.record < 0:
            out.setdefault(p.spec.name, p.value.plain() if p.value is not None else None)
    return out
