"""Recognisers 5 and 7: a kamal-proxy older than Kamal's minimum, and a deploy lock left behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from app import contract
from app.diagnose.deploy_lock import parse_details, recognise_stale_lock
from app.diagnose.findings import LOCAL
from app.diagnose.proxy_version import is_older, recognise_old_proxy

from .diagnose_support import make_config

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_version_order() -> None:
    assert is_older("v0.8.4") and is_older("v0.9.1") and is_older("v0.9.2.rc1")
    assert not is_older("v0.9.2") and not is_older("v0.10.0") and not is_older("1.0")
    assert is_older("latest") is None


def test_old_proxy_on_some_hosts(tmp_path: Path) -> None:
    config = make_config(tmp_path, servers=["web1", "web2", "web3"])
    finding = recognise_old_proxy({"web1": "v0.8.4", "web2": "v0.9.2", "web3": None}, config)
    assert finding.code == "proxy.too_old" and finding.host == "web1"
    assert "web1 (v0.8.4)" in finding.what and "web2" not in finding.what
    assert f"older than {contract.MINIMUM_PROXY_VERSION}" in finding.title
    assert "serves nothing for a few seconds" in finding.fix and "--rolling" in finding.fix
    assert "--confirm=proxy.reboot:kamal-proxy" in finding.fix
    [repair] = finding.repairs
    assert repair.steps[0].where == LOCAL and repair.steps[0].command == "shipdeck proxy reboot --rolling"
    assert repair.confirm == "proxy.reboot:kamal-proxy" and not repair.destructive
    assert recognise_old_proxy({"web1": "v0.9.2", "web2": "latest"}, config) is None


def test_old_proxy_on_one_host_needs_no_rolling(tmp_path: Path) -> None:
    config = make_config(tmp_path, destination="prod")
    finding = recognise_old_proxy({"web1": "v0.8.4"}, config)
    assert finding.repairs[0].steps[0].command == "shipdeck proxy reboot -d prod" and "--rolling" not in finding.fix


def details(at: str, message: str = "Automatic deploy lock") -> str:
    """The decoded details, as Kamal's `lock status` prints them."""
    return f"Locked by: Ada Lovelace at {at}\nVersion: abc1234\nMessage: {message}"


def test_lock_details_parse() -> None:
    parsed = parse_details(details("2026-03-01T09:30:00Z"))
    assert (parsed.holder, parsed.version, parsed.message) == ("Ada Lovelace", "abc1234", "Automatic deploy lock")
    assert parsed.locked_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC) and parsed.automatic
    broken = parse_details("garbage")
    assert (broken.holder, broken.locked_at) == (None, None)


def test_stale_automatic_lock(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    finding = recognise_stale_lock(details("2026-03-01T09:30:00Z"), config=config, host="web1", now=NOW)
    assert finding.code == "lock.stale" and finding.host == "web1" and finding.target == ".kamal/lock-app"
    assert "Ada Lovelace took the deploy lock on web1 2 h 30 min ago for version abc1234" in finding.what
    assert "crashed or was killed" in finding.why and "shipdeck lock release" in finding.fix
    [repair] = finding.repairs
    assert [step.command for step in repair.steps] == ["rm .kamal/lock-app/details", "rm -r .kamal/lock-app"]
    assert repair.confirm == "lock.release:app" and repair.hosts == ("web1",)


def test_fresh_manual_and_unknown_locks(tmp_path: Path) -> None:
    config = make_config(tmp_path, destination="staging")
    recent = (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert recognise_stale_lock(details(recent), config=config, host="web1", now=NOW) is None
    assert recognise_stale_lock(None, config=config, host="web1", now=NOW) is None
    manual = recognise_stale_lock(details("2026-02-20T12:00:00Z", "Maintenance until Friday"), config=config,
                                  host="web1", now=NOW)
    assert "taken by hand" in manual.why and "ask Ada Lovelace" in manual.fix and "9 days ago" in manual.what
    assert manual.repairs[0].confirm == "lock.release:app-staging"
    assert "shipdeck lock release -d staging" in manual.fix
    unknown = recognise_stale_lock("garbage", config=config, host="web1", now=NOW)
    assert "at an unknown time" in unknown.what and unknown.repairs
