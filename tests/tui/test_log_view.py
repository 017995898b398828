"""Pilot tests of the log view, fed by a synthetic async source (the engine's stream takes its place in the App).

Each test drives the screen with keys as a user would and checks what is drawn (row texts cut from the
widget's own strips), the status bar, the clipboard and saved files.
"""

from __future__ import annotations

import asyncio
import pathlib

import pytest
from textual.widgets import Label

from app.logview.model import Gap, LogLine, Source, Switch, Unreachable
from app.secrets import masking
from tests.tui.log_support import DB, JOB, NOW, WEB1, WEB2, LogApp, SyntheticSource, at, demo_entries, fixed_clock
from widgets.log_lines import LogLines
from widgets.log_view import LogView

SIZE = (120, 30)


def _app(source: SyntheticSource, tmp_path: pathlib.Path | None = None, **options) -> LogApp:
    return LogApp(source, title="demo", clock=fixed_clock, save_dir=tmp_path, **options)


async def _settle(pilot, source: SyntheticSource) -> LogView:
    view = pilot.app.screen.query_one(LogView)
    for _ in range(500):
        if source.queue.empty():
            break
        await pilot.pause(0.01)
    await pilot.pause()
    view.flush()
    await pilot.pause()
    return view


def _rows(view: LogView) -> list[str]:
    lines = view.lines
    return [lines.render_line(y).text.rstrip() for y in range(lines.scrollable_content_region.height)]


def _shown(view: LogView) -> list[str]:
    return [row for row in _rows(view) if row]


def _texts(view: LogView) -> list[str]:
    """The shown rows without their timestamp and source columns."""
    column = view.model.layout.text_column
    return [row[column:] for row in _shown(view)]


def _label(view: LogView, selector: str) -> str:
    return str(view.query_one(selector, Label).content)


async def _type(pilot, text: str) -> None:
    for char in text:
        await pilot.press(char if char != " " else "space")


async def test_filter_keeps_matching_lines_as_they_arrive() -> None:
    source = SyntheticSource()
    source.push(*demo_entries())
    async with _app(source).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        await pilot.press("slash")
        await _type(pilot, "Completed")
        await pilot.press("enter")
        shown = _shown(view)
        assert len(shown) == 3 + 2  # three "Completed" lines and the two markers
        assert all("Completed" in row or "──" in row for row in shown)
        assert _label(view, "#log-filter-state") == "filter: Completed"
        source.push(LogLine(WEB2, at(20), "[aa11] Completed 204 No Content in 2ms"), LogLine(WEB2, at(21), "noise"))
        view = await _settle(pilot, source)
        assert "[aa11] Completed 204 No Content in 2ms" in _shown(view)[-1]
        assert not any("noise" in row for row in _shown(view))


async def test_inverted_filter_hides_matching_lines_and_case_toggles() -> None:
    source = SyntheticSource()
    source.push(*demo_entries())
    async with _app(source).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        await pilot.press("slash")
        await _type(pilot, "!started")
        await pilot.press("enter")
        assert not any("Started" in row for row in _shown(view))
        assert any("Completed" in row for row in _shown(view))
        await pilot.press("i")  # match case: "started" no longer matches "Started", so nothing is hidden
        assert _label(view, "#log-case") == "Aa match case"
        assert sum("Started" in row for row in _shown(view)) == 3


async def test_an_invalid_filter_says_why_and_keeps_the_view() -> None:
    source = SyntheticSource()
    source.push(*demo_entries())
    async with _app(source).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        before = _shown(view)
        await pilot.press("slash")
        await _type(pilot, "a(b")
        await pilot.press("enter")
        assert "filter 'a(b' is not a valid regular expression" in _label(view, "#log-input-error")
        assert _shown(view) == before
        await pilot.press("escape")
        assert not view.query_one("#log-input-error").has_class("-open")


async def test_search_highlights_counts_and_steps_with_n_and_N() -> None:
    source = SyntheticSource()
    source.push(*demo_entries())
    async with _app(source).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        await pilot.press("f")
        await _type(pilot, "Booting")
        await pilot.press("enter")
        assert len(_shown(view)) == len(demo_entries())  # search never hides
        assert _label(view, "#log-search-count") == "search: 2/2"  # from the newest end while following
        assert view.lines.cursor_key == view.model.entries[15].key
        await pilot.press("N")
        assert _label(view, "#log-search-count") == "search: 1/2"
        await pilot.press("n")
        await pilot.press("n")
        assert _label(view, "#log-search-count") == "search: 1/2"
        match_style = view.lines.get_component_rich_style("log-lines--match-current", partial=True)
        strip = view.lines.render_line(view.model.row_of(0) - round(view.lines.scroll_y))
        highlighted = [segment.text for segment in strip if segment.style and segment.style.bgcolor
                       and segment.style.bgcolor == match_style.bgcolor]
        assert highlighted == ["Booting"]
        assert not view.lines.following


async def test_follow_pauses_on_scroll_up_counts_new_lines_and_G_resumes() -> None:
    source = SyntheticSource()
    source.push(*(LogLine(WEB1, at(n), f"line {n}") for n in range(100)))
    async with _app(source).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        lines = view.lines
        assert lines.following and lines.scroll_y == lines.max_scroll_y
        assert _shown(view)[-1].endswith("line 99")
        await pilot.press("up", "up")
        assert not lines.following
        assert _label(view, "#log-follow") == "❚❚ PAUSED (G follows)"
        height = lines.scrollable_content_region.height
        where = (lines.max_scroll_y - 2 + height) / 100
        assert _label(view, "#log-counts") == f"100 shown ({where:.0%}) / 100 buffered"
        top = _shown(view)[0]
        source.push(*(LogLine(WEB1, at(100 + n), f"more {n}") for n in range(25)))
        view = await _settle(pilot, source)
        assert _shown(view)[0] == top  # the screen did not move under the reader
        assert _label(view, "#log-follow") == "❚❚ PAUSED +25 new lines (G)"
        await pilot.press("G")
        assert lines.following and lines.scroll_y == lines.max_scroll_y
        assert _shown(view)[-1].endswith("more 24")
        assert _label(view, "#log-follow") == "● FOLLOW"
        await pilot.press("pageup")
        assert not lines.following
        await pilot.press("end")
        assert lines.following
        await pilot.press("up")
        await pilot.press("down")  # scrolling back to the bottom resumes too
        assert lines.following


async def test_a_paused_view_stays_put_while_the_buffer_drops_old_lines() -> None:
    source = SyntheticSource()
    source.push(*(LogLine(WEB1, at(n), f"line {n}") for n in range(60)))
    async with _app(source, capacity=80).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        await pilot.press("up")
        top = _shown(view)[0]
        source.push(*(LogLine(WEB1, at(60 + n), f"more {n}") for n in range(30)))
        view = await _settle(pilot, source)
        assert _shown(view)[0] == top
        assert _label(view, "#log-dropped") == "⚠ 10 dropped (buffer 80)"
        assert view.query_one("#log-dropped").has_class("-warn")


async def test_time_windows_tail_and_since() -> None:
    source = SyntheticSource()
    # NOW is T0 + 30 min: lines 29, 20 and 2 minutes old, and three recent ones
    source.push(
        LogLine(WEB1, at(60), "29 minutes old"),
        LogLine(WEB1, at(600), "20 minutes old"),
        LogLine(WEB1, at(1680), "2 minutes old"),
        *(LogLine(WEB2, at(1790 + n), f"recent {n}") for n in range(3)),
    )
    async with _app(source, tail_lines=2).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        await pilot.press("2")  # last 1m
        assert [row.split()[-1] for row in _shown(view)] == ["0", "1", "2"]
        assert _label(view, "#log-window") == "last 1m"
        await pilot.press("3")  # last 5m
        assert len(_shown(view)) == 4
        await pilot.press("5")  # last 1h
        assert len(_shown(view)) == 6
        await pilot.press("1")  # tail 2
        assert [row.split()[-1] for row in _shown(view)] == ["1", "2"]
        assert _label(view, "#log-window") == "last 2 lines"
        await pilot.press("0")
        assert len(_shown(view)) == 6


async def test_save_writes_the_filtered_view_with_its_header_and_keeps_secrets_masked(tmp_path) -> None:
    masking.register("pa55-w0rd-9")
    try:
        source = SyntheticSource()
        source.push(*demo_entries(), LogLine(WEB1, at(11), "leaked by a source that did not mask: pa55-w0rd-9"))
        async with _app(source, tmp_path).run_test(size=SIZE) as pilot:
            view = await _settle(pilot, source)
            await pilot.press("slash")
            await _type(pilot, "!Started")
            await pilot.press("enter")
            await pilot.press("5")
            await pilot.press("ctrl+s")
            await pilot.pause()
            saved = view.last_saved
    finally:
        masking.clear()
    assert saved is not None and saved.parent == tmp_path
    text = saved.read_text()
    assert "pa55-w0rd-9" not in text
    assert "did not mask: [REDACTED]" in text
    assert "DATABASE_URL=postgres://demo:[REDACTED]@db-1/demo" in text
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert header[1] == ("# sources: web-1/web (app), db (accessory on db-1), web-1/proxy (kamal-proxy),"
                         " web-3/job (app), web-2/web (app)")
    assert header[2] == "# filter: lines not matching /Started/ (ignoring case)"
    assert header[3] == "# window: last 1h (since 2026-05-01T11:30:00Z)"
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(body) == len(demo_entries()) + 1 - 3
    assert not any("Started" in line for line in body)


async def test_a_switch_after_a_deploy_is_drawn_as_a_marker_line_while_following() -> None:
    source = SyntheticSource()
    source.push(LogLine(WEB1, at(1), "old container serving"))
    async with _app(source).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        source.push(
            Switch(WEB1, at(2), new_container="demo-web-4e5f6a", old_container="demo-web-3f2a1c"),
            LogLine(WEB1, at(3), "new container booted"),
        )
        view = await _settle(pilot, source)
        rows = _shown(view)
        assert rows[-2] == "12:00:02.000 web-1/web ── ⇄ switch: now following demo-web-4e5f6a (was demo-web-3f2a1c) ──"
        assert rows[-1].endswith("new container booted")
        switch_style = view.lines.get_component_rich_style("log-lines--switch")
        strip = view.lines.render_line(len(rows) - 2)
        assert any(segment.text.startswith("── ⇄") and segment.style.color == switch_style.color for segment in strip)


async def test_a_gap_is_marked_where_the_stream_dropped() -> None:
    source = SyntheticSource()
    source.push(LogLine(WEB2, at(1), "before"), LogLine(WEB1, at(5), "other host meanwhile"))
    async with _app(source).run_test(size=SIZE) as pilot:
        await _settle(pilot, source)
        source.push(Gap(WEB2, at(2), at(9), container="demo-web-3f2a1c"), LogLine(WEB2, at(9.5), "after"))
        view = await _settle(pilot, source)
        rows = _shown(view)
        assert [text[:12] for text in _texts(view)] == ["before", "── ⚠ gap: st", "other host m", "after"]
        assert "lost 12:00:02 → 12:00:09 (7.0 s), lines may be missing" in rows[1]


async def test_a_host_that_cannot_be_read_is_marked_in_the_view_and_notified() -> None:
    source = SyntheticSource()
    source.push(LogLine(WEB1, at(1), "web-1 still streams"))
    async with _app(source).run_test(size=SIZE) as pilot:
        await _settle(pilot, source)
        down = Source("app", "web-9")
        source.push(Unreachable(down, at(2), "cannot connect to port 22: Connection refused"),
                    LogLine(WEB1, at(3), "and goes on"))
        view = await _settle(pilot, source)
        rows = _shown(view)
        marker = "── ✖ unreachable: cannot read web-9: cannot connect to port 22: Connection refused ──"
        assert rows[-2].endswith(marker)
        assert rows[-1].endswith("and goes on")
        gap_style = view.lines.get_component_rich_style("log-lines--gap")
        strip = view.lines.render_line(len(rows) - 2)
        assert any(segment.text.startswith("── ✖") and segment.style.color == gap_style.color for segment in strip)
        notices = [str(notice.message) for notice in pilot.app._notifications]
        assert any("cannot read web-9" in notice and "Connection refused" in notice for notice in notices)


async def test_level_chips_and_next_error() -> None:
    source = SyntheticSource()
    source.push(*demo_entries())
    async with _app(source).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        await pilot.press("e")
        assert not view.lines.following
        assert view.model.entries[view.lines.cursor_index()].text.startswith("[9a0b11] Completed 500")
        await pilot.press("e")
        assert "ConnectionNotEstablished" in view.model.entries[view.lines.cursor_index()].text
        await pilot.press("E")
        assert view.query_one("#chip-error").has_class("-on")
        assert _texts(view) == [
            "[9a0b11] Completed 500 Internal Server Error in 12ms",
            "[9a0b11] ActiveRecord::ConnectionNotEstablished (connection to db-1 refused)",
            "── ⚠ gap: stream demo-web-3f2a1c lost 12:00:06 → 12:00:09 (3.0 s), lines may be missing ──",
            "── ⇄ switch: now following demo-web-4e5f6a (was demo-web-3f2a1c) ──",
            '2026-05-01 12:00:09.000 UTC [42] ERROR:  relation "widgets" does not exist',
        ]
        await pilot.press("W")
        assert len(_shown(view)) == 6


async def test_hiding_a_source_and_showing_it_again_loses_nothing() -> None:
    source = SyntheticSource()
    source.push(*demo_entries())
    async with _app(source).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        await pilot.press("s")
        panel = view.query_one("#log-sources")
        assert panel.has_class("-open") and panel.has_focus
        options = [panel.get_option_at_index(i).value for i in range(panel.option_count)]
        panel.highlighted = options.index(WEB2)
        await pilot.press("space")
        assert not any("web-2/web" in row for row in _shown(view))
        source.push(LogLine(WEB2, at(30), "while hidden"))
        view = await _settle(pilot, source)
        assert not any("while hidden" in row for row in _shown(view))
        await pilot.press("space")
        rows = _shown(view)
        assert sum("web-2/web" in row for row in rows) == 5
        assert rows[-1].endswith("while hidden")
        await pilot.press("escape")
        assert not panel.has_class("-open")


async def test_timestamps_and_wrapping_toggle() -> None:
    source = SyntheticSource()
    source.push(LogLine(DB, at(1), "x" * 150), LogLine(JOB, at(2), "short"))
    async with _app(source).run_test(size=(80, 20)) as pilot:
        view = await _settle(pilot, source)
        assert _shown(view)[0].startswith("12:00:01.000 db ")
        await pilot.press("t")
        assert _shown(view)[0].startswith("db        xxx")
        await pilot.press("w")
        rows = _shown(view)
        assert len(rows) == 4 and rows[-1] == "web-3/job short"
        assert rows[1].startswith(" " * 10 + "x")  # continuation under the text column
        assert sum(row.count("x") for row in rows) == 150
        await pilot.press("w")
        assert len(_shown(view)) == 2


async def test_copy_marked_lines_goes_to_the_clipboard() -> None:
    source = SyntheticSource()
    source.push(*demo_entries())
    async with _app(source).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        await pilot.press("v", "k", "k", "y")
        copied = pilot.app.clipboard.splitlines()
        assert [line.split(" ", 1)[0] for line in copied] == [
            "2026-05-01T12:00:08.500000Z", "2026-05-01T12:00:09.000000Z", "2026-05-01T12:00:10.000000Z",
        ]
        assert [line.split(" ", 2)[2] for line in copied] == [
            "=> Booting demo version 4e5f6a on web-1 (Rails-like demo app)",
            '2026-05-01 12:00:09.000 UTC [42] ERROR:  relation "widgets" does not exist',
            "W, [2026-05-01T12:00:10.000000 #1]  WARN -- : slow request: 1203ms",
        ]
        assert view.lines.mark_key is None


async def test_a_failing_stream_is_shown_masked_and_the_view_keeps_its_lines() -> None:
    masking.register("t0p-s3cret")

    async def failing():
        yield LogLine(WEB1, at(1), "fine")
        raise ConnectionError("ssh to web-1 lost (password t0p-s3cret)")

    try:
        async with LogApp(failing(), clock=fixed_clock).run_test(size=SIZE) as pilot:
            await pilot.pause(0.2)
            view = pilot.app.screen.query_one(LogView)
            assert _label(view, "#log-stream") == "log stream failed: ssh to web-1 lost (password [REDACTED])"
            assert _shown(view)[0].endswith("fine")
    finally:
        masking.clear()


async def test_a_stream_that_never_waits_does_not_starve_the_keyboard() -> None:
    async def endless():
        n = 0
        while True:  # never awaits anything: only the screen's own yielding lets the UI run
            n += 1
            yield LogLine(WEB1, at(n / 1000), f"burst {n}")

    async with LogApp(endless(), clock=fixed_clock, capacity=5_000).run_test(size=SIZE) as pilot:
        await asyncio.wait_for(pilot.pause(0.1), timeout=5)
        await asyncio.wait_for(pilot.press("up"), timeout=5)
        view = pilot.app.screen.query_one(LogView)
        assert not view.lines.following
        assert len(view.model.buffer) == 5_000 and view.model.dropped > 0
        assert _shown(view)


@pytest.mark.parametrize("widget", [LogView, LogLines])
def test_every_binding_has_an_id_and_a_description(widget) -> None:
    ids = [binding.id for binding in widget.BINDINGS]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(binding.description for binding in widget.BINDINGS)


def test_the_now_of_the_tests_is_fixed() -> None:
    assert fixed_clock() == NOW


async def test_lines_the_view_cannot_take_in_time_are_counted_as_dropped() -> None:
    source = SyntheticSource()
    async with _app(source).run_test(size=SIZE) as pilot:
        view = pilot.app.screen.query_one(LogView)
        view.max_pending = 100
        view.add_many(LogLine(WEB1, at(n), f"line {n}") for n in range(300))
        view.flush()
        await pilot.pause()
        assert len(view.model) + view.model.overflow == 300
        assert view.model.overflow >= 200
        assert _shown(view)[-1].endswith("line 299")
        assert _label(view, "#log-dropped") == f"⚠ {view.model.overflow} dropped (buffer 100,000)"


async def test_a_save_that_fails_says_why_and_the_view_goes_on(tmp_path) -> None:
    source = SyntheticSource()
    source.push(*demo_entries())
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    async with LogApp(source, clock=fixed_clock, save_dir=blocker).run_test(size=SIZE, notifications=True) as pilot:
        view = await _settle(pilot, source)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert view.last_saved is None
        messages = [notification.message for notification in pilot.app._notifications]
        assert any(message.startswith(f"Could not save the view to {blocker}/shipdeck-logs-") for message in messages)
        await pilot.press("G")
        assert view.lines.following


async def test_full_collections_wait_while_the_screen_is_up_and_the_setting_comes_back() -> None:
    import gc

    from app.tui.log_screen import FULL_COLLECTION_EVERY

    before = gc.get_threshold()
    async with _app(SyntheticSource()).run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert gc.get_threshold()[2] == max(before[2], FULL_COLLECTION_EVERY)
        assert gc.get_threshold()[:2] == before[:2]
    assert gc.get_threshold() == before


async def test_a_mouse_selection_copies_the_characters_on_screen() -> None:
    from textual.geometry import Offset
    from textual.selection import Selection

    source = SyntheticSource()
    source.push(LogLine(WEB1, at(1), "first line"), LogLine(WEB1, at(2), "second line"))
    async with _app(source).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        lines = view.lines
        column = view.model.layout.text_column
        base = view.model.row_base
        # the offsets a mouse drag reports are the ones render_line puts on each row when asked outside a frame
        first_row = lines.render_line(0)
        offsets = [segment.style.meta.get("offset") for segment in first_row if segment.style and segment.style.meta]
        assert offsets and offsets[0] == (0, base)
        selected, ending = lines.get_selection(Selection(Offset(column, base), Offset(column + 6, base + 1)))
        assert selected == "first line\n12:00:02.000 web-1/web second"
        assert ending == "\n"


async def test_long_lines_scroll_sideways_without_wrapping() -> None:
    source = SyntheticSource()
    source.push(LogLine(DB, at(1), "start " + "x" * 200 + " end"))
    async with _app(source).run_test(size=(80, 20)) as pilot:
        view = await _settle(pilot, source)
        assert _shown(view)[0].startswith("12:00:01.000 db start xxx")
        await pilot.press("right", "right", "right")
        assert view.lines.scroll_x > 0
        assert not _shown(view)[0].startswith("12:00:01.000")
        view.lines.scroll_to(x=view.lines.max_scroll_x, animate=False)
        await pilot.pause()
        assert _shown(view)[0].endswith("xxx end")


async def test_escape_with_nothing_to_close_reaches_the_app() -> None:
    from textual.binding import Binding

    class BackApp(LogApp):
        BINDINGS = [Binding("escape", "went_back", "Back", id="test.back")]
        went_back = 0

        def action_went_back(self) -> None:
            self.went_back += 1

    source = SyntheticSource()
    source.push(*demo_entries())
    async with BackApp(source, clock=fixed_clock).run_test(size=SIZE) as pilot:
        view = await _settle(pilot, source)
        await pilot.press("slash", "escape")
        assert pilot.app.went_back == 0  # closed the filter
        await pilot.press("escape")
        assert pilot.app.went_back == 1
        assert view.lines.has_focus
