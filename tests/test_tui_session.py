"""The TUI's data layer without a terminal: the loader's batches, the session built from
them, the compact transaction table (checked against the analysis it replaces), the
displayed-messages view, request ↔ response partners and findings lookup."""

from __future__ import annotations

from array import array
from pathlib import Path

import pytest

from cvipsniff.analysis.engine import Analysis
from cvipsniff.analysis.model import ANSWERED, UNANSWERED, MessageRef, Transaction
from cvipsniff.model import Message
from cvipsniff.pipeline import PipelineConfig, iter_capture
from cvipsniff.tui.loader import Batch, load
from cvipsniff.tui.session import CaptureSession
from cvipsniff.tui.transactions import TransactionTable
from cvipsniff.tui.view import MessageView

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "captures" / "demo.pcapng")


def loaded_session(path: str = DEMO, **options) -> tuple[CaptureSession, list[Batch]]:
    """A session filled the way the app fills it, with the batches it was given."""
    session = CaptureSession(path, PipelineConfig(keep_data=True))
    batches: list[Batch] = []

    def deliver(batch: Batch) -> None:
        batches.append(batch)
        session.ingest(batch)

    load(path, session.config, deliver, **options)
    return session, batches


@pytest.fixture(scope="module")
def demo() -> CaptureSession:
    session, _ = loaded_session()
    return session


@pytest.fixture(scope="module")
def reference() -> tuple[list[Message], Analysis]:
    """The same capture analysed directly, keeping every transaction object."""
    analysis = Analysis()
    messages = []
    for item in iter_capture(DEMO, PipelineConfig(keep_data=True)):
        analysis.add(item)
        if isinstance(item, Message):
            messages.append(item)
    analysis.finish()
    return messages, analysis


# ---- loader --------------------------------------------------------------------------------


def test_batches_are_small_first_then_bounded_and_end_with_done():
    session, batches = loaded_session(first_batch=10, size=100, interval=60.0)
    assert len(batches[0]) == 10
    assert all(len(b) <= 100 for b in batches)
    assert [b.done for b in batches] == [False] * (len(batches) - 1) + [True]
    assert batches[-1].error is None
    assert sum(len(b) for b in batches) == len(session) == 542


def test_every_message_arrives_once_in_capture_order(demo, reference):
    messages, _ = reference
    assert len(demo) == len(messages)
    for index, msg in enumerate(messages):
        row = demo.store.row(index)
        assert (row.number, row.frame, row.info) == (msg.number, msg.frame, msg.record.info)
        assert demo.store.data(index) == msg.data


def test_an_unreadable_file_ends_the_load_with_an_error(tmp_path):
    bad = tmp_path / "noise.pcap"
    bad.write_bytes(b"this is not a capture at all" * 10)
    session, batches = loaded_session(str(bad))
    assert batches[-1].done and batches[-1].error
    assert session.load.done and "noise.pcap" in (session.load.error or "")
    assert len(session) == 0


def test_cancelling_stops_delivery():
    delivered: list[Batch] = []
    load(DEMO, PipelineConfig(), delivered.append, first_batch=5, size=5,
         cancelled=lambda: len(delivered) >= 3)
    assert len(delivered) == 3 and not delivered[-1].done


def test_progress_reaches_the_file_size(demo):
    assert demo.load.done and demo.load.error is None
    assert demo.load.progress == 1.0


# ---- transactions, findings, partners ------------------------------------------------------


def test_transaction_table_matches_the_analysis_it_replaces(demo, reference):
    _, analysis = reference
    assert len(demo.transactions) == len(analysis.transactions) > 200
    assert demo.transactions.pending == 0
    for txn in analysis.transactions:
        info = demo.transactions.get(txn.number)
        assert info is not None
        assert (info.protocol, info.id, info.flow, info.method, info.state, info.expects) == \
            (txn.protocol, txn.id, txn.flow, txn.method, txn.state, txn.expects)
        assert info.request == (txn.request.number if txn.request else None)
        assert info.responses == tuple(r.number for r in txn.responses)
        assert info.latency_ms == txn.latency_ms
    assert demo.transactions.get(0) is None
    assert demo.transactions.get(len(analysis.transactions) + 1) is None


def test_every_message_knows_its_transaction(demo, reference):
    messages, analysis = reference
    for index, msg in enumerate(messages):
        number = analysis.pairer.transaction_of(msg.number) or 0
        assert demo.transaction_number(index) == number


def test_state_counts_and_response_times_follow_the_transactions(demo, reference):
    _, analysis = reference
    assert demo.transactions.state_counts() == dict(sorted(analysis.pairer.states.items()))
    srt = demo.transactions.service_response_times()
    assert srt.table() == analysis.srt.table()


def test_findings_are_attached_to_their_messages(demo, reference):
    _, analysis = reference
    assert len(demo.store.findings) == len(analysis.findings) == 18
    for finding in analysis.findings:
        if finding.message_number is None:
            continue
        index = demo.store.index_of_number(finding.message_number)
        assert finding.rule in [f.rule for f in demo.store.findings_of(index)]
        assert demo.store.severity(index) >= {"info": 1, "warning": 2, "error": 3}[
            finding.severity]


def test_partner_jumps_request_to_response_and_back(demo):
    request = demo.store.index_of_number(7)  # system.describe request, frame 21
    assert demo.store.row(request).method == "system.describe"
    response = demo.partner(request)
    assert response is not None
    assert demo.store.frame(response) == 25
    assert demo.store.row(response).is_response
    assert demo.partner(response) == request


def test_partner_of_an_unanswered_request_is_none(demo):
    unanswered = [n for n in range(1, len(demo.transactions) + 1)
                  if demo.transactions.get(n).state == UNANSWERED]
    assert unanswered
    txn = demo.transactions.get(unanswered[0])
    index = demo.store.index_of_number(txn.request)
    assert demo.partner(index) is None


def test_index_of_finding_prefers_the_message_then_the_frame(demo):
    with_message = next(f for f in demo.store.findings if f.message_number is not None)
    assert demo.store.number(demo.index_of_finding(with_message)) == with_message.message_number
    frame_only = type(with_message)(rule="x", severity="info", message="", spec="",
                                    frames=[25])
    index = demo.index_of_finding(frame_only)
    assert 25 in demo.store.frames(index)
    nowhere = type(with_message)(rule="x", severity="info", message="", spec="",
                                 frames=[2])  # frame 2 carries message 2 ...
    assert demo.index_of_finding(nowhere) == 1
    missing = type(with_message)(rule="x", severity="info", message="", spec="",
                                 frames=[999_999])
    assert demo.index_of_finding(missing) is None


def test_flows_are_summarised_with_their_end(demo):
    assert len(demo.flows) == 32
    flow = demo.flows[3]
    assert flow.transport == "tcp" and flow.messages == 130 and flow.closed == "fin"
    assert flow.client == ("192.0.2.100", 57595) and flow.server == ("192.0.2.10", 7110)
    assert sum(f.messages for f in demo.flows.values()) == len(demo)
    assert demo.endpoint_cells == len("255.255.255.255:7110")  # the broadcast ping


def test_marks_toggle(demo):
    assert demo.toggle_mark(3) is True
    assert demo.toggle_mark(3) is False
    assert 3 not in demo.marks


# ---- the transaction table alone ----------------------------------------------------------


def _txn(number: int, state: str = UNANSWERED) -> Transaction:
    ref = MessageRef(number * 2 - 1, (number * 2 - 1,), 1_000_000 * number, "request", "m")
    return Transaction(number=number, protocol="cvip", id=number, flow=0, method="m",
                       state=state, request=ref)


def test_transactions_must_come_in_order():
    table = TransactionTable()
    table.add(_txn(1))
    with pytest.raises(ValueError):
        table.add(_txn(3))


def test_a_pending_transaction_is_read_live_until_settled():
    table = TransactionTable()
    txn = _txn(1)
    table.add(txn)
    assert table.pending == 1 and table.get(1).state == UNANSWERED
    txn.responses.append(MessageRef(2, (2,), 3_500_000, "response", None))
    assert table.get(1).responses == (2,)  # the live object, before it settles
    assert table.settle() == 0  # still unanswered: not final
    txn.state = ANSWERED
    assert table.settle() == 1 and table.pending == 0
    txn.responses.append(MessageRef(9, (9,), 9, "response", None))  # ignored once final
    info = table.get(1)
    assert (info.state, info.responses, info.latency_ms) == (ANSWERED, (2,), 2.5)


def test_an_answer_in_messages_not_yet_taken_is_not_shown():
    """The loader's analysis pairs on between two batches: a pending transaction shows
    only the answers among the messages the UI has taken (``messages_seen``), with the
    state and latency they make, and the rest once their batch is taken."""
    table = TransactionTable()
    txn = _txn(1)
    table.add(txn)
    table.messages_seen = 1
    txn.responses.append(MessageRef(2, (2,), 3_500_000, "response", None))
    txn.state = ANSWERED  # as the pairer leaves it, before the next batch settles it
    info = table.get(1)
    assert (info.state, info.responses, info.latency_ms) == (UNANSWERED, (), None)
    table.messages_seen = 2
    info = table.get(1)
    assert (info.state, info.responses, info.latency_ms) == (ANSWERED, (2,), 2.5)
    # An open stream's later answers: the first one's latency, the rest as they come.
    txn.state = UNANSWERED
    txn.responses.append(MessageRef(5, (5,), 9_000_000, "response", None))
    assert table.get(1).responses == (2,)
    table.messages_seen = 5
    info = table.get(1)
    assert (info.state, info.responses, info.latency_ms) == (ANSWERED, (2, 5), 2.5)


def test_the_session_bounds_what_its_transactions_show_by_what_it_took():
    """Checked as each batch arrives, before the session takes it: the loader's
    analysis has paired that batch's messages already, as it has between two batches
    while the UI reads the session."""
    session = CaptureSession(DEMO, PipelineConfig(keep_data=True))
    hidden = 0

    def deliver(batch: Batch) -> None:
        nonlocal hidden
        for number in range(1, len(session.transactions) + 1):
            for answer in session.transactions.get(number).responses:
                assert session.store.index_of_number(answer) is not None
        ahead = {ref.number for txn in session.transactions._pending.values()
                 for ref in txn.responses}
        hidden += len(ahead) - len([n for n in ahead
                                    if session.store.index_of_number(n) is not None])
        session.ingest(batch)

    load(DEMO, session.config, deliver, first_batch=1, size=7, interval=1e9)
    assert hidden > 10  # the loader was ahead, and its answers were held back
    assert session.transactions.messages_seen == session.store.number(len(session.store) - 1)


# ---- the view ---------------------------------------------------------------------------


def test_unfiltered_view_is_the_identity_and_grows():
    store = [0] * 5
    view = MessageView(store)
    assert len(view) == 5 and view[4] == 4 and list(view.indices()) == [0, 1, 2, 3, 4]
    with pytest.raises(IndexError):
        view[5]
    store.append(0)
    before = view.generation
    view.extend_to(6)
    assert len(view) == 6 and view.generation > before


def test_filtered_view_maps_positions_and_finds_neighbours():
    view = MessageView([0] * 10)
    indices = array("q", [1, 4, 7])
    view.apply("x", indices)
    assert view.filtered and len(view) == 3 and list(view) == [1, 4, 7]
    assert view.position_of(4) == 1 and view.position_of(5) is None
    assert view.nearest_position(5) == 2 and view.nearest_position(9) == 2
    indices.append(9)  # a running filter appends to the installed array
    view.touch()
    assert view[3] == 9
    view.apply("", None)
    assert not view.filtered and view.filter_text == "" and len(view) == 10
