"""Hostile and random input through the whole CVIPv2 path (framer + dissector): never an
exception, bounded memory, findings instead of silence."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dissectors.base import Framed, Record
from dissectors.cvip import CvipFramer, Options, dissect, encode_header, encode_message
from tests.test_cvip_record import corpus
from tests.test_cvip_xml import BILLION_LAUGHS


def frame_and_dissect(stream: bytes, chunk: int = 1000) -> list[Record]:
    framer = CvipFramer()
    events = []
    for i in range(0, len(stream), chunk):
        events += framer.feed(stream[i:i + chunk])
    events += framer.close()
    return [dissect(e.data, "tcp") for e in events if isinstance(e, Framed)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["tcp", "udp"]))
def test_random_bytes_never_raise(data, transport):
    rec = dissect(data, transport)
    assert rec.protocol in ("cvip", "cvip-ping")
    assert all(p.rule != "dissector_error" for p in rec.problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(corpus()), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                           min_size=1, max_size=8))
def test_mutated_messages_never_raise(message, flips):
    data = bytearray(message)
    for pos, byte in flips:
        data[pos % len(data)] = byte
    rec = dissect(bytes(data), "tcp")
    assert all(p.rule != "dissector_error" for p in rec.problems)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200).map(lambda b: b"<methodCall>" + b))
def test_random_xml_bodies_never_raise(body):
    rec = dissect(encode_message(body, 1), "tcp")
    assert all(p.rule != "dissector_error" for p in rec.problems)
    assert rec.kind in ("request", "event", "unknown")


def test_truncations_of_every_example_never_raise():
    for message in corpus():
        for cut in range(0, len(message), 7):
            rec = dissect(message[:cut], "tcp")
            assert all(p.rule != "dissector_error" for p in rec.problems)


def test_billion_laughs_message():
    rec = dissect(encode_message(BILLION_LAUGHS, 4), "tcp")
    assert "cvip.xml.forbidden" in {p.rule for p in rec.problems}
    assert rec.method == "cviStream.list"
    assert len(repr(rec.attrs["params"])) < 200


def test_4gb_declared_size_through_framer_and_dissector():
    stream = encode_header(0xFFFFFFFF, 6) + b"<methodCall>" + b"A" * 100_000
    records = frame_and_dissect(stream, chunk=4096)
    (rec,) = records
    assert rec.txn == 6 and rec.attrs["truncated"] is True
    assert {p.rule for p in rec.problems} == {"cvip.xmlrpc.structure"}  # body not captured


def test_100k_deep_nesting_message():
    body = b"<methodCall><methodName>x.y</methodName><params><param><value>" + (
        b"<struct><member><name>a</name><value>" * 100_000)
    rec = dissect(encode_message(body, 1), "tcp")
    assert "cvip.xml.limits" in {p.rule for p in rec.problems}
    assert rec.method == "x.y"


def test_many_tiny_elements_hit_the_element_cap():
    body = b"<methodCall><methodName>x.y</methodName><params>" + (
        b"<param><value><i4>1</i4></value></param>" * 40_000) + b"</params></methodCall>"
    rec = dissect(encode_message(body, 1), "tcp", options={"xml_element_cap": 5000})
    assert "cvip.xml.limits" in {p.rule for p in rec.problems}
    assert 1000 < sum(1 for _ in rec.walk()) < 5000
    assert Options().xml_element_cap == 50_000


def test_garbage_between_valid_messages_over_a_long_stream():
    rng = random.Random(7)
    messages = corpus()
    stream = bytearray()
    for _ in range(200):
        stream += rng.choice(messages)
        if rng.random() < 0.3:
            stream += bytes(rng.randrange(3, 250) for _ in range(rng.randrange(1, 30)))
    records = frame_and_dissect(bytes(stream), chunk=rng.randrange(1, 2000))
    assert len(records) >= 150
    assert all(p.rule != "dissector_error" for r in records for p in r.problems)
