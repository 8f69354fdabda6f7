"""``--export-objects imageserver,DIR``: the images of ImageServer answers as files, like
Wireshark's *Export Objects* (HTTP, SMB, ...).

What is saved, per ImageResponse message: its body, or each part of a multipart body,
named by what the dissection says it is (``.jpg`` for JPEG, ``.gbd`` for generic byte
data, ``.bin`` otherwise); for generic byte data also the coded payload of every video
packet whose codec is known (the JPEG inside a video stream packet as ``.jpg``, H.264 as
``.h264``, …), located by the offsets the dissector gives (``imageserver.gbd.payload``).

Names are built only from sanitised pieces — request id, capture time (UTC), message,
part, payload index, content type — so they sort in capture order and no value from the
capture can steer a path: no separator, no ``..``, no leading dot, bounded length. Files
are created with ``O_EXCL`` (an existing file or symlink is never overwritten or
followed; a clash gets a ``-N`` suffix) and are checked to resolve inside DIR. A manifest
(``manifest.csv``, or ``manifest-N.csv`` beside an older one) lists every file with the
message, request id, time, part, content type, codec, size and the frames it came from.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from cvipsniff.model import Message
from dissectors.base import Field
from dissectors.imageserver.genericbytedata import CODECS

PROTOCOLS = ("imageserver",)
MANIFEST_COLUMNS = ("file", "message", "requestid", "time", "part", "payload", "object",
                    "content_type", "codec", "size", "frames")
CODEC_EXTENSIONS = {"JPEG": "jpg", "MxPEG": "mxpeg", "H.264": "h264", "H.265": "h265",
                    "MPEG-4": "m4v", "H.263": "h263", "VC-1": "vc1", "AV1": "av1"}
_UNSAFE = re.compile(r"[^A-Za-z0-9]+")
_MAX_PIECE = 40


@dataclass(slots=True)
class ExportObject:
    """One byte range of a message worth a file."""

    part: int  # 0 for a whole body, else the 1-based multipart part
    payload: int  # 0 for the body or part itself, else the 1-based coded payload in it
    what: str  # "body", "part" or "payload"
    kind: str  # jpeg, genericbytedata, ... (the dissector's body/part kind) or a codec
    content_type: str
    codec: str
    offset: int
    length: int

    @property
    def extension(self) -> str:
        if self.what == "payload":
            return CODEC_EXTENSIONS.get(self.codec, "bin")
        return {"jpeg": "jpg", "genericbytedata": "gbd"}.get(self.kind, "bin")


def objects_of(msg: Message) -> list[ExportObject]:
    """The exportable ranges of an ImageResponse message (empty for anything else)."""
    rec = msg.record
    if rec.protocol != "imageserver" or rec.kind != "imageresponse":
        return []
    content_type = str(rec.attrs.get("content_type") or "")
    out: list[ExportObject] = []
    for top in rec.fields:
        if top.key == "imageserver.body" and top.offset >= 0:
            kind = _child_value(top, "imageserver.body.kind") or "data"
            out.append(ExportObject(0, 0, "body", kind, content_type, "", top.offset,
                                    top.length))
            out.extend(_payloads(top, 0, content_type))
        elif top.key == "imageserver.multipart":
            for part in top.children:
                if part.key != "imageserver.part":
                    continue
                index = _int(_child_value(part, "imageserver.part.index"))
                data = _child(part, "imageserver.part.size")
                if data is None or data.offset < 0:
                    continue
                part_type = str(_child_value(part, "imageserver.part.header.content_type") or "")
                kind = str(_child_value(part, "imageserver.part.kind") or "data")
                out.append(ExportObject(index, 0, "part", kind, part_type, "", data.offset,
                                        data.length))
                out.extend(_payloads(part, index, part_type))
    return out


def _payloads(node: Field, part: int, content_type: str) -> Iterator[ExportObject]:
    """Coded payloads of known codecs in the generic byte data packets under ``node``."""
    count = 0
    for packet in _walk(node, "imageserver.gbd.packet"):
        codec = _child_value(packet, "imageserver.gbd.codec")
        payload = _child(packet, "imageserver.gbd.payload")
        name = CODECS.get(codec) if isinstance(codec, int) else None
        if name is None or payload is None or payload.offset < 0 or payload.length <= 0:
            continue
        count += 1
        yield ExportObject(part, count, "payload", name.lower(), content_type, name,
                           payload.offset, payload.length)


def _walk(node: Field, key: str) -> Iterator[Field]:
    for child in node.children:
        if child.key == key:
            yield child
        yield from _walk(child, key)


def _child(node: Field, key: str) -> Field | None:
    return next((c for c in node.children if c.key == key), None)


def _child_value(node: Field, key: str) -> object:
    child = _child(node, key)
    return child.value if child is not None else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def safe_piece(value: object, fallback: str = "x") -> str:
    """A name piece from capture data: letters and digits, runs of anything else as one
    ``-``, bounded; never empty, never a path."""
    text = _UNSAFE.sub("-", str(value)).strip("-")[:_MAX_PIECE].strip("-")
    return text or fallback


def object_name(msg: Message, obj: ExportObject) -> str:
    """``r<requestid>_<UTC time>_m<message>_p<part>[_<payload>]_<type>.<ext>``: sortable by
    request id, then time; unique per message, part and payload."""
    rid = msg.record.attrs.get("requestid")
    rid_text = f"{rid:06d}" if isinstance(rid, int) and rid >= 0 else safe_piece(rid, "none")
    whole, frac = divmod(msg.ts_ns, 1_000_000_000)
    try:
        stamp = dt.datetime.fromtimestamp(whole, tz=dt.UTC).strftime("%Y%m%dT%H%M%S")
    except (OverflowError, OSError, ValueError):
        stamp = f"{whole}"
    kind = obj.codec if obj.what == "payload" else obj.kind
    payload = f"_{obj.what}{obj.payload:02d}" if obj.what == "payload" else ""
    return (f"r{rid_text}_{stamp}.{frac // 1000:06d}Z_m{msg.number:07d}_p{obj.part:02d}"
            f"{payload}_{safe_piece(kind.split(';')[0], obj.kind)}.{obj.extension}")


class ObjectExporter:
    """Writes the objects of the messages it is given into ``directory`` (created if
    missing) and the manifest at :meth:`close`."""

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.root = os.path.realpath(directory)
        self.rows: list[dict[str, object]] = []
        self.files = 0

    def add(self, msg: Message) -> int:
        """Save the message's objects; returns how many files were written."""
        if msg.data is None:
            return 0
        data = bytes(msg.data)
        written = 0
        for obj in objects_of(msg):
            chunk = data[obj.offset:obj.offset + obj.length]
            name = self._create(object_name(msg, obj), chunk)
            self.rows.append({
                "file": name, "message": msg.number,
                "requestid": msg.record.attrs.get("requestid"),
                "time": f"{msg.ts_ns // 1_000_000_000}.{msg.ts_ns % 1_000_000_000:09d}",
                "part": obj.part, "payload": obj.payload, "object": obj.what,
                "content_type": obj.content_type, "codec": obj.codec, "size": len(chunk),
                "frames": " ".join(str(f) for f in msg.frames),
            })
            written += 1
        self.files += written
        return written

    def close(self) -> str:
        """Write the manifest; returns its file name (inside the directory)."""
        stem, number = "manifest", 0
        while True:
            name = f"{stem}.csv" if not number else f"{stem}-{number}.csv"
            try:
                handle = self._open_new(name, text=True)
            except FileExistsError:
                number += 1
                continue
            with handle:
                writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
                writer.writeheader()
                writer.writerows(self.rows)
            return name

    def _create(self, name: str, data: bytes) -> str:
        stem, dot, ext = name.rpartition(".")
        number = 0
        while True:
            candidate = name if not number else f"{stem}-{number}{dot}{ext}"
            try:
                handle = self._open_new(candidate, text=False)
            except FileExistsError:
                number += 1
                continue
            with handle:
                handle.write(data)
            return candidate

    def _open_new(self, name: str, *, text: bool):
        """Create ``name`` in the directory, exclusively; refuse a name that is a path
        (defence in depth: names are sanitised already)."""
        if (os.sep in name or (os.altsep and os.altsep in name) or name.startswith(".")
                or name != os.path.basename(name)):
            raise ValueError(f"unsafe export name {name!r}")
        path = os.path.join(self.root, name)
        # O_EXCL: an existing name (a symlink included) is never followed or overwritten.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o644)
        if text:
            return os.fdopen(fd, "w", newline="", encoding="utf-8")
        return os.fdopen(fd, "wb")


def parse_spec(spec: str) -> tuple[str, str]:
    """``imageserver,DIR`` → (protocol, directory); ValueError with the reason otherwise."""
    protocol, sep, directory = spec.partition(",")
    if not sep or not directory:
        raise ValueError("expected PROTOCOL,DIRECTORY (e.g. imageserver,out)")
    if protocol not in PROTOCOLS:
        raise ValueError(f"no objects to export for {protocol!r} (known: imageserver)")
    return protocol, directory
