"""SVG snapshots of the log screen from fixed lines and a fixed clock (`pytest --snapshot-update` accepts a
deliberate change; the SVGs live in __snapshots__/)."""

from __future__ import annotations

import asyncio

from app.logview.model import LogLine
from tests.tui.log_support import JOB, WEB1, WEB2, LogApp, SyntheticSource, at, demo_entries, fixed_clock, from_list
from widgets.log_view import LogView

SIZE = (120, 30)


def _demo_app(**options) -> LogApp:
    return LogApp(from_list(demo_entries(), hold_open=asyncio.Event()), title="demo (production)",
                  clock=fixed_clock, **options)


async def _flushed(pilot) -> None:
    await pilot.pause(0.1)
    pilot.app.screen.query_one(LogView).flush()
    await pilot.pause()


async def _type(pilot, text: str) -> None:
    await pilot.press(*[char if char != " " else "space" for char in text])


def test_following_merged_sources_with_markers(snap_compare) -> None:
    assert snap_compare(_demo_app(), terminal_size=SIZE, run_before=_flushed)


def test_search_highlights_with_counter_and_a_filter(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await _flushed(pilot)
        await pilot.press("slash")
        await _type(pilot, "!proxy|job")
        await pilot.press("enter", "f")
        await _type(pilot, "demo")
        await pilot.press("enter", "N")

    assert snap_compare(_demo_app(), terminal_size=SIZE, run_before=run_before)


def test_error_chip_wrapped_without_timestamps(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await _flushed(pilot)
        await pilot.press("E", "W", "t", "w")

    assert snap_compare(_demo_app(), terminal_size=(70, 20), run_before=run_before)


def test_paused_with_new_lines_and_dropped_count(snap_compare) -> None:
    source = SyntheticSource()
    source.push(*(LogLine([WEB1, WEB2, JOB][n % 3], at(n), f"request {n} handled in {n % 7} ms") for n in range(40)))
    app = LogApp(source, title="demo (production)", clock=fixed_clock, capacity=50)

    async def run_before(pilot) -> None:
        await _flushed(pilot)
        await pilot.press("pageup")
        source.push(*(LogLine(WEB2, at(40 + n), f"later {n}") for n in range(17)))
        await _flushed(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_source_panel(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await _flushed(pilot)
        await pilot.press("s")

    assert snap_compare(_demo_app(), terminal_size=SIZE, run_before=run_before)
