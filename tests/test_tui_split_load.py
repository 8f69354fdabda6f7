"""Loading a capture over several processes (``tui --jobs``): the UI ends up with exactly
what the single-process load gives — the same list, columns, transactions, findings,
flows and details — on every bundled capture, whatever the number of workers; a split
that cannot be exact is thrown away and the capture loaded again in one process."""

from __future__ import annotations

import asyncio
import time

import pytest

from cvipsniff.pipeline import PipelineConfig
from cvipsniff.tui.app import CvipsniffApp
from cvipsniff.tui.loader import Batch, load, load_jobs
from cvipsniff.tui.session import CaptureSession
from tests.cli_helpers import BUNDLED_CAPTURES, ROOT

CAPTURES = BUNDLED_CAPTURES
DEMO = str(ROOT / "captures" / "demo.pcapng")
CONFIG = PipelineConfig(keep_data=True)


def _loaded(path: str, jobs: int, config: PipelineConfig = CONFIG,
            batches: list[Batch] | None = None) -> CaptureSession:
    session = CaptureSession(path, config)

    def deliver(batch: Batch) -> None:
        if batches is not None:
            batches.append(batch)
        if batch.restart:
            session.reset()
        else:
            session.ingest(batch)

    load(path, config, deliver, jobs=jobs, first_batch=16, size=64)
    return session


def _contents(session: CaptureSession) -> dict:
    """Everything a view reads from a loaded session."""
    store = session.store
    indices = range(len(store))
    return {
        "rows": [store.row(i) for i in indices],
        "frames": [store.frames(i) for i in indices],
        "data": [store.data(i) for i in indices],
        "first_ts": [store.message(i).first_ts_ns for i in indices],
        "offsets": [store.message(i).offset for i in indices],
        "findings_of": [store.findings_of(i) for i in indices],
        "txn_of": [session.transaction_number(i) for i in indices],
        "partners": [session.partner(i) for i in indices],
        "transactions": [session.transactions.get(n)
                         for n in range(1, len(session.transactions) + 1)],
        "states": session.transactions.state_counts(),
        "findings": store.findings,
        "flows": session.flows,
        "protocols": session.protocol_counts,
        "endpoint_cells": session.endpoint_cells,
        "first_ts_ns": session.first_ts_ns,
        "load": (session.load.done, session.load.error, session.load.notes),
    }


def test_the_corpus_is_there() -> None:
    assert len(CAPTURES) > 20


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_split_load_gives_what_one_process_gives(capture) -> None:
    one = _loaded(str(capture), 1)
    try:
        assert one.load.done and one.load.error is None
        split = _loaded(str(capture), 2)
        try:
            assert _contents(split) == _contents(one)
        finally:
            split.close()
    finally:
        one.close()


def test_the_split_does_not_depend_on_the_number_of_workers() -> None:
    one = _contents(_loaded(DEMO, 1))
    assert len(one["rows"]) > 100 and one["findings"] and one["transactions"]
    for jobs in (2, 3, 5):
        batches: list[Batch] = []
        assert _contents(_loaded(DEMO, jobs, batches=batches)) == one
        assert not any(b.restart for b in batches), "the split fell back to one process"
        # Progress came from the workers' reading, up to the whole file.
        assert batches[-1].progress[0] == batches[-1].progress[1] > 0


def test_a_split_that_is_not_exact_is_loaded_again_in_one_process() -> None:
    """A global cap seen by each worker for its share only (here: a total reassembly
    budget of one byte) makes the split inexact: what it delivered is forgotten and
    the capture is loaded again in one process."""
    tight = PipelineConfig(keep_data=True, max_total_buffer=1)
    batches: list[Batch] = []
    split = _loaded(DEMO, 2, tight, batches)
    restarts = [i for i, b in enumerate(batches) if b.restart]
    assert len(restarts) == 1 and restarts[0] > 0  # after the split's own batches
    assert not any(b.done for b in batches[:restarts[0]])
    assert _contents(split) == _contents(_loaded(DEMO, 1, tight))


def test_an_unreadable_capture_says_so_as_in_one_process(tmp_path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all" * 10)
    split = _loaded(str(bad), 2)
    assert split.load.done and split.load.error
    assert split.load.error == _loaded(str(bad), 1).load.error


def test_large_captures_load_over_the_idle_cores_by_default(tmp_path, monkeypatch) -> None:
    import cvipsniff.batch as batch

    monkeypatch.setattr(batch, "default_jobs", lambda: 4)
    monkeypatch.setattr(batch, "weighs_flows", lambda: True)  # as on the compiled path
    monkeypatch.setattr(batch, "busy_cores", lambda: 0.2)
    assert load_jobs(DEMO) == 1  # small: one process
    assert load_jobs(DEMO, 3) == 3 and load_jobs(DEMO, 0) == 1  # as asked
    monkeypatch.setattr(batch, "SPLIT_ABOVE", 1)
    assert load_jobs(DEMO) == 4
    assert load_jobs(str(tmp_path / "missing.pcap")) == 1
    # The cores others keep busy are not counted; a busy machine loads in one process.
    monkeypatch.setattr(batch, "busy_cores", lambda: 1.6)
    assert load_jobs(DEMO) == 2
    monkeypatch.setattr(batch, "busy_cores", lambda: 2.7)
    assert load_jobs(DEMO) == 1


def _screen_text(jobs: int, config: PipelineConfig = CONFIG) -> tuple[list[str], str, int]:
    """The list's lines and the details of its 40th message, once loaded."""

    async def main() -> tuple[list[str], str, int]:
        app = CvipsniffApp(DEMO, config, jobs=jobs, batch_size=64)
        async with app.run_test(size=(140, 50)) as pilot:
            started = time.monotonic()
            while not app.session.load.done:
                assert time.monotonic() - started < 120, "the load did not end"
                await pilot.pause(0.02)
            screen = app.messages_screen
            screen.select_index(40)
            await pilot.pause()
            lst = screen.message_list
            lines = [lst.render_line(y).text for y in range(lst.size.height)]
            details = "\n".join(screen.details.render_line(y).text
                                for y in range(screen.details.size.height))
            return lines, details, len(app.session)

    return asyncio.run(main())


def test_the_ui_shows_the_same_list_and_details_when_split() -> None:
    one = _screen_text(1)
    assert one[2] > 40 and sum(1 for line in one[0] if "CVIP" in line) > 10
    assert one[1].strip()
    assert _screen_text(2) == one
    # Loaded again after an inexact split: the UI forgot the first attempt.
    tight = PipelineConfig(keep_data=True, max_total_buffer=1)
    assert _screen_text(2, tight) == _screen_text(1, tight)
