"""A corpus of broken projects: each is refused cleanly by `config`, `secrets print` and `deploy -P`.

Every directory under bad_config/ is a project (config/deploy.yml and friends) with a `case.yml`:
`file`/`line` say where the error must point (`file: null` when no file can be named, e.g. a missing
one), `message` a part of the message, `args` extra arguments, `setup` a file-system shape that git
cannot hold, and `kamal` what Kamal 2.11 does with the same project (`fails`, `accepts` for the few
deliberate differences, `any`). The rule for every case: exit status 2, one line on stderr naming the
file (and line), nothing on stdout, no "internal error", no traceback, no secret value.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = pathlib.Path(__file__).resolve().parent / "bad_config"
CASES = sorted(path for path in CORPUS.iterdir() if path.is_dir())
SECRET = "corpus-secret"


def _environment() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {**{key: os.environ[key] for key in keep if key in os.environ}, "PYTHONPATH": str(ROOT)}


def prepare(source: pathlib.Path, workdir: pathlib.Path) -> tuple[pathlib.Path, dict]:
    project = workdir / source.name
    shutil.copytree(source, project, symlinks=True)
    meta = yaml.safe_load((project / "case.yml").read_text())
    (project / "case.yml").unlink()
    config = project / "config"
    setup = meta.get("setup")
    if setup == "deploy_is_directory":
        (config / "deploy.yml").mkdir(parents=True)
    elif setup == "symlink_loop":
        config.mkdir()
        (config / "deploy.yml").symlink_to("deploy.yml")
    elif setup == "dangling_symlink":
        config.mkdir()
        (config / "deploy.yml").symlink_to("missing.yml")
    elif setup == "no_config":
        assert not config.exists()
    return project, meta


def run_shipdeck(project: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=project, env=_environment(), capture_output=True,
                          text=True, timeout=60)


def assert_clean_refusal(result: subprocess.CompletedProcess[str], meta: dict) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert result.stdout == ""
    assert "internal error" not in output and "Traceback" not in output
    assert SECRET not in output
    line = result.stderr.rstrip("\n")
    assert "\n" not in line, "one line, please"
    assert line.startswith("shipdeck: ")
    message = line.removeprefix("shipdeck: ")
    file, number = meta.get("file"), meta.get("line")
    if file and number:
        assert message.startswith(f"{file}:{number}: "), message
    elif file:
        assert message.startswith(f"{file}: "), message
    if meta.get("message"):
        assert meta["message"] in message
    for internal in ("LocatedList", "LocatedDict", "MappingProxyType", "NoneType"):
        assert internal not in message


def test_the_corpus_has_at_least_forty_projects() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("source", CASES, ids=[path.name for path in CASES])
@pytest.mark.parametrize("command", [["config"], ["secrets", "print"], ["deploy", "-P"]],
                         ids=["config", "secrets-print", "deploy"])
def test_bad_input_is_refused_cleanly(source: pathlib.Path, command: list[str], tmp_path: pathlib.Path) -> None:
    project, meta = prepare(source, tmp_path)
    result = run_shipdeck(project, *command, *meta.get("args", []), "--version", "corpus")
    assert_clean_refusal(result, meta)


KAMAL_CHECKED = [path for path in CASES if yaml.safe_load((path / "case.yml").read_text()).get("kamal") != "any"]


@pytest.mark.kamal
@pytest.mark.parametrize("source", KAMAL_CHECKED, ids=[path.name for path in KAMAL_CHECKED])
def test_kamal_agrees_that_the_project_is_broken(source: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """`kamal: fails` cases fail in Kamal 2.11 too; `kamal: accepts` marks a deliberate difference."""
    project, meta = prepare(source, tmp_path)
    environment = {key: value for key, value in _environment().items() if key != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-m", "kamal", "config", *meta.get("args", []), "--version", "corpus"],
                            cwd=project, env=environment, capture_output=True, text=True, timeout=120)
    if meta["kamal"] == "fails":
        assert result.returncode != 0, result.stdout
    else:
        assert result.returncode == 0, result.stdout + result.stderr
