"""Renderings of the record model for people (summary lines, trees) and machines (JSON).

The JSON form of a message is a direct, documented rendering of
:class:`cvipsniff.model.Message` and :class:`dissectors.base.Record` (README, "JSON
records"): nothing is computed here that the model does not hold.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from typing import Any

from cvipsniff.model import Flow, Message, TransportNote
from cvipsniff.time_column import absolute_text, seconds_text
from dissectors.base import Field, Problem

PROTOCOL_LABELS = {"cvip": "CVIP", "cvip-ping": "CVIP-Ping", "imageserver": "ImageServer"}

TIME_FORMATS = ("relative", "absolute", "delta", "epoch")


def endpoint_text(endpoint: tuple[str, int]) -> str:
    host, port = endpoint
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_time(ts_ns: int, mode: str, first_ts_ns: int, prev_ts_ns: int | None = None) -> str:
    """A timestamp in one of Wireshark's display formats; a time no calendar can show
    (see :mod:`cvipsniff.timestamps`) is shown raw in absolute mode. ``first_ts_ns`` is
    the reference of relative times (the first frame, or a time reference)."""
    if mode == "absolute":
        # Local time, as tshark's -t ad, with the zone named: nothing else on the screen
        # says which zone the clock is in (out-of-range times are shown raw).
        return absolute_text(ts_ns, utc=False, date=True, zone=True)
    if mode == "epoch":
        return f"{ts_ns // 1_000_000_000}.{(ts_ns // 1000) % 1_000_000:06d}"
    base = first_ts_ns if mode == "relative" or prev_ts_ns is None else prev_ts_ns
    return seconds_text(ts_ns - base)  # truncated, as tshark and ``read`` show it


def summary_line(msg: Message, first_ts_ns: int, time_mode: str = "relative",
                 prev_ts_ns: int | None = None, *, request_method: str | None = None,
                 request_frame: int | None = None, answer_frame: int | None = None,
                 time_text: str | None = None) -> str:
    """One tshark-like line: frame, time, source → destination, protocol, length, info.

    A response carries no method name of its own in either protocol; when pairing knows
    the request, its method and frame are added (like Wireshark's "response to" link);
    a request whose answer is known (two passes) names the answer's frame. ``time_text``
    replaces the time column (``read -t``'s tshark formats).
    """
    proto = PROTOCOL_LABELS.get(msg.record.protocol, msg.record.protocol)
    info = msg.record.info
    if request_method and not msg.record.method:
        info = f"{request_method} {info}"
    if request_frame:
        info = f"{info} [request in {request_frame}]"
    if answer_frame:
        info = f"{info} [response in {answer_frame}]"
    if time_text is None:
        time_text = format_time(msg.ts_ns, time_mode, first_ts_ns, prev_ts_ns)
    return (
        f"{msg.frame:>6} {time_text:>11} "
        f"{endpoint_text(msg.src)} → {endpoint_text(msg.dst)} {proto} {msg.length} {info}"
    )


def note_line(note: TransportNote) -> str:
    where = f"frame {note.frame}" if note.frame else "capture"
    flow = f" flow {note.flow.id}" if note.flow is not None else ""
    return f"[{note.severity}] {note.kind} ({where}{flow}): {note.message}"


def _field_lines(f: Field, depth: int, lines: list[str]) -> None:
    where = f" [{f.offset}:{f.offset + f.length}]" if f.offset >= 0 and f.length else ""
    lines.append(f"{'    ' * depth}{f.label}: {f.text()}{where}")
    for child in f.children:
        _field_lines(child, depth + 1, lines)


def tree_lines(msg: Message) -> list[str]:
    """The ``-V`` view of a message: where it is, then its dissection tree and problems."""
    rec = msg.record
    frames = ", ".join(str(n) for n in msg.frames)
    lines = [
        f"Message {msg.number}: {PROTOCOL_LABELS.get(rec.protocol, rec.protocol)} {rec.kind}, "
        f"{msg.length} bytes, frames {frames}",
        f"    Flow {msg.flow} ({msg.transport}) {endpoint_text(msg.src)} → "
        f"{endpoint_text(msg.dst)}, stream offset {msg.offset}",
    ]
    for top in rec.fields:
        _field_lines(top, 1, lines)
    for p in rec.problems:
        where = f" [{p.offset}:{p.offset + p.length}]" if p.offset >= 0 else ""
        lines.append(f"    [{p.severity}] {p.rule}: {p.message}{where}"
                     + (f" ({p.spec})" if p.spec else ""))
        lines.extend(f"        {note}" for note in p.notes)
    return lines


# ---- JSON ------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A field value as JSON: bytes as base64 (with a marker), datetimes as ISO 8601,
    non-finite floats as strings, containers recursively."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def field_json(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"key": f.key, "label": f.label, "value": jsonable(f.value)}
    if f.display is not None:
        out["display"] = f.display
    if f.offset >= 0:
        out["offset"] = f.offset
        out["length"] = f.length
    if f.children:
        out["children"] = [field_json(c) for c in f.children]
    return out


def problem_json(p: Problem) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": p.rule, "severity": p.severity, "message": p.message,
                           "spec": p.spec}
    if p.offset >= 0:
        out["offset"] = p.offset
        out["length"] = p.length
    if p.notes:
        out["notes"] = list(p.notes)
    return out


def message_json(msg: Message, first_ts_ns: int = 0) -> dict[str, Any]:
    """A message record as JSON (schema documented in the README)."""
    rec = msg.record
    return {
        "type": "message",
        "message": msg.number,
        "frames": msg.frames,
        "frame": msg.frame,
        "time": msg.ts_ns / 1e9,
        "time_relative": (msg.ts_ns - first_ts_ns) / 1e9 if first_ts_ns else None,
        "flow": msg.flow,
        "direction": msg.direction,
        "transport": msg.transport,
        "src": endpoint_text(msg.src),
        "dst": endpoint_text(msg.dst),
        "offset": msg.offset,
        "length": msg.length,
        "protocol": rec.protocol,
        "kind": rec.kind,
        "info": rec.info,
        "txn": rec.txn,
        "is_response": rec.is_response,
        "method": rec.method,
        "attrs": jsonable(rec.attrs),
        "fields": [field_json(f) for f in rec.fields],
        "problems": [problem_json(p) for p in rec.problems],
    }


def note_json(note: TransportNote) -> dict[str, Any]:
    return {
        "type": "note",
        "kind": note.kind,
        "severity": note.severity,
        "message": note.message,
        "frame": note.frame,
        "flow": note.flow.id if note.flow is not None else None,
        "direction": note.direction if note.direction >= 0 else None,
    }


def flow_json(flow: Flow) -> dict[str, Any]:
    a, b = flow.stats
    return {
        "id": flow.id,
        "transport": flow.transport,
        "client": endpoint_text(flow.client),
        "server": endpoint_text(flow.server),
        "first_frame": flow.first_frame,
        "start": flow.first_ts_ns / 1e9,
        "duration": max(0, flow.last_ts_ns - flow.first_ts_ns) / 1e9,
        "mid_session": flow.mid_session,
        "closed": flow.closed,
        "client_to_server": _stats_json(a),
        "server_to_client": _stats_json(b),
    }


def _stats_json(s) -> dict[str, int]:
    return {name: getattr(s, name) for name in s.__slots__}
