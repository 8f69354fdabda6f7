"""The reference peers' own reading of CVIP bytes: headers, pings, framing, XML-RPC."""

from __future__ import annotations

import pytest

from cvipsniff.sim.cvip.decode import (
    MAX_MESSAGE_SIZE,
    Call,
    DecodeError,
    Garbage,
    Message,
    MessageReader,
    Oversized,
    Response,
    parse_body,
    parse_header,
    parse_ping_request,
    parse_ping_response,
)
from cvipsniff.sim.cvip.encode import (
    encode_header,
    frame,
    method_call,
    method_response,
    ping_request,
    ping_response,
)
from cvipsniff.sim.cvip.values import Struct, TypeOnly, UInt


def test_header_big_endian():
    header = parse_header(bytes.fromhex("020100800100000028"))
    assert header is not None
    assert (header.version, header.msg_type, header.txn, header.response, header.size) == (
        0x0201, 0, 1, True, 40)
    assert not header.little_endian


def test_header_little_endian_is_recognised_by_its_version_bytes():
    header = parse_header(encode_header(0x0102, 300, little_endian=True))
    assert header is not None and header.little_endian
    assert (header.version, header.txn, header.size) == (0x0201, 0x0102, 300)


@pytest.mark.parametrize("data", [b"", b"\x02\x01\x00", b"<methodCall>", b"\x00" * 9])
def test_header_absent(data):
    assert parse_header(data) is None


def test_other_version_is_still_a_header():
    header = parse_header(encode_header(3, 9, version=0x0202))
    assert header is not None and header.version == 0x0202


def test_ping_request_and_response_round_trip():
    request = parse_ping_request(ping_request(9, "192.0.2.1", 50000, 0x01))
    assert request is not None
    assert (request.ip, request.port, request.connection_type, request.header.txn) == (
        "192.0.2.1", 50000, 1, 9)
    guid = bytes(range(16))
    response = parse_ping_response(ping_response(9, "192.0.2.10", 7110, 1, guid, 7, 8, 1))
    assert response is not None
    assert (response.ip, response.port, response.guid, response.manufacturer_id,
            response.product_type, response.status) == ("192.0.2.10", 7110, guid, 7, 8, 1)


def test_ping_shapes_that_are_not_pings():
    request = ping_request(1, "127.0.0.1", 1, 1)
    assert parse_ping_request(request[:15]) is None  # too short
    assert parse_ping_response(request) is None  # no response bit
    assert parse_ping_request(frame(method_call("a.b"), 1)) is None  # message type 0
    assert parse_ping_request(ping_request(1, "127.0.0.1", 1, 1, extra=b"xy")).extra == b"xy"


# --- framing --------------------------------------------------------------------------


def test_reader_frames_messages_fed_byte_by_byte():
    stream = frame(method_call("a.b"), 1) + ping_request(2, "127.0.0.1", 1, 1)
    reader = MessageReader()
    chunks = []
    for i in range(len(stream)):
        chunks += reader.feed(stream[i : i + 1])
    assert [type(c) for c in chunks] == [Message, Message]
    assert b"".join(c.data for c in chunks) == stream
    assert reader.pending() == 0


def test_reader_reports_garbage_and_resynchronises():
    good = frame(method_call("a.b"), 1)
    chunks = MessageReader().feed(b"hello " + good)
    assert isinstance(chunks[0], Garbage) and chunks[0].data == b"hello "
    assert isinstance(chunks[-1], Message) and chunks[-1].data == good


def test_reader_keeps_a_possible_little_endian_start():
    reader = MessageReader()
    assert reader.feed(b"xx\x01") == [Garbage(b"xx")]
    tail = frame(method_call("a.b"), 1, little_endian=True)
    chunks = reader.feed(tail[1:])
    assert chunks == [Message(parse_header(tail), tail)]


def test_reader_stops_at_an_absurd_declared_size():
    reader = MessageReader()
    chunks = reader.feed(encode_header(1, 0xFFFFFFFF) + b"x" * 100)
    assert len(chunks) == 1 and isinstance(chunks[0], Oversized)
    assert reader.stopped and reader.pending() == 0
    assert reader.feed(b"more") == []


def test_reader_waits_for_a_declared_size_under_the_cap():
    reader = MessageReader()
    assert reader.feed(encode_header(1, MAX_MESSAGE_SIZE) + b"x" * 10) == []
    assert reader.pending() == 19


def test_reader_treats_a_size_below_the_header_as_garbage():
    chunks = MessageReader().feed(encode_header(1, 3) + frame(b"<a/>", 2))
    assert isinstance(chunks[0], Garbage)
    assert isinstance(chunks[-1], Message) and chunks[-1].header.txn == 2


# --- XML-RPC --------------------------------------------------------------------------


def test_call_and_response():
    call = parse_body(method_call("cviStream.delete", {"GUID": "g", "StreamID": UInt(4)}))
    assert isinstance(call, Call)
    assert call.params == [Struct((("GUID", "g"), ("StreamID", UInt(4))))]
    response = parse_body(method_response([1, "x"], method="m.n"))
    assert isinstance(response, Response) and response.method == "m.n"
    assert response.value == [1, "x"]


def test_tolerated_shapes_from_the_spec():
    # getProperties example: <param><array> without <value>; PTZ: <xml> wrapper; <iint>.
    call = parse_body(b"<xml><methodCall><methodName>cviVideo.1.getProperties</methodName>"
                      b"<params><param><array><data><value><string>p</string></value></data>"
                      b"</array></param><param><value><iint>64</iint></value></param></params>"
                      b"</methodCall></xml>")
    assert call == Call("cviVideo.1.getProperties", [["p"], 64])


def test_untyped_value_is_a_string_and_empty_types_are_type_only():
    response = parse_body(b"<methodResponse><params><param><value>plain</value></param>"
                          b"<param><value><dateTime.iso8601></dateTime.iso8601></value></param>"
                          b"</params></methodResponse>")
    assert response.params == ["plain", TypeOnly("dateTime.iso8601")]


@pytest.mark.parametrize("body", [
    b"",
    b"<methodCall><methodName>a.b</methodName>",  # not closed
    b"<methodCall><params/></methodCall>",  # no methodName
    b"<other/>",
    b"<methodCall><methodName>a</methodName><params><param><value><int>x</int></value>"
    b"</param></params></methodCall>",
    b"<methodCall><methodName>a</methodName><params><param><value><foo/></value>"
    b"</param></params></methodCall>",
    b"<methodCall><methodName>a</methodName><params><param><value><struct><member>"
    b"<value><int>1</int></value></member></struct></value></param></params></methodCall>",
    b"<methodCall><methodName>a</methodName><params><param><value><uint>-1</uint></value>"
    b"</param></params></methodCall>",
])
def test_unreadable_bodies_raise_decode_error_only(body):
    with pytest.raises(DecodeError):
        parse_body(body)


def test_dtd_and_entities_are_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;">]><methodCall><methodName>&b;</methodName>'
            b"</methodCall>")
    with pytest.raises(DecodeError, match="DTD"):
        parse_body(bomb)


def test_deep_nesting_is_refused():
    depth = 60
    value = b"<value><array><data>" * depth + b"<value><int>1</int></value>" + (
        b"</data></array></value>" * depth)
    with pytest.raises(DecodeError):
        parse_body(b"<methodCall><methodName>a.b</methodName><params><param>" + value +
                   b"</param></params></methodCall>")
