"""Shapes real ImageServer peers send that the document does not foresee (DECISIONS.md item
28), each decoded, graded by default as what the document requires and the field does, and
an error under the strict profile (``[imageserver] profile = "strict"``); plus the checks
the field needs: a connectparam id that is not a GUID."""

from __future__ import annotations

import pytest

from dissectors.imageserver import dissect
from dissectors.imageserver import rules as R

CAMERA = "a9adc052-e793-4ed0-a1e2-8b975ba8e020"
DECL = '<?xml version="1.0" encoding="utf-8"?>'
STRICT = {"profile": "strict"}


def call(method: str, inner: str, requestid: str = "<requestid>1</requestid>") -> bytes:
    return (f"{DECL}<methodcall>{requestid}<methodname>{method}</methodname>{inner}"
            "</methodcall>\r\n\r\n").encode()


def reply(method: str, inner: str, requestid: str = "<requestid>1</requestid>") -> bytes:
    return (f"{DECL}<methodresponse>{requestid}<methodname>{method}</methodname>{inner}"
            "</methodresponse>\r\n\r\n").encode()


def graded(data: bytes, **options: object) -> list[tuple[str, str]]:
    return [(p.rule, p.severity) for p in dissect(data, options=options).problems]


# connect naming the camera by connectparam id only (no <cameraid>)
NO_CAMERAID = call("connect", "<username>dummy</username><password>dummy</password>"
                   "<alwaysstdjpeg>yes</alwaysstdjpeg>"
                   f"<connectparam>id={CAMERA}&amp;connectiontoken=TOKEN</connectparam>")
# connect with basic credentials: no <connectparam>
BASIC = call("connect", "<username>operator</username><password>secret</password>"
             f"<cameraid>{CAMERA}</cameraid><alwaysstdjpeg>yes</alwaysstdjpeg>",
             requestid="<requestid>0</requestid>")
# a good connect answered with errorreason "Success"
SUCCESS = reply("connect", "<connected>yes</connected><errorreason>Success</errorreason>")
# an answer without requestid
NO_REQUESTID = reply("connect", "<connected>yes</connected>", requestid="")
# nothing recorded at the requested time
EMPTY = (b"ImageResponse\r\nRequestId: 1\r\nPrev: 0\r\nCurrent: 0\r\nNext: 0\r\n"
         b"Content-length: 0\r\n\r\n\r\n\r\n")
# an ImageResponse without RequestId
NO_REQUEST_ID_HEADER = (b"ImageResponse\r\nRestriction: none\r\nPrev: 1700000000000\r\n"
                        b"Current: 1700000000040\r\nNext: 1700000000080\r\n"
                        b"Content-length: 3\r\nContent-type: application/"
                        b"x-genericbytedata-octet-stream\r\n\r\nabc\r\n\r\n")

SHAPES = {
    "connect without cameraid": (NO_CAMERAID, R.CONNECT_CAMERAID, "warning"),
    "connect without connectparam": (BASIC, R.CONNECT_BASIC, "info"),
    "errorreason Success": (SUCCESS, R.CONNECT_SUCCESS, "info"),
    "methodresponse without requestid": (NO_REQUESTID, R.RESPONSE_REQUESTID, "warning"),
    "empty database answer": (EMPTY, R.IMAGE_EMPTY, "info"),
    "ImageResponse without RequestId": (NO_REQUEST_ID_HEADER, R.RESPONSE_REQUESTID,
                                        "warning"),
}


@pytest.mark.parametrize("name", SHAPES)
def test_real_peer_shape_default_grade(name: str) -> None:
    data, rule, severity = SHAPES[name]
    assert graded(data) == [(rule, severity)]
    assert R.RULES[rule].severity == severity  # the catalogue says the same


@pytest.mark.parametrize("name", SHAPES)
def test_real_peer_shape_is_an_error_under_the_strict_profile(name: str) -> None:
    data, rule, _ = SHAPES[name]
    assert (rule, "error") in graded(data, **STRICT)
    assert (rule, "error") not in graded(data)


def test_every_shape_is_decoded() -> None:
    record = dissect(NO_CAMERAID)
    assert record.method == "connect" and record.txn == 1
    assert record.attrs["connectparam_id"] == CAMERA
    assert dissect(BASIC).find("imageserver.cameraid").value == CAMERA
    assert dissect(SUCCESS).attrs["connected"] is True
    answer = dissect(NO_REQUESTID)
    assert (answer.kind, answer.method, answer.txn) == ("response", "connect", None)
    empty = dissect(EMPTY)
    assert (empty.txn, empty.attrs["body_size"], empty.attrs["empty"]) == (1, 0, True)
    assert empty.find("imageserver.header.current").value == 0
    image = dissect(NO_REQUEST_ID_HEADER)
    assert image.kind == "imageresponse" and image.txn is None


def test_strict_empty_answer_reports_its_missing_headers_and_zero_times() -> None:
    rules = [rule for rule, _ in graded(EMPTY, **STRICT)]
    assert rules.count(R.FIELD_TIME) == 3  # Prev, Current, Next of 0 are implausible
    assert rules.count(R.FIELD_MISSING) == 2  # Content-type and Restriction
    assert R.IMAGE_EMPTY in rules


def test_an_empty_body_that_is_not_the_empty_answer_is_still_judged() -> None:
    # Current is a real time: an image was due, and image/jpeg with no bytes is wrong.
    data = (b"ImageResponse\r\nRequestId: 1\r\nRestriction: none\r\nPrev: 1700000000000\r\n"
            b"Current: 1700000000040\r\nNext: 1700000000080\r\nContent-length: 0\r\n"
            b"Content-type: image/jpeg\r\n\r\n\r\n\r\n")
    assert graded(data) == [(R.IMAGE_BODY, "warning")]


def test_connect_naming_no_camera_at_all_is_missing_a_field() -> None:
    data = call("connect", "<username>u</username><password>p</password>"
                "<connectparam>connectiontoken=T</connectparam>")
    assert (R.FIELD_MISSING, "error") in graded(data)
    bare = call("connect", "<username>u</username><password>p</password>")
    assert graded(bare) == [(R.FIELD_MISSING, "error")]


def test_other_errorreason_with_connected_yes_stays_an_error() -> None:
    data = reply("connect", "<connected>yes</connected><errorreason>Why?</errorreason>")
    assert graded(data) == [(R.CONNECT_ERRORREASON, "error")]


@pytest.mark.parametrize("param", [
    "id=%!d(string=a9adc052-e793-4ed0-a1e2-8b975ba8e020)&amp;connectiontoken=T",
    "id=camera-1&amp;connectiontoken=T",
    f"id={CAMERA}&amp;streamid=main&amp;connectiontoken=T",
])
def test_connectparam_id_that_is_not_a_guid(param: str) -> None:
    data = call("connect", "<username>a</username><password>a</password>"
                f"<cameraid>{CAMERA}</cameraid><connectparam>{param}</connectparam>")
    record = dissect(data)
    (problem,) = record.problems
    assert (problem.rule, problem.severity) == (R.CONNECT_GUID, "error")
    where = data[problem.offset: problem.offset + problem.length].decode()
    assert where.startswith(("id=", "streamid=")) and "connectiontoken" not in where


def test_guids_in_braces_and_any_case_are_guids() -> None:
    param = f"id={{{CAMERA.upper()}}}&amp;connectiontoken=T"
    data = call("connectupdate", f"<connectparam>{param}</connectparam>")
    assert graded(data) == []


# ---- framing of the field shapes, split at every byte -----------------------------------------


def _frame(stream: bytes, cut: int) -> list[bytes]:
    from dissectors.base import Framed
    from dissectors.imageserver.framer import ImageServerFramer

    framer = ImageServerFramer()
    events = framer.feed(stream[:cut]) + framer.feed(stream[cut:]) + framer.close()
    assert all(isinstance(e, Framed) and not e.problems for e in events), events
    return [e.data for e in events]


@pytest.mark.parametrize("name", ["empty database answer", "methodresponse without requestid",
                                  "ImageResponse without RequestId"])
def test_server_shapes_frame_alone_at_every_split(name: str) -> None:
    data = SHAPES[name][0]
    stream = data + SUCCESS + EMPTY + NO_REQUEST_ID_HEADER
    expected = [data, SUCCESS, EMPTY, NO_REQUEST_ID_HEADER]
    for cut in range(len(stream) + 1):
        assert _frame(stream, cut) == expected, cut


@pytest.mark.parametrize("name", ["connect without cameraid", "connect without connectparam"])
def test_client_shapes_frame_alone_at_every_split(name: str) -> None:
    data = SHAPES[name][0]
    stream = data + BASIC + NO_CAMERAID
    for cut in range(len(stream) + 1):
        assert _frame(stream, cut) == [data, BASIC, NO_CAMERAID], cut
