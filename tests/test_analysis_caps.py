"""Findings of one rule are capped per message and per capture, and identical findings of
one message are merged with a count (issue 14; issue 12 item 6): one hostile message must
not become tens of thousands of findings, nor a 100-line header 100 lines."""

from __future__ import annotations

from cvipsniff.analysis.engine import Analysis
from cvipsniff.model import Message
from dissectors.base import Problem, Record
from dissectors.cvip import dissect, encode_message


def message(number: int, record: Record) -> Message:
    return Message(number=number, flow=0, direction=0, transport="tcp",
                   src=("10.0.0.1", 5000), dst=("10.0.0.2", 7110), frames=[number],
                   ts_ns=number, first_ts_ns=number, offset=0, length=1, record=record)


def record_with(problems: list[Problem]) -> Record:
    return Record("cvip", "event", "x", problems=problems)


def test_identical_findings_of_one_message_are_one_with_a_count():
    same = [Problem("cvip.xml.malformed", "error", "the same") for _ in range(100)]
    other = Problem("cvip.xml.malformed", "error", "another")
    analysis = Analysis()
    found = analysis.add(message(1, record_with([*same, other])))
    assert [f.message for f in found] == ["the same (×100)", "another"]


def test_different_findings_of_one_rule_are_capped_per_message():
    problems = [Problem("cvip.xmlrpc.structure", "error", f"n{i}") for i in range(100)]
    analysis = Analysis(max_per_message=5)
    found = analysis.add(message(1, record_with(problems)))
    assert [f.message for f in found[:5]] == ["n0", "n1", "n2", "n3", "n4"]
    assert len(found) == 6
    assert found[5].message.startswith("95 more cvip.xmlrpc.structure finding(s)")
    assert found[5].frames == [1]


def test_findings_of_one_rule_are_capped_per_capture():
    analysis = Analysis(max_per_capture=3)
    for n in range(1, 11):
        analysis.add(message(n, record_with([Problem("cvip.xmlrpc.structure", "error",
                                                      "x")])))
    analysis.finish()
    structure = [f for f in analysis.findings if f.rule == "cvip.xmlrpc.structure"]
    assert len(structure) == 4
    assert structure[-1].message.startswith("7 more cvip.xmlrpc.structure finding(s)")


def test_a_message_of_40000_arrays_gives_a_handful_of_findings():
    # Gave ~25,000 cvip.field.unknown findings, each with the message's frame list.
    body = (b"<methodCall><methodName>cviStream.list</methodName><params><param><value>"
            + b"<value><array></array></value>" * 40_000
            + b"</value></param></params></methodCall>")
    record = dissect(encode_message(body, 1), "tcp")
    assert len(record.problems) > 20_000
    analysis = Analysis()
    found = analysis.add(message(1, record))
    assert len(found) <= 30
    assert any(" more cvip.field.unknown finding(s) in this message" in f.message
               for f in found)
