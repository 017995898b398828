"""Times `shipdeck sandbox up --hosts 3`: cold (nothing built) and warm (images cached).

    python bench/sandbox_up.py            # cold, then warm, then a no-op re-run
    python bench/sandbox_up.py --warm     # skip the cold run (does not remove the built images)

Cold: `sandbox down --purge`, the built sandbox images removed from this machine's engine, then
`up` (debootstrap + image builds + pushes + hosts). Warm: `down --purge` again (registries, hosts,
keys all gone) with the images still in the engine, then `up`. Targets: under 6 min cold, 60 s
warm. Needs root; it replaces the running sandbox (tests using it must not run at the same time).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.sandbox import images  # noqa: E402
from app.sandbox.mirror import machine_docker_env, mirror_reference  # noqa: E402

HOSTS = "3"
TARGETS = {"cold": 360.0, "warm": 60.0}


def shipdeck(*args: str) -> float:
    began = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "app", "sandbox", *args], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    elapsed = time.monotonic() - began
    if result.returncode != 0:
        sys.exit(f"shipdeck sandbox {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def remove_built_images() -> None:
    names = [*images.image_names(), images.BASE_IMAGE]
    references = names + [mirror_reference(name) for name in names]
    subprocess.run(["docker", "image", "rm", "--force", *references], env=machine_docker_env(),
                   capture_output=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", action="store_true", help="only the warm run (keep the built images)")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    if not args.warm:
        shipdeck("down", "--purge")
        remove_built_images()
        figures["cold"] = shipdeck("up", "--hosts", HOSTS)
    shipdeck("down", "--purge")
    figures["warm"] = shipdeck("up", "--hosts", HOSTS)
    figures["no-op"] = shipdeck("up", "--hosts", HOSTS)
    print(f"shipdeck sandbox up --hosts {HOSTS}")
    failed = False
    for name, seconds in figures.items():
        target = TARGETS.get(name)
        missed = target is not None and seconds >= target
        verdict = "" if target is None else f" (target < {target:.0f} s: {'MISSED' if missed else 'ok'})"
        failed |= missed
        print(f"  {name:6} {seconds:7.1f} s{verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
