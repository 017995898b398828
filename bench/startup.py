"""Start-up time of `shipdeck --help` and `shipdeck config`, against `python -c pass`.

Usage: python bench/startup.py [-n RUNS]

Each command runs RUNS times in a fresh interpreter; the median wall time is printed next to the
median of `python -c pass` measured in the same run, so the figures can be compared across
machines. `shipdeck config` runs on a small generated project (with --version, so no git call).
Exits with status 1 if either command's median exceeds the 0.3 s budget.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BUDGET = 0.3
ROOT = pathlib.Path(__file__).resolve().parents[1]
PROJECT = """\
service: bench
image: acme/bench
servers:
  web: [10.0.0.1, 10.0.0.2]
  jobs:
    hosts: [10.0.0.3]
    cmd: bin/jobs
registry:
  username: acme
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
env:
  clear: {RAILS_ENV: production}
  secret: [RAILS_MASTER_KEY]
proxy:
  host: bench.example.com
  app_port: 3000
accessories:
  db:
    image: postgres:16
    host: 10.0.0.4
"""


def _shipdeck() -> list[str]:
    script = shutil.which("shipdeck")
    return [script] if script else [sys.executable, "-m", "app"]


def _median_seconds(command: list[str], runs: int, cwd: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as project:
        (pathlib.Path(project) / "config").mkdir()
        (pathlib.Path(project) / "config" / "deploy.yml").write_text(PROJECT)
        baseline = _median_seconds([sys.executable, "-c", "pass"], runs, project)
        results = {
            "shipdeck --help": _median_seconds([*_shipdeck(), "--help"], runs, project),
            "shipdeck config": _median_seconds([*_shipdeck(), "config", "--version", "bench"], runs, project),
        }
    print(f"median of {runs} runs")
    print(f"  {'python -c pass':<18} {baseline * 1000:7.1f} ms  (baseline)")
    for name, seconds in results.items():
        print(f"  {name:<18} {seconds * 1000:7.1f} ms  (+{(seconds - baseline) * 1000:.1f} ms over the baseline)")
    over = [name for name, seconds in results.items() if seconds > BUDGET]
    if over:
        print(f"over the {BUDGET:.1f} s budget: {', '.join(over)}")
        return 1
    print(f"both within the {BUDGET:.1f} s budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
