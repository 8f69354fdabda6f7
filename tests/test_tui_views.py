"""The terminal UI's other views and jobs, driven by the pilot on the demo capture: the
display filter (valid and invalid), the findings jump, transactions, flows and follow
stream, statistics, and export."""

from __future__ import annotations

import json

from cvipsniff.capture import open_capture
from cvipsniff.filter import compile_filter
from tests.test_tui_app import drive, goto_frame, messages, screen_text


async def apply(app, pilot, text: str, *, typed: bool = False) -> None:
    """Put ``text`` in the filter bar (typed key by key with ``typed``), press Enter and
    wait for the filter to finish."""
    await pilot.press("slash")
    bar = messages(app).filter_bar
    bar.input.value = ""
    if typed:
        await pilot.press(*text)
    else:
        bar.input.value = text
    await pilot.press("enter")
    for _ in range(200):
        running = [w for w in app.workers if w.group == "filter" and w.is_running]
        if not running:
            break
        await pilot.pause(0.01)
    await pilot.pause()


# ---- display filter --------------------------------------------------------------------


def test_a_valid_filter_narrows_the_list_and_escape_clears_it():
    async def scenario(app, pilot):
        screen = messages(app)
        await goto_frame(app, pilot, 21)  # system.describe request
        await apply(app, pilot, 'cvip.method == "system.describe" || latency_ms > 3')
        view = app.session.view
        flt = compile_filter('cvip.method == "system.describe" || latency_ms > 3')
        assert view.filtered and 0 < len(view) < 100
        from cvipsniff.tui.filtering import StoreFieldSource

        assert list(view) == [i for i in range(len(app.session))
                              if flt.matches(StoreFieldSource(app.session, i))]
        assert screen.message_list.row_count() == len(view)
        assert f"shown {len(view)}" in screen.status.text
        assert screen.filter_bar.input.has_class("-active")
        rows = screen_text(app).splitlines()[1:len(view) + 1]
        assert rows and all(r.strip() for r in rows)
        # The selection stays on the message it was on when that one is still shown.
        assert app.session.store.frame(screen.message_list.selected_index) == 21
        await pilot.press("slash", "escape")  # Esc in the filter bar clears it
        await pilot.pause()
        assert not view.filtered and screen.message_list.row_count() == 542
        assert "shown" not in screen.status.text
        assert app.session.store.frame(screen.message_list.selected_index) == 21

    drive(scenario)


def test_an_invalid_filter_is_shown_inline_with_its_column_and_changes_nothing():
    async def scenario(app, pilot):
        screen = messages(app)
        await apply(app, pilot, "cvip-ping")
        shown = len(app.session.view)
        assert shown == 18
        await apply(app, pilot, "cvip.tnx == 3", typed=True)
        bar = screen.filter_bar
        error = bar.error_text
        assert "column 1" in error and "cvip.txn" in error  # names it, suggests a spelling
        caret_line = error.split(" ", 1)
        # under the first character (the prompt carries the ✗ mark)
        assert error.index("^") == len("Filter: ✗") + 3
        assert caret_line
        assert bar.input.has_class("-invalid")
        assert len(app.session.view) == shown  # the previous filter still applies
        await apply(app, pilot, 'protocol == "cvip" &&')
        assert "column" in bar.error_text
        position = bar.error_text.index("^")
        assert position >= len("Filter: ✗") + 3 + len('protocol == "cvip" ')
        await apply(app, pilot, "protocol == \"imageserver\"")
        assert bar.error_text == "" and not bar.input.has_class("-invalid")
        assert len(app.session.view) == 130

    drive(scenario)


def test_a_filter_with_no_match_empties_the_list_and_says_so():
    async def scenario(app, pilot):
        screen = messages(app)
        await apply(app, pilot, "cvip.txn == 32767 && cvip.txn == 1")
        assert len(app.session.view) == 0
        assert screen.message_list.selected_index is None
        assert screen.details.index is None and screen.hex.data == b""
        assert any("No message matches" in n.message for n in app._notifications)
        await pilot.press("down", "r", "m", "c")  # nothing to act on: nothing breaks
        assert not app.session.marks

    drive(scenario)


# ---- findings ----------------------------------------------------------------------------


def test_enter_on_a_finding_opens_its_message():
    async def scenario(app, pilot):
        await pilot.press("3")
        await pilot.pause()
        screen = app.screen
        tree = screen.tree
        groups = [str(n.label) for n in tree.root.children]
        assert groups[0].startswith("error   cvip.ack.unknown_code ×1")
        assert "[MUST: " in groups[0]
        order = [g.split()[0] for g in groups]  # grouped by severity, worst first
        assert order == sorted(order, key=("error", "warning", "info").index)
        # Open the cvip.header.version group and its finding.
        target = next(i for i, g in enumerate(groups) if "cvip.header.version" in g)
        for _ in range(target):
            await pilot.press("down")
        await pilot.press("enter")  # expands the group
        await pilot.pause()
        node = tree.cursor_node
        assert node.is_expanded and len(node.children) == 1
        assert "protocol version 0x0202" in str(node.children[0].label)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.current_mode == "messages"
        index = messages(app).message_list.selected_index
        finding = next(f for f in app.session.store.findings
                       if f.rule == "cvip.header.version")
        assert app.session.store.number(index) == finding.message_number
        assert app.session.store.frame(index) == finding.frames[0]

    drive(scenario)


def test_a_finding_hidden_by_the_filter_is_not_silently_lost():
    async def scenario(app, pilot):
        await apply(app, pilot, "cvip-ping")
        await pilot.press("3", "enter", "down", "enter")
        await pilot.pause()
        assert app.current_mode == "messages"
        assert any("hidden by the display filter" in n.message for n in app._notifications)

    drive(scenario)


# ---- transactions -----------------------------------------------------------------------


def test_transactions_view_opens_requests_and_responses():
    async def scenario(app, pilot):
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.table
        assert table.row_count() == len(app.session.transactions) == 265
        header = table.render_line(0).text.split()
        assert header[:3] == ["#", "Protocol", "Method"] and "State" in header
        row = table.render_line(4).text.split()  # transaction 4
        assert row[:3] == ["4", "CVIP", "system.describe"]
        assert row[-1] == "answered" and row[-2] == "1.878"
        await pilot.press("down", "down", "down", "enter")
        await pilot.pause()
        assert app.current_mode == "messages"
        store = app.session.store
        assert store.frame(messages(app).message_list.selected_index) == 21
        await pilot.press("2", "r")
        await pilot.pause()
        assert store.frame(messages(app).message_list.selected_index) == 25

    drive(scenario)


# ---- flows and follow ----------------------------------------------------------------------


def test_flows_view_filters_to_a_flow_and_follows_its_stream():
    async def scenario(app, pilot):
        await pilot.press("4")
        await pilot.pause()
        table = app.screen.table
        assert table.row_count() == 32
        for _ in range(3):
            await pilot.press("down")
        row = table.render_line(4).text.split()
        assert row[:5] == ["3", "tcp", "192.0.2.100:57595", "192.0.2.10:7110", "130"]
        await pilot.press("f")
        for _ in range(50):
            await pilot.pause(0.02)
            if len(app.session.view) == 130:
                break
        assert app.current_mode == "messages" and len(app.session.view) == 130
        assert messages(app).filter_bar.text == "flow == 3"
        await pilot.press("4", "enter")
        follow = app.screen
        for _ in range(200):
            await pilot.pause(0.02)
            if follow.loaded:
                break
        lines = follow.view.lines
        assert lines[0][0] == 0 and lines[0][1]  # the client speaks first
        text = "\n".join(t for _, t in lines)
        assert "<methodName>system.describe</methodName>" in text
        assert {d for d, _ in lines} >= {0, 1}
        await pilot.press("h")
        hex_lines = follow.view.lines
        assert hex_lines[0][1].startswith("00000000  ")
        await pilot.press("escape")
        assert app.current_mode == "flows" and app.screen is not follow

    drive(scenario)


def test_s_follows_the_selected_messages_stream():
    async def scenario(app, pilot):
        index = await goto_frame(app, pilot, 21)
        screen = app.screen
        await pilot.press("s")
        await pilot.pause()
        follow = app.screen
        assert follow.flow.id == app.session.store.row(index).flow == 3
        await pilot.press("escape")
        assert app.screen is screen

    drive(scenario)


# ---- statistics ----------------------------------------------------------------------------


def test_statistics_show_counts_and_response_times_with_a_histogram():
    async def scenario(app, pilot):
        await pilot.press("5")
        for _ in range(100):
            await pilot.pause(0.02)
            if app.screen.methods:
                break
        screen = app.screen
        summary = str(screen.query_one("#stats-summary").render())
        assert "Messages: 542 (CVIP 394, CVIP-Ping 18, ImageServer 130) in 32 flows" in summary
        assert "answered 254" in summary and "11 error, 7 warning" in summary
        table = screen.query_one("#srt")
        assert table.row_count == len(screen.methods) > 20
        assert sum(screen.histogram_counts) == screen.methods[0].count
        chart = str(screen.query_one("#histogram").render())
        assert "┤" in chart and "└" in chart and " ms" in chart  # axes, counts, unit
        await pilot.press("down")
        await pilot.pause()
        assert sum(screen.histogram_counts) == screen.methods[1].count
        title = str(screen.query_one("#histogram-title").render())
        assert screen.methods[1].method in title

    drive(scenario)


# ---- export ------------------------------------------------------------------------------


async def _export(app, pilot, path, *, json_format=False, marked=False):
    await pilot.press("e")
    await pilot.pause()
    dialog = app.screen
    if json_format:
        await pilot.click("#format-json")
    if marked:
        await pilot.click("#scope-marked")
    path_input = dialog.query_one("#export-path")
    path_input.value = str(path)
    path_input.focus()
    await pilot.press("enter")
    for _ in range(200):
        await pilot.pause(0.02)
        if any("written to" in n.message or "Export failed" in n.message
               for n in app._notifications):
            break


def test_export_writes_the_frames_of_the_displayed_messages(tmp_path):
    out = tmp_path / "pings.pcapng"

    async def scenario(app, pilot):
        await apply(app, pilot, "cvip-ping")
        await _export(app, pilot, out)
        wanted = sorted({f for i in app.session.view for f in app.session.store.frames(i)})
        with open_capture(str(out)) as reader:
            numbers = [f.ts_ns for f in reader]
        assert len(numbers) == len(wanted) == 18
        assert any(f"{len(wanted)} frames written to {out}" in n.message
                   for n in app._notifications)

    drive(scenario)


def test_export_writes_json_records_of_the_marked_messages(tmp_path):
    out = tmp_path / "marked.json"

    async def scenario(app, pilot):
        await pilot.press("m", "down", "m")  # marks messages 1 and 3
        await _export(app, pilot, out, json_format=True, marked=True)
        records = json.loads(out.read_text())
        assert [r["message"] for r in records] == [1, 3]
        assert records[0]["protocol"] == "cvip-ping" and records[0]["frames"] == [1]

    drive(scenario)


def test_export_to_an_unwritable_place_reports_it(tmp_path):
    async def scenario(app, pilot):
        await _export(app, pilot, tmp_path / "no" / "such" / "dir" / "x.pcapng")
        for _ in range(50):
            await pilot.pause(0.02)
            if any("Export failed" in n.message for n in app._notifications):
                break
        assert any("Export failed" in n.message for n in app._notifications)
        assert app.is_running

    drive(scenario)
