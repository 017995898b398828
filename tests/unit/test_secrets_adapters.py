"""Password-manager adapters: the exact CLI calls (checked against what Kamal 2.11 runs) and the JSON
handling, with small fake `op`, `bw`, `aws`, `doppler` executables on PATH."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from app.secrets import inline
from app.secrets.dotenv import CommandFailed

FAKE_CLI = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
env = {{k: os.environ[k] for k in ("BW_SESSION",) if k in os.environ}}
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"cli": name, "argv": sys.argv[1:], "env": env}}) + "\\n")
for entry in json.load(open(os.environ["FAKE_RESPONSES"])):
    wanted_env = entry.get("env", {{}})
    if entry["cli"] == name and entry["argv"] == sys.argv[1:] and all(env.get(k) == v for k, v in wanted_env.items()):
        out = entry.get("stdout", "")
        sys.stdout.write(out if isinstance(out, str) else json.dumps(out))
        sys.exit(entry.get("exit", 0))
sys.exit(0)
"""

CLIS = ("op", "bw", "aws", "doppler")


class FakeClis:
    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "log.jsonl"
        self.responses_file = root / "responses.json"
        self.responses: list[dict] = []
        script = self.bin / "fakecli"
        script.write_text(FAKE_CLI.format(python=sys.executable))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        for name in CLIS:
            (self.bin / name).symlink_to(script)

    def answer(self, cli: str, argv: list[str], stdout: object = "", exit: int = 0, env: dict | None = None) -> None:
        self.responses.append({"cli": cli, "argv": argv, "stdout": stdout, "exit": exit, "env": env or {}})

    def environ(self, **extra: str) -> dict[str, str]:
        self.responses_file.write_text(json.dumps(self.responses))
        return {"PATH": f"{self.bin}:/usr/bin:/bin", "FAKE_LOG": str(self.log),
                "FAKE_RESPONSES": str(self.responses_file), **extra}

    def calls(self) -> list[tuple]:
        if not self.log.exists():
            return []
        entries = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [(e["cli"], *e["argv"]) + ((e["env"],) if e["env"] else ()) for e in entries]


@pytest.fixture
def fakes(tmp_path: Path) -> FakeClis:
    return FakeClis(tmp_path)


def fetch(fakes: FakeClis, *argv: str, **env: str) -> dict:
    escaped = inline.run(["secrets", "fetch", *argv, "--inline"], fakes.environ(**env))
    from app.secrets.rubytext import shellsplit

    return json.loads(shellsplit(escaped)[0])


# The calls below are those real Kamal 2.11 makes for the same fetch (recorded with the same fakes).

def test_one_password_groups_fields_per_item(fakes: FakeClis) -> None:
    base = ["item", "get", "Item", "--vault", "Vault", "--format", "json", "--account", "acc"]
    fakes.answer("op", [*base, "--fields", "label=f1,label=sec.f2"], [
        {"reference": "op://Vault/Item/f1", "value": "v1 $HOME"},
        {"reference": "op://Vault/Item/sec/f2", "value": "v2"},
    ])
    fakes.answer("op", ["item", "get", "I2", "--vault", "V2", "--format", "json", "--account", "acc",
                        "--fields", "label=password"], {"reference": "op://V2/I2/password", "value": "pw"})
    assert fetch(fakes, "-a", "1password", "--account", "acc", "--from", "Vault/Item", "f1", "sec/f2") == {
        "Vault/Item/f1": "v1 $HOME", "Vault/Item/sec/f2": "v2",
    }
    assert fetch(fakes, "-a", "1password", "--account", "acc", "V2/I2") == {"V2/I2": "pw"}
    assert fakes.calls() == [
        ("op", "--version"), ("op", "account", "get", "--account", "acc"), ("op", *base, "--fields",
                                                                           "label=f1,label=sec.f2"),
        ("op", "--version"), ("op", "account", "get", "--account", "acc"),
        ("op", "item", "get", "I2", "--vault", "V2", "--format", "json", "--account", "acc", "--fields",
         "label=password"),
    ]


def test_one_password_signs_in_and_fetches_all_fields(fakes: FakeClis) -> None:
    fakes.answer("op", ["account", "get", "--account", "acc"], exit=1)
    fakes.answer("op", ["signin", "--account", "acc", "--force", "--raw"], "TOKEN\n")
    fakes.answer("op", ["item", "get", "Item", "--vault", "Vault", "--format", "json", "--account", "acc",
                        "--session", "TOKEN"], {"fields": [{"reference": "op://Vault/Item/username", "value": "u"},
                                                           {"reference": "op://Vault/Item/password", "value": "p"}]})
    assert fetch(fakes, "-a", "1password", "--account", "acc", "--from", "Vault/Item") == {
        "Vault/Item/username": "u", "Vault/Item": "p",
    }
    assert fakes.calls()[2] == ("op", "signin", "--account", "acc", "--force", "--raw")


def test_one_password_failures(fakes: FakeClis) -> None:
    fakes.answer("op", ["item", "get", "I", "--vault", "V", "--format", "json", "--account", "a", "--fields",
                        "label=password"], exit=1)
    with pytest.raises(CommandFailed, match=r"^Could not read from I in the V 1Password vault$"):
        fetch(fakes, "-a", "1password", "--account", "a", "V/I")
    (fakes.bin / "op").unlink()
    with pytest.raises(CommandFailed, match=r"^1Password CLI is not installed$"):
        fetch(fakes, "-a", "1password", "--account", "a", "V/I")


def test_bitwarden_unlocks_syncs_and_reads_items(fakes: FakeClis) -> None:
    session = {"BW_SESSION": "BWSESSION"}
    fakes.answer("bw", ["status"], {"status": "unlocked"}, env=session)
    fakes.answer("bw", ["status"], {"status": "locked"})
    fakes.answer("bw", ["unlock", "--raw"], "BWSESSION")
    fakes.answer("bw", ["get", "item", "Login"], {"login": {"password": "lpw"}})
    fields = [{"name": "f1", "value": "a"}, {"name": "f2", "value": "b"}]
    fakes.answer("bw", ["get", "item", "Multi"], {"fields": fields})
    assert fetch(fakes, "-a", "bitwarden", "--account", "me@x", "Login", "Multi/f2") == {
        "Login": "lpw", "Multi/f2": "b",
    }
    assert fakes.calls() == [
        ("bw", "--version"), ("bw", "status"), ("bw", "unlock", "--raw"), ("bw", "status", session),
        ("bw", "sync", session), ("bw", "get", "item", "Login", session), ("bw", "get", "item", "Multi", session),
    ]
    assert fetch(fakes, "-a", "bitwarden", "--account", "me@x", "Multi") == {"Multi/f1": "a", "Multi/f2": "b"}


def test_bitwarden_errors_match_kamal(fakes: FakeClis) -> None:
    fakes.answer("bw", ["status"], {"status": "unlocked"})
    fakes.answer("bw", ["get", "item", "Multi"], {"fields": [{"name": "f1", "value": "a"}]})
    fakes.answer("bw", ["get", "item", "Note"], {"notes": "x"})
    with pytest.raises(CommandFailed, match=r"^Could not find field  in item Multi in Bitwarden$"):
        fetch(fakes, "-a", "bitwarden", "--account", "me", "Multi/f1", "Multi")
    with pytest.raises(CommandFailed, match=r"^Item Note is not a login type item and no fields were specified$"):
        fetch(fakes, "-a", "bitwarden", "--account", "me", "Note")
    fakes.responses[0]["stdout"] = {"status": "locked"}
    with pytest.raises(CommandFailed, match=r"^Failed to login to and unlock Bitwarden$"):
        fetch(fakes, "-a", "bitwarden", "--account", "me", "Multi")


def test_aws_expands_json_secrets(fakes: FakeClis) -> None:
    fakes.answer("aws", ["secretsmanager", "batch-get-secret-value", "--secret-id-list", "pfx/one", "pfx/two",
                         "--profile", "prof", "--output", "json"],
                 {"SecretValues": [{"Name": "pfx/one", "SecretString": '{"k":"v","n":"m"}'},
                                   {"Name": "pfx/two", "SecretString": "plain"}], "Errors": []})
    assert fetch(fakes, "-a", "aws_secrets_manager", "--account", "prof", "--from", "pfx", "one", "two") == {
        "pfx/one/k": "v", "pfx/one/n": "m", "pfx/two": "plain",
    }
    fakes.answer("aws", ["secretsmanager", "batch-get-secret-value", "--secret-id-list", "x", "--output", "json"],
                 {"SecretValues": [], "Errors": [{"SecretId": "x", "Message": "denied"}]})
    with pytest.raises(CommandFailed, match=r"^x: denied$"):
        fetch(fakes, "-a", "aws_secrets_manager", "x")


def test_doppler_project_and_config_or_service_token(fakes: FakeClis) -> None:
    fakes.answer("doppler", ["secrets", "get", "A", "B", "--json", "-p", "proj", "-c", "cfg"],
                 {"A": {"computed": "a1"}, "B": {"computed": "b1"}})
    fakes.answer("doppler", ["secrets", "get", "A", "--json"], {"A": {"computed": "token"}})
    assert fetch(fakes, "-a", "doppler", "--from", "proj/cfg", "A", "B") == {"A": "a1", "B": "b1"}
    assert fakes.calls() == [("doppler", "--version"), ("doppler", "me", "--json"),
                             ("doppler", "secrets", "get", "A", "B", "--json", "-p", "proj", "-c", "cfg")]
    assert fetch(fakes, "-a", "doppler", "A", DOPPLER_TOKEN="dp.st.x") == {"A": "token"}
    with pytest.raises(CommandFailed, match=r"^Missing project or config from '--from=project/config' option$"):
        fetch(fakes, "-a", "doppler", "A")


def test_test_adapter_and_adapter_names(fakes: FakeClis) -> None:
    assert fetch(fakes, "--adapter=test", "--account", "x", "--from", "v", "a", "b/c") == {"v/a": "a/v",
                                                                                      "v/b/c": "c/b/v"}
    with pytest.raises(CommandFailed, match=r"^Unknown secrets adapter: vault9$"):
        fetch(fakes, "-a", "vault9", "--account", "x", "a")
    for name in ("lastpass", "last_pass", "gcp", "bitwarden-sm", "enpass", "passbolt"):
        with pytest.raises(CommandFailed, match="secrets adapter is not supported by shipdeck yet"):
            fetch(fakes, "-a", name, "--account", "x", "a")
    assert fakes.calls() == []


def test_secret_values_never_reach_cli_arguments(fakes: FakeClis) -> None:
    fakes.answer("bw", ["status"], {"status": "unlocked"})
    fakes.answer("bw", ["get", "item", "Login"], {"login": {"password": "p@ss!word\"x"}})
    fetch(fakes, "-a", "bitwarden", "--account", "me", "Login")
    assert all("p@ss!word" not in " ".join(map(str, call)) for call in fakes.calls())
    assert os.environ.get("BW_SESSION") is None
