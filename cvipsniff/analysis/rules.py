"""The rule catalogue: every finding id with its default severity, requirement level and
the spec section it cites (``cvipsniff rules`` prints it).

The *checks* live where the knowledge is: per-message rules in the dissectors (reading
their spec tables), pairing rules in :mod:`cvipsniff.analysis.pairing`, transport rules in
the reassembler. This table only describes them, so reports can list every rule, config
can enable/disable/re-grade them, and JUnit can emit one case per rule. A finding whose
rule is not listed here (a dissector added one) is still reported, with the severity the
dissector gave it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Rule:
    id: str
    severity: str  # default: error | warning | info
    level: str  # MUST | SHOULD | INFO (h2spec-style requirement level)
    spec: str
    description: str

    @property
    def protocol(self) -> str:
        return self.id.split(".", 1)[0] if "." in self.id else "engine"

    @property
    def section_group(self) -> str:
        """The suite a JUnit report files the rule under (protocol + area)."""
        parts = self.id.split(".")
        return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


_HDR = "CVIPv2 command details §2 CVIPv2 Message Header"
_ACK = "CVIPv2 command details §3 Common Protocol, 1) Acknowledge Response"
_PING = "CVIPv2 command details §3 Common Protocol, 2) Discover Device (CVIP Ping)"
_XMLRPC = "CVIPv2 Protocol Basics §4 XML-RPC"
_CMD = "CVIPv2 command details (method tables)"
_SVC = "CVIPv2 Service and Properties §1 Service"
_PROP = "CVIPv2 Service and Properties §2 Properties"
_REQ = "CVIPv2 Protocol Basics §2 Request – Response Pairs"
_IS = "ImageServer: List of Requests and their Responses"
_IS_IMG = "ImageServer: ImageResponse"
_IS_LIVE = "ImageServer: live (livepackage status items)"
_IS_CONNECT = "ImageServer: connect (response)"
_TCP = "RFC 9293 (TCP) — capture and reassembly"
_CAP = "pcap / pcapng file formats"

_RULES: tuple[Rule, ...] = (
    # transport and capture
    Rule("capture.truncated_record", "warning", "INFO", _CAP, "last record of a capture cut short"),
    Rule("capture.corrupt_block", "error", "INFO", _CAP,
         "a record or block that could not be read; reading resumed where possible"),
    Rule("capture.no_protocol_traffic", "error", "INFO", "cvipsniff",
         "no CVIP or ImageServer message in the capture (wrong port, file or interface?)"),
    Rule("capture.unknown_linktype", "warning", "INFO", _CAP,
         "frames of a link type the decoder does not know"),
    Rule("capture.timestamp_range", "warning", "INFO", _CAP,
         "frame timestamps no calendar can show (a damaged if_tsresol / if_tsoffset)"),
    Rule("ip.fragment_incomplete", "warning", "INFO", "RFC 791 / RFC 8200 fragmentation",
         "IP fragments never completed"),
    Rule("ip.fragment_overlap", "warning", "INFO", "RFC 791 / RFC 8200 fragmentation",
         "overlapping IP fragments with different bytes (the first received are kept)"),
    Rule("ip.malformed", "warning", "INFO", "RFC 791 / RFC 8200 / RFC 9293 / RFC 768",
         "an IP, UDP or TCP header that does not parse"),
    Rule("tcp.gap", "warning", "INFO", _TCP,
         "bytes missing from a stream (lost segment, snaplen, buffering cap)"),
    Rule("tcp.overlap_conflict", "error", "INFO", _TCP,
         "retransmitted or overlapping bytes differ from those first seen"),
    Rule("tcp.retransmission", "info", "INFO", _TCP, "a retransmitted segment"),
    Rule("tcp.out_of_order", "info", "INFO", _TCP, "a segment arrived before earlier data"),
    Rule("tcp.cap_flow", "warning", "INFO", _TCP,
         "a per-flow buffering cap was hit; buffered data given up as a gap"),
    Rule("tcp.cap_total", "warning", "INFO", _TCP, "the total buffering cap was hit"),
    Rule("tcp.port_reuse", "info", "INFO", _TCP, "a 4-tuple reused after close: a new flow"),
    Rule("tcp.data_after_fin", "warning", "INFO", _TCP,
         "new data after the sender's FIN (opens a new flow)"),
    Rule("tcp.late_data", "warning", "INFO", _TCP,
         "bytes of a hole that arrived after the hole was given up as a gap"),
    Rule("udp.duplicate", "info", "INFO", "RFC 768 (UDP)",
         "a datagram identical to the previous one within 1 ms: a capture duplicate"),
    Rule("udp.truncated", "warning", "INFO", "RFC 768 (UDP)",
         "a UDP datagram shorter than its header says"),
    Rule("dissector_error", "error", "INFO", "cvipsniff",
         "a dissector raised on this message; it is kept raw"),
    # CVIP per message
    Rule("cvip.header.version", "error", "MUST", _HDR, "protocol version is not 0x0201"),
    Rule("cvip.header.byte_order", "warning", "SHOULD", _HDR,
         "header in little-endian byte order (decoded anyway)"),
    Rule("cvip.header.message_type", "error", "MUST", _HDR,
         "message type not 0x00 outside Discovery Ping, or unknown"),
    Rule("cvip.header.size_mismatch", "error", "MUST", _HDR,
         "declared packet size differs from the actual message size"),
    Rule("cvip.header.size_cap", "error", "MUST", _HDR,
         "declared packet size beyond the sane cap; body not buffered"),
    Rule("cvip.header.response_bit", "error", "MUST", _HDR,
         "response bit set on a request, or clear on a response or ack"),
    Rule("cvip.framing.skipped", "warning", "MUST", _HDR,
         "bytes skipped before a plausible CVIP header (garbage, resync)"),
    Rule("cvip.framing.truncated", "warning", "MUST", _HDR,
         "message cut by a gap or the end of the stream"),
    Rule("cvip.ping.length", "error", "MUST", _PING,
         "ping request not 16 bytes / ping response not 37 bytes"),
    Rule("cvip.ping.type", "error", "MUST", _PING, "ping message type is not 0x01"),
    Rule("cvip.ping.connection_type", "error", "MUST", _PING,
         "connection type not one of the spec's values"),
    Rule("cvip.xml.malformed", "error", "MUST", _XMLRPC,
         "body XML not well-formed (what could be recovered is shown)"),
    Rule("cvip.xml.forbidden", "error", "MUST", _XMLRPC,
         "DTD or entity declarations in a body (refused, never expanded)"),
    Rule("cvip.xml.limits", "error", "MUST", _XMLRPC, "XML depth or size beyond the caps"),
    Rule("cvip.xmlrpc.structure", "error", "MUST", _XMLRPC,
         "not a methodCall / methodResponse / fault"),
    Rule("cvip.xmlrpc.value_type", "error", "MUST", _XMLRPC,
         "unknown XML-RPC value type, or a literal not of its type"),
    Rule("cvip.method.unknown_service", "warning", "SHOULD", _SVC,
         "service not in the spec's service table"),
    Rule("cvip.method.unknown_method", "warning", "SHOULD", _CMD,
         "method not in the catalogue for its service"),
    Rule("cvip.field.missing", "error", "MUST", _CMD, "a required field is absent"),
    Rule("cvip.field.unknown", "warning", "SHOULD", _CMD,
         "a field the method's table does not define"),
    Rule("cvip.field.type", "error", "MUST", _CMD, "a field of the wrong XML-RPC type"),
    Rule("cvip.field.enum", "error", "MUST", _CMD, "value outside an enumeration or bit set"),
    Rule("cvip.field.range", "error", "MUST", _CMD, "number outside its range"),
    Rule("cvip.field.format", "error", "MUST", _CMD,
         "time, GUID or range string not in the spec's format"),
    Rule("cvip.property.read_only", "error", "MUST", _PROP,
         "setProperties on a read-only property"),
    Rule("cvip.ack.unknown_code", "error", "MUST", _ACK, "ack error code not in the ack table"),
    # CVIP cross-message
    Rule("cvip.txn.unanswered", "warning", "MUST", _REQ, "request never answered"),
    Rule("cvip.txn.orphan_response", "warning", "MUST", _REQ,
         "response with no outstanding request of that transaction number"),
    Rule("cvip.txn.answer_lost", "info", "INFO", _REQ,
         "no answer captured, and the answering side lost bytes after the request (capture)"),
    Rule("cvip.txn.request_before_capture", "info", "INFO", _REQ,
         "an answer on a flow picked up mid-session before any of its requests was captured"),
    Rule("cvip.txn.duplicate", "error", "MUST", _HDR,
         "transaction number reused while a request with it is outstanding"),
    Rule("cvip.txn.method_mismatch", "error", "MUST", _ACK,
         "a response names a method other than the request's"),
    Rule("cvip.ping.unanswered", "info", "INFO", _PING, "no device answered a ping"),
    # ImageServer cross-message
    Rule("cvip.ping.answer_lost", "info", "INFO", _PING,
         "ping over TCP with no answer captured, the answering side lost bytes after it"),
    Rule("imageserver.txn.unanswered", "warning", "MUST", _IS, "request never answered"),
    Rule("imageserver.txn.orphan_response", "warning", "MUST", _IS,
         "response with no outstanding request of that requestid"),
    Rule("imageserver.txn.answer_lost", "info", "INFO", _IS,
         "no answer captured, and the answering side lost bytes after the request (capture)"),
    Rule("imageserver.txn.request_before_capture", "info", "INFO", _IS,
         "an answer on a flow picked up mid-session before any of its requests was captured"),
    Rule("imageserver.txn.duplicate", "error", "MUST", _IS,
         "requestid reused while a request with it is outstanding"),
    Rule("imageserver.txn.methodname_mismatch", "error", "MUST", _IS,
         "response methodname differs from the request's"),
    Rule("imageserver.txn.wrong_answer_kind", "error", "MUST", _IS,
         "answered by the wrong kind of message (XML vs ImageResponse)"),
    Rule("imageserver.txn.paired_by_order", "info", "INFO", _IS,
         "an answer without requestid paired by method and order on its flow"),
    Rule("imageserver.txn.connectupdate_id", "warning", "SHOULD", _IS_CONNECT,
         "a connectupdate names another camera id than the connection's connect"),
)



def _imageserver_message_rules() -> tuple[Rule, ...]:
    """The ImageServer dissector's own rule table (dissectors/imageserver/rules.py) is the
    source for its per-message rules: severity and description are read from it, not
    restated here."""
    from dissectors.imageserver.rules import RULES

    sections = {"framing": _IS, "xml": _IS, "method": _IS, "field": _IS,
                "connect": _IS_CONNECT, "live": _IS_LIVE, "privacymask": _IS_IMG,
                "image": _IS_IMG, "multipart": _IS_IMG}
    out = []
    for rule in RULES.values():
        if not rule.id.startswith("imageserver."):
            continue
        area = rule.id.split(".")[1]
        out.append(Rule(rule.id, rule.severity,
                        "MUST" if rule.severity == "error" else "SHOULD",
                        sections.get(area, _IS), rule.what))
    return tuple(out)


CATALOGUE: dict[str, Rule] = {
    rule.id: rule for rule in (*_RULES, *_imageserver_message_rules())}


def rule_for(rule_id: str, severity: str = "warning", spec: str = "") -> Rule:
    """The catalogue entry, or a described stand-in for an id a dissector added."""
    known = CATALOGUE.get(rule_id)
    if known is not None:
        return known
    return Rule(rule_id, severity, "INFO", spec, "(not in the catalogue)")
