"""The dashboard's speed against the sandbox, at 3 and 20 hosts:

    flock /run/lock/shipdeck-sandbox-use.lock python3 bench/dashboard.py            # 3 and 20 hosts
    flock /run/lock/shipdeck-sandbox-use.lock python3 bench/dashboard.py --sizes 3 --rounds 5

For each size N it writes a project with a `web` role on the first N sandbox hosts and deploys it once
(so every row has something to show), then, in a fresh process each round, opens the real dashboard over
the real Fleet exactly as `shipdeck` does (config loaded, every host connected in the background) and
measures, from the process's start (its start time in /proc):
  - first frame: the first frame painted with every host listed (target < 0.5 s),
  - rows filled: the first frame with every host's row filled (Docker version and app version; < 1.5 s),
and then, while a deploy of the same version streams its events, the key-press-to-frame latency: a
cursor key posted to the app, until the frame showing the moved cursor is painted (target < 50 ms;
median and 95th percentile over the presses). The baseline, measured in the same run the same way: a bare
Textual app with a table of as many rows (no engine, nothing running).

The dashboard runs headless (Textual's test driver) at a size where every row is visible; a real
terminal adds the time to write the frame. Needs root and the sandbox (`shipdeck sandbox up --hosts N`
is run for the largest size, as bench/deploy_speed.py does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {"first_frame_s": 0.5, "rows_filled_s": 1.5, "key_p50_ms": 50.0}


def process_start() -> float:
    """This process's start as Unix time: its start in clock ticks after boot (/proc/self/stat), against the
    time since boot now (CLOCK_BOOTTIME); /proc/stat's btime is whole seconds, too coarse for this."""
    ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    return time.time() - age


# -- the measuring child process ------------------------------------------------------------------------


async def child(project: Path, hosts: int) -> dict:
    started = process_start()
    os.chdir(project)
    from app.tui.confirmer import DashboardConfirmer
    from app.tui.launch import project_fleet

    confirmer = DashboardConfirmer()
    fleet = project_fleet("config/deploy.yml", None, None, confirmer)  # as `shipdeck` opens it
    from app.engine.api import DeployOptions
    from app.tui.app import Dashboard
    from widgets.host_table import HostTable

    app = Dashboard(fleet, confirmer=confirmer, refresh_every=0, theme="ansi-dark", on_first_frame=fleet.begin)
    figures: dict = {}
    loop = asyncio.get_running_loop()

    async def painted() -> float:
        """The time the next frame was painted."""
        done = loop.create_future()
        app.call_after_refresh(lambda: done.done() or done.set_result(time.time()))
        return await done

    def filled(table: HostTable) -> bool:
        return table.row_count == hosts and all(
            str(table.get_cell(key, "docker")) and "web" in str(table.get_cell(key, "app"))
            for key in table.row_keys)

    try:
        async with app.run_test(size=(180, max(50, 3 * hosts + 20))) as pilot:
            table = app.query_one(HostTable)
            while table.row_count < hosts:
                await asyncio.sleep(0.001)
            figures["first_frame_s"] = await painted() - started
            while not filled(table):
                await asyncio.sleep(0.005)
            figures["rows_filled_s"] = await painted() - started

            table.focus()
            await pilot.pause(0.2)
            run = app.start_run(lambda: fleet.deploy(DeployOptions(skip_push=True)))
            latencies: list[float] = []
            key = "down"
            while run is not None and not run.done and len(latencies) < 200:
                before = table.cursor_row
                pressed = time.perf_counter()
                app.simulate_key(key)
                while table.cursor_row == before:
                    await asyncio.sleep(0)
                await painted()
                latencies.append((time.perf_counter() - pressed) * 1000)
                key = "up" if table.cursor_row == hosts - 1 else "down" if table.cursor_row == 0 else key
                await asyncio.sleep(0.05)
            if run is not None:
                result = await run.result()
                figures["deploy_ok"] = result.ok
            figures["key_samples"] = len(latencies)
            if latencies:
                latencies.sort()
                figures["key_p50_ms"] = statistics.median(latencies)
                figures["key_p95_ms"] = latencies[int(0.95 * (len(latencies) - 1))]
                figures["key_max_ms"] = latencies[-1]
    finally:
        await fleet.close()
    return figures


async def baseline_child(hosts: int) -> dict:
    """The baseline, in a fresh process too: a bare Textual app with one table of `hosts` filled rows (no
    shipdeck import, no engine, no config): its first frame from the process's start, and the key-press-
    to-frame latency with nothing else running."""
    started = process_start()
    from textual.app import App
    from textual.widgets import DataTable

    class Bare(App):
        def compose(self):
            table = DataTable()
            for column in ("Host", "Connection", "Running", "Docker", "Disk free"):
                table.add_column(column, key=column)
            for index in range(hosts):
                table.add_row(f"10.77.0.{index + 11}", "● up 7 ms", "web ● 8538d43012e8", "20.10.24", "82.9 GB",
                              key=str(index))
            yield table

    app = Bare()
    loop = asyncio.get_running_loop()

    async def painted() -> float:
        done = loop.create_future()
        app.call_after_refresh(lambda: done.done() or done.set_result(time.time()))
        return await done

    figures: dict = {}
    async with app.run_test(size=(180, max(50, 3 * hosts + 20))):
        table = app.query_one(DataTable)
        while table.row_count < hosts:
            await asyncio.sleep(0.001)
        figures["first_frame_s"] = figures["rows_filled_s"] = await painted() - started
        table.focus()
        latencies, key = [], "down"
        for _ in range(60):
            before, pressed = table.cursor_row, time.perf_counter()
            app.simulate_key(key)
            while table.cursor_row == before:
                await asyncio.sleep(0)
            await painted()
            latencies.append((time.perf_counter() - pressed) * 1000)
            key = "up" if table.cursor_row == hosts - 1 else "down" if table.cursor_row == 0 else key
            await asyncio.sleep(0.02)
    latencies.sort()
    figures.update(key_samples=len(latencies), key_p50_ms=statistics.median(latencies),
                   key_p95_ms=latencies[int(0.95 * (len(latencies) - 1))], key_max_ms=latencies[-1])
    return figures


# -- the driver ---------------------------------------------------------------------------------------


def sandbox_env(root: Path) -> dict[str, str]:
    from app.sandbox import layout, registries

    env = dict(os.environ)
    env.update(SHIPDECK_SANDBOX_DIR=str(root), DOCKER_CONFIG=str(layout.docker_config_dir(root)),
               KAMAL_REGISTRY_PASSWORD=registries.password_path(root).read_text().strip(),
               POSTGRES_PASSWORD=registries.postgres_password_path(root).read_text().strip(),
               PYTHONPATH=str(ROOT))
    env.pop("DOCKER_HOST", None)
    return env


def write_project(root: Path, size: int, workdir: Path) -> Path:
    """The demo app with one `web` role on the first `size` hosts."""
    from bench.deploy_speed import write_project as write_web_project

    return write_web_project(root, size, workdir, service=f"dash{size}")


def shipdeck(project: Path, env: dict[str, str], *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "app", *args], cwd=project, env=env, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"shipdeck {' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


def measure(root: Path, size: int, rounds: int, workdir: Path) -> dict:
    env = sandbox_env(root)
    project = write_project(root, size, workdir)
    shipdeck(project, env, "build", "push")
    shipdeck(project, env, "deploy", "-P")
    runs = []
    baselines = []
    try:
        for _ in range(rounds):
            result = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--baseline-child",
                                     str(size)], env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                sys.exit(f"the baseline run failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
            baselines.append(json.loads(result.stdout.strip().splitlines()[-1]))
            result = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(project),
                                     "--hosts", str(size)], env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                sys.exit(f"the dashboard run failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
            runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    finally:
        shipdeck(project, env, "app", "remove", f"--confirm=app.remove:dash{size}")
    figures = {"hosts": size}
    for name in ("first_frame_s", "rows_filled_s", "key_p50_ms", "key_p95_ms", "key_max_ms"):
        values = [run[name] for run in runs if name in run]
        figures[name] = statistics.median(values) if values else None
    figures["key_samples"] = sum(run.get("key_samples", 0) for run in runs)
    baseline = {"hosts": size, "key_samples": sum(run["key_samples"] for run in baselines)}
    for name in ("first_frame_s", "rows_filled_s", "key_p50_ms", "key_p95_ms", "key_max_ms"):
        baseline[name] = statistics.median(run[name] for run in baselines)
    figures["baseline"] = baseline
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,20", help="host counts (default 3,20)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", metavar="PROJECT", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-child", type=int, metavar="HOSTS", help=argparse.SUPPRESS)
    parser.add_argument("--hosts", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(Path(args.child), args.hosts))))
        return 0
    if args.baseline_child:
        print(json.dumps(asyncio.run(baseline_child(args.baseline_child))))
        return 0
    if os.geteuid() != 0:
        sys.exit("bench/dashboard.py needs root (the sandbox)")
    from app.sandbox import fleet, layout

    root = Path(os.environ.get("SHIPDECK_SANDBOX_DIR") or layout.DEFAULT_DIR)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    before = len(fleet.read_state(root).get("hosts", {})) if (root / "sandbox.json").exists() else 0
    fleet.up(root, max(sizes, default=3), lambda line: None)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as scratch:
            for size in sizes:
                rows.append(measure(root, size, args.rounds, Path(scratch)))
    finally:
        if before and before != max(sizes):  # the fleet as it was (its demo project is written for it)
            fleet.up(root, before, lambda line: None)

    def show(value, unit: str) -> str:
        return "-" if value is None else (f"{value:.2f}" if unit == "s" else f"{value:.1f}")

    print(f"{'hosts':>5} {'first frame s':>13} {'rows filled s':>13} {'key p50 ms':>10} {'key p95 ms':>10} "
          f"{'key max ms':>10} {'presses':>7}")
    for row in [*rows, *(dict(row["baseline"], hosts=f"{row['hosts']} base") for row in rows)]:
        print(f"{row['hosts']:>5} {show(row['first_frame_s'], 's'):>13} {show(row['rows_filled_s'], 's'):>13} "
              f"{show(row['key_p50_ms'], 'ms'):>10} {show(row['key_p95_ms'], 'ms'):>10} "
              f"{show(row['key_max_ms'], 'ms'):>10} {row['key_samples']:>7}")
    print("base: a bare Textual app with one table of as many filled rows, in a fresh process (no shipdeck, no "
          "engine, no deploy running): what Textual itself costs on this machine now")
    print(f"targets: first frame < {TARGETS['first_frame_s']} s, rows filled < {TARGETS['rows_filled_s']} s, "
          f"key press to frame < {TARGETS['key_p50_ms']:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
