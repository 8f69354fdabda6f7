"""The dissection tree of a CVIPv2 XML-RPC message, and the list of every filter key the
dissector emits (:data:`FIELDS`, for ``cvipsniff fields``).

Parameters named by the catalogue get their own key, ``cvip.param.<name>`` with the name
as the catalogue spells it (``cvip.param.CmdType``); anything else is ``cvip.param``
(labelled with the name as sent or its position). Inside structs and arrays, members are
``cvip.member`` and items ``cvip.item``. Enum and bit-set values are shown by name; the
value itself stays the number, so ``cvip.param.CmdType == 1`` filters as expected.
"""

from __future__ import annotations

from dissectors.base import Field, FieldInfo
from dissectors.cvip import tables as T
from dissectors.cvip.semantics import Binding, Param, as_int
from dissectors.cvip.tables.enums import BIT_SETS, ENUMS
from dissectors.cvip.tables.model import FieldSpec
from dissectors.cvip.xmlrpc import Value

_MAX_SHOWN = 120  # characters of a string shown in a display line

_PROPERTY_NAMES = {T.fold(p.id): p.id for p in T.PROPERTIES}


def describe(value: Value | None, spec: FieldSpec | None = None) -> str:
    """How a person reads a value: enum names, bit names, quoted strings."""
    if value is None:
        return "(no value)"
    if value.type == "struct":
        return f"struct ({len(value.value)} members)"
    if value.type == "array":
        return f"array ({len(value.value)} items)"
    v = value.value
    number = as_int(value) if spec is not None and (spec.enum or spec.bits) else None
    if spec is not None and spec.enum and number is not None:
        name = ENUMS[spec.enum].name_of(number)
        return f"{name or 'unknown'} ({number})"
    if spec is not None and spec.bits and number is not None:
        names = BIT_SETS[spec.bits].names_of(number)
        return f"{'|'.join(names) or 'none'} (0x{number:02x})"
    if v is None:
        return "nil" if value.type == "nil" else f"(empty <{value.type}>)"
    if isinstance(v, bool):
        return "true (1)" if v else "false (0)"
    if isinstance(v, str):
        shown = v if len(v) <= _MAX_SHOWN else v[:_MAX_SHOWN] + "…"
        text = '"' + shown.replace("\n", "\\n") + '"'
        if value.type == "base64":
            return f"{text} (base64, {len(''.join(v.split())) * 3 // 4} bytes)"
        return text
    return str(v)


def value_field(key: str, label: str, value: Value | None, spec: FieldSpec | None = None) -> Field:
    """A value and, for structs and arrays, everything inside it."""
    if value is None:
        return Field(key, label, None, "(no value)")
    node = Field(key, label, _scalar(value), describe(value, spec), value.offset, value.length)
    if value.type == "struct":
        node.children = [value_field("cvip.member", m.name, m.value) for m in value.value]
    elif value.type == "array":
        node.children = [value_field("cvip.item", f"[{i}]", v) for i, v in enumerate(value.value)]
    return node


def _scalar(value: Value) -> object:
    if value.type == "struct":
        return len(value.value)
    if value.type == "array":
        return len(value.value)
    return value.value


def param_key(p: Param, shape: str) -> str:
    if p.spec is not None:
        return f"cvip.param.{p.spec.name}"
    if shape == "property_ids":
        return "cvip.property"
    if shape == "property_values" and p.name is not None:
        known = _PROPERTY_NAMES.get(T.fold(p.name))
        if known is not None:
            return f"cvip.param.{known}"
    return "cvip.param"


def _param_field(p: Param, shape: str) -> Field:
    label = p.label
    if p.name is None and p.spec is not None:
        label = f"{p.spec.name} (#{p.position})"
    node = value_field(param_key(p, shape), label, p.value, p.spec)
    if node.offset < 0 and p.name_offset >= 0:
        node.offset, node.length = p.name_offset, p.name_length
    return node


def params_field(binding: Binding) -> Field:
    """The parameters subtree: one node per parameter, or per record of a list response."""
    children: list[Field] = []
    if binding.shape == "records":
        records: dict[int, list[Field]] = {}
        for p in binding.params:
            records.setdefault(p.record, []).append(_param_field(p, binding.shape))
        for index, kids in records.items():
            children.append(Field("cvip.record", f"Record {index + 1}", index,
                                  f"record {index + 1} ({len(kids)} fields)", -1, 0, kids))
    else:
        children = [_param_field(p, binding.shape) for p in binding.params]
    count = len(children)
    noun = "records" if binding.shape == "records" else "parameters"
    return Field("cvip.params", "Parameters", count, f"{count} {noun} ({binding.shape})", -1, 0,
                 children)


def _info(key: str, label: str, type_: str, description: str = "") -> FieldInfo:
    return FieldInfo(key, label, type_, description)


_FIXED: tuple[FieldInfo, ...] = (
    _info("cvip.header", "CVIP Header 2.0", "node", "the 9-byte message header"),
    _info("cvip.version", "Protocol Version", "uint16", "0x0201 in CVIPv2"),
    _info("cvip.byte_order", "Byte order", "string", "big or little (decided from the version)"),
    _info("cvip.type", "Message Type", "uint8", "0x01 for Discovery Ping, 0x00 otherwise"),
    _info("cvip.response", "Response flag", "boolean", "MSB of the transaction number"),
    _info("cvip.txn", "Transaction Number", "uint16", "15 bits"),
    _info("cvip.size", "Packet Size", "uint32", "message size including the header"),
    _info("cvip.ping", "CVIP Ping", "node"),
    _info("cvip.ping.ip", "IP Address", "ipv4"),
    _info("cvip.ping.port", "CVIP Port", "uint16"),
    _info("cvip.ping.connection_type", "Connection Type", "uint8",
          "UDP unicast 0x01, multicast 0x02, broadcast 0x10, TCP 0x0C"),
    _info("cvip.ping.guid", "Unit GUID", "guid"),
    _info("cvip.ping.manufacturer", "Manufacturer ID", "uint16"),
    _info("cvip.ping.product", "Product Type", "uint16"),
    _info("cvip.ping.status", "Status", "uint8", "1 if the unit rebooted since the last request"),
    _info("cvip.body", "XML-RPC body", "node"),
    _info("cvip.kind", "Message kind", "string", "request, response, ack, event, fault"),
    _info("cvip.method", "Method", "string", "the full method name as sent"),
    _info("cvip.service", "Service", "string", "the method name up to the last dot"),
    _info("cvip.method_name", "Method name", "string", "the method name after the last dot"),
    _info("cvip.ack.code", "Ack code", "uint32"),
    _info("cvip.ack.name", "Ack code name", "string"),
    _info("cvip.fault.code", "Fault code", "int32"),
    _info("cvip.fault.string", "Fault string", "string"),
    _info("cvip.params", "Parameters", "node"),
    _info("cvip.param", "Parameter", "any", "a parameter the catalogue does not name"),
    _info("cvip.property", "Property id", "string", "a property asked for by getProperties"),
    _info("cvip.record", "Record", "node", "one record of a list response"),
    _info("cvip.member", "Struct member", "any"),
    _info("cvip.item", "Array item", "any"),
    _info("cvip.analytics", "AnalyticsData", "node"),
    _info("cvip.analytics.source", "DataSourceGUID", "string"),
    _info("cvip.analytics.time", "DataTime", "string"),
    _info("cvip.analytics.valid", "Bounding boxes valid", "boolean"),
    _info("cvip.analytics.box", "Bounding box", "node"),
    _info("cvip.analytics.box.left", "Left", "int32"),
    _info("cvip.analytics.box.top", "Top", "int32"),
    _info("cvip.analytics.box.right", "Right", "int32"),
    _info("cvip.analytics.box.bottom", "Bottom", "int32"),
    _info("cvip.analytics.block", "Block (x, y)", "any"),
)

FIELDS: tuple[FieldInfo, ...] = _FIXED + tuple(
    _info(f"cvip.param.{name}", name, "any", "catalogue field or property")
    for name in T.all_field_names()
) + (
    _info("cvip.param.ErrorCode", "ErrorCode", "uint32", "acknowledge error code"),
)
