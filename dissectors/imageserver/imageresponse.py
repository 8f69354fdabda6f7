"""``ImageResponse`` messages → records (sections "goto › Response - Live and browse
without multipart" and "... - Browse with multipart").

Not XML: a first line ``ImageResponse``, header lines, a blank line, then either
``Content-length`` bytes of body or a multipart body, then ``\\r\\n\\r\\n``. Every header is
kept (the ones the document names decoded by their form), the body is classified and, for
JPEG and generic byte data, its own header decoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dissectors.base import Field, Problem, Record

from . import fields as keys
from . import genericbytedata, headers, jpeg, multipart, privacymask, rules, values
from .headers import BLANK_LINE, HeaderLine
from .options import DissectOptions
from .tables import (
    CONTENT_TYPES,
    IMAGE_FIRST_LINE,
    IMAGE_HEADERS,
    IMAGE_HEADERS_BY_NAME,
    JPEG,
    PART_CONTENT_TYPES,
    PART_HEADERS_BY_NAME,
    S_IMAGE_MULTIPART,
    S_IMAGE_SINGLE,
    S_PRIVACY_MASK,
    Form,
    Header,
)
from .xmlmessage import PROTOCOL, base_attrs

_MULTIPART_PREFIX = "multipart/"
# Headers the document lists without a condition but which a live image may plausibly
# lack: their absence is a warning unless strict_image_headers is on.
_SOFT_REQUIRED = frozenset({"restriction", "prev", "next"})
# Headers an empty answer (Content-length 0, Current 0) comes without in the field.
_EMPTY_MAY_LACK = frozenset({"content-type", "restriction"})
# A header line longer than this is reported (the block itself is capped by the framer).
MAX_HEADER_LINE = 16 * 1024


@dataclass(slots=True)
class _Body:
    """What the body turned out to be: its span, kind and the fields describing it."""

    start: int
    end: int
    kind: str
    fields: list[Field]
    summary: str  # e.g. "640x480" or "H.264 key frame"


class _Dissection:
    """One ImageResponse being dissected. In lean mode (``options.tree`` False) every check
    runs and every attr is set as in full mode, but no field is built (the methods that
    return fields return empty lists or None)."""

    def __init__(self, data: bytes, start: int, options: DissectOptions) -> None:
        self.data = data
        self.start = start
        self.options = options
        self.tree = options.tree
        self.problems: list[Problem] = []
        self.attrs: dict[str, Any] = base_attrs()
        # An empty answer (Content-length 0, Current 0: nothing recorded there) as servers
        # send it, without Content-type and with zero times; judged leniently unless the
        # strict profile is on (DECISIONS.md item 28).
        self.lenient_empty = False

    def report(self, rule: str, message: str, spec: str, offset: int = -1, length: int = 0,
               severity=None) -> None:
        self.problems.append(rules.problem(rule, message, spec, offset, length, severity))

    # ---- header block ---------------------------------------------------------------------

    def header_block(self) -> tuple[list[HeaderLine], int, bool]:
        """Parse the head; returns (header lines, body start, whether a blank line ended it)."""
        data, start = self.data, self.start
        sep = data.find(BLANK_LINE, start)
        complete = sep >= 0
        head_end = sep if complete else len(data)
        body_start = sep + len(BLANK_LINE) if complete else len(data)
        spans = headers.split_lines(data, start, head_end)
        first_offset, first_length = spans[0] if spans else (start, 0)
        first = data[first_offset: first_offset + first_length]
        if first != IMAGE_FIRST_LINE.encode():
            self.report(rules.IMAGE_HEADER,
                        f"first line {first[:40]!r} is not exactly {IMAGE_FIRST_LINE!r}",
                        S_IMAGE_SINGLE, first_offset, first_length)
        spans = spans[1:]
        limit = self.options.max_header_lines
        if len(spans) > limit:
            self.report(rules.HEADER_CAP,
                        f"{len(spans)} header lines; only the first {limit} are read",
                        S_IMAGE_SINGLE, spans[limit][0], head_end - spans[limit][0])
            spans = spans[:limit]
        lines: list[HeaderLine] = []
        for offset, length in spans:
            if length > MAX_HEADER_LINE:
                self.report(rules.HEADER_CAP, f"header line of {length} bytes", S_IMAGE_SINGLE,
                            offset, length)
            line = headers.parse_line(data, offset, length)
            if not line.valid:
                self.report(rules.IMAGE_HEADER,
                            f"header line {line.name[:40]!r} is not 'Name: value'",
                            S_IMAGE_SINGLE, offset, length)
            lines.append(line)
        return lines, body_start, complete

    def header_fields(self, lines: list[HeaderLine], table: Mapping[str, Header],
                      prefix: tuple[str, ...], other_key: str, sec: str) -> list[Field]:
        out: list[Field] = []
        counts: dict[str, int] = {}
        for line in lines:
            spec = table.get(line.lower) if line.valid else None
            if spec is None:
                if line.valid:
                    self.report(rules.FIELD_UNKNOWN,
                                f"header {line.name!r} is not in the document", sec,
                                line.offset, line.length, severity="info")
                if self.tree:
                    out.append(Field(other_key, line.name, line.value, None, line.offset,
                                     line.length))
                continue
            counts[spec.key] = counts.get(spec.key, 0) + 1
            if counts[spec.key] == 2:
                self.report(rules.FIELD_DUPLICATE, f"header {spec.name} given more than once",
                            sec, line.offset, line.length)
            field = self.header_field(line, spec, prefix, sec)
            if field is not None:
                out.append(field)
        return out

    def header_field(self, line: HeaderLine, spec: Header, prefix: tuple[str, ...],
                     sec: str) -> Field | None:
        """Judge one header the document names; its field (None in lean mode)."""
        kids: list[Field] = []
        if spec.form is Form.PRIVACYMASK:
            value, display, kids = self.privacy_mask(line)
        elif spec.form is Form.CONTENT_TYPE:
            media = headers.media_type(line.value)[0]
            value, display = line.value, line.value
            if prefix == ("header",) and media not in CONTENT_TYPES:
                self.report(rules.FIELD_ENUM,
                            f"Content-type {media!r} is not one the document names", sec,
                            line.value_offset, line.value_length, severity="warning")
        else:
            decoded = values.parse(spec.form, line.value, self.options, values=spec.values,
                                   minimum=0 if spec.form is Form.NUMBER else None,
                                   describe=self.tree)
            value, display = decoded.value, decoded.display
            zero_time = spec.form is Form.TIME and line.value.strip() == "0"
            if decoded.problem is not None and not (zero_time and self.lenient_empty):
                rule, message, severity = decoded.problem
                self.report(rule, f"{spec.name}: {message}", sec, line.value_offset,
                            line.value_length, severity)
        if not self.tree:
            return None
        return Field(keys.key(*prefix, spec.key), spec.name, value, display, line.offset,
                     line.length, kids)

    def privacy_mask(self, line: HeaderLine) -> tuple[str, str, list[Field]]:
        mask = privacymask.decode(line.value, self.options)
        where = (line.value_offset, line.value_length)
        if mask.forbidden:
            self.report(rules.XML_FORBIDDEN,
                        "privacy mask XML declares a DTD or entities; refused",
                        S_PRIVACY_MASK, *where)
        for message in mask.problems:
            self.report(rules.PRIVACYMASK_SYNTAX, message, S_PRIVACY_MASK, *where)
        self.attrs["privacymask"] = mask.kind
        if not self.tree:
            return line.value, "", []
        kids = [Field(keys.key("privacymask", "kind"), "form", mask.kind)]
        if mask.width is not None and mask.height is not None:
            kids += [
                Field(keys.key("privacymask", "size"), "size", f"{mask.width}x{mask.height}"),
                Field(keys.key("privacymask", "width"), "columns", mask.width),
                Field(keys.key("privacymask", "height"), "rows", mask.height),
                Field(keys.key("privacymask", "masked"), "masked cells", mask.masked),
            ]
        kids += [Field(keys.key("privacymask", "row"), f"row {i}", row)
                 for i, row in enumerate(mask.rows, 1)]
        kids += [Field(keys.key("privacymask", "method"), m.name, m.value,
                       f"{m.name} value={m.value} removable={m.removable}")
                 for m in mask.methods]
        if mask.kind in ("grid", "xml") and mask.width:
            display = f"{mask.kind} {mask.width}x{mask.height}, {mask.masked} masked cells"
        else:
            display = mask.kind if mask.kind != "xml" else "base64 XML"
        shown = line.value if mask.kind != "xml" else f"<{len(line.value)} chars of base64>"
        return shown, display, kids

    # ---- body -----------------------------------------------------------------------------

    def single_body(self, body_start: int, declared: int | None) -> tuple[_Body, bool]:
        """The body of a non-multipart response; returns it and whether it is complete."""
        data = self.data
        rest = len(data) - body_start
        trailer = rest >= len(BLANK_LINE) and data.endswith(BLANK_LINE)
        complete = True
        if declared is None:
            end = len(data) - len(BLANK_LINE) if trailer else len(data)
        elif rest >= declared + len(BLANK_LINE) and data.startswith(BLANK_LINE,
                                                                    body_start + declared):
            end = body_start + declared
            extra = rest - declared - len(BLANK_LINE)
            if extra:
                self.report(rules.IMAGE_CONTENT_LENGTH,
                            f"{extra} bytes follow the body and its double CR-LF",
                            S_IMAGE_SINGLE, end + len(BLANK_LINE), extra)
        elif trailer:
            end = len(data) - len(BLANK_LINE)
            self.report(rules.IMAGE_CONTENT_LENGTH,
                        f"Content-length {declared}, but the body has {end - body_start} bytes "
                        "before the double CR-LF", S_IMAGE_SINGLE, body_start, end - body_start)
        elif rest < declared:
            end, complete = len(data), False  # cut short: the framer says by what
        elif BLANK_LINE.startswith(data[body_start + declared:]):
            end = body_start + declared  # complete; the trailer is missing or partial
        else:
            end = len(data)
            self.report(rules.IMAGE_CONTENT_LENGTH,
                        f"Content-length {declared}, but {rest} bytes follow the header block",
                        S_IMAGE_SINGLE, body_start, rest)
        media = self.attrs.get("content_type") or ""
        return self.classify(body_start, end, media, complete, S_IMAGE_SINGLE), complete

    def classify(self, start: int, end: int, media: str, complete: bool, sec: str) -> _Body:
        """Kind of the bytes ``data[start:end]`` and the fields decoded from them."""
        data = self.data
        if jpeg.looks_like_jpeg(data, start):
            kind = "jpeg"
        elif CONTENT_TYPES.get(media) == "genericbytedata":
            kind = "genericbytedata"
        else:
            kind = "bytes"
            if media == JPEG and (complete or end > start) and not (
                    end == start and self.lenient_empty):
                self.report(rules.IMAGE_BODY,
                            "Content-type image/jpeg, but the body does not start with a JPEG "
                            "start-of-image marker", sec, start, end - start)
        kids: list[Field] = []
        summary = ""
        if kind == "jpeg":
            kids, summary = self.jpeg_fields(start, end, complete, sec)
        elif kind == "genericbytedata":
            kids, summary = self.gbd_fields(start, end, complete, sec)
        return _Body(start, end, kind, kids, summary)

    def jpeg_fields(self, start: int, end: int, complete: bool, sec: str,
                    ) -> tuple[list[Field], str]:
        info = jpeg.inspect(self.data, start, end)
        # A cut-off image lacks its end for a reason the framer reports.
        for message in info.problems + (info.cut if complete else []):
            self.report(rules.IMAGE_BODY, f"JPEG: {message}", sec, start, end - start)
        if info.width is None:
            return [], ""
        self.attrs.setdefault("width", info.width)
        self.attrs.setdefault("height", info.height)
        summary = f"{info.width}x{info.height}"
        if not self.tree:
            return [], summary
        where = (info.sof_offset, info.sof_length)
        kids = [
            Field(keys.key("jpeg", "sof"), "frame", info.sof, None, *where),
            Field(keys.key("jpeg", "width"), "width", info.width, None, *where),
            Field(keys.key("jpeg", "height"), "height", info.height, None, *where),
            Field(keys.key("jpeg", "components"), "components", info.components, None, *where),
            Field(keys.key("jpeg", "precision"), "precision", info.precision, None, *where),
        ]
        return kids, summary

    def gbd_fields(self, start: int, end: int, complete: bool, sec: str,
                   ) -> tuple[list[Field], str]:
        """Walk every packet of a generic byte data body (``genericbytedata.walk``).

        The record's attrs get ``codec``/``keyframe`` of the first coded packet and
        ``gbd_packets``: per packet that carries coded data its layout, codec, key frame
        and where its payload lies in the message bytes (what an export saves)."""
        body = genericbytedata.walk(self.data, start, end)
        media = body.media()
        listed = self.attrs.setdefault("gbd_packets", [])
        for p in media:
            listed.append({"layout": p.layout, "codec": p.codec_name, "keyframe": p.keyframe,
                           "payload_offset": p.payload_offset,
                           "payload_length": p.payload_length})
        if media:
            self.attrs.setdefault("codec", media[0].codec_name)
            self.attrs.setdefault("keyframe", media[0].keyframe)
        summary = _gbd_summary(body)
        dims = ""
        kids: list[Field] = []
        for packet in media:
            if packet.codec_name == "JPEG" and jpeg.looks_like_jpeg(self.data,
                                                                   packet.payload_offset):
                more, found = self.jpeg_fields(packet.payload_offset,
                                               packet.payload_offset + packet.payload_length,
                                               complete, sec)
                kids += more
                dims = dims or found
        summary = f"{summary} {dims}".strip()
        if not self.tree:
            return [], summary
        fields = [_packet_field(p) for p in body.packets] + kids
        if body.note:
            where = (body.rest_offset, end - body.rest_offset)
            if body.packets:
                fields.append(Field(keys.key("gbd", "undecoded"), "not decoded", end -
                                    body.rest_offset, body.note, *where))
            else:
                fields.append(Field(keys.key("gbd", "datatype"), "header", None,
                                    f"generic byte data header not decoded: {body.note}",
                                    *where))
        return fields, summary

    def multipart_body(self, body_start: int, boundary: str,
                       ) -> tuple[Field | None, int, bool]:
        """Fields for the parts; returns (multipart field or None in lean mode, body size,
        complete)."""
        data = self.data
        trailer = data.endswith(BLANK_LINE) and len(data) - body_start >= len(BLANK_LINE)
        end = len(data) - len(BLANK_LINE) if trailer else len(data)
        # A closing boundary followed by a partial trailer is still a complete body.
        tail = data.rfind(b"--" + boundary.encode("latin-1", errors="replace") + b"--",
                          body_start)
        truncated = not trailer and not (
            tail >= 0 and BLANK_LINE.startswith(data[tail + len(boundary) + 4:]))
        if not trailer and not truncated:
            end = tail + len(boundary) + 4
        mp = multipart.walk(data, body_start, end, boundary, self.options.max_parts,
                            truncated=truncated)
        for message, offset, length in mp.structure:
            self.report(rules.MULTIPART_STRUCTURE, message, S_IMAGE_MULTIPART, offset, length)
        if not mp.closed and not mp.structure and not truncated:
            self.report(rules.MULTIPART_STRUCTURE, "closing boundary missing",
                        S_IMAGE_MULTIPART, body_start, end - body_start)
        for index, declared, actual in mp.length_mismatches:
            part = mp.parts[index - 1]
            self.report(rules.IMAGE_CONTENT_LENGTH,
                        f"part {index}: Content-length {declared}, but {actual} bytes come "
                        "before the next boundary", S_IMAGE_MULTIPART, part.body_start, actual)
        kids = [Field(keys.key("multipart", "boundary"), "boundary", boundary)]
        kinds: set[str] = set()
        for part in mp.parts:
            kind, field = self.part(part, complete=not truncated or part is not mp.parts[-1])
            kinds.add(kind)
            if field is not None:
                kids.append(field)
        size = (mp.end if mp.closed else end) - body_start
        self.attrs["parts"] = len(mp.parts)
        self.attrs["part_kinds"] = sorted(kinds)
        if not self.tree:
            return None, size, not truncated
        field = Field(keys.MULTIPART, "multipart", len(mp.parts),
                      f"{len(mp.parts)} parts{'' if mp.closed else ' (not closed)'}",
                      body_start, size, kids)
        return field, size, not truncated

    def part(self, part: multipart.Part, complete: bool) -> tuple[str, Field | None]:
        """Judge one part; its body kind and its field (None in lean mode)."""
        sec = S_IMAGE_MULTIPART
        kids = self.header_fields(part.headers, PART_HEADERS_BY_NAME, ("part", "header"),
                                  keys.PART_HEADER_OTHER, sec)
        names = {h.lower for h in part.headers if h.valid}
        for spec in PART_HEADERS_BY_NAME.values():
            if spec.name.lower() not in names:
                self.report(rules.MULTIPART_STRUCTURE,
                            f"part {part.index} has no {spec.name} header", sec, part.start,
                            part.body_start - part.start)
        type_line = headers.find(part.headers, "Content-type")
        media = headers.media_type(type_line.value)[0] if type_line else ""
        if type_line is not None and media not in PART_CONTENT_TYPES:
            self.report(rules.MULTIPART_STRUCTURE,
                        f"part {part.index} Content-type {media!r} is not "
                        + " or ".join(PART_CONTENT_TYPES), sec, type_line.offset,
                        type_line.length, severity="warning")
        body = self.classify(part.body_start, part.body_end, media, complete, sec)
        if not self.tree:
            return body.kind, None
        kids += [
            Field(keys.PART_INDEX, "part", part.index),
            Field(keys.PART_KIND, "kind", body.kind),
            Field(keys.PART_SIZE, "size", part.size, f"{part.size} B", part.body_start,
                  part.size),
            Field(keys.key("part", "offset"), "data offset", part.body_start),
            *body.fields,
        ]
        display = f"part {part.index}: {media or '?'} {part.size} B"
        if body.summary:
            display += f" ({body.summary})"
        return body.kind, Field(keys.PART, f"part {part.index}", body.kind, display,
                                part.start, part.body_end - part.start, kids)


def dissect_image(data: bytes, start: int, options: DissectOptions) -> Record:
    """One ImageResponse; ``start`` is the offset of its first line."""
    d = _Dissection(data, start, options)
    lines, body_start, head_complete = d.header_block()
    type_line = headers.find(lines, "Content-type")
    length_line = headers.find(lines, "Content-length")
    media, params = headers.media_type(type_line.value) if type_line else ("", {})
    is_multipart = media.startswith(_MULTIPART_PREFIX)
    declared = headers.content_length(length_line.value) if length_line else None
    d.attrs.update(content_type=media or None, content_length=declared)
    _empty_answer(d, lines, declared, head_complete)
    header_fields = d.header_fields(lines, IMAGE_HEADERS_BY_NAME, ("header",),
                                    keys.HEADER_OTHER, S_IMAGE_SINGLE)
    _missing_headers(d, lines, is_multipart, head_complete)

    txn = None
    id_line = headers.find(lines, "RequestId")
    if id_line is not None:
        decoded = values.parse_number(id_line.value)
        txn = decoded.value if decoded.problem is None else (id_line.value or None)
    d.attrs["requestid"] = txn
    fields: list[Field] = []
    if d.tree:
        fields.append(Field(keys.KIND, "Kind", "imageresponse"))
        if id_line is not None:
            fields.append(Field(keys.REQUESTID, "Request id", txn, None, id_line.value_offset,
                                id_line.value_length))
        head_length = (body_start if head_complete else len(data)) - start
        fields.append(Field(keys.IMAGERESPONSE, IMAGE_FIRST_LINE, len(lines),
                            f"ImageResponse header: {len(lines)} lines", start, head_length,
                            header_fields))

    summary = ""
    size = 0
    if not head_complete:
        d.attrs["body_kind"] = None
    elif is_multipart and params.get("boundary"):
        field, size, complete = d.multipart_body(body_start, params["boundary"])
        if field is not None:
            fields.append(field)
        d.attrs["body_kind"] = "multipart"
        summary = f"{d.attrs['parts']} parts"
        if declared is not None and declared != size and complete:
            d.report(rules.IMAGE_CONTENT_LENGTH,
                     f"Content-length {declared}, but the multipart body has {size} bytes",
                     S_IMAGE_MULTIPART, body_start, size)
    else:
        if is_multipart:
            d.report(rules.MULTIPART_STRUCTURE, "multipart Content-type without a boundary",
                     S_IMAGE_MULTIPART, type_line.offset if type_line else -1,
                     type_line.length if type_line else 0)
        body, complete = d.single_body(body_start, declared)
        size = body.end - body.start
        if d.tree:
            note = "" if complete else f" (truncated: {size} of {declared} bytes)"
            fields.append(Field(keys.BODY, "body", size, f"{body.kind}, {size} B{note}",
                                body.start, size, [
                                    Field(keys.BODY_KIND, "kind", body.kind),
                                    Field(keys.BODY_SIZE, "size", size),
                                    *body.fields]))
        d.attrs["body_kind"] = body.kind
        summary = body.summary
    d.attrs["body_size"] = size

    info = "ImageResponse"
    if txn is not None:
        info += f" id={txn}"
    if media:
        info += f" {media}"
    if summary:
        info += f" {summary}"
    if head_complete:
        info += f" {size} B"
    else:
        info += " [header incomplete]"
    return Record(PROTOCOL, "imageresponse", info, fields, d.problems, txn=txn,
                  is_response=True, method=None, attrs=d.attrs)


def _missing_headers(d: _Dissection, lines: list[HeaderLine], is_multipart: bool,
                     head_complete: bool) -> None:
    if not head_complete:
        return  # a cut header block lacks lines for a reason the framer reports
    present = {line.lower for line in lines if line.valid}
    for spec in IMAGE_HEADERS:
        name = spec.name.lower()
        if not spec.required or name in present:
            continue
        if name == "content-length" and is_multipart:
            continue
        if d.lenient_empty and name in _EMPTY_MAY_LACK:
            continue  # part of the one image.empty finding
        sec = S_IMAGE_MULTIPART if is_multipart else S_IMAGE_SINGLE
        if name == "requestid":  # paired by order instead (DECISIONS.md item 28)
            d.report(rules.RESPONSE_REQUESTID, "ImageResponse has no RequestId header", sec,
                     d.start, len(IMAGE_FIRST_LINE), d.options.graded(rules.RESPONSE_REQUESTID))
            continue
        soft = name in _SOFT_REQUIRED and not d.options.strict_image_headers
        d.report(rules.FIELD_MISSING, f"ImageResponse has no {spec.name} header", sec,
                 d.start, len(IMAGE_FIRST_LINE), severity="warning" if soft else None)


def _empty_answer(d: _Dissection, lines: list[HeaderLine], declared: int | None,
                  head_complete: bool) -> None:
    """An answer with no image: ``Content-length: 0`` and ``Current: 0`` (servers send it
    when nothing is recorded at the requested place, often without Content-type or
    Restriction, with Prev/Next 0 too). One finding graded as a field shape; its missing
    headers and zero times are part of it, unless the profile is strict."""
    current = headers.find(lines, "Current")
    if not head_complete or declared != 0 or current is None or current.value.strip() != "0":
        return
    d.attrs["empty"] = True
    d.lenient_empty = not d.options.strict
    lacking = sorted(h for h in ("Content-type", "Restriction")
                     if headers.find(lines, h) is None)
    note = f"; no {' or '.join(lacking)} header" if lacking else ""
    d.report(rules.IMAGE_EMPTY, f"empty answer: Content-length 0 and Current 0 (nothing "
             f"recorded there){note}", S_IMAGE_SINGLE, d.start, len(IMAGE_FIRST_LINE),
             d.options.graded(rules.IMAGE_EMPTY))



def _gbd_summary(body: genericbytedata.Body) -> str:
    """``H.264 key frame``, or for several packets their count and what they carry."""
    media = body.media()
    if not media:
        return ""
    first = media[0]
    text = f"{first.codec_name}{' key frame' if first.keyframe else ''}"
    if first.layout == "video block":
        text += " video block"
    packets = sum(1 for top in body.packets for p in top.walk()
                  if p.layout != "multi packet")
    return f"{text} ({packets} packets)" if packets > 1 else text


def _packet_field(packet: genericbytedata.Packet) -> Field:
    """A packet of a generic byte data body with a field per header field (each with its
    own bytes), its payload and the packets it wraps."""
    kids = []
    for item in packet.items:
        display = item.display
        if item.time and isinstance(item.value, int):
            when = values.format_ms(item.value)
            display = f"{item.value} ({when})" if when else None
        kids.append(Field(keys.key("gbd", item.name), item.label, item.value, display,
                          item.offset, item.length))
    if packet.payload_offset >= 0:
        kids.append(Field(keys.key("gbd", "payload"), "payload", packet.payload_length,
                          f"{packet.codec_name} data, {packet.payload_length} B",
                          packet.payload_offset, packet.payload_length))
    kids += [_packet_field(child) for child in packet.children]
    if packet.note:
        kids.append(Field(keys.key("gbd", "note"), "note", packet.note))
    display = f"{packet.layout}, {packet.length} B"
    if packet.codec_name:
        display += f": {packet.codec_name}{' key frame' if packet.keyframe else ''}"
    return Field(keys.key("gbd", "packet"), packet.layout, packet.layout, display,
                 packet.offset, packet.length, kids)
