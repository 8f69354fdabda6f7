"""The terminal UI at 80×24 with the habits Wireshark and termshark users bring: panes
resized, collapsed and maximized from the keyboard, the details tree a third of the
screen, go to frame (Ctrl+G), time reference (Ctrl+T), a visible search line with
"k of n", the filter box coloured while typing with field-name completion, the views as
tabs, the absolute time with its zone, and export into the current directory."""

from __future__ import annotations

import time

from cvipsniff.tui.columns import fit_endpoint
from cvipsniff.tui.screens.export import ExportDialog
from cvipsniff.tui.screens.goto import GotoDialog
from cvipsniff.tui.widgets.tabs import ViewTabs
from tests.test_tui_app import drive, goto_frame, messages, screen_text

SMALL = (80, 24)


def test_details_get_a_third_of_the_screen_and_panes_move_with_keys():
    async def scenario(app, pilot):
        screen = messages(app)
        assert screen.details.outer_size.height >= 24 // 3
        assert screen.message_list.size.height >= 5
        before = screen.message_list.outer_size.height
        await pilot.press("plus")
        await pilot.pause()
        assert screen.message_list.outer_size.height > before
        await pilot.press("minus", "minus")
        await pilot.pause()
        assert screen.message_list.outer_size.height < before
        # Collapse the bytes pane: the details take its lines; never both collapsed.
        details = screen.details.outer_size.height
        await pilot.press("b")
        await pilot.pause()
        assert not screen.hex.display
        assert screen.details.outer_size.height > details
        await pilot.press("d")  # the details go, the bytes come back and fill the room
        await pilot.pause()
        assert screen.hex.display and not screen.details.display
        assert screen.hex.outer_size.height > details
        await pilot.press("d")
        await pilot.pause()
        assert screen.details.display and screen.details.outer_size.height >= details

    drive(scenario, size=SMALL)


def test_z_maximizes_the_focused_pane_and_escape_restores():
    async def scenario(app, pilot):
        screen = messages(app)
        await pilot.press("z")
        await pilot.pause()
        assert screen.maximized is screen.message_list
        assert screen.message_list.outer_size.height >= 24 - 3
        await pilot.press("escape")
        await pilot.pause()
        assert screen.maximized is None
        screen.details.focus()
        await pilot.press("z")
        await pilot.pause()
        assert screen.maximized is screen.details
        await pilot.press("z")
        await pilot.pause()
        assert screen.maximized is None

    drive(scenario, size=SMALL)


def test_ctrl_g_goes_to_the_message_of_a_frame():
    async def scenario(app, pilot):
        screen = messages(app)
        store = app.session.store
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert isinstance(app.screen, GotoDialog)
        await pilot.press("2", "5", "enter")
        await pilot.pause()
        index = screen.message_list.selected_index
        assert store.frame(index) == 25
        # A frame inside a multi-frame message selects that message.
        multi = next(i for i in range(len(store)) if len(store.frames(i)) > 1)
        inner = store.frames(multi)[0]
        assert screen.goto_frame(inner)
        await pilot.pause()
        assert screen.message_list.selected_index == multi

    drive(scenario, size=SMALL)


def test_ctrl_t_sets_a_time_reference():
    async def scenario(app, pilot):
        screen = messages(app)
        index = await goto_frame(app, pilot, 25)
        await pilot.press("ctrl+t")
        await pilot.pause()
        lines = screen_text(app).splitlines()
        row = next(line for line in lines if line.split()[:1] == ["25"])
        assert "*REF*" in row
        earlier = next(line for line in lines[1:] if line.split()[:1] == ["21"])
        store = app.session.store
        expected = (store.ts_ns(index - 2) - store.ts_ns(index)) / 1e9
        assert float(earlier.split()[1]) == round(expected, 6)
        assert "ref 25" in screen.status.text
        await pilot.press("ctrl+t")  # again: no reference
        await pilot.pause()
        assert "*REF*" not in screen_text(app) and "ref 25" not in screen.status.text

    drive(scenario, size=SMALL)


def test_search_line_is_visible_and_counts_k_of_n():
    async def scenario(app, pilot):
        screen = messages(app)
        await pilot.press("ctrl+f")
        await pilot.press(*"describe")
        await pilot.press("enter")
        for _ in range(200):
            counter = screen.match_counter
            if counter is not None and counter.finished:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        label = str(screen.query_one("#search-count").render())
        total = len(screen.match_counter.positions)
        assert total > 2 and label == f"1 of {total}"
        row = screen.query_one("#search-row")
        assert row.display and row.outer_size.height == 1
        assert screen.query_one("#search").value == "describe"
        await pilot.press("enter")
        await pilot.pause()
        assert str(screen.query_one("#search-count").render()) == f"2 of {total}"

    drive(scenario, size=SMALL)


def test_filter_box_says_valid_or_invalid_while_typing_and_completes_names():
    async def scenario(app, pilot):
        screen = messages(app)
        await pilot.press("slash")
        await pilot.press(*"cvip.met")
        await pilot.pause(0.3)
        bar = screen.filter_bar
        assert bar.typing_state == "invalid"  # no field is called cvip.met
        assert "✗" in str(bar.query_one("#filter-prompt").render())
        await pilot.press("tab")  # cvip.method and cvip.method_name share "cvip.method"
        await pilot.pause(0.3)
        assert bar.text == "cvip.method"
        assert bar.typing_state == "valid"
        await pilot.press(*" == ")
        await pilot.pause(0.3)
        assert bar.typing_state == "invalid"
        await pilot.press(*'"system.describe"')
        await pilot.pause(0.3)
        assert bar.typing_state == "valid"
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert len(app.session.view) > 0

    drive(scenario, size=SMALL)


def test_tab_completion_of_field_names():
    from cvipsniff.tui.widgets.filter_bar import complete

    assert complete("imageserver.reques") == "imageserver.requestid"
    assert complete('frame > 3 && latency_') == "frame > 3 && latency_ms"
    assert complete('cvip.method == "cvip.met') is None  # inside a string
    assert complete("nosuchfield") is None


def test_views_are_tabs_with_the_current_one_lit():
    async def scenario(app, pilot):
        tabs = app.screen.query_one(ViewTabs)
        text = tabs.render()
        assert "1 Messages" in text.plain and "5 Statistics" in text.plain
        lit = [text.plain[s.start:s.end] for s in text.spans if "reverse" in str(s.style)]
        assert lit == [" 1 Messages "]
        await pilot.press("4")
        await pilot.pause()
        lit = [app.screen.query_one(ViewTabs).render()]
        plain = lit[0].plain
        assert [plain[s.start:s.end] for s in lit[0].spans if "reverse" in str(s.style)] \
            == [" 4 Flows "]

    drive(scenario, size=SMALL)


def test_absolute_time_shows_its_zone_and_export_defaults_to_the_current_directory(
        monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()

    async def scenario(app, pilot):
        await pilot.press("t", "t")  # relative → delta → absolute
        await pilot.pause()
        first = screen_text(app).splitlines()[1]
        assert "2024-05-01 12:00:00.000124 UTC" in first
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        assert dialog.base_path == "demo-export"

    drive(scenario, size=(120, 30))


def test_fit_endpoint_keeps_the_port_and_cuts_the_host_in_the_middle():
    assert fit_endpoint("192.0.2.100:53050", 14) == "192.…100:53050"
    assert fit_endpoint("192.0.2.100:53050", 17) == "192.0.2.100:53050"
    assert fit_endpoint("[2001:db8::1]:7110", 14).endswith(":7110")
    for width in range(8, 20):
        assert len(fit_endpoint("255.255.255.255:7110", width)) == width


def test_transactions_and_flows_sort_by_any_column():
    async def scenario(app, pilot):
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.table
        titles = [c.title for c in table.columns(80)]
        latency = titles.index("Latency")
        for _ in range(latency + 1):
            await pilot.press("o")
        await pilot.pause()
        assert table.sort_column == "Latency"
        wide = [type(c)(c.title, 100, c.right) for c in table.columns(80)]
        values = [table.cells(table.source(r), wide)[latency].strip()
                  for r in range(table.row_count())]
        numbers = [float(v) for v in values if v]
        assert numbers == sorted(numbers) and len(numbers) > 100
        assert "Latency▲" in table.render_line(0).text
        await pilot.press("O")
        await pilot.pause()
        values = [table.cells(table.source(r), wide)[latency].strip()
                  for r in range(table.row_count())]
        numbers = [float(v) for v in values if v]
        assert numbers == sorted(numbers, reverse=True)
        # Enter opens the request of the row under the cursor, sorted or not.
        txn = table.transaction(table.source(table.cursor))
        await pilot.press("enter")
        for _ in range(100):
            await pilot.pause(0.02)
            if app.current_mode == "messages":
                break
        await pilot.pause()
        index = messages(app).message_list.selected_index
        assert app.session.store.number(index) == txn.request
        await pilot.press("4")
        await pilot.pause()
        flows = app.screen.table
        for _ in range([c.title for c in flows.columns(80)].index("Msgs") + 1):
            await pilot.press("o")
        await pilot.pause()
        counts = [app.session.flows[flows.ids[flows.source(r)]].messages
                  for r in range(flows.row_count())]
        assert counts == sorted(counts)

    drive(scenario, size=SMALL)


def test_f_on_a_broadcast_ping_flow_includes_its_answers():
    async def scenario(app, pilot):
        await pilot.press("4")
        await pilot.pause()
        table = app.screen.table
        row = next(r for r in range(table.row_count())
                   if app.session.flows[table.ids[r]].server[0] == "255.255.255.255")
        table.move_cursor(row)
        await pilot.press("f")
        for _ in range(100):
            await pilot.pause(0.02)
            if len(app.session.view) and app.session.view.filtered:
                break
        kinds = [app.session.store.kind(i) for i in app.session.view.indices()]
        assert kinds.count("ping-request") == 1 and kinds.count("ping-response") >= 2

    drive(scenario, size=SMALL)


def test_copy_a_row_a_subtree_and_the_hex():
    async def scenario(app, pilot):
        screen = messages(app)
        copied = []
        app.copy_to_clipboard = copied.append
        await goto_frame(app, pilot, 21)
        await pilot.press("c")
        assert copied[-1].startswith("21") and "system.describe request" in copied[-1]
        assert "192.0.2.100:57595" in copied[-1]  # the row in full, not as elided
        await pilot.press("x")
        assert copied[-1].startswith("00000000  02 01") and "system.describe" in copied[-1]
        await pilot.press("C")
        assert "CVIP Header 2.0" in copied[-1] and "Protocol Version: 0x0201" in copied[-1]
        screen.details.focus()
        await pilot.pause()
        screen.details.move_cursor(next(
            n for n in screen.details.root.children if "Header" in n.label.plain))
        await pilot.press("C")
        lines = copied[-1].splitlines()
        assert lines[0].startswith("CVIP Header") and lines[1].startswith("    ")

    drive(scenario, size=SMALL)


def test_export_images_from_the_ui(tmp_path):
    async def scenario(app, pilot):
        screen = messages(app)
        await pilot.press("e")
        await pilot.pause()
        await pilot.click("#format-objects")
        await pilot.pause()
        path = app.screen.query_one("#export-path")
        assert path.value.endswith("-objects")
        path.value = str(tmp_path / "images")
        await pilot.click("#export-ok")
        await pilot.pause()
        await screen.workers.wait_for_complete()
        files = sorted(p.name for p in (tmp_path / "images").iterdir())
        assert "manifest.csv" in files and any(f.endswith(".jpg") for f in files)

    drive(scenario, size=(100, 32))


def test_histogram_has_axes_and_counts():
    from cvipsniff.tui.histogram import histogram_lines

    lines = histogram_lines([1, 0, 4, 2], 1.0, 3.0, height=4)
    assert lines[0].startswith("4 ┤") and lines[3].startswith("0 ┤")
    assert lines[4].strip().startswith("└") and "1.000" in lines[5] and "3.000 ms" in lines[5]
    bars = [line[3:] for line in lines[:4]]
    assert bars[0][2] == "█" and bars[0][0] == " " and bars[3][1] == " " and bars[3][0] != " "


def test_f_switches_the_hex_pane_to_the_frames_as_captured():
    from cvipsniff.capture import open_capture

    async def scenario(app, pilot):
        screen = messages(app)
        store = app.session.store
        index = next(i for i in range(len(store)) if len(store.frames(i)) > 1)
        screen.select_index(index)
        await pilot.pause()
        message_bytes = screen.hex.data
        await pilot.press("F")
        for _ in range(200):
            await pilot.pause(0.02)
            if screen.hex.data != message_bytes:
                break
        with open_capture(app.session.path) as reader:
            wanted = store.frames(index)
            frames = {f.number: f.data for f in reader if f.number in wanted}
        assert screen.hex.data == b"".join(frames[n] for n in wanted)
        assert "as captured" in str(screen.hex.border_title)
        await pilot.press("F")
        await pilot.pause()
        assert screen.hex.data == message_bytes

    drive(scenario, size=SMALL)
