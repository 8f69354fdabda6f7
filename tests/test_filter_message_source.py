"""MessageFieldSource over synthetic Messages, and every example filter from the brief
evaluated against a small mixed corpus of CVIP, ping and ImageServer messages."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pytest

from cvipsniff.filter import FieldRegistry, MessageFieldSource, compile_filter
from cvipsniff.model import Flow, Message
from dissectors.base import Field, FieldInfo, Problem, Record

REGISTRY = FieldRegistry(
    {
        "cvip": [
            FieldInfo("cvip.version", "Version", "uint"),
            FieldInfo("cvip.txn", "Transaction", "uint"),
            FieldInfo("cvip.response", "Response flag", "bool"),
            FieldInfo("cvip.kind", "Kind", "string"),
            FieldInfo("cvip.method", "Method", "string"),
            FieldInfo("cvip.param.*", "Parameter", "any"),
            FieldInfo("cvip.ping.ip", "Ping address", "address"),
        ],
        "imageserver": [
            FieldInfo("imageserver.requestid", "Request id", "uint"),
            FieldInfo("imageserver.methodname", "Method", "string"),
            FieldInfo("imageserver.kind", "Kind", "string"),
            FieldInfo("imageserver.header.<name>", "Header", "string"),
        ],
    }
)


@dataclass
class Txn:
    """A duck-typed transaction, as the analysis engine's."""

    id: object
    state: object
    latency_ms: float | None


@dataclass
class Finding:
    rule: str
    severity: str
    message: str
    spec: str = ""


def make_message(
    record: Record,
    *,
    number: int,
    frames: list[int],
    flow: int = 0,
    direction: int = 0,
    transport: str = "tcp",
    src: tuple[str, int] = ("127.0.0.1", 50000),
    dst: tuple[str, int] = ("127.0.0.1", 7110),
    ts_ns: int = 1_700_000_000_000_000_000,
    length: int = 100,
) -> Message:
    return Message(
        number=number, flow=flow, direction=direction, transport=transport, src=src, dst=dst,
        frames=frames, ts_ns=ts_ns, first_ts_ns=ts_ns, offset=0, length=length, record=record,
    )


def cvip_record(
    kind: str, txn: int, method: str | None, params: list[Field] | None = None
) -> Record:
    header = Field("cvip.header", "Header", None, children=[
        Field("cvip.version", "Version", 0x0201, offset=0, length=2),
        Field("cvip.txn", "Transaction", txn, offset=3, length=2),
        Field("cvip.response", "Response", kind in ("ack", "response"), offset=3, length=1),
    ])
    fields = [header, Field("cvip.kind", "Kind", kind)]
    if method is not None:
        fields.append(Field("cvip.method", "Method", method))
    if params:
        fields.append(Field("cvip.param", "Parameters", None, children=params))
    return Record(
        protocol="cvip", kind=kind, info=f"{method or kind} txn={txn}", fields=fields, txn=txn,
        is_response=kind in ("ack", "response"), method=method,
    )


def corpus() -> dict[str, MessageFieldSource]:
    """Eight messages over four flows, with transactions and findings."""
    answered_slow = Txn(0x12, "answered", 150.0)
    create = make_message(
        cvip_record("request", 0x12, "cviStream.create", [
            Field("cvip.param.StreamID", "StreamID", 3),
            Field("cvip.param.destIp", "destIp", "10.0.0.5"),
        ]),
        number=4, frames=[10, 11, 12], flow=3,
    )
    create_ack = make_message(
        cvip_record("ack", 0x12, None), number=5, frames=[13], flow=3, direction=1,
        src=("127.0.0.1", 7110), dst=("127.0.0.1", 50000),
    )
    create_fast = make_message(
        cvip_record("request", 0x05, "cviStream.create"), number=2, frames=[5], flow=1,
        src=("10.0.0.2", 40000), dst=("10.0.0.9", 7110),
    )
    ptz = make_message(
        cvip_record("request", 0x20, "cviPTZ.cmd", [
            Field("cvip.param.arg", "arg", 3), Field("cvip.param.arg", "arg", 8),
        ]),
        number=3, frames=[7], flow=1, src=("10.0.0.2", 40000), dst=("10.0.0.9", 7110),
    )
    ping = make_message(
        Record(
            protocol="cvip-ping", kind="ping-request", info="ping request txn=1",
            fields=[Field("cvip.txn", "Transaction", 1), Field("cvip.kind", "Kind",
                                                               "ping-request")],
            txn=1,
        ),
        number=1, frames=[1], flow=0, transport="udp", src=("127.0.0.1", 5353),
        dst=("255.255.255.255", 9990), length=16,
    )
    goto = make_message(
        Record(
            protocol="imageserver", kind="request", info="goto request id=7",
            fields=[Field("imageserver.requestid", "Request id", "7"),  # text, as in XML
                    Field("imageserver.methodname", "Method", "goto")],
            txn=7, method="goto",
        ),
        number=6, frames=[8], flow=2, src=("127.0.0.1", 51000), dst=("127.0.0.1", 7563),
    )
    image = make_message(
        Record(
            protocol="imageserver", kind="imageresponse", info="ImageResponse id=7",
            fields=[Field("imageserver.requestid", "Request id", 7),
                    Field("imageserver.header", "Headers", None, children=[
                        Field("imageserver.header.Content-type", "Content-type", "image/jpeg"),
                        Field("imageserver.header.Content-length", "Content-length", "12345"),
                    ])],
            txn=7, is_response=True,
        ),
        number=7, frames=[9, 14], flow=2, direction=1, src=("127.0.0.1", 7563),
        dst=("127.0.0.1", 51000), length=12400,
    )
    event = make_message(
        cvip_record("event", 0x30, "cviEvent.notify"), number=8, frames=[15], flow=3,
        direction=1, src=("127.0.0.1", 7110), dst=("127.0.0.1", 50000),
    )
    unanswered = Txn(0x20, "unanswered", None)
    return {
        "create": MessageFieldSource(create, transaction=answered_slow),
        "create_ack": MessageFieldSource(create_ack, transaction=answered_slow),
        "create_fast": MessageFieldSource(create_fast, transaction=Txn(0x05, "answered", 50.0)),
        "ptz": MessageFieldSource(
            ptz, transaction=unanswered,
            findings=[Finding("cvip.txn.unanswered", "warning", "request never answered")],
        ),
        "ping": MessageFieldSource(ping),
        "goto": MessageFieldSource(goto, transaction=Txn(7, "answered", 20.0)),
        "image": MessageFieldSource(
            image, transaction=Txn(7, "answered", 20.0),
            findings=[Finding("imageserver.framing.terminator", "error", "no CRLFCRLF",
                              "ImageServer §ImageResponse")],
        ),
        "event": MessageFieldSource(event, transaction=Txn(0x30, "event", None)),
    }


ALL = {"create", "create_ack", "create_fast", "ptz", "ping", "goto", "image", "event"}

EXAMPLES = [
    ('cvip.method == "cviStream.create" && latency_ms > 100', {"create"}),
    ("imageserver.requestid == 7", {"goto", "image"}),
    ('finding.severity == "error"', {"image"}),
    ("cvip", {"create", "create_ack", "create_fast", "ptz", "ping", "event"}),
    ("imageserver && !finding", {"goto"}),
    ("frame == 12", {"create"}),
    ("frame in {1 5 7..9}", {"ping", "create_fast", "ptz", "goto", "image"}),
    ("cvip.txn >= 0x10", {"create", "create_ack", "ptz", "event"}),
    ('cvip.method contains "Stream"', {"create", "create_fast"}),
    ('cvip.method matches "^cviPTZ\\\\."', {"ptz"}),
    ("ip.src == 127.0.0.1", ALL - {"create_fast", "ptz"}),
    ("tcp.port == 7563 or udp.port == 9990", {"ping", "goto", "image"}),
    ('not (cvip.kind == "ack")', ALL - {"create_ack"}),
    ('txn.state == "unanswered"', {"ptz"}),
    ("flow == 3", {"create", "create_ack", "event"}),
    ('protocol == "cvip-ping"', {"ping"}),
    # and a few more the language promises
    ("cvip-ping", {"ping"}),
    ('imageserver.header.Content-type contains "jpeg"', {"image"}),
    ('finding.severity >= "warning"', {"ptz", "image"}),
    ("cvip.param.arg == 8 && cvip.param.arg == 3", {"ptz"}),
    ("cvip.param.destIp == 10.0.0.5", {"create"}),
    ("ip.addr == 10.0.0.0/8", {"create_fast", "ptz"}),
    ("latency_ms", {"create", "create_ack", "create_fast", "goto", "image"}),
    ("txn.id == 0x12", {"create", "create_ack"}),
    ("direction == 1 && tcp", {"create_ack", "image", "event"}),
    ("udp", {"ping"}),
    ('kind in {"ack" "event"}', {"create_ack", "event"}),
    ("response == true", {"create_ack", "image"}),
    ("cvip.response == true", {"create_ack"}),
    ("length > 10000", {"image"}),
    ('method matches "^cvi"', {"create", "create_fast", "ptz", "event"}),
    ('info contains "id=7"', {"goto", "image"}),
    ("message in {1..3}", {"ping", "create_fast", "ptz"}),
    ("cvip.ping.ip", set()),
    ("", ALL),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES)
def test_examples_against_synthetic_messages(text: str, expected: set[str]) -> None:
    flt = compile_filter(text, REGISTRY)
    matched = {name for name, source in corpus().items() if flt.matches(source)}
    assert matched == expected


# ---- the adapter itself ----------------------------------------------------------------------


def test_record_values_in_tree_order_and_repeated() -> None:
    source = corpus()["ptz"]
    assert list(source.values("cvip.param.arg")) == [3, 8]
    assert list(source.values("cvip.txn")) == [0x20]
    assert list(source.values("cvip.param")) == []  # a structure node has no value...
    assert source.has_prefix("cvip.param")  # ...but is present
    assert source.has_prefix("cvip.param.arg")
    assert not source.has_prefix("cvip.par")
    assert list(source.values("nosuch")) == []


def test_engine_values() -> None:
    flow = Flow(id=2, transport="tcp", client=("127.0.0.1", 51000),
                server=("127.0.0.1", 7563), first_frame=8, first_ts_ns=0, closed="rst")
    message = make_message(
        Record(protocol="imageserver", kind="request", info="goto request id=7", method="goto"),
        number=6, frames=[8, 9], flow=2, ts_ns=1_700_000_001_500_000_000, length=321,
        dst=("127.0.0.1", 7563),
    )
    source = MessageFieldSource(message, flow=flow, first_ts_ns=1_700_000_000_000_000_000)
    expected: dict[str, list[object]] = {
        "frame": [8, 9],
        "frame.time": [1_700_000_001.5],
        "frame.time_relative": [1.5],
        "message": [6],
        "flow": [2],
        "flow.closed": ["rst"],
        "flow.mid_session": [False],
        "direction": [0],
        "transport": ["tcp"],
        "protocol": ["imageserver"],
        "kind": ["request"],
        "method": ["goto"],
        "response": [False],
        "info": ["goto request id=7"],
        "length": [321],
        "ip.src": ["127.0.0.1"],
        "ip.dst": ["127.0.0.1"],
        "ip.addr": ["127.0.0.1", "127.0.0.1"],
        "tcp.port": [50000, 7563],
        "tcp.srcport": [50000],
        "tcp.dstport": [7563],
        "udp.port": [],
        "udp.srcport": [],
        "src.port": [50000],
        "dst.port": [7563],
        "latency_ms": [],
        "txn.state": [],
        "txn.id": [],
        "finding": [],
        "finding.rule": [],
    }
    for key, values in expected.items():
        assert list(source.values(key)) == values, key
    assert source.has_prefix("tcp") and not source.has_prefix("udp")
    assert not source.has_prefix("txn") and not source.has_prefix("finding")
    assert source.has_prefix("imageserver")  # the record's protocol, even without fields
    assert not source.has_prefix("cvip")


def test_without_flow_flow_fields_are_missing() -> None:
    source = corpus()["create"]
    assert list(source.values("flow.closed")) == []
    assert list(source.values("flow")) == [3]


class State(Enum):
    ANSWERED = "answered"


def test_duck_typed_transaction_with_enum_state() -> None:
    message = corpus()["create"].message
    source = MessageFieldSource(message, transaction=Txn(0x12, State.ANSWERED, 12.5))
    assert list(source.values("txn.state")) == ["answered"]
    assert compile_filter('txn.state == "answered" && latency_ms < 13', REGISTRY).matches(source)


def test_record_problems_work_as_findings() -> None:
    record = cvip_record("request", 1, "cviFoo.bar")
    record.problems.append(
        Problem("cvip.method.unknown_service", "warning", "no such service", "CVIPv2 §1.3")
    )
    source = MessageFieldSource(make_message(record, number=1, frames=[1]),
                                findings=record.problems)
    flt = compile_filter('finding.rule == "cvip.method.unknown_service" && '
                         'finding.spec contains "1.3"', REGISTRY)
    assert flt.matches(source)


def test_the_analysis_models_fit_the_duck_types() -> None:
    from cvipsniff.analysis.model import Finding as AnalysisFinding
    from cvipsniff.analysis.model import MessageRef, Transaction

    message = corpus()["create"].message
    request = MessageRef(4, (10, 11, 12), 1_000_000_000, "request", "cviStream.create")
    answer = MessageRef(5, (13,), 1_250_000_000, "ack", None)
    txn = Transaction(number=1, protocol="cvip", id=0x12, flow=3, method="cviStream.create",
                      state="answered", request=request, responses=[answer])
    finding = AnalysisFinding("cvip.txn.method_mismatch", "error", "names differ", "§2", [13])
    source = MessageFieldSource(message, transaction=txn, findings=[finding])
    flt = compile_filter('latency_ms == 250 && txn.id == 0x12 && finding.severity == "error"',
                         REGISTRY)
    assert flt.matches(source)


def test_attrs_are_flattened() -> None:
    record = Record(
        protocol="cvip", kind="request", info="x",
        attrs={
            "service": "cviStream",
            "ack_code": None,
            "params": {"StreamID": 3, "dest": {"ip": "10.0.0.5", "port": 5000}},
            "parts": [{"kind": "jpeg"}, {"kind": "generic"}],
            "list": [1, 2],
        },
    )
    source = MessageFieldSource(make_message(record, number=1, frames=[1]))
    assert list(source.values("attrs.service")) == ["cviStream"]
    assert list(source.values("attrs.params.StreamID")) == [3]
    assert list(source.values("attrs.params.dest.ip")) == ["10.0.0.5"]
    assert list(source.values("attrs.parts.kind")) == ["jpeg", "generic"]
    assert list(source.values("attrs.list")) == [1, 2]
    assert list(source.values("attrs.ack_code")) == []
    assert source.has_prefix("attrs") and source.has_prefix("attrs.params.dest")
    flt = compile_filter('attrs.params.dest.port == 5000 && attrs.parts.kind == "generic"',
                         REGISTRY)
    assert flt.matches(source)


def test_engine_only_filters_do_not_index_the_record() -> None:
    source = corpus()["create"]
    assert compile_filter("frame == 12 && tcp.port == 7110 && finding", REGISTRY).matches(
        source) is False
    assert source._index is None  # the tree was never walked
    compile_filter("cvip.txn == 0x12", REGISTRY).matches(source)
    assert source._index is not None


def test_pathologically_deep_tree_does_not_recurse() -> None:
    root = node = Field("cvip.param", "Parameters", None)
    for depth in range(20_000):
        child = Field(f"cvip.param.d{depth % 3}", "deep", depth)
        node.children.append(child)
        node = child
    record = Record(protocol="cvip", kind="request", info="deep", fields=[root])
    source = MessageFieldSource(make_message(record, number=1, frames=[1]))
    assert len(source.values("cvip.param.d0")) == 6667
    assert compile_filter("cvip.param.d1 == 19999", REGISTRY).matches(source)


def test_hostile_attrs_are_bounded() -> None:
    nested: dict[str, object] = {"leaf": 1}
    for _ in range(100):
        nested = {"n": nested}
    record = Record(protocol="cvip", kind="request", info="x",
                    attrs={"deep": nested, "wide": list(range(50_000))})
    source = MessageFieldSource(make_message(record, number=1, frames=[1]))
    assert len(source.values("attrs.wide")) <= 10_000
    assert not source.has_prefix("attrs.deep" + ".n" * 20)
