"""Loading in the background: on a capture of a few thousand messages the list shows its
first rows, moves and filters while the worker is still reading, and ends up with
exactly what a complete load gives; quitting mid-load ends promptly."""

from __future__ import annotations

import asyncio
import time

import pytest

from cvipsniff.capture import PcapWriter
from cvipsniff.filter import compile_filter
from cvipsniff.sim.cvip import encode
from cvipsniff.sim.synth import Synthesizer
from cvipsniff.sim.transcript import Conversation, MessageTruth, Scenario, WireMessage
from cvipsniff.tui.app import CvipsniffApp
from cvipsniff.tui.filtering import StoreFieldSource

EXCHANGES = 6000  # 12000 messages: long enough to be seen loading
FLOWS = 30


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> str:
    methods = ("system.describe", "cviUnit.describe", "cviVideo.listEvents")
    scenario = Scenario("loading", "many small CVIP exchanges")
    per_flow = EXCHANGES // FLOWS
    for f in range(FLOWS):
        conv = Conversation("tcp", (f"10.0.0.{f + 1}", 30000 + f), ("10.1.0.1", 7110))
        t = f * 0.05
        for i in range(per_flow):
            txn = i + 1
            method = methods[i % len(methods)]
            conv.messages.append(WireMessage(0, encode.frame(encode.method_call(method), txn),
                                             t, MessageTruth("cvip", "request", txn, method)))
            conv.messages.append(WireMessage(
                1, encode.frame(encode.method_response({"Name": "unit"}), txn, response=True),
                t + 0.4, MessageTruth("cvip", "response", txn, method, True)))
            t += 1.0
        scenario.conversations.append(conv)
    path = tmp_path_factory.mktemp("loading") / "many.pcap"
    synth = Synthesizer(scenario)
    with path.open("wb") as fh:
        writer = PcapWriter(fh, synth.linktype, snaplen=65535, nanosecond=True)
        for frame in synth.frames():
            writer.write(frame)
        writer.close()
    return str(path)


def test_the_list_is_usable_while_the_capture_loads(capture):
    async def main():
        app = CvipsniffApp(capture, batch_size=200)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.messages_screen
            lst = screen.message_list
            started = time.monotonic()
            while not lst.row_count() and time.monotonic() - started < 60:
                await pilot.pause(0.005)
            # First rows on screen, the rest still coming.
            assert lst.row_count() > 0 and not app.session.load.done
            assert "loading…" in screen.status.text and screen.status.has_class("-busy")
            assert lst.render_line(1).text.split()[2] == "10.0.0.1:30000"
            # Filtering and keys work now.
            assert screen.apply_filter("direction == 1 && cvip.txn <= 3")
            assert not app.session.load.done
            # Once the filter has caught up (it then follows the load batch by batch)
            # and shows two messages: catching up puts the cursor back near where it
            # was, which would undo a key pressed before, and with one message shown
            # there is nowhere to go down to (races that made this test flaky).
            while not (len(app.session.view) >= 2 and all(
                    not w.is_running for w in app.workers if w.group == "filter")):
                assert time.monotonic() - started < 120, "the filter did not catch up"
                await pilot.pause(0.01)
            await pilot.press("down")
            assert lst.cursor == 1 and screen.details.index == lst.selected_index
            while not app.session.load.done and time.monotonic() - started < 180:
                await pilot.pause(0.02)
            while any(w.is_running for w in app.workers if w.group == "filter"):
                assert time.monotonic() - started < 180, "the filter did not finish"
                await pilot.pause(0.02)
            await pilot.pause()
            session = app.session
            assert len(session) == 2 * EXCHANGES
            assert not screen.status.has_class("-busy") and "loading" not in screen.status.text
            flt = compile_filter("direction == 1 && cvip.txn <= 3")
            everything = [i for i in range(len(session))
                          if flt.matches(StoreFieldSource(session, i))]
            assert list(session.view) == everything and len(everything) == 3 * FLOWS
            assert lst.row_count() == len(everything)

    asyncio.run(main())


def test_quitting_while_loading_ends_promptly(capture):
    async def main():
        app = CvipsniffApp(capture, batch_size=100)
        async with app.run_test(size=(80, 24)) as pilot:
            while not len(app.session):
                await pilot.pause(0.005)
            assert not app.session.load.done
            await pilot.press("q")
        return app

    app = asyncio.run(main())
    # Promptly means without reading to the end (a wall-clock bound would not hold on a
    # busy machine): the loader was stopped, not waited for.
    assert not app.session.load.done


def test_quitting_while_a_split_load_runs_stops_its_workers(capture, monkeypatch):
    from multiprocessing.context import ForkProcess

    # Every worker the load forks, caught as it starts (counting live children instead
    # would miss one that already finished its share on a fast run).
    workers: list[ForkProcess] = []
    start = ForkProcess.start

    def recording_start(self):
        workers.append(self)
        return start(self)

    monkeypatch.setattr(ForkProcess, "start", recording_start)

    async def main():
        app = CvipsniffApp(capture, batch_size=100, jobs=2)
        async with app.run_test(size=(80, 24)) as pilot:
            while not len(app.session):
                await pilot.pause(0.005)
            assert not app.session.load.done
            assert len(workers) == 2
            await pilot.press("q")
        return app

    app = asyncio.run(main())
    assert not app.session.load.done
    # The loader thread closes the split as it stops: no worker outlives the UI.
    started = time.monotonic()
    while any(w.is_alive() for w in workers):
        assert time.monotonic() - started < 60, "a worker outlived the UI"
        time.sleep(0.05)
