"""Secrets straight from the CI environment (`--secrets-from-env [NAME=VARIABLE ...]`): parsing the
mapping, precedence over the secrets files, masking, and the errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import SecretsError, UsageError
from app.secrets import Secrets, masking
from app.secrets.dotenv import DotenvError
from app.secrets.env_source import EnvSource, parse_specs

NASTY = "p$a\"ss 'x' \\ é #! $(echo no)"


@pytest.fixture(autouse=True)
def _fresh_masking():
    masking.clear()
    yield
    masking.clear()


def make(root: Path, source: EnvSource | None, environ: dict[str, str] | None = None) -> Secrets:
    return Secrets(root, environ=environ or {}, keyring_lookup=None, env_source=source)


def write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


def test_specs_name_their_variables() -> None:
    assert parse_specs(["A", "KAMAL_REGISTRY_PASSWORD=CI_REGISTRY_PASSWORD", "B="], "--x") == {
        "A": "A", "KAMAL_REGISTRY_PASSWORD": "CI_REGISTRY_PASSWORD", "B": "B"}


@pytest.mark.parametrize(("specs", "message"), [
    (["BAD-NAME=X"], "--secrets-from-env BAD-NAME=X: invalid secret name 'BAD-NAME'"),
    (["=X"], "--secrets-from-env =X: invalid secret name ''"),
    (["A=X", "A=Y"], "--secrets-from-env: A given twice"),
    (["A=UNSET_1", "B=SET", "C=UNSET_2"],
     "--secrets-from-env: environment variable UNSET_1 (for A), UNSET_2 (for C) is not set"),
])
def test_bad_mappings_are_usage_errors(specs: list[str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        EnvSource.from_specs(specs, {"SET": "1"})
    assert str(raised.value).startswith(message)
    assert raised.value.exit_code == 2


def test_no_file_needed_and_values_arrive_unchanged(tmp_path: Path) -> None:
    environ = {"CI_REGISTRY_PASSWORD": NASTY, "RAILS_MASTER_KEY": "k$HOME", "KAMAL_REGISTRY_PASSWORD": "other"}
    source = EnvSource.from_specs(["KAMAL_REGISTRY_PASSWORD=CI_REGISTRY_PASSWORD"], environ)
    secrets = make(tmp_path, source)
    assert secrets.lookup("KAMAL_REGISTRY_PASSWORD") == (NASTY, "secrets-from-env")
    assert secrets.lookup("RAILS_MASTER_KEY") == ("k$HOME", "secrets-from-env")
    assert secrets.resolve(["DB_KEY:RAILS_MASTER_KEY"]) == {"DB_KEY": "k$HOME"}
    assert secrets.files == []
    assert secrets.keys() == ["KAMAL_REGISTRY_PASSWORD"]


def test_the_environment_wins_over_the_files_which_are_read_only_when_needed(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets", "RAILS_MASTER_KEY=$(cat config/master.key)\nONLY_FILE=f\nBROKEN=$(no-such-x)\n")
    source = EnvSource.from_specs([], {"RAILS_MASTER_KEY": "from-ci"})
    secrets = make(tmp_path, source)
    assert secrets["RAILS_MASTER_KEY"] == "from-ci"  # the files were not even parsed: BROKEN would fail
    with pytest.raises(DotenvError, match=r"^\.kamal/secrets:3: No such file or directory - no-such-x$"):
        secrets["ONLY_FILE"]


def test_fallback_to_files_keyring_and_environment(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets", "ONLY_FILE=f\nBOTH=file\n")
    source = EnvSource.from_specs(["MAPPED=CI_MAPPED"], {"BOTH": "ci", "CI_MAPPED": "m"})
    secrets = Secrets(tmp_path, environ={"FALLBACK": "e"}, keyring_lookup={"RING": "r"}.get, env_source=source)
    assert [secrets.lookup(name) for name in ("MAPPED", "BOTH", "ONLY_FILE", "RING", "FALLBACK")] == [
        ("m", "secrets-from-env"), ("ci", "secrets-from-env"), ("f", "file"), ("r", "keyring"), ("e", "env")]
    assert secrets.keys() == ["MAPPED", "ONLY_FILE", "BOTH"]
    assert secrets.values() == {"MAPPED": "m", "ONLY_FILE": "f", "BOTH": "ci"}


def test_a_mapped_name_never_reads_its_own_variable(tmp_path: Path) -> None:
    source = EnvSource.from_specs(["A=CI_A"], {"A": "wrong", "CI_A": "right"})
    assert make(tmp_path, source)["A"] == "right"


def test_values_are_masked_from_the_start(tmp_path: Path) -> None:
    source = EnvSource.from_specs(["PW=CI_PW"], {"CI_PW": "hunter2-secret", "OTHER": "other-secret"})
    assert masking.mask("x hunter2-secret y") == "x [REDACTED] y"
    make(tmp_path, source)["OTHER"]
    assert masking.mask("other-secret") == "[REDACTED]"


def test_missing_names_the_variable_and_the_flag(tmp_path: Path) -> None:
    secrets = make(tmp_path, EnvSource.from_specs([], {}))
    with pytest.raises(SecretsError) as raised:
        secrets["NOPE"]
    assert str(raised.value) == ("Secret 'NOPE' not found, no secret files (.kamal/secrets-common, .kamal/secrets) "
                                 "provided, nor in the environment (NOPE; --secrets-from-env)")


def test_check_resolves_everything_up_front(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets", "A=1\n")
    secrets = make(tmp_path, EnvSource.from_specs(["B=CI_B"], {"CI_B": "b"}))
    secrets.check(["A", "ENV_NAME:B"])
    with pytest.raises(SecretsError) as raised:
        secrets.check(["A", "X", "Y:Z", "X"])
    assert str(raised.value) == ("Secrets 'X', 'Z' not found in .kamal/secrets, nor in the environment "
                                 "(X, Z; --secrets-from-env)")
    write(tmp_path, ".kamal/secrets-common", "export UNSET\n")
    with pytest.raises(DotenvError, match=r"^\.kamal/secrets-common:1: "):
        make(tmp_path, None).check(["A"])
