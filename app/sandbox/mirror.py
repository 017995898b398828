"""Pushes the sandbox images into the mirror registry under their Docker Hub names."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from app.sandbox import layout
from app.sandbox.system import SandboxError, run, write_file

MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])


def hub_repository(name: str) -> tuple[str, str]:
    """`postgres:15` -> (`library/postgres`, `15`); `basecamp/kamal-proxy:v0.9.2` keeps its namespace."""
    repository, _, tag = name.rpartition(":") if ":" in name.split("/")[-1] else (name, "", "latest")
    if "/" not in repository:
        repository = f"library/{repository}"
    return repository, tag or "latest"


def mirror_reference(name: str) -> str:
    repository, tag = hub_repository(name)
    return f"{layout.MIRROR_REGISTRY_LOCAL}/{repository}:{tag}"


def machine_docker_env() -> dict[str, str]:
    """Environment for `docker` aimed at this machine's own engine, whatever the caller exported."""
    dropped = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG")
    return {k: v for k, v in os.environ.items() if k not in dropped}


def in_mirror(name: str) -> bool:
    repository, tag = hub_repository(name)
    request = urllib.request.Request(f"http://{layout.MIRROR_REGISTRY_LOCAL}/v2/{repository}/manifests/{tag}",
                                     method="HEAD", headers={"Accept": MANIFEST_TYPES})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


def push_to_mirror(root: Path, names: list[str], log: Callable[[str], None]) -> list[str]:
    """Tag and push each image (skipping those whose image ID is already there); return what was pushed."""
    record_path = root / "registries" / "mirror-pushed.json"
    try:
        record: dict[str, str] = json.loads(record_path.read_text())
    except (OSError, ValueError):
        record = {}
    env = machine_docker_env()
    pushed = []
    for name in names:
        inspected = run(["docker", "image", "inspect", "--format", "{{.Id}}", name], env=env, check=False)
        if inspected.returncode != 0:
            raise SandboxError(f"image {name} is not in this machine's engine after the build")
        image_id = inspected.stdout.strip()
        if record.get(name) == image_id and in_mirror(name):
            continue
        reference = mirror_reference(name)
        run(["docker", "tag", name, reference], env=env)
        run(["docker", "push", reference], env=env, timeout=600)
        record[name] = image_id
        write_file(record_path, json.dumps(record, indent=2) + "\n")
        pushed.append(name)
        log(f"  mirror: pushed {name} as {reference}")
    return pushed
