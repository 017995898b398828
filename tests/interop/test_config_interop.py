"""`shipdeck config` against `kamal config` (Kamal 2.11, the oracle) on a corpus of project directories.

Each directory under configs/valid and configs/invalid is a small Kamal project; an optional
`case.yml` gives the destination, version, environment, git set-up and, for invalid cases, where
the error must point (`location`). Run with `pytest tests/interop -m kamal -n 2`.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG_CORPUS = pathlib.Path(__file__).resolve().parent / "configs"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _KamalYamlLoader(yaml.SafeLoader):
    """Reads `kamal config` output: Ruby symbols (`:roles`) become strings, Ruby objects mappings."""


def _symbol(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return node.value[1:]


def _ruby_object(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
    return loader.construct_mapping(node, deep=True)


_KamalYamlLoader.add_implicit_resolver("!ruby/symbol", re.compile(r"^:[^:\s]"), [":"])
_KamalYamlLoader.add_constructor("!ruby/symbol", _symbol)
_KamalYamlLoader.add_multi_constructor("!ruby/object:", _ruby_object)


def config_parse_kamal_yaml(text: str) -> object:
    return yaml.load(text, Loader=_KamalYamlLoader)


def config_kamal_error(output: str) -> str:
    """Kamal's error message (Kamal prints it on stdout) without colours and the `ERROR (Class): ` prefix."""
    text = _ANSI.sub("", output).strip()
    match = re.search(r"ERROR \([\w:]+\): (.*)", text, re.DOTALL)
    assert match, f"no Kamal error in {output!r}"
    return match.group(1).strip()


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYENV_ROOT", "PYENV_VERSION", "TERM")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(extra)
    return env


class ConfigCase:
    """One project directory of the corpus, copied to a temporary directory."""

    def __init__(self, source: pathlib.Path, workdir: pathlib.Path) -> None:
        self.name = source.name
        self.dir = workdir / source.name
        shutil.copytree(source, self.dir, symlinks=True)
        meta_file = self.dir / "case.yml"
        self.meta = yaml.safe_load(meta_file.read_text()) if meta_file.exists() else {}
        meta_file.unlink(missing_ok=True)
        self.env = _clean_env({str(k): str(v) for k, v in (self.meta.get("env") or {}).items()})
        for path in self.dir.rglob("*.executable"):
            path.rename(path.with_suffix(""))
            path.with_suffix("").chmod(0o755)
        if self.meta.get("git"):
            self._git_init()

    def _git_init(self) -> None:
        git_env = {**self.env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                   "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
                   "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"}
        for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "corpus"]):
            subprocess.run(["git", *command], cwd=self.dir, env=git_env, check=True, capture_output=True)
        if self.meta.get("dirty"):
            (self.dir / "uncommitted.txt").write_text("dirty\n")

    def args(self) -> list[str]:
        args = []
        if self.meta.get("destination"):
            args += ["-d", str(self.meta["destination"])]
        if self.meta.get("config_file"):
            args += ["-c", str(self.meta["config_file"])]
        version = self.meta.get("version", "corpus-version" if not self.meta.get("git") else None)
        if version is not None:
            args += ["--version", str(version)]
        return args

    def run_kamal(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kamal", "config", *self.args()], cwd=self.dir, env=self.env,
                              capture_output=True, text=True, timeout=60)

    def run_shipdeck(self, *extra: str) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "PYTHONPATH": str(ROOT)}
        return subprocess.run([sys.executable, "-m", "app", "config", *self.args(), *extra], cwd=self.dir,
                              env=env, capture_output=True, text=True, timeout=60)


def config_cases(kind: str) -> list[pathlib.Path]:
    return sorted(path for path in (CONFIG_CORPUS / kind).iterdir() if path.is_dir())


VALID = config_cases("valid")
INVALID = config_cases("invalid")
_UNCOMMITTED = re.compile(r"_uncommitted_[0-9a-f]{16}$")


def _normalise_version(data: dict) -> dict:
    """A dirty tree's version ends in 16 random hex digits (SecureRandom in Kamal): compare the rest."""
    version = data.get("version", "")
    if not _UNCOMMITTED.search(version):
        return data
    stable = _UNCOMMITTED.sub("_uncommitted_<random>", version)
    return config_parse_kamal_yaml(yaml.safe_dump(data).replace(version, stable))  # type: ignore[return-value]


@pytest.mark.kamal
@pytest.mark.parametrize("source", VALID, ids=[path.name for path in VALID])
def test_shipdeck_config_json_equals_kamal_config(source: pathlib.Path, tmp_path: pathlib.Path) -> None:
    case = ConfigCase(source, tmp_path)
    kamal = case.run_kamal()
    assert kamal.returncode == 0, f"kamal rejected a corpus config: {kamal.stdout}{kamal.stderr}"
    shipdeck = case.run_shipdeck("--json")
    assert shipdeck.returncode == 0, shipdeck.stderr
    expected = _normalise_version(config_parse_kamal_yaml(kamal.stdout))  # type: ignore[arg-type]
    actual = _normalise_version(json.loads(shipdeck.stdout))
    for key, value in (case.meta.get("shipdeck_differs") or {}).items():
        expected["ssh_options"][key] = value  # documented deviation (secret redaction)
    assert actual == expected
    if not case.meta.get("shipdeck_differs") and "_uncommitted_" not in kamal.stdout:  # random suffix
        yaml_output = case.run_shipdeck()
        assert yaml_output.stdout == kamal.stdout, "the YAML is Kamal's, byte for byte"


@pytest.mark.kamal
@pytest.mark.parametrize("source", INVALID, ids=[path.name for path in INVALID])
def test_shipdeck_rejects_what_kamal_rejects_with_its_message(source: pathlib.Path,
                                                              tmp_path: pathlib.Path) -> None:
    case = ConfigCase(source, tmp_path)
    kamal = case.run_kamal()
    assert kamal.returncode != 0, f"kamal accepted an invalid corpus config:\n{kamal.stdout}"
    kamal_message = config_kamal_error(kamal.stdout + kamal.stderr)
    assert len(kamal_message) > 10
    shipdeck = case.run_shipdeck()
    assert shipdeck.returncode == 2, shipdeck.stderr
    assert "Traceback" not in shipdeck.stderr
    assert shipdeck.stdout == ""
    line = shipdeck.stderr.strip()
    assert line.count("\n") == 0, "one line, please"
    assert line.startswith("shipdeck: ")
    message = line.removeprefix("shipdeck: ")
    assert kamal_message in message
    location = case.meta.get("location")
    if location:
        assert message.startswith(f"{location}: "), message
    else:
        assert not re.match(r"^\S+:\d+: ", message), "no line applies here"


def test_the_corpus_is_as_large_as_promised() -> None:
    assert len(VALID) >= 30
    assert len(INVALID) >= 20
