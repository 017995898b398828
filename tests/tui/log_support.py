"""A small App around LogScreen, fixed lines, a fixed clock and a synthetic async source for the log view's
Pilot and snapshot tests (the engine's stream is adapted into the same entry types by the App)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta

from textual.app import App

from app.logview.model import Entry, Gap, LogLine, Switch
from app.tui.log_screen import LogScreen
from tests.unit.logview_support import DB, JOB, PROXY, T0, WEB1, WEB2, at

NOW = T0 + timedelta(minutes=30)


def fixed_clock() -> datetime:
    return NOW


def demo_entries() -> list[Entry]:
    """Lines shaped like the demo app's, its worker's, Postgres' and kamal-proxy's, with both markers."""
    return [
        LogLine(WEB1, at(1), "=> Booting demo version 3f2a1c on web-1 (Rails-like demo app)"),
        LogLine(DB, at(1.5), "2026-05-01 12:00:01.500 UTC [1] LOG:  database system is ready to accept connections"),
        LogLine(WEB1, at(2), '[7c1e5a] Started GET "/" for 10.0.0.9 at 2026-05-01 12:00:02 +0000'),
        LogLine(WEB1, at(2.1), "[7c1e5a] Processing by PagesController#index as HTML"),
        LogLine(WEB1, at(2.2), "[7c1e5a] Completed 200 OK in 4ms (ActiveRecord: 0.6ms)"),
        LogLine(PROXY, at(2.3), '{"time":"2026-05-01T12:00:02.3Z","level":"INFO","msg":"Request","status":200}'),
        LogLine(JOB, at(3), "[ActiveJob] Performed DemoJob (Job ID: 5d1c) in 3ms"),
        LogLine(WEB2, at(4), '[9a0b11] Started GET "/orders" for 10.0.0.9 at 2026-05-01 12:00:04 +0000'),
        LogLine(WEB2, at(4.2), "[9a0b11] Completed 500 Internal Server Error in 12ms"),
        LogLine(WEB2, at(4.3), "[9a0b11] ActiveRecord::ConnectionNotEstablished (connection to db-1 refused)"),
        LogLine(WEB1, at(5), "DATABASE_URL=postgres://demo:[REDACTED]@db-1/demo", stream="stderr"),
        Gap(WEB2, at(6), at(9), container="demo-web-3f2a1c"),
        LogLine(WEB1, at(7), '[1b2c3d] Started GET "/up" for 10.0.0.2 at 2026-05-01 12:00:07 +0000'),
        LogLine(WEB1, at(7.1), "[1b2c3d] Completed 200 OK in 1ms"),
        Switch(WEB1, at(8), new_container="demo-web-4e5f6a", old_container="demo-web-3f2a1c"),
        LogLine(WEB1, at(8.5), "=> Booting demo version 4e5f6a on web-1 (Rails-like demo app)"),
        LogLine(DB, at(9), '2026-05-01 12:00:09.000 UTC [42] ERROR:  relation "widgets" does not exist'),
        LogLine(WEB1, at(10), "W, [2026-05-01T12:00:10.000000 #1]  WARN -- : slow request: 1203ms"),
    ]


async def from_list(entries: Iterable[Entry], *, hold_open: asyncio.Event | None = None) -> AsyncIterator[Entry]:
    for entry in entries:
        yield entry
    if hold_open is not None:
        await hold_open.wait()


class SyntheticSource:
    """An async source the test pushes into while the screen follows it."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Entry | None] = asyncio.Queue()

    def push(self, *entries: Entry) -> None:
        for entry in entries:
            self.queue.put_nowait(entry)

    def end(self) -> None:
        self.queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Entry]:
        while (entry := await self.queue.get()) is not None:
            yield entry


class LogApp(App):
    """Only the log screen, as the dashboard will push it."""

    def __init__(self, stream, **options) -> None:
        super().__init__()
        self._stream = stream
        self._options = options

    def on_mount(self) -> None:
        self.push_screen(LogScreen(self._stream, **self._options))
