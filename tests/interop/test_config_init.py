"""`kamal init` and `shipdeck init`: each tool loads the other's files, with the same `config` output.

`--bundle` runs Bundler, which is not installed here (and `bundle add` needs rubygems.org): a stand-in
`bundle` on PATH records its arguments and does what Bundler does to the project (a Gemfile line,
an executable bin/kamal), so both tools are checked to call it exactly alike.
"""

from __future__ import annotations

import os
import pathlib
import stat
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUNDLE_STAND_IN = """\
#!/bin/sh
printf '%s\\n' "$*" >> "$BUNDLE_CALLS"
case "$1" in
  add) printf 'gem "%s"\\n' "$2" >> Gemfile ;;
  binstubs) mkdir -p bin && printf '#!/usr/bin/env ruby\\nload Gem.bin_path("%s", "%s")\\n' "$2" "$2" > bin/$2 \
            && chmod 755 bin/$2 ;;
esac
"""
KAMAL_INIT_FILES = {
    "config/deploy.yml", ".kamal/secrets",
    *(f".kamal/hooks/{name}.sample" for name in (
        "docker-setup", "post-app-boot", "post-deploy", "post-proxy-reboot", "pre-app-boot", "pre-build",
        "pre-connect", "pre-deploy", "pre-proxy-reboot")),
}


def _environment(tmp_path: pathlib.Path) -> dict[str, str]:
    stand_ins = tmp_path / "stand-ins"
    stand_ins.mkdir(exist_ok=True)
    bundle = stand_ins / "bundle"
    bundle.write_text(BUNDLE_STAND_IN)
    bundle.chmod(0o755)
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR")
    return {**{key: os.environ[key] for key in keep if key in os.environ},
            "PATH": f"{stand_ins}:{os.environ['PATH']}", "BUNDLE_CALLS": str(tmp_path / "bundle-calls")}


def kamal(project: pathlib.Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kamal", *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=120)


def shipdeck(project: pathlib.Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=project, env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)


def _files(project: pathlib.Path) -> set[str]:
    return {str(path.relative_to(project)) for path in project.rglob("*") if path.is_file()}


def _same_config(project: pathlib.Path, env: dict[str, str]) -> str:
    theirs = kamal(project, env, "config", "--version", "v1")
    ours = shipdeck(project, env, "config", "--version", "v1")
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
    return ours.stdout


@pytest.mark.kamal
@pytest.mark.parametrize("tool", ["kamal", "shipdeck"])
def test_init_files_load_in_both_tools_with_the_same_config(tool: str, tmp_path: pathlib.Path) -> None:
    env = _environment(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    run = kamal if tool == "kamal" else shipdeck
    first = run(project, env, "init")
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout == ("Created configuration file in config/deploy.yml\nCreated .kamal/secrets file\n"
                            "Created sample hooks in .kamal/hooks\n")
    assert _files(project) == KAMAL_INIT_FILES
    for hook in (project / ".kamal" / "hooks").iterdir():
        assert hook.stat().st_mode & stat.S_IXUSR, f"{hook.name} is executable"
    output = _same_config(project, env)
    assert ":roles:\n- web\n" in output
    assert kamal(project, env, "secrets", "print").stdout == shipdeck(project, env, "secrets", "print",
                                                                      "--reveal").stdout
    again = run(project, env, "init")
    assert again.stdout == "Config file already exists in config/deploy.yml (remove first to create a new one)\n"


@pytest.mark.kamal
def test_init_writes_the_same_messages_in_both_tools_when_some_files_exist(tmp_path: pathlib.Path) -> None:
    env = _environment(tmp_path)
    outputs = []
    for run in (kamal, shipdeck):
        project = tmp_path / run.__name__
        (project / ".kamal").mkdir(parents=True)
        (project / ".kamal" / "secrets").write_text("KEEP=1\n")
        result = run(project, env, "init")
        assert (project / ".kamal" / "secrets").read_text() == "KEEP=1\n"
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]


@pytest.mark.kamal
def test_init_bundle_calls_bundler_alike_and_the_files_still_load(tmp_path: pathlib.Path) -> None:
    env = _environment(tmp_path)
    calls = pathlib.Path(env["BUNDLE_CALLS"])
    results = {}
    for run in (kamal, shipdeck):
        project = tmp_path / run.__name__
        project.mkdir()
        calls.unlink(missing_ok=True)
        result = run(project, env, "init", "--bundle")
        assert result.returncode == 0, result.stdout + result.stderr
        assert calls.read_text() == "add kamal\nbinstubs kamal\n"
        assert _files(project) == KAMAL_INIT_FILES | {"Gemfile", "bin/kamal"}
        _same_config(project, env)
        again = run(project, env, "init", "--bundle")
        assert "Binstub already exists in bin/kamal (remove first to create a new one)" in again.stdout
        results[run.__name__] = result.stdout
    assert results["shipdeck"].splitlines()[-1] == "Created binstub file in bin/kamal"
    assert "Adding Kamal to Gemfile and bundle..." in results["kamal"] and \
        "Adding Kamal to Gemfile and bundle..." in results["shipdeck"]


def test_shipdeck_init_bundle_without_bundler_is_a_clean_error(tmp_path: pathlib.Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    if any(pathlib.Path(directory, "bundle").exists() for directory in env["PATH"].split(":")):
        pytest.skip("Bundler is installed on this machine")
    result = shipdeck(tmp_path, env, "init", "--bundle")
    assert result.returncode == 1
    assert result.stderr == "shipdeck: bundle: command not found (Bundler is needed for --bundle)\n"
    assert (tmp_path / "config" / "deploy.yml").exists()
