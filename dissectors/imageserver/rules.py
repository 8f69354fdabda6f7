"""The rule ids this package puts on :class:`~dissectors.base.Problem` and
:class:`~dissectors.base.Skipped`, with their default severity.

The ids are the contract in ``docs/RULES.md``. The few marked ``proposed`` are not in that
catalogue yet: they name findings the listed ids cannot express without lying (a value
outside an enumeration is not a "number" problem). The conformance engine configures the
final severity per id; the severities here are what a dissector reports by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dissectors.base import Problem, Severity


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    what: str
    proposed: bool = False


SKIPPED = "imageserver.framing.skipped"
TRUNCATED = "imageserver.framing.truncated"
HEADER_CAP = "imageserver.framing.header_cap"
LENGTH_CAP = "imageserver.framing.length_cap"
TERMINATOR = "imageserver.framing.terminator"
XML_MALFORMED = "imageserver.xml.malformed"
XML_FORBIDDEN = "imageserver.xml.forbidden"
XML_STRUCTURE = "imageserver.xml.structure"
XML_LIMITS = "imageserver.xml.limits"
METHOD_UNKNOWN = "imageserver.method.unknown"
FIELD_MISSING = "imageserver.field.missing"
FIELD_UNKNOWN = "imageserver.field.unknown"
FIELD_YESNO = "imageserver.field.yesno"
FIELD_NUMBER = "imageserver.field.number"
FIELD_TIME = "imageserver.field.time"
FIELD_ENUM = "imageserver.field.enum"
FIELD_DUPLICATE = "imageserver.field.duplicate"
CONNECT_ERRORREASON = "imageserver.connect.errorreason"
CONNECT_CONNECTPARAM = "imageserver.connect.connectparam"
LIVE_STATUS_ITEM = "imageserver.live.status_item"
LIVE_STATUSTIME = "imageserver.live.statustime"
PRIVACYMASK_SYNTAX = "imageserver.privacymask.syntax"
IMAGE_CONTENT_LENGTH = "imageserver.image.content_length"
IMAGE_HEADER = "imageserver.image.header"
IMAGE_BODY = "imageserver.image.body"
MULTIPART_STRUCTURE = "imageserver.multipart.structure"
CONNECT_CAMERAID = "imageserver.connect.cameraid"
CONNECT_BASIC = "imageserver.connect.basic_credentials"
CONNECT_SUCCESS = "imageserver.connect.success_reason"
CONNECT_GUID = "imageserver.connect.guid"
RESPONSE_REQUESTID = "imageserver.response.requestid"
IMAGE_EMPTY = "imageserver.image.empty"
DISSECTOR_ERROR = "dissector_error"

#: Shapes real peers send that the document does not foresee (DECISIONS.md item 28): graded
#: by what the document requires and what the field does, and errors under the strict
#: profile (``DissectOptions.profile = "strict"``).
FIELD_SHAPES = frozenset({CONNECT_CAMERAID, CONNECT_BASIC, CONNECT_SUCCESS,
                          RESPONSE_REQUESTID, IMAGE_EMPTY})

RULES: Mapping[str, Rule] = MappingProxyType(
    {
        r.id: r
        for r in (
            Rule(SKIPPED, "warning", "bytes skipped before a plausible message start"),
            Rule(TRUNCATED, "warning", "message cut by a gap or the end of the stream"),
            Rule(HEADER_CAP, "error", "header block too long / too many lines"),
            Rule(LENGTH_CAP, "warning", "declared Content-length beyond the cap; not buffered"),
            Rule(TERMINATOR, "warning", "message not ended by the double CR-LF"),
            Rule(XML_MALFORMED, "error", "XML not well-formed"),
            Rule(XML_FORBIDDEN, "error", "DTD / entity declarations refused"),
            Rule(XML_STRUCTURE, "error", "root not methodcall / methodresponse / livepackage"),
            Rule(XML_LIMITS, "error", "XML depth, element count or size cap exceeded",
                 proposed=True),
            Rule(METHOD_UNKNOWN, "error", "methodname not in the spec"),
            Rule(FIELD_MISSING, "error", "required element absent"),
            Rule(FIELD_UNKNOWN, "warning", "element not defined for that method"),
            Rule(FIELD_YESNO, "error", "yes/no field with another value"),
            Rule(FIELD_NUMBER, "error", "numeric field not a number, or out of range"),
            Rule(FIELD_TIME, "error", "malformed millisecond timestamp"),
            Rule(FIELD_ENUM, "error", "value outside the enumeration the spec gives",
                 proposed=True),
            Rule(FIELD_DUPLICATE, "error",
                 "element or header given twice, or more than one exclusive option",
                 proposed=True),
            Rule(CONNECT_ERRORREASON, "error",
                 "errorreason with connected=yes, or connected=no without it"),
            Rule(CONNECT_CONNECTPARAM, "warning",
                 "connectparam keys missing, unknown or out of the documented order",
                 proposed=True),
            Rule(LIVE_STATUS_ITEM, "warning", "status item id unknown or value not 0/1"),
            Rule(LIVE_STATUSTIME, "error", "not exactly one statustime"),
            Rule(PRIVACYMASK_SYNTAX, "error",
                 "PrivacyMask not none / grid / base64 XML as specified"),
            Rule(IMAGE_CONTENT_LENGTH, "error",
                 "Content-length differs from the body actually sent"),
            Rule(IMAGE_HEADER, "error",
                 "ImageResponse first line or a header line not of the form 'Name: value'",
                 proposed=True),
            Rule(IMAGE_BODY, "warning",
                 "body not what its Content-type announces (no JPEG SOI/SOF, bad markers)",
                 proposed=True),
            Rule(MULTIPART_STRUCTURE, "error",
                 "multipart boundary / part headers / closing boundary wrong"),
            Rule(CONNECT_CAMERAID, "warning",
                 "connect without cameraid, the camera named by connectparam id only",
                 proposed=True),
            Rule(CONNECT_BASIC, "info",
                 "connect without connectparam (basic credentials in username/password)",
                 proposed=True),
            Rule(CONNECT_SUCCESS, "info",
                 "errorreason 'Success' given with connected=yes", proposed=True),
            Rule(CONNECT_GUID, "error",
                 "connectparam id or streamid is not a GUID", proposed=True),
            Rule(RESPONSE_REQUESTID, "warning",
                 "response without requestid / ImageResponse without RequestId (paired by "
                 "method and order)", proposed=True),
            Rule(IMAGE_EMPTY, "info",
                 "empty answer (Content-length 0, times 0: nothing recorded there)",
                 proposed=True),
            Rule(DISSECTOR_ERROR, "error", "a dissector raised; the message is kept raw"),
        )
    }
)


def problem(
    rule: str,
    message: str,
    spec: str = "",
    offset: int = -1,
    length: int = 0,
    severity: Severity | None = None,
) -> Problem:
    """A :class:`Problem` with the rule's default severity unless one is given."""
    return Problem(
        rule=rule,
        severity=severity or RULES[rule].severity,
        message=message,
        spec=spec,
        offset=offset,
        length=length,
    )
