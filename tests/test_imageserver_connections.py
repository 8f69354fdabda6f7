"""Per-connection ImageServer rules (cvipsniff/analysis/connections.py): a connectupdate
naming another camera than the connection's connect, on messages the real dissector
decodes, fed through the analysis engine."""

from __future__ import annotations

from cvipsniff.analysis.engine import Analysis
from cvipsniff.model import Flow, FlowClosed, Message
from dissectors.imageserver import dissect

CAMERA = "a9adc052-e793-4ed0-a1e2-8b975ba8e020"
OTHER = "5193ca41-6223-4186-809d-668a6edc9da7"
WATCHED = ("imageserver.connect", "imageserver.txn.connectupdate_id")


class Feed:
    def __init__(self) -> None:
        self.n = 0
        self.analysis = Analysis()

    def request(self, body: str, flow: int = 0) -> list[str]:
        self.n += 1
        data = (f'<?xml version="1.0"?><methodcall><requestid>{self.n}</requestid>{body}'
                "</methodcall>\r\n\r\n").encode()
        msg = Message(number=self.n, flow=flow, direction=0, transport="tcp",
                      src=("10.0.0.1", 50000), dst=("10.0.0.2", 7563), frames=[self.n],
                      ts_ns=self.n, first_ts_ns=self.n, offset=0, length=len(data),
                      record=dissect(data))
        return [f.rule for f in self.analysis.add(msg) if f.rule.startswith(WATCHED)]


def connect(camera: str) -> str:
    return ("<methodname>connect</methodname><username>a</username><password>a</password>"
            f"<cameraid>{camera}</cameraid><connectparam>id={camera}&amp;connectiontoken=T"
            "</connectparam>")


def update(camera: str) -> str:
    return (f"<methodname>connectupdate</methodname><connectparam>id={camera}"
            "&amp;connectiontoken=T2</connectparam>")


def test_connectupdate_with_another_id_than_the_connect() -> None:
    feed = Feed()
    assert feed.request(connect(CAMERA)) == []
    assert feed.request(update(CAMERA.upper())) == []  # the same GUID in capitals
    assert feed.request(update(OTHER)) == ["imageserver.txn.connectupdate_id"]
    finding = feed.analysis.findings[-1]
    assert finding.severity == "warning" and finding.frames == [3]
    assert OTHER in finding.message and CAMERA in finding.message


def test_state_is_per_flow_and_ends_with_the_flow() -> None:
    feed = Feed()
    feed.request(connect(CAMERA), flow=1)
    assert feed.request(update(OTHER), flow=2) == []  # flow 2's connect is not in the capture
    feed.analysis.connections.close_flow(1)
    assert feed.request(update(OTHER), flow=1) == []
    assert feed.analysis.connections._camera == {}


def test_flow_closed_event_drops_the_connection() -> None:
    feed = Feed()
    feed.request(connect(CAMERA), flow=4)
    flow = Flow(id=4, transport="tcp", client=("10.0.0.1", 50000), server=("10.0.0.2", 7563),
                first_frame=1, first_ts_ns=1)
    feed.analysis.add(FlowClosed(flow, "fin"))
    assert 4 not in feed.analysis.connections._camera
