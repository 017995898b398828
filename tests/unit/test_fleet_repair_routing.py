"""`Fleet.repair(id)` runs every repair a finding can offer: the proxy reboot and the lock release are the
operations of the same name (confirmed as always); an unknown id is a clear error."""

from __future__ import annotations

import pathlib

import pytest

from app.engine.confirm import FlagConfirmer
from app.engine.fleet import Fleet
from app.errors import UsageError

CONFIG = """service: app
image: app/app
servers:
  - 192.0.2.1
  - 192.0.2.2
proxy:
  host: app.example.test
registry:
  username: u
  password: p
builder:
  arch: amd64
"""


@pytest.fixture
def fleet(tmp_path: pathlib.Path, monkeypatch) -> Fleet:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(CONFIG)
    return Fleet.from_project("config/deploy.yml", None, "v1", confirmer=FlagConfirmer())


def test_proxy_reboot_and_lock_release_are_their_operations(fleet: Fleet, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(fleet, "proxy_reboot", lambda **options: calls.append(("proxy_reboot", options)))
    monkeypatch.setattr(fleet, "lock_release", lambda: calls.append(("lock_release", {})))
    fleet.repair("proxy-reboot")
    fleet.repair("lock-release")
    assert calls == [("proxy_reboot", {"rolling": True}), ("lock_release", {})]  # two proxy hosts: rolling


def test_an_unknown_repair_is_a_usage_error(fleet: Fleet) -> None:
    with pytest.raises(UsageError, match="unknown repair 'db-explode'"):
        fleet.repair("db-explode")
