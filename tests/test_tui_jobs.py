"""The TUI's long jobs without a terminal: display filtering (checked against the
two-pass evaluation of ``read -Y``), text search and export (pcapng subset, JSON)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cvipsniff.analysis.engine import Analysis
from cvipsniff.capture import open_capture
from cvipsniff.commands.filtering import AnalysisLookup
from cvipsniff.filter import compile_filter
from cvipsniff.model import FlowClosed, Message
from cvipsniff.pipeline import PipelineConfig, iter_capture
from cvipsniff.render import message_json
from cvipsniff.tui.export import FrameCollector, JsonExporter, write_frames
from cvipsniff.tui.filtering import FilterJob, StoreFieldSource
from cvipsniff.tui.loader import Batch, load
from cvipsniff.tui.search import SearchJob
from cvipsniff.tui.session import CaptureSession

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "captures" / "demo.pcapng")

FILTERS = [
    "cvip-ping",
    'protocol == "imageserver" && response == false',
    'cvip.method == "system.describe"',  # a field of the dissection tree
    "cvip.version != 0x0201",
    'ip.addr == 192.0.2.30 || tcp.port == 7563',
    "latency_ms > 2.5",  # needs pairing
    'txn.state in {"orphan" "unanswered"}',
    "finding",
    'finding.severity == "error"',
    'flow.closed == "fin" && direction == 1',
    'info contains "ack"',
]


@pytest.fixture(scope="module")
def session() -> CaptureSession:
    s = CaptureSession(DEMO, PipelineConfig(keep_data=True))
    load(DEMO, s.config, s.ingest)
    return s


@pytest.fixture(scope="module")
def expected() -> dict[str, list[int]]:
    """Message numbers each filter keeps, evaluated the way ``read -Y`` does (two
    passes: complete pairing and findings first), with each message's flow added."""
    analysis = Analysis()
    messages = []
    flows = {}
    for item in iter_capture(DEMO, PipelineConfig(keep_data=True)):
        analysis.add(item)
        if isinstance(item, Message):
            messages.append(item)
        elif isinstance(item, FlowClosed):
            flows[item.flow.id] = item.flow
    analysis.finish()
    lookup = AnalysisLookup(analysis)
    first = messages[0].first_ts_ns
    out = {}
    for text in FILTERS:
        flt = compile_filter(text)
        kept = []
        for m in messages:
            source = lookup.source(m, first)
            source.flow = flows[m.flow]
            if flt.matches(source):
                kept.append(m.number)
        out[text] = kept
    return out


@pytest.mark.parametrize("text", FILTERS)
def test_filter_over_the_store_agrees_with_read_y(session, expected, text):
    job = FilterJob(session, compile_filter(text))
    while not job.run(0.05):
        pass
    got = [session.store.number(i) for i in job.matched]
    assert got == expected[text]
    assert job.errors == 0 and job.caught_up and job.progress == 1.0


def test_every_filter_here_keeps_something_and_drops_something(expected):
    for text, numbers in expected.items():
        assert 0 < len(numbers) < 542, text


def test_a_zero_budget_still_makes_progress_slice_by_slice(session, expected):
    job = FilterJob(session, compile_filter("cvip-ping"))
    slices = 0
    while not job.run(0.0):
        slices += 1
    assert slices >= 542 // FilterJob.CHECK_EVERY - 1
    assert [session.store.number(i) for i in job.matched] == expected["cvip-ping"]


def test_a_filter_follows_a_capture_still_loading(expected):
    """Applied after the first batch: the rest is tested from the batches as they come,
    and the result is the same as filtering at the end (for fields not needing
    pairing)."""
    text = 'protocol == "imageserver" && response == false'
    live = CaptureSession(DEMO, PipelineConfig(keep_data=True))
    jobs: list[FilterJob] = []

    def deliver(batch: Batch) -> None:
        ingested = live.ingest(batch)
        if not jobs:
            jobs.append(FilterJob(live, compile_filter(text)))
            while not jobs[0].run(1.0):
                pass
        else:
            jobs[0].feed(ingested)

    load(DEMO, live.config, deliver, first_batch=20, size=50, interval=60.0)
    assert jobs[0].caught_up
    assert [live.store.number(i) for i in jobs[0].matched] == expected[text]


def test_late_fields_are_flagged_for_a_second_pass(session):
    assert FilterJob(session, compile_filter("latency_ms > 1")).late
    assert FilterJob(session, compile_filter("finding")).late
    assert not FilterJob(session, compile_filter("cvip.txn == 607")).late


def test_a_failing_predicate_counts_as_no_match(session):
    job = FilterJob(session, compile_filter("cvip"))

    def broken(source) -> bool:
        raise RuntimeError("boom")

    job.filter.matches = broken  # type: ignore[method-assign]
    job.run(1.0)
    assert job.errors == len(session) and not job.matched


def test_engine_only_filters_do_not_redissect(session, monkeypatch):
    calls = []
    monkeypatch.setattr(session.store, "message",
                        lambda index: calls.append(index))  # would break if called
    flt = compile_filter('protocol == "cvip" && tcp.dstport == 7110 && kind == "request"')
    matched = [i for i in range(len(session)) if flt.matches(StoreFieldSource(session, i))]
    assert matched and not calls


# ---- search --------------------------------------------------------------------------------


def _search(session, text, start=0, forward=True):
    job = SearchJob(session, text, start, forward)
    while not job.run(0.05):
        pass
    return job.found


def test_search_finds_text_in_the_summary(session):
    position = _search(session, "SYSTEM.LISTEVENTS")  # case-insensitive
    assert session.store.row(session.view[position]).method == "system.listEvents"


def test_search_finds_text_only_present_in_the_fields(session):
    # The ping's client port is a field, not part of the list's Info text.
    position = _search(session, "TCP (0x0c)")
    index = session.view[position]
    assert session.store.protocol(index) == "cvip-ping"
    assert "TCP (0x0c)" not in session.store.info(index)


def test_search_goes_on_from_the_start_and_wraps(session):
    first = _search(session, "system.describe request")
    second = _search(session, "system.describe request", first + 1)
    assert second > first
    last = len(session.view) - 1
    assert _search(session, "system.describe request", last) == first  # wrapped
    # Backwards from before the first match: wraps to the last one, after which
    # searching forwards wraps to the first again.
    final = _search(session, "system.describe request", first - 1, forward=False)
    assert final >= second
    assert _search(session, "system.describe request", final + 1) == first


def test_search_without_a_match_looks_everywhere_once(session):
    job = SearchJob(session, "no such text anywhere ¤", 17)
    while not job.run(0.05):
        pass
    assert job.found is None and job.done == len(session.view)


# ---- export --------------------------------------------------------------------------------


def test_json_export_writes_the_records_of_the_chosen_messages(session):
    indices = [6, 8, 100]
    out = io.StringIO()
    exporter = JsonExporter(session, indices, out)
    while not exporter.run(0.0):
        pass
    records = json.loads(out.getvalue())
    assert [r["message"] for r in records] == [session.store.number(i) for i in indices]
    assert records[0] == json.loads(json.dumps(
        message_json(session.store.message(6), session.first_ts_ns)))


def test_json_export_of_nothing_is_an_empty_array(session):
    out = io.StringIO()
    assert JsonExporter(session, [], out).run(1.0)
    assert json.loads(out.getvalue()) == []


def test_pcapng_export_copies_exactly_the_frames_of_the_messages(session, tmp_path):
    indices = [i for i in range(len(session)) if session.store.protocol(i) == "imageserver"]
    collector = FrameCollector(session, indices)
    while not collector.run(0.0):
        pass
    wanted = sorted({f for i in indices for f in session.store.frames(i)})
    out = tmp_path / "subset.pcapng"
    assert write_frames(DEMO, collector.bitmap, str(out)) == len(wanted)
    with open_capture(DEMO) as reader:
        originals = {f.number: f for f in reader if f.number in set(wanted)}
    with open_capture(str(out)) as reader:
        copied = list(reader)
        assert reader.format == "pcapng"
    assert [f.data for f in copied] == [originals[n].data for n in wanted]
    assert [f.ts_ns for f in copied] == [originals[n].ts_ns for n in wanted]
    # The subset is a capture of its own: its ImageServer messages dissect again.
    again = [m for m in iter_capture(str(out), PipelineConfig()) if isinstance(m, Message)]
    assert {m.record.protocol for m in again} == {"imageserver"}
    assert len(again) >= len(indices) - 5  # messages cut at the subset's edges may differ
