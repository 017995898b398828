"""Times `build_images`: cold (the sandbox's tags removed first, so debootstrap and every build run) and
warm (nothing changed). Usage: python3 bench/images_build.py [--warm-only]"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.sandbox.images import BASE_IMAGE, build_images, image_names


def timed_build() -> float:
    began = time.monotonic()
    build_images(log=lambda line: print(f"  {line}"))
    return time.monotonic() - began


def main() -> None:
    if "--warm-only" not in sys.argv:
        # Untag only (no --force): images still used by containers or other tags keep their layers, but
        # the next build cannot find its cached result and redoes everything.
        subprocess.run(["docker", "rmi", *image_names(), BASE_IMAGE], capture_output=True, check=False)
        print("cold build:")
        cold = timed_build()
        print(f"cold: {cold:.1f}s")
    print("warm build:")
    warm = timed_build()
    print(f"warm: {warm:.2f}s")


if __name__ == "__main__":
    main()
