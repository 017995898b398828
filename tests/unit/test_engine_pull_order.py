"""`build pull` with several hosts: mirrors are seeded first only where a mirror can serve the image."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace

import pytest

from app.engine import build


@pytest.mark.parametrize(("image", "through_mirrors"), [
    ("app:1", True), ("dhh/app:1", True), ("docker.io/dhh/app:1", True), ("index.docker.io/dhh/app", True),
    ("10.77.0.1:5000/bench/app:1", False), ("registry.example.com/team/app:1", False),
    ("localhost:5555/app:1", False), ("ghcr.io/team/app@sha256:" + "a" * 64, False),
])
def test_only_docker_hub_images_go_through_registry_mirrors(image: str, through_mirrors: bool) -> None:
    assert build._pulled_through_mirrors(image) is through_mirrors


def _pull_rounds(monkeypatch, image: str) -> tuple[list[list[str]], list[str], list[str]]:
    """The host groups pulled one after the other, the hosts asked for `docker info`, and the notices."""
    groups: list[list[str]] = []  # one per `on_hosts` call; the pulls land in the current one
    asked: list[str] = []
    notices: list[str] = []

    async def on_hosts(hosts, function):
        groups.append([])
        results = await asyncio.gather(*(function(host) for host in hosts))
        return dict(zip(hosts, results, strict=True))

    async def pull_on_host(_run, host: str) -> None:
        groups[-1].append(host)

    async def engine_info(remote) -> dict:
        asked.append(remote)
        return {"RegistryConfig": {"Mirrors": ["http://mirror.internal:5001/"]}}

    run = SimpleNamespace(
        config=SimpleNamespace(absolute_image=image, registry=SimpleNamespace(local=True)),
        on_hosts=on_hosts, notice=notices.append, host=lambda name: name,
        step=lambda *args, **kwargs: contextlib.nullcontext())
    monkeypatch.setattr(build, "pull_on_host", pull_on_host)
    monkeypatch.setattr(build.docker_ops, "engine_info", engine_info)
    asyncio.run(build._login_and_pull(run, ["h1", "h2", "h3"]))
    return [sorted(group) for group in groups if group], asked, notices


def test_a_docker_hub_image_seeds_the_mirror_on_one_host_first(monkeypatch) -> None:
    rounds, asked, notices = _pull_rounds(monkeypatch, "dhh/app:1")
    assert rounds == [["h1"], ["h2", "h3"]]
    assert sorted(asked) == ["h1", "h2", "h3"]
    assert notices == ["Pulling image on h1 to seed the mirror...", "Pulling image on remaining hosts..."]


def test_an_image_of_another_registry_is_pulled_everywhere_at_once(monkeypatch) -> None:
    rounds, asked, notices = _pull_rounds(monkeypatch, "10.77.0.1:5000/bench/app:1")
    assert rounds == [["h1", "h2", "h3"]]
    assert asked == []  # no `docker info`: no mirror can serve it
    assert notices == []
