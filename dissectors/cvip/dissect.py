"""``dissect(data, transport, options=None) -> Record``: one CVIPv2 message (a framed
TCP message or one UDP datagram) to a record. Never raises.

The steps are small and each lives in its own module: the header (:mod:`.header`), a
ping (:mod:`.ping`) or the XML body (:mod:`.xmlparse` then :mod:`.xmlrpc`), its meaning
(:mod:`.semantics`, :mod:`.analytics`), the conformance checks (:mod:`.checks`) and the
tree (:mod:`.fields`). This module glues them and writes the summary line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace

from dissectors.accel import COMPILED
from dissectors.base import Field, Problem, Record
from dissectors.cvip.analytics import Analytics, analytics_field, decode_analytics
from dissectors.cvip.checks import check_message
from dissectors.cvip.fields import params_field
from dissectors.cvip.header import (
    HEADER_SIZE,
    SECTION,
    Header,
    byte_order_of,
    header_field,
    header_problems,
    parse_header,
)
from dissectors.cvip.lean import lean_dissector
from dissectors.cvip.options import DEFAULT_OPTIONS, Options, parse_options
from dissectors.cvip.ping import dissect_ping, looks_like_ping
from dissectors.cvip.semantics import Meaning, interpret, params_by_name, params_plain
from dissectors.cvip.tables.enums import MSG_TYPE_NONE
from dissectors.cvip.xmlparse import XML_SECTION, Limits, parse_body
from dissectors.cvip.xmlrpc import SCHEMA, XmlRpcBody, decode, decode_plain
from dissectors.secrets import Scrubber, is_secret_name, may_hold_secrets

_RESPONSE_KINDS = ("response", "ack", "fault")
# The options batch reports and the TUI's load dissect with (the defaults, lean, without
# attributes): the only ones the compiled fast path answers for.
_LEAN = replace(DEFAULT_OPTIONS, tree=False, attrs=False)
_lean_record = lean_dissector()


def dissect(data: bytes, transport: str = "tcp",
            options: Mapping[str, object] | Options | None = None) -> Record:
    """Dissect one CVIPv2 message. ``options``: see :class:`dissectors.cvip.options.Options`."""
    try:
        opts = parse_options(options)
        data = bytes(data)
        if not opts.tree and not opts.attrs and _is_lean(opts):
            # A message the compiled code is sure the steps below find nothing wrong with:
            # its record, built there (None: anything else, the rest of this function).
            record = _lean_record(data, transport == "udp")
            if record is not None:
                return record
        record, names_a_secret, bare = _dissect(data, transport, opts)
        if not opts.reveal_secrets and (names_a_secret or may_hold_secrets(data)):
            if bare:
                # The attributes name the values to mask wherever else they appear (a
                # password a problem quotes): the rare message that may hold a secret
                # is made with them, masked, and then left without them.
                record = _dissect(data, transport, replace(opts, attrs=True))[0]
            Scrubber().record(record)
            if bare:
                record.attrs = {}
        return record
    except Exception as exc:  # last line of defence: a bug here must not stop a capture
        return Record("cvip", "unknown", f"[CVIP dissector error: {type(exc).__name__}]",
                      problems=[Problem("dissector_error", "error",
                                        f"cvip dissector raised {type(exc).__name__}: {exc}")])


_lean_seen: list[Options] = [_LEAN]


def lean_for(options: object) -> Callable[[bytes, bool], Record | None] | None:
    """``ProtocolSpec.lean_for``: the compiled lean dissection :func:`dissect` itself
    tries first, when ``options`` are the lean defaults and the accelerator is built."""
    if COMPILED and isinstance(options, Options) and _is_lean(options):
        return _lean_record
    return None


def _is_lean(opts: Options) -> bool:
    """Whether ``opts`` are the lean defaults. A caller passes the same Options object for
    every message (``parse_options`` remembers its last mapping), so after one comparison
    an identity check answers."""
    if opts is _lean_seen[0]:
        return True
    if opts == _LEAN:
        _lean_seen[0] = opts
        return True
    return False


def _names_a_secret(meaning: Meaning) -> bool:
    """Whether a parameter the catalogue names as a secret is bound (a login's
    ``PassWord``, bound by position whatever the body calls it): the message is
    scrubbed even where its bytes name no secret."""
    return any(p.spec is not None and p.record < 0 and is_secret_name(p.spec.name)
               for p in meaning.binding.params)


def _dissect(data: bytes, transport: str, opts: Options) -> tuple[Record, bool, bool]:
    """The record; whether the catalogue names one of its parameters a secret; whether
    its attributes were left out (``opts.attrs`` False; a ping's never are)."""
    header = parse_header(data)
    if header is None:
        return _fragment(data, transport, opts), False, not opts.attrs
    problems = header_problems(header)
    body = data[HEADER_SIZE:]
    if looks_like_ping(header, body):
        record = dissect_ping(data, header, transport, opts)
        record.problems[:0] = problems
        return record, False, False
    if header.msg_type != MSG_TYPE_NONE:
        problems.append(Problem("cvip.header.message_type", "warning",
                                f"message type 0x{header.msg_type:02x} on a non-ping message "
                                "(only Discovery Ping uses it; 0x00 expected)", SECTION, 2, 1))
    total = header.size if opts.size_includes_header else header.size + HEADER_SIZE
    truncated = transport != "udp" and total > len(data)
    if not body or body.isspace():  # (what body.strip() would leave empty, without a copy)
        _size_problem(header, total, len(data), transport, problems)
        problems.append(Problem("cvip.xmlrpc.structure", "error",
                                "message without an XML-RPC body" if not truncated else
                                "body not captured", XML_SECTION, HEADER_SIZE, len(body)))
        meaning = Meaning("unknown")
        return (_record(data, header, XmlRpcBody(""), meaning, None, problems, transport,
                        truncated, opts), _names_a_secret(meaning), not opts.attrs)
    limits = _limits(opts)
    # A plain body may be decoded by the compiled accelerator, which declines (None)
    # whatever the lxml path could report anything about.
    xml = decode_plain(body, limits.size, limits.depth, limits.elements, HEADER_SIZE,
                       opts.tree)
    parsed = None
    if xml is not None:
        well_formed, repaired = True, False
    else:
        parsed = parse_body(body, SCHEMA, limits, offsets=opts.tree)
        well_formed, repaired = parsed.well_formed, parsed.repaired
    if truncated and well_formed:
        # Shorter than declared but whole: the framer ended it where its XML ended (and
        # reported why: the next header began there, or a gap did).
        truncated = False
    _size_problem(header, total, len(data), transport, problems)
    if parsed is not None:
        for p in parsed.problems:
            if truncated and p.rule == "cvip.xml.malformed":
                continue  # the framer reported the cut; a cut body is of course unfinished
            if p.offset >= 0:
                p.offset += HEADER_SIZE
            problems.append(p)
        xml = decode(parsed.root, HEADER_SIZE)
        problems += xml.problems
    meaning = interpret(xml, opts)
    problems += check_message(meaning, opts, (xml.method_offset, xml.method_length))
    problems += _response_bit(header, meaning)
    analytics = decode_analytics(xml, opts) if xml.root == "AnalyticsData" else None
    if analytics is not None:
        problems += analytics.problems
    record = _record(data, header, xml, meaning, analytics, problems, transport, truncated,
                     opts)
    if opts.attrs:
        record.attrs["xml_well_formed"] = well_formed
        record.attrs["xml_repaired"] = repaired
    return record, _names_a_secret(meaning), not opts.attrs


def _size_problem(header: Header, total: int, length: int, transport: str,
                  problems: list[Problem]) -> None:
    """Packet Size against the message's real length. On TCP a message shorter than
    declared was ended by the framer, which says why (a gap, the stream's end, the next
    header right after its XML); only a longer one is the dissector's to report."""
    if total == length or (transport != "udp" and total > length):
        return
    hint = " (it equals the body length: does the peer leave the header out?)" \
        if header.size == length - HEADER_SIZE else ""
    problems.append(Problem("cvip.header.size_mismatch", "error",
                            f"Packet Size says {header.size} bytes, the message is "
                            f"{length}{hint}", SECTION, 5, 4))


@functools.lru_cache(maxsize=8)
def _limits(opts: Options) -> Limits:
    return Limits(opts.xml_size_cap, opts.xml_depth_cap, opts.xml_element_cap)


def _response_bit(header: Header, meaning: Meaning) -> list[Problem]:
    offset = 3 if header.byte_order == "big" else 4
    if meaning.kind in ("request", "event") and header.response:
        what = "an event" if meaning.kind == "event" else "a request"
        return [Problem("cvip.header.response_bit", "error",
                        f"response bit set on {what} (methodCall)", SECTION, offset, 1)]
    if meaning.kind in _RESPONSE_KINDS and not header.response:
        return [Problem("cvip.header.response_bit", "error",
                        f"response bit clear on a{'n ' if meaning.kind == 'ack' else ' '}"
                        f"{meaning.kind} (methodResponse)", SECTION, offset, 1)]
    return []


def _fragment(data: bytes, transport: str, opts: Options) -> Record:
    """Fewer than 9 bytes: what there is of a header."""
    fields: list[Field] = []
    attrs: dict[str, object] = {"truncated": True}
    order = byte_order_of(data[:2]) if len(data) >= 2 else None
    if order is not None:
        attrs["byte_order"] = order
        if opts.tree:
            fields.append(Field("cvip.version", "Protocol Version", 0x0201, "0x0201", 0, 2))
    problems = []
    if transport == "udp":
        problems.append(Problem("cvip.header.size_mismatch", "error",
                                f"datagram of {len(data)} bytes is shorter than the "
                                f"{HEADER_SIZE}-byte header", SECTION, 0, len(data)))
    return Record("cvip", "unknown", f"CVIP fragment ({len(data)} bytes) [truncated]", fields,
                  problems, attrs=attrs if opts.attrs else {})


def _split_fields(data: bytes, xml: XmlRpcBody, meaning: Meaning) -> list[Field]:
    """cvip.method with cvip.service and cvip.method_name pointing into the method name."""
    if xml.method_name is None:
        return []
    offset, length = xml.method_offset, xml.method_length
    node = Field("cvip.method", "Method", xml.method_name, None, offset, length)
    name = meaning.name
    if name is not None and offset >= 0:
        raw = data[offset:offset + length]
        lead = len(raw) - len(raw.lstrip())
        start = offset + lead
        svc_len = len(name.service.encode())
        if name.service:
            node.children.append(Field("cvip.service", "Service", name.service, None, start,
                                       svc_len))
            start += svc_len + 1
        node.children.append(Field("cvip.method_name", "Method name", name.method, None, start,
                                   len(name.method.encode())))
    elif name is not None:
        node.children += [Field("cvip.service", "Service", name.service),
                          Field("cvip.method_name", "Method name", name.method)]
    return [node]


def _record(data: bytes, header: Header, xml: XmlRpcBody, meaning: Meaning,
            analytics: Analytics | None, problems: list[Problem], transport: str,
            truncated: bool, opts: Options) -> Record:
    kind = meaning.kind
    fields = [header_field(header), _body_field(data, xml, meaning, analytics)] \
        if opts.tree else []
    record = Record(protocol="cvip", kind=kind, info=_info(header, xml, meaning, truncated),
                    fields=fields, problems=problems, txn=header.txn,
                    is_response=kind in _RESPONSE_KINDS or (kind == "unknown"
                                                           and header.response),
                    method=xml.method_name or None)
    if opts.attrs:
        record.attrs = _attrs(header, xml, meaning, analytics, transport, truncated)
    return record


def _attrs(header: Header, xml: XmlRpcBody, meaning: Meaning, analytics: Analytics | None,
           transport: str, truncated: bool) -> dict[str, object]:
    """The record's attributes (see ``Options.attrs``)."""
    kind = meaning.kind
    attrs: dict[str, object] = {
        "version": header.version, "byte_order": header.byte_order, "msg_type": header.msg_type,
        "size": header.size, "transport": transport, "root": xml.root or None,
        "service": meaning.name.service if meaning.name else None,
        "method_name": meaning.name.method if meaning.name else None,
        "ack_code": None, "ack_name": None, "truncated": truncated,
    }
    ack = meaning.ack
    if ack is not None:
        attrs.update(ack_code=ack.code, ack_name=ack.name, ack_table=ack.table.name)
    if kind == "fault":
        attrs.update(fault_code=meaning.fault_code, fault_string=meaning.fault_string)
    if analytics is not None:
        attrs["analytics"] = analytics.plain()
    binding = meaning.binding
    attrs["params"] = params_plain(binding, xml.params if kind != "fault" else
                                   ([xml.fault] if xml.fault else []))
    attrs["params_by_name"] = params_by_name(binding)
    attrs["shape"] = binding.shape
    method = meaning.method
    if method is not None:
        attrs.update(spec_section=method.section, answer=method.answer)
    return attrs


def _body_field(data: bytes, xml: XmlRpcBody, meaning: Meaning,
                analytics: Analytics | None) -> Field:
    """The body subtree (full mode only)."""
    kind = meaning.kind
    children: list[Field] = [Field("cvip.kind", "Message kind", kind)]
    children += _split_fields(data, xml, meaning)
    ack = meaning.ack
    if ack is not None:
        shown = f"0x{ack.code:08x}" if ack.code is not None else repr(ack.value.text)
        children.append(Field("cvip.ack.code", "Ack code", ack.code, shown, ack.value.offset,
                              ack.value.length))
        children.append(Field("cvip.ack.name", "Ack code name", ack.name or "unknown",
                              f"{ack.name or 'unknown'} ({ack.table.title})"))
    if kind == "fault":
        children.append(Field("cvip.fault.code", "Fault code", meaning.fault_code))
        children.append(Field("cvip.fault.string", "Fault string", meaning.fault_string))
    if analytics is not None:
        children.append(analytics_field(analytics))
    if meaning.binding.params or xml.params:
        children.append(params_field(meaning.binding))
    size = len(data) - HEADER_SIZE
    return Field("cvip.body", "XML-RPC body", xml.root or None,
                 f"<{xml.root}> ({size} bytes)" if xml.root else f"{size} bytes",
                 HEADER_SIZE, size, children)


def _info(header: Header, xml: XmlRpcBody, meaning: Meaning, truncated: bool) -> str:
    txn = f"txn={header.txn}"
    method = xml.method_name
    kind = meaning.kind
    if xml.root == "AnalyticsData":
        source = xml.extras.get("DataSourceGUID", ("?", -1, 0))[0]
        text = f"AnalyticsData {txn} source={source}"
    elif kind == "ack":
        ack = meaning.ack
        assert ack is not None
        name = ack.name or (f"0x{ack.code:08x}" if ack.code is not None else "?")
        text = f"{method + ' ' if method else ''}ack {name} {txn}"
    elif kind == "fault":
        text = f"fault {meaning.fault_code}: {meaning.fault_string or ''} {txn}".replace("  ", " ")
    elif kind == "response" and meaning.ack is not None:  # cviEvent.ack's AckReturnCode
        ack = meaning.ack
        name = ack.name or (f"0x{ack.code:08x}" if ack.code is not None else "?")
        text = f"{method + ' ' if method else ''}response {ack.field}={name} {txn}"
    elif kind in ("request", "event", "response"):
        text = f"{method + ' ' if method else ''}{kind} {txn}"
    else:
        text = f"CVIP {'response' if header.response else 'message'} {txn}"
    return text + (" [truncated]" if truncated else "")
