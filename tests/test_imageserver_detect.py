"""Heuristic detection of ImageServer streams on non-standard ports, and robustness of
``dissect`` on arbitrary bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dissectors.imageserver import detect, dissect
from dissectors.imageserver.fields import FIELD_KEYS

THRESHOLD = 50  # what the engine requires before claiming a flow

REQUEST = (b'<?xml version="1.0" encoding="UTF-8"?>\r\n<methodcall>\r\n  <requestid>1</requestid>'
           b"\r\n  <methodname>connect</methodname>\r\n</methodcall>\r\n\r\n")


@pytest.mark.parametrize("first_bytes", [
    REQUEST,
    b"\xef\xbb\xbf" + REQUEST,
    b"\r\n" + REQUEST,
    b"<methodresponse><requestid>1</requestid>",
    b"<livepackage><status>",
    b"ImageResponse\r\nRequestId: 4\r\n",
])
def test_imageserver_streams_are_claimed(first_bytes: bytes) -> None:
    assert detect(first_bytes, "tcp", 51000, 8000) >= THRESHOLD


@pytest.mark.parametrize("first_bytes", [
    b"",
    b"GET / HTTP/1.1\r\n",
    b"\x02\x01\x00\x00\x28\x00\x01\x00\x00<?xml version=\"1.0\"?><methodCall>",  # CVIP
    b'<?xml version="1.0"?>\r\n<methodCall><methodName>system.listServices</methodName>',
    b"<html><body>",
    b"\x00" * 64,
])
def test_other_streams_are_not_claimed(first_bytes: bytes) -> None:
    assert detect(first_bytes, "tcp", 51000, 8000) < THRESHOLD


def test_partial_evidence_needs_the_port() -> None:
    assert detect(b'<?xml version="1.0"?>', "tcp", 51000, 8000) < THRESHOLD
    assert detect(b'<?xml version="1.0"?>', "tcp", 51000, 7563) >= THRESHOLD
    assert detect(b"ImageResp", "tcp", 7563, 51000) >= THRESHOLD


def test_udp_is_never_imageserver() -> None:
    assert detect(REQUEST, "udp", 51000, 7563) == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_detect_and_dissect_never_raise(data: bytes) -> None:
    assert 0 <= detect(data, "tcp", 1, 2) <= 100
    record = dissect(data)
    assert record.protocol == "imageserver"
    assert all(f.key in FIELD_KEYS for f in record.walk())


MUTABLE = [
    REQUEST,
    b"ImageResponse\r\nRequestId: 1\r\nContent-type: multipart/related; boundary=b\r\n\r\n"
    b"--b\r\nContent-length: 3\r\nContent-type: image/jpeg\r\n\r\n\xff\xd8\xff\r\n--b--\r\n\r\n",
    b"ImageResponse\r\nRequestId: 2\r\nPrivacyMask: grid;2x1;10\r\nContent-length: 12\r\n"
    b"Content-type: image/jpeg\r\n\r\n\xff\xd8\xff\xc0\x00\x0b\x08\x00\x10\x00\x20\x01\r\n\r\n",
    b'<livepackage><status><statustime>1</statustime><statusitem id="1" value="0"/>'
    b"</status></livepackage>\r\n\r\n",
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MUTABLE), st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)),
                                          max_size=6), st.integers(0, 300))
def test_mutated_messages_never_break_the_dissector(base: bytes, flips, cut: int) -> None:
    data = bytearray(base)
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    message = bytes(data[: max(cut, 1)])
    record = dissect(message)
    assert record.kind in {"request", "response", "imageresponse", "livepackage", "unknown"}
    for field in record.walk():
        assert field.key in FIELD_KEYS
        end = field.offset + field.length
        assert field.offset == -1 or 0 <= field.offset <= end <= len(message)
    for problem in record.problems:
        assert problem.offset == -1 or 0 <= problem.offset <= len(message)
