"""`Fleet.status()` speed on 1, 3 and 10 sandbox hosts: cold (first call: connections opened) and warm.

    python bench/status.py                 # 1, 3 and 10 hosts, 20 warm calls each
    python bench/status.py --sizes 3 --calls 50

For each size N it deploys the bench project (a `web` role behind kamal-proxy on the first N hosts,
as bench/deploy_speed.py writes it), opens one Fleet in this process and times `status()`: the
first call (which opens one SSH connection per host) and then `--calls` more, printing the median
and the 90th percentile. Target: warm median under 300 ms at 10 hosts.

Needs root and the sandbox (`shipdeck sandbox up --hosts N` is run for the largest size, as
bench/deploy_speed.py does). Run it under the sandbox lock; nothing else should use the sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.sandbox import fleet, layout  # noqa: E402
from bench.deploy_speed import sandbox_env, timed, write_project  # noqa: E402

TARGET_MS = 300.0


async def time_status(project: Path, calls: int) -> tuple[float, list[float], int]:
    from app.engine.confirm import FlagConfirmer
    from app.engine.fleet import Fleet

    fleet_ = Fleet.from_project(str(project / "config" / "deploy.yml"), confirmer=FlagConfirmer())
    try:
        began = time.perf_counter()
        first = await fleet_.status()
        cold = (time.perf_counter() - began) * 1000
        failed = [host.name for host in first.hosts if host.state.value != "up"]
        if failed:
            sys.exit(f"hosts not up: {failed}: {[host.error for host in first.hosts]}")
        warm = []
        for _ in range(calls):
            began = time.perf_counter()
            await fleet_.status()
            warm.append((time.perf_counter() - began) * 1000)
        return cold, warm, fleet_.connections_opened
    finally:
        await fleet_.close()


def measure(root: Path, size: int, calls: int, workdir: Path) -> dict:
    env = sandbox_env(root)
    project = write_project(root, size, workdir)
    shipdeck = [sys.executable, "-m", "app"]
    timed([*shipdeck, "build", "push"], project, env)
    timed([*shipdeck, "deploy", "-P"], project, env)
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    try:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(project)
        cold, warm, connections = asyncio.run(time_status(project, calls))
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        timed([*shipdeck, "app", "remove", f"--confirm=app.remove:bench{size}"], project, env)
    warm.sort()
    return {"hosts": size, "cold_ms": cold, "median_ms": statistics.median(warm),
            "p90_ms": warm[int(len(warm) * 0.9) - 1] if len(warm) >= 10 else max(warm), "connections": connections}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3,10", help="host counts (default 1,3,10)")
    parser.add_argument("--calls", type=int, default=20, help="warm status() calls per size (default 20)")
    args = parser.parse_args()
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    root = Path(os.environ.get("SHIPDECK_SANDBOX_DIR") or layout.DEFAULT_DIR)
    fleet.up(root, max(max(sizes), layout.DEFAULT_HOSTS), lambda line: None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="shipdeck-bench-") as workdir:
        for size in sizes:
            rows.append(measure(root, size, args.calls, Path(workdir)))
            print(f"measured {size} host(s)", flush=True)
    print()
    print(f"Fleet.status() on a deployed web role (warm: {args.calls} calls over the open connections)")
    print(f"{'hosts':>5} {'cold ms':>8} {'warm median ms':>15} {'warm p90 ms':>12} {'ssh conns':>10}")
    for row in rows:
        print(f"{row['hosts']:>5} {row['cold_ms']:>8.0f} {row['median_ms']:>15.1f} {row['p90_ms']:>12.1f} "
              f"{row['connections']:>10}")
    worst = max(row["median_ms"] for row in rows)
    print(f"worst warm median {worst:.0f} ms (target under {TARGET_MS:.0f} ms)")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
