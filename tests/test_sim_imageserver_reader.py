"""The reference client's stream reader, terminator splitter, safe XML and generic byte data."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvipsniff.sim.imageserver import encode as E
from cvipsniff.sim.imageserver.framing import Overflow, TerminatedSplitter
from cvipsniff.sim.imageserver.genericbytedata import (
    HEADER_SIZE,
    read_video_packet,
    video_packet,
)
from cvipsniff.sim.imageserver.reader import (
    ImageMessage,
    ServerStreamReader,
    Unreadable,
    XmlAnswer,
)
from cvipsniff.sim.imageserver.xmlread import parse_int, parse_xml, parse_yes_no

HEADERS = E.ImageHeaders(4, 10, 20, 30)
SINGLE = E.image_response(HEADERS, b"\xff\xd8body\r\n\r\nwith terminator inside\xff\xd9")
MULTI = E.multipart_image_response(HEADERS, E.Multipart((E.Part(b"a\r\n--frontier"),
                                                         E.Part(b"", E.CONTENT_TYPE_JPEG))))
XML = E.empty_response(4, "stop")
LIVE = E.livepackage(99, [E.StatusItem(1, 1)])
STREAM = SINGLE + XML + MULTI + LIVE


def _kinds(messages: list) -> list[str]:
    return [type(m).__name__ for m in messages]


def test_reads_every_kind_of_message() -> None:
    messages = ServerStreamReader().feed(STREAM)
    assert _kinds(messages) == ["ImageMessage", "XmlAnswer", "ImageMessage", "XmlAnswer"]
    single, xml, multi, live = messages
    assert single.body == b"\xff\xd8body\r\n\r\nwith terminator inside\xff\xd9"
    assert single.problems == [] and single.size == len(SINGLE)
    assert single.header("content-length") == str(len(single.body))
    assert xml.message.methodname == "stop" and xml.size == len(XML)
    assert multi.problems == [] and multi.size == len(MULTI)
    assert [p.data for p in multi.parts] == [b"a\r\n--frontier", b""]
    assert multi.parts[1].headers["content-type"] == "image/jpeg"
    assert live.message.tag == "livepackage"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_messages(cuts: list[int]) -> None:
    reader = ServerStreamReader()
    messages = []
    points = [0, *sorted(cuts), len(STREAM)]
    for a, b in itertools.pairwise(points):
        messages += reader.feed(STREAM[a:b])
    assert _kinds(messages) == ["ImageMessage", "XmlAnswer", "ImageMessage", "XmlAnswer"]
    assert all(getattr(m, "problems", []) == [] for m in messages)
    assert reader.close() == []


def test_a_lying_content_length_is_a_problem_and_reading_goes_on() -> None:
    lying = E.image_response(HEADERS, b"0123456789abcdef", content_length=6)
    messages = ServerStreamReader().feed(lying + XML)
    assert _kinds(messages) == ["ImageMessage", "XmlAnswer"]
    assert messages[0].body == b"0123456789abcdef"
    assert any("Content-length" in p for p in messages[0].problems)


def test_multipart_without_closing_boundary() -> None:
    broken = E.multipart_image_response(HEADERS, E.Multipart((E.Part(b"xyz"),), close=False))
    messages = ServerStreamReader().feed(broken + XML)
    assert _kinds(messages) == ["ImageMessage", "XmlAnswer"]
    assert messages[0].problems == ["multipart body without closing boundary"]
    assert [p.data for p in messages[0].parts] == [b"xyz"]


def test_multipart_part_without_length_is_read_to_the_next_boundary() -> None:
    body = E.Multipart((E.Part(b"one"), E.Part(b"two", omit_length=True), E.Part(b"3")))
    messages = ServerStreamReader().feed(E.multipart_image_response(HEADERS, body) + XML)
    assert _kinds(messages) == ["ImageMessage", "XmlAnswer"]
    assert [p.data for p in messages[0].parts] == [b"one", b"two", b"3"]
    assert messages[0].problems == ["part without a valid Content-length"]


def test_garbage_before_a_message_is_reported_and_skipped() -> None:
    messages = ServerStreamReader().feed(b"\x00\x01junk junk" + SINGLE)
    assert _kinds(messages) == ["Unreadable", "ImageMessage"]
    assert messages[0].data == b"\x00\x01junk junk"


def test_malformed_xml_is_unreadable() -> None:
    messages = ServerStreamReader().feed(b"<livepackage><status></livepackage>\r\n\r\n" + XML)
    assert _kinds(messages) == ["Unreadable", "XmlAnswer"]
    assert "well-formed" in messages[0].reason


def test_truncated_stream_is_reported_on_close() -> None:
    reader = ServerStreamReader()
    assert reader.feed(SINGLE[:-10]) == []
    rest = reader.close()
    assert len(rest) == 1 and isinstance(rest[0], Unreadable)


def test_absurd_content_length_is_not_buffered() -> None:
    msg = b"ImageResponse\r\nRequestId: 1\r\nContent-length: 99999999999\r\n\r\n\r\n\r\n"
    messages = ServerStreamReader().feed(msg)
    assert len(messages) == 1 and messages[0].problems


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=50))
def test_reader_never_raises(data: bytes, step: int) -> None:
    reader = ServerStreamReader()
    out = []
    for i in range(0, len(data), step):
        out += reader.feed(data[i:i + step])
    out += reader.close()
    assert all(isinstance(m, ImageMessage | XmlAnswer | Unreadable) for m in out)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(STREAM) - 1), st.binary(min_size=1, max_size=8))
def test_reader_survives_corruption_anywhere(at: int, junk: bytes) -> None:
    reader = ServerStreamReader()
    reader.feed(STREAM[:at] + junk + STREAM[at:])
    reader.feed(XML)
    reader.close()


def test_splitter_finds_terminators_across_feeds_and_caps() -> None:
    splitter = TerminatedSplitter(cap=100)
    assert splitter.feed(b"abc\r\n") == []
    assert splitter.feed(b"\r") == []
    assert splitter.feed(b"\nnext\r\n\r\n\r\n\r\nx") == [b"abc", b"next", b""]
    assert splitter.pending == 1
    out = splitter.feed(b"y" * 200)
    assert out == [Overflow(198)] and splitter.pending == 3
    assert splitter.take_rest() == b"yyy"


def test_xml_reader_refuses_dtds_and_caps_size() -> None:
    assert isinstance(parse_xml(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'), str)
    assert isinstance(parse_xml(b"<x>" + b"a" * 300_000 + b"</x>"), str)
    assert isinstance(parse_xml(b"<x><y></x>"), str)
    doc = parse_xml(b"<methodcall><requestid> 5 </requestid><methodname>ptz</methodname>"
                    b"<methodname>dup</methodname></methodcall>")
    assert not isinstance(doc, str)
    assert (doc.requestid, doc.methodname) == ("5", "ptz")


@pytest.mark.parametrize(("text", "value"), [("12", 12), ("-3", -3), ("+4", 4), ("", None),
                                             ("1e3", None), ("٣", None), (None, None),
                                             ("9" * 30, None)])
def test_parse_int(text: str | None, value: int | None) -> None:
    assert parse_int(text) == value


def test_parse_yes_no() -> None:
    assert [parse_yes_no(t) for t in ("yes", "no", "true", "YES", None)] == [
        True, False, None, None, None]


def test_generic_byte_data_round_trip() -> None:
    packet = video_packet(b"payload", sequence=70000, picture_time_ms=1234,
                          sync_time_ms=1000, key_frame=False)
    header, payload = read_video_packet(packet)
    assert payload == b"payload" and len(packet) == HEADER_SIZE + 7 == 39
    assert (header.sequence, header.picture_time_ms, header.sync_time_ms) == (70000 & 0xFFFF,
                                                                              1234, 1000)
    assert not header.key_frame and header.length == len(packet)
    assert read_video_packet(packet[:-1]) is None
    assert read_video_packet(b"\x00" * 10) is None
