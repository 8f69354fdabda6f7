"""AnalyticsData: the motion detection data an analytics session streams
(§Command details 4.4) Manage Analytics Service, [Motion Detection Data]).

    <AnalyticsData>
      <DataSourceGUID>  the GUID of the video source
      <DataTime>        the timestamp of the video source
      <params>
        first:  a flag "whether the bounding box data is validate", then an array of
                bounding boxes (Left, Top, Right, Bottom)
        others: an array of objects in block coordinates, as x, y pairs

The document's own example puts the flag and the box array in one ``<param>`` (and is
malformed besides); the XML-RPC layer reads each value of a ``<param>`` as a parameter of
its own, so this decoder takes the values in order: the first boolean-like scalar is the
flag, arrays of structs are boxes, arrays of integers are block pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dissectors.base import Field, Problem
from dissectors.cvip import tables as T
from dissectors.cvip.formats import check_guid
from dissectors.cvip.options import Options
from dissectors.cvip.semantics import as_int
from dissectors.cvip.tables.model import SPEC
from dissectors.cvip.xmlrpc import Value, XmlRpcBody

SECTION = SPEC + "Command details 4.4) Manage Analytics Service, [Motion Detection Data]"
BOX_SIDES = ("Left", "Top", "Right", "Bottom")


@dataclass(slots=True)
class Box:
    sides: dict[str, int | None]
    value: Value


@dataclass(slots=True)
class Analytics:
    source_guid: str | None = None
    source_span: tuple[int, int] = (-1, 0)
    time: str | None = None
    time_span: tuple[int, int] = (-1, 0)
    valid: bool | None = None
    valid_value: Value | None = None
    boxes: list[Box] = field(default_factory=list)
    blocks: list[tuple[int, int, Value, Value]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def plain(self) -> dict[str, object]:
        return {
            "source_guid": self.source_guid,
            "time": self.time,
            "valid": self.valid,
            "boxes": [b.sides for b in self.boxes],
            "blocks": [[x, y] for x, y, _vx, _vy in self.blocks],
        }


def decode_analytics(body: XmlRpcBody, opts: Options) -> Analytics:
    out = Analytics()
    problems = out.problems
    guid = body.extras.get("DataSourceGUID")
    if guid is None:
        problems.append(Problem("cvip.field.missing", "warning",
                                "AnalyticsData without <DataSourceGUID>", SECTION))
    else:
        out.source_guid, offset, length = guid
        out.source_span = (offset, length)
        wrong = check_guid(out.source_guid, opts.guid_format)
        if wrong:
            problems.append(Problem("cvip.field.format", "warning", f"DataSourceGUID: {wrong}",
                                    SECTION, offset, length))
    when = body.extras.get("DataTime")
    if when is None:
        problems.append(Problem("cvip.field.missing", "warning",
                                "AnalyticsData without <DataTime>", SECTION))
    else:
        out.time, offset, length = when
        out.time_span = (offset, length)
    for value in body.params:
        if value.type == "array":
            _array(out, value)
        elif out.valid is None and value.type_class in ("boolean", "int"):
            out.valid_value = value
            number = as_int(value)
            out.valid = bool(number) if number is not None else None
            if value.type_class != "boolean":
                problems.append(Problem("cvip.field.type", "warning",
                                        f"bounding-box flag is <{value.type or 'string'}>, "
                                        "expected <boolean>", SECTION, value.offset, value.length))
        else:
            problems.append(Problem("cvip.field.unknown", "warning",
                                    f"unexpected <{value.type or 'string'}> parameter in "
                                    "AnalyticsData", SECTION, value.offset, value.length))
    if out.valid is None:
        problems.append(Problem("cvip.field.missing", "warning",
                                "AnalyticsData without the bounding-box flag", SECTION))
    return out


def _array(out: Analytics, array: Value) -> None:
    items: list[Value] = array.value
    if items and all(v.type == "struct" for v in items):
        for item in items:
            sides: dict[str, int | None] = {s: None for s in BOX_SIDES}
            for member in item.value:
                side = next((s for s in BOX_SIDES if T.fold(s) == T.fold(member.name)), None)
                if side is None:
                    out.problems.append(Problem("cvip.field.unknown", "warning",
                                                f"bounding box member {member.name!r}", SECTION,
                                                member.offset, member.length))
                else:
                    sides[side] = as_int(member.value)
            missing = [s for s, v in sides.items() if v is None]
            if missing:
                out.problems.append(Problem("cvip.field.missing", "warning",
                                            f"bounding box without {', '.join(missing)}",
                                            SECTION, item.offset, item.length))
            out.boxes.append(Box(sides, item))
        return
    numbers = [as_int(v) for v in items]
    if any(n is None for n in numbers):
        out.problems.append(Problem("cvip.field.type", "warning",
                                    "block coordinates must be integers", SECTION,
                                    array.offset, array.length))
        return
    if len(items) % 2:
        out.problems.append(Problem("cvip.field.format", "warning",
                                    f"{len(items)} block coordinates: not (x, y) pairs",
                                    SECTION, array.offset, array.length))
    for i in range(0, len(items) - 1, 2):
        out.blocks.append((numbers[i], numbers[i + 1], items[i], items[i + 1]))  # type: ignore[arg-type]


def analytics_field(a: Analytics) -> Field:
    children = []
    if a.source_guid is not None:
        children.append(Field("cvip.analytics.source", "DataSourceGUID", a.source_guid, None,
                              *a.source_span))
    if a.time is not None:
        children.append(Field("cvip.analytics.time", "DataTime", a.time, None, *a.time_span))
    if a.valid_value is not None:
        children.append(Field("cvip.analytics.valid", "Bounding boxes valid", a.valid, None,
                              a.valid_value.offset, a.valid_value.length))
    for i, box in enumerate(a.boxes):
        sides = [Field(f"cvip.analytics.box.{s.lower()}", s, v, None,
                       *_member_span(box.value, s)) for s, v in box.sides.items()]
        shown = ", ".join(f"{s}={v}" for s, v in box.sides.items())
        children.append(Field("cvip.analytics.box", f"Box {i + 1}", None, shown,
                              box.value.offset, box.value.length, sides))
    for i, (x, y, vx, vy) in enumerate(a.blocks):
        start = vx.offset
        end = vy.offset + vy.length if vy.offset >= 0 else -1
        length = end - start if start >= 0 and end >= start else 0
        children.append(Field("cvip.analytics.block", f"Block {i + 1}", [x, y], f"({x}, {y})",
                              start if length else -1, length))
    return Field("cvip.analytics", "AnalyticsData", None,
                 f"AnalyticsData: {len(a.boxes)} boxes, {len(a.blocks)} blocks", -1, 0, children)


def _member_span(struct: Value, side: str) -> tuple[int, int]:
    for member in struct.value:
        if T.fold(member.name) == T.fold(side) and member.value is not None:
            return member.value.offset, member.value.length
    return -1, 0
