"""The pairing state machine over hand-built messages: every state and pairing rule."""

from __future__ import annotations

from cvipsniff.analysis.model import ANSWERED, DUPLICATE, EVENT, ONEWAY, ORPHAN, UNANSWERED
from cvipsniff.analysis.pairing import Pairer
from cvipsniff.model import Message
from dissectors.base import Record

CLIENT = ("10.0.0.1", 40000)
SERVER = ("10.0.0.2", 7110)


class Msgs:
    """Builds messages with increasing numbers, frames and times (1 ms apart)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, protocol: str, kind: str, txn, *, response: bool = False,
                 method: str | None = None, flow: int = 0, direction: int | None = None,
                 src=None, dst=None, attrs=None) -> Message:
        self.n += 1
        direction = (1 if response else 0) if direction is None else direction
        src = src or (SERVER if direction else CLIENT)
        dst = dst or (CLIENT if direction else SERVER)
        record = Record(protocol=protocol, kind=kind, info="", txn=txn, is_response=response,
                        method=method, attrs=attrs or {})
        return Message(number=self.n, flow=flow, direction=direction, transport="tcp",
                       src=src, dst=dst, frames=[self.n * 2], ts_ns=self.n * 1_000_000,
                       first_ts_ns=self.n * 1_000_000, offset=0, length=10, record=record)


def test_cvip_request_and_ack_pair_with_latency() -> None:
    m, p = Msgs(), Pairer()
    assert p.feed(m("cvip", "request", 5, method="cviStream.create")) == []
    assert p.feed(m("cvip", "ack", 5, response=True)) == []
    assert p.finish() == []
    (t,) = p.transactions
    assert t.state == ANSWERED and t.method == "cviStream.create"
    assert t.latency_ms == 1.0
    assert t.request.frames == (2,) and t.responses[0].frames == (4,)
    assert p.transaction_of(1) == p.transaction_of(2) == t.number


def test_cvip_unanswered_at_flow_end() -> None:
    m, p = Msgs(), Pairer()
    p.feed(m("cvip", "request", 9, method="cviVideo.getProperties"))
    findings = p.close_flow(0)
    assert [f.rule for f in findings] == ["cvip.txn.unanswered"]
    assert findings[0].frames == [2]
    assert p.transactions[0].state == UNANSWERED


def test_cvip_orphan_response() -> None:
    m, p = Msgs(), Pairer()
    findings = p.feed(m("cvip", "ack", 3, response=True))
    assert [f.rule for f in findings] == ["cvip.txn.orphan_response"]
    assert p.transactions[0].state == ORPHAN and p.transactions[0].request is None


def test_cvip_duplicate_outstanding_number_pairs_first_in_first_out() -> None:
    m, p = Msgs(), Pairer()
    p.feed(m("cvip", "request", 4, method="a.x"))
    findings = p.feed(m("cvip", "request", 4, method="a.y"))
    assert [f.rule for f in findings] == ["cvip.txn.duplicate"]
    assert findings[0].frames == [2, 4]
    p.feed(m("cvip", "ack", 4, response=True))
    p.feed(m("cvip", "ack", 4, response=True))
    assert p.finish() == []
    first, second = p.transactions
    assert first.state == ANSWERED and first.responses[0].frames == (6,)
    assert second.state == DUPLICATE and second.responses[0].frames == (8,)
    assert findings[0].transaction == second.number


def test_same_number_in_two_flows_is_not_a_duplicate() -> None:
    m, p = Msgs(), Pairer()
    p.feed(m("cvip", "request", 4, flow=0))
    assert p.feed(m("cvip", "request", 4, flow=1)) == []
    p.feed(m("cvip", "ack", 4, response=True, flow=1))
    p.feed(m("cvip", "ack", 4, response=True, flow=0))
    assert [t.state for t in p.transactions] == [ANSWERED, ANSWERED]


def test_cvip_method_name_mismatch_in_response() -> None:
    m, p = Msgs(), Pairer()
    p.feed(m("cvip", "request", 1, method="cviStream.create"))
    findings = p.feed(m("cvip", "ack", 1, response=True, method="cviStream.delete"))
    assert [f.rule for f in findings] == ["cvip.txn.method_mismatch"]
    # Case differences in service names are the spec's own spelling variants.
    p.feed(m("cvip", "request", 2, method="cviPTZ.cmd"))
    assert p.feed(m("cvip", "ack", 2, response=True, method="cviPtz.cmd")) == []


def test_cvip_event_is_its_own_kind_and_expects_no_answer() -> None:
    m, p = Msgs(), Pairer()
    p.feed(m("cvip", "event", 7, method="cviEvent.notify", direction=1))
    p.feed(m("cvip", "request", 7, method="cviEvent.ack", direction=0))
    p.feed(m("cvip", "response", 7, response=True, direction=1))
    assert p.finish() == []  # an event is not a request waiting for an answer
    event, ack = p.transactions
    assert event.state == EVENT and event.responses == []
    assert ack.state == ANSWERED and ack.method == "cviEvent.ack"


def test_broadcast_ping_collects_every_device_answer() -> None:
    m, p = Msgs(), Pairer()
    bcast = ("255.255.255.255", 7110)
    p.feed(m("cvip-ping", "ping-request", 3, src=CLIENT, dst=bcast, flow=0))
    for i, device in enumerate((("10.0.0.7", 7110), ("10.0.0.8", 7110))):
        assert p.feed(m("cvip-ping", "ping-response", 3, response=True, src=device,
                        dst=CLIENT, flow=1 + i)) == []
    assert p.finish() == []
    (t,) = p.transactions
    assert t.state == ANSWERED and len(t.responses) == 2


def test_unanswered_ping() -> None:
    m, p = Msgs(), Pairer()
    p.feed(m("cvip-ping", "ping-request", 3))
    assert [f.rule for f in p.finish()] == ["cvip.ping.unanswered"]


def _is_request(m: Msgs, rid, method: str, answer: str, **kw) -> Message:
    return m("imageserver", "request", rid, method=method, attrs={"answered_by": answer}, **kw)


def test_imageserver_xml_and_image_answers() -> None:
    m, p = Msgs(), Pairer(lambda msg: msg.record.attrs["answered_by"])
    p.feed(_is_request(m, 1, "connect", "xml"))
    assert p.feed(m("imageserver", "response", 1, response=True, method="connect")) == []
    p.feed(_is_request(m, 2, "goto", "image"))
    assert p.feed(m("imageserver", "imageresponse", 2, response=True)) == []
    assert [t.state for t in p.transactions] == [ANSWERED, ANSWERED]


def test_imageserver_wrong_answer_kind_and_methodname_mismatch() -> None:
    m, p = Msgs(), Pairer(lambda msg: msg.record.attrs["answered_by"])
    p.feed(_is_request(m, 2, "goto", "image"))
    findings = p.feed(m("imageserver", "response", 2, response=True, method="goto"))
    assert [f.rule for f in findings] == ["imageserver.txn.wrong_answer_kind"]
    p.feed(_is_request(m, 3, "connect", "xml"))
    findings = p.feed(m("imageserver", "response", 3, response=True, method="stop"))
    assert [f.rule for f in findings] == ["imageserver.txn.methodname_mismatch"]


def test_imageserver_live_stream_collects_images_and_livepackages() -> None:
    m, p = Msgs(), Pairer(lambda msg: msg.record.attrs["answered_by"])
    p.feed(_is_request(m, 5, "live", "stream"))
    p.feed(m("imageserver", "imageresponse", 5, response=True))
    p.feed(m("imageserver", "livepackage", None, response=True))
    p.feed(m("imageserver", "imageresponse", 5, response=True))
    p.feed(_is_request(m, 6, "live", "none"))  # adaptive-streaming-only change
    p.feed(m("imageserver", "imageresponse", 5, response=True))
    assert p.finish() == []
    live, adaptive = p.transactions
    assert live.state == ANSWERED and len(live.responses) == 4
    assert adaptive.state == ONEWAY and adaptive.responses == []


def test_imageserver_unanswered_and_orphan() -> None:
    m, p = Msgs(), Pairer(lambda msg: msg.record.attrs["answered_by"])
    p.feed(_is_request(m, 1, "ptz", "xml"))
    findings = p.feed(m("imageserver", "response", 99, response=True, method="ptz"))
    assert [f.rule for f in findings] == ["imageserver.txn.orphan_response"]
    assert [f.rule for f in p.finish()] == ["imageserver.txn.unanswered"]


def test_expire_turns_old_requests_into_findings_while_live() -> None:
    m, p = Msgs(), Pairer()
    p.feed(m("cvip", "request", 1))
    p.feed(m("cvip", "request", 2))
    findings = p.expire(now_ns=2_500_000, timeout_ns=1_000_000)
    assert [f.transaction for f in findings] == [1]
    assert p.finish()[0].transaction == 2


def test_imageserver_unknown_method_pairs_anything_and_silence_is_no_finding() -> None:
    m, p = Msgs(), Pairer(lambda msg: msg.record.attrs["answered_by"])
    p.feed(_is_request(m, 1, "teleport", "unknown"))
    assert p.feed(m("imageserver", "imageresponse", 1, response=True)) == []
    p.feed(_is_request(m, 2, "teleport", "unknown"))
    assert p.finish() == []
    assert [t.state for t in p.transactions] == [ANSWERED, UNANSWERED]


def test_imageserver_answers_without_requestid_pair_by_method_and_order() -> None:
    m, p = Msgs(), Pairer(lambda msg: msg.record.attrs["answered_by"])
    p.feed(_is_request(m, 1, "connect", "xml"))
    p.feed(_is_request(m, 2, "goto", "image"))
    p.feed(_is_request(m, 3, "goto", "image"))
    p.feed(_is_request(m, 4, "ptz", "xml"))
    # The ptz answer names its method: it skips the older connect.
    ptz = p.feed(m("imageserver", "response", None, response=True, method="ptz"))
    first = p.feed(m("imageserver", "imageresponse", None, response=True))
    second = p.feed(m("imageserver", "imageresponse", None, response=True))
    connect = p.feed(m("imageserver", "response", None, response=True, method="connect"))
    assert p.finish() == []
    findings = ptz + first + second + connect
    assert {(f.rule, f.severity) for f in findings} == {("imageserver.txn.paired_by_order",
                                                         "info")}
    by_id = {t.id: t for t in p.transactions}
    assert [t.state for t in p.transactions] == [ANSWERED] * 4
    assert by_id[4].responses[0].number == 5 and by_id[2].responses[0].number == 6
    assert by_id[3].responses[0].number == 7 and by_id[1].responses[0].number == 8
    assert [f.transaction for f in findings] == [by_id[i].number for i in (4, 2, 3, 1)]


def test_imageserver_answer_without_requestid_and_nothing_to_answer_is_an_orphan() -> None:
    m, p = Msgs(), Pairer(lambda msg: msg.record.attrs["answered_by"])
    p.feed(_is_request(m, 1, "ptz", "xml"))
    findings = p.feed(m("imageserver", "imageresponse", None, response=True))
    assert [f.rule for f in findings] == ["imageserver.txn.orphan_response"]
    p.feed(_is_request(m, 2, "live", "stream"))
    p.feed(m("imageserver", "imageresponse", 2, response=True))
    assert p.feed(m("imageserver", "imageresponse", None, response=True)) == []
    live = p.transactions[-1]
    assert live.method == "live" and len(live.responses) == 2


# ---- capture limits are not the peers' doing (issue 12 item 4) --------------------------


def test_a_request_whose_answer_fell_into_a_gap_is_answer_lost_not_unanswered() -> None:
    from cvipsniff.analysis.model import ANSWER_LOST

    m, p = Msgs(), Pairer(lambda msg: "xml")
    p.feed(m("cvip", "request", 1, method="cviStream.create"))  # frame 2
    p.feed(m("imageserver", "request", 4, method="connect", flow=1))  # frame 4
    p.gap(0, 1, 7)  # the server's direction of flow 0 lost bytes up to frame 7
    p.gap(1, 0, 9)  # flow 1 lost bytes on the *requesting* side only
    findings = p.close_flow(0) + p.close_flow(1)
    assert [(f.rule, f.severity) for f in findings] == [
        ("cvip.txn.answer_lost", "info"), ("imageserver.txn.unanswered", "warning")]
    assert [t.state for t in p.transactions] == [ANSWER_LOST, UNANSWERED]
    assert p.states == {ANSWER_LOST: 1, UNANSWERED: 1}


def test_a_gap_before_the_request_does_not_excuse_a_missing_answer() -> None:
    m, p = Msgs(), Pairer()
    m("cvip", "request", 1)  # (frame 2, not fed: just moves the numbering on)
    p.gap(0, 1, 3)
    p.feed(m("cvip", "request", 2, method="cviStream.create"))  # frame 4, after the gap
    assert [f.rule for f in p.finish()] == ["cvip.txn.unanswered"]


def test_an_answer_on_a_mid_session_flow_before_any_request_is_request_before_capture() -> None:
    from cvipsniff.analysis.model import REQUEST_BEFORE_CAPTURE

    m, p = Msgs(), Pairer(lambda msg: "xml")
    early = m("cvip", "ack", 3, response=True)
    early.mid_session = True
    findings = p.feed(early)
    assert [(f.rule, f.severity) for f in findings] == [
        ("cvip.txn.request_before_capture", "info")]
    assert p.transactions[0].state == REQUEST_BEFORE_CAPTURE
    assert p.transactions[0].request is None
    # Once a request of the flow was captured, an unexplained answer is an orphan again.
    request = m("cvip", "request", 4, method="cviStream.create")
    request.mid_session = True
    p.feed(request)
    late = m("cvip", "ack", 5, response=True)
    late.mid_session = True
    assert [f.rule for f in p.feed(late)] == ["cvip.txn.orphan_response"]
    # On a flow whose start was captured, an answer before any request is an orphan.
    fresh = m("imageserver", "response", 7, response=True, method="connect", flow=2)
    assert [f.rule for f in p.feed(fresh)] == ["imageserver.txn.orphan_response"]


def test_a_closing_flow_settles_its_open_requests_in_the_order_they_were_made() -> None:
    """The same order in every run and whatever the flow's id: not the order of a set of
    keys, which follows their hashes (string hashing changes with every interpreter run,
    so a report's findings changed order between two runs on one capture; and a split
    capture's workers number flows their own way)."""
    ids = [17, 3, 250, 8, 61, 1, 99, 42]
    for flow in (0, 5, 123):
        m, p = Msgs(), Pairer()
        for txn in ids:
            p.feed(m("cvip", "request", txn, method="cviVideo.getProperties", flow=flow))
        p.feed(m("cvip", "ack", 250, response=True, flow=flow))
        p.feed(m("cvip", "request", 250, method="cviVideo.getProperties", flow=flow))
        findings = p.close_flow(flow)
        assert [f.message.split("id=")[1].split(" ")[0] for f in findings] == \
            [str(i) for i in ids if i != 250] + ["250"]
