"""`shipdeck secrets print|fetch|extract|write|set|get|delete`, the writer's encodings, and bad input."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from app import cli
from app.secrets import masking, writer

DEPLOY_YML = "service: app\nimage: app/app\nservers: [192.0.2.1]\nregistry: {username: u, password: p}\n" \
    "builder: {arch: amd64}\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(DEPLOY_YML)
    (tmp_path / ".kamal").mkdir()
    masking.clear()
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_print_masks_by_default_and_reveals_like_kamal(project: Path, capsys) -> None:
    (project / ".kamal" / "secrets").write_text("A=secret-a\nEMPTY=\nNL='x\n'\n")
    assert run(capsys, "secrets", "print") == (0, "A=[REDACTED]\nEMPTY=\nNL=[REDACTED]\n", "")
    assert run(capsys, "secrets", "print", "--reveal") == (0, "A=secret-a\nEMPTY=\nNL=x\n", "")


def test_print_reads_secrets_path_and_destination_from_the_config(project: Path, capsys) -> None:
    (project / "config" / "deploy.yml").write_text(DEPLOY_YML + "secrets_path: sec/s\n")
    (project / "config" / "deploy.prod.yml").write_text("servers: [1.1.1.1]\n")
    (project / "sec").mkdir()
    (project / "sec" / "s-common").write_text("C=1\n")
    (project / "sec" / "s.prod").write_text("P=2\n")
    (project / "sec" / "s").write_text("M=3\n")
    assert run(capsys, "secrets", "print", "--reveal")[1] == "C=1\nM=3\n"
    assert run(capsys, "secrets", "print", "--reveal", "-d", "prod")[1] == "C=1\nP=2\n"


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        ({".kamal/secrets": "A=1\n\nexport B\n"}, [],
         'shipdeck: .kamal/secrets:3: Line "\\nexport B\\n" has an unset variable\n'),
        ({".kamal/secrets": "A=$(kamal secrets extract x '{}')\n"}, [],
         "shipdeck: .kamal/secrets:1: Could not find secret x\n"),
        ({}, ["-d", "nope"], "shipdeck: Configuration file not found in {root}/config/deploy.nope.yml\n"),
        ({}, ["-c", "other.yml"], "shipdeck: Configuration file not found in {root}/other.yml\n"),
        ({}, ["-d", "../x"], "shipdeck: Configuration file not found in {root}/config/deploy.../x.yml\n"),
        ({".kamal/secrets": "A=1\nB=$(no-such-command-x --flag)\n"}, [],
         "shipdeck: .kamal/secrets:2: No such file or directory - no-such-command-x\n"),
        ({".kamal/secrets": "A=$(kamal secrets fetch -a lastpass --account me x)\n"}, [],
         "shipdeck: .kamal/secrets:1: LastPass CLI is not installed\n"),
        ({".kamal/secrets-common": "\nA='\\xff'\n"}, [], "shipdeck: .kamal/secrets-common:2: not valid UTF-8\n"),
        ({"config/deploy.yml": DEPLOY_YML + "servers: 5\n"}, [],
         "shipdeck: config/deploy.yml:6: servers: should be an array or a hash\n"),
        ({"config/deploy.yml": "service: [\n"}, [], "shipdeck: config/deploy.yml:2: YAML syntax error: "
         "did not find expected node content (while parsing a flow node at line 2)\n"),  # libyaml's words, as Psych
    ],
)
def test_print_errors_are_one_line_with_status_2(project: Path, capsys, monkeypatch, files, argv, message) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no password-manager CLI
    for name, text in files.items():
        (project / name).write_bytes(text.encode().replace(b"\\xff", b"\xff"))
    status, out, err = run(capsys, "secrets", "print", *argv)
    assert (status, out, err) == (2, "", message.format(root=project))


# --- write ---------------------------------------------------------------------------------------

NASTY = ["plain", "it's", "a\\", "$HOME", "a'b\\c$d", "x\r", "x\n", "a\r\nb", "", "$(", "'$(echo x)'",
         "  spaced  ", "#hash", "`tick`", "!", 'q"', "\\n", "\\r'", "${HOME}'", "\r", "\n\n", "'", "\\'",
         "\u2028\x85'", "é😀'", "$ſ'", "\t'"]


@pytest.mark.parametrize("value", NASTY)
def test_every_encoding_decodes_to_the_value(value: str) -> None:
    lines = writer.encode("KEY", value)
    assert writer.decode_statically("\n".join(lines) + "\n") == {"KEY": value}


def test_encodings_prefer_readable_forms() -> None:
    assert writer.encode("K", "a$b \\ \"c\"\nd") == ["K='a$b \\ \"c\"\nd'"]
    assert writer.encode("K", "it's") == ['K="it\'s"']
    assert writer.encode("K", "it's $x") == [
        "K=$(kamal secrets extract K '{\"K\":\"it\\\\u0027s \\\\u005c\\\\u0024x\"}')"
    ]
    assert writer.encode("K", "x\r")[0] == "K=''"


def test_write_from_env_creates_the_file_0600(project: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SRC", "it's $secret")
    monkeypatch.setenv("PLAIN", "p")
    status, _, err = run(capsys, "secrets", "write", "--from-env", "DB=SRC", "--from-env", "PLAIN")
    path = project / ".kamal" / "secrets"
    assert status == 0 and err == ".kamal/secrets: added DB, PLAIN\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run(capsys, "secrets", "print", "--reveal")[1] == "DB=it's $secret\nPLAIN=p\n"
    assert [p.name for p in path.parent.iterdir()] == ["secrets"]  # no temporary file left


def test_write_keeps_other_keys_and_refuses_conflicts(project: Path, capsys, monkeypatch) -> None:
    original = "# header\nA=$(kamal secrets extract a '{\"a\":\"1\"}') # keep me\nB='old'\nexport C=\"c\"\n"
    path = project / ".kamal" / "secrets"
    path.write_text(original)
    monkeypatch.setenv("B", "new")
    status, out, err = run(capsys, "secrets", "write", "--from-env", "B")
    assert (status, out) == (2, "")
    assert err == (
        "shipdeck: .kamal/secrets:3: B already has a different value; use --force to replace it "
        "(nothing was written)\n"
    )
    assert path.read_text() == original
    monkeypatch.setenv("B", "old")
    assert run(capsys, "secrets", "write", "--from-env", "B")[2] == ".kamal/secrets: unchanged B\n"
    monkeypatch.setenv("B", "new'$")
    monkeypatch.setenv("D", "d")
    assert run(capsys, "secrets", "write", "--from-env", "B", "--from-env", "D", "--force")[0] == 0
    assert path.read_text() == original.replace(
        "B='old'", "B=$(kamal secrets extract B '{\"B\":\"new\\\\u0027\\\\u005c\\\\u0024\"}')"
    ) + "D='d'\n"
    assert run(capsys, "secrets", "print", "--reveal")[1] == "A=1\nB=new'$\nC=c\nD=d\n"


def test_write_to_a_destination_file(project: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("X", "1")
    assert run(capsys, "secrets", "write", "--from-env", "X", "-d", "prod")[0] == 0
    assert (project / ".kamal" / "secrets.prod").read_text() == "X='1'\n"
    assert run(capsys, "secrets", "write", "--from-env", "X", "--file", "elsewhere/s")[0] == 0
    assert (project / "elsewhere" / "s").read_text() == "X='1'\n"


def test_write_refuses_when_an_earlier_line_would_swallow_the_new_one(project: Path, capsys, monkeypatch) -> None:
    path = project / ".kamal" / "secrets"
    path.write_text("A='unterminated\n")
    monkeypatch.setenv("B", "x'\n")  # written as B="x'<LF>" : A's quote would close on B's first line
    status, _, err = run(capsys, "secrets", "write", "--from-env", "B")
    assert status == 2 and "nothing was written" in err and err.count("\n") == 1
    assert path.read_text() == "A='unterminated\n"


def test_write_takes_several_pairs_per_flag_and_repeated_flags(project: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("A", "a$1")
    monkeypatch.setenv("SRC_B", "b'2")
    monkeypatch.setenv("C", "c")
    status, _, err = run(capsys, "secrets", "write", "--from-env", "A", "B=SRC_B", "--from-env", "C", "D=A", "--force")
    assert (status, err) == (0, ".kamal/secrets: added A, B, C, D\n")
    assert run(capsys, "secrets", "print", "--reveal")[1] == "A=a$1\nB=b'2\nC=c\nD=a$1\n"


def test_write_refuses_a_destination_that_is_a_path(project: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("A", "1")
    assert run(capsys, "secrets", "write", "--from-env", "A", "-d", "../x") == (
        2, "", "shipdeck: invalid destination '../x': the secrets file would be .kamal/secrets.../x\n")
    assert not list(project.glob(".kamal/*")) and not (project / "x").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from-env", "MISSING_VAR_X"], "environment variable MISSING_VAR_X is not set"),
        (["--from-env", "A=HOME", "B=MISSING_VAR_Y"], "--from-env B=MISSING_VAR_Y: environment variable "
         "MISSING_VAR_Y is not set (nothing was written)"),
        (["--from-env", "BAD-NAME=HOME"], "invalid secret name 'BAD-NAME'"),
        (["--from-env", "A=HOME", "--from-env", "A=HOME"], "A given twice"),
    ],
)
def test_write_bad_input(project: Path, capsys, argv, message) -> None:
    status, _, err = run(capsys, "secrets", "write", *argv)
    assert status == 2 and message in err and err.count("\n") == 1
    assert not (project / ".kamal" / "secrets").exists()


# --- fetch and extract ------------------------------------------------------------------------

def test_fetch_prints_kamal_json(project: Path, capsys) -> None:
    assert run(capsys, "secrets", "fetch", "-a", "test", "--account", "x", "--from", "v", "a", "b c", "é") == (
        0, '{"v/a":"a/v","v/b c":"c b/v","v/é":"é/v"}\n', "")
    assert run(capsys, "secrets", "fetch", "--adapter=test", "--account=x", "--inline", "a") == (0, "", "")
    assert run(capsys, "secrets", "fetch", "-a", "test", "--account", "x") == (0, "{}\n", "")


def test_fetch_through_a_cli_adapter(project: Path, capsys, monkeypatch) -> None:
    from tests.secrets_fake_clis import FakeClis

    (project / "fakes").mkdir()
    fakes = FakeClis(project / "fakes")
    fakes.answer("bws", ["secret", "get", "id-1"], {"key": "DB", "value": "p$ss\"w"})
    for name, value in fakes.environ().items():
        monkeypatch.setenv(name, value)
    assert run(capsys, "secrets", "fetch", "-a", "bitwarden-sm", "id-1") == (0, '{"DB":"p$ss\\"w"}\n', "")
    assert fakes.calls() == [("bws", "--version"), ("bws", "project", "list"), ("bws", "secret", "get", "id-1")]
    fakes.remove("bws")
    assert run(capsys, "secrets", "fetch", "-a", "bitwarden-sm", "id-1") == (
        2, "", "shipdeck: secrets fetch --adapter bitwarden-sm: Bitwarden Secrets Manager CLI is not installed\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-a", "vault9", "x"], "shipdeck: Unknown secrets adapter: vault9\n"),
        (["-a", "lastpass", "x"], "shipdeck: No value provided for required options '--account'\n"),
        (["-a", "gcp", "--account", " ", "x"], "shipdeck: No value provided for required options '--account'\n"),
    ],
)
def test_fetch_bad_input(project: Path, capsys, argv, message) -> None:
    assert run(capsys, "secrets", "fetch", *argv) == (2, "", message)


def test_fetch_needs_an_adapter(project: Path, capsys) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["secrets", "fetch", "x"])
    assert raised.value.code == 2
    assert "the following arguments are required: -a/--adapter" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "json_text", "out"),
    [
        ("a", '{"x/a":"1","a2":"no"}', "1\n"),
        ("a", '{"a":null,"y/a":"s"}', "s\n"),
        ("a", '{"a":"multi\\nline\\n"}', "multi\nline\n"),
        ("a", '{"a":""}', "\n"),
        ("a", '{"a":5}', "5\n"),
        ("a", '{"a":1e20}', "1.0e+20\n"),
        ("a", '{"a":1.5e-7}', "1.5e-07\n"),
        ("a", '{"a":1e400}', "Infinity\n"),
        ("a", '{"a":-0.0}', "-0.0\n"),
        ("a", '{"x/a":false}', "false\n"),
        ("a", '{"a":[1,[],[2,null],"s"]}', "1\n2\n\ns\n"),
        ("a", '{"a":[]}', ""),
        ("a", '{"a":{"b":1,"c":[true,"x\\"\\u0001#{"]}}', '{"b"=>1, "c"=>[true, "x\\"\\u0001\\#{"]}\n'),
    ],
)
def test_extract_prints_like_kamal(project: Path, capsys, name, json_text, out) -> None:
    assert run(capsys, "secrets", "extract", name, json_text) == (0, out, "")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["q", "{}"], "shipdeck: secrets extract: Could not find secret q\n"),
        (["a", '{"a":false}'], "shipdeck: secrets extract: Could not find secret a\n"),
        (["a", "[1]"], "shipdeck: secrets extract: Could not find secret a\n"),
        (["a", "nojson"], "shipdeck: secrets extract: the JSON given to extract does not parse: Expecting value: "
         "line 1 column 1 (char 0)\n"),
    ],
)
def test_extract_bad_input(project: Path, capsys, argv, message) -> None:
    assert run(capsys, "secrets", "extract", *argv) == (2, "", message)


# --- keyring -------------------------------------------------------------------------------------

@pytest.fixture
def memory_keyring():
    import keyring
    from keyring.backend import KeyringBackend
    from keyring.errors import PasswordDeleteError

    class MemoryKeyring(KeyringBackend):
        priority = 1

        def __init__(self) -> None:
            super().__init__()
            self.store: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            if self.store.pop((service, username), None) is None:
                raise PasswordDeleteError("not found")

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_keyring_set_get_delete(project: Path, capsys, monkeypatch, memory_keyring) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cr3t value\n"))
    assert run(capsys, "secrets", "set", "API_TOKEN") == (0, "", "stored API_TOKEN in the keyring (service shipdeck)\n")
    assert memory_keyring.store == {("shipdeck", "API_TOKEN"): "s3cr3t value"}
    assert run(capsys, "secrets", "get", "API_TOKEN") == (0, "s3cr3t value\n", "")
    from app.secrets import Secrets

    assert Secrets(project, environ={}).lookup("API_TOKEN") == ("s3cr3t value", "keyring")
    assert run(capsys, "secrets", "delete", "API_TOKEN")[0] == 0
    assert memory_keyring.store == {}
    missing = (2, "", "shipdeck: keyring: no secret API_TOKEN (service shipdeck)\n")
    assert run(capsys, "secrets", "get", "API_TOKEN") == missing
    assert run(capsys, "secrets", "delete", "API_TOKEN")[0] == 2


def test_keyring_set_never_takes_the_value_from_argv(project: Path, capsys, monkeypatch, memory_keyring) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["secrets", "set", "NAME", "value"])
    assert raised.value.code == 2
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run(capsys, "secrets", "set", "NAME")[0:2] == (2, "")
    assert memory_keyring.store == {}


def test_keyring_set_prompts_hidden_on_a_terminal(project: Path, capsys, monkeypatch, memory_keyring) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts: list[str] = []
    monkeypatch.setattr("sys.stdin", Tty(""))
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or "typed")
    assert run(capsys, "secrets", "set", "NAME")[0] == 0
    assert prompts == ["Value for NAME (hidden): "] and memory_keyring.store[("shipdeck", "NAME")] == "typed"


def test_secret_values_never_reach_error_output(project: Path, capsys, monkeypatch) -> None:
    (project / ".kamal" / "secrets").write_text("PW=hunter2-secret\n")
    monkeypatch.setenv("PW_SRC", "hunter2-secret")
    run(capsys, "secrets", "print")
    # an error message that happened to contain the value is masked by the CLI
    from app.errors import SecretsError

    monkeypatch.setattr("app.secrets.commands._from_env_values",
                        lambda specs: (_ for _ in ()).throw(SecretsError("boom hunter2-secret")))
    status, _, err = run(capsys, "secrets", "write", "--from-env", "PW=PW_SRC")
    assert status == 2 and err == "shipdeck: boom [REDACTED]\n"
    assert os.environ["PW_SRC"] == "hunter2-secret"


def test_commands_that_cannot_be_executed_directly(project: Path, capsys) -> None:
    script = project / "script"
    script.write_text("echo from-sh\n")  # no #! line: Ruby runs it with /bin/sh
    script.chmod(0o755)
    (project / ".kamal" / "secrets").write_text("A=$(./script)\n")
    assert run(capsys, "secrets", "print", "--reveal") == (0, "A=from-sh\n", "")
    (project / ".kamal" / "secrets").write_text("A=1\nB=$(./.kamal)\n")
    assert run(capsys, "secrets", "print") == (2, "", "shipdeck: .kamal/secrets:2: Permission denied - ./.kamal\n")
