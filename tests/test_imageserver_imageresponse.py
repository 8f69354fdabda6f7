"""ImageResponse records: headers, JPEG dimensions, generic byte data, multipart parts,
privacy masks and Content-length checks."""

from __future__ import annotations

import base64
import struct

import pytest

from dissectors.imageserver import dissect
from dissectors.imageserver import rules as R
from dissectors.imageserver.jpeg import inspect as inspect_jpeg


def jpeg(width: int, height: int, size: int, sof: int = 0xC0) -> bytes:
    """A valid JPEG skeleton of ``size`` bytes with a real frame header (SOF marker
    ``sof``) of the given dimensions."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\xff\xdb" + struct.pack(">HB", 67, 0) + bytes(range(1, 65))
    frame = b"\xff" + bytes([sof]) + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes(
        [1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
    sos = b"\xff\xda" + struct.pack(">HB", 12, 3) + bytes([1, 0, 2, 0x11, 3, 0x11, 0, 63, 0])
    head = b"\xff\xd8" + app0 + dqt + frame + sos
    fill = size - len(head) - 2
    scan = bytes((i * 37) % 255 for i in range(fill))  # no 0xFF: no marker in the scan
    return head + scan + b"\xff\xd9"


def gbd(payload: bytes, codec: int = 0x000A, flags: int = 1, seqno: int = 3,
        datatype: int = 0x0010) -> bytes:
    header = struct.pack(">HIHHHQQI", datatype, 32 + len(payload), codec, seqno, flags,
                         1700000000000, 1700000000040, 0)
    return header + payload


def image(body: bytes, content_type: str = "image/jpeg", length: int | None = None,
          extra: str = "", request_id: str = "7") -> bytes:
    declared = len(body) if length is None else length
    head = (f"ImageResponse\r\nRequestId: {request_id}\r\n{extra}Restriction: none\r\n"
            "Prev: 1700000000000\r\nCurrent: 1700000000040\r\nNext: 1700000000080\r\n"
            f"Content-length: {declared}\r\nContent-type: {content_type}\r\n\r\n")
    return head.encode() + body + b"\r\n\r\n"


def multipart(parts: list[tuple[bytes, str]], boundary: str = "frontier",
              lengths: list[int] | None = None, close: bool = True) -> bytes:
    out = [("ImageResponse\r\nRequestId: 12\r\nRestriction: time\r\nPrev: 1700000000000\r\n"
            "Current: 1700000000040\r\nNext: 1700000000080\r\nSequenceNumber: 4\r\n"
            f"Content-type: multipart/related; boundary={boundary}\r\n\r\n").encode()]
    for i, (data, ctype) in enumerate(parts):
        length = len(data) if lengths is None else lengths[i]
        out.append(f"--{boundary}\r\nContent-length: {length}\r\nContent-type: {ctype}\r\n\r\n"
                   .encode() + data + b"\r\n")
    if close:
        out.append(f"--{boundary}--\r\n\r\n".encode())
    return b"".join(out)


GBD = "application/x-genericbytedata-octet-stream"


def rules_of(record) -> list[str]:
    return [p.rule for p in record.problems]


# ---- headers ---------------------------------------------------------------------------------


def test_headers_are_decoded() -> None:
    record = dissect(image(jpeg(640, 480, 12345), extra="SequenceNumber: 17\r\n"
                           "MotionLevel: 42\r\nX-Vendor: kept\r\n"))
    assert record.kind == "imageresponse" and record.is_response and record.txn == 7
    assert record.info == "ImageResponse id=7 image/jpeg 640x480 12345 B"
    assert record.find("imageserver.requestid").value == 7
    assert record.find("imageserver.header.requestid").value == 7
    assert record.find("imageserver.header.restriction").value == "none"
    current = record.find("imageserver.header.current")
    assert current.value == 1700000000040
    assert current.display == "1700000000040 (2023-11-14T22:13:20.040Z)"
    assert record.find("imageserver.header.sequencenumber").value == 17
    assert record.find("imageserver.header.motionlevel").value == 42
    other = record.find("imageserver.header.other")
    assert (other.label, other.value) == ("X-Vendor", "kept")
    assert rules_of(record) == [R.FIELD_UNKNOWN]  # an unknown header is only noted
    assert record.problems[0].severity == "info"
    assert record.attrs | {} == record.attrs and record.attrs["content_length"] == 12345
    assert record.attrs["body_kind"] == "jpeg" and record.attrs["parts"] == 0


def test_header_offsets_point_at_the_lines() -> None:
    data = image(jpeg(8, 8, 300))
    record = dissect(data)
    line = record.find("imageserver.header.content_type")
    assert data[line.offset: line.offset + line.length] == b"Content-type: image/jpeg"
    requestid = record.find("imageserver.requestid")
    assert data[requestid.offset: requestid.offset + requestid.length] == b"7"
    body = record.find("imageserver.body")
    assert data[body.offset: body.offset + body.length] == jpeg(8, 8, 300)


def test_header_names_are_case_insensitive() -> None:
    data = image(jpeg(8, 8, 300)).replace(b"Content-length", b"content-LENGTH")
    assert dissect(data).problems == []


@pytest.mark.parametrize(("old", "new", "rule"), [
    ("RequestId: 7", "RequestId: seven", R.FIELD_NUMBER),
    ("Current: 1700000000040", "Current: 17000000000400000000", R.FIELD_TIME),
    ("Current: 1700000000040", "Current: 1700000000", R.FIELD_TIME),
    ("Restriction: none", "Restriction: sometimes", R.FIELD_ENUM),
    ("Restriction: none", "Restriction: none\r\nSequenceNumber: -1", R.FIELD_NUMBER),
    ("Restriction: none", "Restriction: none\r\nBroken header line", R.IMAGE_HEADER),
    ("Restriction: none", "Restriction: none\r\nRestriction: none", R.FIELD_DUPLICATE),
    ("Content-type: image/jpeg", "Content-type: image/png", R.FIELD_ENUM),
])
def test_bad_header_values(old: str, new: str, rule: str) -> None:
    data = image(jpeg(8, 8, 300))
    assert old.encode() in data
    record = dissect(data.replace(old.encode(), new.encode(), 1))
    assert rule in rules_of(record), record.problems


def test_missing_headers() -> None:
    data = image(jpeg(8, 8, 300)).replace(b"Prev: 1700000000000\r\n", b"").replace(
        b"Current: 1700000000040\r\n", b"")
    record = dissect(data)
    severities = {p.message: p.severity for p in record.problems}
    assert severities == {"ImageResponse has no Current header": "error",
                          "ImageResponse has no Prev header": "warning"}
    strict = dissect(data, options={"strict_image_headers": True})
    assert {p.severity for p in strict.problems} == {"error"}


def test_first_line_must_be_exactly_imageresponse() -> None:
    data = image(jpeg(8, 8, 300)).replace(b"ImageResponse\r\n", b"ImageResponse 1.0\r\n", 1)
    assert R.IMAGE_HEADER in rules_of(dissect(data))


def test_header_line_cap() -> None:
    data = image(b"", extra="X-Pad: 1\r\n" * 300)
    record = dissect(data)
    assert R.HEADER_CAP in rules_of(record)
    assert len(record.find("imageserver.imageresponse").children) == 128


# ---- JPEG ------------------------------------------------------------------------------------


def test_200_kb_jpeg_dimensions() -> None:
    body = jpeg(1920, 1080, 200 * 1024)
    record = dissect(image(body))
    assert record.problems == []
    assert record.find("imageserver.jpeg.width").value == 1920
    assert record.find("imageserver.jpeg.height").value == 1080
    assert record.find("imageserver.jpeg.components").value == 3
    assert record.find("imageserver.jpeg.precision").value == 8
    assert record.find("imageserver.jpeg.sof").value == "SOF0 baseline DCT"
    assert record.find("imageserver.body.size").value == 200 * 1024
    assert record.info == "ImageResponse id=7 image/jpeg 1920x1080 204800 B"


def test_progressive_jpeg_and_fill_bytes() -> None:
    body = jpeg(33, 17, 900, sof=0xC2)
    body = body[:2] + b"\xff\xff" + body[2:]  # fill bytes before a marker are allowed
    info = inspect_jpeg(body, 0, len(body))
    assert (info.width, info.height, info.sof) == (33, 17, "SOF2 progressive DCT")
    assert info.problems == [] and info.cut == []


@pytest.mark.parametrize(("body", "expected"), [
    (b"\xff\xd8\xff\xe0\xff\xff", "beyond the image data"),
    (b"\xff\xd8\xff\xe0\x00\x04\x00\x00\x00\x00", "expected a marker"),
    (b"\xff\xd8\xff\xda\x00\x04\x00\x00", "start-of-scan before any start-of-frame"),
    (b"\xff\xd8\xff\xc0\x00\x05\x08\x00\x10", "start-of-frame segment too short"),
])
def test_hostile_jpeg_markers(body: bytes, expected: str) -> None:
    record = dissect(image(body))
    messages = [p.message for p in record.problems if p.rule == R.IMAGE_BODY]
    assert any(expected in m for m in messages), record.problems


def test_jpeg_content_type_without_jpeg_body() -> None:
    record = dissect(image(b"PNG? no."))
    assert rules_of(record) == [R.IMAGE_BODY]
    assert record.attrs["body_kind"] == "bytes"


def test_truncated_jpeg_reports_no_length_lie() -> None:
    cut = image(jpeg(64, 32, 5000))[:3000]
    record = dissect(cut)
    assert record.problems == []
    assert record.attrs["width"] == 64
    got = len(cut) - cut.index(b"\r\n\r\n") - 4
    assert record.find("imageserver.body").display == \
        f"jpeg, {got} B (truncated: {got} of 5000 bytes)"


# ---- Content-length ------------------------------------------------------------------------------


def test_body_shorter_than_content_length() -> None:
    record = dissect(image(jpeg(8, 8, 300), length=400))
    assert rules_of(record) == [R.IMAGE_CONTENT_LENGTH]
    assert record.attrs["body_size"] == 300 and record.attrs["content_length"] == 400


def test_body_longer_than_content_length() -> None:
    record = dissect(image(jpeg(8, 8, 300), length=200))
    assert rules_of(record) == [R.IMAGE_CONTENT_LENGTH]
    assert record.attrs["body_size"] == 300


def test_junk_after_body_and_trailer() -> None:
    data = image(jpeg(8, 8, 300))[:-4] + b"\r\n\r\nJUNK\r\n\r\n"
    record = dissect(data)
    assert rules_of(record) == [R.IMAGE_CONTENT_LENGTH]
    assert record.attrs["body_size"] == 300


def test_content_length_not_a_number() -> None:
    record = dissect(image(jpeg(8, 8, 300), length=None).replace(b"Content-length: 300",
                                                                 b"Content-length: lots"))
    assert rules_of(record) == [R.FIELD_NUMBER]
    assert record.attrs["body_size"] == 300  # up to the trailer


def test_missing_trailer_is_not_the_dissectors_finding() -> None:
    record = dissect(image(jpeg(8, 8, 300))[:-4])
    assert record.problems == []


# ---- generic byte data -----------------------------------------------------------------------


def test_generic_byte_data_header() -> None:
    body = gbd(b"\x00\x00\x00\x01\x67" + b"\x11" * 200)
    record = dissect(image(body, GBD))
    assert record.problems == []
    assert record.attrs["body_kind"] == "genericbytedata"
    assert record.find("imageserver.gbd.codec").display == "H.264"
    assert record.find("imageserver.gbd.keyframe").value is True
    assert record.find("imageserver.gbd.seqno").value == 3
    assert record.find("imageserver.gbd.picturetime").value == 1700000000040
    assert "Milestone MIP" in record.find("imageserver.gbd.datatype").label
    assert record.info == f"ImageResponse id=7 {GBD} H.264 key frame {len(body)} B"


def test_generic_byte_data_with_jpeg_payload() -> None:
    body = gbd(jpeg(352, 288, 1000), codec=0x0001, flags=0)
    record = dissect(image(body, GBD))
    assert record.attrs["width"] == 352 and record.attrs["keyframe"] is False
    assert "JPEG 352x288" in record.info


def test_generic_byte_data_that_does_not_fit_the_layout() -> None:
    record = dissect(image(b"\x99" * 40, GBD))
    header = record.find("imageserver.gbd.datatype")
    assert header.value is None and "not decoded" in header.display
    assert record.problems == []


# ---- multipart -------------------------------------------------------------------------------


def test_three_part_multipart() -> None:
    parts = [(gbd(b"\x01" * 50), GBD), (gbd(b"\x02" * 70, flags=0), GBD),
             (jpeg(160, 120, 800), "image/jpeg")]
    data = multipart(parts)
    record = dissect(data)
    assert record.problems == []
    assert record.attrs["parts"] == 3 and record.attrs["body_kind"] == "multipart"
    assert record.attrs["content_length"] is None
    fields = [f for f in record.walk() if f.key == "imageserver.part"]
    assert [f.value for f in fields] == ["genericbytedata", "genericbytedata", "jpeg"]
    for field, (body, ctype) in zip(fields, parts, strict=True):
        size = next(c for c in field.children if c.key == "imageserver.part.size")
        assert data[size.offset: size.offset + size.length] == body
        content_type = next(c for c in field.children
                            if c.key == "imageserver.part.header.content_type")
        assert content_type.value == ctype
    assert fields[2].display == "part 3: image/jpeg 800 B (160x120)"
    assert record.info.startswith("ImageResponse id=12 multipart/related 3 parts")


def test_multipart_with_quoted_boundary_and_data_that_looks_like_a_trailer() -> None:
    data = multipart([(b"\r\n\r\nImageResponse\r\n", GBD), (b"--frontie", GBD)],
                     boundary="b-1").replace(b"boundary=b-1", b'boundary="b-1"')
    record = dissect(data)
    assert record.attrs["parts"] == 2
    assert record.find("imageserver.multipart.boundary").value == "b-1"


def test_part_content_length_lie() -> None:
    data = multipart([(b"abc", GBD), (b"defgh", GBD)], lengths=[3, 9])
    record = dissect(data)
    assert rules_of(record) == [R.IMAGE_CONTENT_LENGTH]
    assert "part 2: Content-length 9, but 5 bytes" in record.problems[0].message
    sizes = [f.value for f in record.walk() if f.key == "imageserver.part.size"]
    assert sizes == [3, 5]


def test_multipart_without_closing_boundary() -> None:
    data = multipart([(b"abc", GBD)], close=False) + b"\r\n"
    record = dissect(data)
    assert rules_of(record) == [R.MULTIPART_STRUCTURE]
    assert "closing --frontier-- missing" in record.problems[0].message


def test_multipart_part_without_headers_and_preamble() -> None:
    data = multipart([(b"abc", GBD)]).replace(
        b"--frontier\r\nContent-length: 3\r\nContent-type: " + GBD.encode() + b"\r\n\r\n",
        b"preamble\r\n--frontier\r\n\r\n")
    record = dissect(data)
    messages = [p.message for p in record.problems]
    assert any("before the first boundary" in m for m in messages)
    assert any("no Content-length header" in m for m in messages)
    assert any("no Content-type header" in m for m in messages)
    assert record.attrs["parts"] == 1


def test_multipart_without_boundary_parameter() -> None:
    data = multipart([(b"abc", GBD)]).replace(b"; boundary=frontier", b"")
    assert R.MULTIPART_STRUCTURE in rules_of(dissect(data))


def test_multipart_part_cap() -> None:
    data = multipart([(b"x", GBD)] * 20)
    record = dissect(data, options={"max_parts": 5})
    assert record.attrs["parts"] == 5
    assert R.MULTIPART_STRUCTURE in rules_of(record)


# ---- privacy masks ---------------------------------------------------------------------------

MASK_XML = """<?xml version="1.0" encoding="utf-8"?>
<mask><methods>
  <solid value="1" removable="false">
    <color><red>0</red><green>0</green><blue>0</blue></color>
  </solid>
  <blur value="2" removable="true"/>
</methods>
<grid size="4x3"><row index="0" values="01000002"/><row index="2" values="00000000"/></grid>
</mask>"""


def mask_record(value: str):
    return dissect(image(jpeg(8, 8, 300), extra=f"PrivacyMask: {value}\r\n"))


def test_privacy_mask_none() -> None:
    record = mask_record("none")
    assert record.problems == [] and record.attrs["privacymask"] == "none"
    assert record.find("imageserver.privacymask.kind").value == "none"


def test_privacy_mask_grid() -> None:
    record = mask_record("grid;3x3;110;110;000")
    assert record.problems == []
    assert record.find("imageserver.header.privacymask").display == \
        "grid 3x3, 4 masked cells"
    assert [f.value for f in record.walk() if f.key == "imageserver.privacymask.row"] == [
        "110", "110", "000"]


@pytest.mark.parametrize("value", [
    "grid;3x3;110;110", "grid;3x3;110;11;000", "grid;3x3;110;120;000", "grid;three;1",
    "grid", "not base64 at all!", base64.b64encode(b"<notmask/>").decode(),
    base64.b64encode(b"<mask><grid size='2x1'><row index='0' values='0003'/></grid></mask>")
    .decode(),
    base64.b64encode(b"<mask><grid size='2x1'><row index='5' values='00'/></grid></mask>")
    .decode(),
])
def test_privacy_mask_syntax_errors(value: str) -> None:
    assert R.PRIVACYMASK_SYNTAX in rules_of(mask_record(value))


def test_privacy_mask_base64_xml() -> None:
    record = mask_record(base64.b64encode(MASK_XML.encode()).decode())
    assert record.problems == []
    mask = record.find("imageserver.header.privacymask")
    assert mask.display == "xml 4x3, 2 masked cells"
    assert mask.value.startswith("<") and "chars of base64" in mask.value
    methods = [f.display for f in record.walk() if f.key == "imageserver.privacymask.method"]
    assert methods == ["solid value=1 removable=false", "blur value=2 removable=true"]


def test_privacy_mask_xml_bomb_is_refused() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><mask>&b;</mask>')
    record = mask_record(base64.b64encode(bomb.encode()).decode())
    assert R.XML_FORBIDDEN in rules_of(record)


def test_outer_content_length_of_a_multipart_body() -> None:
    data = multipart([(b"abc", GBD)])
    body = len(data) - data.index(b"\r\n\r\n") - 4 - 4  # up to the closing boundary
    right = data.replace(b"SequenceNumber: 4\r\n", f"Content-length: {body}\r\n".encode())
    wrong = data.replace(b"SequenceNumber: 4\r\n", f"Content-length: {body + 9}\r\n".encode())
    assert dissect(right).problems == []
    assert rules_of(dissect(wrong)) == [R.IMAGE_CONTENT_LENGTH]
    assert dissect(wrong[:-30]).problems == []  # cut short: no claim about its length
