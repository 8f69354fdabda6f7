"""Heuristic detection of CVIPv2 from a stream's first bytes."""

from __future__ import annotations

from dissectors.cvip import (
    detect,
    encode_header,
    encode_message,
    encode_ping_request,
    encode_ping_response,
)

CALL = encode_message(b'<?xml version="1.0"?><methodCall><methodName>system.describe'
                      b"</methodName><params/></methodCall>", 1)


def test_xml_messages_score_high():
    assert detect(CALL, "tcp", 50000, 8000) >= 90
    bare = encode_message(b"<methodResponse><params/></methodResponse>", 1, response=True)
    assert detect(bare, "tcp") >= 90
    odd = encode_message(b"  <data/>", 1)
    assert 50 <= detect(odd, "tcp") < 90


def test_pings_score_high_and_exact_udp_highest():
    request = encode_ping_request(1, "10.0.0.1", 7110, 0x10)
    assert detect(request, "udp") >= 90
    assert 70 <= detect(request, "tcp") < detect(request, "udp")
    response = encode_ping_response(1, "10.0.0.2", 7110, 0x0C, bytes(16), 1, 2, False)
    assert detect(response, "udp") >= 90


def test_little_endian_scores_a_little_lower():
    le = encode_header(9 + 40, 1, byte_order="little") + b"<methodCall><methodName>a.b</m"
    be = encode_header(9 + 40, 1) + b"<methodCall><methodName>a.b</m"
    assert 50 < detect(le, "tcp") < detect(be, "tcp")


def test_partial_and_implausible_headers():
    assert 0 < detect(CALL[:2], "tcp") < 30
    assert 0 < detect(CALL[:9], "tcp") <= 30
    assert detect(encode_header(4, 1) + b"<x/>", "tcp") <= 10
    assert detect(encode_header(0xFFFFFFFF, 1) + b"<", "tcp") <= 10
    assert detect(encode_header(30, 1, msg_type=1) + b"<", "udp") <= 20
    assert detect(encode_header(100, 1) + b"\x00binary", "tcp") <= 10


def test_other_protocols_score_zero():
    for data in (b"", b"\x02", b"GET / HTTP/1.1\r\n\r\n", b"<methodcall>",
                 b"ImageResponse\r\n", b"\x16\x03\x01\x02\x00"):
        assert detect(data, "tcp") == 0, data
