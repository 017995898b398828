"""Boot ordering (groups, primary-role hosts first, the barrier, roles per host) and prune selection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.engine import app_boot, prune
from app.engine.runner import Run
from app.engine.targets import Targets
from tests.unit.test_engine_app_commands import make_config


def test_boot_groups_slice_hosts_by_limit() -> None:
    assert app_boot.boot_groups(["a", "b", "c"], None) == [["a", "b", "c"]]
    assert app_boot.boot_groups(["a", "b", "c"], 2) == [["a", "b"], ["c"]]
    assert app_boot.boot_groups([], 2) == []


def test_percentage_limit_is_of_all_hosts_and_at_least_one(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"boot": {"limit": "25%", "wait": 2}})
    assert config.boot.limit_for(len(config.all_hosts)) == 1  # 3 hosts * 25% rounds down to 0 -> 1
    config = make_config(tmp_path, {"boot": {"limit": 2}})
    assert config.boot.limit_for(3) == 2


def test_primary_role_hosts_come_first(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"servers": {"workers": ["1.1.1.3", "1.1.1.1"], "web": ["1.1.1.2", "1.1.1.1"]}})
    targets = Targets(config)
    assert [role.name for role in targets.roles] == ["web", "workers"]
    assert targets.app_hosts[:2] == ["1.1.1.2", "1.1.1.1"]
    assert targets.app_hosts[-1] == "1.1.1.3"
    assert targets.primary_role.name == "web"


def run_for(config) -> Run:
    return Run(config=config, secrets={}, pool=None, targets=Targets(config))


def test_roles_boot_in_order_per_host_and_hosts_in_parallel(tmp_path: Path) -> None:
    config = make_config(tmp_path, {"servers": {"web": ["h1", "h2"], "workers": ["h1", "h3"]}})
    run = run_for(config)
    events: list[tuple[str, str, str]] = []

    async def work(host: str, role) -> None:
        events.append(("start", host, role.name))
        await asyncio.sleep(0.01 if host == "h1" else 0.03)
        events.append(("end", host, role.name))

    asyncio.run(app_boot.on_roles(run, run.targets.roles, run.targets.app_hosts, work, parallel=False))
    h1 = [event for event in events if event[1] == "h1"]
    assert h1 == [("start", "h1", "web"), ("end", "h1", "web"), ("start", "h1", "workers"), ("end", "h1", "workers")]
    # all hosts start before any host finishes: they run in parallel
    assert [event[0] for event in events[:3]] == ["start", "start", "start"]


def test_barrier_opens_once_and_halts_queuers_when_closed() -> None:
    async def scenario() -> list[str]:
        seen: list[str] = []
        barrier = app_boot.Barrier()

        async def queuer() -> None:
            try:
                await barrier.wait()
                seen.append("booted")
            except app_boot.HaltedAtBarrier as error:
                seen.append(str(error))

        waiting = asyncio.ensure_future(queuer())
        await asyncio.sleep(0)
        assert barrier.close() is True
        assert barrier.open() is False  # set once: the first primary container decides
        await waiting
        opened = app_boot.Barrier()
        assert opened.open() is True
        await opened.wait()
        seen.append("opened")
        return seen

    assert asyncio.run(scenario()) == ["Halted at barrier", "opened"]


def test_a_failed_primary_boot_halts_other_roles_at_the_barrier(tmp_path: Path, monkeypatch) -> None:
    config = make_config(tmp_path, {"servers": {"web": ["h1"], "workers": ["h2"]}})
    run = run_for(config)
    started: list[str] = []

    async def fake_start(run_, app, version) -> None:
        started.append(app.role.name)
        if app.role.name == "web":
            raise app_boot.BootError("target failed to become healthy")

    async def nothing(*args, **kwargs):
        return None

    monkeypatch.setattr(app_boot, "start_new_version", fake_start)
    monkeypatch.setattr(app_boot.AppOnHost, "container_id", nothing)
    monkeypatch.setattr(app_boot.AppOnHost, "current_running_version", nothing)
    monkeypatch.setattr(app_boot.AppOnHost, "failure_report", lambda self, version: nothing())
    monkeypatch.setattr(app_boot, "_stop_quietly", nothing)
    barrier_holder: dict = {}

    async def scenario() -> None:
        barrier = app_boot.Barrier()
        barrier_holder["b"] = barrier
        await app_boot.on_roles(run, run.targets.roles, run.targets.app_hosts,
                                lambda host, role: app_boot.boot_one(run, host, role, "v2", barrier), parallel=False)

    with pytest.raises(Exception) as failure:
        asyncio.run(scenario())
    assert started == ["web"]  # workers never started
    assert "Halted at barrier" in str(failure.value) and "target failed to become healthy" in str(failure.value)


def test_prune_keeps_the_newest_stopped_containers() -> None:
    summaries = [{"Id": f"{index:064x}", "Created": index} for index in range(1, 8)]
    removed = prune.containers_to_remove(summaries, 5)
    assert removed == [f"{2:064x}"[:12], f"{1:064x}"[:12]]


def test_prune_images_follows_kamals_grep_w() -> None:
    lines = prune.image_lines([
        {"Id": "sha256:" + "a" * 64, "RepoTags": ["reg/app:v1", "reg/app:latest"]},
        {"Id": "sha256:" + "b" * 64, "RepoTags": ["reg/app:v2"]},
        {"Id": "sha256:" + "c" * 64, "RepoTags": ["reg/app:v3"]},
        {"Id": "sha256:" + "d" * 64, "RepoTags": ["reg/app:v2a"]},
    ])
    active = [prune.container_image_word({"Image": "reg/app:v2", "ImageID": "sha256:" + "b" * 64}),
              prune.container_image_word({"Image": "sha256:" + "c" * 64, "ImageID": "sha256:" + "c" * 64}),
              "reg/app:latest", "reg/app:<none>"]
    # v1 is removed (its other tag is latest, but grep works per line); v3 is in use by id; v2a is not v2
    assert prune.images_to_remove(lines, active) == ["reg/app:v1", "reg/app:v2a"]


def test_prune_retain_must_be_positive(tmp_path: Path) -> None:
    run = run_for(make_config(tmp_path))
    assert prune.retain_count(run, None) == 5
    with pytest.raises(Exception, match="retain must be at least 1"):
        prune.retain_count(run, 0)


class _FakeDockerHost:
    """Container names on one host, changed the way docker rename/rm change them."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = dict(names)  # name -> id
        self.removed: list[str] = []


def _fake_docker(monkeypatch, host: _FakeDockerHost) -> None:
    from app.remote import app_docker

    async def container_id_by_name(_host, name, *, only_running=False):
        return host.names.get(name)

    async def rename(_host, old, new):
        host.names[new] = host.names.pop(old)

    async def remove_container(_host, container, *, force=False):
        host.removed.append(container)
        host.names = {name: ident for name, ident in host.names.items() if ident != container}

    async def nothing(*args, **kwargs):
        return None

    monkeypatch.setattr(app_docker, "container_id_by_name", container_id_by_name)
    monkeypatch.setattr(app_docker, "rename", rename)
    monkeypatch.setattr(app_docker, "remove_container", remove_container)
    monkeypatch.setattr(app_boot.AppOnHost, "audit", nothing)
    monkeypatch.setattr(app_boot.AppOnHost, "current_running_version", nothing)
    monkeypatch.setattr(app_boot, "_stop_quietly", nothing)


@pytest.mark.parametrize("switched", [False, True], ids=["before-the-switch", "after-the-switch"])
def test_a_cancelled_same_version_boot_gives_the_serving_container_its_name_back(tmp_path: Path, monkeypatch,
                                                                                 switched: bool) -> None:
    config = make_config(tmp_path, {"servers": {"web": ["h1"]}})
    run = run_for(config)
    role = run.targets.roles[0]
    name = role.container_name("v1")
    host = _FakeDockerHost({name: "old0000000001"})
    _fake_docker(monkeypatch, host)
    run.host = lambda _name: object()  # type: ignore[method-assign]
    booting = asyncio.Event()

    async def fake_start(run_, app, version) -> None:
        host.names[name] = "new0000000002"  # the new container was created under the canonical name
        app.switched = switched
        booting.set()
        await asyncio.sleep(60)

    monkeypatch.setattr(app_boot, "start_new_version", fake_start)

    async def scenario() -> None:
        task = asyncio.ensure_future(app_boot.boot_one(run, "h1", role, "v1", app_boot.Barrier()))
        await booting.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    if switched:  # the new container took over: it keeps the name, the old one stays aside (as Kamal leaves it)
        assert host.names[name] == "new0000000002" and host.removed == []
    else:
        assert host.names == {name: "old0000000001"}
        assert host.removed == ["new0000000002"]


def test_a_failed_boot_emits_a_diagnosis_with_fixes(tmp_path: Path, monkeypatch) -> None:
    from app.engine.events import Diagnosis

    config = make_config(tmp_path, {"servers": {"web": ["h1"]}})
    run = run_for(config)
    role = run.targets.roles[0]

    async def fake_start(run_, app, version) -> None:
        raise app_boot.BootError("target failed to become healthy")

    async def nothing(*args, **kwargs):
        return None

    async def report(self, version) -> str:
        return "2024-05-01T10:00:00Z FAIL_HEALTHCHECK is set\n{\"Status\":\"unhealthy\"}"

    monkeypatch.setattr(app_boot, "start_new_version", fake_start)
    monkeypatch.setattr(app_boot.AppOnHost, "container_id", nothing)
    monkeypatch.setattr(app_boot.AppOnHost, "current_running_version", nothing)
    monkeypatch.setattr(app_boot.AppOnHost, "failure_report", report)
    monkeypatch.setattr(app_boot, "_stop_quietly", nothing)
    async def scenario() -> None:
        await app_boot.boot_one(run, "h1", role, "v2", app_boot.Barrier())

    with pytest.raises(Exception, match="Failed to boot web on h1"):
        asyncio.run(scenario())
    diagnoses = [event for event in run.events.events if isinstance(event, Diagnosis)]
    assert len(diagnoses) == 1
    diagnosis = diagnoses[0]
    assert diagnosis.code.startswith("healthcheck.") and diagnosis.host == "h1"  # the likely cause, recognised
    assert diagnosis.target == role.container_name("v2") and "FAIL_HEALTHCHECK is set" in diagnosis.detail
    assert any("app logs" in command for _, command in diagnosis.fixes)


def test_restoring_the_name_clears_a_container_created_late(tmp_path: Path, monkeypatch) -> None:
    """A create the cancellation interrupted can land after the restore looked: the rename then finds the
    name taken, removes the late container and tries again."""
    from app.remote import app_docker
    from app.remote.docker_errors import DockerCommandError

    config = make_config(tmp_path, {"servers": {"web": ["h1"]}})
    run = run_for(config)
    role = run.targets.roles[0]
    canonical, aside = role.container_name("v1"), role.container_name("v1_replaced_ab")
    host = _FakeDockerHost({aside: "old0000000001"})
    _fake_docker(monkeypatch, host)
    run.host = lambda _name: object()  # type: ignore[method-assign]
    real_rename = app_docker.rename
    attempts = 0

    async def rename_racing_a_late_create(_host, old, new):
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            host.names[canonical] = "late000000003"  # the interrupted create lands now
            raise DockerCommandError("Error response from daemon: Conflict. The container name is already in use",
                                     status=409)
        await real_rename(_host, old, new)

    monkeypatch.setattr(app_docker, "rename", rename_racing_a_late_create)
    app = app_boot.AppOnHost(run, "h1", role, step="app.boot")
    asyncio.run(app_boot.restore_renamed(app, "v1", "v1_replaced_ab"))
    assert host.names == {canonical: "old0000000001"} and host.removed == ["late000000003"] and attempts == 2
