"""A live capture keeps its data safe: ``q`` with frames only in the temporary file asks
first (save, quit anyway, stay), and a transaction answered during the capture shows as
answered at once — a broadcast ping too, though it stays open for more answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cvipsniff.analysis.model import UNANSWERED, MessageRef, Transaction
from cvipsniff.live import LiveSession
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.tui.live_app import LiveApp, next_free_path
from cvipsniff.tui.screens.quit import QuitDialog
from cvipsniff.tui.screens.save import SaveDialog
from cvipsniff.tui.transactions import TransactionTable
from tests.conftest import CAPTURES
from tests.test_tui_live import Sources, frames_of, until


def test_quit_with_unsaved_frames_asks_and_save_then_quits(tmp_path: Path) -> None:
    frames = frames_of(CAPTURES / "loopback-real.pcapng")
    sources = Sources()
    live = LiveSession("test0", "tcp", sources, pipeline_config=PipelineConfig(keep_data=True),
                       write_to=str(tmp_path / "temporary.pcapng"), tick_s=0.05,
                       clock=sources.clock)
    target = tmp_path / "kept.pcapng"

    async def main() -> None:
        app = LiveApp(live, temporary=True)
        app.feed.start()
        async with app.run_test(size=(80, 24)) as pilot:
            for f in frames[:40]:
                sources.current.push(f)
            await until(pilot, lambda: live.stats.packets >= 40, "frames")
            await pilot.press("q")
            await pilot.pause()
            assert isinstance(app.screen, QuitDialog)
            assert app.screen.packets == live.stats.packets
            await pilot.press("escape")  # stay
            await pilot.pause()
            assert not isinstance(app.screen, QuitDialog) and app.is_running
            await pilot.press("q")
            await pilot.pause()
            await pilot.click("#quit-save")
            await pilot.pause()
            assert isinstance(app.screen, SaveDialog)
            app.screen.query_one("#save-path").value = str(target)
            await pilot.press("enter")
            await until(pilot, lambda: not app.is_running or target.exists(), "the save")
            await app.workers.wait_for_complete()
        assert len(frames_of(target)) >= 40
        assert app.unsaved_packets == 0

    asyncio.run(main())


def test_quit_with_a_w_file_does_not_ask(tmp_path: Path) -> None:
    sources = Sources()
    live = LiveSession("test0", "tcp", sources, pipeline_config=PipelineConfig(keep_data=True),
                       write_to=str(tmp_path / "out.pcapng"), tick_s=0.05, clock=sources.clock)

    async def main() -> None:
        app = LiveApp(live)
        app.feed.start()
        async with app.run_test(size=(80, 24)) as pilot:
            for f in frames_of(CAPTURES / "loopback-real.pcapng")[:10]:
                sources.current.push(f)
            await until(pilot, lambda: live.stats.packets >= 10, "frames")
            assert app.unsaved_packets == 0
            await pilot.press("q")
            await pilot.pause()
            assert not app.is_running

    asyncio.run(main())


def test_next_free_path_never_reuses_a_name(tmp_path: Path) -> None:
    base = tmp_path / "out.pcapng"
    base.write_bytes(b"x")
    assert next_free_path(str(base)) == str(tmp_path / "out-1.pcapng")
    (tmp_path / "out-1.pcapng").write_bytes(b"x")
    assert next_free_path(str(base)) == str(tmp_path / "out-2.pcapng")


def test_an_open_transaction_with_an_answer_shows_answered_at_once() -> None:
    table = TransactionTable()
    request = MessageRef(1, (1,), 1_000, "ping-request", None)
    txn = Transaction(1, "cvip-ping", 7, 0, None, UNANSWERED, request=request, expects="many")
    table.add(txn)
    assert table.get(1).state == "unanswered" and table.pending == 1
    txn.responses.append(MessageRef(2, (2,), 3_000_000, "ping-response", None))
    shown = table.get(1)
    assert shown.state == "answered" and shown.responses == (2,)
    assert shown.latency_ms == 2.999
