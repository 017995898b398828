"""Password-manager adapters: the exact CLI calls (checked against what Kamal 2.11 runs, see
tests/interop/test_secrets_adapters_kamal.py) and the JSON handling, with stand-in executables on PATH."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.secrets import inline
from app.secrets.dotenv import CommandFailed
from tests.secrets_adapter_scenarios import GCLOUD_LOGGED_IN, SCENARIOS, Scenario
from tests.secrets_fake_clis import FakeClis


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
    with pytest.raises(CommandFailed, match=r"^Unknown secrets adapter: tEST$"):  # camelize keeps "TEST"
        fetch(fakes, "-a", "tEST", "--account", "x", "a")
    assert fakes.calls() == []


@pytest.mark.parametrize(("name", "cls"), [
    ("1password", "OnePassword"), ("OnePassword", "OnePassword"), ("onePassword", "OnePassword"),
    ("LastPass", "LastPass"), ("LASTPASS", "LastPass"), ("last_pass", "LastPass"), ("gcp", "GcpSecretManager"),
    ("Gcp_Secret_Manager", "GcpSecretManager"), ("bitwarden-SM", "BitwardenSecretsManager"),
    ("bitwarden_secrets_manager", "BitwardenSecretsManager"), ("enpass", "Enpass"), ("Passbolt", "Passbolt"),
    ("aws_secrets_manager", "AwsSecretsManager"), ("doppler", "Doppler"), ("bitwarden", "Bitwarden"),
])
def test_adapter_names_resolve_as_kamal_camelizes_them(name: str, cls: str) -> None:
    from app.secrets import adapters

    assert type(adapters.lookup(name, {})).__name__ == cls


# --- bws, lpass, gcloud, enpass-cli, passbolt: the scenarios real Kamal is held to as well -------------

@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_cli_adapters_call_and_answer_like_kamal(scenario: Scenario, fakes: FakeClis) -> None:
    for cli, argv, stdout, *exit_status in scenario.answers:
        fakes.answer(cli, argv, stdout, exit=exit_status[0] if exit_status else 0)
    for cli in scenario.missing_clis:
        fakes.remove(cli)
    if scenario.error is None:
        assert fetch(fakes, *scenario.argv) == scenario.result
    else:
        with pytest.raises(CommandFailed) as raised:
            fetch(fakes, *scenario.argv)
        assert str(raised.value) == scenario.error
    assert fakes.calls() == scenario.calls


def test_required_accounts(fakes: FakeClis) -> None:
    for adapter in ("lastpass", "gcp"):
        with pytest.raises(CommandFailed, match=r"^No value provided for required options '--account'$"):
            fetch(fakes, "-a", adapter, "x")
    assert fakes.calls() == []


def test_gcloud_payloads_decode_like_ruby_base64() -> None:
    from app.secrets.adapters.gcp_secret_manager import decode64

    assert decode64("aGVsbG8=") == b"hello"
    assert decode64("aGVs\nbG8") == b"hello"  # no padding, stray characters skipped
    assert decode64("aGVsbG8=trailing") == b"hello"


def test_gcloud_refuses_payloads_that_are_not_text(fakes: FakeClis) -> None:
    import base64

    fakes.answer(*GCLOUD_LOGGED_IN)
    fakes.answer("gcloud", ["secrets", "versions", "access", "latest", "--secret=bin", "--format=json"],
                 {"payload": {"data": base64.b64encode(b"\xff\xfe").decode()}})
    with pytest.raises(CommandFailed, match=r"^default/bin from Google Secret Manager is not UTF-8 text$"):
        fetch(fakes, "-a", "gcp", "--account", "default", "bin")


def test_malformed_names_and_answers_are_clean_errors(fakes: FakeClis) -> None:
    with pytest.raises(CommandFailed, match=r"needs the vault's directory in --from"):
        fetch(fakes, "-a", "enpass", "FooBar")
    with pytest.raises(CommandFailed, match=r"cannot be passed in Kamal's single-quoted --filter"):
        fetch(fakes, "-a", "passbolt", "it's")
    with pytest.raises(CommandFailed, match=r"no project before /all"):
        fetch(fakes, "-a", "bitwarden-sm", "/all")
    fakes.answer("bws", ["secret", "list"], "not json")
    with pytest.raises(CommandFailed, match=r"^bws secret list did not return JSON$"):
        fetch(fakes, "-a", "bitwarden-sm", "all")
    fakes.answer("lpass", ["status", "--color", "never"], "Logged in as me.")
    fakes.answer("lpass", ["show", "x", "--json"], "<html>")
    with pytest.raises(CommandFailed, match=r"^lpass show did not return JSON$"):
        fetch(fakes, "-a", "lastpass", "--account", "me", "x")


def test_secret_values_never_reach_cli_arguments(fakes: FakeClis) -> None:
    fakes.answer("bw", ["status"], {"status": "unlocked"})
    fakes.answer("bw", ["get", "item", "Login"], {"login": {"password": "p@ss!word\"x"}})
    fetch(fakes, "-a", "bitwarden", "--account", "me", "Login")
    assert all("p@ss!word" not in " ".join(map(str, call)) for call in fakes.calls())
    assert os.environ.get("BW_SESSION") is None
