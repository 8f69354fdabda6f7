"""Message-level checks the element walk cannot express: rules that relate two elements of
one message. Each is named in a :class:`~.tables.Method`'s ``checks`` and receives the
message's top-level elements.

Cross-message rules (requestid echo, answer kind) are the conformance engine's; it finds
what answers each method in :data:`.tables.ANSWERED_BY` / :func:`.tables.answer_for`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from dissectors.base import Problem

from . import connectparam, rules
from .options import DissectOptions
from .tables import S_CONNECT_FULL, S_CONNECT_RESPONSE, S_CONNECTUPDATE
from .xmltree import XmlNode

Check = Callable[[XmlNode, str, bytes, DissectOptions], list[Problem]]


def _first(root: XmlNode, name: str) -> XmlNode | None:
    for child in root.children:
        if child.name == name:
            return child
    return None


def connected_errorreason(root: XmlNode, kind: str, data: bytes,
                          options: DissectOptions) -> list[Problem]:
    """``<errorreason>`` appears only when ``<connected>`` is ``no`` (sections "connect –
    More options › Response", "connectupdate"); a refusal without a reason is reported
    too, since the reason is what a user needs."""
    if kind != "response":
        return []
    connected = _first(root, "connected")
    reason = _first(root, "errorreason")
    if connected is None:
        return []  # reported as a missing element already
    method = _first(root, "methodname")
    sec = S_CONNECTUPDATE if method is not None and method.text == "connectupdate" \
        else S_CONNECT_RESPONSE
    value = connected.text.lower()
    if value == "yes" and reason is not None and reason.text.strip().lower() == "success":
        # Recording servers answer a good connect with <errorreason>Success</errorreason>
        # (DECISIONS.md item 28): noted, an error only under the strict profile.
        return [rules.problem(rules.CONNECT_SUCCESS,
                              "errorreason 'Success' given although connected is yes (the "
                              "document: errorreason only if connected = no)", sec,
                              reason.start, reason.end - reason.start,
                              options.graded(rules.CONNECT_SUCCESS))]
    if value == "yes" and reason is not None:
        return [rules.problem(rules.CONNECT_ERRORREASON,
                              "errorreason given although connected is yes", sec,
                              reason.start, reason.end - reason.start)]
    if value == "no" and reason is None:
        return [rules.problem(rules.CONNECT_ERRORREASON,
                              "connected is no but no errorreason says why", sec,
                              connected.start, connected.end - connected.start)]
    return []


def connectparam_keys(root: XmlNode, kind: str, data: bytes,
                      options: DissectOptions) -> list[Problem]:
    """The connectparam keys and their order (section "connect – Simple")."""
    if kind != "request":
        return []
    node = _first(root, "connectparam")
    if node is None or node.text_offset < 0:
        return []
    raw = data[node.text_offset: node.text_offset + node.text_length]
    return connectparam.check(connectparam.split(raw), node.text_offset, node.text_length)


def connect_shape(root: XmlNode, kind: str, data: bytes,
                  options: DissectOptions) -> list[Problem]:
    """``<cameraid>`` and ``<connectparam>`` are both in the full connect syntax without
    "(optional)", but peers send either alone: the camera named by ``connectparam id=``
    only, or basic credentials in username/password without a connectparam (DECISIONS.md
    item 28). Either is graded as the field shape it is; neither is a missing camera."""
    if kind != "request":
        return []
    cameraid = _first(root, "cameraid")
    param = _first(root, "connectparam")
    where = (root.start, root.end - root.start)
    if cameraid is None and param is None:
        return [rules.problem(rules.FIELD_MISSING,
                              "<methodcall> has no <cameraid> and no <connectparam>: no "
                              "camera named", S_CONNECT_FULL, *where)]
    if cameraid is None:
        if connectparam.param_id(root, data) is None:
            return [rules.problem(rules.FIELD_MISSING,
                                  "<methodcall> has no <cameraid> and its connectparam no "
                                  "id: no camera named", S_CONNECT_FULL, *where)]
        return [rules.problem(rules.CONNECT_CAMERAID,
                              "connect without <cameraid>: the camera is named by "
                              "connectparam id only", S_CONNECT_FULL, *where,
                              options.graded(rules.CONNECT_CAMERAID))]
    if param is None:
        return [rules.problem(rules.CONNECT_BASIC,
                              "connect without <connectparam>: basic credentials in "
                              "username/password", S_CONNECT_FULL, *where,
                              options.graded(rules.CONNECT_BASIC))]
    return []


CHECKS: Mapping[str, Check] = MappingProxyType(
    {
        "connected_errorreason": connected_errorreason,
        "connectparam": connectparam_keys,
        "connect_shape": connect_shape,
    }
)
