"""Start-up time of `shipdeck --help`, `version` and `config`, and `config` on a 45 MB file against Kamal.

Usage: python bench/startup.py [-n RUNS] [--quick]

Each short command runs RUNS times in a fresh interpreter; the median wall time is printed next to
the median of `python -c pass` measured in the same run, so the figures can be compared across
machines. `shipdeck config` runs on a small generated project (with --version, so no git call).
Then, unless --quick, `config` runs once on a generated 45 MB deploy.yml (600,000 env keys) with
shipdeck and with `kamal` (when installed); both times and peak memory are printed.
Exits with status 1 if a command is over its budget: `version` 0.15 s, `--help` and `config` 0.3 s,
and the 45 MB config slower than Kamal's.
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

BUDGETS = {"shipdeck --help": 0.3, "shipdeck version": 0.15, "shipdeck config": 0.3}
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
LARGE_KEYS = 600_000


def _shipdeck() -> list[str]:
    return [sys.executable, "-m", "app"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _median_seconds(command: list[str], runs: int, cwd: str) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def write_large_project(directory: pathlib.Path) -> int:
    """A valid project whose deploy.yml is about 45 MB: 600,000 clear env values. Returns its size."""
    (directory / "config").mkdir(parents=True, exist_ok=True)
    (directory / ".kamal").mkdir(exist_ok=True)
    (directory / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=secret\n")
    padding = "x" * 44
    lines = [PROJECT.split("env:")[0].rstrip("\n"), "env:", "  clear:"]
    lines += [f"    VAR_{index:06d}: value-{index:06d}-{padding}" for index in range(LARGE_KEYS)]
    path = directory / "config" / "deploy.yml"
    path.write_text("\n".join(lines) + "\n")
    return path.stat().st_size


def _run_measured(command: list[str], cwd: pathlib.Path) -> tuple[float, float, bytes]:
    """Wall seconds, peak memory (MB) and stdout of one run."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, cwd=cwd, env=_env(), stdout=output, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit status {process.returncode}")
    return seconds, usage.ru_maxrss / 1024, text


def large_config(report: list[str]) -> bool:
    """Run `config` on the 45 MB project with both tools; True when shipdeck is the faster."""
    with tempfile.TemporaryDirectory() as temporary:
        project = pathlib.Path(temporary)
        size = write_large_project(project)
        report.append(f"config on a {size / 1e6:.1f} MB deploy.yml ({LARGE_KEYS:,} keys)")
        seconds, memory, ours = _run_measured([*_shipdeck(), "config", "--version", "bench"], project)
        report.append(f"  {'shipdeck':<18} {seconds:7.2f} s  {memory:7.0f} MB peak")
        kamal = shutil.which("kamal")
        if not kamal:
            report.append("  kamal              not installed: nothing to compare with")
            return True
        kamal_seconds, kamal_memory, theirs = _run_measured([kamal, "config", "--version", "bench"], project)
        report.append(f"  {'kamal':<18} {kamal_seconds:7.2f} s  {kamal_memory:7.0f} MB peak")
        if ours != theirs:
            report.append("  the two outputs differ")
            return False
        report.append("  same output")
        return seconds < kamal_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="skip the 45 MB comparison with Kamal")
    options = parser.parse_args()
    runs = options.runs
    with tempfile.TemporaryDirectory() as project:
        (pathlib.Path(project) / "config").mkdir()
        (pathlib.Path(project) / "config" / "deploy.yml").write_text(PROJECT)
        baseline = _median_seconds([sys.executable, "-c", "pass"], runs, project)
        results = {
            "shipdeck --help": _median_seconds([*_shipdeck(), "--help"], runs, project),
            "shipdeck version": _median_seconds([*_shipdeck(), "version"], runs, project),
            "shipdeck config": _median_seconds([*_shipdeck(), "config", "--version", "bench"], runs, project),
        }
    print(f"median of {runs} runs")
    print(f"  {'python -c pass':<18} {baseline * 1000:7.1f} ms  (baseline)")
    for name, seconds in results.items():
        print(f"  {name:<18} {seconds * 1000:7.1f} ms  (+{(seconds - baseline) * 1000:.1f} ms over the baseline, "
              f"budget {BUDGETS[name] * 1000:.0f} ms)")
    over = [name for name, seconds in results.items() if seconds > BUDGETS[name]]
    if not options.quick:
        report: list[str] = []
        faster = large_config(report)
        print("\n".join(report))
        if not faster:
            over.append("config on the 45 MB file (not faster than Kamal)")
    if over:
        print(f"over budget: {', '.join(over)}")
        return 1
    print("all within budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
