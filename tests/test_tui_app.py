"""The terminal UI driven by Textual's pilot on the demo capture: loading, moving through
the list, details and the hex highlight following the selected field, request ↔ response
jumps, time formats, marks, search and copying."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.pilot import Pilot

from cvipsniff.tui.app import CvipsniffApp
from cvipsniff.tui.screens.messages import MessagesScreen

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "captures" / "demo.pcapng")


async def wait_loaded(app: CvipsniffApp, pilot: Pilot, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if app.session.load.done:
            break
        await pilot.pause(0.02)
    assert app.session.load.done, "the capture did not load in time"
    await pilot.pause()


def drive(scenario, path: str = DEMO, size: tuple[int, int] = (100, 32), **options):
    """Run the app headless on ``path``, wait for the load, then ``scenario(app, pilot)``."""

    async def main():
        app = CvipsniffApp(path, **options)
        async with app.run_test(size=size) as pilot:
            await wait_loaded(app, pilot)
            return await scenario(app, pilot)

    return asyncio.run(main())


def messages(app: CvipsniffApp) -> MessagesScreen:
    screen = app.screen
    assert isinstance(screen, MessagesScreen)
    return screen


async def goto_frame(app: CvipsniffApp, pilot: Pilot, frame: int) -> int:
    """Select the message completed by ``frame``; returns its store index."""
    screen = messages(app)
    index = next(i for i in range(len(app.session)) if app.session.store.frame(i) == frame)
    assert screen.select_index(index)
    await pilot.pause()
    return index


def screen_text(app: CvipsniffApp) -> str:
    """What the list shows, line by line (header first), as plain text."""
    lst = messages(app).message_list
    return "\n".join(lst.render_line(y).text for y in range(lst.size.height))


# ---- loading ---------------------------------------------------------------------------------


def test_the_demo_loads_and_the_first_rows_are_wiresharks_columns():
    async def scenario(app, pilot):
        screen = messages(app)
        lst = screen.message_list
        assert lst.row_count() == len(app.session) == 542
        text = screen_text(app).splitlines()
        assert text[0].split()[:4] == ["No.", "Time", "Source", "Destination"]
        assert "Protocol" in text[0] and "Length" in text[0] and "Info" in text[0]
        first = text[1].split()
        assert first[:6] == ["1", "0.000000", "192.0.2.100:53050", "192.0.2.10:7110",
                             "CVIP-Ping", "16"]
        assert "ping request txn=696" in text[1]
        status = screen.status.text
        assert "demo.pcapng" in status and "542 msgs" in status and "18 findings" in status
        assert not screen.status.has_class("-busy")
        assert app.focused is lst
        # The first message is shown in the details and the bytes panes.
        assert screen.details.index == 0
        assert screen.hex.data == app.session.store.data(0)

    drive(scenario)


def test_80x24_still_shows_source_destination_and_info():
    async def scenario(app, pilot):
        text = screen_text(app).splitlines()
        assert "Length" not in text[0]  # made room at 80 columns
        # Addresses are elided in the middle, the port always whole; Info keeps its
        # first words (method and kind).
        assert "192…100:53050" in text[1] and "192.…10:7110" in text[1].replace("….", "…")
        assert "ping request txn=696" in text[1]
        describe = next(line for line in text if " 21 " in line[:7])
        assert "system.describe request" in describe
        assert all(len(line) <= 80 for line in text)

    drive(scenario, size=(80, 24))


# ---- moving ----------------------------------------------------------------------------------


def test_moving_through_the_list_and_the_details_follow():
    async def scenario(app, pilot):
        screen = messages(app)
        lst = screen.message_list
        await pilot.press("down", "down")
        assert lst.cursor == 2 and screen.details.index == 2
        await pilot.press("pagedown")
        page = lst.cursor
        assert page > 2 + 5
        await pilot.press("end")
        assert lst.cursor == 541
        assert lst.visible_rows.stop == 542  # scrolled to the end
        assert screen.details.index == 541
        assert screen.hex.data == app.session.store.data(541)
        await pilot.press("home")
        assert lst.cursor == 0 and round(lst.scroll_y) == 0
        await pilot.press("j", "j", "k")
        assert lst.cursor == 1

    drive(scenario)


def test_clicking_a_row_selects_it():
    async def scenario(app, pilot):
        lst = messages(app).message_list
        await pilot.click(lst, offset=(10, 4))  # line 4: the fourth row under the header
        await pilot.pause()
        assert lst.cursor == 3
        assert messages(app).details.index == 3

    drive(scenario)


# ---- details and bytes ---------------------------------------------------------------------


def _tree_lines(screen: MessagesScreen) -> list[tuple[str, object]]:
    tree = screen.details
    out = []
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        if node is not None:
            out.append((str(node.label), node.data))
    return out


def test_details_show_header_transaction_fields_and_findings():
    async def scenario(app, pilot):
        screen = messages(app)
        await goto_frame(app, pilot, 21)  # system.describe request
        labels = [label for label, _ in _tree_lines(screen)]
        assert labels[0].startswith("Message 7: CVIP request, 83 bytes, frame 21")
        assert any(label.startswith("Transaction #4 system.describe id=607: answered")
                   for label in labels)
        assert "Response: message 9 (frame 25)  [r]" in labels
        assert "Method: system.describe" in labels
        assert "Transaction: 607 (0x025f)" in labels or any("607 (0x025f)" in label
                                                             for label in labels)
        # A message with a finding lists it, with the rule and spec.
        finding = next(f for f in app.session.store.findings
                       if f.rule == "cvip.header.version")
        await goto_frame(app, pilot, finding.frames[0])
        labels = [label for label, _ in _tree_lines(screen)]
        assert "Findings (1)" in labels
        assert any("[error] cvip.header.version: protocol version 0x0202" in label
                   for label in labels)

    drive(scenario)


def test_the_hex_highlight_follows_the_selected_field():
    async def scenario(app, pilot):
        screen = messages(app)
        await goto_frame(app, pilot, 21)
        await pilot.press("enter")  # into the details
        await pilot.pause()
        tree, hexview = screen.details, screen.hex
        assert app.focused is tree
        seen = {}
        while "cvip.method" not in seen:
            node = tree.cursor_node
            if node is not None and node.data is not None:
                seen[node.data.key] = hexview.highlight
            await pilot.press("down")
            assert len(seen) < 40
        await pilot.press("up")
        # Each field lit exactly its own bytes.
        assert seen["cvip.txn"] == (3, 2)
        assert seen["cvip.size"] == (5, 4)
        assert seen["cvip.method"] == (33, 15)
        assert seen["cvip.kind"] == (0, 0)  # synthesised: nothing to light
        data = app.session.store.data(app.session.store.index_of_number(7))
        assert data[33:48] == b"system.describe"
        # And what is drawn: the method's bytes on dump line 2 (offsets 32..47) are lit.
        assert tree.cursor_node.data.key == "cvip.method"
        assert hexview.highlight == (33, 15)
        assert "Bytes: cvip.method [33:48] (15 bytes)" in str(hexview.border_title)
        hi = hexview.rich_style + hexview.get_component_rich_style("hex-view--highlight")
        strip = hexview.render_line(2 - round(hexview.scroll_y))
        lit = [seg.text for seg in strip if seg.style == hi]
        assert "".join(lit).replace(" ", "") == data[33:48].hex() + "system.describe"
        assert hexview.line_text(2).startswith("00000020  3e 73 79 73")

    drive(scenario)


def test_a_long_message_scrolls_the_hex_pane_to_the_field():
    async def scenario(app, pilot):
        screen = messages(app)
        # The message whose last field lies deepest in its bytes.
        store = app.session.store

        def deepest(i):
            return max((f for f in store.record(i).walk() if f.offset >= 0 and f.length > 0),
                       key=lambda f: f.offset, default=None)

        index = max(range(len(app.session)),
                    key=lambda i: deepest(i).offset if deepest(i) else -1)
        screen.select_index(index)
        await pilot.pause()
        deep = deepest(index)
        assert deep.offset > 16 * 40  # beyond the first screenful of the dump
        screen.hex.set_highlight(deep.offset, deep.length)
        await pilot.pause()
        top = round(screen.hex.scroll_y)
        assert top <= deep.offset // 16 < top + screen.hex.size.height

    drive(scenario)


# ---- jumps -------------------------------------------------------------------------------------


def test_r_jumps_from_request_to_response_and_back():
    async def scenario(app, pilot):
        screen = messages(app)
        store = app.session.store
        await goto_frame(app, pilot, 21)
        await pilot.press("r")
        assert store.frame(screen.message_list.selected_index) == 25
        assert screen.details.index == screen.message_list.selected_index
        await pilot.press("r")
        assert store.frame(screen.message_list.selected_index) == 21
        # From the details, Enter on the response line jumps too.
        await pilot.press("enter")
        tree = screen.details
        for _ in range(tree.last_line + 1):
            if tree.cursor_node.data is not None and tree.cursor_node.data.key == "txn.response":
                break
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert store.frame(screen.message_list.selected_index) == 25

    drive(scenario)


def test_r_on_a_message_without_partner_says_so():
    async def scenario(app, pilot):
        screen = messages(app)
        txn = next(app.session.transactions.get(n)
                   for n in range(1, len(app.session.transactions) + 1)
                   if app.session.transactions.get(n).state == "unanswered")
        index = app.session.store.index_of_number(txn.request)
        screen.select_index(index)
        await pilot.press("r")
        assert screen.message_list.selected_index == index
        assert any("No request/response" in n.message for n in app._notifications)

    drive(scenario)


# ---- time, marks, search, copy ---------------------------------------------------------------


def test_t_cycles_the_time_column_like_wireshark():
    async def scenario(app, pilot):
        screen = messages(app)
        await pilot.press("down", "down")
        header = lambda: screen_text(app).splitlines()[0]  # noqa: E731
        row = lambda n: screen_text(app).splitlines()[n + 1]  # noqa: E731
        # relative time truncated, as tshark shows 0.014967989
        assert "Time" in header() and row(2).split()[1] == "0.014967"
        await pilot.press("t")
        assert "Delta" in header() and row(2).split()[1] == "0.013022"
        await pilot.press("t")
        assert "Date/Time" in header() and "2024-05-01 12:00:00.015092" in row(2)
        await pilot.press("t")
        assert "Epoch" in header() and "1714564800.015092" in row(2)
        await pilot.press("t")
        assert "Time" in header() and "time rel" in screen.status.text

    drive(scenario)


def test_marks_are_shown_counted_and_jumped_between():
    async def scenario(app, pilot):
        screen = messages(app)
        lst = screen.message_list
        await pilot.press("m")  # marks row 0 and moves on
        await pilot.press("down", "down", "m")
        assert app.session.marks == {0, 3} and lst.cursor == 4
        assert "2 marked" in screen.status.text
        assert screen_text(app).splitlines()[1].split()[0] == "*1"
        await pilot.press("right_square_bracket")
        assert lst.cursor == 0  # wrapped to the first mark
        await pilot.press("right_square_bracket")
        assert lst.cursor == 3
        await pilot.press("left_square_bracket")
        assert lst.cursor == 0
        await pilot.press("m")
        assert app.session.marks == {3}

    drive(scenario)


def test_ctrl_f_finds_the_next_message_containing_text():
    async def scenario(app, pilot):
        screen = messages(app)
        store = app.session.store

        async def settle(previous):
            for _ in range(100):
                await pilot.pause(0.02)
                if screen.message_list.selected_index != previous:
                    break
            return screen.message_list.selected_index

        await pilot.press("ctrl+f")
        assert app.focused.id == "search"
        await pilot.press(*"PTZ.CMD")  # case does not matter
        await pilot.press("enter")
        first = await settle(0)
        assert store.frame(first) == 432  # the first cviPtz.cmd request
        await pilot.press("escape")
        assert app.focused is screen.message_list
        await pilot.press("n")
        assert store.frame(await settle(first)) == 445  # its ack names the method too
        await pilot.press("N")
        assert store.frame(await settle(store.index_of_frame(445))) == 432

    drive(scenario)


def test_c_copies_the_selected_fields_value():
    async def scenario(app, pilot):
        screen = messages(app)
        await goto_frame(app, pilot, 21)
        await pilot.press("enter")
        tree = screen.details
        line = next(n for n in range(tree.last_line + 1)
                    if tree.get_node_at_line(n).data.key == "cvip.method")
        tree.move_cursor_to_line(line)
        await pilot.press("c")
        assert app.clipboard == "system.describe"
        assert any("cvip.method = system.describe" in n.message for n in app._notifications)

    drive(scenario)


def test_help_theme_and_views_are_keys_away():
    async def scenario(app, pilot):
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert isinstance(app.screen, MessagesScreen)
        lst = messages(app).message_list
        before = (app.theme, lst.generation)
        await pilot.press("T")
        await pilot.pause()
        assert app.theme == "textual-light" and lst.generation > before[1]
        await pilot.press("T")
        assert app.theme == "textual-dark"
        for key, mode in zip("23451", ("transactions", "findings", "flows", "stats",
                                       "messages"), strict=True):
            await pilot.press(key)
            await pilot.pause()
            assert app.current_mode == mode

    drive(scenario)
