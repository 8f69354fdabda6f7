"""Snapshots of the terminal UI's main screens on the demo capture, at fixed terminal
sizes (pytest-textual-snapshot; ``pytest --snapshot-update`` rewrites them after a
deliberate change, and the SVGs under ``__snapshots__`` show what was accepted)."""

from __future__ import annotations

from pathlib import Path

from cvipsniff.tui.app import CvipsniffApp

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "captures" / "demo.pcapng")


async def _wait_until(pilot, condition) -> None:
    """Wait on state, not time: until ``condition()`` holds (at most 30 s)."""
    for _ in range(1500):
        if condition():
            break
        await pilot.pause(0.02)
    assert condition()


async def _loaded(pilot) -> None:
    app = pilot.app
    await _wait_until(pilot, lambda: app.session.load.done)
    await pilot.pause()


async def _first_message_shown(pilot) -> None:
    """Wait (on state, bounded) until the details of the first message are shown and its
    tree's first node highlighted: the hex pane's title then names the message's bytes.
    That comes one refresh after the load on a quick machine and later on a busy one."""
    screen = pilot.app.messages_screen
    await _wait_until(pilot, lambda: str(screen.hex.border_title).startswith("Bytes: message ["))


def _at_frame(frame: int, *keys: str):
    """Wait for the load, select the message completed by ``frame``, press ``keys``."""

    async def run_before(pilot) -> None:
        await _loaded(pilot)
        app = pilot.app
        index = next(i for i in range(len(app.session)) if app.session.store.frame(i) == frame)
        app.messages_screen.select_index(index)
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
        await pilot.pause()

    return run_before


def test_messages_at_80x24(snap_compare):
    assert snap_compare(CvipsniffApp(DEMO), terminal_size=(80, 24),
                        run_before=_at_frame(21))


def test_messages_with_an_error_and_a_highlighted_field(snap_compare):
    # Frame 956 carries a header with the wrong version: the row is coloured as an error,
    # its details end with the finding and the version's bytes are lit in the hex pane.
    assert snap_compare(CvipsniffApp(DEMO), terminal_size=(120, 40),
                        run_before=_at_frame(956, "enter", "down", "down", "down", "down"))


def test_messages_wide_layout_in_the_light_theme(snap_compare):
    assert snap_compare(CvipsniffApp(DEMO, theme="textual-light"), terminal_size=(170, 36),
                        run_before=_at_frame(1375, "enter", "down", "down"))


def test_filter_error_inline(snap_compare):
    async def run_before(pilot) -> None:
        await _loaded(pilot)
        await _first_message_shown(pilot)
        bar = pilot.app.messages_screen.filter_bar
        # The input keeps the focus: a blinking cursor would be drawn or not by the
        # time the snapshot is taken (a slow run caught it off).
        bar.input.cursor_blink = False
        await pilot.press("slash")
        bar.input.value = 'cvip.method == "system.describe" && latnecy_ms > 5'
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(CvipsniffApp(DEMO), terminal_size=(100, 24), run_before=run_before)


def test_transactions_view(snap_compare):
    assert snap_compare(CvipsniffApp(DEMO), terminal_size=(80, 24),
                        run_before=_at_frame(1, "2", "end"))


def test_findings_view_with_a_rule_expanded(snap_compare):
    assert snap_compare(CvipsniffApp(DEMO), terminal_size=(110, 30),
                        run_before=_at_frame(1, "3", "down", "down", "down", "down", "down",
                                             "enter"))


def test_flows_view(snap_compare):
    assert snap_compare(CvipsniffApp(DEMO), terminal_size=(100, 30),
                        run_before=_at_frame(1, "4", "down", "down", "down"))


def test_statistics_view(snap_compare):
    async def run_before(pilot) -> None:
        await _loaded(pilot)
        await pilot.press("5")
        for _ in range(200):
            if pilot.app.screen.methods:
                break
            await pilot.pause(0.02)
        await pilot.press("down", "down", "down", "down", "down")
        await pilot.pause()

    assert snap_compare(CvipsniffApp(DEMO), terminal_size=(100, 34), run_before=run_before)


def test_help_screen(snap_compare):
    assert snap_compare(CvipsniffApp(DEMO), terminal_size=(100, 40),
                        run_before=_at_frame(1, "question_mark"))
