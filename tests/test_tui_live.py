"""The live terminal UI (``cvipsniff tui -i``): messages arriving while a capture runs,
auto-follow that pauses when the user moves up, the capture status line, stop, save and
restart — first from a scripted frame source (deterministic), then on the loopback
interface while the project's own peers talk (needs root, like any capture)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from textual.pilot import Pilot

from cvipsniff.capture import open_capture
from cvipsniff.commands.common import parse_decode_as
from cvipsniff.live import LiveSession
from cvipsniff.live.source import SourceOptions
from cvipsniff.pipeline import PipelineConfig
from cvipsniff.report.json_report import finding_json
from cvipsniff.tui.live import LiveFeed
from cvipsniff.tui.live_app import LiveApp
from cvipsniff.tui.loader import Batch, load
from cvipsniff.tui.screens.messages import MessagesScreen
from cvipsniff.tui.screens.save import SaveDialog
from cvipsniff.tui.session import CaptureSession
from tests.conftest import CAPTURES
from tests.live_helpers import Peers, ScriptedSource, failures

DEADLINE_S = 20.0


class Sources:
    """A factory handing out a fresh scripted source per capture (restart makes a new
    one), all fed from the test."""

    backend = "scripted"

    def __init__(self) -> None:
        self.made: list[ScriptedSource] = []

    def __call__(self, interface: str, capture_filter: str, options: SourceOptions
                 ) -> ScriptedSource:
        self.made.append(ScriptedSource(batch=8))
        return self.made[-1]

    @property
    def current(self) -> ScriptedSource:
        return self.made[-1]

    def clock(self) -> int:
        """Time as the replayed frames tell it (they were recorded in the past): a
        request is unanswered only once the replay has moved past its timeout."""
        return self.made[-1].last_ts if self.made else 0


def frames_of(path: Path):
    with open_capture(str(path)) as reader:
        return list(reader)


def offline(path: str, config: PipelineConfig) -> CaptureSession:
    """The offline UI session of a capture file (what ``tui -r`` would show)."""
    session = CaptureSession(path, config)
    load(path, config, session.ingest)
    return session


def screen_of(app: LiveApp) -> MessagesScreen:
    screen = app.screen
    assert isinstance(screen, MessagesScreen)
    return screen


async def until(pilot: Pilot, condition, what: str, timeout: float = DEADLINE_S) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def list_text(app: LiveApp) -> str:
    lst = screen_of(app).message_list
    return "\n".join(lst.render_line(y).text for y in range(lst.size.height))


def test_messages_arrive_are_followed_and_the_stopped_capture_equals_its_file(
        tmp_path: Path) -> None:
    frames = frames_of(CAPTURES / "loopback-real.pcapng")
    sources = Sources()
    written = tmp_path / "live.pcapng"
    config = PipelineConfig(keep_data=True)
    live = LiveSession("test0", "tcp", sources, pipeline_config=config,
                       write_to=str(written), tick_s=0.05, clock=sources.clock)

    async def main() -> None:
        app = LiveApp(live)
        app.feed.start()
        async with app.run_test(size=(120, 36)) as pilot:
            screen = screen_of(app)
            lst = screen.message_list
            status = screen.status
            await until(pilot, lambda: "● test0" in status.text, "the capture status")
            assert "0 pkts" in status.text and "following" in status.text

            half = len(frames) // 2
            for f in frames[:half]:
                sources.current.push(f)
            await until(pilot, lambda: lst.row_count() > 20, "messages to arrive")
            await until(pilot, lambda: lst.cursor == lst.row_count() - 1, "the follow")
            assert f"{half:,} pkts" in status.text or live.stats.packets <= half

            # Moving up pauses the follow: new messages no longer move the cursor.
            await pilot.press("up", "up")
            paused_at = lst.cursor
            assert "paused" in status.text
            seen = lst.row_count()
            for f in frames[half:]:
                sources.current.push(f)
            await until(pilot, lambda: lst.row_count() > seen, "more messages")
            await pilot.pause(0.3)
            assert lst.cursor == paused_at
            # End resumes it.
            await pilot.press("end")
            assert "following" in status.text

            # Ctrl+E stops: open flows flushed, unanswered requests settled.
            await pilot.press("ctrl+e")
            await until(pilot, lambda: app.session.capture is not None
                        and not app.session.capture.running, "the capture to stop")
            await until(pilot, lambda: "■ test0 stopped" in status.text
                        and f"{len(frames):,} pkts" in status.text, "the stopped status")
            await until(pilot, lambda: app.session.load.done, "the last batch")

            # The live session shows what the file written meanwhile shows offline.
            reference = offline(str(written), config)
            assert len(app.session) == len(reference) > 0
            for i in range(len(reference)):
                assert app.session.store.row(i) == reference.store.row(i)
                assert app.session.transaction_number(i) == reference.transaction_number(i)
            assert [finding_json(f) for f in app.session.store.findings] \
                == [finding_json(f) for f in reference.store.findings]
            assert app.session.transactions.state_counts() \
                == reference.transactions.state_counts()

            # Ctrl+S saves the frames, whole.
            await pilot.press("ctrl+s")
            assert isinstance(app.screen, SaveDialog)
            target = tmp_path / "saved.pcapng"
            app.screen.query_one("#save-path").value = str(target)
            await pilot.press("enter")
            await until(pilot, target.exists, "the saved file")
            await app.workers.wait_for_complete()
            assert len(frames_of(target)) == len(frames)

            # Ctrl+R (or Ctrl+E once stopped) starts a fresh capture.
            await pilot.press("ctrl+r")
            await until(pilot, lambda: app.session.capture is not None
                        and app.session.capture.running, "the restart")
            assert len(sources.made) == 2
            assert len(app.session) == 0 and lst.row_count() == 0
            for f in frames[:30]:
                sources.current.push(f)
            await until(pilot, lambda: lst.row_count() > 0, "messages of the new capture")
            assert app.session.store.frame(0) <= 30
        # The restart did not truncate the -w file: the new capture went to the next
        # numbered name beside it.
        assert len(frames_of(written)) == len(frames)
        renewed = tmp_path / "live-1.pcapng"
        assert live.write_to == str(renewed) == app.session.path
        reference_after = offline(str(renewed), config)
        assert len(reference_after) == len(app.session)

    asyncio.run(main())


def test_the_live_view_keeps_its_filter_across_a_restart(tmp_path: Path) -> None:
    frames = frames_of(CAPTURES / "loopback-real.pcapng")
    sources = Sources()
    live = LiveSession("test0", "tcp", sources,
                       pipeline_config=PipelineConfig(keep_data=True, tree=False),
                       write_to=str(tmp_path / "f.pcapng"), tick_s=0.05,
                       clock=sources.clock)

    async def main() -> None:
        app = LiveApp(live)
        app.feed.start()
        async with app.run_test(size=(120, 36)) as pilot:
            screen = screen_of(app)
            screen.apply_filter('imageserver')
            for f in frames:
                sources.current.push(f)
            await until(pilot, lambda: len(app.session) > 50, "messages")
            # The capture's first ImageServer message is its 86th: wait for it to be
            # shown, as after the restart (with only the first 51..85 messages in, the
            # filter could be caught up and show nothing yet).
            await until(pilot, lambda: screen.filter_job is not None
                        and screen.filter_job.caught_up and len(app.session.view) > 0,
                        "the filter")
            view = app.session.view
            assert 0 < len(view) < len(app.session)
            assert all(app.session.store.protocol(i) == "imageserver" for i in view.indices())
            await pilot.press("ctrl+r")
            await until(pilot, lambda: len(sources.made) == 2
                        and app.session.capture.running, "the restart")
            for f in frames:
                sources.current.push(f)
            await until(pilot, lambda: len(app.session) > 50, "messages again")
            await until(pilot, lambda: screen.filter_job is not None
                        and screen.filter_job.caught_up and len(app.session.view) > 0,
                        "the filter again")
            assert screen.filter_bar.text == "imageserver"
            view = app.session.view
            assert all(app.session.store.protocol(i) == "imageserver" for i in view.indices())

    asyncio.run(main())


def test_a_batch_of_a_live_feed_is_a_loader_batch() -> None:
    """The live feed hands the UI exactly what the file loader would: a Batch."""
    sources = Sources()
    live = LiveSession("test0", "tcp", sources, tick_s=0.05, clock=sources.clock)
    feed = LiveFeed(live)
    live.on_output = feed.on_output
    assert feed.take() is None
    feed.start()
    for f in frames_of(CAPTURES / "loopback-real.pcapng")[:60]:
        sources.current.push(f)
    feed.stop()
    assert live.join(DEADLINE_S) is not None
    batch = feed.take()
    assert isinstance(batch, Batch) and batch.done and batch.error is None
    assert batch.messages and batch.transactions
    assert feed.status.running is False and feed.take() is None


@pytest.mark.skipif(os.geteuid() != 0, reason="capturing on lo needs root")
def test_the_live_tui_shows_messages_while_the_peers_talk_over_loopback(
        tmp_path: Path) -> None:
    peers = Peers.start()
    try:
        rules = peers.decode_as()[1::2]
        config = PipelineConfig(decode_as=parse_decode_as(rules), keep_data=True)
        written = tmp_path / "lo.pcapng"
        live = LiveSession("lo", peers.capture_filter(), "scapy", pipeline_config=config,
                           write_to=str(written))

        async def main() -> None:
            app = LiveApp(live)
            app.feed.start()
            async with app.run_test(size=(140, 40)) as pilot:
                screen = screen_of(app)
                lst = screen.message_list
                # The CVIP clients talk first, then the ImageServer ones: the list shows
                # the first half before the second starts, and grows with the second,
                # followed to its end (each step waits on what the screen shows, not on
                # time, so a busy machine only makes it slower).
                verdicts = await asyncio.to_thread(peers.run_cvip_clients)
                await until(pilot, lambda: app.session.protocol_counts["cvip"] > 0
                            and lst.row_count() > 0, "the CVIP messages")
                first_half = lst.row_count()
                verdicts += await asyncio.to_thread(peers.run_imageserver_clients)
                assert all(verdicts), failures(verdicts)
                await until(pilot, lambda: app.session.protocol_counts["imageserver"] > 0
                            and lst.row_count() > first_half, "the ImageServer messages")
                # The list followed the traffic to its end: the ImageServer scripts ran last.
                await until(pilot, lambda: lst.cursor == lst.row_count() - 1
                            and "ImageSrv" in list_text(app), "the follow to the end")
                assert "● lo" in screen.status.text
                protocols = app.session.protocol_counts
                assert protocols["cvip"] > 0 and protocols["imageserver"] > 0
                await pilot.press("ctrl+e")
                await until(pilot, lambda: not app.session.capture.running, "the stop")
                await until(pilot, lambda: app.session.load.done, "the last batch")
                reference = offline(str(written), config)
                assert len(app.session) == len(reference)
                assert app.session.transactions.state_counts() \
                    == reference.transactions.state_counts()

        asyncio.run(main())
    finally:
        peers.close()
