"""Filters against records produced by the real dissectors, with the default registry
built from their ProtocolSpec.fields: the key names the language accepts are the ones the
dissectors emit."""

from __future__ import annotations

import pytest

from cvipsniff.filter import MessageFieldSource, compile_filter, default_registry
from cvipsniff.model import Message

cvip = pytest.importorskip("dissectors.cvip")
imageserver = pytest.importorskip("dissectors.imageserver")

CREATE = (
    b'<?xml version="1.0"?><methodCall><methodName>cviStream.create</methodName><params>'
    b"<param><value><struct><member><name>StreamID</name><value><uint>3</uint></value>"
    b"</member></struct></value></param></params></methodCall>"
)
GOTO = (
    b'<?xml version="1.0" encoding="UTF-8"?><methodcall><requestid>7</requestid>'
    b"<methodname>goto</methodname><time>1234</time></methodcall>\r\n\r\n"
)


def message(data: bytes, record: object, *, number: int, transport: str, sport: int,
            dport: int) -> Message:
    return Message(
        number=number, flow=number, direction=0, transport=transport,
        src=("127.0.0.1", sport), dst=("127.0.0.1", dport), frames=[number], ts_ns=0,
        first_ts_ns=0, offset=0, length=len(data), record=record,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def sources() -> dict[str, MessageFieldSource]:
    create = cvip.encode_message(CREATE, 0x12)
    ping = cvip.encode_ping_request(3, "127.0.0.1", 7110, 0x01)
    return {
        "create": MessageFieldSource(message(
            create, cvip.dissect(create, "tcp"), number=1, transport="tcp", sport=50000,
            dport=7110)),
        "ping": MessageFieldSource(message(
            ping, cvip.dissect(ping, "udp"), number=2, transport="udp", sport=50001,
            dport=9990)),
        "goto": MessageFieldSource(message(
            GOTO, imageserver.dissect(GOTO, "tcp"), number=3, transport="tcp", sport=50002,
            dport=7563)),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('cvip.method == "cviStream.create"', {"create"}),
        ('cvip.method contains "Stream"', {"create"}),
        ("cvip.txn >= 0x10", {"create"}),
        ('cvip.kind == "request"', {"create"}),
        ("imageserver.requestid == 7", {"goto"}),
        ('imageserver.methodname == "goto"', {"goto"}),
        ("cvip", {"create", "ping"}),
        ("cvip-ping", {"ping"}),
        ('protocol == "cvip-ping"', {"ping"}),
        ("imageserver && !finding", {"goto"}),
        ("tcp.port == 7563 or udp.port == 9990", {"ping", "goto"}),
        ('not (cvip.kind == "ack")', {"create", "ping", "goto"}),
        ("frame in {1 3}", {"create", "goto"}),
    ],
)
def test_filters_over_dissected_records(
    sources: dict[str, MessageFieldSource], text: str, expected: set[str]
) -> None:
    flt = compile_filter(text)
    assert {name for name, source in sources.items() if flt.matches(source)} == expected


def test_default_registry_knows_the_dissectors_fields() -> None:
    registry = default_registry()
    assert registry.problems == ()
    for key in ("cvip.txn", "cvip.method", "imageserver.requestid"):
        assert registry.is_comparable(key), key
