"""`prune containers|images|all` (Kamal::Cli::Prune), on every targeted host, under the deploy lock.

Selections are Kamal's exactly: stopped app containers of the service beyond the newest `retain`;
dangling service images; then tagged service images that no container uses, except the latest tag
(Kamal's `grep -v -w` over `ID repo:tag` lines, reproduced word for word).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from typing import Any

from app.engine import app_commands as commands
from app.engine import audit
from app.engine.lock import held
from app.engine.runner import Run
from app.errors import UsageError
from app.remote import app_docker

STOPPED_STATUSES = ("created", "exited", "dead")


def containers_to_remove(summaries: list[Mapping[str, Any]], retain: int) -> list[str]:
    """`docker ps -q -a ... | tail -n +<retain+1>`: newest first, keep the first `retain`."""
    ordered = sorted(summaries, key=lambda summary: summary.get("Created", 0), reverse=True)
    return [str(summary["Id"])[:12] for summary in ordered[retain:]]


def container_image_word(summary: Mapping[str, Any]) -> str:
    """`{{.Image}}` as `docker container ls` prints it: the name used, or the short id once it moved."""
    image = str(summary.get("Image") or "")
    image_id = str(summary.get("ImageID") or "")
    if image.startswith("sha256:") or image == image_id:
        return image.removeprefix("sha256:")[:12]
    return image


def image_lines(images: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """`docker image ls --format '{{.ID}} {{.Repository}}:{{.Tag}}'` → (id, repo:tag) per tag."""
    lines: list[tuple[str, str]] = []
    for image in images:
        short = str(image.get("Id", "")).removeprefix("sha256:")[:12]
        tags = [tag for tag in (image.get("RepoTags") or []) if tag != "<none>:<none>"]
        if not tags:
            lines.append((short, "<none>:<none>"))
        lines.extend((short, tag) for tag in tags)
    return lines


def _whole_word(alternative: str, line: str) -> bool:
    pattern = r"(?<![A-Za-z0-9_])" + re.escape(alternative) + r"(?![A-Za-z0-9_])"
    return alternative != "" and re.search(pattern, line) is not None


def images_to_remove(lines: list[tuple[str, str]], active: list[str]) -> list[str]:
    """Kamal's `grep -v -w "<active alternatives>" | while read image tag; do docker rmi $tag; done`."""
    doomed = []
    for image_id, tag in lines:
        line = f"{image_id} {tag}"
        if not any(_whole_word(alternative, line) for alternative in active):
            doomed.append(tag)
    return doomed


async def prune_containers_on(run: Run, host_name: str, retain: int) -> None:
    host = run.host(host_name)
    config = run.config
    async with run.step("prune.containers", "Prune stopped app containers", host=host_name):
        await audit.record(host, config, "Pruned containers")
        run.output("prune.containers", f"$ {commands.prune_app_containers(config, retain)}", host=host_name,
                   stream="command")
        stopped = await app_docker.list_containers(
            host, [f"label=service={config.service}", *(f"status={status}" for status in STOPPED_STATUSES)],
            all_states=True)
        for container in containers_to_remove(stopped, retain):
            await app_docker.remove_container(host, container)
            run.output("prune.containers", container, host=host_name)


async def prune_images_on(run: Run, host_name: str) -> None:
    host = run.host(host_name)
    config = run.config
    service_filter = [f"label=service={config.service}"]
    async with run.step("prune.images", "Prune unused app images", host=host_name):
        await audit.record(host, config, "Pruned images")
        run.output("prune.images", f"$ {commands.prune_dangling_images(config)}", host=host_name, stream="command")
        await app_docker.prune_images(host, service_filter)
        run.output("prune.images", f"$ {commands.prune_tagged_images(config)}", host=host_name, stream="command")
        containers, images = await asyncio.gather(app_docker.list_containers(host, service_filter, all_states=True),
                                                  app_docker.list_images(host, service_filter))
        active = [container_image_word(container) for container in containers]
        active += [config.latest_image, f"{config.repository}:<none>"]
        lines = image_lines(images)
        for tag in images_to_remove(lines, active):
            try:
                await app_docker.remove_image(host, tag, force=False)
                run.output("prune.images", f"Untagged: {tag}", host=host_name)
            except Exception as error:  # one image in use must not stop the rest (as in Kamal's loop)
                run.output("prune.images", f"{tag}: {error}", host=host_name, stream="stderr")


def retain_count(run: Run, retain: int | None) -> int:
    value = run.config.retain_containers if retain is None else retain
    if value < 1:
        raise UsageError("retain must be at least 1")
    return value


async def prune_containers(run: Run, retain: int | None = None) -> None:
    count = retain_count(run, retain)
    async with held(run):
        await run.on_hosts(run.target_hosts(), lambda host: prune_containers_on(run, host, count))


async def prune_images(run: Run) -> None:
    async with held(run):
        await run.on_hosts(run.target_hosts(), lambda host: prune_images_on(run, host))


async def prune_all(run: Run) -> None:
    """Containers first, then images, on each host. Kamal runs each on all hosts in turn; a host's own order
    is the same here, but it does not wait for the slowest host between the two."""
    count = retain_count(run, None)

    async def one(host: str) -> None:
        await prune_containers_on(run, host, count)
        await prune_images_on(run, host)

    async with held(run):
        await run.on_hosts(run.target_hosts(), one)
