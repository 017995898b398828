"""Log view speed: lines per second rendered into the view, key-press-to-frame latency during a flood, and
resident memory after 1,000,000 lines.

    python bench/logs.py                  # all three, with the targets below
    python bench/logs.py --quick          # smaller counts, for a quick look
    flock /run/lock/shipdeck-sandbox-use.lock python bench/logs.py --sandbox
                                          # and again from real containers on the sandbox, side by side

Two sources feed the same screen:
- synthetic: an in-process async generator shaped like the fleet's logs (the demo app's tagged Rails lines, its
  worker, Postgres, kamal-proxy's JSON): the view alone;
- sandbox (`--sandbox`): a container on a sandbox host prints lines of the same shapes, and the view reads them
  end to end through `Fleet.logs()` (Docker's log stream over the host's SSH connection, timestamps parsed,
  secrets masked, adapted to the view's entries), as the dashboard does. For the rate and the memory figures the
  container has printed all its lines before the view starts reading; for the latency figure it prints 10,000
  lines/s while the view follows it.

Each figure is taken with the real LogScreen in a headless Textual app (160x50), frames composed and turned into
terminal output (discarded), and printed next to a baseline from the same run:
- baseline: the raw ring-buffer append rate, and the view model's ingest rate (mask, level, filter, rows);
- rendered: lines/s from a stream that never waits until the last line is on screen (target >= 50,000/s);
- latency: a paced flood of 10,000 lines/s; keys are sent the way a terminal driver sends them and timed to the
  first frame composed after their effect (target: median and p95 < 50 ms);
- memory: RSS while 1,000,000 lines stream through a 100,000-line buffer (target: flat once the buffer is
  full, i.e. less than 10% growth from 2x the capacity to the end).
Exits 1 when a target is missed (by either source).

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
from app.logview.model import Entry, LogLine, Source  # noqa: E402
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
    text = shaped_text(n)
    source = SOURCES[4] if shape == 5 else SOURCES[3] if shape == 4 else SOURCES[n % 3]
    return LogLine(source, T0 + timedelta(microseconds=n * 100), text)


def shaped_text(n: int) -> str:
    return SHAPES[n % len(SHAPES)].format(rid=f"{n * 2654435761 % 16**8:08x}", n=n, ms=n % 97)


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


# -- the two sources -----------------------------------------------------------------------------------------


class SyntheticFeed:
    """Lines made in this process: the view alone."""

    name = "synthetic"

    async def backlog(self, count: int, *, made_first: bool = True) -> AsyncIterator[Entry]:
        """`count` lines as fast as the view takes them, then nothing more (the stream stays open); made
        before the first is taken (so that making them is not timed), or one by one (not to hold them all)."""
        lines = [synthetic_line(n) for n in range(count)] if made_first else (synthetic_line(n) for n in range(count))
        for line in lines:
            yield line
        await asyncio.Event().wait()

    async def flood(self, rate: int) -> AsyncIterator[Entry]:
        """Lines paced at `rate` per second, for ever."""
        started = time.perf_counter()
        produced = 0
        per_tick = max(1, int(rate * 0.01))
        while True:
            for _ in range(per_tick):
                yield synthetic_line(produced)
                produced += 1
            await asyncio.sleep(max(0.0, started + produced / rate - time.perf_counter()))

    async def close(self) -> None:
        pass


# A container's program: `backlog N` prints N lines at once and then waits; `flood R` prints R lines a second.
PRINTER = """
import sys, time
SHAPES = {shapes!r}
def text(n):
    return SHAPES[n % len(SHAPES)].format(rid=f"{{n * 2654435761 % 16**8:08x}}", n=n, ms=n % 97)
mode, number = sys.argv[1], int(sys.argv[2])
out = sys.stdout
if mode == "backlog":
    for start in range(0, number, 1000):
        out.write("".join(text(n) + "\\n" for n in range(start, min(number, start + 1000))))
    out.flush()
    time.sleep(10**9)
began, n = time.monotonic(), 0
while True:
    out.write("".join(text(n + k) + "\\n" for k in range(number // 100)))
    out.flush()
    n += number // 100
    time.sleep(max(0.0, began + n / number - time.monotonic()))
"""


class SandboxFeed:
    """Lines a container prints on a sandbox host, read through `Fleet.logs()` (server mode over that host) and
    adapted to the view's entries as the dashboard adapts them."""

    name = "sandbox"
    SERVICE = "shipdeck-bench"
    ROLE = "logflood"
    IMAGE = "shipdeck/demo-base:1"

    def __init__(self) -> None:
        from app.sandbox import layout
        from tests.fleet import load

        self.sandbox = load(layout.DEFAULT_DIR)
        self.host = self.sandbox.hosts[0]
        self.fleet = None
        self.started = 0

    def _docker(self, command: str, timeout: float = 120) -> str:
        return self.sandbox.run(self.host, command, timeout=timeout).stdout

    def _remove(self) -> None:
        self._docker(f"ids=$(docker ps -aq --filter label=service={self.SERVICE} --filter label=role={self.ROLE}); "
                     "[ -z \"$ids\" ] || docker rm -f $ids >/dev/null")

    def _start(self, mode: str, number: int) -> str:
        import base64
        import shlex

        self._remove()
        self.started += 1
        name = f"{self.SERVICE}-{self.ROLE}-{mode}{self.started}"
        program = base64.b64encode(PRINTER.format(shapes=SHAPES).encode()).decode()
        code = f"import base64; exec(base64.b64decode('{program}'))"
        self._docker(f"docker run -d --name {name} --label service={self.SERVICE} --label role={self.ROLE} "
                     f"{self.IMAGE} python3 -c {shlex.quote(code)} {mode} {number} >/dev/null")
        return name

    async def _stream(self, tail: int | None) -> AsyncIterator[Entry]:
        from app.engine.api import LogSource
        from app.engine.fleet import Fleet
        from app.tui.log_feed import LogFeed

        if self.fleet is None:
            self.fleet = await Fleet.open_servers([f"root@{self.host.address}"],
                                                  ssh_config=(str(self.sandbox.ssh_config),))
        events = self.fleet.logs([LogSource.app(self.ROLE, host=self.host.address)], tail=tail, follow=True)
        async for entry in LogFeed().entries(events):
            yield entry

    async def backlog(self, count: int, *, made_first: bool = True) -> AsyncIterator[Entry]:
        name = self._start("backlog", count)
        last = shaped_text(count - 1)
        deadline = time.monotonic() + 300
        while self._docker(f"docker logs --tail 1 {name}").rstrip("\n") != last:  # every line is in Docker's log
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not print its {count:,} lines in time")
            await asyncio.sleep(1)
        async for entry in self._stream(tail=None):
            yield entry

    async def flood(self, rate: int) -> AsyncIterator[Entry]:
        self._start("flood", rate)
        async for entry in self._stream(tail=0):
            yield entry

    async def close(self) -> None:
        if self.fleet is not None:
            await self.fleet.close()
            self.fleet = None
        self._remove()


# -- lines per second rendered -------------------------------------------------------------------------------


async def rendered_rate(feed, count: int) -> tuple[float, float, int]:
    """Lines/s by the wall clock and per second of this process's CPU time (the machine may be shared), from
    the first line taken in to the first frame that shows the last one."""
    last_text = shaped_text(count - 1)
    started = cpu_started = 0.0

    async def stream() -> AsyncIterator[Entry]:
        nonlocal started, cpu_started
        async for entry in feed.backlog(count):
            if not started:
                started = time.perf_counter()
                cpu_started = time.process_time()
            yield entry

    app = BenchApp(stream(), capacity=100_000)
    drawn = asyncio.get_running_loop().create_future()

    def last_line_drawn(now: float) -> None:
        # the first frame composed after the last line entered the view is the one that shows it (following)
        screen = app.screen
        if drawn.done() or not isinstance(screen, LogScreen):
            return
        model = screen.view.model
        # the texts repeat (every 776 lines): the last one counts once every line has been taken in
        if screen.received >= count and len(model) and model.entries[-1].text == last_text:
            drawn.set_result((now, time.process_time()))

    app.frame_hooks.append(last_line_drawn)
    try:
        async with app.run_test(size=SIZE) as pilot:
            finished, cpu_finished = await asyncio.wait_for(drawn, 600)
            view = app.view
            bottom = view.lines.render_line(view.lines.scrollable_content_region.height - 1).text
            assert last_text[:40] in bottom, f"last line not on screen: {bottom!r}"
            model = view.model
            assert len(model.buffer) == min(count, 100_000), (
                f"lines went missing: {app.screen.received:,} received, {len(model.buffer):,} buffered,"
                f" {model.overflow:,} shed by the view, {model.dropped:,} dropped")
            await pilot.pause()
            return count / (finished - started), count / (cpu_finished - cpu_started), app.frames
    finally:
        await feed.close()


# -- key-press-to-frame latency during a flood ---------------------------------------------------------------


async def flood_latency(feed, seconds: float, rate: int) -> tuple[list[float], float, list[float]]:
    """Latencies of keys pressed during a paced flood, the rate that reached the view, and CPython's full
    garbage collections in that time (each one stops everything while it scans the buffered lines)."""
    app = BenchApp(feed.flood(rate), capacity=100_000)
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
    try:
        async with app.run_test(size=SIZE):
            await _wait_until(lambda: isinstance(app.screen, LogScreen) and app.screen.received > rate // 2, 60)
            await asyncio.sleep(1.0)  # fill the view first
            screen = app.screen
            view = app.view
            lines = view.lines
            first, began = screen.received, time.perf_counter()
            end = began + seconds
            while time.perf_counter() < end:
                timestamps = view.model.layout.timestamps
                checks: list[tuple[str, Callable[[], bool]]] = [
                    ("k", lambda: not lines.following),
                    ("G", lambda: lines.following),
                    ("t", lambda ts=timestamps: view.model.layout.timestamps != ts),
                    ("t", lambda ts=timestamps: view.model.layout.timestamps == ts),
                ]
                for key, changed in checks:
                    latencies.append(await _press_and_time(app, key, changed))
                    await asyncio.sleep(0.1)
            achieved = (screen.received - first) / (time.perf_counter() - began)
    finally:
        gc.callbacks.remove(gc_timer)
        await feed.close()
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


async def memory_profile(feed, count: int, capacity: int) -> list[tuple[int, float]]:
    samples: list[tuple[int, float]] = []
    marks = {capacity * k for k in range(1, count // capacity + 1)}
    app = BenchApp(feed.backlog(count, made_first=False), capacity=capacity)
    try:
        async with app.run_test(size=SIZE):
            await _wait_until(lambda: isinstance(app.screen, LogScreen), 10)
            screen = app.screen
            deadline = time.monotonic() + 900
            while screen.received < count:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {screen.received:,} of {count:,} lines arrived")
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
    finally:
        await feed.close()
    return samples


# -- the figures ---------------------------------------------------------------------------------------------


def measure(feed, *, rendered_count: int, flood_seconds: float, memory_count: int, capacity: int) -> dict:
    """The three figures for one source, each checked against its target."""
    figures: dict = {"misses": []}
    rate, cpu_rate, frames = asyncio.run(rendered_rate(feed, rendered_count))
    figures["rate"] = (rate, cpu_rate, frames)
    if rate < TARGET_RATE:
        figures["misses"].append("rendered rate")
    latencies, achieved, pauses = asyncio.run(flood_latency(feed, flood_seconds, FLOOD_RATE))
    median = statistics.median(latencies)
    p95 = sorted(latencies)[int(len(latencies) * 0.95) - 1]
    figures["latency"] = (median, p95, max(latencies), len(latencies), achieved, pauses)
    if not (median < TARGET_LATENCY and p95 < TARGET_LATENCY):
        figures["misses"].append("latency")
    samples = asyncio.run(memory_profile(feed, memory_count, capacity))
    full = next((rss for received, rss in samples if received >= 2 * capacity), samples[0][1])
    growth = (samples[-1][1] - full) / full
    figures["memory"] = (samples, growth)
    if growth >= TARGET_GROWTH:
        figures["misses"].append("memory")
    return figures


def report(name: str, figures: dict, *, rendered_count: int, flood_seconds: float, memory_count: int,
           capacity: int) -> None:
    def verdict(what: str) -> str:
        return "MISSED" if what in figures["misses"] else "ok"

    rate, cpu_rate, frames = figures["rate"]
    print(f"[{name}] rendered into the view  {rate:>10,.0f} lines/s ({rendered_count:,} lines, {frames} frames;"
          f" target >= {TARGET_RATE:,}) {verdict('rendered rate')}")
    print(f"[{name}]   per second of CPU time {cpu_rate:>10,.0f} lines/s (the same run; differs from the above"
          " when other processes share the cores)")
    median, p95, worst, keys, achieved, pauses = figures["latency"]
    print(f"[{name}] key-press-to-frame latency median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms,"
          f" max {worst * 1000:.1f} ms ({keys} keys k/G/t while {achieved:,.0f} lines/s reached the view;"
          f" target < {TARGET_LATENCY * 1000:.0f} ms) {verdict('latency')}")
    if pauses:
        print(f"[{name}]   full garbage collections {len(pauses)} in {flood_seconds:.0f} s, "
              f"{max(pauses) * 1000:.0f} ms at most (a key pressed meanwhile waits for it)")
    samples, growth = figures["memory"]
    trail = ", ".join(f"{received // 1000}k: {rss:.0f}" for received, rss in samples)
    print(f"[{name}] resident memory (MiB)  {trail}")
    print(f"[{name}] memory after {memory_count:,} lines {samples[-1][1]:.0f} MiB; {growth:+.1%} since the buffer"
          f" ({capacity:,} lines) was full twice over (target < {TARGET_GROWTH:.0%}) {verdict('memory')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (a quick look, not the figures)")
    parser.add_argument("--sandbox", action="store_true",
                        help="also from a container on the sandbox through Fleet.logs() (hold the sandbox lock)")
    options = parser.parse_args()
    for value in ("hunter2-db-password", "rails-master-key-0123456789", "registry-token-abcdef"):
        masking.register(value)  # a realistic number of secrets to mask in every line

    feeds = [SyntheticFeed()] + ([SandboxFeed()] if options.sandbox else [])
    print("log view bench — sources: " + ", ".join(feed.name for feed in feeds))
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
          " (figures are lower while other work shares the cores)")
    sizes = {"rendered_count": 100_000 if options.quick else 300_000,
             "flood_seconds": 3.0 if options.quick else 10.0,
             "memory_count": 300_000 if options.quick else 1_000_000,
             "capacity": 100_000}

    append_rate, ingest_rate = baseline(200_000)
    print(f"baseline: ring buffer append {append_rate:>12,.0f} lines/s")
    print(f"baseline: view model ingest  {ingest_rate:>12,.0f} lines/s (mask, level, filter, rows)")
    results = {}
    for feed in feeds:
        results[feed.name] = measure(feed, **sizes)
        report(feed.name, results[feed.name], **sizes)
    if len(results) > 1:
        print()
        print(f"{'':38}" + "".join(f"{name:>16}" for name in results))
        rows = [
            ("lines/s rendered", lambda f: f"{f['rate'][0]:,.0f}"),
            ("latency median / p95 (ms)", lambda f: f"{f['latency'][0] * 1000:.0f} / {f['latency'][1] * 1000:.0f}"),
            ("flood reaching the view (lines/s)", lambda f: f"{f['latency'][4]:,.0f}"),
            ("RSS 2x buffer -> end (MiB)", lambda f: f"{_full(f):.0f} -> {f['memory'][0][-1][1]:.0f}"),
        ]
        for title, cell in rows:
            print(f"{title:38}" + "".join(f"{cell(figures):>16}" for figures in results.values()))
    misses = [f"{name}: {miss}" for name, figures in results.items() for miss in figures["misses"]]
    if misses:
        print("missed: " + ", ".join(misses))
        return 1
    return 0


def _full(figures: dict) -> float:
    samples = figures["memory"][0]
    return next((rss for received, rss in samples if received >= 200_000), samples[0][1])


if __name__ == "__main__":
    sys.exit(main())
