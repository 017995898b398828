"""The `Secrets` API: which files, in which order, lazily, thread-safely, and what else it consults."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.errors import SecretsError
from app.secrets import Secrets, masking


@pytest.fixture(autouse=True)
def _fresh_masking():
    masking.clear()
    yield
    masking.clear()


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make(root: Path, **kwargs) -> Secrets:
    kwargs.setdefault("environ", {})
    kwargs.setdefault("keyring_lookup", None)
    return Secrets(root, **kwargs)


def test_common_then_main_file_and_later_files_win(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets-common", "A=common\nB=common\n")
    write(tmp_path, ".kamal/secrets", "B=main\nC=main\n")
    secrets = make(tmp_path)
    assert secrets.files == [".kamal/secrets-common", ".kamal/secrets"]
    assert secrets.file_values() == {"A": "common", "B": "main", "C": "main"}
    assert secrets.keys() == ["A", "B", "C"]


def test_a_destination_replaces_the_main_file(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets-common", "A=common\n")
    write(tmp_path, ".kamal/secrets", "B=main\n")
    write(tmp_path, ".kamal/secrets.staging", "C=staging\n")
    secrets = make(tmp_path, destination="staging")
    assert secrets.files == [".kamal/secrets-common", ".kamal/secrets.staging"]
    assert secrets.file_values() == {"A": "common", "C": "staging"}


def test_custom_secrets_path(tmp_path: Path) -> None:
    write(tmp_path, "conf/sec-common", "A=1\n")
    write(tmp_path, "conf/sec", "B=2\n")
    assert make(tmp_path, secrets_path="conf/sec").file_values() == {"A": "1", "B": "2"}


def test_each_file_is_parsed_on_its_own(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets-common", "BASE=common\n")
    write(tmp_path, ".kamal/secrets", "DERIVED=${BASE}-x\n")
    assert make(tmp_path, environ={"BASE": "env"})["DERIVED"] == "env-x"


def test_file_values_beat_the_process_environment(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets", "TOKEN=file\nCOPY=$TOKEN\n")
    secrets = make(tmp_path, environ={"TOKEN": "env"})
    assert secrets["TOKEN"] == "file" and secrets["COPY"] == "file"


def test_missing_secret_messages_are_kamals(tmp_path: Path) -> None:
    with pytest.raises(SecretsError) as raised:
        make(tmp_path)["NOPE"]
    assert str(raised.value) == (
        "Secret 'NOPE' not found, no secret files (.kamal/secrets-common, .kamal/secrets) provided"
    )
    write(tmp_path, ".kamal/secrets-common", "A=1\n")
    write(tmp_path, ".kamal/secrets.prod", "B=1\n")
    with pytest.raises(SecretsError) as raised:
        make(tmp_path, destination="prod")["NOPE"]
    assert str(raised.value) == "Secret 'NOPE' not found in .kamal/secrets-common, .kamal/secrets.prod"
    assert raised.value.exit_code == 2


def test_loading_is_lazy_and_happens_once(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets", "A=$(count)\n")
    calls: list[str] = []

    def run_shell(command: str) -> str:
        calls.append(command)
        return "value\n"

    secrets = make(tmp_path, run_shell=run_shell)
    assert secrets.files == [".kamal/secrets"]
    assert calls == []
    assert secrets["A"] == "value" and secrets.get("A") == "value" and "A" in secrets
    assert calls == ["count"]


def test_concurrent_lookups_load_once(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets", "A=$(slow)\n")
    calls: list[str] = []
    started = threading.Event()

    def run_shell(command: str) -> str:
        calls.append(command)
        started.wait(0.2)
        return "v"

    secrets = make(tmp_path, run_shell=run_shell)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(secrets["A"])) for _ in range(8)]
    for thread in threads:
        thread.start()
    started.set()
    for thread in threads:
        thread.join()
    assert results == ["v"] * 8
    assert calls == ["slow"]


def test_resolution_order_files_then_keyring_then_environment(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets", "BOTH=file\n")
    keyring = {"BOTH": "keyring", "KR": "keyring"}
    secrets = make(tmp_path, environ={"BOTH": "env", "KR": "env", "ENV_ONLY": "env"}, keyring_lookup=keyring.get)
    assert secrets.lookup("BOTH") == ("file", "file")
    assert secrets.lookup("KR") == ("keyring", "keyring")
    assert secrets.lookup("ENV_ONLY") == ("env", "env")
    assert secrets.source_of("NOPE") is None and secrets.get("NOPE", "dflt") == "dflt"
    assert secrets.keys() == ["BOTH"]


def test_resolve_supports_kamal_aliases(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets", "DB_PASSWORD=pw\nTOKEN=t\n")
    assert make(tmp_path).resolve(["TOKEN", "POSTGRES_PASSWORD:DB_PASSWORD"]) == {
        "TOKEN": "t", "POSTGRES_PASSWORD": "pw",
    }


def test_every_resolved_value_is_registered_for_masking(tmp_path: Path) -> None:
    write(tmp_path, ".kamal/secrets", "A=file-secret\n")
    secrets = make(tmp_path, environ={"E": "env-secret"}, keyring_lookup={"K": "keyring-secret"}.get)
    secrets["K"], secrets["E"]
    assert masking.mask("file-secret keyring-secret env-secret") == " ".join([masking.MASK] * 3)


def test_unreadable_and_undecodable_files(tmp_path: Path) -> None:
    (tmp_path / ".kamal" / "secrets").mkdir(parents=True)
    with pytest.raises(SecretsError, match=r"^\.kamal/secrets: cannot read: "):
        make(tmp_path).keys()
    (tmp_path / ".kamal" / "secrets").rmdir()
    (tmp_path / ".kamal" / "secrets").write_bytes(b"A=1\nB=\xff\n")
    with pytest.raises(SecretsError, match=r"^\.kamal/secrets:2: not valid UTF-8$"):
        make(tmp_path).keys()


def test_importing_the_package_does_not_load_keyring() -> None:
    import subprocess
    import sys

    code = "import sys, app.secrets; app.secrets.Secrets('.'); print('keyring' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
