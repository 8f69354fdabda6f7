"""Handlers every unit has: ``system.*`` and the per-service discovery methods ("Discover
Services"), properties ("Configure Device"), firmware update ("Update Device Firmware")
and event subscriptions ("Manage Event Service")."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from cvipsniff.sim.cvip.calls import Ack, Args, Ctx, Data, Reply, fail, invalid, struct_of
from cvipsniff.sim.cvip.catalogue import (
    EVENT_GROUPS,
    ROLE_EVENT_GROUPS,
    Method,
    Param,
    Property,
    PropertyStore,
    Service,
    methods_of,
)
from cvipsniff.sim.cvip.constants import (
    FW_STATE_COMPLETED,
    AckCode,
    EventAckCode,
)
from cvipsniff.sim.cvip.unit import Unit
from cvipsniff.sim.cvip.values import Struct, TypeOnly, UInt

Handler = Callable[[Ctx, Args], Reply]
HandlerKey = tuple[str, str, str | None]

# --- system.* -------------------------------------------------------------------------


def _describe(service_id: str, name: str, properties: bool, functions: bool) -> Struct:
    # Member spelled "functionsSupport" as in both of the spec's describe examples (the
    # field table says functionSupport).
    return struct_of((
        ("id", service_id),
        ("name", name),
        ("version", "1.0"),
        ("propertySupport", UInt(int(properties))),
        ("functionsSupport", UInt(int(functions))),
    ))


def system_describe(unit: Unit) -> Data:
    name = str(unit.properties["cviunit"].values["unitCvipName"])
    return Data(_describe(f"{unit.role.upper()}_{unit.guid[-4:]}", name, False, False))


def system_list_services(unit: Unit) -> Data:
    return Data([service.id for service in unit.services])


def system_list_events(unit: Unit) -> Data:
    return Data([
        struct_of((("id", group), ("name", EVENT_GROUPS[group][0])))
        for group in ROLE_EVENT_GROUPS[unit.role]
    ])


SYSTEM_HANDLERS: dict[str, Callable[[Unit], Data]] = {
    "describe": system_describe,
    "listservices": system_list_services,
    "listevents": system_list_events,
}

# --- <service>.* discovery ------------------------------------------------------------


def service_describe(unit: Unit, service: Service) -> Data:
    return Data(_describe(service.id, service.name, service.properties, service.functions))


def group_list_events(unit: Unit, group: str) -> Data:
    """``<group>.listEvents``: the events of an event group (``cviVideo.listEvents``)."""
    events = EVENT_GROUPS[group][1] if group in ROLE_EVENT_GROUPS[unit.role] else ()
    return Data([struct_of((("id", eid), ("name", ename))) for eid, ename in events])


def _typed_property_value(prop: Property, value: Any) -> Any:
    if prop.type == "uint":
        return UInt(int(value))
    if prop.type == "int":
        return int(value)
    return str(value)


def current_value(unit: Unit, store: PropertyStore, prop: Property) -> Any:
    if prop.id == "unitUpTime":
        return UInt(unit.uptime_seconds())
    return _typed_property_value(prop, store.values[prop.id])


def _rule_members(prop: Property) -> list[tuple[str, Any]]:
    if prop.validation == "range":
        low, high, step = prop.rule
        return [("range", f"{low},{high},{step}")]
    if prop.validation == "list":
        return [("list", choice) for choice in prop.rule]
    if prop.validation == "regexp":
        return [("regexp", prop.rule)]
    return []


def list_properties(unit: Unit, store: PropertyStore) -> Data:
    """Each property with its id, friendly name, value, validation, access and units
    (Discover Services 6)."""
    return Data([
        struct_of((
            ("id", prop.id),
            ("name", prop.name),
            ("value", current_value(unit, store, prop)),
            ("validation", prop.validation),
            *_rule_members(prop),
            ("access", prop.access),
            ("units", prop.units),
        ))
        for prop in store.table
    ])


def get_properties(unit: Unit, store: PropertyStore, params: list[Any]) -> Data:
    """``getProperties`` with an array of property ids (no param or an empty array: all)."""
    if not params:
        names = [prop.id for prop in store.table]
    elif len(params) == 1 and isinstance(params[0], list):
        names = params[0]
    else:
        names = params
    if not all(isinstance(name, str) for name in names):
        raise invalid("getProperties takes property ids (strings)")
    if not names:
        names = [prop.id for prop in store.table]
    members = []
    for name in names:
        prop = store.find(name)
        if prop is None:
            raise invalid(f"{store.service} has no property {name!r}")
        members.append((prop.id, current_value(unit, store, prop)))
    return Data(struct_of(members))


def _check_property_value(prop: Property, value: Any) -> Any:
    if prop.type in ("uint", "int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(f"{prop.id} takes an integer")
        if prop.type == "uint" and value < 0:
            raise invalid(f"{prop.id} must not be negative")
    elif not isinstance(value, str):
        raise invalid(f"{prop.id} takes a string")
    if prop.validation == "range":
        low, high, _step = prop.rule
        if not low <= int(value) <= high:
            raise invalid(f"{prop.id} {value} outside {low}..{high}")
    elif prop.validation == "list" and value not in prop.rule:
        raise invalid(f"{prop.id} {value!r} not one of {list(prop.rule)}")
    elif prop.validation == "regexp" and not re.fullmatch(prop.rule, str(value)):
        raise invalid(f"{prop.id} {value!r} does not match its regexp")
    return value


def set_properties(unit: Unit, store: PropertyStore, params: list[Any]) -> Ack:
    """``setProperties`` with a struct of id → new value, all or nothing.

    Unknown ids and bad values are Invalid; a read-only property (the "Properties"
    table's access column) is Fail: the syntax is right but the operation cannot be
    done."""
    if len(params) != 1 or not isinstance(params[0], Struct) or not len(params[0]):
        raise invalid("setProperties takes one struct of property ids and values")
    updates: list[tuple[Property, Any]] = []
    for name, value in params[0]:
        prop = store.find(name)
        if prop is None:
            raise invalid(f"{store.service} has no property {name!r}")
        updates.append((prop, value))
    read_only = [prop.id for prop, _ in updates if not prop.writable]
    if read_only:
        raise fail(f"read-only: {', '.join(read_only)}")
    checked = [(prop, _check_property_value(prop, value)) for prop, value in updates]
    for prop, value in checked:
        store.values[prop.id] = value
    return Ack(AckCode.SUCCESS)


# How listParameters describes the string formats the peers check (NOTES 13).
FORMAT_REGEXPS = {
    "playback-time": r"^[0-9]{14}$",
    "event-time": r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$",
    "guid": r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{13}$",
    "ipv4": r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$",
    "md5": r"^[0-9A-Fa-f]{32}$",
}


def _param_description(param: Param, *, request: bool) -> Struct:
    members: list[tuple[str, Any]] = [
        ("id", param.name),
        ("name", param.label or param.name),
        ("valueType", TypeOnly(param.type)),
    ]
    if request:
        if param.choices is not None:
            members.append(("validation", "list"))
            members += [("list", choice) for choice in param.choices]
        elif param.bounds is not None:
            low, high = param.bounds
            members += [("validation", "range"), ("range", f"{low},{high},1")]
        elif param.magnitude is not None:
            top = param.magnitude[1]
            members += [("validation", "range"), ("range", f"-{top},{top},1")]
        elif param.bits is not None:
            members += [("validation", "range"), ("range", f"0,{param.bits},1")]
        elif param.fmt is not None:
            members += [("validation", "regexp"), ("regexp", FORMAT_REGEXPS[param.fmt])]
        else:
            members.append(("validation", "none"))
    members.append(("units", "n/a"))
    if request:
        members.append(("paramType", "mandatory" if param.required else "optional"))
    return struct_of(members)


def list_functions(unit: Unit, service: Service) -> Data:
    """Custom functions of a service (Discover Services 7): its methods in the catalogue;
    list-shaped answers may come as several blocks."""
    seen: set[str] = set()
    out = []
    for method in methods_of(service.method_family, unit.role):
        if method.name in seen:
            continue
        seen.add(method.name)
        out.append(struct_of((
            ("methodName", method.name),
            ("multiCallSupport", UInt(0)),
            ("multiAnswerSupport", UInt(1 if method.reply == "list" else 0)),
        )))
    return Data(out)


def list_parameters(unit: Unit, service: Service, params: list[Any]) -> Data:
    """Request and answer blocks of one custom function (Discover Services 8)."""
    name: Any = None
    if len(params) == 1 and isinstance(params[0], str):
        name = params[0]
    elif len(params) == 1 and isinstance(params[0], Struct):
        name = params[0].get("methodName")
    if not isinstance(name, str) or not name:
        raise invalid("listParameters takes a methodName")
    variants = [
        m for m in methods_of(service.method_family, unit.role)
        if m.name.casefold() == name.casefold()
    ]
    if not variants:
        raise invalid(f"{service.id} has no function {name!r}")
    method: Method = variants[0]
    answer = method.answer
    if method.reply == "ack":
        answer = (Param("ErrorCode", "uint", "Error code"), *answer)
    return Data(struct_of((
        ("methodCall", [_param_description(p, request=True) for p in method.params]),
        ("methodResponse", [_param_description(p, request=False) for p in answer]),
    )))


# --- firmware update ------------------------------------------------------------------


def start_firmware_update(ctx: Ctx, args: Args) -> Reply:
    unit = ctx.unit
    if unit.firmware.busy:
        return Ack(AckCode.BUSY, reason="an update is already in progress")
    unit.firmware.start(args["imageFileId"], args["authenticationId"])
    return Ack(AckCode.SUCCESS)


def get_progress_info(ctx: Ctx, args: Args) -> Reply:
    """Shape as the spec's example: an array holding one struct of strings."""
    unit = ctx.unit
    firmware = unit.firmware
    if firmware.busy and firmware.advance():
        unit.rebooted = True
        unit.boot_time = unit.clock()
        unit.properties["cviunit"].values["unitFirmwareVersion"] = firmware.new_version()
    done = firmware.total_bytes if firmware.state == FW_STATE_COMPLETED else firmware.done_bytes
    return Data([struct_of((
        ("state", firmware.state),
        ("status", firmware.status),
        ("bytesProgress", str(done)),
        ("totalBytesProgress", str(firmware.total_bytes)),
    ))])


# --- events ---------------------------------------------------------------------------


def subscribe(ctx: Ctx, args: Args) -> Reply:
    mask, channel = int(args["Type"]), int(args["Id"])
    if mask == 0:
        raise invalid("no event type selected")
    if channel > max(ctx.unit.inputs, 2):
        raise fail(f"no channel {channel}")
    subs = ctx.session.subscriptions
    for i, (old_mask, old_channel) in enumerate(subs):
        if old_channel == channel:
            subs[i] = (old_mask | mask, channel)
            break
    else:
        if len(subs) >= 64:
            raise fail("too many subscriptions")
        subs.append((mask, channel))
    return Ack(AckCode.SUCCESS)


def unsubscribe(ctx: Ctx, args: Args) -> Reply:
    mask, channel = int(args["Type"]), int(args["Id"])
    subs = ctx.session.subscriptions
    touched = False
    kept = []
    for old_mask, old_channel in subs:
        if (channel == 0 or old_channel == channel) and old_mask & mask:
            touched = True
            old_mask &= ~mask
        if old_mask:
            kept.append((old_mask, old_channel))
    if not touched:
        raise fail("not subscribed to these events")
    subs[:] = kept
    return Ack(AckCode.SUCCESS)


def event_ack(ctx: Ctx, args: Args) -> Reply:
    """cviEvent.ack answers with AckReturnCode from its own table (NVR 4.4)."""
    unit = ctx.unit
    if args["AppGUID"] not in unit.app_guids or args["EventGUID"] not in unit.events:
        code = EventAckCode.FAIL
    else:
        unit.acked_events[args["EventGUID"]] = args["AckString"]
        code = EventAckCode.SUCCESS
    return Data(struct_of((("AckReturnCode", UInt(code)),)))


HANDLERS: dict[HandlerKey, Handler] = {
    ("cviupdatefirmware", "startfirmwareupdate", None): start_firmware_update,
    ("cviupdatefirmware", "getprogressinfo", None): get_progress_info,
    ("cvievent", "subscribe", None): subscribe,
    ("cvievent", "unsubscribe", None): unsubscribe,
    ("cvievent", "ack", None): event_ack,
}
