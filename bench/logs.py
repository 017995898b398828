"""Log view speed: lines per second rendered into the view, key-press-to-frame latency during a flood, and
resident memory after 1,000,000 lines.

    python bench/logs.py                  # all three, with the targets below
    python bench/logs.py --quick          # smaller counts, for a quick look

SYNTHETIC SOURCE: the lines come from an in-process async generator shaped like the fleet's logs (the demo
app's tagged Rails lines, its worker, Postgres, kamal-proxy's JSON), not from containers. The real-container
variant comes with the engine's `Fleet.logs()`; until then these figures measure the view alone.

Each figure is taken with the real LogScreen in a headless Textual app (160x50), frames composed and turned into
terminal output (discarded), and printed next to a baseline from the same run:
- baseline: the raw ring-buffer append rate, and the view model's ingest rate (mask, level, filter, rows);
- rendered: lines/s from a stream that never waits until the last line is on screen (target >= 50,000/s);
- latency: a paced flood of 10,000 lines/s; keys are sent the way a terminal driver sends them and timed to the
  first frame composed after their effect (target: median and p95 < 50 ms);
- memory: RSS while 1,000,000 lines stream through a 100,000-line buffer (target: flat once the buffer is
  full, i.e. less than 10% growth from 2x the capacity to the end).
Exits 1 when a target is missed.

The figures are for the view alone, so they suffer when other work shares the two cores (the load average is
printed first). On a shared machine `nice -n -15 python3 bench/logs.py` (as root) gives the view the share of
the cores it would have on its own; the README says which way its figures were taken.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import pathlib
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402
from textual._compositor import CompositorUpdate  # noqa: E402
from textual.app import App  # noqa: E402

from app.logview.buffer import RingBuffer  # noqa: E402
from app.logview.model import LogLine, Source  # noqa: E402
from app.logview.view import LogModel  # noqa: E402
from app.secrets import masking  # noqa: E402
from app.tui.log_screen import LogScreen  # noqa: E402
from widgets.log_view import LogView  # noqa: E402

TARGET_RATE = 50_000
TARGET_LATENCY = 0.050
FLOOD_RATE = 10_000
TARGET_GROWTH = 0.10
SIZE = (160, 50)
T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
SOURCES = [
    Source("app", "web-1", role="web"),
    Source("app", "web-2", role="web"),
    Source("app", "web-3", role="job"),
    Source("accessory", "db-1", accessory="db"),
    Source("proxy", "web-1"),
]
SHAPES = [
    '[{rid}] Started GET "/orders/{n}" for 10.0.0.9 at 2026-05-01 12:00:00 +0000',
    "[{rid}] Processing by OrdersController#show as HTML",
    "[{rid}] Completed 200 OK in {ms}ms (ActiveRecord: 0.{ms}ms)",
    "[ActiveJob] Performed DemoJob (Job ID: {rid}) in {ms}ms",
    "2026-05-01 12:00:00.000 UTC [{n}] LOG:  checkpoint complete: wrote {ms} buffers",
    '{{"time":"2026-05-01T12:00:00Z","level":"INFO","msg":"Request","path":"/orders/{n}","status":200,"dur":{ms}}}',
    "[{rid}] Completed 500 Internal Server Error in {ms}ms",
    "W, [2026-05-01T12:00:00.000000 #1]  WARN -- : slow request: {ms}ms",
]


def synthetic_line(n: int) -> LogLine:
    shape = n % len(SHAPES)
    text = SHAPES[shape].format(rid=f"{n * 2654435761 % 16**8:08x}", n=n, ms=n % 97)
    source = SOURCES[4] if shape == 5 else SOURCES[3] if shape == 4 else SOURCES[n % 3]
    return LogLine(source, T0 + timedelta(microseconds=n * 100), text)


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- baseline ------------------------------------------------------------------------------------------------


def baseline(count: int) -> tuple[float, float]:
    lines = [synthetic_line(n) for n in range(count)]
    ring = RingBuffer(100_000)
    started = time.perf_counter()
    for start in range(0, count, 256):
        ring.add(lines[start : start + 256])
    append_rate = count / (time.perf_counter() - started)
    lines = [synthetic_line(n) for n in range(count)]
    model = LogModel(100_000, clock=lambda: T0)
    started = time.perf_counter()
    for start in range(0, count, 256):
        model.ingest(lines[start : start + 256])
    ingest_rate = count / (time.perf_counter() - started)
    return append_rate, ingest_rate


# -- the app under test --------------------------------------------------------------------------------------


class BenchApp(App):
    """The log screen alone; every composed frame is turned into terminal output and timed."""

    def __init__(self, stream: AsyncIterator[LogLine], capacity: int) -> None:
        super().__init__()
        self.stream = stream
        self.capacity = capacity
        self.frames = 0
        self.frame_hooks: list[Callable[[float], None]] = []

    def on_mount(self) -> None:
        self.push_screen(LogScreen(self.stream, title="bench", capacity=self.capacity, clock=lambda: T0))

    def _display(self, screen, renderable) -> None:
        super()._display(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(self.console)  # what a real terminal write would cost
            self.frames += 1
            now = time.perf_counter()
            for hook in list(self.frame_hooks):
                hook(now)

    @property
    def view(self) -> LogView:
        return self.screen.query_one(LogView)


async def _wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the view did not get there in time")
        await asyncio.sleep(0.005)


# -- lines per second rendered -------------------------------------------------------------------------------


async def rendered_rate(count: int) -> tuple[float, float, int]:
    """Lines/s by the wall clock and per second of this process's CPU time (the machine may be shared)."""
    lines = [synthetic_line(n) for n in range(count)]
    last_text = lines[-1].text
    started = cpu_started = 0.0

    async def stream() -> AsyncIterator[LogLine]:
        nonlocal started, cpu_started
        started = time.perf_counter()
        cpu_started = time.process_time()
        for line in lines:
            yield line
        await asyncio.Event().wait()

    app = BenchApp(stream(), capacity=100_000)
    drawn = asyncio.get_running_loop().create_future()

    def last_line_drawn(now: float) -> None:
        # the first frame composed after the last line entered the view is the one that shows it (following)
        screen = app.screen
        if drawn.done() or not isinstance(screen, LogScreen):
            return
        model = screen.view.model
        if len(model) and model.entries[-1].text == last_text:
            drawn.set_result((now, time.process_time()))

    app.frame_hooks.append(last_line_drawn)
    async with app.run_test(size=SIZE) as pilot:
        finished, cpu_finished = await asyncio.wait_for(drawn, 300)
        view = app.view
        bottom = view.lines.render_line(view.lines.scrollable_content_region.height - 1).text
        assert last_text[:40] in bottom, f"last line not on screen: {bottom!r}"
        await pilot.pause()
        return count / (finished - started), count / (cpu_finished - cpu_started), app.frames


# -- key-press-to-frame latency during a flood ---------------------------------------------------------------


async def flood_latency(seconds: float, rate: int) -> tuple[list[float], float, list[float]]:
    """Latencies of keys pressed during a paced flood, the rate achieved, and CPython's full garbage
    collections in that time (each one stops everything while it scans the buffered lines)."""
    produced = 0
    flood_started = 0.0

    async def stream() -> AsyncIterator[LogLine]:
        nonlocal produced, flood_started
        flood_started = time.perf_counter()
        tick = 0.01
        per_tick = max(1, int(rate * tick))
        while True:
            for _ in range(per_tick):
                yield synthetic_line(produced)
                produced += 1
            delay = flood_started + produced / rate - time.perf_counter()
            await asyncio.sleep(max(0.0, delay))

    app = BenchApp(stream(), capacity=100_000)
    latencies: list[float] = []
    pauses: list[float] = []
    collecting: dict[str, float] = {}

    def gc_timer(phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            collecting["since"] = time.perf_counter()
        elif "since" in collecting:
            pauses.append(time.perf_counter() - collecting.pop("since"))

    gc.callbacks.append(gc_timer)
    async with app.run_test(size=SIZE):
        await asyncio.sleep(1.0)  # fill the view first
        view = app.view
        lines = view.lines
        checks: list[tuple[str, Callable[[], bool]]] = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            timestamps = view.model.layout.timestamps
            checks = [
                ("k", lambda: not lines.following),
                ("G", lambda: lines.following),
                ("t", lambda ts=timestamps: view.model.layout.timestamps != ts),
                ("t", lambda ts=timestamps: view.model.layout.timestamps == ts),
            ]
            for key, changed in checks:
                latencies.append(await _press_and_time(app, key, changed))
                await asyncio.sleep(0.1)
        achieved = produced / (time.perf_counter() - flood_started)
    gc.callbacks.remove(gc_timer)
    return latencies, achieved, pauses


async def _press_and_time(app: BenchApp, key: str, changed: Callable[[], bool]) -> float:
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def hook(now: float) -> None:
        if changed() and not done.done():
            done.set_result(now)

    app.frame_hooks.append(hook)
    try:
        event = events.Key(key, key)
        event.set_sender(app)
        pressed = time.perf_counter()
        app._driver.send_message(event)
        framed = await asyncio.wait_for(done, 5)
    finally:
        app.frame_hooks.remove(hook)
    return framed - pressed


# -- memory after a million lines ----------------------------------------------------------------------------


async def memory_profile(count: int, capacity: int) -> list[tuple[int, float]]:
    samples: list[tuple[int, float]] = []
    marks = {capacity * k for k in range(1, count // capacity + 1)}

    async def stream() -> AsyncIterator[LogLine]:
        for n in range(count):
            yield synthetic_line(n)
        await asyncio.Event().wait()

    app = BenchApp(stream(), capacity=capacity)
    async with app.run_test(size=SIZE):
        await _wait_until(lambda: isinstance(app.screen, LogScreen), 10)
        screen = app.screen
        while screen.received < count:
            received = screen.received
            if marks and received >= min(marks):
                marks.discard(min(marks))
                gc.collect()
                samples.append((received, rss_mib()))
            await asyncio.sleep(0.01)
        view = app.view
        await _wait_until(lambda: not view._pending, 30)
        gc.collect()
        samples.append((count, rss_mib()))
        assert len(view.model.buffer) == capacity
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (a quick look, not the figures)")
    options = parser.parse_args()
    for value in ("hunter2-db-password", "rails-master-key-0123456789", "registry-token-abcdef"):
        masking.register(value)  # a realistic number of secrets to mask in every line

    print("log view bench — SYNTHETIC lines from an in-process generator (not yet real container streams)")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
          " (figures are lower while other work shares the cores)")
    rendered_count = 100_000 if options.quick else 300_000
    flood_seconds = 3.0 if options.quick else 10.0
    memory_count = 300_000 if options.quick else 1_000_000
    capacity = 100_000
    misses = []

    append_rate, ingest_rate = baseline(200_000)
    print(f"baseline: ring buffer append {append_rate:>12,.0f} lines/s")
    print(f"baseline: view model ingest  {ingest_rate:>12,.0f} lines/s (mask, level, filter, rows)")

    rate, cpu_rate, frames = asyncio.run(rendered_rate(rendered_count))
    ok = rate >= TARGET_RATE
    misses += [] if ok else ["rendered rate"]
    print(f"rendered into the view       {rate:>12,.0f} lines/s ({rendered_count:,} lines, {frames} frames;"
          f" target >= {TARGET_RATE:,}) {'ok' if ok else 'MISSED'}")
    print(f"  per second of CPU time     {cpu_rate:>12,.0f} lines/s (the same run; differs from the above when"
          " other processes share the cores)")

    latencies, achieved, pauses = asyncio.run(flood_latency(flood_seconds, FLOOD_RATE))
    median = statistics.median(latencies)
    p95 = sorted(latencies)[int(len(latencies) * 0.95) - 1]
    ok = median < TARGET_LATENCY and p95 < TARGET_LATENCY
    misses += [] if ok else ["latency"]
    print(f"key-press-to-frame latency   median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms,"
          f" max {max(latencies) * 1000:.1f} ms ({len(latencies)} keys k/G/t during {achieved:,.0f} lines/s;"
          f" target < {TARGET_LATENCY * 1000:.0f} ms) {'ok' if ok else 'MISSED'}")
    if pauses:
        print(f"  full garbage collections   {len(pauses)} in {flood_seconds:.0f} s, {max(pauses) * 1000:.0f} ms"
              " at most (CPython scanning the buffered lines; a key pressed meanwhile waits for it)")

    samples = asyncio.run(memory_profile(memory_count, capacity))
    full = next((rss for received, rss in samples if received >= 2 * capacity), samples[0][1])
    final = samples[-1][1]
    growth = (final - full) / full
    ok = growth < TARGET_GROWTH
    misses += [] if ok else ["memory"]
    trail = ", ".join(f"{received // 1000}k: {rss:.0f}" for received, rss in samples)
    print(f"resident memory (MiB)        {trail}")
    print(f"memory after {memory_count:,} lines   {final:.0f} MiB; {growth:+.1%} since the buffer"
          f" ({capacity:,} lines) was full twice over (target < {TARGET_GROWTH:.0%}) {'ok' if ok else 'MISSED'}")
    if misses:
        print("missed: " + ", ".join(misses))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
