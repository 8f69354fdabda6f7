"""Master server services: device profiles, device entities, users and applications
(spec "Master Server Protocol", sections 1-4).

Methods whose table has an ``AppGUID`` field need one handed out by ``cviUser.login``
and not yet logged out ("an authorized client"); otherwise they fail."""

from __future__ import annotations

from typing import Any

from cvipsniff.sim.cvip.calls import (
    PAGE_SIZE,
    Ack,
    Args,
    Ctx,
    Data,
    Reply,
    fail,
    invalid,
    next_page,
    struct_of,
)
from cvipsniff.sim.cvip.common import Handler, HandlerKey
from cvipsniff.sim.cvip.constants import APPLICATION_PROPERTIES, PROFILE_PROPERTIES
from cvipsniff.sim.cvip.unit import Unit, md5_hex
from cvipsniff.sim.cvip.values import Struct, UInt

MAX_RECORDS = 4096  # users, groups, entities, ...: a bound against a runaway client


def _wire(value: Any) -> Any:
    """Integers the master stores go back on the wire as <uint> when not negative."""
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    return UInt(value) if value >= 0 else value


def _authorized(ctx: Ctx, args: Args) -> None:
    if args["AppGUID"] not in ctx.unit.app_guids:
        raise fail("not logged in (unknown AppGUID)")


def _room(table: dict[Any, Any]) -> None:
    if len(table) >= MAX_RECORDS:
        raise fail("table full")


def _scalar_extras(args: Args, allowed: tuple[str, ...] | None = None) -> list[tuple[str, Any]]:
    """Extra members (profile/entity/application properties): scalars only, and when
    ``allowed`` is given, only those names (the spec's property tables)."""
    out = []
    allowed_folded = {a.casefold(): a for a in allowed} if allowed is not None else None
    for name, value in args.extras:
        if isinstance(value, Struct | list):
            raise invalid(f"property {name} must be a scalar")
        if allowed_folded is not None:
            if name.casefold() not in allowed_folded:
                raise invalid(f"{name} is not a property of this type")
            name = allowed_folded[name.casefold()]
        out.append((name, value))
    return out


def _merge(props: list[tuple[str, Any]], updates: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    merged = dict(props)
    merged.update(updates)
    return list(merged.items())


# --- users (Master 3) -----------------------------------------------------------------


def user_login(ctx: Ctx, args: Args) -> Reply:
    unit = ctx.unit
    user, password = args["UserName"].lower(), args["PassWord"].lower()
    if unit.credentials.get(user) != password:
        raise fail("wrong user name or password")
    if len(unit.app_guids) >= 256:
        unit.app_guids.pop(next(iter(unit.app_guids)))
    app_guid = unit.new_guid(0x00A00000 + unit.next_id("app-guid"))
    unit.app_guids[app_guid] = user
    return Ack(extra=(("AppGUID", app_guid),))


def user_logout(ctx: Ctx, args: Args) -> Reply:
    if ctx.unit.app_guids.pop(args["AppGUID"], None) is None:
        raise fail("not logged in")
    return Ack()


def user_list_groups(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    return Data([
        struct_of((("GroupID", UInt(gid)), ("GroupName", g["GroupName"]),
                   ("GroupDescription", g["GroupDescription"])))
        for gid, g in ctx.unit.user_groups.items()
    ])


def user_add_group(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    unit = ctx.unit
    _room(unit.user_groups)
    if any(g["GroupName"] == args["GroupName"] for g in unit.user_groups.values()):
        raise fail(f"user group {args['GroupName']!r} exists")
    gid = unit.next_id("user-group")
    unit.user_groups[gid] = {name: args[name] for name in
                             ("GroupName", "GroupDescription", "GroupPrivilege")}
    return Ack(extra=(("GroupID", UInt(gid)),))


def _user_group(unit: Unit, gid: int) -> dict[str, Any]:
    group = unit.user_groups.get(gid)
    if group is None:
        raise fail(f"no user group {gid}")
    return group


def user_update_group(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    group = _user_group(ctx.unit, int(args["GroupID"]))
    group.update({name: args[name] for name in
                  ("GroupName", "GroupDescription", "GroupPrivilege")})
    return Ack()


def user_delete_group(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    gid = int(args["GroupID"])
    _user_group(ctx.unit, gid)
    if any(u["GroupID"] == gid for u in ctx.unit.users.values()):
        raise fail(f"user group {gid} still has users")
    del ctx.unit.user_groups[gid]
    return Ack()


def user_list_users(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    return Data([
        struct_of((
            ("UserID", UInt(uid)), ("UserName", u["UserName"]),
            ("UserDescription", u["UserDescription"]), ("UserPriority", _wire(u["UserPriority"])),
            ("UserPrivilege", _wire(u["UserPrivilege"])), ("GroupID", _wire(u["GroupID"])),
        ))
        for uid, u in ctx.unit.users.items()
    ])


_USER_FIELDS = ("UserName", "UserDescription", "UserPrivilege", "UserPriority", "GroupID")


def user_add(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    unit = ctx.unit
    _room(unit.users)
    _user_group(unit, int(args["GroupID"]))
    if any(u["UserName"] == args["UserName"] for u in unit.users.values()):
        raise fail(f"user {args['UserName']!r} exists")
    uid = unit.next_id("user")
    unit.users[uid] = {name: args[name] for name in _USER_FIELDS}
    return Ack(extra=(("UserID", UInt(uid)),))


def _user(unit: Unit, uid: int) -> dict[str, Any]:
    user = unit.users.get(uid)
    if user is None:
        raise fail(f"no user {uid}")
    return user


def user_update(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    unit = ctx.unit
    user = _user(unit, int(args["UserID"]))
    _user_group(unit, int(args["GroupID"]))
    unit.credentials.pop(md5_hex(user["UserName"]), None)
    user.update({name: args[name] for name in _USER_FIELDS})
    unit.credentials[md5_hex(user["UserName"])] = args["UserPassword"].lower()
    return Ack()


def user_delete(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    unit = ctx.unit
    uid = int(args["UserID"])
    user = _user(unit, uid)
    unit.credentials.pop(md5_hex(user["UserName"]), None)
    del unit.users[uid]
    unit.mounts = {m for m in unit.mounts if m[0] != uid}
    return Ack()


def _mount_key(ctx: Ctx, args: Args) -> tuple[int, int, int]:
    _authorized(ctx, args)
    uid, eid = int(args["UserID"]), int(args["EntityID"])
    _user(ctx.unit, uid)
    entity = _entity(ctx.unit, eid)
    if int(entity["EntityTypeID"]) != int(args["EntityType"]):
        raise fail(f"entity {eid} is not of type {int(args['EntityType'])}")
    return uid, eid, int(args["EntityType"])


def user_mount(ctx: Ctx, args: Args) -> Reply:
    ctx.unit.mounts.add(_mount_key(ctx, args))
    return Ack()


def user_unmount(ctx: Ctx, args: Args) -> Reply:
    key = _mount_key(ctx, args)
    if key not in ctx.unit.mounts:
        raise fail("entity is not mounted on that user")
    ctx.unit.mounts.discard(key)
    return Ack()


# --- profiles (Master 1) --------------------------------------------------------------


def profile_list(ctx: Ctx, args: Args) -> Reply:
    ptype = int(args["ProfileTypeID"])
    return Data([
        struct_of((
            ("GUID", ctx.unit.guid), ("ProfileTypeID", UInt(ptype)), ("ProfileID", UInt(pid)),
            *((name, _wire(value)) for name, value in p["props"]),
        ))
        for pid, p in ctx.unit.profiles.items() if p["ProfileTypeID"] == ptype
    ])


def profile_add(ctx: Ctx, args: Args) -> Reply:
    unit = ctx.unit
    _room(unit.profiles)
    ptype = int(args["ProfileTypeID"])
    props = _scalar_extras(args, PROFILE_PROPERTIES[ptype])
    pid = unit.next_id("profile")
    unit.profiles[pid] = {"ProfileTypeID": ptype, "props": props}
    return Ack(extra=(("ProfileID", UInt(pid)),))


def _profile(unit: Unit, pid: int, ptype: int) -> dict[str, Any]:
    profile = unit.profiles.get(pid)
    if profile is None or profile["ProfileTypeID"] != ptype:
        raise fail(f"no profile {pid} of type {ptype}")
    return profile


def profile_update(ctx: Ctx, args: Args) -> Reply:
    ptype = int(args["ProfileTypeID"])
    profile = _profile(ctx.unit, int(args["ProfileID"]), ptype)
    profile["props"] = _merge(profile["props"], _scalar_extras(args, PROFILE_PROPERTIES[ptype]))
    return Ack()


def profile_delete(ctx: Ctx, args: Args) -> Reply:
    pid = int(args["ProfileID"])
    _profile(ctx.unit, pid, int(args["ProfileType"]))
    del ctx.unit.profiles[pid]
    return Ack()


# --- entities (Master 2) --------------------------------------------------------------


def _bump(unit: Unit, entity_type: int) -> None:
    version, _ = unit.entity_versions.get(entity_type, (0, unit.clock()))
    unit.entity_versions[entity_type] = (version + 1, unit.clock().replace(microsecond=0))


def _entity(unit: Unit, eid: int) -> dict[str, Any]:
    entity = unit.entities.get(eid)
    if entity is None:
        raise fail(f"no entity {eid}")
    return entity


def _entity_group(unit: Unit, gid: int, entity_type: int) -> dict[str, Any]:
    group = unit.entity_groups.get(gid)
    if group is None or int(group["EntityTypeID"]) != entity_type:
        raise fail(f"no entity group {gid} of type {entity_type}")
    return group


def entity_list_groups(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    etype = int(args["EntityTypeID"])
    return Data([
        struct_of((("EntityTypeID", UInt(etype)), ("GroupID", UInt(gid)),
                   ("GroupName", g["GroupName"]), ("GroupDesc", g["GroupDesc"])))
        for gid, g in ctx.unit.entity_groups.items() if int(g["EntityTypeID"]) == etype
    ])


def entity_add_group(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    unit = ctx.unit
    _room(unit.entity_groups)
    gid = unit.next_id("entity-group")
    unit.entity_groups[gid] = {
        "EntityTypeID": int(args["EntityTypeID"]), "GroupName": args["GroupName"],
        "GroupDesc": args["GroupDescription"],
    }
    return Ack(extra=(("GroupID", UInt(gid)),))


def entity_update_group(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    group = _entity_group(ctx.unit, int(args["GroupID"]), int(args["EntityTypeID"]))
    group.update(GroupName=args["GroupName"], GroupDesc=args["GroupDescription"])
    return Ack()


def entity_delete_group(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    gid = int(args["GroupID"])
    _entity_group(ctx.unit, gid, int(args["EntityTypeID"]))
    if any(e["GroupID"] == gid for e in ctx.unit.entities.values()):
        raise fail(f"entity group {gid} is not empty")
    del ctx.unit.entity_groups[gid]
    return Ack()


def entity_query(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    etype = int(args["EntityTypeID"])
    version, stamp = ctx.unit.entity_versions.get(etype, (0, ctx.unit.boot_time))
    return Data(struct_of((
        ("EntityTypeID", UInt(etype)), ("Version", UInt(version)),
        ("TimeStamp", stamp.strftime("%Y-%m-%d %H:%M:%S")),
    )))


def entity_list(ctx: Ctx, args: Args) -> Reply:
    """One page of entities of a type; ask again for the next page (see next_page)."""
    _authorized(ctx, args)
    etype = int(args["EntityTypeID"])
    matches = [(eid, e) for eid, e in ctx.unit.entities.items() if int(e["EntityTypeID"]) == etype]
    offset, last = next_page(ctx.session, ("cviEntity.list", etype), len(matches))
    return Data([
        struct_of((
            ("IsLastPage", last), ("EntityTypeID", UInt(etype)), ("GroupID", _wire(e["GroupID"])),
            ("EntityID", UInt(eid)), ("EntityName", e["EntityName"]),
            ("EntityDesc", e["EntityDesc"]), *((n, _wire(v)) for n, v in e["props"]),
        ))
        for eid, e in matches[offset : offset + PAGE_SIZE]
    ])


def _entity_fields(args: Args) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """EntityName/EntityDesc ride among the entity properties in add/update requests."""
    named: dict[str, Any] = {}
    props = []
    for name, value in _scalar_extras(args):
        if name.casefold() in ("entityname", "entitydesc"):
            named["EntityName" if name.casefold() == "entityname" else "EntityDesc"] = str(value)
        else:
            props.append((name, value))
    return named, props


def entity_add(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    unit = ctx.unit
    _room(unit.entities)
    etype, gid = int(args["EntityTypeID"]), int(args["GroupID"])
    _entity_group(unit, gid, etype)
    named, props = _entity_fields(args)
    eid = unit.next_id("entity")
    unit.entities[eid] = {
        "EntityTypeID": etype, "GroupID": gid,
        "EntityName": named.get("EntityName", f"Entity {eid}"),
        "EntityDesc": named.get("EntityDesc", ""), "props": props,
    }
    _bump(unit, etype)
    return Ack(extra=(("EntityID", UInt(eid)),))


def entity_update(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    entity = _entity(ctx.unit, int(args["EntityID"]))
    if int(entity["EntityTypeID"]) != int(args["EntityTypeID"]):
        raise fail("entity type differs")
    named, props = _entity_fields(args)
    entity.update(named)
    entity["props"] = _merge(entity["props"], props)
    _bump(ctx.unit, int(args["EntityTypeID"]))
    return Ack()


def entity_delete(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    unit = ctx.unit
    eid = int(args["EntityID"])
    entity = _entity(unit, eid)
    if int(entity["EntityTypeID"]) != int(args["EntityTypeID"]):
        raise fail("entity type differs")
    del unit.entities[eid]
    unit.applications = {k: v for k, v in unit.applications.items() if k[0] != eid}
    unit.entity_services = {k: v for k, v in unit.entity_services.items() if k[0] != eid}
    unit.mounts = {m for m in unit.mounts if m[1] != eid}
    _bump(unit, int(args["EntityTypeID"]))
    return Ack()


def entity_list_services(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    eid = int(args["EntityID"])
    _entity(ctx.unit, eid)
    return Data([
        struct_of((("EntityID", UInt(eid)), ("ServiceID", sid),
                   *((n, _wire(v)) for n, v in profile)))
        for (owner, sid), profile in ctx.unit.entity_services.items() if owner == eid
    ])


def entity_update_services(ctx: Ctx, args: Args) -> Reply:
    _authorized(ctx, args)
    unit = ctx.unit
    eid = int(args["EntityID"])
    _entity(unit, eid)
    _room(unit.entity_services)
    profile = _scalar_extras(args)
    if not profile:
        raise invalid("no service profile given")
    key = (eid, args["ServiceID"])
    unit.entity_services[key] = _merge(unit.entity_services.get(key, []), profile)
    return Ack()


# --- applications (Master 4) ----------------------------------------------------------


def _app_entity(ctx: Ctx, args: Args) -> int:
    _authorized(ctx, args)
    eid = int(args["EntityID"])
    entity = _entity(ctx.unit, eid)
    if int(entity["EntityTypeID"]) != int(args["EntityTypeID"]):
        raise fail("entity type differs")
    return eid


def application_list(ctx: Ctx, args: Args) -> Reply:
    eid = _app_entity(ctx, args)
    return Data([
        struct_of((
            ("EntityTypeID", _wire(int(app["EntityTypeID"]))), ("EntityID", UInt(eid)),
            ("ApplicationTypeID", UInt(atype)), *((n, _wire(v)) for n, v in app["props"]),
        ))
        for (owner, atype), app in ctx.unit.applications.items() if owner == eid
    ])


def application_add(ctx: Ctx, args: Args) -> Reply:
    eid = _app_entity(ctx, args)
    unit = ctx.unit
    _room(unit.applications)
    atype = int(args["ApplicationTypeID"])
    if (eid, atype) in unit.applications:
        raise fail(f"entity {eid} already has application type {atype}")
    unit.applications[(eid, atype)] = {
        "EntityTypeID": int(args["EntityTypeID"]),
        "props": _scalar_extras(args, APPLICATION_PROPERTIES[atype]),
    }
    return Ack()


def application_update(ctx: Ctx, args: Args) -> Reply:
    eid = _app_entity(ctx, args)
    atype = int(args["ApplicationTypeID"])
    app = ctx.unit.applications.get((eid, atype))
    if app is None:
        raise fail(f"entity {eid} has no application type {atype}")
    app["props"] = _merge(app["props"], _scalar_extras(args, APPLICATION_PROPERTIES[atype]))
    return Ack()


def application_delete(ctx: Ctx, args: Args) -> Reply:
    """Without ApplicationTypeID (the table has none) every application of the entity."""
    eid = _app_entity(ctx, args)
    unit = ctx.unit
    if "ApplicationTypeID" in args:
        keys = [(eid, int(args["ApplicationTypeID"]))]
    else:
        keys = [k for k in unit.applications if k[0] == eid]
    if not keys or any(k not in unit.applications for k in keys):
        raise fail(f"entity {eid} has no such application")
    for key in keys:
        del unit.applications[key]
    return Ack()


HANDLERS: dict[HandlerKey, Handler] = {
    ("cviuser", "login", None): user_login,
    ("cviuser", "logout", None): user_logout,
    ("cviuser", "listgroups", None): user_list_groups,
    ("cviuser", "addgroup", None): user_add_group,
    ("cviuser", "updategroup", None): user_update_group,
    ("cviuser", "deletegroup", None): user_delete_group,
    ("cviuser", "listusers", None): user_list_users,
    ("cviuser", "adduser", None): user_add,
    ("cviuser", "updateuser", None): user_update,
    ("cviuser", "deleteuser", None): user_delete,
    ("cviuser", "mount", None): user_mount,
    ("cviuser", "unmount", None): user_unmount,
    ("cviprofile", "list", None): profile_list,
    ("cviprofile", "add", None): profile_add,
    ("cviprofile", "update", None): profile_update,
    ("cviprofile", "delete", None): profile_delete,
    ("cvientity", "listgroups", None): entity_list_groups,
    ("cvientity", "addgroup", None): entity_add_group,
    ("cvientity", "updategroup", None): entity_update_group,
    ("cvientity", "deletegroup", None): entity_delete_group,
    ("cvientity", "query", None): entity_query,
    ("cvientity", "list", None): entity_list,
    ("cvientity", "add", None): entity_add,
    ("cvientity", "update", None): entity_update,
    ("cvientity", "delete", None): entity_delete,
    ("cvientity", "listservices", None): entity_list_services,
    ("cvientity", "updateservices", None): entity_update_services,
    ("cviapplication", "list", None): application_list,
    ("cviapplication", "add", None): application_add,
    ("cviapplication", "update", None): application_update,
    ("cviapplication", "delete", None): application_delete,
}
