"""Deliberate server misbehaviour for the violation scenarios.

Each helper returns a :data:`~.inprocess.Fault`: it watches the server's outgoing messages,
changes exactly one of them in one way, and records in that message's truth the rule id
(docs/RULES.md) the change breaks. Changes are made with the package's own encoders and
reader, so the result differs from a correct message only where the fault says.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from cvipsniff.sim.imageserver import encode
from cvipsniff.sim.imageserver.inprocess import Fault
from cvipsniff.sim.imageserver.reader import ImageMessage, ServerStreamReader
from cvipsniff.sim.imageserver.server_logic import Send
from cvipsniff.sim.transcript import MessageTruth

Mutation = Callable[[Send], Send | None]


def _with(send: Send, data: bytes, rule: str | None, **truth_changes: Any) -> Send:
    truth: MessageTruth = replace(send.truth, **truth_changes)
    truth.violations = [*send.truth.violations, *([rule] if rule else [])]
    return Send(data, truth, send.at_ms)


def on_answer(requestid: int, mutation: Mutation) -> Fault:
    """Apply ``mutation`` to the (first) answer carrying ``requestid``."""
    done = False

    def fault(send: Send) -> Send | None:
        nonlocal done
        if done or send.truth.txn != requestid or send.truth.kind == "livepackage":
            return send
        done = True
        return mutation(send)

    return fault


def on_livepackage(nth: int, mutation: Mutation) -> Fault:
    """Apply ``mutation`` to the ``nth`` live package (1-based)."""
    seen = 0

    def fault(send: Send) -> Send | None:
        nonlocal seen
        if send.truth.kind != "livepackage":
            return send
        seen += 1
        return mutation(send) if seen == nth else send

    return fault


# ------------------------------------------------------------------ XML mutations


def rename_method(new_name: str) -> Mutation:
    """A methodresponse naming another method than the request's."""
    def mutate(send: Send) -> Send:
        data = re.sub(rb"<methodname>[^<]*</methodname>",
                      b"<methodname>" + new_name.encode() + b"</methodname>", send.data, count=1)
        return _with(send, data, "imageserver.txn.methodname_mismatch", method=new_name)
    return mutate


def change_requestid(new_id: int) -> Mutation:
    """A methodresponse carrying a requestid nobody asked with (an orphan)."""
    def mutate(send: Send) -> Send:
        data = re.sub(rb"<requestid>[^<]*</requestid>",
                      b"<requestid>%d</requestid>" % new_id, send.data, count=1)
        return _with(send, data, "imageserver.txn.orphan_response", txn=new_id)
    return mutate


def drop_errorreason(send: Send) -> Send:
    """``connected=no`` without the ``errorreason`` that must accompany it."""
    data = re.sub(rb"\s*<errorreason>[^<]*</errorreason>", b"", send.data, count=1)
    return _with(send, data, "imageserver.connect.errorreason")


def add_status_item(item_id: int, value: int = 1) -> Mutation:
    """A live package with a status item id the table does not define."""
    def mutate(send: Send) -> Send:
        item = b'<statusitem id="%d" value="%d"/>' % (item_id, value)
        data = send.data.replace(b"</status>", b"  " + item + b"\n  </status>", 1)
        return _with(send, data, "imageserver.live.status_item")
    return mutate


def break_livepackage_xml(send: Send) -> Send:
    """A live package whose last status item is never closed (not well-formed)."""
    data = re.sub(rb'(<statusitem [^>]*?)/>(\s*</status>)', rb"\1>\2", send.data, count=1)
    return _with(send, data, "imageserver.xml.malformed")


def answer_with_xml(send: Send) -> Send:
    """An XML methodresponse where the document calls for an ImageResponse."""
    assert send.truth.txn is not None and send.truth.method is not None
    data = encode.empty_response(send.truth.txn, send.truth.method)
    return _with(send, data, "imageserver.txn.wrong_answer_kind", kind="response")


def drop(send: Send) -> None:
    """No answer at all (the request's own truth carries ``imageserver.txn.unanswered``)."""
    return None


# ------------------------------------------------------------------ ImageResponse mutations


def _header_lines(data: bytes) -> tuple[list[bytes], bytes]:
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), rest


def shorten_content_length(by: int) -> Mutation:
    """A Content-length ``by`` bytes smaller than the body actually sent."""
    def mutate(send: Send) -> Send:
        lines, rest = _header_lines(send.data)
        out = []
        for line in lines:
            if line.lower().startswith(b"content-length:"):
                declared = int(line.split(b":", 1)[1]) - by
                line = b"Content-length: %d" % declared
            out.append(line)
        return _with(send, b"\r\n".join(out) + b"\r\n\r\n" + rest,
                     "imageserver.image.content_length")
    return mutate


def replace_header(name: str, value: str, rule: str) -> Mutation:
    """One header line's value replaced verbatim (a malformed time, a bad mask …)."""
    def mutate(send: Send) -> Send:
        lines, rest = _header_lines(send.data)
        prefix = name.lower().encode() + b":"
        out = [name.encode() + b": " + value.encode() if ln.lower().startswith(prefix) else ln
               for ln in lines]
        if out == lines:
            raise ValueError(f"no {name} header to replace")
        return _with(send, b"\r\n".join(out) + b"\r\n\r\n" + rest, rule)
    return mutate


def _reencode_multipart(data: bytes, change: Callable[[list[encode.Part]], encode.Multipart]
                        ) -> bytes:
    """Parse a multipart ImageResponse with our reader and encode it again, changed."""
    messages = ServerStreamReader().feed(data)
    msg = messages[0] if messages else None
    if not isinstance(msg, ImageMessage) or not msg.parts:
        raise ValueError("not a multipart ImageResponse")
    parts = [encode.Part(p.data, p.headers.get("content-type", encode.CONTENT_TYPE_GENERIC))
             for p in msg.parts]
    body = change(parts)
    head = [b"ImageResponse", *(f"{k}: {v}".encode("latin-1") for k, v in msg.headers)]
    return b"\r\n".join(head) + b"\r\n\r\n" + body.encode() + encode.TERMINATOR


def drop_closing_boundary(send: Send) -> Send:
    """A multipart body that never sends ``--boundary--``."""
    data = _reencode_multipart(send.data, lambda parts: encode.Multipart(tuple(parts),
                                                                         close=False))
    return _with(send, data, "imageserver.multipart.structure")


def part_without_length(index: int) -> Mutation:
    """A multipart body whose part ``index`` (0-based) has no Content-length line."""
    def mutate(send: Send) -> Send:
        def change(parts: list[encode.Part]) -> encode.Multipart:
            parts[index] = replace(parts[index], omit_length=True)
            return encode.Multipart(tuple(parts))
        return _with(send, _reencode_multipart(send.data, change),
                     "imageserver.multipart.structure")
    return mutate


# ------------------------------------------------------------------ shapes real servers send
# (not violations of the document the way the ones above are: what recording servers send
# in the field; the truth names the rule an analyser reports on them, DECISIONS.md item 28)


def success_reason(send: Send) -> Send:
    """A good connect answered with ``<errorreason>Success</errorreason>``."""
    data = send.data.replace(b"</connected>", b"</connected>\n  <errorreason>Success"
                             b"</errorreason>", 1)
    if data == send.data:
        raise ValueError("no <connected> to follow")
    return _with(send, data, "imageserver.connect.success_reason")


def drop_requestid(send: Send) -> Send:
    """An answer without its requestid (``<requestid>`` or the ``RequestId`` header): the
    truth keeps which request it answers, and an analyser pairs it by method and order."""
    if send.data.startswith(b"ImageResponse"):
        data = re.sub(rb"(?im)^RequestId:[^\r\n]*\r\n", b"", send.data, count=1)
    else:
        data = re.sub(rb"\s*<requestid>[^<]*</requestid>", b"", send.data, count=1)
    if data == send.data:
        raise ValueError("no requestid to drop")
    changed = _with(send, data, "imageserver.response.requestid", txn=None,
                    answers=send.truth.txn)
    changed.truth.violations.append("imageserver.txn.paired_by_order")
    return changed


def empty_answer(send: Send) -> Send:
    """The answer a recording server gives where nothing is recorded: Content-length 0,
    Prev/Current/Next 0, no Content-type and no Restriction."""
    head = b"\r\n".join([b"ImageResponse", b"RequestId: %d" % int(send.truth.txn or 0),
                         b"Prev: 0", b"Current: 0", b"Next: 0", b"Content-length: 0"])
    return _with(send, head + b"\r\n\r\n" + encode.TERMINATOR, "imageserver.image.empty")
