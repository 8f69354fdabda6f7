"""Generic byte data bodies as recording servers send them (Milestone's MIP layouts, which
the ImageServer document does not define): video stream packets, video blocks with a
header extension, and multi packets wrapping several packets. Bodies are built by the
simulator's own encoders (cvipsniff/sim/imageserver/genericbytedata.py)."""

from __future__ import annotations

from cvipsniff.sim.imageserver.genericbytedata import (
    audio_packet,
    multi_packet,
    video_block,
    video_packet,
)
from dissectors.base import Field, Record
from dissectors.imageserver import dissect
from dissectors.imageserver.genericbytedata import walk
from tests.test_imageserver_imageresponse import GBD, image, jpeg, multipart

H264 = b"\x00\x00\x00\x01\x65" + bytes(range(200))
T0 = 1_700_000_000_000


def packets(record: Record) -> list[Field]:
    return [f for f in record.walk() if f.key == "imageserver.gbd.packet"]


def child(field: Field, name: str) -> Field:
    return next(c for c in field.children if c.key == f"imageserver.gbd.{name}")


def raw(data: bytes, field: Field) -> bytes:
    return data[field.offset: field.offset + field.length]


def test_video_stream_packet_fields_each_point_at_their_own_bytes() -> None:
    body = video_packet(H264, sequence=0x0102, picture_time_ms=T0 + 40, sync_time_ms=T0,
                        codec=0x000A)
    data = image(body, GBD)
    record = dissect(data)
    assert record.problems == []
    (packet,) = packets(record)
    assert packet.value == "video stream packet" and raw(data, packet) == body
    assert raw(data, child(packet, "datatype")) == b"\x00\x10"
    assert raw(data, child(packet, "length")) == len(body).to_bytes(4, "big")
    assert raw(data, child(packet, "codec")) == b"\x00\x0a"
    assert raw(data, child(packet, "seqno")) == b"\x01\x02"
    assert raw(data, child(packet, "synctime")) == T0.to_bytes(8, "big")
    assert raw(data, child(packet, "picturetime")) == (T0 + 40).to_bytes(8, "big")
    assert raw(data, child(packet, "payload")) == H264
    assert record.attrs["gbd_packets"] == [{
        "layout": "video stream packet", "codec": "H.264", "keyframe": True,
        "payload_offset": data.index(H264), "payload_length": len(H264)}]


def test_video_block_with_header_extension() -> None:
    extension = b"\xee" * 12
    body = video_block(H264, codec=0x000A, first_time_ms=T0, last_time_ms=T0 + 960,
                       pictures=25, sequence=7, extension=extension)
    data = image(body, GBD)
    record = dissect(data)
    assert record.problems == []
    (packet,) = packets(record)
    assert packet.value == "video block" and raw(data, packet) == body
    assert child(packet, "codec").display == "H.264"
    assert raw(data, child(packet, "codec")) == b"\x00\x0a"
    header = child(packet, "headerlength")
    assert header.value == 48 and "12 B header extension" in header.display
    assert raw(data, child(packet, "extension")) == extension
    assert child(packet, "keyframe").value is True
    assert child(packet, "pictures").value == 25
    assert child(packet, "synctime").value == T0
    assert child(packet, "picturetime").value == T0 + 960
    assert raw(data, child(packet, "datalength")) == len(H264).to_bytes(4, "big")
    assert raw(data, child(packet, "payload")) == H264
    assert "MIP" in child(packet, "codec").label
    assert "H.264 key frame video block" in record.info


def test_video_block_that_does_not_fit_the_layout_keeps_the_codec_only() -> None:
    body = video_block(H264, first_time_ms=T0, last_time_ms=T0, pictures=1)[:-5]
    record = dissect(image(body, GBD))
    assert record.problems == []
    (packet,) = packets(record)
    assert child(packet, "codec").value == 0x000A
    assert "not decoded" in child(packet, "note").value
    assert record.attrs["gbd_packets"] == []


def test_multi_packet_with_video_and_audio_then_a_second_packet() -> None:
    video = video_packet(jpeg(64, 48, 600), sequence=1, picture_time_ms=T0, codec=0x0001)
    audio = audio_packet(b"\x55" * 40)
    wrapped = multi_packet(video, audio)
    second = video_packet(H264, sequence=2, picture_time_ms=T0 + 40, sync_time_ms=T0,
                          key_frame=False, codec=0x000A)
    data = image(wrapped + second, GBD)
    record = dissect(data)
    assert record.problems == []
    multi, inner_video, inner_audio, last = packets(record)
    assert multi.value == "multi packet" and raw(data, multi) == wrapped
    assert raw(data, child(multi, "datatype")) == b"\xfe\xf0"
    assert child(multi, "length").value == len(wrapped)
    assert (inner_video.value, inner_audio.value) == ("video stream packet", "audio packet")
    assert raw(data, inner_audio) == audio and raw(data, last) == second
    assert child(last, "keyframe").value is False
    assert [p["codec"] for p in record.attrs["gbd_packets"]] == ["JPEG", "H.264"]
    assert record.attrs["width"] == 64  # the JPEG inside the wrapped video packet
    assert "(3 packets)" in record.info


def test_every_part_of_a_multipart_body_is_walked() -> None:
    block = video_block(H264, first_time_ms=T0, last_time_ms=T0 + 80, pictures=3)
    wrapped = multi_packet(video_packet(H264, sequence=9, picture_time_ms=T0))
    record = dissect(multipart([(block, GBD), (wrapped, GBD)]))
    assert record.problems == []
    assert [f.value for f in packets(record)] == ["video block", "multi packet",
                                                 "video stream packet"]
    assert [p["layout"] for p in record.attrs["gbd_packets"]] == ["video block",
                                                                 "video stream packet"]


def test_malformed_multi_packets_are_described_not_judged() -> None:
    video = video_packet(H264, sequence=1, picture_time_ms=T0)
    cases = {
        "a second video stream packet": multi_packet(video, video),
        "at least one": multi_packet(),
        "video block cannot be wrapped": multi_packet(
            video_block(H264, first_time_ms=T0, last_time_ms=T0, pictures=1)),
    }
    for note, body in cases.items():
        record = dissect(image(body, GBD))
        assert record.problems == [], note
        assert note in child(packets(record)[0], "note").value


def test_walk_never_loops_or_raises_on_hostile_lengths() -> None:
    for body in (b"\x00\x10\x00\x00\x00\x00" + bytes(40),  # length 0
                 b"\xfe\xf0\x00\x00\x00\x10" + bytes(10),  # empty multi packet
                 b"\x00\x10\xff\xff\xff\xff" + bytes(26),  # length past the end
                 b"\x00\x01", b"\x00", b""):
        result = walk(body, 0, len(body))
        assert sum(1 for top in result.packets for _ in top.walk()) <= 2
    many = video_packet(b"", sequence=0, picture_time_ms=T0) * 300
    assert "more than 256" in walk(many, 0, len(many)).note
