"""The order of `--auto deploy`'s reconcile and the preflight's proxy decision, with the engine's steps replaced
by recorders (the sandbox tests run them for real)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest

from app.engine import auto


class FakeRun:
    def __init__(self, *, skip_push: bool = False) -> None:
        self.config = SimpleNamespace(require_version=lambda: "abc123", proxy=SimpleNamespace(hosts=("app.test",),
                                                                                               ssl=True))
        self.options = SimpleNamespace(skip_push=skip_push, lock_wait=False)
        self.runtime = 1.0
        self.emitted: list[tuple] = []

    def target_hosts(self) -> list[str]:
        return ["h1", "h2"]

    def rows(self, *args, **kwargs) -> None:
        self.emitted.append(("rows", args))

    @asynccontextmanager
    async def step(self, *args, **kwargs):
        yield

    async def on_hosts(self, hosts, work):
        return {host: await work(host) for host in hosts}


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    recorded: list[str] = []

    def recorder(name: str, result=None):
        async def record(*args, **kwargs):
            recorded.append(name)
            return result
        return record

    @asynccontextmanager
    async def held(run):
        recorded.append("lock")
        yield
        recorded.append("unlock")

    monkeypatch.setattr(auto, "preflight", recorder("preflight", []))
    monkeypatch.setattr(auto.build, "push", recorder("build"))
    monkeypatch.setattr(auto.build, "pull", recorder("pull"))
    monkeypatch.setattr(auto.lock, "held", held)
    monkeypatch.setattr(auto, "boot_accessories", recorder("accessories"))
    monkeypatch.setattr(auto, "upgrade_proxies", recorder("proxy upgrade"))
    monkeypatch.setattr(auto, "run_hook", lambda run, name, **kw: recorder(name)())
    monkeypatch.setattr(auto.proxy_ops, "boot", recorder("proxy boot"))
    monkeypatch.setattr(auto, "_app", recorder("app"))
    monkeypatch.setattr(auto, "follow_app_image", recorder("app-image accessories"))
    monkeypatch.setattr(auto, "prune_all", recorder("prune"))
    return recorded


def test_the_reconcile_runs_in_order(calls: list[str]) -> None:
    run = FakeRun()
    summary = asyncio.run(auto.deploy(run))
    assert calls == ["preflight", "build", "pull", "lock", "accessories", "pre-deploy", "proxy boot", "app",
                     "app-image accessories", "prune", "unlock", "post-deploy"]
    assert summary.version == "abc123" and summary.url == "https://app.test" and summary.hosts == ("h1", "h2")
    assert set(summary.durations) >= {"preflight", "build", "pull", "app", "prune"}
    assert run.emitted and run.emitted[0][1][0] == "auto.summary"


def test_old_proxies_are_rebooted_first_when_allowed(calls: list[str], monkeypatch) -> None:
    async def old(run, options):
        calls.append("preflight")
        return ["h2"]

    monkeypatch.setattr(auto, "preflight", old)
    asyncio.run(auto.deploy(FakeRun(skip_push=True), auto.AutoOptions(allow_proxy_reboot="rolling")))
    assert calls[:6] == ["preflight", "pull", "lock", "accessories", "proxy upgrade", "pre-deploy"]


def test_a_missing_flag_stops_before_anything_changes(calls: list[str], monkeypatch) -> None:
    async def refuse(run, options):
        calls.append("preflight")
        raise auto.FlagNeeded(auto.ALLOW_PROXY_REBOOT, "old proxy")

    monkeypatch.setattr(auto, "preflight", refuse)
    with pytest.raises(auto.FlagNeeded):
        asyncio.run(auto.deploy(FakeRun()))
    assert calls == ["preflight"]


def test_the_proxy_check_names_the_flag(monkeypatch) -> None:
    versions = {"h1": "v0.9.2", "h2": "v0.8.4", "h3": None}

    async def running_version(run, host):
        return versions[host]

    monkeypatch.setattr(auto.proxy_ops, "running_version", running_version)
    monkeypatch.setattr(auto.proxy_ops, "proxy_hosts", lambda run: ["h1", "h2", "h3"])
    with pytest.raises(auto.FlagNeeded, match=r"h2 runs v0\.8\.4.*--allow-proxy-reboot=rolling"):
        asyncio.run(auto._check_proxies(FakeRun(), auto.AutoOptions()))
    assert asyncio.run(auto._check_proxies(FakeRun(), auto.AutoOptions(allow_proxy_reboot="all"))) == ["h2"]
