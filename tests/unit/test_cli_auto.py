"""`--auto` flag parsing and the mapping of the engine's typed errors to `--auto`'s exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import exit_codes
from app.cli.auto import split_auto_flags
from app.engine.auto import FlagNeeded, engine_trusts_plain_http, looks_mangled, runs_app_image
from app.engine.confirm import ConfirmationRefused, ConfirmationRequest
from app.engine.lock import LockError
from app.engine.registry_ops import RegistryError
from app.engine.runner import HostsFailed, StepFailed
from app.errors import ConfigError, ShipdeckError, UsageError
from app.remote.errors import AuthenticationFailed, HostKeyUnknown, HostUnreachable

ROOT = Path(__file__).resolve().parents[2]


def test_auto_alone_is_auto_deploy() -> None:
    flags, rest = split_auto_flags(["--auto"])
    assert flags.enabled and rest == ["deploy"]
    flags, rest = split_auto_flags(["--auto", "-d", "staging"])
    assert rest == ["deploy", "-d", "staging"]


def test_auto_flags_anywhere_before_double_dash() -> None:
    flags, rest = split_auto_flags(["deploy", "--junit", "r.xml", "--auto", "-d", "x", "--dotenv=d.env",
                                    "--secrets-from-env=A", "--secrets-from-env", "B=CI_B",
                                    "--allow-proxy-reboot=rolling", "--", "--junit"])
    assert flags.enabled and flags.junit == "r.xml" and flags.dotenv == "d.env"
    assert flags.secrets_from_env == ["A", "B=CI_B"] and flags.allow_proxy_reboot == "rolling"
    assert rest == ["deploy", "-d", "x", "--", "--junit"]


def test_auto_on_any_command() -> None:
    flags, rest = split_auto_flags(["--auto", "accessory", "reboot", "redis"])
    assert flags.enabled and rest == ["accessory", "reboot", "redis"]
    assert split_auto_flags(["--allow-proxy-reboot", "--auto"])[0].allow_proxy_reboot == "all"


@pytest.mark.parametrize("argv, message", [
    (["--auto", "--junit"], "--junit needs a value"),
    (["--auto", "--allow-proxy-reboot=sometimes"], "--allow-proxy-reboot=sometimes"),
    (["deploy", "--junit", "r.xml"], "--junit only work with --auto"),
])
def test_bad_auto_flags(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        split_auto_flags(argv)


def test_bad_flag_exits_2_with_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "app", "--auto", "--allow-proxy-reboot=maybe"],
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 2
    assert "--allow-proxy-reboot=maybe" in result.stderr and "Traceback" not in result.stderr


def _request() -> ConfirmationRequest:
    return ConfirmationRequest(action="accessory.remove", title="Remove db", consequence="Data goes.", effects=(),
                               target="db")


@pytest.mark.parametrize("error, code", [
    (ShipdeckError("boom"), 1),
    (ConfigError("bad key", file="config/deploy.yml", line=3), 2),
    (UsageError("bad"), 2),
    (HostUnreachable("h1", "no route"), 3),
    (AuthenticationFailed("h1", "refused"), 3),
    (HostKeyUnknown("h1", "SHA256:x", "ssh-ed25519"), 3),
    (RegistryError("login refused"), 3),
    (LockError("Deploy lock found"), 4),
    (ConfirmationRefused(_request(), "needs --confirm"), 5),
    (FlagNeeded("--allow-proxy-reboot", "old proxy"), 5),
    (ShipdeckError("interrupted", exit_code=130), 130),
])
def test_exit_code_of_each_error(error: BaseException, code: int) -> None:
    assert exit_codes.exit_code_for(error) == code


def test_wrapped_errors_keep_their_exit_code() -> None:
    unreachable = StepFailed("preflight.connect", "h2", HostUnreachable("h2", "timed out"))
    assert exit_codes.exit_code_for(HostsFailed({"h2": unreachable})) == 3
    mixed = HostsFailed({"h1": StepFailed("app.boot", "h1", ShipdeckError("unhealthy")),
                         "h2": StepFailed("lock", "h2", LockError("held"))})
    assert exit_codes.exit_code_for(mixed) == 4
    assert exit_codes.exit_code_for(HostsFailed({"h1": StepFailed("x", "h1", RuntimeError("x"))})) == 1


def test_registry_trust_from_engine_info() -> None:
    info = {"RegistryConfig": {"InsecureRegistryCIDRs": ["10.0.0.0/8"],
                               "IndexConfigs": {"reg.test:5000": {"Secure": False}, "docker.io": {"Secure": True}}}}
    assert engine_trusts_plain_http(info, "reg.test:5000")
    assert engine_trusts_plain_http(info, "10.1.2.3:5050")
    assert engine_trusts_plain_http({}, "localhost:5000")
    assert not engine_trusts_plain_http(info, "192.168.1.2:5050")
    assert not engine_trusts_plain_http(info, "other.test:5000")


def test_mangling_hint_and_app_image_accessories() -> None:
    assert looks_mangled("p$a\"ss") and not looks_mangled("plain")

    class Config:
        repository, image = "reg:5000/demo/app", "demo/app"

    class Accessory:
        def __init__(self, image: str) -> None:
            self.image = image

    assert runs_app_image(Config, Accessory("reg:5000/demo/app:latest"))
    assert runs_app_image(Config, Accessory("demo/app"))
    assert not runs_app_image(Config, Accessory("redis:7"))


def _demo(tmp_path):
    from app.sandbox.demo_project import write_demo_project

    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("")
    return write_demo_project(tmp_path / "demo", hosts=["10.9.0.2", "10.9.0.3"], registry="reg.test:5000",
                              registry_username="deployer", ssh_config=ssh_config)


def test_secret_references_of_the_demo(tmp_path) -> None:
    from app.config import load_config
    from app.engine.auto import app_url, secret_references

    demo = _demo(tmp_path)
    config = load_config(config_file=str(demo / "config" / "deploy.yml"), version="v1")
    assert set(secret_references(config)) == {"POSTGRES_PASSWORD", "KAMAL_REGISTRY_PASSWORD"}
    assert app_url(config) is None  # the demo's proxy has no host


def test_ci_gitlab_lists_the_projects_secrets(tmp_path) -> None:
    demo = _demo(tmp_path)
    result = subprocess.run([sys.executable, "-m", "app", "ci", "gitlab", "-d", "production"], cwd=demo,
                            capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2 and "deploy.production.yml" in result.stderr  # -d reads that destination's file
    (demo / "config" / "deploy.production.yml").write_text("env:\n  secret:\n    - RAILS_MASTER_KEY\n")
    result = subprocess.run([sys.executable, "-m", "app", "ci", "gitlab", "-d", "production"], cwd=demo,
                            capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    for name in ("POSTGRES_PASSWORD", "KAMAL_REGISTRY_PASSWORD", "RAILS_MASTER_KEY"):
        assert f"#   {name}" in result.stdout and f"--secrets-from-env={name}" in result.stdout
    assert "deploy -d production" in result.stdout
