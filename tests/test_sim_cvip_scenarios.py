"""Scenario transcripts for the synthesizer: deterministic by seed, complete, and with
truth that matches the bytes — including the violation scenarios, where every rule an
independent re-check finds in a message must be exactly the rules its truth lists."""

from __future__ import annotations

import json
import re
import struct
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import pytest
from lxml import etree

from cvipsniff.sim.cvip.calls import Rejected, check_value
from cvipsniff.sim.cvip.catalogue import (
    EVENT_GROUPS,
    GENERIC_METHODS,
    METHODS,
    ROLES,
    SYSTEM_METHODS,
    properties_for,
    services_for,
)
from cvipsniff.sim.cvip.decode import Call, DecodeError, parse_body
from cvipsniff.sim.cvip.scenarios import build_scenarios, build_violation_scenarios
from cvipsniff.sim.cvip.values import Struct

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = {"cvip-discovery", "cvip-discover-services", "cvip-configure", "cvip-events",
            "cvip-firmware", "cvip-device-services", "cvip-nvr-services",
            "cvip-master-services"}
REQUIRED_VIOLATIONS = {
    "cvip.header.version", "cvip.header.byte_order", "cvip.header.size_mismatch",
    "cvip.header.response_bit", "cvip.txn.orphan_response", "cvip.txn.duplicate",
    "cvip.txn.unanswered", "cvip.ping.unanswered", "cvip.ping.connection_type",
    "cvip.ping.length", "cvip.ack.unknown_code", "cvip.xml.malformed",
    "cvip.method.unknown_service", "cvip.method.unknown_method", "cvip.field.missing",
    "cvip.field.enum", "cvip.field.range", "cvip.field.format", "cvip.property.read_only",
    "cvip.txn.method_mismatch",
}


@pytest.fixture(scope="module")
def scenarios():
    return build_scenarios(1)


@pytest.fixture(scope="module")
def violations():
    return build_violation_scenarios(1)


def fingerprint(scenarios) -> list:
    return [
        (s.name, [(c.transport, c.client, c.server,
                   [(m.direction, m.data, m.t_ms, asdict(m.truth), m.src, m.dst)
                    for m in c.messages]) for c in s.conversations])
        for s in scenarios
    ]


def test_one_scenario_per_use_case_family(scenarios):
    assert {s.name for s in scenarios} == FAMILIES
    for scenario in scenarios:
        assert scenario.description and scenario.conversations
        assert scenario.notes["steps"] > 0 and scenario.notes["role"] in ROLES
        json.dumps(scenario.to_jsonable())


def test_deterministic_by_seed(scenarios, violations):
    assert fingerprint(build_scenarios(1)) == fingerprint(scenarios)
    assert fingerprint(build_violation_scenarios(1)) == fingerprint(violations)
    other = build_scenarios(2)
    assert fingerprint(other) != fingerprint(scenarios)
    # The same exchanges, differently timed and numbered.
    assert [[len(c.messages) for c in s.conversations] for s in other] == [
        [len(c.messages) for c in s.conversations] for s in scenarios]


def test_timeline_moves_forward_with_small_latencies(scenarios, violations):
    for scenario in [*scenarios, *violations]:
        for conv in scenario.conversations:
            times = [m.t_ms for m in conv.messages]
            assert times == sorted(times) and times[0] >= 0
            for request, answer in zip(conv.messages, conv.messages[1:], strict=False):
                if request.direction == 0 and answer.direction == 1 and (
                        answer.truth.txn == request.truth.txn):
                    assert 0.0 <= answer.t_ms - request.t_ms < 10.0


def test_every_request_is_answered_once_with_its_method(scenarios):
    for scenario in scenarios:
        for conv in scenario.conversations:
            pending: dict[int, list[str | None]] = defaultdict(list)
            for message in conv.messages:
                truth = message.truth
                assert truth.violations == []
                if message.direction == 0:
                    assert truth.kind in ("request", "ping-request") and not truth.is_response
                    pending[truth.txn].append(truth.method)
                elif truth.kind == "event":
                    assert truth.method == "cviEvent.notify" and not truth.is_response
                elif conv.server[0] == "255.255.255.255":  # several units answer one ping
                    assert truth.kind == "ping-response" and truth.txn in pending
                else:
                    assert truth.is_response and pending[truth.txn], (scenario.name, truth)
                    assert truth.method == pending[truth.txn].pop(0)
            broadcast = conv.server[0] == "255.255.255.255"
            assert broadcast or not any(pending.values())


def test_truth_agrees_with_the_header_bytes(scenarios):
    for scenario in scenarios:
        for conv in scenario.conversations:
            for message in conv.messages:
                version, msg_type, word, size = struct.unpack(">HBHI", message.data[:9])
                assert (version, size) == (0x0201, len(message.data))
                assert message.truth.txn == word & 0x7FFF
                assert message.truth.is_response == bool(word & 0x8000)
                assert message.truth.protocol == ("cvip-ping" if msg_type == 1 else "cvip")


def test_broadcast_ping_is_answered_by_several_units(scenarios):
    discovery = next(s for s in scenarios if s.name == "cvip-discovery")
    broadcast = [c for c in discovery.conversations if c.server[0] == "255.255.255.255"]
    assert len(broadcast) == 1 and broadcast[0].transport == "udp"
    request, *answers = broadcast[0].messages
    assert request.dst == ("255.255.255.255", 7110) and len(answers) == 3
    assert len({a.src[0] for a in answers}) == 3
    assert all(a.dst == broadcast[0].client for a in answers)
    assert len({a.data[16:32] for a in answers}) == 3  # three unit GUIDs
    ports = {(c.transport, c.server[1]) for c in discovery.conversations}
    assert {("udp", 7110), ("udp", 9990), ("tcp", 7110), ("tcp", 9990)} <= ports


def test_every_catalogued_method_is_exercised(scenarios):
    called = {m.truth.method for s in scenarios for c in s.conversations for m in c.messages
              if m.truth.kind == "request"}
    custom = {"cviStream.getKeyFrame", "cviNvr.queryClip"}  # left out, see scenarios.py
    assert not custom & called
    for method in METHODS:
        assert method.full_name in called or method.full_name in custom, method.full_name
    for generic in GENERIC_METHODS:
        assert any(name.endswith("." + generic) for name in called), generic
    for name in SYSTEM_METHODS:
        assert f"system.{name}" in called


def test_events_are_asynchronous_and_numbered_by_the_unit(scenarios):
    events = next(s for s in scenarios if s.name == "cvip-events")
    notifications = [m for c in events.conversations for m in c.messages
                     if m.truth.kind == "event"]
    assert len(notifications) == 3
    assert [m.truth.txn for m in notifications] == [1, 2, 3]


# --- independent re-check of the violation truths -------------------------------------

RULES_MD = (ROOT / "docs" / "RULES.md").read_text(encoding="utf-8")
KNOWN_RULES = set(re.findall(r"^\| (cvip\.[a-z_.]+) \|", RULES_MD, re.MULTILINE))
ACK_CODES = {0x01000000, 0x01000001, 0x01000003, 0x01000004}
CONNECTION_TYPES = {0x01, 0x02, 0x0C, 0x10}
SERVICES = {s.id.casefold() for role in ROLES for s in services_for(role)}
SERVICES |= {g.casefold() for g in EVENT_GROUPS} | {"system"}
METHODS_BY_NAME = defaultdict(list)
for _method in METHODS:
    METHODS_BY_NAME[_method.full_name.casefold()].append(_method)
READ_ONLY = {p.id for p in properties_for("cviUnit", port=7110) if not p.writable}
EVENT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def _header(data: bytes) -> tuple[int, int, int, int, bool]:
    little = data[:2] == b"\x01\x02"
    version, msg_type, word, size = struct.unpack("<HBHI" if little else ">HBHI", data[:9])
    return version, msg_type, word, size, little


def _root_tag(body: bytes) -> str | None:
    root = etree.fromstring(body, etree.XMLParser(recover=True))
    return None if root is None else root.tag


def _well_formed(body: bytes) -> bool:
    try:
        etree.fromstring(body)
    except etree.XMLSyntaxError:
        return False
    return True


def _field_rules(method: str, fields: Struct) -> set[str]:
    variants = METHODS_BY_NAME.get(method.casefold(), [])
    if not variants:
        return set()
    spec = variants[0]
    if len(variants) > 1:
        spec = next((v for v in variants if fields.has(v.selector)), variants[0])
    found = set()
    for param in spec.params:
        if not any(fields.has(name) for name in param.names):
            if param.required:
                found.add("cvip.field.missing")
            continue
        value = next(fields.get(n) for n in param.names if fields.has(n))
        try:
            check_value(param, value)
        except Rejected:
            if param.choices is not None or param.bits is not None:
                found.add("cvip.field.enum")
            elif param.bounds is not None or param.magnitude is not None:
                found.add("cvip.field.range")
            elif param.fmt is not None:
                found.add("cvip.field.format")
            else:
                found.add("cvip.field.type")
    return found


def _named_fields(method: str, params: list) -> Struct:
    """A struct param, or the members of an array of structs (startFirmwareUpdate);
    positional params (the PTZ example) are named by the table's order."""
    if len(params) == 1 and isinstance(params[0], Struct):
        return params[0]
    if len(params) == 1 and isinstance(params[0], list) and all(
            isinstance(p, Struct) for p in params[0]):
        return Struct(tuple(m for p in params[0] for m in p.members))
    variants = METHODS_BY_NAME.get(method.casefold())
    if variants and variants[0].positional:
        return Struct(tuple((p.name, v) for p, v in zip(variants[0].params, params,
                                                        strict=False)))
    return Struct()


def rules_in_message(data: bytes) -> set[str]:
    """The per-message rules these bytes break, found without the peers' truth."""
    found = set()
    version, msg_type, word, size, little = _header(data)
    response = bool(word & 0x8000)
    if little:
        found.add("cvip.header.byte_order")
    if version != 0x0201:
        found.add("cvip.header.version")
    if size != len(data):
        found.add("cvip.header.size_mismatch")
    if msg_type == 1:
        if len(data) != (37 if response else 16):
            found.add("cvip.ping.length")
        if response and data[15] not in CONNECTION_TYPES:
            found.add("cvip.ping.connection_type")
        return found
    body = data[9:]
    if not _well_formed(body):
        found.add("cvip.xml.malformed")
    if (_root_tag(body) == "methodResponse") != response:
        found.add("cvip.header.response_bit")
    try:
        document = parse_body(body)
    except DecodeError:
        return found
    if isinstance(document, Call):
        fields = _named_fields(document.method, document.params)
        service, _, name = document.method.rpartition(".")
        if document.method == "cviEvent.notify":
            if not EVENT_TIME.match(str(fields.get("Time"))):
                found.add("cvip.field.format")
        elif service.casefold() not in SERVICES:
            found.add("cvip.method.unknown_service")
        elif document.method.casefold() not in METHODS_BY_NAME and name not in (
                *GENERIC_METHODS, *SYSTEM_METHODS):
            # On a service with custom functions an unknown name may be one of them.
            if not any(s.functions for role in ROLES for s in services_for(role)
                       if s.id.casefold() == service.casefold()):
                found.add("cvip.method.unknown_method")
        else:
            found |= _field_rules(document.method, fields)
        if name == "setProperties" and any(n in READ_ONLY for n in fields.names()):
            found.add("cvip.property.read_only")
    else:
        code = document.error_code
        if code is not None and code not in ACK_CODES:
            found.add("cvip.ack.unknown_code")
    return found


def rules_in_conversation(conv) -> dict[int, set[str]]:
    """Cross-message rules: pairing by transaction number (FIFO per number)."""
    found: dict[int, set[str]] = defaultdict(set)
    pending: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
    for index, message in enumerate(conv.messages):
        data = message.data
        _, msg_type, word, _, _ = _header(data)
        txn = word & 0x7FFF
        if msg_type == 1:
            is_request = message.direction == 0
        else:
            tag = _root_tag(data[9:])
            if tag == "methodCall" and message.direction == 1:
                continue  # an event
            is_request = tag == "methodCall"
        if is_request:
            if pending[txn]:
                found[index].add("cvip.txn.duplicate")
            method = None
            if msg_type != 1:
                root = etree.fromstring(data[9:], etree.XMLParser(recover=True))
                method = root.findtext("methodName")
            pending[txn].append((index, method))
        elif not pending[txn]:
            found[index].add("cvip.txn.orphan_response")
        else:
            _, asked = pending[txn].pop(0)
            if msg_type != 1:
                named = etree.fromstring(data[9:], etree.XMLParser(recover=True)).findtext(
                    "methodName")
                if named is not None and asked is not None and named != asked:
                    found[index].add("cvip.txn.method_mismatch")
    for waiting in pending.values():
        for index, _asked in waiting:
            is_ping = conv.messages[index].truth.protocol == "cvip-ping"
            found[index].add("cvip.ping.unanswered" if is_ping else "cvip.txn.unanswered")
    return found


def test_violation_truth_uses_known_rule_ids(violations):
    listed = {v for s in violations for c in s.conversations for m in c.messages
              for v in m.truth.violations}
    assert listed <= KNOWN_RULES
    assert listed >= REQUIRED_VIOLATIONS


def test_each_message_breaks_exactly_the_rules_it_lists(violations):
    for scenario in violations:
        for conv in scenario.conversations:
            cross = rules_in_conversation(conv)
            for index, message in enumerate(conv.messages):
                found = rules_in_message(message.data) | cross.get(index, set())
                assert found == set(message.truth.violations), (
                    scenario.name, index, message.truth)


def test_clean_scenarios_break_nothing(scenarios):
    for scenario in scenarios:
        for conv in scenario.conversations:
            cross = rules_in_conversation(conv)
            for index, message in enumerate(conv.messages):
                found = rules_in_message(message.data) | cross.get(index, set())
                if conv.server[0] == "255.255.255.255":
                    found -= {"cvip.txn.orphan_response"}  # several answers to one ping
                assert found == set(), (scenario.name, index, message.truth, found)


def test_the_recheck_finds_what_it_should():
    """The independent checker itself: each rule fires on a hand-made message."""
    from cvipsniff.sim.cvip.encode import ack, frame, method_call, ping_request

    assert rules_in_message(frame(method_call("system.describe"), 1, version=0x0200)) == {
        "cvip.header.version"}
    assert rules_in_message(frame(ack(0x01000002), 1, response=True)) == {
        "cvip.ack.unknown_code"}
    assert rules_in_message(ping_request(1, "127.0.0.1", 1, 1, size=17)) == {
        "cvip.header.size_mismatch"}
    assert rules_in_message(frame(method_call("cviUnit.setProperties",
                                              {"unitUpTime": 5}), 1)) == {
        "cvip.property.read_only"}
    assert rules_in_message(frame(method_call("cviPtz.cmd", {
        "GUID": "00000001-0000-0000-0001EC901E30B", "PtzID": 1, "PhyAddr": 1,
        "UserPriority": 0, "CmdType": 9, "CmdData": 0}), 1)) == {
        "cvip.field.enum", "cvip.field.range"}
