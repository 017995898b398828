"""The log screen: the dashboard's log view, fed from an async iterator of log entries.

The App hands it the Fleet's stream adapted to the view's own types, e.g.::

    async def entries(fleet):
        async for item in fleet.logs(...):
            yield to_view_entry(item)   # a LogLine, Gap or Switch from app.logview.model

    app.push_screen(LogScreen(entries(fleet), title="demo (production)"))

The stream is read by a worker that yields to the UI every `YIELD_EVERY` entries, so a stream that never waits
(a burst of history) cannot starve the keyboard.
"""

from __future__ import annotations

import asyncio
import gc
import pathlib
from collections.abc import AsyncIterable, Callable
from datetime import datetime

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Label

import styles
from app.logview.buffer import DEFAULT_CAPACITY
from app.logview.model import Entry, Unreachable
from app.logview.view import utc_now
from app.secrets import masking
from widgets.log_view import LogView

YIELD_EVERY = 256
# CPython's full (generation 2) collection scans every object alive, and the buffer keeps up to its capacity of
# line objects alive: at 10,000 lines/s the default settings run one about every second, each a pause of tens to
# hundreds of milliseconds in which no key is answered. While the screen is up, full collections wait for this
# many generation-1 collections instead of 10; young cycles are still collected as usual.
FULL_COLLECTION_EVERY = 1000


class LogScreen(Screen):
    """Hosts a LogView and feeds it from `stream` until the stream ends or the screen goes away."""

    CSS_PATH = [styles.path("logs.tcss")]

    def __init__(
        self,
        stream: AsyncIterable[Entry],
        *,
        title: str = "logs",
        capacity: int = DEFAULT_CAPACITY,
        tail_lines: int = 1000,
        clock: Callable[[], datetime] = utc_now,
        save_dir: pathlib.Path | None = None,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.stream = stream
        self.heading = title
        self._view_options = {"capacity": capacity, "tail_lines": tail_lines, "clock": clock, "save_dir": save_dir}
        self.received = 0

    def compose(self) -> ComposeResult:
        yield Label(f"shipdeck · {self.heading}", id="log-title")
        yield LogView(id="log-view", **self._view_options)
        yield Footer()

    @property
    def view(self) -> LogView:
        return self.query_one("#log-view", LogView)

    def on_mount(self) -> None:
        self._gc_threshold = gc.get_threshold()
        young, middle, full = self._gc_threshold
        gc.set_threshold(young, middle, max(full, FULL_COLLECTION_EVERY))
        self.run_worker(self._consume(), name="log-stream", group="logs", exclusive=True, exit_on_error=False)

    def on_unmount(self) -> None:
        gc.set_threshold(*self._gc_threshold)

    async def _consume(self) -> None:
        view = self.view
        view.set_stream_state("stream live")
        try:
            async for entry in self.stream:
                view.add(entry)
                if type(entry) is Unreachable:  # besides its marker in the view, said where it is seen at once
                    self.notify(masking.mask(entry.text), severity="error", timeout=10)
                self.received += 1
                if self.received % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the stream's failure is shown, not raised into the App
            message = masking.mask(f"log stream failed: {error}")
            view.flush()
            view.set_stream_state(message)
            self.notify(message, severity="error", timeout=10)
            return
        view.flush()
        view.set_stream_state("stream ended")
